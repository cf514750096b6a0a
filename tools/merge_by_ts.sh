#!/bin/sh
# merge_by_ts.sh A.jsonl B.jsonl ... > OUT.jsonl
#
# Merges event logs that are each non-decreasing in "ts" (integer ms, as
# written by `liqsim import`) into one non-decreasing log. Deterministic tie
# rule: for equal ts, lines of an earlier argument come first, and lines of one
# file keep their order (CONTRACT §1: equal ts apply in file order).
# Each line is keyed as "ts<TAB>file-index<TAB>line-number<TAB>line", merged
# with `sort -m` on the three numeric keys (C locale), and the keys cut off.
set -eu
[ "$#" -ge 1 ] || { echo "usage: merge_by_ts.sh A.jsonl B.jsonl ..." >&2; exit 2; }
export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for f in "$@"; do
  i=$((i + 1))
  awk -v idx="$i" -v file="$f" '
    {
      if (!match($0, /"ts":[0-9]+/)) { printf "%s:%d: no integer \"ts\"\n", file, NR > "/dev/stderr"; exit 2 }
      ts = substr($0, RSTART + 5, RLENGTH - 5)
      printf "%s\t%d\t%d\t%s\n", ts, idx, NR, $0
    }' "$f" > "$tmp/$i"
done
# Each keyed file is already sorted by (ts, idx, line) since its input is non-decreasing in ts.
files=""
j=1
while [ "$j" -le "$i" ]; do files="$files $tmp/$j"; j=$((j + 1)); done
# shellcheck disable=SC2086
sort -m -t "$(printf '\t')" -k1,1n -k2,2n -k3,3n $files | cut -f4-
