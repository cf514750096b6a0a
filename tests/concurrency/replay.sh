#!/usr/bin/env bash
# Concurrency tests of `liqsim replay --out` (issue 10, finding 1): two replays
# started together into a results database that does not exist yet. Whatever
# the schedule — which one creates the file, which one times out on the
# other's lock — every run a replay reports as stored is in the file named,
# whole, and a replay that fails leaves nothing of its own. The outcome of
# each try is checked against that invariant, never against a schedule, so
# the test cannot pass or fail by timing; the schedule only decides which
# path a try exercises (on the code before the fix, about half the tries lost
# the whole database). Bounded: TRIES tries (default 12) of two ~0.5 s replays.
# Usage: tests/concurrency/replay.sh path/to/liqsim [TRIES]
set -u
LIQSIM=$(readlink -f "${1:?usage: replay.sh path/to/liqsim [TRIES]}")
TRIES=${2:-12}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCENARIO="$ROOT/replays/eth-2020-03-12"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1${2:+: $2}"; fail=$((fail + 1)); }

# Checks one finished try: DB, then per replay LABEL RC OUTPUT-FILE.
check_try() {
  local db=$1 name=$2
  shift 2
  local stored=0 problems=""
  while [[ $# -gt 0 ]]; do
    local label=$1 rc=$2 out=$3
    shift 3
    local run
    run=$(sed -nE 's/^  results database   .* \(run ([0-9]+)\)$/\1/p' "$out")
    if [[ $rc -eq 0 ]]; then
      if [[ -z $run ]]; then problems+=" $label exited 0 without naming its run;"; continue; fi
      stored=$((stored + 1))
      if [[ ! -f $db ]]; then problems+=" $label reported run $run but $db does not exist;"; continue; fi
      local got
      got=$(sqlite3 "$db" "SELECT label || '|' || complete || '|' || (SELECT COUNT(*) FROM events WHERE run_id = $run AND type = 'liquidation') FROM runs WHERE id = $run" 2>&1)
      [[ $got == "$label|1|10746" ]] || problems+=" $label's run $run reads '$got';"
    else
      [[ -n $run ]] && problems+=" $label failed (exit $rc) but named run $run;"
      if [[ -f $db ]]; then
        local n
        n=$(sqlite3 "$db" "SELECT COUNT(*) FROM runs WHERE label = '$label'" 2>/dev/null || echo 0)
        [[ $n == 0 || -z $n ]] || problems+=" $label failed but left a run;"
      fi
    fi
  done
  if [[ -f $db ]]; then
    local integrity
    integrity=$(sqlite3 "$db" "PRAGMA integrity_check" 2>&1)
    [[ $integrity == ok ]] || problems+=" integrity_check: $integrity;"
    local runs
    runs=$(sqlite3 "$db" "SELECT COUNT(*) FROM runs" 2>&1)
    [[ $runs == "$stored" ]] || problems+=" $runs runs in the file, $stored reported;"
  elif [[ $stored -gt 0 ]]; then
    problems+=" no database file although $stored run(s) were reported;"
  fi
  if [[ -z $problems ]]; then ok "$name"; else not_ok "$name" "$problems"; fi
}

for i in $(seq 1 "$TRIES"); do
  db="$TMP/race-$i.sqlite"
  # A barrier so both start at once: each waits for the same file to appear.
  go="$TMP/go-$i"
  for who in a b; do
    (
      while [[ ! -e $go ]]; do sleep 0.001; done
      exec "$LIQSIM" replay "$SCENARIO" --out "$db" --label "$who" --busy-timeout 100 --quiet
    ) >"$TMP/$who-$i.out" 2>"$TMP/$who-$i.err" &
    eval "pid_$who=\$!"
  done
  touch "$go"
  wait "$pid_a"; rc_a=$?
  wait "$pid_b"; rc_b=$?
  check_try "$db" "try $i: two replays into a new database (exits $rc_a, $rc_b): every reported run is in the file" \
    a "$rc_a" "$TMP/a-$i.out" b "$rc_b" "$TMP/b-$i.out"
  for who in a b; do
    out="$TMP/$who-$i.err"
    rc_var="rc_$who"
    if [[ ${!rc_var} -ne 0 ]] && ! grep -qE 'locked|busy' "$out"; then
      not_ok "try $i: replay $who failed for a reason other than the lock" "$(head -c 300 "$out")"
    fi
  done
done

# A replay into a database another replay is writing, started after it: waits
# for the lock (default timeout) and adds its own run.
db="$TMP/queue.sqlite"
"$LIQSIM" replay "$SCENARIO" --out "$db" --label first --quiet >"$TMP/q1.out" 2>&1 &
p1=$!
while [[ ! -e $db ]]; do sleep 0.001; done
"$LIQSIM" replay "$SCENARIO" --out "$db" --label second --quiet >"$TMP/q2.out" 2>&1
rc2=$?
wait "$p1"
rc1=$?
check_try "$db" "a second replay waits for the first's lock and both runs are stored" \
  first "$rc1" "$TMP/q1.out" second "$rc2" "$TMP/q2.out"
if [[ $rc1 -eq 0 && $rc2 -eq 0 ]]; then ok "... both exit 0"; else not_ok "... both exit 0" "exits $rc1, $rc2"; fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
