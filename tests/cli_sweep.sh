#!/usr/bin/env bash
# End-to-end tests of `liqsim sweep` and `liqsim results merge`: every point
# equals `liqsim replay --set` (and `--at`) with its values, the database is
# the same whatever --jobs is and however the points were sharded, and bad
# input is refused with exit 2 before anything is written.
# Usage: tests/cli_sweep.sh path/to/liqsim
set -u
LIQSIM=${1:?usage: cli_sweep.sh path/to/liqsim}
LIQSIM=$(readlink -f "$LIQSIM")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EX="$ROOT/events/examples"
FLAG="$ROOT/replays/eth-2020-03-12"
DUMP="$ROOT/tools/canonical_dump.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1${2:+: $2}"; fail=$((fail + 1)); }
check() {
  local name=$1
  shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}
expect_error() {  # NAME EXPECTED-RC PATTERN command...
  local name=$1 want=$2 pattern=$3
  shift 3
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [[ $rc -ne $want ]]; then
    not_ok "$name" "exit $rc, wanted $want; stderr: $(head -c 300 "$TMP/err")"
  elif ! grep -q -- "$pattern" "$TMP/err"; then
    not_ok "$name" "stderr lacks '$pattern': $(head -c 300 "$TMP/err")"
  else
    ok "$name"
  fi
}
same_db() { cmp -s <(bash "$DUMP" "$1") <(bash "$DUMP" "$2"); }

