#!/bin/sh
# build_scenarios.sh [--pinned-usdc DIR]
#
# Rebuilds replays/<name>/events.jsonl of the three crisis replays,
# deterministically, from the committed price logs (replays/<name>/prices.jsonl,
# themselves rebuilt by tools/build_replays.sh) and a seeded synthetic
# population from `liqsim gen population` (tools/POPULATION.md):
#
#   events.jsonl = the price log up to and including the first price of every
#                  asset the population needs, then the population (deposits
#                  and one opening trade per account, all at that price's ts
#                  and at the market's current price), then the rest of the log.
#
# Same binary, same prices.jsonl => the same bytes (the script prints the
# SHA-256 of each file; the scenario READMEs record them).
#
# --pinned-usdc DIR also writes DIR/config.json + DIR/events.jsonl: the USDC
# scenario with every USDC price replaced by 1 (the control run of
# replays/usdc-depeg-2023-03/README.md). Nothing under replays/ changes then.
#
# Run from the repository root. LIQSIM names the binary (default: build/liqsim).
set -eu
export LC_ALL=C
liqsim=${LIQSIM:-build/liqsim}
pinned=""
if [ "$#" -eq 2 ] && [ "$1" = "--pinned-usdc" ]; then pinned=$2
elif [ "$#" -ne 0 ]; then echo "usage: build_scenarios.sh [--pinned-usdc DIR]" >&2; exit 2; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# field FILE LINE KEY: the string value of "KEY" on line LINE of FILE.
field() { sed -n "${2}p" "$1" | sed -E "s/.*\"$3\":\"?([^\",}]*)\"?.*/\1/"; }

# ---- the population parameters of each scenario (recorded in its README) ----

# eth-2020-03-12: a 2020 Binance-style ETHUSDT book; 40 % of cross accounts
# margined in ETH itself (weight 0.9: 50x on ETH is 55.6x effective); the venue allowed 75x,
# the population is capped at 50x (headroom under the 1.34 % tier-1 initial
# margin); smaller 2020 retail accounts (median equity 500 USD); crowded long.
eth_2020() {
  "$liqsim" gen population --accounts 20000 --seed 20200312 --market ETH-PERP --asset ETH \
    --price "$1" --ts "$2" --leverage-mean 10 --max-leverage 50 --equity-median 500 \
    --isolated-share 0.3 --long-share 0.6 --collateral USD:0.6,ETH:0.4 --out "$3"
}
# eth-2021-05-19: a 2021 Binance-style ETHUSDT book (up to 100x); population
# capped at 50x; median equity 2,000 USD; crowded long after the May 12 high.
eth_2021() {
  "$liqsim" gen population --accounts 20000 --seed 20210519 --market ETH-PERP --asset ETH \
    --price "$1" --ts "$2" --leverage-mean 10 --max-leverage 50 --equity-median 2000 \
    --isolated-share 0.3 --long-share 0.65 --collateral USD:1 --out "$3"
}
# usdc-depeg-2023-03: post-2021 20x cap; cross accounts margined mostly in USDC
# (isolated wallets are USD by CONTRACT §2, so the isolated share is kept low).
# Two cohorts: A opens at the start of the window (2023-03-09, BTC ~21,700);
# B opens at the first tick of 2023-03-11T00:00Z, after SVB's closure and the
# BTC flush of 03-10 but before USDC's slide, leaning short (long share 0.4).
# usdc_2023 COHORT PRICE TS OUT USDC_PRICE
usdc_2023() {
  if [ "$1" = A ]; then n=12000 seed=20230309 long=0.5 prefix=acct-
  else n=8000 seed=20230311 long=0.4 prefix=b-acct-; fi
  "$liqsim" gen population --accounts "$n" --seed "$seed" --market BTC-PERP --asset BTC \
    --price "$2" --ts "$3" --leverage-mean 10 --max-leverage 20 --equity-median 2000 \
    --isolated-share 0.1 --long-share "$long" --collateral USDC:0.8,USD:0.2 \
    --asset-price "USDC:$5" --account-prefix "$prefix" --out "$4"
}

# ---- assembly ----

# build NAME HEAD_LINES POP_FN PRICE TS: one population after line HEAD_LINES
build() {
  name=$1 head_lines=$2 fn=$3
  dir=replays/$name
  prices=$dir/prices.jsonl
  "$fn" "$4" "$5" "$tmp/$name.pop.jsonl"
  {
    head -n "$head_lines" "$prices"
    cat "$tmp/$name.pop.jsonl"
    tail -n +"$((head_lines + 1))" "$prices"
  } > "$tmp/$name.events.jsonl"
  mv "$tmp/$name.events.jsonl" "$dir/events.jsonl"
  # The generator's sidecar (seed, parameters, tables, counts, FNV-1a of the population).
  mv "$tmp/$name.pop.jsonl.meta.json" "$dir/population.meta.json"
}

# ETH days: the population opens at the first price of the day.
for name in eth-2020-03-12 eth-2021-05-19; do
  p=replays/$name/prices.jsonl
  fn=eth_2020; [ "$name" = eth-2021-05-19 ] && fn=eth_2021
  build "$name" 1 "$fn" "$(field "$p" 1 price)" "$(field "$p" 1 ts)"
done

# USDC: a cohort needs BTC (the market) and USDC (collateral) priced: cohort A
# opens at the first USDC price, cohort B at the first USDC price at or after
# 2023-03-11T00:00Z; each at that USDC price and the latest BTC price before it.
p=replays/usdc-depeg-2023-03/prices.jsonl
usdc_line() { awk -v t="$1" '/"asset":"USDC"/ { if (match($0, /"ts":[0-9]+/) && substr($0, RSTART + 5, RLENGTH - 5) + 0 >= t) { print NR; exit } }' "$p"; }
btc_before() { head -n "$1" "$p" | grep -n '"asset":"BTC"' | tail -1 | cut -d: -f1; }
a=$(usdc_line 0)
b=$(usdc_line 1678492800000)   # 2023-03-11T00:00:00Z
for c in A B; do
  l=$a; [ "$c" = B ] && l=$b
  usdc_2023 "$c" "$(field "$p" "$(btc_before "$l")" price)" "$(field "$p" "$l" ts)" "$tmp/usdc.$c.jsonl" \
    "$(field "$p" "$l" price)"
done
{
  head -n "$a" "$p"
  cat "$tmp/usdc.A.jsonl"
  sed -n "$((a + 1)),${b}p" "$p"
  cat "$tmp/usdc.B.jsonl"
  tail -n +"$((b + 1))" "$p"
} > "$tmp/usdc.events.jsonl"
mv "$tmp/usdc.events.jsonl" replays/usdc-depeg-2023-03/events.jsonl
mv "$tmp/usdc.A.jsonl.meta.json" replays/usdc-depeg-2023-03/population-a.meta.json
mv "$tmp/usdc.B.jsonl.meta.json" replays/usdc-depeg-2023-03/population-b.meta.json

if [ -n "$pinned" ]; then
  mkdir -p "$pinned"
  cp replays/usdc-depeg-2023-03/config.json "$pinned/config.json"
  sed -E 's/^(\{"type":"price","ts":[0-9]+,"asset":"USDC","price":)"[^"]*"/\1"1"/' \
    replays/usdc-depeg-2023-03/events.jsonl > "$pinned/events.jsonl"
fi

sha256sum replays/eth-2020-03-12/events.jsonl replays/eth-2021-05-19/events.jsonl \
  replays/usdc-depeg-2023-03/events.jsonl
