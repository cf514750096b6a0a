#!/usr/bin/env bash
# End-to-end tests of the command line of every `liqsim` command (src/cli/options.*):
# --opt=value beside --opt value, per-command help (`liqsim help CMD [SUB]`,
# CMD --help, `liqsim --help` listing every option), usage errors (unknown
# option with the closest one, missing value, repeated option, not a number,
# operands) that exit 2 and point to the command's help, and every existing
# option of every command still accepted. Usage: tests/cli_options.sh path/to/liqsim
# Prints "ok - name" / "not ok - name" per case and "N passed, M failed"; exits 1 on any failure.
set -u
LIQSIM=${1:?usage: cli_options.sh path/to/liqsim}
LIQSIM=$(readlink -f "$LIQSIM")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EX="$ROOT/events/examples"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 2
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1${2:+: $2}"; fail=$((fail + 1)); }
check() {  # check NAME COMMAND... : the command's success is the verdict
  local name=$1
  shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# run ARGS...: runs liqsim; sets RC; stdout in out.txt, stderr in err.txt.
run() {
  "$LIQSIM" "$@" >out.txt 2>err.txt
  RC=$?
}
# expect_usage NAME PATTERN ARGS...: exit 2, nothing on stdout, PATTERN (fixed text) on stderr.
expect_usage() {
  local name=$1 pattern=$2
  shift 2
  run "$@"
  if [[ $RC -ne 2 ]]; then
    not_ok "$name" "exit $RC, wanted 2; stderr: $(head -c 300 err.txt)"
  elif ! grep -qF -- "$pattern" err.txt; then
    not_ok "$name" "stderr lacks '$pattern': $(head -c 300 err.txt)"
  elif [[ -s out.txt ]]; then
    not_ok "$name" "stdout is not empty: $(head -c 200 out.txt)"
  else
    ok "$name"
  fi
}
# expect_ok NAME ARGS...: exit 0.
expect_ok() {
  local name=$1
  shift
  run "$@"
  if [[ $RC -eq 0 ]]; then ok "$name"; else not_ok "$name" "exit $RC; stderr: $(head -c 300 err.txt)"; fi
}
# rc0_has_all FILE WORD...: the last run exited 0 and every word is in FILE
rc0_has_all() { [[ $RC -eq 0 ]] && has_all "$@"; }
has_all() {  # has_all FILE WORD...: every word (fixed text) is in FILE
  local file=$1 w
  shift
  for w in "$@"; do
    if ! grep -qF -- "$w" "$file"; then
      echo "    missing: $w" >&2
      return 1
    fi
  done
}

REPLAY_OPTS=(--config --events --set --json --journal --out --report --label --busy-timeout --check --reference-scan
  --progress --quiet)
CANDLES_OPTS=(--asset --in --layout --ticks-per-bar --bar-seconds --repair --from --to --max-move --keep-repeats --out)
TRADES_OPTS=(--asset --in --time-unit --time-col --price-col --qty-col --shift-ms --repair --from --to --keep-repeats
  --out)
GEN_OPTS=(--accounts --seed --market --asset --price --ts --leverage-mean --max-leverage --equity-median
  --isolated-share --long-share --collateral --collateral-mode --asset-price --with-price --account-prefix --out --meta)
REPORT_OPTS=(-o --out --run --baseline)
BENCH_OPTS=(--quick --no-day --ticks --params --no-e2e --e2e-only --e2e-ticks --crash-accounts --sweep-points --flagship
  --stress-paths --stress-at --stress-book --stress-book-paths)

# --- help: liqsim help CMD [SUB] on stdout, exit 0; CMD --help is the same text ---
run help replay
check "liqsim help replay exits 0 with the help on stdout and nothing on stderr" \
  bash -c "[ $RC -eq 0 ] && [ -s out.txt ] && [ ! -s err.txt ]"
check "liqsim help replay lists every replay option" has_all out.txt "${REPLAY_OPTS[@]}" "DIR" "--help"
check "... with a usage line and a description" has_all out.txt "usage: liqsim replay --config C --events E" \
  "liqsim replay DIR" "packaged scenario"
cp out.txt help-replay.txt
run replay --help
check "liqsim replay --help is exactly liqsim help replay" bash -c "[ $RC -eq 0 ] && cmp -s out.txt help-replay.txt"
run replay "$EX/cascade" --bogus -h
check "replay -h wins over a bad command line and prints the same help" \
  bash -c "[ $RC -eq 0 ] && cmp -s out.txt help-replay.txt"
run help log convert
check "liqsim help log convert exits 0 with its usage" \
  bash -c "[ $RC -eq 0 ] && grep -qF 'usage: liqsim log convert IN OUT' out.txt && grep -q 'fsync' out.txt"
cp out.txt help-convert.txt
run log convert --help
check "liqsim log convert --help is liqsim help log convert" bash -c "[ $RC -eq 0 ] && cmp -s out.txt help-convert.txt"
for sub in verify cat append repair; do
  run help log $sub
  check "liqsim help log $sub exits 0 with its usage" \
    bash -c "[ $RC -eq 0 ] && grep -qF 'usage: liqsim log $sub LOG' out.txt"
done
run help log
check "liqsim help log lists every log subcommand" \
  bash -c "[ $RC -eq 0 ] && grep -qF 'convert IN OUT' out.txt && grep -qF 'repair LOG' out.txt && grep -qF 'append LOG' out.txt"
cp out.txt help-log.txt
run log --help
check "liqsim log --help is liqsim help log" bash -c "[ $RC -eq 0 ] && cmp -s out.txt help-log.txt"
run log help
check "liqsim log help is liqsim help log" bash -c "[ $RC -eq 0 ] && cmp -s out.txt help-log.txt"
run help import candles
check "liqsim help import candles lists every candles option" rc0_has_all out.txt "${CANDLES_OPTS[@]}"
check "... and not the options of import trades" bash -c "! grep -q -- '--time-unit' out.txt"
cp out.txt help-candles.txt
run import candles --asset BTC --help
check "import candles --help is liqsim help import candles" bash -c "[ $RC -eq 0 ] && cmp -s out.txt help-candles.txt"
run help import trades
check "liqsim help import trades lists every trades option" \
  rc0_has_all out.txt "${TRADES_OPTS[@]}"
run help gen population
check "liqsim help gen population lists every gen option" rc0_has_all out.txt "${GEN_OPTS[@]}"
run help report
check "liqsim help report lists -o, --out, --run and --baseline" \
  rc0_has_all out.txt 'liqsim report RUN.sqlite -o REPORT.html' "${REPORT_OPTS[@]}"
cp out.txt help-report.txt
run report -h
check "liqsim report -h is liqsim help report" bash -c "[ $RC -eq 0 ] && cmp -s out.txt help-report.txt"
run help bench
check "liqsim help bench describes bench's options" rc0_has_all out.txt 'liqsim bench' "${BENCH_OPTS[@]}"
run help import
check "liqsim help import describes both importers" \
  bash -c "[ $RC -eq 0 ] && grep -qF 'liqsim import candles' out.txt && grep -qF 'liqsim import trades' out.txt"
run help
check "liqsim help alone is the top-level help" bash -c "[ $RC -eq 0 ] && grep -q '^commands:' out.txt"
expect_usage "liqsim help of an unknown command is a usage error" "unknown command 'replya'; did you mean 'replay'?" \
  help replya
expect_usage "liqsim help of an unknown subcommand is a usage error" "unknown log subcommand 'convrt'; did you mean 'convert'?" \
  help log convrt
expect_usage "liqsim help replay with a subcommand is a usage error" "replay has no subcommands" help replay x

# --- liqsim --help: every command with every one of its options ---
run --help
cp out.txt help-all.txt
check "liqsim --help exits 0 on stdout" bash -c "[ $RC -eq 0 ] && [ -s help-all.txt ] && [ ! -s err.txt ]"
for c in "replay" "log convert" "log verify" "log cat" "log append" "log repair" "import candles" "import trades" \
  "gen population" "report" "bench"; do
  check "liqsim --help lists '$c'" grep -qF "liqsim $c" help-all.txt
done
check "liqsim --help mentions every replay option" has_all help-all.txt "${REPLAY_OPTS[@]}"
check "liqsim --help mentions every import candles and trades option" \
  has_all help-all.txt "${CANDLES_OPTS[@]}" "${TRADES_OPTS[@]}"
check "liqsim --help mentions every gen population option" has_all help-all.txt "${GEN_OPTS[@]}"
check "liqsim --help mentions every report and bench option" has_all help-all.txt "${REPORT_OPTS[@]}" "${BENCH_OPTS[@]}"
# Generated from the same descriptions: whatever an option's help names, --help names too.
missing=""
for c in "replay" "log convert" "import candles" "import trades" "gen population" "report" "bench"; do
  # shellcheck disable=SC2086
  "$LIQSIM" help $c | grep -oE -- '^ +(-[a-z] \[ )?--[a-z][a-z-]*' | grep -oE -- '--[a-z][a-z-]*' | sort -u >opts.txt
  while read -r o; do grep -qF -- "$o" help-all.txt || [[ $o == --help ]] || missing="$missing $c:$o"; done <opts.txt
done
check "every option in a command's help is in liqsim --help${missing:+ (missing:$missing)}" test -z "$missing"
run
check "liqsim alone prints the help on stderr and exits 2" bash -c "[ $RC -eq 2 ] && cmp -s err.txt help-all.txt"

# --- --opt=value is --opt value ---
"$LIQSIM" replay --config "$EX/cascade/config.json" --events "$EX/cascade/events.jsonl" --json >spaced.json
"$LIQSIM" replay --config="$EX/cascade/config.json" --events="$EX/cascade/events.jsonl" --json >equals.json
check "replay --config=FILE --events=FILE gives the same summary as the spaced form" \
  bash -c "[ -s spaced.json ] && cmp -s spaced.json equals.json"
"$LIQSIM" replay "$EX/cascade" --journal j1.jsonl --label L --busy-timeout 100 >s1.txt
"$LIQSIM" replay "$EX/cascade" --journal=j2.jsonl --label=L --busy-timeout=100 >s2.txt
check "replay --journal=J --label=L --busy-timeout=MS is the spaced form" \
  bash -c "[ -s j1.jsonl ] && cmp -s j1.jsonl j2.jsonl && diff <(sed 's/j1.jsonl/J/' s1.txt) <(sed 's/j2.jsonl/J/' s2.txt) >/dev/null && grep -q '^liqsim replay: L$' s1.txt"
"$LIQSIM" replay "$EX/cascade" --label= >s3.txt
check "replay --label= is an empty label (the folder's name)" grep -q '^liqsim replay: cascade$' s3.txt
printf 'open_time,open,high,low,close,volume\n0,100,101,99,100,1\n60000,100,102,98,101,1\n120000,101,103,97,99,1\n' >k.csv
"$LIQSIM" import candles --asset BTC --in k.csv --layout kline --ticks-per-bar 2 --out c1.jsonl 2>/dev/null
"$LIQSIM" import candles --asset=BTC --in=k.csv --layout=kline --ticks-per-bar=2 --out=c2.jsonl 2>/dev/null
check "import candles --asset=A --in=F --layout=L --ticks-per-bar=N --out=O is the spaced form" \
  bash -c "[ -s c1.jsonl ] && cmp -s c1.jsonl c2.jsonl"
printf 'time,price,qty\n1678320000000,5,1\n1678320001000,6,1\n1678320002000,6,2\n' >t.csv
"$LIQSIM" import trades --asset BTC --in t.csv --shift-ms -500 >t1.jsonl 2>/dev/null
"$LIQSIM" import trades --asset=BTC --in=t.csv --shift-ms=-500 >t2.jsonl 2>/dev/null
check "import trades --shift-ms=-500 is --shift-ms -500 (a negative value is a value)" \
  bash -c "[ -s t1.jsonl ] && cmp -s t1.jsonl t2.jsonl && grep -q '\"ts\":1678319999500' t1.jsonl"
GEN=(--accounts 20 --seed 7 --market ETH-PERP --asset ETH --price 100)
"$LIQSIM" gen population "${GEN[@]}" --leverage-mean 5 --out g1.jsonl
"$LIQSIM" gen population --accounts=20 --seed=7 --market=ETH-PERP --asset=ETH --price=100 --leverage-mean=5 --out=g2.jsonl
check "gen population --opt=value is the spaced form (events and meta)" \
  bash -c "[ -s g1.jsonl ] && cmp -s g1.jsonl g2.jsonl && diff <(grep -v g1.jsonl g1.jsonl.meta.json) <(grep -v g2.jsonl g2.jsonl.meta.json) >/dev/null"
"$LIQSIM" replay "$EX/cascade" --out=run.sqlite --quiet >/dev/null
expect_ok "report DB -o R.html" report run.sqlite -o r1.html
expect_ok "report DB --out=R.html --run=1" report run.sqlite --out=r2.html --run=1
expect_ok "report DB -oR.html (short option with its value attached)" report run.sqlite -or3.html
expect_ok "report -o R.html DB (the operand after the options)" report -o r4.html run.sqlite
check "... all four reports are the same page" bash -c "cmp -s r1.html r2.html && cmp -s r1.html r3.html && cmp -s r1.html r4.html"

# --- unknown options: the closest known one, exit 2, the command's help ---
expect_usage "replay --lable x suggests --label" "unknown option '--lable'; did you mean '--label'?" \
  replay "$EX/cascade" --lable x
expect_usage "... and points to liqsim help replay" "(see 'liqsim help replay')" replay "$EX/cascade" --lable x
expect_usage "replay --lable=x suggests --label too" "unknown option '--lable'; did you mean '--label'?" \
  replay "$EX/cascade" --lable=x
expect_usage "replay --jsno suggests --json" "did you mean '--json'?" replay "$EX/cascade" --jsno
expect_usage "an option far from every known one gets no suggestion" "unknown option '--frobnicate' (see" \
  replay "$EX/cascade" --frobnicate
expect_usage "import candles --layot suggests --layout" "did you mean '--layout'?" \
  import candles --asset BTC --in k.csv --layot kline
expect_usage "import trades --time-cl suggests --time-col" "did you mean '--time-col'?" \
  import trades --asset BTC --in t.csv --time-cl time
expect_usage "gen population --seeds suggests --seed" "did you mean '--seed'?" gen population "${GEN[@]}" --seeds 3
expect_usage "report --rnu suggests --run" "did you mean '--run'?" report run.sqlite -o r.html --rnu 1
expect_usage "log verify --bogus is an unknown option of log verify" "log verify: unknown option '--bogus'" \
  log verify --bogus x.evlog
expect_usage "an unknown log subcommand suggests the closest" "unknown subcommand 'conver'; did you mean 'convert'?" \
  log conver a b
expect_usage "an unknown command suggests the closest" "unknown command 'replya'; did you mean 'replay'?" replya x
expect_usage "option names are exact, not abbreviations" "unknown option '--ref'" replay "$EX/cascade" --ref
expect_usage "the hidden operand collector is not an option" "unknown option '--operand'" replay --operand "$EX/cascade"

# --- missing values, repeated options, values that are not numbers ---
expect_usage "a missing value names the option" "option '--label' needs a value" replay "$EX/cascade" --label
expect_usage "... and points to the command's help" "(see 'liqsim help replay')" replay "$EX/cascade" --label
expect_usage "an option where a value should be is a missing value" "option '--out' needs a value, and '--json' is an option" \
  replay "$EX/cascade" --out --json
expect_usage "report -o at the end is a missing value" "option '--out' (-o) needs a value" report run.sqlite -o
expect_usage "import candles --asset without its value" "option '--asset' needs a value" import candles --in k.csv --asset
expect_usage "a repeated option is refused with both values" "option '--out' given twice ('a.sqlite' and 'b.sqlite')" \
  replay "$EX/cascade" --out a.sqlite --out b.sqlite
check "... and writes neither" bash -c "[ ! -e a.sqlite ] && [ ! -e b.sqlite ]"
expect_usage "-o and --out are one option: given twice" "given twice" report run.sqlite -o x.html --out y.html
expect_usage "import --asset twice" "option '--asset' given twice" import trades --asset BTC --asset ETH --in t.csv
expect_usage "gen population --seed twice" "option '--seed' given twice" gen population "${GEN[@]}" --seed 8
"$LIQSIM" replay "$EX/cascade" --json --json --quiet --quiet >twice.json
check "a flag given twice is the flag" cmp -s twice.json spaced.json
expect_usage "a flag with a value is refused" "option '--json' is a flag and takes no value" replay "$EX/cascade" --json=yes
expect_usage "--busy-timeout that is not a number names the option" "--busy-timeout takes milliseconds" \
  replay "$EX/cascade" --busy-timeout soon
expect_usage "--ticks-per-bar that is not a number names the option" "field '--ticks-per-bar': not an integer: 'four'" \
  import candles --asset BTC --in k.csv --ticks-per-bar four
expect_usage "--bar-seconds out of range names the option" "field '--bar-seconds': must be between" \
  import candles --asset BTC --in k.csv --bar-seconds 0
expect_usage "--shift-ms that is not a number names the option" "field '--shift-ms': not an integer" \
  import trades --asset BTC --in t.csv --shift-ms 1.5
expect_usage "--run that is not a number names the option" "--run needs a positive run id, not 'last'" \
  report run.sqlite -o r.html --run last
expect_usage "--accounts that is not a number names the option" "field '--accounts': not a positive integer" \
  gen population --accounts ten --seed 1 --market ETH-PERP --asset ETH --price 100
expect_usage "--price that is not a number names the option" "field '--price'" \
  gen population --accounts 10 --seed 1 --market ETH-PERP --asset ETH --price cheap

# --- every usage error points to its command's help ---
expect_usage "replay without config: liqsim help replay" "missing --config (or a scenario folder) (see 'liqsim help replay')" replay
expect_usage "replay --report without --out: liqsim help replay" "--report needs --out (see 'liqsim help replay')" \
  replay "$EX/cascade" --report r.html
expect_usage "replay DIR and --config: liqsim help replay" "not both (see 'liqsim help replay')" \
  replay "$EX/cascade" --config "$EX/cascade/config.json"
expect_usage "log convert with one operand: liqsim help log convert" "missing OUT; usage: liqsim log convert IN OUT (see 'liqsim help log convert')" \
  log convert a.jsonl
expect_usage "log verify with two operands: liqsim help log verify" "unexpected argument 'b' (see 'liqsim help log verify')" \
  log verify a b
expect_usage "import candles without --asset: liqsim help import candles" "--asset A is required (see 'liqsim help import candles')" \
  import candles --in k.csv
expect_usage "import trades with a bad --time-unit: liqsim help import trades" "(see 'liqsim help import trades')" \
  import trades --asset BTC --in t.csv --time-unit days
expect_usage "import candles --out onto --in: liqsim help import candles" "same file as --in" \
  import candles --asset BTC --in k.csv --out ./k.csv
expect_usage "gen population without --price: liqsim help gen population" "--price P is required (see 'liqsim help gen population')" \
  gen population --accounts 1 --seed 1 --market ETH-PERP --asset ETH
expect_usage "report without -o: liqsim help report" "-o REPORT.html is required (see 'liqsim help report')" report run.sqlite
expect_usage "report without a database: liqsim help report" "missing RUN.sqlite" report -o r.html
expect_usage "report with two databases: liqsim help report" "unexpected argument 'b.sqlite' (see 'liqsim help report')" \
  report a.sqlite b.sqlite -o r.html
expect_usage "replay with two folders: liqsim help replay" "unexpected argument" replay "$EX/cascade" "$EX/partial"
expect_usage "an unknown import subcommand: liqsim help import" "(see 'liqsim help import')" import candle
run import
check "import without a subcommand prints its help on stderr, exit 2" bash -c "[ $RC -eq 2 ] && grep -q 'import candles' err.txt"

# --- every existing option of every command is still accepted ---
for d in "$EX"/*/; do
  name=$(basename "$d")
  "$LIQSIM" replay "$d" --json >a.json 2>/dev/null
  "$LIQSIM" replay --config "$d/config.json" --events "$d/events.jsonl" --json --check --reference-scan --quiet \
    --label "$name" >b.json 2>/dev/null
  check "replay $name: --config --events --json --check --reference-scan --quiet --label" cmp -s a.json b.json
done
rm -f all.sqlite
expect_ok "replay DIR with --journal --out --report --label --busy-timeout --progress --check" \
  replay "$EX/adl-socialized" --journal all.jsonl --out all.sqlite --report all.html --label everything \
  --busy-timeout 250 --progress --check
check "... wrote the journal, the database (with the label) and the report" \
  bash -c "[ -s all.jsonl ] && [ -s all.html ] && [ \"\$(sqlite3 all.sqlite 'SELECT label FROM runs')\" = everything ]"
expect_ok "report --out with --run of the run just written" report all.sqlite --out all2.html --run 1
expect_ok "report --baseline of the run just written" report all.sqlite --out all3.html --baseline 1
rm -f all4.html
expect_usage "--baseline of a run the database does not hold names the option" \
  "field '--baseline': no complete run with id 9" report all.sqlite --out all4.html --baseline 9
check "... and writes no report" bash -c "[ ! -e all4.html ]"
expect_usage "--baseline that is not a number names the option" "--baseline needs a positive run id, not '0'" \
  report all.sqlite -o all4.html --baseline 0
expect_ok "log convert IN OUT" log convert "$EX/cascade/events.jsonl" c.evlog
expect_ok "log verify LOG" log verify c.evlog
expect_ok "log cat LOG" log cat c.evlog
check "... cat of the converted log is the canonical JSON Lines" cmp -s out.txt <("$LIQSIM" log cat "$EX/cascade/events.jsonl")
head -1 "$EX/cascade/events.jsonl" | sed 's/"ts":[0-9]*/"ts":1704067999000/' >late.jsonl
"$LIQSIM" log append c.evlog <late.jsonl >out.txt 2>err.txt
check "log append LOG < events" bash -c "[ $? -eq 0 ] && grep -q 'appended 1 events' out.txt"
expect_ok "log repair LOG" log repair c.evlog
cp "$EX/cascade/events.jsonl" ./-dash.jsonl
expect_ok "log convert -- IN OUT takes an operand that starts with '-'" log convert -- -dash.jsonl dash.evlog
ETH="$ROOT/data/eth_crisis_days_2020-03-12_2021-05-19/eth_usd_10min_2020-03-12.csv"
if [[ -f $ETH ]]; then
  "$LIQSIM" import candles --asset ETH --layout coinapi --in "$ETH" --out eth.jsonl 2>/dev/null
  check "import candles --asset --layout --in --out rebuilds the committed eth-2020-03-12 prices" \
    cmp -s eth.jsonl "$ROOT/replays/eth-2020-03-12/prices.jsonl"
fi
printf 'open_time,open,high,low,close,volume\n0,100,101,99,100,1\n60000,100,102,98,101,1\n180000,101,130,97,99,1\n180000,1,1,1,1,1\n' >gap.csv
expect_ok "import candles with --repair --bar-seconds --ticks-per-bar --from --to --max-move --keep-repeats" \
  import candles --asset BTC --in gap.csv --layout kline --repair --bar-seconds 60 --ticks-per-bar 4 \
  --from 0 --to 1970-01-01T00:10:00Z --max-move 0.1 --keep-repeats --out rep.jsonl
check "... repaired (stderr) and clipped the wick" \
  bash -c "grep -q 'repaired' err.txt && grep -q '1 clipped' err.txt && ! grep -q '\"price\":\"130\"' rep.jsonl"
expect_ok "import trades with --time-unit --time-col --price-col --qty-col --shift-ms --repair --from --to --keep-repeats" \
  import trades --asset BTC --in t.csv --time-unit ms --time-col time --price-col price --qty-col qty --shift-ms 1000 \
  --repair --from 1678320000000 --to 2023-03-09T00:00:05Z --keep-repeats --out tr.jsonl
check "... kept the repeated price and shifted the times" \
  bash -c "[ \$(wc -l <tr.jsonl) -eq 3 ] && grep -q '\"ts\":1678320001000' tr.jsonl"
if [[ -f $ROOT/replays/eth-2020-03-12/events.jsonl ]]; then
  "$LIQSIM" gen population --accounts 20000 --seed 20200312 --market ETH-PERP --asset ETH --price 195.21 \
    --ts 1583971200000 --leverage-mean 10 --max-leverage 50 --equity-median 500 --isolated-share 0.3 \
    --long-share 0.6 --collateral USD:0.6,ETH:0.4 --out pop.jsonl
  check "gen population with the eth-2020-03-12 options rebuilds its committed population" \
    bash -c "grep -v '\"type\":\"price\"' '$ROOT/replays/eth-2020-03-12/events.jsonl' | cmp -s - pop.jsonl && \
             cmp -s pop.jsonl.meta.json '$ROOT/replays/eth-2020-03-12/population.meta.json'"
fi
expect_ok "gen population with every other option" \
  gen population "${GEN[@]}" --ts 2020-03-12T00:00:00Z --equity-median 1000 --collateral USD:0.5,USDC:0.3,DAI:0.2 \
  --collateral-mode split --asset-price USDC:0.98 --asset-price DAI:0.99 --with-price --account-prefix p- \
  --out gp.jsonl --meta gp.meta.json
check "... a price first, the prefix, both --asset-price values, the meta where asked" \
  bash -c "head -1 gp.jsonl | grep -q '\"type\":\"price\"' && grep -q '\"account\":\"p-000001\"' gp.jsonl && \
           grep -q '\"asset\":\"DAI\"' gp.jsonl && [ -s gp.meta.json ] && [ ! -e gp.jsonl.meta.json ]"
expect_ok "bench --help still answers (bench parses its own options)" bench --help
check "... with its options" has_all out.txt "${BENCH_OPTS[@]}"
expect_ok "liqsim --version" --version


# --- bench goes through the same layer ---
expect_usage() {  # NAME PATTERN -- command...
  local name=$1 pattern=$2
  shift 2
  "$@" >"$TMP/bo" 2>"$TMP/be"
  local rc=$?
  if [[ $rc -eq 2 ]] && grep -q -- "$pattern" "$TMP/be"; then ok "$name"; else not_ok "$name" "exit $rc: $(head -c 200 "$TMP/be")"; fi
}
expect_usage "bench --ticks abc is a usage error naming the option" "field '--ticks': not an integer" \
  timeout 20 "$LIQSIM" bench --ticks abc
expect_usage "bench --tick gets a suggestion" "did you mean '--ticks'" timeout 20 "$LIQSIM" bench --tick 5
"$LIQSIM" bench --help >"$TMP/bh1"
"$LIQSIM" help bench >"$TMP/bh2"
if cmp -s "$TMP/bh1" "$TMP/bh2"; then ok "bench --help is liqsim help bench"; else not_ok "bench --help is liqsim help bench"; fi

# The end-to-end table runs `liqsim replay` itself as child processes on
# files: every row must be there, with a positive rate, and no row failed.
if timeout 300 "$LIQSIM" bench --e2e-only --e2e-ticks 5000 --crash-accounts 2000 --sweep-points 2 \
  --stress-paths 20 --stress-book 2000 --stress-book-paths 4 \
  --flagship "$ROOT/replays/eth-2020-03-12" >"$TMP/e2e" 2>"$TMP/e2e.err"; then
  # Stress runs: the flagship at --jobs 1 (a tenth of the paths) and 2, one
  # fork's cost, and the big-book row.
  stress_rows=$(grep -cE '^(eth-2020-03-12 at event 40001, (2 paths, --jobs 1|20 paths, --jobs 2)|2000-account book, 4 paths, --jobs 2) .* [0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$TMP/e2e")
  if [[ $stress_rows -eq 3 ]] && grep -qE '^  one fork of the start state \(20000 accounts\): [0-9]+ us' "$TMP/e2e"; then
    ok "bench prints its stress rows and a fork's cost"
  else not_ok "bench prints its stress rows and a fork's cost" "$stress_rows rows: $(cat "$TMP/e2e")"; fi
  sweep_rows=$(grep -cE '^liqsim (replay --set|sweep (--rows summary )?--jobs [12]|sweep --at [0-9]+ (--rows summary )?--jobs 1) .* [0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$TMP/e2e")
  if [[ $sweep_rows -eq 7 ]] && grep -q "speedup of --jobs 2" "$TMP/e2e"; then ok "bench prints its seven sweep rows"
  else not_ok "bench prints its seven sweep rows" "$sweep_rows rows: $(cat "$TMP/e2e")"; fi
  rows=$(grep -cE '^(5000 quiet ticks, 1e3 accounts, (JSONL|binary)|eth-2020-03-12 --(json|journal|out|out --report)|crash at 2000 accounts.*JSONL) +[0-9]+ +[0-9]+ ' "$TMP/e2e")
  if [[ $rows -eq 7 ]] && ! grep -q failed "$TMP/e2e"; then ok "bench --e2e-only prints its seven end-to-end rows"
  else not_ok "bench --e2e-only prints its seven end-to-end rows" "$rows rows: $(cat "$TMP/e2e")"; fi
else
  not_ok "bench --e2e-only prints its seven end-to-end rows" "exit $?: $(head -c 300 "$TMP/e2e.err")"
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