# The point's summary without the sweep's own keys (point, run_id, values).
strip_point() { python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    for k in ("point", "run_id", "values"):
        o.pop(k)
    print(json.dumps(o, separators=(",", ":")))'; }

TIER='markets.ETH-PERP.tiers[0].maintenance_margin_ratio'

# --- every point equals `liqsim replay --set` with its values ---
"$LIQSIM" sweep "$FLAG" --grid "$TIER=0.004,0.0065" --grid liquidation.insurance_fund=10000000,30000000 \
  --out "$TMP/a.sqlite" --jobs 2 --json >"$TMP/a.json" 2>"$TMP/err"
check "a 2x2 sweep of the flagship exits 0" test $? -eq 0
check "--json prints one object per point" test "$(wc -l <"$TMP/a.json")" -eq 4
k=0
for tier in 0.004 0.0065; do
  for fund in 10000000 30000000; do
    "$LIQSIM" replay "$FLAG" --set "$TIER=$tier" --set liquidation.insurance_fund=$fund --json >"$TMP/r.json"
    sed -n "$((k + 1))p" "$TMP/a.json" | strip_point >"$TMP/p.json"
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")))' \
      "$TMP/r.json" >"$TMP/r2.json"
    check "point $k ($tier, $fund) has the summary and state hash of replay --set" cmp -s "$TMP/p.json" "$TMP/r2.json"
    k=$((k + 1))
  done
done
check "the point at the flagship's own values has the flagship's state hash" \
  grep -q '"state_hash":"b92407119a36a002b9f43ec617e38b97e40b6a6bfbe4ce13960811265762b8d2"' \
  <("$LIQSIM" sweep "$FLAG" --grid "$TIER=0.005" --out "$TMP/one.sqlite" --json)
check "the points are runs 1..4 with their values in sweep_points" \
  test "$(sqlite3 "$TMP/a.sqlite" "SELECT group_concat(run_id || ':' || path || '=' || value, ' ') FROM (SELECT * FROM sweep_points ORDER BY point, axis)")" = \
  "1:$TIER=0.004 1:liquidation.insurance_fund=10000000 2:$TIER=0.004 2:liquidation.insurance_fund=30000000 3:$TIER=0.0065 3:liquidation.insurance_fund=10000000 4:$TIER=0.0065 4:liquidation.insurance_fund=30000000"
check "sweep_summary has one row per point with its values" \
  test "$(sqlite3 "$TMP/a.sqlite" "SELECT count(*) FROM sweep_summary WHERE json_extract(values_json, '$.\"liquidation.insurance_fund\"') = 30000000")" = 2
check "a point's run stores the overridden configuration with recomputed tier amounts" \
  test "$(sqlite3 "$TMP/a.sqlite" "SELECT json_extract(config_json, '$.markets.ETH-PERP.tiers[1].maintenance_amount') FROM runs WHERE id = 3")" = "0"

# --- the database is the same whatever --jobs is ---
"$LIQSIM" sweep "$FLAG" --grid "$TIER=0.004,0.0065" --grid liquidation.insurance_fund=10000000,30000000 \
  --out "$TMP/b.sqlite" --jobs 1 --quiet >"$TMP/b.txt"
check "--jobs 1 and --jobs 2 write the same database (canonical dump)" same_db "$TMP/a.sqlite" "$TMP/b.sqlite"
check "the table has a header and one row per point" test "$(grep -c '^ *[0-9] ' "$TMP/b.txt")" -eq 4
check "the table names the database and the runs" grep -q "results database   $TMP/b.sqlite (sweep 1, runs 1..4)" "$TMP/b.txt"
# Many small points on many workers, against one.
"$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=0,10,100,1000 --grid liquidation.mode=full,partial \
  --grid markets.BTC-PERP.maintenance_margin_ratio=0.004,0.005,0.008 --out "$TMP/c1.sqlite" --jobs 1 --quiet >"$TMP/c1.txt"
"$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=0,10,100,1000 --grid liquidation.mode=full,partial \
  --grid markets.BTC-PERP.maintenance_margin_ratio=0.004,0.005,0.008 --out "$TMP/c4.sqlite" --jobs 4 --quiet >"$TMP/c4.txt"
check "24 points on 4 workers give the database of 1 worker" same_db "$TMP/c1.sqlite" "$TMP/c4.sqlite"
check "24 points on 4 workers print the table of 1 worker" \
  cmp -s <(grep -v 'results database' "$TMP/c1.txt") <(grep -v 'results database' "$TMP/c4.txt")

# --- --rows summary: the summaries, metrics and cascades without the rows by event and account ---
"$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=0,10,100,1000 --grid liquidation.mode=full,partial \
  --grid markets.BTC-PERP.maintenance_margin_ratio=0.004,0.005,0.008 --rows summary --out "$TMP/sum1.sqlite" \
  --jobs 1 --quiet >"$TMP/sum1.txt"
"$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=0,10,100,1000 --grid liquidation.mode=full,partial \
  --grid markets.BTC-PERP.maintenance_margin_ratio=0.004,0.005,0.008 --rows summary --out "$TMP/sum4.sqlite" \
  --jobs 4 --quiet >"$TMP/sum4.txt"
check "--rows summary prints the table of --rows all" \
  cmp -s <(grep -v 'results database' "$TMP/sum1.txt") <(grep -v 'results database' "$TMP/c1.txt")
check "--rows summary stores the summaries and metrics of --rows all" \
  test "$(sqlite3 "$TMP/sum1.sqlite" "SELECT group_concat(state_hash || bad_debt, ',') FROM runs; SELECT count(*) FROM metrics")" = \
  "$(sqlite3 "$TMP/c1.sqlite" "SELECT group_concat(state_hash || bad_debt, ',') FROM runs; SELECT count(*) FROM metrics")"
check "--rows summary stores no rows by event or account" \
  test "$(sqlite3 "$TMP/sum1.sqlite" "SELECT ((SELECT count(*) FROM events) + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM market_series) + (SELECT count(*) FROM insurance_fund) + (SELECT count(*) FROM episodes)) || ' ' || (SELECT stored_rows FROM sweeps)")" = "0 summary"
check "--rows summary at --jobs 4 writes the database of --jobs 1" same_db "$TMP/sum1.sqlite" "$TMP/sum4.sqlite"
expect_error "--rows takes all or summary" 2 "--rows takes all or summary" \
  "$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=1 --rows some --out "$TMP/never.sqlite"

