#!/usr/bin/env bash
# End-to-end tests of `liqsim-mpi sweep` (built with -Dmpi=enabled): the
# database rank 0 writes from points run on other ranks must be the one
# `liqsim sweep --jobs 1` writes, wall-clock columns aside, and so must what
# it prints; a refused grid value must end every rank with exit 2 and write
# nothing. Usage: tests/mpi_sweep.sh path/to/liqsim-mpi path/to/liqsim
# (MPIRUN overrides the launcher, "mpirun --oversubscribe" by default).
set -u
MPI_EXE=${1:?usage: mpi_sweep.sh path/to/liqsim-mpi path/to/liqsim}
LIQSIM=${2:?usage: mpi_sweep.sh path/to/liqsim-mpi path/to/liqsim}
MPI_EXE=$(readlink -f "$MPI_EXE")
LIQSIM=$(readlink -f "$LIQSIM")
read -r -a MPIRUN <<<"${MPIRUN:-mpirun --oversubscribe}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCENARIO="$ROOT/replays/eth-2020-03-12"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Open MPI refuses to run as root without these (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1${2:+: $2}"; fail=$((fail + 1)); }
check() {  # NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# Every table, rows sorted, without the wall-clock columns (started_ms and
# finished_ms of runs and sweeps): tools/canonical_dump.sh when the tree has it.
dump() {  # DB
  if [[ -f $ROOT/tools/canonical_dump.sh ]]; then
    bash "$ROOT/tools/canonical_dump.sh" "$1"
    return
  fi
  local t cols n order i
  for t in $(sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
    cols=$(sqlite3 "$1" "SELECT group_concat('\"' || name || '\"', ',') FROM pragma_table_info('$t')
                         WHERE name NOT IN ('started_ms', 'finished_ms')")
    n=$(sqlite3 "$1" "SELECT count(*) FROM pragma_table_info('$t') WHERE name NOT IN ('started_ms', 'finished_ms')")
    order=1
    for ((i = 2; i <= n; i++)); do order+=",$i"; done
    echo "== $t"
    sqlite3 -quote "$1" "SELECT $cols FROM \"$t\" ORDER BY $order"
  done
}

GRID=(--grid liquidation.insurance_fund=2000000,10000000
  --grid 'markets.ETH-PERP.tiers[0].maintenance_margin_ratio=0.004,0.005')

# reference EXTRA-ARGS...: liqsim sweep --jobs 1 of the sweep, once per
# EXTRA-ARGS; sets REF to the folder holding its dump (dump) and output (txt).
reference() {
  REF="$TMP/ref-$(printf '%s\n' "$@" | md5sum | cut -c1-12)"
  [[ -d $REF ]] && return 0
  mkdir -p "$REF"
  "$LIQSIM" sweep "$SCENARIO" "${GRID[@]}" "$@" --jobs 1 --out "$REF/B.sqlite" --quiet >"$REF/out" 2>"$REF/err"
  echo $? >"$REF/rc"
  dump "$REF/B.sqlite" >"$REF/dump" 2>/dev/null
  sed "s|$REF/B.sqlite|OUT|g" "$REF/out" >"$REF/txt"
}

# compare NAME NP EXTRA-ARGS...: liqsim-mpi on NP ranks and liqsim --jobs 1,
# the same sweep; the databases' dumps and the printed output must be equal.
compare() {
  local name=$1 np=$2
  shift 2
  reference "$@"
  rm -f "$TMP"/A.sqlite*
  local t0 t1 rc_a
  t0=$(date +%s%N)
  "${MPIRUN[@]}" -np "$np" "$MPI_EXE" sweep "$SCENARIO" "${GRID[@]}" "$@" --out "$TMP/A.sqlite" --quiet \
    >"$TMP/a.out" 2>"$TMP/a.err"
  rc_a=$?
  t1=$(date +%s%N)
  echo "# $name: liqsim-mpi -np $np took $(((t1 - t0) / 1000000)) ms"
  check "$name: liqsim sweep --jobs 1 exits 0" test "$(cat "$REF/rc")" -eq 0
  if [[ $rc_a -ne 0 ]]; then
    not_ok "$name: liqsim-mpi exits 0" "exit $rc_a; stderr: $(head -c 600 "$TMP/a.err")"
    return
  fi
  ok "$name: liqsim-mpi exits 0"
  dump "$TMP/A.sqlite" >"$TMP/a.dump"
  check "$name: the database holds a sweep" grep -q '^== sweeps' "$TMP/a.dump"
  if cmp -s "$TMP/a.dump" "$REF/dump"; then
    ok "$name: the database equals liqsim sweep --jobs 1's"
  else
    not_ok "$name: the database equals liqsim sweep --jobs 1's" "$(diff "$TMP/a.dump" "$REF/dump" | head -c 600)"
  fi
  # The printed output names its own --out file; compare it with the names made equal.
  sed "s|$TMP/A.sqlite|OUT|g" "$TMP/a.out" >"$TMP/a.txt"
  check "$name: the output has a row per point" test "$(wc -l <"$TMP/a.txt")" -ge 4
  if cmp -s "$TMP/a.txt" "$REF/txt"; then
    ok "$name: the output equals liqsim sweep --jobs 1's"
  else
    not_ok "$name: the output equals liqsim sweep --jobs 1's" "$(diff "$TMP/a.txt" "$REF/txt" | head -c 600)"
  fi
}

compare "3 ranks" 3
compare "3 ranks, --at 30000, --json" 3 --at 30000 --json
compare "1 rank" 1

# --- a refused grid value: every rank exits 2 before any point runs, nothing is written ---
BAD=(--grid liquidation.insurance_fund=2000000,not-a-number)
rm -f "$TMP"/C.sqlite* "$TMP"/D.sqlite*
"${MPIRUN[@]}" -np 3 "$MPI_EXE" sweep "$SCENARIO" "${BAD[@]}" --out "$TMP/C.sqlite" --quiet \
  >"$TMP/c.out" 2>"$TMP/c.err"
rc=$?
"$LIQSIM" sweep "$SCENARIO" "${BAD[@]}" --jobs 1 --out "$TMP/D.sqlite" --quiet >/dev/null 2>"$TMP/d.err"
rc_d=$?
check "a refused grid value: liqsim sweep exits 2" test "$rc_d" -eq 2
check "a refused grid value: liqsim-mpi exits 2" test "$rc" -eq 2
check "a refused grid value: no database is written" bash -c "! ls '$TMP'/C.sqlite* >/dev/null 2>&1"
check "a refused grid value: nothing on stdout" test ! -s "$TMP/c.out"
msg=$(head -1 "$TMP/d.err")
check "a refused grid value: liqsim sweep says why" test -n "$msg"
check "a refused grid value: liqsim-mpi prints liqsim's message, once" \
  test "$(grep -cxF -- "$msg" "$TMP/c.err")" -eq 1

# --- --jobs is refused under MPI ---
"${MPIRUN[@]}" -np 2 "$MPI_EXE" sweep "$SCENARIO" "${GRID[@]}" --jobs 2 --out "$TMP/C.sqlite" --quiet \
  >/dev/null 2>"$TMP/c.err"
rc=$?
check "--jobs: liqsim-mpi exits 2" test "$rc" -eq 2
check "--jobs: the message says it is refused, once" test "$(grep -c -- '--jobs is refused' "$TMP/c.err")" -eq 1
check "--jobs: no database is written" bash -c "! ls '$TMP'/C.sqlite* >/dev/null 2>&1"

# --- --help on one rank ---
"${MPIRUN[@]}" -np 2 "$MPI_EXE" sweep --help >"$TMP/h.out" 2>&1
rc=$?
check "--help exits 0" test "$rc" -eq 0
check "--help is printed once and says --jobs is refused" test "$(grep -c 'jobs is refused' "$TMP/h.out")" -eq 1

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
