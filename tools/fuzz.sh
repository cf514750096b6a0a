#!/usr/bin/env bash
# tools/fuzz.sh TARGET SECONDS   run one libFuzzer target for a bounded time
# tools/fuzz.sh all SECONDS      run every target for SECONDS each
# tools/fuzz.sh regress          run every committed corpus and regression input once
# tools/fuzz.sh list             print the targets
#
# Builds (if needed) into BUILD_DIR (default build-fuzz) with clang,
# -fsanitize=fuzzer,address,undefined. Seeds come from fuzz/corpus/<target>/
# (read-only); new inputs go to a scratch corpus under BUILD_DIR/fuzz-work/.
# A crash, sanitizer report, leak, timeout or out-of-memory leaves its input in
# BUILD_DIR/fuzz-work/<target>/artifacts/ (copy it to fuzz/regressions/<target>/)
# and makes the script exit 1. Environment: BUILD_DIR,
# FUZZ_TIMEOUT (per input, default 10 s),
# FUZZ_RSS_MB (default 2048), FUZZ_KEEP_GOING=1 (fork mode: record every
# crash in artifacts/ and go on; the exit status is then libFuzzer's).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2
BUILD_DIR=${BUILD_DIR:-build-fuzz}
TARGETS="jsonl log config import replay differential small"
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}

usage() { sed -n '2,14p' "$0" >&2; exit 2; }

build() {
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    CXX=${FUZZ_CXX:-clang++} meson setup "$BUILD_DIR" -Dfuzz=true -Dtests=false -Dbuildtype=plain -Doptimization=1 \
      -Db_sanitize=address,undefined -Db_lundef=false \
      -Dcpp_args='-gline-tables-only -fsanitize=fuzzer-no-link -fno-sanitize-recover=all' \
      -Dcpp_link_args='-fsanitize=fuzzer-no-link' >"${TMPDIR:-/tmp}/liqsim-fuzz-setup.log" 2>&1 ||
      { cat "${TMPDIR:-/tmp}/liqsim-fuzz-setup.log" >&2; echo "fuzz.sh: meson setup failed" >&2; exit 2; }
  fi
  local t list=()
  for t in $TARGETS; do list+=("fuzz/fuzz_$t"); done
  ninja -C "$BUILD_DIR" "${list[@]}" >/dev/null || { echo "fuzz.sh: build failed" >&2; exit 2; }
}

# run_one TARGET SECONDS : prints one summary line, returns non-zero on a finding.
run_one() {
  local t=$1 secs=$2
  local work="$BUILD_DIR/fuzz-work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  local seeds="fuzz/corpus/$t"
  local log="$work/last.log"
  local start=$SECONDS
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} "$BUILD_DIR/fuzz/fuzz_$t" "$work/corpus" "$seeds" -max_total_time="$secs" -timeout="$FUZZ_TIMEOUT" \
    -rss_limit_mb="$FUZZ_RSS_MB" -max_len=8192 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    ${FUZZ_KEEP_GOING:+-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1} >"$log" 2>&1
  local rc=$?
  local execs cov
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')  # fork mode
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    echo "FAIL $t: ${execs:-?} execs in $((SECONDS - start)) s, $cov; libFuzzer exit $rc; see $log"
    grep -m3 -E 'ERROR|runtime error|property violated|Test unit written' "$log" | sed 's/^/    /'
    return 1
  fi
  echo "ok   $t: ${execs:-?} execs in $((SECONDS - start)) s, $cov, corpus $(ls "$work/corpus" | wc -l) files"
}

regress() {
  local t f failed=0 n=0
  for t in $TARGETS; do
    for d in "fuzz/corpus/$t" "fuzz/regressions/$t"; do
      [ -d "$d" ] || continue
      local files=("$d"/*)
      [ -e "${files[0]}" ] || continue
      n=$((n + ${#files[@]}))
      if ! "$BUILD_DIR/fuzz/fuzz_$t" -runs=1 "${files[@]}" >"$BUILD_DIR/regress-$t.log" 2>&1; then
        echo "FAIL $t: $d (see $BUILD_DIR/regress-$t.log)"
        failed=$((failed + 1))
      fi
    done
  done
  echo "regress: $n inputs, $failed failing directories"
  [ $failed -eq 0 ]
}

[ $# -ge 1 ] || usage
case "$1" in
  list) echo "$TARGETS"; exit 0 ;;
  regress) build; regress; exit $? ;;
  all)
    secs=${2:?seconds}
    build
    passed=0 failed=0
    for t in $TARGETS; do
      if run_one "$t" "$secs"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    done
    echo "$passed passed, $failed failed"
    [ $failed -eq 0 ]
    ;;
  *)
    t=$1 secs=${2:?seconds}
    case " $TARGETS " in *" $t "*) ;; *) echo "fuzz.sh: unknown target '$t' (one of: $TARGETS)" >&2; exit 2 ;; esac
    build
    run_one "$t" "$secs"
    ;;
esac
