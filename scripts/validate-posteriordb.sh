#!/usr/bin/env bash
# Runs `halo sample` (4 chains x 1000 + 1000) on every posteriordb posterior with a reference in
# ../shared/posteriordb (or $POSTERIORDB_DIR), compares with the reference draws and writes
# docs/validation.md (tests/validation/validate_posteriordb.cpp has the criteria).
#   scripts/validate-posteriordb.sh [extra options of halo_validate_posteriordb, e.g. --posteriors a,b]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
references=${POSTERIORDB_DIR:-$root/../shared/posteriordb}
if [ ! -d "$references" ]; then
  echo "validate-posteriordb: no reference directory '$references' (set POSTERIORDB_DIR)" >&2
  exit 2
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j2 --target halo haloc halo_validate_posteriordb
status=0
build/bin/halo_validate_posteriordb \
  --halo build/bin/halo --haloc build/bin/haloc \
  --models "$root/models/posteriordb" --references "$references" \
  --chains 4 --warmup 1000 --samples 1000 --seed 1 \
  --work build/validation --report docs/validation.md "$@" || status=$?
# The discussion of the results (kept by hand) follows the table.
cat tests/validation/commentary.md >> docs/validation.md
exit $status
