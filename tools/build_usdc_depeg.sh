#!/bin/sh
# build_usdc_depeg.sh DATA_DIR OUT.jsonl
#
# The USDC depeg replay's price log (2023-03-09T00:00Z .. 2023-03-14T23:59Z):
# - BTC: Binance.US BTCUSD 1-minute candles (USD-quoted, so unaffected by the
#   USDC discount), four ticks per bar (open, low/high in the order the close
#   implies, close at +0, +15, +30, +45 s).
# - USDC: the derived implied USDC/USD = BTCUSD_close / BTCUSDC_close (a
#   close-only series), imported as (time, price) rows and shifted by +45 s so
#   each value lands on the tick of the two closes it is computed from.
# Merged by ts; at equal ts the BTC tick comes first.
# LIQSIM names the binary (default: build/liqsim).
set -eu
[ "$#" -eq 2 ] || { echo "usage: build_usdc_depeg.sh DATA_DIR OUT.jsonl" >&2; exit 2; }
data=$1/btc_1m_usdc_depeg_2023-03
out=$2
liqsim=${LIQSIM:-build/liqsim}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$liqsim" import candles --asset BTC --layout binanceus \
  --in "$data/binanceus_BTCUSD_1m_2023-03-09_2023-03-14.csv" --out "$tmp/btc.jsonl"
"$liqsim" import trades --asset USDC --time-col open_time_unix_s --price-col implied_usdc_usd \
  --shift-ms 45000 --in "$data/derived_implied_usdc_usdt_usd_1m.csv" --out "$tmp/usdc.jsonl"
"$here/merge_by_ts.sh" "$tmp/btc.jsonl" "$tmp/usdc.jsonl" > "$out"
