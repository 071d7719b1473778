#!/usr/bin/env bash
# Runs the model-library runtime's tests under ThreadSanitizer (clang 14, -fsanitize=thread).
#   scripts/tsan-model-runtime.sh [doctest test-case filter]     default: all model runtime tests
# Everything is built instrumented in build-tsan/, so the runtime archive that haloc's driver
# links into each test model carries TSan instrumentation too (generated code does not: it
# only touches the calling thread's workspace and read-only model data). Exits non-zero on
# the first report (halt_on_error=1).
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-*}
san="-fsanitize=thread -fno-omit-frame-pointer -g"
CC=clang CXX=clang++ cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build build-tsan -j2 --target halo_model_runtime_tests
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
  ./build-tsan/tests/model_runtime/halo_model_runtime_tests --test-case="$filter"
