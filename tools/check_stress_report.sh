#!/usr/bin/env bash
# check_stress_report.sh — render the stress part of a liqsim HTML report
# (`liqsim report R.sqlite` of a database `liqsim stress run` and `liqsim
# stress curve` wrote) headlessly and check the result.
#
#   tools/check_stress_report.sh REPORT.html [OUT.png] [MIN_KB]
#
# Checks the HTML: a stress section with its distribution table, the fund's
# adequacy, at least one bad-debt distribution chart with its VaR and ES
# lines, the worst paths, a liquidation curve; no <script>, no remote URL.
# Then renders it with headless Chromium (networking features off) into
# OUT.png (default REPORT-stress.png) and checks that it is larger than
# MIN_KB (default 60 KB: a blank 1400x2600 page is a few KB). Look at the PNG.
# Exit 0 when all checks pass, 1 when one fails, 2 on usage or missing tools.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
  echo "usage: $0 REPORT.html [OUT.png] [MIN_KB]" >&2
  exit 2
fi
html=$1
out=${2:-${html%.html}-stress.png}
min_kb=${3:-60}
if [[ ! -s $html ]]; then
  echo "check_stress_report: $html: missing or empty" >&2
  exit 2
fi
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [[ -z $browser ]]; then
  echo "check_stress_report: no chromium found (apt-get install chromium)" >&2
  exit 2
fi

fail=0
problem() { echo "check_stress_report: $*" >&2; fail=1; }
grep -q '<script' "$html" && problem "$html contains <script>"
if grep -Eo '(src|href)="https?://[^"]*"' "$html" | grep -q .; then problem "$html references a remote URL"; fi
grep -q '<section id="stress[0-9]*" class="stress">' "$html" || problem "no stress section in $html"
grep -q 'class="stress-stats"' "$html" || problem "no distribution table in $html"
grep -q 'class="stress-fund"' "$html" || problem "no table of the fund's adequacy in $html"
grep -q 'class="stress-worst"' "$html" || problem "no table of the worst paths in $html"
grep -Eq 'id="stress[0-9]+-dist-[0-9]+"' "$html" || problem "no bad-debt distribution chart in $html"
grep -q 'VaR 99 %:' "$html" || problem "no VaR line in $html"
grep -q 'ES 99 %:' "$html" || problem "no ES line in $html"
grep -Eq 'id="stress[0-9]+-curve-' "$html" || problem "no liquidation curve in $html"
# Every chart has drawn something: bars in each distribution, lines in each curve.
charts=$(grep -cE '<figure class="chart" id="stress' "$html" || true)
(( charts >= 2 )) || problem "fewer than 2 stress charts in $html"
grep -q '<rect x=' "$html" || problem "no histogram bar in $html"

work=$(mktemp -d "${TMPDIR:-/tmp}/liqsim-stress-report-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$html" "$work/report.html"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --window-size=1400,2600 \
  --screenshot="$work/out.png" "file://$work/report.html" >"$work/chromium.log" 2>&1 ||
  { tail -5 "$work/chromium.log" >&2; problem "chromium failed to render $html"; }
if [[ -s $work/out.png ]]; then
  cp "$work/out.png" "$out"
  kb=$(($(stat -c %s "$out") / 1024))
  (( kb > min_kb )) || problem "$out is only $kb KB (a blank page?)"
  echo "check_stress_report: $out: $kb KB"
else
  problem "no screenshot of $html"
fi
if (( fail )); then exit 1; fi
echo "check_stress_report: ok"
