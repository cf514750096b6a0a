#!/usr/bin/env bash
# tools/crash_test.sh [LIQSIM] [KILLS] [SEED]
#
# Crash consistency of `liqsim log append`: SIGKILL at KILLS (default 200)
# seeded random points, with simulated power cuts, then checks that every
# acknowledged event is in the log in order, that verify passes or names only
# a torn tail, that repair restores an appendable log, and that a replay of
# the recovered log has the state_hash of a replay of the acknowledged events.
# See tests/crash/crash_append.py and docs/ROBUSTNESS.md.
# LIQSIM defaults to build-rob/liqsim, then build/liqsim. Prints
# "N passed, M failed"; exit 1 on a failure, 2 on a usage error.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
liqsim=${1:-}
if [ -z "$liqsim" ]; then
  for c in "$here/build-rob/liqsim" "$here/build/liqsim"; do
    [ -x "$c" ] && { liqsim=$c; break; }
  done
fi
[ -n "$liqsim" ] && [ -x "$liqsim" ] || { echo "crash_test.sh: no liqsim binary (give its path)" >&2; exit 2; }
exec python3 "$here/tests/crash/crash_append.py" "$liqsim" --kills "${2:-200}" --seed "${3:-20240601}"
