#!/usr/bin/env bash
# tools/determinism_audit.sh [GCC_RELEASE_DIR SANITIZER_DIR CLANG_RELEASE_DIR]
#
# Replays the same logs with three differently compiled binaries — g++
# release, g++ with -fsanitize=address,undefined, clang++ release — and checks
# that each gives the identical summary (state_hash included), the identical
# journal (derived events) and the identical exit status. Build directories are
# set up if missing (tests off) under the names given, by default
# build-audit-gcc, build-audit-san, build-audit-clang; give existing ones to
# reuse them.
#
# Scenarios: every replays/*/ folder with config.json and an event log; every
# events/*.jsonl (with events/config.json if present, else a built-in config);
# and, for every replays/*/prices.jsonl, a generated workload: a seeded
# `liqsim gen population` of 2000 accounts opened at the first price, then
# the whole price log, replayed as JSON Lines and as a binary log. The
# generator's own output is compared across builds too.
# Prints one line per scenario and "N passed, M failed"; exit 1 on a difference.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2
gcc_dir=${1:-build-audit-gcc}
san_dir=${2:-build-audit-san}
clang_dir=${3:-build-audit-clang}
ACCOUNTS=${AUDIT_ACCOUNTS:-2000}

setup() {  # setup DIR CXX MESON_ARGS...
  local dir=$1 cxx=$2
  shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    CXX=$cxx meson setup "$dir" -Dtests=false "$@" >"$dir.setup.log" 2>&1 ||
      { cat "$dir.setup.log" >&2; echo "audit: setup of $dir failed" >&2; exit 2; }
    rm -f "$dir.setup.log"
  fi
  ninja -C "$dir" liqsim >/dev/null || { echo "audit: build of $dir failed" >&2; exit 2; }
}
setup "$gcc_dir" g++ -Dbuildtype=release
setup "$san_dir" g++ -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
setup "$clang_dir" clang++ -Dbuildtype=release
bins=("$gcc_dir/liqsim" "$san_dir/liqsim" "$clang_dir/liqsim")
names=(gcc-release gcc-asan-ubsan clang-release)
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1