# A market and an asset that no event names: their names are interned before
# the workers start (an engine interns its configuration's names).
python3 - "$EX/cascade/config.json" "$TMP/extra.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["assets"]["ETH"] = {"collateral_weight": "0.8"}
c["markets"]["ETH-PERP"] = {"underlying": "ETH", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01"}
json.dump(c, open(sys.argv[2], "w"))
PY
for j in 1 4; do
  "$LIQSIM" sweep --config "$TMP/extra.json" --events "$EX/cascade/events.jsonl" \
    --grid liquidation.insurance_fund=0,10,100,1000,5,50,500,5000 --out "$TMP/extra$j.sqlite" --jobs $j --quiet >/dev/null
done
check "names only the configuration has: --jobs 4 writes the database of --jobs 1" \
  same_db "$TMP/extra1.sqlite" "$TMP/extra4.sqlite"

# --- a grid file and --zip ---
printf '{"grid": {"liquidation.insurance_fund": [0, 10, 100, 1000], "liquidation.mode": ["full", "partial"], "markets.BTC-PERP.maintenance_margin_ratio": ["0.004", "0.005", "0.008"]}}\n' >"$TMP/g.json"
"$LIQSIM" sweep "$EX/cascade" --grid-file "$TMP/g.json" --out "$TMP/g.sqlite" --quiet --json >"$TMP/g.out"
"$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=0,10,100,1000 --grid liquidation.mode=full,partial \
  --grid markets.BTC-PERP.maintenance_margin_ratio=0.004,0.005,0.008 --out "$TMP/g2.sqlite" --quiet --json >"$TMP/g2.out"
check "a grid file gives the points of the same --grid options" \
  cmp -s <(strip_point <"$TMP/g.out") <(strip_point <"$TMP/g2.out")
"$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=0,10,100 --grid liquidation.mode=full,partial,full \
  --zip --out "$TMP/z.sqlite" --quiet --json >"$TMP/z.out"
check "--zip takes the axes in step" test "$(wc -l <"$TMP/z.out")" -eq 3
check "--zip point 1 is the second value of each axis" \
  grep -q '"point":1,"run_id":2,"values":{"liquidation.insurance_fund":10,"liquidation.mode":"partial"}' "$TMP/z.out"

# --- shards and merge ---
for i in 0 1 2; do
  "$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=0,10,100,1000 --grid liquidation.mode=full,partial \
    --grid markets.BTC-PERP.maintenance_margin_ratio=0.004,0.005,0.008 --shard $i/3 --out "$TMP/s$i.sqlite" --quiet \
    >/dev/null
done
check "shard 1/3 holds points 1, 4, 7, ..." \
  test "$(sqlite3 "$TMP/s1.sqlite" "SELECT group_concat(point, ',') FROM (SELECT DISTINCT point FROM sweep_points ORDER BY point)")" = "1,4,7,10,13,16,19,22"
"$LIQSIM" results merge "$TMP/m.sqlite" "$TMP/s2.sqlite" "$TMP/s0.sqlite" "$TMP/s1.sqlite" >/dev/null
check "merged shards (in any order) equal the unsharded sweep" same_db "$TMP/m.sqlite" "$TMP/c1.sqlite"
expect_error "merge refuses a missing shard" 2 "shard 2/3 is missing" \
  "$LIQSIM" results merge "$TMP/m2.sqlite" "$TMP/s0.sqlite" "$TMP/s1.sqlite"
check "a refused merge writes nothing" test ! -e "$TMP/m2.sqlite"
expect_error "merge refuses a shard given twice" 2 "the shards overlap" \
  "$LIQSIM" results merge "$TMP/m2.sqlite" "$TMP/s0.sqlite" "$TMP/s1.sqlite" "$TMP/s1.sqlite"
expect_error "merge refuses shards of different sweeps" 2 "is a shard of another sweep" \
  "$LIQSIM" results merge "$TMP/m2.sqlite" "$TMP/s0.sqlite" "$TMP/z.sqlite"
expect_error "merge refuses a database without a sweep" 2 "holds no sweep" \
  bash -c "'$LIQSIM' replay '$EX/cascade' --out '$TMP/plain.sqlite' >/dev/null && '$LIQSIM' results merge '$TMP/m2.sqlite' '$TMP/plain.sqlite'"
check "no refused merge left a file" test ! -e "$TMP/m2.sqlite"

# --- tools/slurm/sweep.sbatch, its array tasks and its merge step run by hand ---
for i in 0 1 2; do
  (cd "$TMP" && SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=3 LIQSIM="$LIQSIM" SWEEP_OUT="$TMP/slurm.sqlite" \
    bash "$ROOT/tools/slurm/sweep.sbatch" "$EX/cascade" --grid liquidation.insurance_fund=0,10,100,1000 \
    --grid liquidation.mode=full,partial --grid markets.BTC-PERP.maintenance_margin_ratio=0.004,0.005,0.008 \
    >/dev/null 2>&1)
done
(cd "$TMP" && SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=3 LIQSIM="$LIQSIM" SWEEP_OUT="$TMP/slurm.sqlite" \
  bash "$ROOT/tools/slurm/sweep.sbatch" --merge >/dev/null 2>&1)
check "the Slurm array job's shards, merged, equal the unsharded sweep" same_db "$TMP/slurm.sqlite" "$TMP/c1.sqlite"

# --- --at: a governance change at an event, every point forked there ---
"$LIQSIM" sweep "$FLAG" --grid "$TIER=0.004,0.0065" --grid liquidation.insurance_fund=10000000,30000000 --at 30000 \
  --out "$TMP/at.sqlite" --jobs 2 --json >"$TMP/at.json"
check "an --at sweep exits 0" test $? -eq 0
"$LIQSIM" replay "$FLAG" --set "$TIER=0.0065" --set liquidation.insurance_fund=30000000 --at 30000 --json >"$TMP/r.json"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")))' \
  "$TMP/r.json" >"$TMP/r2.json"
check "an --at point equals replay --set --at" cmp -s <(sed -n 4p "$TMP/at.json" | strip_point) "$TMP/r2.json"
# The same as a log with the param events written into it before event 30000.
ts=$(sed -n 30001p "$FLAG/events.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ts"])')
tiers=$(sqlite3 "$TMP/at.sqlite" "SELECT json_extract(config_json, '$.markets.ETH-PERP.tiers') FROM runs WHERE id = 5")
{
  head -n 30000 "$FLAG/events.jsonl"
  echo "{\"type\":\"param\",\"ts\":$ts,\"path\":\"markets.ETH-PERP.tiers\",\"value\":$tiers}"
  echo "{\"type\":\"param\",\"ts\":$ts,\"path\":\"liquidation.insurance_fund\",\"value\":30000000}"
  tail -n +30001 "$FLAG/events.jsonl"
} >"$TMP/gov.jsonl"
"$LIQSIM" replay --config "$FLAG/config.json" --events "$TMP/gov.jsonl" --json >"$TMP/gov.json"
check "an --at point equals a replay of the log with the params written in" \
  test "$(grep -o '"state_hash":"[0-9a-f]*"' "$TMP/gov.json")" = "$(sed -n 4p "$TMP/at.json" | grep -o '"state_hash":"[0-9a-f]*"')"
