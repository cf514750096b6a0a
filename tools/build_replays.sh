#!/bin/sh
# build_replays.sh [DATA_DIR]
#
# Rebuilds the committed price logs of the three crisis replays from the raw
# data (default DATA_DIR: data/, committed with its sources' READMEs) with `liqsim import`, strictly
# (no --repair: the files are gap-free and clean), and prints their SHA-256 so
# a reader can check that the committed logs match:
#   replays/eth-2020-03-12/prices.jsonl      ETH, CoinAPI 10-minute candles
#   replays/eth-2021-05-19/prices.jsonl      ETH, CoinAPI 10-minute candles
#   replays/usdc-depeg-2023-03/prices.jsonl  BTC 1-minute + implied USDC/USD (build_usdc_depeg.sh)
# Run from the repository root. LIQSIM names the binary (default: build/liqsim).
# Candles become 4 ticks a bar (see include/liqsim/import.hpp for the path rule).
set -eu
data=${1:-data}
export LIQSIM="${LIQSIM:-build/liqsim}"
here=$(dirname "$0")
eth=$data/eth_crisis_days_2020-03-12_2021-05-19
"$LIQSIM" import candles --asset ETH --layout coinapi --in "$eth/eth_usd_10min_2020-03-12.csv" \
  --out replays/eth-2020-03-12/prices.jsonl
"$LIQSIM" import candles --asset ETH --layout coinapi --in "$eth/eth_usd_10min_2021-05-19.csv" \
  --out replays/eth-2021-05-19/prices.jsonl
"$here/build_usdc_depeg.sh" "$data" replays/usdc-depeg-2023-03/prices.jsonl
sha256sum replays/eth-2020-03-12/prices.jsonl replays/eth-2021-05-19/prices.jsonl \
  replays/usdc-depeg-2023-03/prices.jsonl
