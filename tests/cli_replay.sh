#!/usr/bin/env bash
# End-to-end tests of `liqsim replay` as a user runs it: exit codes, error
# locations, outputs that appear only on success, and determinism across
# JSONL/binary logs and the reference scan. Usage: tests/cli_replay.sh path/to/liqsim
set -u
LIQSIM=${1:?usage: cli_replay.sh path/to/liqsim}
LIQSIM=$(readlink -f "$LIQSIM")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EX="$ROOT/events/examples"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1${2:+: $2}"; fail=$((fail + 1)); }
# check NAME CONDITION-COMMAND...
check() {
  local name=$1
  shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# --- summary JSON holds every CONTRACT §5 field ---
"$LIQSIM" replay "$EX/adl-socialized" --json >"$TMP/s.json" 2>"$TMP/err"
rc=$?
check "replay of a scenario folder exits 0" test $rc -eq 0
for f in events rejected margin_calls liquidations liquidated_notional liquidation_fees bad_debt insurance_fund \
  adl_events socialized_loss state_hash; do
  check "summary has field $f" grep -q "\"$f\":" "$TMP/s.json"
done
check "summary money is a decimal string" grep -q '"bad_debt":"160"' "$TMP/s.json"
check "summary counts ADL events" grep -q '"adl_events":2' "$TMP/s.json"
check "nothing on stderr for a clean replay" test ! -s "$TMP/err"

# --- --config/--events form with journal ---
"$LIQSIM" replay --config "$EX/cascade/config.json" --events "$EX/cascade/events.jsonl" --journal "$TMP/j.jsonl" \
  --json >"$TMP/c.json"
check "journal is written" test -s "$TMP/j.jsonl"
check "journal lines carry type, ts and seq" bash -c "grep -c '\"type\":\"liquidation\",\"ts\":1704067260000,\"seq\":7' '$TMP/j.jsonl' | grep -qx 3"
check "cascade rounds appear in the journal" grep -q '"round":3' "$TMP/j.jsonl"
check "no temporary journal left behind" bash -c "! ls '$TMP'/j.jsonl.tmp* >/dev/null 2>&1"

# --- determinism: twice, binary log, reference scan, --check ---
"$LIQSIM" replay --config "$EX/cascade/config.json" --events "$EX/cascade/events.jsonl" --journal "$TMP/j2.jsonl" \
  --json >"$TMP/c2.json"
check "the same replay twice gives the same summary" cmp -s "$TMP/c.json" "$TMP/c2.json"
check "the same replay twice gives the same journal" cmp -s "$TMP/j.jsonl" "$TMP/j2.jsonl"
"$LIQSIM" log convert "$EX/cascade/events.jsonl" "$TMP/cascade.evlog" >/dev/null
"$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/cascade.evlog" --journal "$TMP/j3.jsonl" \
  --json >"$TMP/c3.json"
check "a binary log replays to the same summary as its JSONL" cmp -s "$TMP/c.json" "$TMP/c3.json"
check "a binary log replays to the same journal as its JSONL" cmp -s "$TMP/j.jsonl" "$TMP/j3.jsonl"
for d in "$EX"/*/; do
  name=$(basename "$d")
  "$LIQSIM" replay "$d" --json >"$TMP/a.json"
  "$LIQSIM" replay "$d" --json --reference-scan --check >"$TMP/b.json"
  check "$name: reference scan and --check give the identical summary" cmp -s "$TMP/a.json" "$TMP/b.json"
done

# --- input errors: exit 2, file:line and field, nothing written ---
expect_error() {  # NAME EXPECTED-RC PATTERN -- command...
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
cp "$EX/cascade/events.jsonl" "$TMP/bad.jsonl"
sed -i '5s/"qty":"10"/"qty":"ten"/' "$TMP/bad.jsonl"
rm -f "$TMP/jj.jsonl"
expect_error "a malformed number names file, line and field" 2 "bad.jsonl:5: field 'qty': not a decimal number" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/bad.jsonl" --journal "$TMP/jj.jsonl"
check "a failed replay writes no journal" test ! -e "$TMP/jj.jsonl"
check "a failed replay leaves no temporary file" bash -c "! ls '$TMP'/jj.jsonl.tmp* >/dev/null 2>&1"
printf '%s\n' '{"type":"deposit","ts":1,"account":"a","asset":"USD","amount":"1"}' \
  '{"type":"trade","ts":2,"account":"a","market":"BTC-PERP","side":"buy","qty":"1","price":"100"}' >"$TMP/noprice.jsonl"
expect_error "a trade before its underlying has a price is an input error with its line" 2 \
  "noprice.jsonl:2, seq 1: field 'market'" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/noprice.jsonl"
printf '%s\n' '{"type":"price","ts":1,"asset":"DOGE","price":"1"}' >"$TMP/doge.jsonl"
expect_error "an asset the configuration does not define is an input error" 2 "asset 'DOGE' is not defined" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/doge.jsonl"
printf '%s\n' '{"type":"price","ts":5,"asset":"BTC","price":"1"}' '{"type":"price","ts":4,"asset":"BTC","price":"1"}' \
  >"$TMP/back.jsonl"
expect_error "ts going backwards is an input error" 2 "back.jsonl:2: field 'ts': goes backwards" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/back.jsonl"
printf '%s\n' '{"type":"price","ts":1,"asset":"BTC","price":"100"}' \
  '{"type":"param","ts":2,"path":"markets.BTC-PERP.maintenance_margin_ratio","value":"0.5"}' >"$TMP/param.jsonl"
expect_error "a param that breaks the configuration is an input error" 2 "above initial_margin_ratio" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/param.jsonl"
printf '%s\n' '{"type":"price","ts":1,"asset":"BTC","price":"90000000000"}' \
  '{"type":"deposit","ts":1,"account":"a","asset":"USD","amount":"90000000000"}' \
  '{"type":"trade","ts":2,"account":"a","market":"BTC-PERP","side":"buy","qty":"90000000","price":"90000000000"}' \
  >"$TMP/huge.jsonl"
expect_error "arithmetic beyond the representable range is an input error naming the event" 2 \
  "huge.jsonl:3, seq 2: arithmetic outside the representable range" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/huge.jsonl"

# --- configuration errors name the key ---
sed 's/"maintenance_margin_ratio": "0.005"/"maintenance_margin_ratio": "0.5"/' "$EX/cascade/config.json" >"$TMP/c1.json"
expect_error "maintenance above initial names the key" 2 "field 'markets.BTC-PERP.maintenance_margin_ratio'" \
  "$LIQSIM" replay --config "$TMP/c1.json" --events "$EX/cascade/events.jsonl"
sed 's/"depth": "1000"/"depth": "1000", "colour": "red"/' "$EX/cascade/config.json" >"$TMP/c2.json"
expect_error "an unknown configuration key is named" 2 "field 'markets.BTC-PERP.colour': unknown key" \
  "$LIQSIM" replay --config "$TMP/c2.json" --events "$EX/cascade/events.jsonl"
sed 's/"maintenance_amount": "50"/"maintenance_amount": "60"/' "$EX/isolated-tiers/config.json" >"$TMP/c3.json"
expect_error "tiers that are not continuous are refused" 2 "not continuous at notional 50000" \
  "$LIQSIM" replay --config "$TMP/c3.json" --events "$EX/isolated-tiers/events.jsonl"
sed 's/"collateral_weight": "0.95"/"collateral_weight": "1.2"/' "$EX/isolated-tiers/config.json" >"$TMP/c4.json"
expect_error "a weight above 1 is refused" 2 "field 'assets.BTC.collateral_weight': must be within \[0, 1\]" \
  "$LIQSIM" replay --config "$TMP/c4.json" --events "$EX/isolated-tiers/events.jsonl"

# --- usage errors ---
expect_error "a missing --events is a usage error" 2 "missing --events" "$LIQSIM" replay --config "$EX/cascade/config.json"
expect_error "an unknown option is a usage error" 2 "unknown option" "$LIQSIM" replay "$EX/cascade" --frobnicate
expect_error "an unknown command is a usage error" 2 "unknown command" "$LIQSIM" frobnicate
expect_error "a missing events file is reported" 2 "cannot open" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/none.jsonl"

# --- a corrupt binary log is refused with exit 3 ---
cp "$TMP/cascade.evlog" "$TMP/corrupt.evlog"
printf '\xff' | dd of="$TMP/corrupt.evlog" bs=1 seek=40 conv=notrunc 2>/dev/null
expect_error "a corrupt binary log is refused with exit 3" 3 "corrupt.evlog" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/corrupt.evlog"

# --- outputs: a full disk is an error; devices and pipes are written into, never replaced ---
"$LIQSIM" replay "$EX/cascade" --json --journal /dev/stdout >"$TMP/both.txt"
check "--journal /dev/stdout: the journal, then the summary, in the redirected file" \
  bash -c "head -n -1 '$TMP/both.txt' | cmp -s - '$TMP/j.jsonl' && tail -n 1 '$TMP/both.txt' | cmp -s - '$TMP/c.json'"
mkfifo "$TMP/fifo"
cat "$TMP/fifo" >"$TMP/from-fifo.jsonl" &
"$LIQSIM" replay "$EX/cascade" --journal "$TMP/fifo" >/dev/null
wait
check "a journal into a FIFO arrives whole, and the FIFO stays a FIFO" \
  bash -c "cmp -s '$TMP/from-fifo.jsonl' '$TMP/j.jsonl' && test -p '$TMP/fifo'"
if [[ -c /dev/full ]]; then
  "$LIQSIM" replay "$EX/cascade" --out "$TMP/full.sqlite" >/dev/null
  expect_error "a journal on a full device is an error naming it" 2 "/dev/full: write failed: no space left" \
    "$LIQSIM" replay "$EX/cascade" --journal /dev/full --out "$TMP/full.sqlite"
  check "... the device is still a device" test -c /dev/full
  check "... and the results database did not get the run" \
    test "$(sqlite3 "$TMP/full.sqlite" 'SELECT COUNT(*) FROM runs')" = 1
  "$LIQSIM" replay "$EX/cascade" --json >/dev/full 2>"$TMP/err"
  rc=$?
  check "a summary to a full standard output exits 2" test $rc -eq 2
  check "... and says why" grep -q "<stdout>: write failed: no space left on device" "$TMP/err"
  expect_error "a report on a full device is an error naming it" 2 "/dev/full: write failed" \
    "$LIQSIM" report "$TMP/full.sqlite" -o /dev/full
fi
echo previous >"$TMP/keep.jsonl"
cp "$EX/cascade/events.jsonl" "$TMP/late-bad.jsonl"
echo '{"type":"price","ts":1,"asset":"BTC","price":"1"}' >>"$TMP/late-bad.jsonl"
expect_error "a replay refused for its input leaves an existing journal as it was" 2 "late-bad.jsonl" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/late-bad.jsonl" --journal "$TMP/keep.jsonl"
check "... byte for byte" test "$(cat "$TMP/keep.jsonl")" = previous

# Two deposits each in range whose total is not: refused, nothing written or created.
printf '%s\n' '{"type":"deposit","ts":1,"account":"w1","asset":"USD","amount":"50000000000"}' \
  '{"type":"deposit","ts":1,"account":"w2","asset":"USD","amount":"50000000000"}' \
  '{"type":"deposit","ts":2,"account":"w2","asset":"USD","amount":"50000000000"}' >"$TMP/big.jsonl"
expect_error "an amount beyond the fixed-point range is named with its line" 2 "big.jsonl:3.*outside the fixed-point range" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/big.jsonl" --journal "$TMP/keep.jsonl" \
  --out "$TMP/never.sqlite"
check "... the existing journal is kept and no database file is left" \
  bash -c "test \"\$(cat '$TMP/keep.jsonl')\" = previous && test ! -e '$TMP/never.sqlite'"
head -2 "$TMP/big.jsonl" >"$TMP/big2.jsonl"
"$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/big2.jsonl" --json >"$TMP/big2.json"
check "totals beyond one account's range are summed exactly" grep -q '"USD":"100000000000"' "$TMP/big2.json"
sqlite3 "$TMP/app.sqlite" 'CREATE TABLE users (id INTEGER PRIMARY KEY)'
cp "$TMP/app.sqlite" "$TMP/app.before"
expect_error "a database that is not liqsim's is refused" 2 "not a liqsim results database" \
  "$LIQSIM" replay "$EX/cascade" --out "$TMP/app.sqlite"
check "... and left byte for byte as it was" cmp -s "$TMP/app.sqlite" "$TMP/app.before"

# An output that is an input or another output is refused before anything is written.
cp "$EX/cascade/events.jsonl" "$TMP/self.jsonl"
cp "$TMP/self.jsonl" "$TMP/self.before"
expect_error "a journal over the events being replayed is refused" 2 "same file as --events" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/self.jsonl" --journal "$TMP/./self.jsonl"
check "... and the events are untouched" cmp -s "$TMP/self.jsonl" "$TMP/self.before"
expect_error "a journal and a database under one name are refused" 2 "name the same file" \
  "$LIQSIM" replay "$EX/cascade" --out "$TMP/one.sqlite" --journal "$TMP/one.sqlite"
expect_error "--out :memory: is refused (it would keep nothing)" 2 "would keep nothing" \
  "$LIQSIM" replay "$EX/cascade" --out :memory:
mkdir "$TMP/both"
cp "$EX/cascade/config.json" "$EX/cascade/events.jsonl" "$TMP/both/"
"$LIQSIM" log convert "$TMP/both/events.jsonl" "$TMP/both/events.evlog" >/dev/null
expect_error "a folder with both a binary and a JSONL log is ambiguous" 2 "both events.evlog and events.jsonl" \
  "$LIQSIM" replay "$TMP/both"

# --- human summary ---
"$LIQSIM" replay "$EX/isolated-tiers" >"$TMP/h.txt"
check "the human summary names liquidations and the state hash" \
  bash -c "grep -q 'liquidations       2 fills' '$TMP/h.txt' && grep -q 'state hash' '$TMP/h.txt'"


# --- issue 10: side files of the results database, FIFOs, escapes, long summaries ---
for side in journal wal shm; do
  rm -f "$TMP/side.sqlite" "$TMP/side.sqlite-$side"
  expect_error "--journal named after the database's -$side side file is refused" 2 "side file of the results database" \
    "$LIQSIM" replay "$EX/cascade" --out "$TMP/side.sqlite" --journal "$TMP/side.sqlite-$side"
  check "... and neither file is written" bash -c "test ! -e '$TMP/side.sqlite' && test ! -e '$TMP/side.sqlite-$side'"
done
ln -sf "$TMP/side-target.sqlite" "$TMP/side-link.sqlite"
"$LIQSIM" replay "$EX/cascade" --out "$TMP/side-target.sqlite" --quiet >/dev/null
expect_error "--report named after the side file of a linked database's target is refused" 2 "side file" \
  "$LIQSIM" replay "$EX/cascade" --out "$TMP/side-link.sqlite" --report "$TMP/side-target.sqlite-journal"
expect_error "report -o named after the database's journal is refused" 2 "side file of the results database" \
  "$LIQSIM" report "$TMP/side-target.sqlite" -o "$TMP/side-target.sqlite-journal"
check "... and no journal file appears" test ! -e "$TMP/side-target.sqlite-journal"
mkfifo "$TMP/cfg.fifo"
expect_error "replay --config naming a FIFO is refused, not waited on" 2 "named pipe" \
  timeout 10 "$LIQSIM" replay --config "$TMP/cfg.fifo" --events "$EX/cascade/events.jsonl"
expect_error "report of a FIFO is refused, not waited on" 2 "named pipe" \
  timeout 10 "$LIQSIM" report "$TMP/cfg.fifo" -o "$TMP/fifo.html"
expect_error "replay --out naming a FIFO is refused" 2 "not a regular file" \
  timeout 10 "$LIQSIM" replay "$EX/cascade" --out "$TMP/cfg.fifo"
sed 's/"BTC-PERP"/"BTC\\u001b[31mX\\u0007"/' "$EX/cascade/events.jsonl" >"$TMP/esc.jsonl"
expect_error "a control character echoed in an error is escaped" 2 'BTC\\x1b\[31mX\\x07' \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/esc.jsonl"
check "... and no raw ESC or BEL reaches stderr" bash -c "! LC_ALL=C grep -q \$'[\\x01-\\x08\\x0b-\\x1f\\x7f]' '$TMP/err'"
long_label=$(printf 'L%.0s' $(seq 1 5000))
"$LIQSIM" replay "$EX/cascade" --label "$long_label" >"$TMP/long.txt"
check "a 5000-byte label does not cut the summary: the state hash is still printed" \
  grep -qE '^  state hash         [0-9a-f]{64}$' "$TMP/long.txt"
check "... and the label is printed whole" grep -q "^liqsim replay: $long_label\$" "$TMP/long.txt"
python3 - "$TMP/many" <<'PY'
import json, sys, os
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
n = 400
cfg = {"assets": {f"A{i:03d}": {"collateral_weight": "0.9"} for i in range(n)},
       "markets": {"P-PERP": {"underlying": "A000", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05"}}}
json.dump(cfg, open(f"{d}/config.json", "w"))
with open(f"{d}/events.jsonl", "w") as f:
    for i in range(n):
        f.write(json.dumps({"type": "price", "ts": 1, "asset": f"A{i:03d}", "price": "123456.789"}) + "\n")
        f.write(json.dumps({"type": "deposit", "ts": 1, "account": f"acct{i}", "asset": f"A{i:03d}", "amount": "98765.4321"}) + "\n")
PY
"$LIQSIM" replay "$TMP/many" >"$TMP/many.txt"
"$LIQSIM" replay "$TMP/many" --json >"$TMP/many.json"
check "a metric of 400 assets is printed whole in the text summary" \
  bash -c "grep -q '\"A399\":' '$TMP/many.txt' && grep -qE '^  state hash         [0-9a-f]{64}$' '$TMP/many.txt'"

# --- issue 10, finding 6: the input's checksum is of the bytes replayed ---
n=$(grep -c . "$EX/cascade/events.jsonl")
"$LIQSIM" log convert "$EX/cascade/events.jsonl" "$TMP/full.evlog" >/dev/null
head -n $((n - 1)) "$EX/cascade/events.jsonl" >"$TMP/prefix.jsonl"
"$LIQSIM" log convert "$TMP/prefix.jsonl" "$TMP/prefix.evlog" >/dev/null
cp "$TMP/full.evlog" "$TMP/torn.evlog"
truncate -s -5 "$TMP/torn.evlog"  # the last record cut short: a torn tail, not replayed
rm -f "$TMP/sha.sqlite"
"$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/torn.evlog" --out "$TMP/sha.sqlite" --quiet \
  >/dev/null 2>&1
check "runs.events_sha256 of a log with a torn tail is the checksum of the records replayed" \
  test "$(sqlite3 "$TMP/sha.sqlite" 'SELECT events_sha256 FROM runs')" = "$(sha256sum <"$TMP/prefix.evlog" | cut -d' ' -f1)"
"$LIQSIM" replay --config "$EX/cascade/config.json" --events "$EX/cascade/events.jsonl" --out "$TMP/sha.sqlite" \
  --quiet >/dev/null
check "runs.events_sha256 of a JSONL log is the checksum of its bytes" \
  test "$(sqlite3 "$TMP/sha.sqlite" 'SELECT events_sha256 FROM runs WHERE id = 2')" = "$(sha256sum <"$EX/cascade/events.jsonl" | cut -d' ' -f1)"

# An output is never renamed over a file another process holds locked (a log
# being appended to, a results database being written).
echo "held" >"$TMP/held.jsonl"
flock "$TMP/held.jsonl" -c "touch '$TMP/held.ready'; sleep 60" &
holder=$!
for _ in $(seq 1 2000); do [[ -e $TMP/held.ready ]] && break; sleep 0.01; done
expect_error "a journal over a file another process holds locked is refused" 2 "in use by another process" \
  "$LIQSIM" replay "$EX/cascade" --journal "$TMP/held.jsonl"
check "... and the file is left as it was" test "$(cat "$TMP/held.jsonl")" = held
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# --- the log is streamed: a bad event after good ones still changes nothing ---
# Each event is checked just before it is applied; the outputs stay
# temporary (the run uncommitted) until the last event, so an error at the
# end of the log leaves no journal, no run and no database.
mkdir -p "$TMP/stream"
cp "$EX/cascade/config.json" "$TMP/stream/config.json"
{ cat "$EX/cascade/events.jsonl"; echo; echo '{"type":"trade","ts":4102444800000,"account":"z","market":"NOPE-PERP","side":"buy","qty":"1","price":"1"}'; } >"$TMP/stream/events.jsonl"
bad_line=$(wc -l <"$TMP/stream/events.jsonl")
expect_error "a bad event at the end of a streamed log is reported with its line" 2 \
  "events.jsonl:$bad_line, seq 9: field 'market': market 'NOPE-PERP' is not defined" \
  "$LIQSIM" replay "$TMP/stream" --journal "$TMP/stream/j.jsonl" --out "$TMP/stream/r.sqlite"
check "... and leaves no journal" test ! -e "$TMP/stream/j.jsonl"
check "... and no results database" test ! -e "$TMP/stream/r.sqlite"
check "... and no temporary file" bash -c "! ls '$TMP/stream'/*.tmp* >/dev/null 2>&1"
"$LIQSIM" replay "$EX/cascade" --out "$TMP/stream/kept.sqlite" --quiet >/dev/null
expect_error "the same bad log into a database that holds a run" 2 "NOPE-PERP" \
  "$LIQSIM" replay "$TMP/stream" --out "$TMP/stream/kept.sqlite"
check "... adds no run to it" test "$(sqlite3 "$TMP/stream/kept.sqlite" 'SELECT count(*) FROM runs')" = 1
"$LIQSIM" replay "$TMP/stream" --journal /dev/stdout >"$TMP/stream/out.txt" 2>"$TMP/stream/err.txt"
check "a journal streamed to stdout: a bad log is checked whole first (exit 2)" test $? -eq 2
check "... and nothing was streamed" test ! -s "$TMP/stream/out.txt"
check "... and the error names the line" grep -q "events.jsonl:$bad_line, seq 9: field 'market'" "$TMP/stream/err.txt"
# A corrupt record in the middle of a binary log: found while streaming, after
# the records before it were replayed; still nothing is published.
"$LIQSIM" log convert "$EX/cascade/events.jsonl" "$TMP/stream/c.evlog" >/dev/null
size=$(stat -c %s "$TMP/stream/c.evlog")
printf '\xff' | dd of="$TMP/stream/c.evlog" bs=1 seek=$((size - 5)) conv=notrunc status=none
expect_error "a corrupt last record of a binary log (exit 3)" 3 "c.evlog: byte offset" \
  "$LIQSIM" replay --config "$EX/cascade/config.json" --events "$TMP/stream/c.evlog" \
  --journal "$TMP/stream/cj.jsonl" --out "$TMP/stream/c.sqlite"
check "... and leaves no journal and no database" bash -c "test ! -e '$TMP/stream/cj.jsonl' && test ! -e '$TMP/stream/c.sqlite'"
"$LIQSIM" replay "$EX/cascade" --journal /dev/stdout --json >"$TMP/stream/good.txt"
check "a good log with a journal on stdout: the journal, then the summary" \
  bash -c "test \$(grep -c '\"type\":\"liquidation\"' '$TMP/stream/good.txt') -gt 0 && tail -1 '$TMP/stream/good.txt' | grep -q '\"state_hash\"'"

# --- the results database is written by a thread of its own: the same rows ---
# The flagship (32,829 derived events, many writer batches) twice into fresh
# databases: every table identical but the wall-clock columns, the journal
# rows in the order the replay made them, and the same rows as the journal.
dump_db() {  # every table's rows, the runs' wall-clock times masked
  for t in $(sqlite3 "$1" .tables); do
    echo "== $t"
    if [[ $t == runs ]]; then
      sqlite3 "$1" "SELECT * FROM runs ORDER BY rowid" | sed -E ':a; s/\|1[0-9]{12}(\||$)/|T\1/; ta'
    else
      sqlite3 "$1" "SELECT * FROM $t ORDER BY rowid"
    fi
  done
}
"$LIQSIM" replay "$ROOT/replays/eth-2020-03-12" --out "$TMP/w1.sqlite" --journal "$TMP/w1.jsonl" --quiet >/dev/null
"$LIQSIM" replay "$ROOT/replays/eth-2020-03-12" --out "$TMP/w2.sqlite" --quiet >/dev/null
check "two runs of the flagship into fresh databases store identical rows" \
  cmp -s <(dump_db "$TMP/w1.sqlite") <(dump_db "$TMP/w2.sqlite")
check "... one row per journal line, in the journal's order" \
  cmp -s <(sqlite3 "$TMP/w1.sqlite" "SELECT type, seq FROM events ORDER BY n" | tr '|' ' ') \
  <(python3 -c 'import json,sys
for l in open(sys.argv[1]): e=json.loads(l); print(e["type"], e["seq"])' "$TMP/w1.jsonl")
# --- --set PATH=VALUE: the replay of the file edited to VALUE, recorded as replayed ---
FLAG="$ROOT/replays/eth-2020-03-12"
mkdir -p "$TMP/set"
sed -e '0,/"initial_margin_ratio": "0.0134"/s//"initial_margin_ratio": "0.02"/' \
  -e 's/"insurance_fund": "10000000"/"insurance_fund": "2500000.5"/' "$FLAG/config.json" >"$TMP/set/edited.json"
"$LIQSIM" replay "$FLAG" --json --quiet >"$TMP/set/plain.json"
"$LIQSIM" replay --config "$TMP/set/edited.json" --events "$FLAG/events.jsonl" --json --quiet >"$TMP/set/edited.out"
"$LIQSIM" replay "$FLAG" --json --quiet --set 'markets.ETH-PERP.tiers[0].initial_margin_ratio=0.02' \
  --set liquidation.insurance_fund=2500000.5 --out "$TMP/set/r.sqlite" >"$TMP/set/set.out"
check "--set: the flagship with two overrides exits 0" test $? -eq 0
hash_of() { grep -o '"state_hash":"[0-9a-f]*"' "$1"; }
check "--set gives the state hash of the configuration file edited to the values" \
  test "$(hash_of "$TMP/set/set.out")" = "$(hash_of "$TMP/set/edited.out")"
check "... which is not the hash of the unchanged file" \
  test "$(hash_of "$TMP/set/set.out")" != "$(hash_of "$TMP/set/plain.json")"
check "... and the whole summary is the edited file's" cmp -s "$TMP/set/set.out" "$TMP/set/edited.out"
check "the results database records the configuration with the overrides" \
  bash -c "sqlite3 '$TMP/set/r.sqlite' 'SELECT config_json FROM runs' | grep -q '\"insurance_fund\":2500000.5'"
sed 's/"maintenance_margin_ratio": "0.005", "maintenance_amount": "50"/"maintenance_margin_ratio": "0.006", "maintenance_amount": "100"/' \
  "$EX/isolated-tiers/config.json" >"$TMP/set/tiers.json"
check "(the tier edit changed the file)" bash -c "! cmp -s '$TMP/set/tiers.json' '$EX/isolated-tiers/config.json'"
"$LIQSIM" replay --config "$TMP/set/tiers.json" --events "$EX/isolated-tiers/events.jsonl" --json >"$TMP/set/t1.json"
"$LIQSIM" replay "$EX/isolated-tiers" --json --set 'markets.BTC-PERP.tiers[1].maintenance_margin_ratio="0.006"' \
  --set 'markets.BTC-PERP.tiers[1].maintenance_amount=100' >"$TMP/set/t2.json"
check "--set of a tier's ratio and amount replays as the edited file" cmp -s "$TMP/set/t1.json" "$TMP/set/t2.json"
expect_error "--set with an invalid value: exit 2, naming --set and the key" 2 \
  "--set markets.ETH-PERP.tiers\[0\].maintenance_margin_ratio=abc: markets.ETH-PERP.tiers\[0\].maintenance_margin_ratio: not a decimal" \
  "$LIQSIM" replay "$FLAG" --set 'markets.ETH-PERP.tiers[0].maintenance_margin_ratio=abc' --out "$TMP/set/bad.sqlite"
check "... and writes no database" test ! -e "$TMP/set/bad.sqlite"
# A ratio's override computes the later amounts again; an amount given
# with it that breaks continuity is refused.
check "--set of a tier ratio recomputes the later tiers' amounts" \
  "$LIQSIM" replay "$EX/isolated-tiers" --set 'markets.BTC-PERP.tiers[1].maintenance_margin_ratio=0.006' --quiet
expect_error "--set of an amount that breaks the tiers' continuity is refused" 2 \
  "--set markets.BTC-PERP.tiers\[1\].maintenance_amount=7: .*not continuous at notional 50000" \
  "$LIQSIM" replay "$EX/isolated-tiers" --set 'markets.BTC-PERP.tiers[1].maintenance_margin_ratio=0.006' \
  --set 'markets.BTC-PERP.tiers[1].maintenance_amount=7'
expect_error "--set of an unknown market names it" 2 "unknown path component 'SOL-PERP'" \
  "$LIQSIM" replay "$FLAG" --set markets.SOL-PERP.depth=1
expect_error "--set of an index out of range" 2 "index 10 is out of range" \
  "$LIQSIM" replay "$FLAG" --set 'markets.ETH-PERP.tiers[10].max_notional=1'
expect_error "--set without '=' is a usage error" 2 "replay: --set liquidation.adl: expected PATH=VALUE" \
  "$LIQSIM" replay "$FLAG" --set liquidation.adl
expect_error "--set cannot remove tiers" 2 "not add or remove items" \
  "$LIQSIM" replay "$FLAG" --set 'markets.ETH-PERP.tiers=[]'

# ---- a margin call on a unit with negative equity: no ratio, its equity ----
mkdir -p "$TMP/negcall"
cat >"$TMP/negcall/config.json" <<'JSON'
{ "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01",
                             "depth": "24500" } },
  "assets": { "BTC": {} }, "liquidation": { "insurance_fund": "1000000", "max_cascade_rounds": 1 } }
JSON
cat >"$TMP/negcall/events.jsonl" <<'JSONL'
{"type":"price","ts":1,"asset":"BTC","price":"10000"}
{"type":"deposit","ts":1,"account":"first","asset":"USD","amount":"2500"}
{"type":"trade","ts":1,"account":"first","market":"BTC-PERP","side":"buy","qty":"10","price":"10000"}
{"type":"deposit","ts":1,"account":"thin","asset":"USD","amount":"39000"}
{"type":"trade","ts":1,"account":"thin","market":"BTC-PERP","side":"buy","qty":"100","price":"10000"}
{"type":"price","ts":2,"asset":"BTC","price":"9800"}
JSONL
"$LIQSIM" replay "$TMP/negcall" --out "$TMP/negcall.sqlite" --journal "$TMP/negcall.journal" --quiet >/dev/null 2>&1 ||
  not_ok "replay of a margin call at negative equity"
got=$(sqlite3 "$TMP/negcall.sqlite" "SELECT account || ',' || ifnull(margin_ratio, 'NULL') || ',' || ifnull(margin_ratio_f, 'NULL') || ',' || amount FROM events WHERE type = 'margin_call'")
check "a margin call at negative equity: margin_ratio NULL, amount the equity ($got)" [ "$got" = "thin,NULL,NULL,-600" ]
check "its journal line has margin_ratio null and the equity" \
  grep -q '"type":"margin_call".*"margin_ratio":null.*"equity":"-600"' "$TMP/negcall.journal"

# ---- liquidation.socialize: an unknown rule is refused, naming the key ----
sed 's/"max_cascade_rounds": 1 }/"max_cascade_rounds": 1, "socialize": "everyone" }/' "$TMP/negcall/config.json" >"$TMP/negcall/bad.json"
"$LIQSIM" replay --config "$TMP/negcall/bad.json" --events "$TMP/negcall/events.jsonl" --quiet >/dev/null 2>"$TMP/social.err"
rc=$?
check "an unknown liquidation.socialize is exit 2 naming the key" \
  bash -c "[ $rc -eq 2 ] && grep -q 'liquidation.socialize' '$TMP/social.err'"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