check "an --at sweep stores the prefix once, as run 1" \
  test "$(sqlite3 "$TMP/at.sqlite" "SELECT prefix_run_id || ' ' || at_seq || ' ' || (SELECT events FROM runs WHERE id = 1) FROM sweeps")" = "1 30000 30000"
"$LIQSIM" sweep "$FLAG" --grid "$TIER=0.004,0.0065" --grid liquidation.insurance_fund=10000000,30000000 --at 30000 \
  --out "$TMP/at1.sqlite" --jobs 1 --quiet >/dev/null
check "an --at sweep writes the same database at --jobs 1 and 2" same_db "$TMP/at.sqlite" "$TMP/at1.sqlite"
for i in 0 1; do
  "$LIQSIM" sweep "$FLAG" --grid "$TIER=0.004,0.0065" --grid liquidation.insurance_fund=10000000,30000000 --at 30000 \
    --shard $i/2 --out "$TMP/ats$i.sqlite" --quiet >/dev/null
done
"$LIQSIM" results merge "$TMP/atm.sqlite" "$TMP/ats0.sqlite" "$TMP/ats1.sqlite" >/dev/null
check "merged --at shards equal the unsharded --at sweep" same_db "$TMP/atm.sqlite" "$TMP/at1.sqlite"

# --- bad input: exit 2, the option or file named, nothing written ---
bad() {  # NAME PATTERN ARGS...
  local name=$1 pattern=$2
  shift 2
  rm -f "$TMP/bad.sqlite"
  expect_error "$name" 2 "$pattern" "$LIQSIM" sweep "$EX/cascade" --out "$TMP/bad.sqlite" "$@"
  check "$name: nothing written" test ! -e "$TMP/bad.sqlite"
}
bad "a path that is not a configuration key" "--grid liquidation.insurnce_fund=...: value 1" \
  --grid liquidation.insurnce_fund=1,2
