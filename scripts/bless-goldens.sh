#!/usr/bin/env bash
# Regenerates the golden files of the front-end tests from the current haloc:
#   tests/programs/good/<name>.model  -> tests/programs/good/<name>.typed.expected   (--dump=typed)
#   models/<path>.model               -> tests/golden/models/<path>.typed.expected   (--dump=typed)
#   tests/programs/bad/<name>.model   -> tests/programs/bad/<name>.expected          (--check, stderr)
# A good program that produces warnings also gets <...>.stderr.expected.
#
# Usage: scripts/bless-goldens.sh [pattern]
#   pattern: only programs whose path contains it (e.g. `bad/network_`, `eight_schools`).
#   HALOC=<path> selects the compiler (default: build/bin/haloc; build it first).
# Nothing is written for a program whose exit code is wrong (a good program must exit 0, a bad
# one 1): that is a compiler bug or a wrong program, reported at the end. Programs listed in
# tests/golden/hand-written.txt keep their hand-written expected file (the diagnostic the
# compiler should give but does not yet). Review `git diff tests/` before committing.
set -euo pipefail
cd "$(dirname "$0")/.."

haloc=${HALOC:-build/bin/haloc}
pattern=${1:-}
if [[ ! -x $haloc ]]; then
  echo "bless-goldens: no compiler at $haloc (build first, or set HALOC)" >&2
  exit 2
fi

# Programs whose expected file is maintained by hand: first word of each non-comment line.
declare -A hand_written=()
if [[ -f tests/golden/hand-written.txt ]]; then
  while read -r path _; do
    [[ -z $path || $path == \#* ]] && continue
    hand_written[$path]=1
  done < tests/golden/hand-written.txt
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
written=0 unchanged=0 kept=0 failed=()

# bless <model> <mode: typed|check> <expected file>
bless() {
  local model=$1 mode=$2 expected=$3 rc=0
  [[ -n $pattern && $model != *"$pattern"* ]] && return 0
  if [[ -n ${hand_written[$model]:-} ]]; then
    echo "kept     $expected (hand-written)"
    kept=$((kept + 1))
    return 0
  fi
  if [[ $mode == typed ]]; then
    "$haloc" "$model" --dump=typed >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [[ $rc -ne 0 ]]; then
      failed+=("$model: exit code $rc, expected 0: $(head -n 1 "$tmp/err")")
      return 0
    fi
    local stderr_expected=${expected%.typed.expected}.stderr.expected
    if [[ -s $tmp/err ]]; then
      cp "$tmp/err" "$stderr_expected"
    else
      rm -f "$stderr_expected"
    fi
  else
    "$haloc" "$model" --check >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [[ $rc -ne 1 ]]; then
      failed+=("$model: exit code $rc, expected 1")
      return 0
    fi
    mv "$tmp/err" "$tmp/out"
  fi
  mkdir -p "$(dirname "$expected")"
  if [[ -f $expected ]] && cmp -s "$tmp/out" "$expected"; then
    unchanged=$((unchanged + 1))
  else
    cp "$tmp/out" "$expected"
    echo "wrote    $expected"
    written=$((written + 1))
  fi
}

shopt -s nullglob globstar
for model in tests/programs/good/*.model; do
  bless "$model" typed "${model%.model}.typed.expected"
done
for model in models/**/*.model; do
  stem=${model#models/}
  bless "$model" typed "tests/golden/models/${stem%.model}.typed.expected"
done
for model in tests/programs/bad/*.model; do
  bless "$model" check "${model%.model}.expected"
done

echo "bless-goldens: $written written, $unchanged unchanged, $kept hand-written kept, ${#failed[@]} failed"
if [[ ${#failed[@]} -gt 0 ]]; then
  printf '  FAILED %s\n' "${failed[@]}" >&2
  exit 1
fi
