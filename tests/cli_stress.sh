#!/usr/bin/env bash
# End-to-end tests of `liqsim stress var` on real price series from data/:
# its VaR, ES, worst and mean loss, HS and FHS, long and short, must equal an
# independent implementation of the same rules in Python's exact integers;
# bad input exits 2 naming the option or file. Usage: tests/cli_stress.sh path/to/liqsim
set -u
LIQSIM=${1:?usage: cli_stress.sh path/to/liqsim}
LIQSIM=$(readlink -f "$LIQSIM")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1${2:+: $2}"; fail=$((fail + 1)); }
expect_error() {  # NAME PATTERN command...
  local name=$1 pattern=$2
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [[ $rc -ne 2 ]]; then not_ok "$name" "exit $rc, wanted 2: $(head -c 300 "$TMP/err")"
  elif ! grep -q -- "$pattern" "$TMP/err"; then not_ok "$name" "stderr lacks '$pattern': $(head -c 300 "$TMP/err")"
  else ok "$name"; fi
}

# The reference: the rules of stress.hpp in exact integers (raw 1e-8 units).
cat >"$TMP/ref.py" <<'PY'
import json, math, sys
path, asset, side, method, alpha, lam = sys.argv[1:7]
S = 10**8
def raw(t):
    neg = t.startswith("-"); t = t.lstrip("-")
    i, _, f = t.partition(".")
    v = int(i or "0") * S + int((f + "0" * 8)[:8] or "0")
    return -v if neg else v
def text(v):
    neg = v < 0; v = abs(v)
    s = str(v // S) + ("." + ("%08d" % (v % S)).rstrip("0") if v % S else "")
    return "-" + s if neg and s != "0" else s
def cdiv(a, b): return -((-a) // b)
prices = []
for line in open(path):
    e = json.loads(line)
    if e.get("type") == "price" and e.get("asset") == asset:
        prices.append(raw(str(e["price"])))
L = []
for p0, p1 in zip(prices, prices[1:]):
    num = (p0 - p1 if side == "long" else p1 - p0) * S
    L.append(cdiv(num, p0))
if method == "fhs":
    lam = raw(lam)
    var = sum(l * l for l in L) // len(L)
    before = []
    for l in L:
        before.append(math.isqrt(var))
        var = (lam * var + (S - lam) * l * l) // S
    now = math.isqrt(var)
    L = [cdiv(l * now, b) if b else l for l, b in zip(L, before)]
a = raw(alpha)
L.sort(reverse=True)
n = len(L)
w = n * (S - a)
wf, wc = w // S, cdiv(w, S)
num = sum(L[:wf]) * S + ((w - wf * S) * L[wf] if w - wf * S else 0)
print(json.dumps({"n": n, "var": text(L[max(wc, 1) - 1]), "es": text(num // w), "worst": text(L[0]),
                  "mean": text(sum(L) // n)}, separators=(",", ":")))
PY

# Real series: ETH/USD 10-minute candles of 2020-03-12 and 2021-05-19, BTC/USD
# 1-minute of the USDC depeg, as price events.
D="$ROOT/data"
"$LIQSIM" import candles --asset ETH --in "$D/eth_crisis_days_2020-03-12_2021-05-19/eth_usd_10min_2020-03-12.csv" \
  >"$TMP/eth-2020.jsonl" 2>/dev/null
"$LIQSIM" import candles --asset ETH --in "$D/eth_crisis_days_2020-03-12_2021-05-19/eth_usd_10min_2021-05-19.csv" \
  >"$TMP/eth-2021.jsonl" 2>/dev/null
"$LIQSIM" import candles --asset BTC --layout binanceus \
  --in "$D/btc_1m_usdc_depeg_2023-03/binanceus_BTCUSD_1m_2023-03-09_2023-03-14.csv" >"$TMP/btc.jsonl" 2>/dev/null
for series in eth-2020:ETH eth-2021:ETH btc:BTC; do
  file=$TMP/${series%%:*}.jsonl
  asset=${series#*:}
  if [[ ! -s $file ]]; then
    not_ok "$series: the series imports"
    continue
  fi
  for method in hs fhs; do
    for side in long short; do
      for alpha in 0.95 0.975 0.99; do
        name="$series $method $side alpha $alpha"
        args=(--prices "$file" --asset "$asset" --side "$side" --method "$method" --alpha "$alpha" --json)
        [[ $method == fhs ]] && args+=(--lambda 0.94)
        got=$("$LIQSIM" stress var "${args[@]}" | python3 -c '
import json, sys
o = json.load(sys.stdin)
print(json.dumps({k: o[k] for k in ("n", "var", "es", "worst", "mean")}, separators=(",", ":")))')
        want=$(python3 "$TMP/ref.py" "$file" "$asset" "$side" "$method" "$alpha" 0.94)
        if [[ -n $got && $got == "$want" ]]; then ok "$name equals the exact reference"
        else not_ok "$name equals the exact reference" "liqsim $got, reference $want"; fi
      done
    done
  done
done
"$LIQSIM" stress var --prices "$TMP/btc.jsonl" --asset BTC --alpha 0.99 >"$TMP/text"
if grep -q "^  VaR  " "$TMP/text" && grep -q "^  ES  " "$TMP/text"; then ok "the text form names VaR and ES"
else not_ok "the text form names VaR and ES" "$(cat "$TMP/text")"; fi

expect_error "alpha 1 is refused" "--alpha takes a decimal strictly between 0 and 1" \
  "$LIQSIM" stress var --prices "$TMP/btc.jsonl" --asset BTC --alpha 1
expect_error "alpha 0 is refused" "--alpha takes a decimal strictly between 0 and 1" \
  "$LIQSIM" stress var --prices "$TMP/btc.jsonl" --asset BTC --alpha 0
expect_error "lambda outside (0, 1) is refused" "--lambda takes a decimal" \
  "$LIQSIM" stress var --prices "$TMP/btc.jsonl" --asset BTC --alpha 0.99 --method fhs --lambda 1.5
expect_error "an asset without prices is named" "has 0 price events of 'SOL'" \
  "$LIQSIM" stress var --prices "$TMP/btc.jsonl" --asset SOL --alpha 0.99
expect_error "an unknown method is refused" "--method takes hs or fhs" \
  "$LIQSIM" stress var --prices "$TMP/btc.jsonl" --asset BTC --alpha 0.99 --method mc
expect_error "a missing price log is named" "nope.jsonl" \
  "$LIQSIM" stress var --prices "$TMP/nope.jsonl" --asset BTC --alpha 0.99
echo '{"type":"price","ts":1,"asset":"BTC","price":"ten"}' >"$TMP/bad.jsonl"
expect_error "a bad price names file and line" "bad.jsonl:1" \
  "$LIQSIM" stress var --prices "$TMP/bad.jsonl" --asset BTC --alpha 0.99

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