bad "a market that does not exist" "has no market 'ETH-PERP'" --grid markets.ETH-PERP.depth=1,2
bad "a value invalid for its key" "--grid liquidation.mode=...: value \"sometimes\"" \
  --grid liquidation.mode=full,sometimes
bad "a negative fund" "--grid liquidation.insurance_fund=...: value -5" --grid liquidation.insurance_fund=10,-5
bad "an empty grid" "the grid of liquidation.insurance_fund is empty" --grid liquidation.insurance_fund=
bad "an empty value in a grid" "an empty value" --grid liquidation.insurance_fund=1,,2
bad "no grid at all" "nothing to sweep" --jobs 1
bad "a path swept twice" "is swept twice" --grid liquidation.insurance_fund=1 --grid liquidation.insurance_fund=2
bad "zip of different lengths" "as many values each" --grid liquidation.insurance_fund=1,2 \
  --grid liquidation.mode=full --zip
bad "a shard outside 0..N-1" "shard 3 is outside 0..2" --grid liquidation.insurance_fund=1 --shard 3/3
bad "a malformed shard" "--shard takes I/N" --grid liquidation.insurance_fund=1 --shard 1-3
bad "--at beyond the log" "--at 100000: the log has" --grid liquidation.insurance_fund=1 --at 100000
bad "--jobs 0" "--jobs" --grid liquidation.insurance_fund=1 --jobs 0
bad "a grid file that is not JSON" "g-bad.json" --grid-file "$TMP/g-bad.json"
echo '{"liquidation.insurance_fund": []}' >"$TMP/g-empty.json"
bad "a grid file with an empty grid" "the grid is empty" --grid-file "$TMP/g-empty.json"
expect_error "--out may not be the configuration" 2 "is the same file as --config" \
  "$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=1 --out "$EX/cascade/config.json"
expect_error "--out is required" 2 "--out R.sqlite is required" \
  "$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=1
cp "$TMP/c1.sqlite" "$TMP/keep.sqlite"
expect_error "a refused sweep into an existing database" 2 "value -1" \
  "$LIQSIM" sweep "$EX/cascade" --grid liquidation.insurance_fund=-1 --out "$TMP/keep.sqlite"
check "a refused sweep leaves an existing database as it was" same_db "$TMP/keep.sqlite" "$TMP/c1.sqlite"
# --at: the same values refused where they are applied.
rm -f "$TMP/bad.sqlite"
expect_error "an --at value invalid for its key" 2 "value \"sometimes\"" \
  "$LIQSIM" sweep "$EX/cascade" --grid liquidation.mode=sometimes --at 3 --out "$TMP/bad.sqlite"
check "a refused --at sweep writes nothing" test ! -e "$TMP/bad.sqlite"
expect_error "replay --at needs --set" 2 "give at least one --set" "$LIQSIM" replay "$EX/cascade" --at 3
expect_error "replay --at beyond the log, journal into a pipe: refused before a line is written" 2 \
  "--at 300: the log has 9 events" \
  "$LIQSIM" replay "$EX/cascade" --set liquidation.insurance_fund=5 --at 300 --journal /dev/stdout
check "... and nothing reached the pipe" test ! -s "$TMP/out"
"$LIQSIM" replay "$EX/cascade" --set liquidation.insurance_fund=5 --at 3 --journal /dev/stdout --json | tail -1 >"$TMP/pj.json"
"$LIQSIM" replay "$EX/cascade" --set liquidation.insurance_fund=5 --at 3 --json >"$TMP/nj.json"
check "replay --at with a journal into a pipe gives the summary of one without" cmp -s "$TMP/pj.json" "$TMP/nj.json"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
