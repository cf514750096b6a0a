#!/usr/bin/env bash
# `liqsim import` and `gen population` against inputs that used to hang them or
# exhaust memory (issue 10), with hard limits instead of timings:
#   - a named pipe (or a directory) given as --in is refused at once, never
#     opened (a hang guard, `timeout`, only keeps a broken build from blocking
#     the suite; the verdict is the exit code and the message);
#   - under an address-space limit of 64 MiB (`ulimit -v`), an import of a
#     400,000-row CSV, strict and with --repair, a population of 400,000
#     accounts, a CSV with an 80 MB line, and an 805-byte CSV whose gaps
#     would fill 30 million bars all finish with their documented outcome. The
#     whole-file implementations needed 128-256 MiB (CSV), about 280 MiB
#     (population), more than 80 MB (the line) and 1.5 GB (the gaps): they
#     fail here with "out of memory"; the streaming ones run in about 16 MiB.
# usage: tests/import_limits.sh path/to/liqsim
# Prints "ok - name" / "not ok - name" per case and "N passed, M failed"; exits 1 on any failure.
set -u
LIQSIM=${1:?usage: import_limits.sh path/to/liqsim}
case "$LIQSIM" in /*) ;; *) LIQSIM="$PWD/$LIQSIM" ;; esac
[ -x "$LIQSIM" ] || { echo "not an executable: $LIQSIM" >&2; exit 2; }
export LC_ALL=C

WORK=$(mktemp -d "${TMPDIR:-/tmp}/liqsim-import-limits-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2

passed=0
failed=0
check() {  # check NAME COMMAND... : the command's success is the verdict
  local name=$1
  shift
  if "$@"; then
    echo "ok - $name"
    passed=$((passed + 1))
  else
    echo "not ok - $name"
    failed=$((failed + 1))
  fi
}

LIMIT_KB=$((64 * 1024))
# limited ARGS...: liqsim under the address-space limit; stdout to out.txt, stderr to err.txt, RC.
limited() {
  (ulimit -v "$LIMIT_KB" && exec "$LIQSIM" "$@") >out.txt 2>err.txt
  RC=$?
}

# --- a named pipe or a directory as --in: refused, not waited on ---
mkfifo pipe.csv
for kind in candles trades; do
  timeout -k 1 20 "$LIQSIM" import "$kind" --asset ETH --in pipe.csv --out never.jsonl >out.txt 2>err.txt
  RC=$?
  check "import $kind refuses a named pipe as --in at once, naming it" \
    bash -c "[ $RC -eq 2 ] && grep -q 'pipe.csv: is a named pipe, not a regular file' err.txt && [ ! -e never.jsonl ]"
done
mkdir dir.csv
"$LIQSIM" import candles --asset ETH --in dir.csv >out.txt 2>err.txt
RC=$?
check "import refuses a directory as --in" bash -c "[ $RC -eq 2 ] && grep -q 'dir.csv: is a directory' err.txt"

# --- memory: the limit must leave room for the program itself ---
limited import --help
if [ "$RC" -ne 0 ]; then
  echo "skip - memory cases: liqsim does not start under a ${LIMIT_KB} KiB address space (a sanitizer build?)"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi

# --repair's total bound: 32 rows, 30 gaps of 999,999 bars (805 bytes).
{
  echo open_time,open,high,low,close,volume
  t=1577836800000
  echo "$t,1,1,1,1,1"
  t=$((t + 60000))
  echo "$t,1,1,1,1,1"
  for _ in $(seq 30); do
    t=$((t + 60000 * 1000000))
    echo "$t,1,1,1,1,1"
  done
} >gaps.csv
for keep in "" --keep-repeats; do
  limited import candles --asset ETH --in gaps.csv --repair $keep --out gaps.jsonl
  check "an 805-byte CSV cannot make --repair fill 30 million bars${keep:+ ($keep)}: the limit and the line are named" \
    bash -c "[ $RC -eq 2 ] && grep -q \"gaps.csv:5: field 'open_time': gap fills over --repair's limit\" err.txt &&
             grep -q 'more than 1000032 (1,000,000 plus one per data row' err.txt && [ ! -e gaps.jsonl ]"
done

# 400,000 one-minute candles (19 MB), imported strictly and with --repair.
awk 'BEGIN {
  print "open_time,open,high,low,close,volume"
  p = 1000
  for (i = 0; i < 400000; i++) {
    o = p; c = o + ((i * 7919) % 61 - 30) / 10
    h = (o > c ? o : c) + 1; l = (o < c ? o : c) - 1
    printf "%.0f,%.1f,%.1f,%.1f,%.1f,1\n", 1577836800000 + i * 60000, o, h, l, c
    p = c
  }
}' >big.csv
for mode in "" --repair; do
  limited import candles --asset ETH --in big.csv $mode
  events=$(sed -n 's/.* \([0-9]*\) price events.*/\1/p' err.txt)
  lines=$(wc -l <out.txt)
  check "import candles${mode:+ $mode} of 400,000 rows runs in a 64 MiB address space" \
    bash -c "[ $RC -eq 0 ] && grep -q '400000 rows, 400000 bars' err.txt && [ '$events' = '$lines' ] && [ $lines -gt 1000000 ]"
done

# 400,000 accounts (87 MB of events) to standard output, the meta file beside.
limited gen population --accounts 400000 --seed 7 --market ETH-PERP --asset ETH --price 100 --meta pop.meta.json
lines=$(wc -l <out.txt)
check "gen population --accounts 400000 runs in a 64 MiB address space, its meta counting every event" \
  bash -c "[ $RC -eq 0 ] && grep -q '\"accounts\": 400000' pop.meta.json && grep -q '\"events\": $lines,' pop.meta.json"

# An 80 MB line in a candle file: refused (strict) or dropped (--repair), never held.
{
  echo open_time,open,high,low,close,volume
  echo 1577836800000,1,1,1,1,1
  head -c 80000000 /dev/zero | tr '\0' 7
  echo
  echo 1577836860000,1,2,1,2,1
  echo 1577836920000,2,2,2,2,1
} >long-line.csv
limited import candles --asset ETH --in long-line.csv
check "a CSV line of 80 MB is refused in a 64 MiB address space, naming its line" \
  bash -c "[ $RC -eq 2 ] && grep -q 'long-line.csv:3: line longer than 1 MiB' err.txt"
limited import candles --asset ETH --in long-line.csv --repair
check "with --repair the 80 MB line is dropped and reported, the other rows imported" \
  bash -c "[ $RC -eq 0 ] && grep -q 'long-line.csv:3: repaired: dropped malformed row (line longer than 1 MiB' err.txt &&
           grep -q '4 rows, 3 bars' err.txt"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