work=$(mktemp -d "${TMPDIR:-/tmp}/liqsim-audit-XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# run_all NAME ARGS... : runs `liqsim replay ARGS --json --journal J` with each binary and compares.
run_all() {
  local name=$1
  shift
  local i ref=""
  local detail=""
  for i in 0 1 2; do
    local out="$work/$name.${names[$i]}"
    "${bins[$i]}" replay "$@" --json --quiet --journal "$out.journal" >"$out.summary" 2>"$out.err"
    echo "exit $?" >>"$out.summary"
    [ -f "$out.journal" ] || : >"$out.journal"
    local sig
    sig=$(cat "$out.summary" "$out.journal" | sha256sum | cut -c1-16)
    if [ -z "$ref" ]; then
      ref=$sig
    elif [ "$sig" != "$ref" ]; then
      detail="$detail ${names[$i]} differs from ${names[0]};"
    fi
    if grep -q -E 'runtime error|AddressSanitizer|LeakSanitizer' "$out.err"; then
      detail="$detail ${names[$i]} sanitizer report;"
    fi
  done
  local hash events
  hash=$(grep -o '"state_hash":"[0-9a-f]*"' "$work/$name.${names[0]}.summary" | cut -d'"' -f4 | cut -c1-16)
  events=$(grep -o '"events":[0-9]*' "$work/$name.${names[0]}.summary" | cut -d: -f2)
  local journal_lines
  journal_lines=$(wc -l <"$work/$name.${names[0]}.journal" | tr -d ' ')
  if [ -z "$detail" ]; then
    echo "ok   $name: ${events:-0} events, $journal_lines derived, state_hash ${hash:-none} ($(tail -1 "$work/$name.${names[0]}.summary"))"
    passed=$((passed + 1))
  else
    echo "FAIL $name:$detail (outputs in $work, kept)"
    trap - EXIT
    failed=$((failed + 1))
  fi
}

# 1. Packaged scenarios.
for d in replays/*/; do
  d=${d%/}
  [ -f "$d/config.json" ] && { [ -f "$d/events.jsonl" ] || [ -f "$d/events.evlog" ]; } || continue
  run_all "scenario-$(basename "$d")" "$d"
done

# 2. Example logs.
cat >"$work/examples-config.json" <<'JSON'
{ "assets": { "BTC": { "collateral_weight": "0.95" }, "ETH": { "collateral_weight": "0.9" },
              "USDC": { "collateral_weight": "1" } },
  "markets": {
    "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01",
      "tiers": [ { "max_notional": "50000", "initial_margin_ratio": "0.008", "maintenance_margin_ratio": "0.004", "maintenance_amount": "0" },
                 { "max_notional": "500000", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.005", "maintenance_amount": "50" } ],
      "liquidation_fee_ratio": "0.005", "depth": "10000000" },
    "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.025",
      "liquidation_fee_ratio": "0.005", "depth": "2000000" } },
  "liquidation": { "insurance_fund": "1000000", "adl": true } }
JSON
for f in events/*.jsonl; do
  [ -f "$f" ] || continue
  cfg=events/config.json
  [ -f "$cfg" ] || cfg="$work/examples-config.json"
  run_all "example-$(basename "$f" .jsonl)" --config "$cfg" --events "$f"
done

# 3. Generated workloads over the crisis price logs.
gen_ok=1
for p in replays/*/prices.jsonl; do
  [ -f "$p" ] || continue
  name=$(basename "$(dirname "$p")")
  first=$(head -1 "$p")
  asset=$(printf '%s' "$first" | sed 's/.*"asset":"\([^"]*\)".*/\1/')
  price=$(printf '%s' "$first" | sed 's/.*"price":"\([^"]*\)".*/\1/')
  ts=$(printf '%s' "$first" | sed 's/.*"ts":\([0-9]*\).*/\1/')
  others=$(cut -d'"' -f10 "$p" | sort -u | grep -v "^$asset\$" | tr '\n' ' ')
  cfg="$work/$name-config.json"
  {
    printf '{ "assets": { "%s": { "collateral_weight": "0.9" }' "$asset"
    for o in $others; do printf ', "%s": { "collateral_weight": "0.95" }' "$o"; done
    printf ' },\n  "markets": { "%s-PERP": { "underlying": "%s", "initial_margin_ratio": "0.04", ' "$asset" "$asset"
    printf '"maintenance_margin_ratio": "0.02", "liquidation_fee_ratio": "0.005", "depth": "5000000" } },\n'
    printf '  "liquidation": { "insurance_fund": "100000", "adl": true } }\n'
  } >"$cfg"
  collateral="USD:0.8,$asset:0.2"
  asset_prices=()
  for o in $others; do
    collateral="USD:0.7,$asset:0.2,$o:0.1"
    op=$(grep -m1 "\"asset\":\"$o\"" "$p" | sed 's/.*"price":"\([^"]*\)".*/\1/')
    asset_prices+=(--asset-price "$o:$op")
  done
  for i in 0 1 2; do
    "${bins[$i]}" gen population --accounts "$ACCOUNTS" --seed 42 --market "$asset-PERP" --asset "$asset" \
      --price "$price" --ts "$ts" --max-leverage 20 --collateral "$collateral" "${asset_prices[@]}" \
      --out "$work/$name-pop.${names[$i]}.jsonl" >/dev/null 2>"$work/$name-gen.err" ||
      { echo "FAIL gen-$name: ${names[$i]}: $(head -3 "$work/$name-gen.err")"; failed=$((failed + 1)); gen_ok=0; continue 2; }
  done
  if cmp -s "$work/$name-pop.${names[0]}.jsonl" "$work/$name-pop.${names[1]}.jsonl" &&
     cmp -s "$work/$name-pop.${names[0]}.jsonl" "$work/$name-pop.${names[2]}.jsonl"; then
    echo "ok   gen-$name: population of $ACCOUNTS accounts byte-identical across builds"
    passed=$((passed + 1))
  else
    echo "FAIL gen-$name: the generated population differs between builds"
    failed=$((failed + 1))
  fi
  # The first price of every asset, then the population, then the whole price log.
  events="$work/$name-events.jsonl"
  {
    head -1 "$p"
    for o in $others; do grep -m1 "\"asset\":\"$o\"" "$p" | sed "s/\"ts\":[0-9]*/\"ts\":$ts/"; done
    cat "$work/$name-pop.${names[0]}.jsonl"
    tail -n +2 "$p"
  } >"$events"
  run_all "workload-$name-jsonl" --config "$cfg" --events "$events"
  "${bins[0]}" log convert "$events" "$work/$name-events.evlog" >/dev/null &&
    run_all "workload-$name-binary" --config "$cfg" --events "$work/$name-events.evlog"
  # JSONL and binary must agree with each other too.
  a=$(grep -o '"state_hash":"[0-9a-f]*"' "$work/workload-$name-jsonl.${names[0]}.summary")
  b=$(grep -o '"state_hash":"[0-9a-f]*"' "$work/workload-$name-binary.${names[0]}.summary")
  if [ -n "$a" ] && [ "$a" = "$b" ]; then
    passed=$((passed + 1))
    echo "ok   workload-$name: JSON Lines and binary log give the same state_hash"
  else
    failed=$((failed + 1))
    echo "FAIL workload-$name: JSON Lines and binary log differ ($a vs $b)"
  fi
done

# 4. Monte Carlo stress paths (stress_exp, stress_log, the normal sampler,
# the Cholesky factor): the same prices, so the same state hash per path.
cat >"$work/gbm.json" <<'JSON'
{"kind": "gbm", "paths": 12, "seed": 20200312, "steps": 30, "interval_ms": 60000, "vol": {"ETH": "2.5"},
 "correlation": [[1]]}
JSON
ref=""
detail=""
for i in 0 1 2; do
  out="$work/stress.${names[$i]}"
  "${bins[$i]}" stress run replays/eth-2020-03-12 --at 40001 --scenarios "$work/gbm.json" --out "$out.sqlite" \
    --json --quiet >"$out.json" 2>"$out.err"
  echo "exit $?" >>"$out.json"
  sqlite3 "$out.sqlite" "SELECT path, bad_debt, liquidations, state_hash FROM stress_paths ORDER BY path" >>"$out.json" 2>&1
  sig=$(sha256sum <"$out.json" | cut -c1-16)
  if [ -z "$ref" ]; then ref=$sig; elif [ "$sig" != "$ref" ]; then detail="$detail ${names[$i]} differs;"; fi
  grep -q -E 'runtime error|AddressSanitizer|LeakSanitizer' "$out.err" && detail="$detail ${names[$i]} sanitizer report;"
done
if [ -z "$detail" ] && grep -q '^exit 0$' "$work/stress.${names[0]}.json"; then
  echo "ok   stress-gbm: 12 paths of 30 steps, the same prices and state hashes in every build ($ref)"
  passed=$((passed + 1))
else
  echo "FAIL stress-gbm:$detail $(head -3 "$work/stress.${names[0]}.err")"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
