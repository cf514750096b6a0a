#!/usr/bin/env bash
# check_report.sh — render a liqsim HTML report headlessly and check the result.
#
#   tools/check_report.sh REPORT.html [OUT.png] [MIN_KB]
#
# Renders REPORT.html with headless Chromium (installed by CI: apt-get install
# chromium; this script installs nothing), with networking features off, and
# checks that the screenshot exists and is larger than MIN_KB (default 40 KB:
# a blank 1400x2400 page compresses to a few KB, a page with charts does not).
# Also checks the HTML itself: inline <svg> charts, no <script>, no remote URL.
# Exit 0 when all checks pass, 1 when one fails, 2 on usage or missing tools.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
  echo "usage: $0 REPORT.html [OUT.png] [MIN_KB]" >&2
  exit 2
fi
html=$1
out=${2:-${html%.html}.png}
min_kb=${3:-40}

if [[ ! -s $html ]]; then
  echo "check_report: $html: missing or empty" >&2
  exit 2
fi
browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [[ -z $browser ]]; then
  echo "check_report: no chromium found (apt-get install chromium)" >&2
  exit 2
fi

fail=0
svgs=$(grep -o '<svg' "$html" | wc -l)
if (( svgs < 4 )); then echo "check_report: only $svgs <svg> charts in $html (want >= 4)" >&2; fail=1; fi
if grep -q '<script' "$html"; then echo "check_report: $html contains <script>" >&2; fail=1; fi
if grep -Eo '(src|href)="https?://[^"]*"' "$html" | grep -q .; then
  echo "check_report: $html references a remote URL" >&2; fail=1
fi

abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --screenshot="$out" --window-size=1400,2400 \
  "file://$abs" >/dev/null 2>&1 || true

if [[ ! -f $out ]]; then
  echo "check_report: chromium wrote no screenshot $out" >&2
  exit 1
fi
size_kb=$(( $(stat -c %s "$out") / 1024 ))
if (( size_kb < min_kb )); then
  echo "check_report: $out is only ${size_kb} KB (want > ${min_kb} KB): blank render?" >&2
  fail=1
fi
if (( fail == 0 )); then
  echo "check_report: ok: $svgs charts, screenshot $out (${size_kb} KB)"
fi
exit $fail
