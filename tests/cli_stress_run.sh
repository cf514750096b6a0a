#!/usr/bin/env bash
# End-to-end tests of `liqsim stress run` and `liqsim stress curve` on a
# small generated book: a shock or freeze path equals a plain replay of the
# log with the path's events appended (bad debt, liquidations, state hash);
# the VaR/ES rows equal an exact Python reference over the stored paths;
# --jobs 1 and --jobs 2 write the same database, and so do three shards
# joined by `liqsim stress merge`; bad input exits 2 naming the
# file and field, and writes nothing. Usage: tests/cli_stress_run.sh path/to/liqsim
set -u
LIQSIM=${1:?usage: cli_stress_run.sh path/to/liqsim}
LIQSIM=$(readlink -f "$LIQSIM")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1${2:+: $2}"; fail=$((fail + 1)); }
check() {  # NAME GOT WANTED
  if [[ "$2" == "$3" ]]; then ok "$1"; else not_ok "$1" "got '$2', wanted '$3'"; fi
}
expect_error() {  # NAME PATTERN command... (and no database may be left behind)
  local name=$1 pattern=$2
  shift 2
  rm -f "$TMP/bad.sqlite"
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [[ $rc -ne 2 ]]; then not_ok "$name" "exit $rc, wanted 2: $(head -c 300 "$TMP/err")"
  elif ! grep -q -- "$pattern" "$TMP/err"; then not_ok "$name" "stderr lacks '$pattern': $(head -c 300 "$TMP/err")"
  elif [[ -e "$TMP/bad.sqlite" ]]; then not_ok "$name" "a database was written"
  else ok "$name"; fi
}

# The book: 400 generated accounts on ETH-PERP at 200, with impact, a fund and ADL.
cat >"$TMP/config.json" <<'JSON'
{ "assets": { "ETH": { "collateral_weight": "0.9" }, "USDC": { "collateral_weight": "1" }, "BTC": {} },
  "markets": { "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "0.04", "maintenance_margin_ratio": "0.02",
                             "liquidation_fee_ratio": "0.005", "depth": "2000000" } },
  "liquidation": { "insurance_fund": "20000", "adl": true } }
JSON
{
  echo '{"type":"price","ts":1000,"asset":"ETH","price":"200"}'
  echo '{"type":"price","ts":1000,"asset":"USDC","price":"1"}'
  echo '{"type":"price","ts":1000,"asset":"BTC","price":"60000"}'
  "$LIQSIM" gen population --accounts 400 --seed 7 --market ETH-PERP --asset ETH --price 200 --ts 1000 \
    --max-leverage 20 --collateral USD:0.6,ETH:0.2,USDC:0.2 --out "$TMP/pop.jsonl" >/dev/null 2>&1 && cat "$TMP/pop.jsonl"
  echo '{"type":"price","ts":2000,"asset":"ETH","price":"201.5"}'
} >"$TMP/events.jsonl"
lines=$(wc -l <"$TMP/events.jsonl")
if [[ $lines -gt 400 ]]; then ok "the book is generated ($lines events)"; else not_ok "the book is generated" "$lines lines"; fi
"$LIQSIM" replay --config "$TMP/config.json" --events "$TMP/events.jsonl" --json --quiet >"$TMP/base.json" ||
  not_ok "the book replays"

# ---- a shock path is the log with its prices appended ----
cat >"$TMP/shock.json" <<'JSON'
{"scenarios": [{"name": "down", "kind": "shock", "moves": {"ETH": "-0.27"}, "steps": 9, "interval_ms": 60000},
               {"name": "frozen", "kind": "freeze", "asset": "USDC", "at_ms": 90000,
                "moves": {"ETH": "-0.05"}, "steps": 4, "interval_ms": 30000}]}
JSON
if "$LIQSIM" stress run --config "$TMP/config.json" --events "$TMP/events.jsonl" --scenarios "$TMP/shock.json" \
  --out "$TMP/shock.sqlite" --json --quiet >"$TMP/shock.out" 2>"$TMP/shock.err"; then
  ok "stress run of a shock and a freeze"
else
  not_ok "stress run of a shock and a freeze" "$(head -c 300 "$TMP/shock.err")"
