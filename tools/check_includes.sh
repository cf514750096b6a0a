#!/usr/bin/env bash
# tools/check_includes.sh — the one-way module flow, checked on #include lines.
#
# Every C++ file under src/<module>/ belongs to the module named by its
# directory; every public header include/liqsim/*.hpp belongs to the module
# given in the HEADERS table below (a header missing from the table is a
# failure, so a new header must be classified here). A file may include only
# headers of the modules in its module's ALLOWED list (docs/ARCHITECTURE.md,
# "Modules"). Quoted includes are resolved like the compiler does (beside
# the file, then include/), so a private header such as src/engine/state.hpp
# counts as its directory's module.
#
# Prints file:line of each offending include, then "N passed, M failed"
# (N files clean, M files with at least one offending include), and exits
# non-zero if any file failed. Run from anywhere; no build needed.
#
# The link checks (tests/modules/meson.build) are the same rule on symbols:
# together they catch a wrong-way call whether it goes through an inline
# function (here) or an object file (there).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

# module -> the modules its files may include (itself first).
declare -A ALLOWED=(
  [core]="core"
  [io]="io core"
  [log]="log core io"
  [engine]="engine core"
  [import]="import core io"
  [results]="results core io engine"
  [replay]="replay core io log engine results"
  [sweep]="sweep core io log engine results replay"
  [stress]="stress core io log engine results replay sweep"
  [cli]="cli core io log engine import results replay sweep stress"
)

# include/liqsim/<name>.hpp -> module. Rows for headers that do not exist
# (yet) are harmless.
declare -A HEADERS=(
  [config]=core
  [error]=core
  [event_rules]=core
  [events]=core
  [fixed]=core
  [json]=core
  [jsonl]=core
  [sha256]=core
  [splitmix64]=core
  [validate]=core
  [input_file]=io
  [io_faults]=io
  [output_file]=io
  [log]=log
  [engine]=engine
  [workload]=engine
  [import]=import
  [population]=import
  [metrics]=results
  [results]=results
  [replay]=replay
  [replay_sinks]=replay
  [sweep]=sweep
  [stress]=stress
  [stress_run]=stress
)

passed=0
failed=0
include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^>"]+)[>"]'
problem=""   # messages of the file being checked

# module_of_path PATH (relative to the root): prints the module or nothing.
module_of_path() {
  local p=$1
  case "$p" in
    include/liqsim/*.hpp)
      local name=${p#include/liqsim/}
      name=${name%.hpp}
      [[ $name != */* ]] && [[ -n ${HEADERS[$name]:-} ]] && echo "${HEADERS[$name]}"
      ;;
    src/*/*)
      local m=${p#src/}
      m=${m%%/*}
      [[ -n ${ALLOWED[$m]:-} ]] && echo "$m"
      ;;
  esac
}

# normalize PATH: removes ./ and dir/.. components.
normalize() {
  local IFS=/ part out=()
  for part in $1; do
    case "$part" in
      '' | .) ;;
      ..) ((${#out[@]})) && unset 'out[${#out[@]}-1]' ;;
      *) out+=("$part") ;;
    esac
  done
  (IFS=/; echo "${out[*]}")
}

# check_file FILE MODULE
check_file() {
  local file=$1 mod=$2 dir lineno text target kind resolved tmod
  dir=$(dirname "$file")
  problem=""
  while IFS= read -r hit; do
    lineno=${hit%%:*}
    text=${hit#*:}
    [[ $text =~ $include_re ]] || continue
    kind=${BASH_REMATCH[1]}
    target=${BASH_REMATCH[2]}
    resolved=""
    if [[ $kind == '"' ]]; then
      local beside
      beside=$(normalize "$dir/$target")
      if [[ -e $beside ]]; then resolved=$beside
      elif [[ -e include/$target || $target == liqsim/* ]]; then resolved=$(normalize "include/$target")
      fi
      if [[ -z $resolved ]]; then
        problem+="$file:$lineno: cannot resolve \"$target\" to a file of the project"$'\n'
        continue
      fi
    else
      [[ $target == liqsim/* ]] || continue  # a system or third-party header
      resolved=$(normalize "include/$target")
    fi
    case "$resolved" in
      include/* | src/*) ;;
      *) continue ;;  # outside the modules (e.g. a test helper): not ours to judge
    esac
    tmod=$(module_of_path "$resolved")
    if [[ -z $tmod ]]; then
      if [[ $resolved == include/liqsim/* ]]; then
        problem+="$file:$lineno: $resolved is not in the header table of tools/check_includes.sh (classify it)"$'\n'
      else
        problem+="$file:$lineno: $resolved belongs to no module"$'\n'
      fi
      continue
    fi
    if [[ " ${ALLOWED[$mod]} " != *" $tmod "* ]]; then
      problem+="$file:$lineno: includes $resolved ($tmod); $mod may include only: ${ALLOWED[$mod]}"$'\n'
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$file")
  if [[ -n $problem ]]; then
    printf '%s' "$problem"
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
}

shopt -s nullglob

# src/<module>/...: the module is the directory.
for d in src/*/; do
  m=${d#src/}
  m=${m%/}
  files=()
  while IFS= read -r f; do files+=("$f"); done < <(find "src/$m" -type f \( -name '*.cpp' -o -name '*.cc' -o -name '*.hpp' -o -name '*.h' -o -name '*.ipp' \) | sort)
  if [[ -z ${ALLOWED[$m]:-} ]]; then
    for f in "${files[@]}"; do
      echo "$f: src/$m is not a module of tools/check_includes.sh (add it to ALLOWED)"
      failed=$((failed + 1))
    done
    continue
  fi
  for f in "${files[@]}"; do check_file "$f" "$m"; done
done

# include/liqsim/*.hpp: the module is the table's.
for f in include/liqsim/*; do
  m=$(module_of_path "$f")
  if [[ -z $m ]]; then
    echo "$f: not in the header table of tools/check_includes.sh (classify it)"
    failed=$((failed + 1))
    continue
  fi
  check_file "$f" "$m"
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
