#!/usr/bin/env bash
# check_format.sh [--fix] — every C++ file of the tree is formatted as
# .clang-format says (clang-format 14, Debian 12's `clang-format` package).
#
# Without --fix: prints each file clang-format would change, with the first
# lines of the difference, ends with "N passed, M failed" and exits 1 if any
# file differs. With --fix: rewrites the files in place.
# Files: src, include, tests, fuzz, tools (*.cpp, *.hpp, *.h). Nothing is
# excluded: a file that must keep a layout says so with `// clang-format off`.
set -uo pipefail
cd "$(dirname "$0")/.."
fmt=${CLANG_FORMAT:-clang-format}
if ! command -v "$fmt" >/dev/null; then
  echo "check_format: $fmt not found (apt-get install clang-format)"
  echo "0 passed, 1 failed"
  exit 1
fi
mapfile -t files < <(git ls-files -- 'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp' \
  'fuzz/*.cpp' 'fuzz/*.hpp' 'fuzz/*.h' 'tools/*.cpp' 'tools/*.hpp' 2>/dev/null | sort)
if [[ ${#files[@]} -eq 0 ]]; then  # not a git checkout: every file on disk
  mapfile -t files < <(find src include tests fuzz tools -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) | sort)
fi
if [[ ${1:-} == --fix ]]; then
  "$fmt" -i --style=file "${files[@]}"
  echo "formatted ${#files[@]} files"
  exit 0
fi
passed=0
failed=0
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  if diff -q "$f" <("$fmt" --style=file "$f") >/dev/null; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "not formatted: $f (tools/check_format.sh --fix)"
    diff -u "$f" <("$fmt" --style=file "$f") | sed -n '3,12p'
  fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
