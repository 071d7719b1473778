#!/usr/bin/env bash
# Fuzzes the front end (parse + check) with libFuzzer under AddressSanitizer and UBSan.
#   scripts/fuzz.sh [seconds]      default 600
# The corpus lives in tests/fuzz/corpus (seeded from every .model file in the repository);
# new interesting inputs are merged back into it; crashes are written to build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fsanitize=fuzzer-no-link"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHALO_FUZZ=ON -DHALO_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build build-fuzz -j2 --target fuzz_frontend
mkdir -p tests/fuzz/corpus build-fuzz/crashes build-fuzz/new
# Seed the corpus with every program we have (named by content so reruns do not duplicate).
find models tests/programs -name '*.model' -print0 | while IFS= read -r -d '' f; do
  cp "$f" "tests/fuzz/corpus/$(sha1sum "$f" | cut -c1-16).model"
done
./build-fuzz/tests/fuzz/fuzz_frontend build-fuzz/new tests/fuzz/corpus \
  -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -dict=tests/fuzz/halo.dict -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1
# Keep the corpus small: merge what was found into a minimal set.
./build-fuzz/tests/fuzz/fuzz_frontend -merge=1 tests/fuzz/corpus build-fuzz/new >/dev/null 2>&1 || true
