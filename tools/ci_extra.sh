#!/usr/bin/env bash
# tools/ci_extra.sh RELEASE_DIR ASAN_DIR — the robustness leg of CI (issue 7):
#   1. the libFuzzer targets (clang, ASan+UBSan) for FUZZ_SECONDS each (default 30),
#      after replaying every committed corpus and regression input once;
#   2. crash consistency of `liqsim log append` under SIGKILL (200 kill points);
#   3. the determinism audit: the g++ release, g++ sanitizer and clang builds
#      replay the same scenarios to identical journals and state hashes.
# Each step prints its own "N passed, M failed" (fuzzing: one case per target);
# this script ends with their sum and exits non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2
release=${1:?usage: ci_extra.sh RELEASE_DIR ASAN_DIR}
asan=${2:?usage: ci_extra.sh RELEASE_DIR ASAN_DIR}
secs=${FUZZ_SECONDS:-30}
export BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
passed=0
failed=0
count() {  # adds the last "N passed, M failed" of a file
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [[ -z $line ]]; then
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + $(grep -oE '^[0-9]+' <<<"$line")))
  failed=$((failed + $(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')))
}
out=$(mktemp)

echo "--- fuzzing: regressions and corpora, then ${secs} s per target"
fp=0
ff=0
if bash tools/fuzz.sh regress >"$out" 2>&1; then fp=$((fp + 1)); else ff=$((ff + 1)); cat "$out"; fi
for t in $(bash tools/fuzz.sh list); do
  if bash tools/fuzz.sh "$t" "$secs" >"$out" 2>&1; then fp=$((fp + 1)); else ff=$((ff + 1)); fi
  cat "$out"
done
echo "fuzzing: $fp passed, $ff failed"
passed=$((passed + fp))
failed=$((failed + ff))

echo "--- crash consistency of log append"
bash tools/crash_test.sh "$release/liqsim" 200 >"$out" 2>&1
grep '^FAIL' "$out" | head -20
tail -3 "$out"
count "$out"

echo "--- determinism audit: g++ release, g++ sanitizers, clang"
bash tools/determinism_audit.sh "$release" "$asan" "$BUILD_DIR" >"$out" 2>&1
grep -E '^(FAIL|not ok)' "$out" | head -20
tail -5 "$out"
count "$out"
rm -f "$out"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
