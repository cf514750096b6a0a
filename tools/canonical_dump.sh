#!/usr/bin/env bash
# canonical_dump.sh — a results database as text that two equal databases
# share byte for byte: every table (by name), its rows sorted, values quoted
# as SQL literals, without the wall-clock columns (runs.started_ms,
# runs.finished_ms, sweeps.started_ms, sweeps.finished_ms).
#
#   tools/canonical_dump.sh R.sqlite > R.txt
#
# Used by the tests that require `liqsim sweep --jobs 1` and `--jobs 2`,
# a merged set of shards and liqsim-mpi to write the same database.
set -euo pipefail
if [[ $# -ne 1 || ! -f $1 ]]; then
  echo "usage: $0 R.sqlite" >&2
  exit 2
fi
db=$1
tables=$(sqlite3 "$db" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
for t in $tables; do
  cols=$(sqlite3 "$db" "SELECT group_concat(name, ',') FROM pragma_table_info('$t') WHERE name NOT IN ('started_ms', 'finished_ms')")
  n=$(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('$t') WHERE name NOT IN ('started_ms', 'finished_ms')")
  order=$(seq -s, 1 "$n")
  echo "== $t ($cols)"
  sqlite3 -bail -cmd '.mode quote' "$db" "SELECT $cols FROM \"$t\" ORDER BY $order"
done
