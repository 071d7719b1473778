#!/usr/bin/env bash
# Halo vs Stan Math gradient benchmark and cross-check; options: bench/run_gradient_bench.py --help.
set -euo pipefail
exec python3 "$(dirname "$0")/run_gradient_bench.py" "$@"