fi
python3 - "$TMP/events.jsonl" >"$TMP/shock-appended.jsonl" <<'PY'
import sys
S = 10**8
for line in open(sys.argv[1]): sys.stdout.write(line)
p0, ts0, move, steps = 201_50000000, 2000, -27_000000, 9
for j in range(1, steps + 1):
    raw = p0 * (S * steps + move * j) // (S * steps)
    sys.stdout.write('{"type":"price","ts":%d,"asset":"ETH","price":"%d.%08d"}\n' % (ts0 + j * 60000, raw // S, raw % S))
PY
python3 - "$TMP/events.jsonl" >"$TMP/freeze-appended.jsonl" <<'PY'
import sys
S = 10**8
for line in open(sys.argv[1]): sys.stdout.write(line)
p0, ts0, move, steps = 201_50000000, 2000, -5_000000, 4
frozen = False
for j in range(1, steps + 1):
    ts = ts0 + j * 30000
    if not frozen and ts0 + 90000 <= ts:
        sys.stdout.write('{"type":"param","ts":%d,"path":"assets.USDC.collateral_weight","value":"0"}\n' % (ts0 + 90000))
        frozen = True
    raw = p0 * (S * steps + move * j) // (S * steps)
    sys.stdout.write('{"type":"price","ts":%d,"asset":"ETH","price":"%d.%08d"}\n' % (ts, raw // S, raw % S))
PY
base_bad=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bad_debt"])' "$TMP/base.json")
for k in 0 1; do
  name=$([[ $k -eq 0 ]] && echo shock || echo freeze)
  "$LIQSIM" replay --config "$TMP/config.json" --events "$TMP/$name-appended.jsonl" --json --quiet >"$TMP/$name-replay.json"
  want=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
S = 10**8
def raw(t):
    neg = t.startswith("-"); t = t.lstrip("-"); i, _, f = t.partition(".")
    v = int(i or "0") * S + int((f + "0" * 8)[:8] or "0"); return -v if neg else v
def text(v):
    neg = v < 0; v = abs(v)
    s = str(v // S) + ("." + ("%08d" % (v % S)).rstrip("0") if v % S else "")
    return "-" + s if neg and s != "0" else s
print(text(raw(r["bad_debt"]) - raw(b["bad_debt"])), r["liquidations"] - b["liquidations"], r["state_hash"], sep="|")
' "$TMP/$name-replay.json" "$TMP/base.json")
  got=$(sqlite3 "$TMP/shock.sqlite" "SELECT bad_debt || '|' || liquidations || '|' || state_hash FROM stress_paths WHERE path = $k")
  check "the $name path equals a replay of the log with its events appended (bad debt|liquidations|state hash)" "$got" "$want"
done
liq=$(sqlite3 "$TMP/shock.sqlite" "SELECT liquidations FROM stress_paths WHERE path = 0")
if [[ ${liq:-0} -gt 0 ]]; then ok "the shock liquidates ($liq liquidations)"; else not_ok "the shock liquidates" "$liq"; fi

# ---- Monte Carlo and history: the statistics against an exact reference ----
python3 - "$TMP/hist.jsonl" <<'PY'
import sys
S = 10**8
out = open(sys.argv[1], "w")
p = 200 * S
x = 12345
for t in range(300):
    x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
    step = (x >> 40) % 700 - 360          # a move of −3.6 % … +3.4 %, in 0.01 %
    p = max(S, p * (10000 + step) // 10000)
    out.write('{"type":"price","ts":%d,"asset":"ETH","price":"%d.%08d"}\n' % (t * 60000, p // S, p % S))
PY
cat >"$TMP/mc.json" <<'JSON'
{"scenarios": [
  {"name": "mc", "kind": "gbm", "paths": 60, "seed": 11, "steps": 20, "interval_ms": 60000,
   "vol": {"ETH": "4", "USDC": "0.05"}, "correlation": [["1", "0.3"], ["0.3", "1"]]},
  {"name": "hs", "kind": "historical", "prices": "hist.jsonl", "window_ms": 1200000, "step_ms": 600000,
   "assets": ["ETH"]},
  {"name": "fhs", "kind": "fhs", "prices": "hist.jsonl", "window_ms": 1200000, "step_ms": 600000,
   "lambda": "0.9", "assets": ["ETH"]},
  {"name": "usdc", "kind": "depeg", "asset": "USDC", "level": "0.87", "duration_ms": 600000, "steps": 5}]}
JSON
run_mc() {  # JOBS OUT
  "$LIQSIM" stress run --config "$TMP/config.json" --events "$TMP/events.jsonl" --scenarios "$TMP/mc.json" \
    --out "$2" --jobs "$1" --json --quiet >"$2.out" 2>"$2.err"
}
if run_mc 1 "$TMP/mc1.sqlite"; then ok "stress run of gbm, historical, fhs and depeg scenarios"; else
  not_ok "stress run of gbm, historical, fhs and depeg scenarios" "$(head -c 300 "$TMP/mc1.sqlite.err")"; fi
run_mc 2 "$TMP/mc2.sqlite"
bash "$ROOT/tools/canonical_dump.sh" "$TMP/mc1.sqlite" >"$TMP/dump1"
bash "$ROOT/tools/canonical_dump.sh" "$TMP/mc2.sqlite" >"$TMP/dump2"
if [[ -s "$TMP/dump1" ]] && cmp -s "$TMP/dump1" "$TMP/dump2"; then ok "--jobs 1 and --jobs 2 write the same database"
else not_ok "--jobs 1 and --jobs 2 write the same database" "$(diff "$TMP/dump1" "$TMP/dump2" | head -5)"; fi
if cmp -s "$TMP/mc1.sqlite.out" "$TMP/mc2.sqlite.out"; then ok "--jobs 1 and --jobs 2 print the same"
else not_ok "--jobs 1 and --jobs 2 print the same"; fi
# ---- shards: --shard I/N and stress merge give the unsharded database ----
shards_ok=1
for i in 0 1 2; do
  "$LIQSIM" stress run --config "$TMP/config.json" --events "$TMP/events.jsonl" --scenarios "$TMP/mc.json" \
    --out "$TMP/shard$i.sqlite" --shard "$i/3" --jobs 2 --quiet >"$TMP/shard$i.out" 2>"$TMP/shard$i.err" || shards_ok=0
done
if [[ $shards_ok -eq 1 ]]; then ok "stress run --shard I/3, three shards"; else
  not_ok "stress run --shard I/3, three shards" "$(cat "$TMP"/shard*.err | head -c 300)"; fi
check "a shard holds its paths (p mod 3 = 1)" \
  "$(sqlite3 "$TMP/shard1.sqlite" "SELECT count(*) || ',' || sum(path % 3 != 1) || ',' || (SELECT count(*) FROM stress_scenarios) FROM stress_paths")" \
  "$(sqlite3 "$TMP/mc1.sqlite" "SELECT (count(*) + 1) / 3 FROM stress_paths"),0,0"
grep -q "shard 1/3" "$TMP/shard1.out" && ok "a shard says it is one" || not_ok "a shard says it is one" "$(cat "$TMP/shard1.out")"
# Given in any order: the merge is the unsharded run's database and prints its tables.
if "$LIQSIM" stress merge "$TMP/merged.sqlite" "$TMP/shard2.sqlite" "$TMP/shard0.sqlite" "$TMP/shard1.sqlite" \
  --json >"$TMP/merged.out" 2>"$TMP/merged.err"; then ok "stress merge of three shards"; else
  not_ok "stress merge of three shards" "$(head -c 300 "$TMP/merged.err")"; fi
bash "$ROOT/tools/canonical_dump.sh" "$TMP/merged.sqlite" >"$TMP/dumpm"
if [[ -s "$TMP/dumpm" ]] && cmp -s "$TMP/dump1" "$TMP/dumpm"; then ok "the merged shards are the unsharded database"
else not_ok "the merged shards are the unsharded database" "$(diff "$TMP/dump1" "$TMP/dumpm" | head -5)"; fi
if cmp -s "$TMP/mc1.sqlite.out" "$TMP/merged.out"; then ok "stress merge prints what the unsharded run prints"
else not_ok "stress merge prints what the unsharded run prints" "$(diff "$TMP/mc1.sqlite.out" "$TMP/merged.out" | head -3)"; fi
expect_error "a merge with a shard missing" "shard 1/3 is not among" "$LIQSIM" stress merge "$TMP/bad.sqlite" \
  "$TMP/shard0.sqlite" "$TMP/shard2.sqlite"
cp "$TMP/shard1.sqlite" "$TMP/shard1b.sqlite"
expect_error "a merge with a shard given twice" "given twice" "$LIQSIM" stress merge "$TMP/bad.sqlite" \
  "$TMP/shard0.sqlite" "$TMP/shard1.sqlite" "$TMP/shard1b.sqlite" "$TMP/shard2.sqlite"
expect_error "a merge of an unsharded run" "mc1.sqlite: holds no finished shard" "$LIQSIM" stress merge \
  "$TMP/bad.sqlite" "$TMP/mc1.sqlite"
"$LIQSIM" stress run --config "$TMP/config.json" --events "$TMP/events.jsonl" --scenarios "$TMP/mc.json" \
  --at 300 --out "$TMP/other1.sqlite" --shard 1/3 --quiet >/dev/null 2>&1
expect_error "a merge of shards of two runs" "other1.sqlite: is not a shard of the stress run .*(at_seq differs)" "$LIQSIM" stress merge \
  "$TMP/bad.sqlite" "$TMP/shard0.sqlite" "$TMP/other1.sqlite" "$TMP/shard2.sqlite"
expect_error "more shards than paths" "fewer than the shards" "$LIQSIM" stress run --config "$TMP/config.json" \
  --events "$TMP/events.jsonl" --scenarios "$TMP/shock.json" --shard 0/3 --out "$TMP/bad.sqlite"
expect_error "a malformed --shard" "--shard" "$LIQSIM" stress run --config "$TMP/config.json" \
  --events "$TMP/events.jsonl" --scenarios "$TMP/shock.json" --shard 3/3 --out "$TMP/bad.sqlite"
sqlite3 "$TMP/shard0.sqlite" "UPDATE stress_shard_tails SET losses = 'x' WHERE rowid = 1" 2>/dev/null
expect_error "a merge of a damaged shard" "shard0.sqlite: stress_shard_tails" "$LIQSIM" stress merge \
  "$TMP/bad.sqlite" "$TMP/shard0.sqlite" "$TMP/shard1.sqlite" "$TMP/shard2.sqlite"

check "paths per scenario" "$(sqlite3 "$TMP/mc1.sqlite" "SELECT group_concat(n, ',') FROM (SELECT count(*) n FROM stress_paths GROUP BY scenario ORDER BY scenario)")" \
  "60,$(python3 -c 'print(len(range(0, 299*60000 - 1200000 + 1, 600000)))'),$(python3 -c 'print(len(range(0, 299*60000 - 1200000 + 1, 600000)))'),1"
distinct=$(sqlite3 "$TMP/mc1.sqlite" "SELECT count(DISTINCT state_hash) FROM stress_paths WHERE scenario = 0")
if [[ $distinct -eq 60 ]]; then ok "every gbm path is its own"; else not_ok "every gbm path is its own" "$distinct distinct"; fi
# The estimator (Acerbi–Tasche) in exact integers over the stored losses.
ref=$(python3 - "$TMP/mc1.sqlite" <<'PY'
import sqlite3, sys
S = 10**8
def raw(t):
    neg = t.startswith("-"); t = t.lstrip("-"); i, _, f = t.partition(".")
    v = int(i or "0") * S + int((f + "0" * 8)[:8] or "0"); return -v if neg else v
def text(v):
    neg = v < 0; v = abs(v)
    s = str(v // S) + ("." + ("%08d" % (v % S)).rstrip("0") if v % S else "")
    return "-" + s if neg and s != "0" else s
db = sqlite3.connect(sys.argv[1])
fund = raw(db.execute("SELECT insurance_fund FROM stress_runs").fetchone()[0])
rows = []
for sc in range(4):
    for metric, col in (("bad_debt", "bad_debt"), ("liquidated_notional", "liquidated_notional"),
                        ("insurance_drawdown", "insurance_drawdown")):
        L = sorted((raw(r[0]) for r in db.execute(f"SELECT {col} FROM stress_paths WHERE scenario=?", (sc,))), reverse=True)
        n = len(L)
        cells = [text(sum(L) // n), text(L[0])]
        for a in (95_000000, 97_500000, 99_000000):
            w = n * (S - a)
            wf, wc, fr = w // S, -(-w // S), w % S
            var = L[max(wc, 1) - 1]
            num = sum(L[:wf]) * S + (fr * L[wf] if fr else 0)
            cells += [text(var), text(num // w)]
        rows.append("|".join([str(sc), metric] + cells))
print("\n".join(rows))
PY
)
got=$(sqlite3 "$TMP/mc1.sqlite" "SELECT scenario, metric, mean, max, var_95, es_95, var_97_5, es_97_5, var_99, es_99 FROM stress_stats ORDER BY scenario, CASE metric WHEN 'bad_debt' THEN 0 WHEN 'liquidated_notional' THEN 1 ELSE 2 END")
check "stress_stats equal the exact estimator over stress_paths" "$got" "$ref"
# Accounts: VaR 99 of each account's equity loss is at least its ES ordering, covered = VaR ≤ maintenance.
bad=$(sqlite3 "$TMP/mc1.sqlite" "SELECT count(*) FROM stress_accounts WHERE covered != (CAST(var_99 AS REAL) <= CAST(maintenance AS REAL)) OR CAST(es_99 AS REAL) < CAST(var_99 AS REAL) - 1e-8")
check "stress_accounts: covered is VaR 99 <= maintenance, ES 99 >= VaR 99" "$bad" "0"
n_acc=$(sqlite3 "$TMP/mc1.sqlite" "SELECT count(*) FROM stress_accounts WHERE scenario = 0")
check "every account with a position is assessed" "$n_acc" "$(sqlite3 "$TMP/mc1.sqlite" "SELECT assessed_accounts FROM stress_runs")"
# A second run with the same seed gives the same paths (in another database).
run_mc 1 "$TMP/mc3.sqlite"
bash "$ROOT/tools/canonical_dump.sh" "$TMP/mc3.sqlite" >"$TMP/dump3"
if cmp -s "$TMP/dump1" "$TMP/dump3"; then ok "the same seed gives the same database"; else not_ok "the same seed gives the same database"; fi
# --at: the start is the book before that event.
"$LIQSIM" stress run --config "$TMP/config.json" --events "$TMP/events.jsonl" --scenarios "$TMP/shock.json" --at 100 \
  --out "$TMP/at.sqlite" --quiet >/dev/null 2>"$TMP/at.err"
check "--at SEQ starts before event SEQ" "$(sqlite3 "$TMP/at.sqlite" "SELECT at_seq || ',' || start_ts FROM stress_runs")" "100,1000"

# ---- the liquidation curve ----
if "$LIQSIM" stress curve --config "$TMP/config.json" --events "$TMP/events.jsonl" --step 0.05 --max 0.5 \
  --out "$TMP/curve.sqlite" --json >"$TMP/curve.json" 2>"$TMP/curve.err"; then ok "stress curve"; else
  not_ok "stress curve" "$(head -c 300 "$TMP/curve.err")"; fi
check "the curve has 20 moves of ETH (the one underlying)" \
  "$(sqlite3 "$TMP/curve.sqlite" "SELECT asset || ':' || count(*) FROM stress_curve GROUP BY asset")" "ETH:20"
mono=$(sqlite3 "$TMP/curve.sqlite" "SELECT (SELECT liquidatable_units FROM stress_curve WHERE move = '-0.5') > (SELECT liquidatable_units FROM stress_curve WHERE move = '-0.05')")
check "a 50 % fall finds more units below maintenance than a 5 % one" "$mono" "1"
cascade=$(sqlite3 "$TMP/curve.sqlite" "SELECT count(*) FROM stress_curve WHERE liquidations > 0 AND liquidations < liquidatable_units")
check "the cascade liquidates at least the units the move alone puts below maintenance" "$cascade" "0"
deep=$(sqlite3 "$TMP/curve.sqlite" "SELECT liquidations > 0 AND liquidatable_units > 0 FROM stress_curve WHERE move = '-0.5'")
check "a 50 % fall liquidates" "$deep" "1"

# ---- bad input: exit 2, the file and the field named, nothing written ----
bad_run() {  # NAME PATTERN JSON
  printf '%s\n' "$3" >"$TMP/bad.json"
  expect_error "$1" "$2" "$LIQSIM" stress run --config "$TMP/config.json" --events "$TMP/events.jsonl" \
    --scenarios "$TMP/bad.json" --out "$TMP/bad.sqlite" --quiet
}
bad_run "an unknown kind" "bad.json: field 'scenarios\[0\].kind'" '{"scenarios":[{"kind":"crash"}]}'
bad_run "an unknown field" "scenarios\[0\].speed" '{"scenarios":[{"kind":"shock","moves":{"ETH":"-0.1"},"speed":3}]}'
bad_run "an asset the config lacks" "asset 'SOL' is not in the configuration" '{"kind":"shock","moves":{"SOL":"-0.1"}}'
bad_run "zero paths" "scenarios\[0\].paths" '{"scenarios":[{"kind":"gbm","paths":0,"seed":1,"vol":{"ETH":"1"}}]}'
bad_run "a matrix that is not symmetric" "not symmetric" \
  '{"kind":"gbm","paths":5,"seed":1,"vol":{"ETH":"1","USDC":"0.1"},"correlation":[["1","0.5"],["0.4","1"]]}'
bad_run "a matrix that is not positive semi-definite" "scenarios\[0\].correlation.*not positive semi-definite" \
  '{"kind":"gbm","paths":5,"seed":1,"vol":{"ETH":"1","USDC":"0.1","BTC":"0.6"},"correlation":[["1","0.9","-0.9"],["0.9","1","0.9"],["-0.9","0.9","1"]]}'
bad_run "a correlation outside [-1, 1] in the second scenario" "scenarios\[1\].correlation.*outside \[-1, 1\]" \
  '{"scenarios":[{"kind":"gbm","paths":5,"seed":1,"vol":{"ETH":"1","USDC":"0.1"},"correlation":[["1","0.9"],["0.9","1"]]},{"kind":"gbm","paths":2,"seed":1,"vol":{"ETH":"1","USDC":"0.1"},"correlation":[["1","-1.5"],["-1.5","1"]]}]}'
bad_run "a matrix of the wrong shape" "scenarios\[0\].correlation.*2 x 2" \
  '{"kind":"gbm","paths":5,"seed":1,"vol":{"ETH":"1","USDC":"0.1"},"correlation":[["1"]]}'
bad_run "lambda outside (0, 1)" "scenarios\[0\].lambda" \
  '{"scenarios":[{"kind":"fhs","prices":"hist.jsonl","window_ms":600000,"lambda":"1"}]}'
cp "$TMP/hist.jsonl" "$TMP/hist2.jsonl" 2>/dev/null
bad_run "a move of -100 %" "moves.ETH" '{"kind":"shock","moves":{"ETH":"-1"}}'
bad_run "a window longer than the prices" "no window of" \
  '{"kind":"historical","prices":"hist.jsonl","window_ms":999999999}'
bad_run "a missing price log" "nope.jsonl" '{"kind":"historical","prices":"nope.jsonl","window_ms":60000}'
bad_run "malformed JSON" "bad.json" '{"scenarios":[{"kind":"shock",}]}'
bad_run "a name given twice" "given twice" \
  '{"scenarios":[{"name":"a","kind":"shock","moves":{"ETH":"-0.1"}},{"name":"a","kind":"shock","moves":{"ETH":"-0.2"}}]}'
bad_run "a depeg without a level" "scenarios\[0\].level" '{"scenarios":[{"kind":"depeg","asset":"USDC","duration_ms":1000}]}'
expect_error "a missing scenario file" "nope.json" "$LIQSIM" stress run --config "$TMP/config.json" \
  --events "$TMP/events.jsonl" --scenarios "$TMP/nope.json" --out "$TMP/bad.sqlite"
expect_error "--at beyond the log" "--at" "$LIQSIM" stress run --config "$TMP/config.json" \
  --events "$TMP/events.jsonl" --scenarios "$TMP/shock.json" --at 99999 --out "$TMP/bad.sqlite"
expect_error "--out is required" "--out" "$LIQSIM" stress run --config "$TMP/config.json" \
  --events "$TMP/events.jsonl" --scenarios "$TMP/shock.json"
expect_error "a curve step of 0" "--step" "$LIQSIM" stress curve --config "$TMP/config.json" \
  --events "$TMP/events.jsonl" --step 0 --out "$TMP/bad.sqlite"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
