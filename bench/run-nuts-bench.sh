#!/usr/bin/env bash
# Halo vs rstan NUTS efficiency benchmark; options: bench/run_nuts_bench.py --help.
set -euo pipefail
exec python3 "$(dirname "$0")/run_nuts_bench.py" "$@"
