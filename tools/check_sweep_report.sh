#!/usr/bin/env bash
# check_sweep_report.sh — render the comparison part of a liqsim HTML report
# (a sweep's, or that of several runs) headlessly and check the result.
#
#   tools/check_sweep_report.sh REPORT.html [OUT.png] [MIN_KB]
#
# Checks the HTML: a sweep section or the comparison of runs, their sortable
# scrolling tables (sticky header, CSS-only sort: radio buttons and labels),
# for a sweep a heatmap or line charts, no <script>, no remote URL. Then, with
# headless Chromium (networking features off), renders a copy of the page with
# the single run's own sections hidden, so the sweep or comparison is at the
# top, into OUT.png (default REPORT-sweep.png) and checks it is larger than
# MIN_KB (default 30 KB: a blank 1400x2400 page is a few KB). Two more copies
# prove the script-free switches work in Chromium: every table sorted by its
# first column descending (its ▼ radio checked instead of ▲) must render
# differently (OUT-sorted.png), and so must the heatmap coloured by another
# metric (OUT-heat.png), when the page has one. Look at the PNGs.
# Exit 0 when all checks pass, 1 when one fails, 2 on usage or missing tools.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
  echo "usage: $0 REPORT.html [OUT.png] [MIN_KB]" >&2
  exit 2
fi
html=$1
out=${2:-${html%.html}-sweep.png}
min_kb=${3:-30}

if [[ ! -s $html ]]; then
  echo "check_sweep_report: $html: missing or empty" >&2
  exit 2
fi
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [[ -z $browser ]]; then
  echo "check_sweep_report: no chromium found (apt-get install chromium)" >&2
  exit 2
fi

fail=0
problem() { echo "check_sweep_report: $*" >&2; fail=1; }
grep -q '<script' "$html" && problem "$html contains <script>"
if grep -Eo '(src|href)="https?://[^"]*"' "$html" | grep -q .; then problem "$html references a remote URL"; fi
sweep=0
grep -q '<section id="sweep1" class="sweep">' "$html" && sweep=1
if (( sweep == 0 )) && ! grep -q '<section id="comparison">' "$html"; then
  problem "$html has neither a sweep nor a comparison of runs"
fi
tables=$(grep -o '<div class="sortable"' "$html" | wc -l)
(( tables >= 1 )) || problem "no sortable table in $html"
grep -q 'table.st th{position:sticky;top:0' "$html" || problem "no sticky table header in $html"
grep -q '\.sc{max-height:[0-9]*px;overflow:auto' "$html" || problem "no scrolling table container in $html"
grep -q ':checked~.sc td{order:var(--k0)}' "$html" || problem "no CSS sort rules in $html"
heat=0
if (( sweep == 1 )); then
  if grep -q 'class="chart heatmap"' "$html"; then
    heat=1
  elif ! grep -q 'id="sweep1-line-0"' "$html" && ! grep -q 'there is no chart' "$html"; then
    problem "the sweep in $html has neither a heatmap nor line charts"
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The comparison first: the run's own sections hidden.
hide='section#summary,section#marks,section#notional,section#insurance,section#cascades,section#largest{display:none}'
sed "0,/<\/style>/s//${hide}<\/style>/" "$html" >"$work/focus.html"
# Every table sorted by its first column, descending.
sed -e 's/-0a" checked>/-0a">/g' -e 's/\(id="[A-Za-z0-9-]*-0d"\)>/\1 checked>/g' "$work/focus.html" >"$work/sorted.html"
# The heatmap coloured by the first metric instead of the default.
sed -e 's/\(-heat[0-9]*"\) checked>/\1>/g' -e 's/\(id="sweep[0-9]*-heat0"\)>/\1 checked>/g' "$work/focus.html" \
  >"$work/heat.html"

render() {  # render HTML PNG
  rm -f "$2"
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars --screenshot="$2" --window-size=1400,2400 \
    "file://$1" >/dev/null 2>&1 || true
  if [[ ! -f $2 ]]; then
    echo "check_sweep_report: chromium wrote no screenshot $2" >&2
    exit 1
  fi
}
render "$work/focus.html" "$out"
size_kb=$(( $(stat -c %s "$out") / 1024 ))
(( size_kb > min_kb )) || problem "$out is only ${size_kb} KB (want > ${min_kb} KB): blank render?"
sorted=${out%.png}-sorted.png
render "$work/sorted.html" "$sorted"
cmp -s "$out" "$sorted" && problem "sorting by the first column descending changed nothing on screen ($sorted)"
if (( heat == 1 )); then
  heat_png=${out%.png}-heat.png
  render "$work/heat.html" "$heat_png"
  cmp -s "$out" "$heat_png" && problem "colouring the heatmap by another metric changed nothing ($heat_png)"
fi
if (( fail == 0 )); then
  echo "check_sweep_report: ok: $tables sortable tables$( ((sweep)) && echo ", a sweep$( ((heat)) && echo ' with a heatmap')"), screenshot $out (${size_kb} KB), sorted $sorted"
fi
exit $fail
