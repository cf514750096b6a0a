#!/usr/bin/env bash
# Concurrency of the `liqsim log` commands on one log (events/FORMAT.md, "Locking"):
# convert and repair against a log an append holds, append racing convert,
# repair and verify racing live appends.
# usage: tests/concurrency/log.sh path/to/liqsim
# Prints "ok - name" / "not ok - name" per case and "N passed, M failed" last;
# exits 1 on any failure, 2 on a usage error.
#
# Bounded: every wait has a bound (a hung command is killed and fails its
# case), the rounds are counted, and the whole script takes well under 60 s on
# a loaded 2-core machine. The verdicts do not depend on timing: a race may
# fall either way, and every way it can fall has one documented answer that
# is checked. The cases that need a writer caught at a given moment hold the
# lock themselves (flock(1)) or stop `log append` at its acknowledgement (its
# standard output is a full pipe) and read the kernel's record of where it
# is blocked (/proc/PID/syscall), never a sleep.
set -u
LIQSIM=${1:?usage: log.sh path/to/liqsim}
case "$LIQSIM" in /*) ;; *) LIQSIM="$PWD/$LIQSIM" ;; esac
[ -x "$LIQSIM" ] || { echo "not an executable: $LIQSIM" >&2; exit 2; }
command -v flock >/dev/null 2>&1 || { echo "flock(1) (util-linux) is needed" >&2; exit 2; }
command -v timeout >/dev/null 2>&1 || { echo "timeout(1) (coreutils) is needed" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/liqsim-conc-log-XXXXXX")
cleanup() {
  local p
  for p in $(jobs -p); do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 2

passed=0
failed=0
check() {  # check NAME COMMAND... : the command's success is the verdict
  local name=$1
  shift
  if "$@"; then
    echo "ok - $name"
    passed=$((passed + 1))
  else
    echo "not ok - $name"
    failed=$((failed + 1))
  fi
}
size_of() { wc -c <"$1" | tr -d ' '; }
T="timeout 30"  # no single command may hang the suite

# events FIRST_TS N ASSET: N price events, ts FIRST_TS.., as JSON Lines
events() {
  awk -v t="$1" -v n="$2" -v a="$3" \
    'BEGIN { for (i = 0; i < n; i++) printf "{\"type\":\"price\",\"ts\":%d,\"asset\":\"%s\",\"price\":\"%d\"}\n", t + i, a, 100 + i % 97 }'
}

events 1 3 BASE >base.jsonl
N=40000
events 100000 $N BTC >batch.jsonl             # ~1.7 MB of records: more than one write of the writer
events 100000 2 BTC >small.jsonl
events 1 5 X >x-5.jsonl
events 1 $N X >x-$N.jsonl                  # a conversion that takes as long as the append
$T "$LIQSIM" log convert base.jsonl base.evlog >/dev/null || exit 2
$T "$LIQSIM" log cat base.evlog >base.canon || exit 2
$T "$LIQSIM" log cat batch.jsonl >batch.canon || exit 2
$T "$LIQSIM" log cat x-5.jsonl >x-5.canon || exit 2
$T "$LIQSIM" log cat x-$N.jsonl >x-$N.canon || exit 2
locked_msg='locked by another process'

# wait_for_write_to_stdout PID: until PID is blocked writing to its standard
# output (syscall write on descriptor 1), at most ~30 s. 0 if it got there.
case "$(uname -m)" in
  x86_64) write_nr=1 ;;
  aarch64) write_nr=64 ;;
  *) write_nr= ;;
esac
wait_for_write_to_stdout() {
  local i s
  for ((i = 0; i < 1500; i++)); do
    s=$(cat "/proc/$1/syscall" 2>/dev/null) || return 1
    [[ "$s" == "$write_nr 0x1 "* ]] && return 0
    sleep 0.02
  done
  return 1
}

# ---------------------------------------------------------------- 1. held by flock(1)
# Another process holds the writer's lock (as `log append` does) until told to stop.
cp base.evlog held.evlog
cp held.evlog held.before
mkfifo ready release
flock -x held.evlog sh -c 'echo held >ready; read x <release' &
holder=$!
read -r -t 30 _ <ready || echo "# the lock holder did not start"
$T "$LIQSIM" log convert x-5.jsonl held.evlog >out.txt 2>err.txt
rc=$?
check "convert onto a log whose lock another process holds is refused (exit 2), the log as it was" \
  bash -c "[ $rc -eq 2 ] && grep -q '$locked_msg' err.txt && cmp -s held.evlog held.before && ! ls held.evlog.tmp* >/dev/null 2>&1"
$T "$LIQSIM" log repair held.evlog >out.txt 2>err.txt
rc=$?
check "repair of a log whose lock another process holds is refused (exit 2)" \
  bash -c "[ $rc -eq 2 ] && grep -q '$locked_msg' err.txt && cmp -s held.evlog held.before"
$T "$LIQSIM" log append held.evlog <small.jsonl >out.txt 2>err.txt
rc=$?
check "append to a log whose lock another process holds is refused (exit 2), nothing appended" \
  bash -c "[ $rc -eq 2 ] && grep -q '$locked_msg' err.txt && cmp -s held.evlog held.before"
timeout 30 bash -c 'echo go >release'
wait "$holder"
$T "$LIQSIM" log append held.evlog <small.jsonl >out.txt 2>err.txt
rc=$?
check "once the lock is released the append goes through" \
  bash -c "[ $rc -eq 0 ] && grep -qx 'appended 2 events (seq 3..4)' out.txt"

# A writer caught half-way through a record: another process holds the lock
# while the log ends in the first bytes of its next record.
cp base.evlog half.evlog
cat base.jsonl small.jsonl >base-small.jsonl
$T "$LIQSIM" log convert base-small.jsonl half-whole.evlog >/dev/null || exit 2
head -c $(( $(size_of base.evlog) + 25 )) half-whole.evlog | tail -c 25 >>half.evlog
flock -x half.evlog sh -c 'echo held >ready; read x <release' &
holder=$!
read -r -t 30 _ <ready || echo "# the lock holder did not start"
$T "$LIQSIM" log verify half.evlog >out.txt 2>err.txt
rc=$?
check "verify while a writer holds the log and half of its record is written: ok up to it (exit 0)" \
  bash -c "[ $rc -eq 0 ] && grep -q '3 records (seq 0..2)' out.txt && grep -q 'a writer is appending: the 25 bytes after byte' out.txt"
timeout 30 bash -c 'echo go >release'
wait "$holder"
$T "$LIQSIM" log verify half.evlog >out.txt 2>err.txt
rc=$?
check "the same bytes once the writer is gone are a torn tail (exit 3)" \
  bash -c "[ $rc -eq 3 ] && grep -q 'torn tail' err.txt"

# ---------------------------------------------------------------- 2. an append stopped at its acknowledgement
# `log append` with its standard output a full pipe blocks writing its
# acknowledgement, after the fsync. Until it has written it, the log is its:
# convert and repair are refused, and the acknowledged events are in the file
# named LOG.
if [ -n "$write_nr" ] && [ -r /proc/self/syscall ]; then
  cp base.evlog ack.evlog
  mkfifo ackpipe
  exec 4<>ackpipe                                    # keeps the pipe open while it is filled
  dd if=/dev/zero of=ackpipe bs=1 count=1048576 oflag=nonblock status=none 2>/dev/null  # until it is full
  # (no timeout(1) wrapper: its PID must be liqsim's; the drain below ends it in every case)
  "$LIQSIM" log append ack.evlog <batch.jsonl >ackpipe 2>ack.err &
  appender=$!
  if wait_for_write_to_stdout "$appender"; then
    flock -n -x ack.evlog true
    free=$?
    check "an append blocked writing its acknowledgement still holds the log's lock" test "$free" -ne 0
    cp ack.evlog ack.during
    $T "$LIQSIM" log convert x-5.jsonl ack.evlog >out.txt 2>err.txt
    rc=$?
    check "convert onto the log of an append not yet acknowledged is refused (exit 2), the log as it was" \
      bash -c "[ $rc -eq 2 ] && grep -q '$locked_msg' err.txt && cmp -s ack.evlog ack.during"
    $T "$LIQSIM" log repair ack.evlog >out.txt 2>err.txt
    rc=$?
    check "repair of the log of an append not yet acknowledged is refused (exit 2)" \
      bash -c "[ $rc -eq 2 ] && grep -q '$locked_msg' err.txt && cmp -s ack.evlog ack.during"
  else
    check "log append reaches its acknowledgement (blocked writing to a full pipe)" false
  fi
  # Drain the pipe: the acknowledgement follows the filler.
  exec 5<ackpipe
  exec 4>&-
  $T cat <&5 | tr -d '\0' >ack.out &
  drainer=$!
  for ((i = 0; i < 1500; i++)); do kill -0 "$appender" 2>/dev/null || break; sleep 0.02; done
  kill -9 "$appender" 2>/dev/null  # only if it hung: then the case fails
  wait "$appender"
  rc=$?
  wait "$drainer"
  exec 5<&-
  $T "$LIQSIM" log cat ack.evlog >ack.canon 2>/dev/null
  check "the append is acknowledged, and its events are in the file named, at the seq acknowledged" \
    bash -c "[ $rc -eq 0 ] && grep -qx 'appended $N events (seq 3..$((N + 2)))' ack.out && cat base.canon batch.canon | cmp -s - ack.canon"
else
  echo "skip - /proc/PID/syscall is not readable here: the acknowledgement case is not run"
fi

# ---------------------------------------------------------------- 3. append racing convert
# Rounds of one append and one convert onto the same log at once. The lock
# serialises them: each either ran whole or was refused for the lock, and the
# log is what running them one after the other gives.
race_failures=0
race_counts=""
for ((round = 0; round < 12; round++)); do
  if ((round % 3 == 2)); then rm -f race.evlog; pre=/dev/null; else cp base.evlog race.evlog; pre=base.canon; fi
  if ((round % 2 == 0)); then nx=5; else nx=$N; fi
  $T "$LIQSIM" log append race.evlog <batch.jsonl >a.out 2>a.err &
  a=$!
  $T "$LIQSIM" log convert x-$nx.jsonl race.evlog >c.out 2>c.err &
  c=$!
  wait "$a"; arc=$?
  wait "$c"; crc=$?
  $T "$LIQSIM" log cat race.evlog >race.canon 2>race.err
  lrc=$?
  npre=$(wc -l <"$pre" | tr -d ' ')
  verdict=bad
  if [ $lrc -eq 0 ] && { [ $arc -eq 0 ] || grep -q "$locked_msg" a.err; } && { [ $crc -eq 0 ] || grep -q "$locked_msg" c.err; }; then
    if [ $arc -eq 0 ] && [ $crc -eq 0 ]; then
      # append then convert: the log is X; convert then append: X and the batch after it
      if grep -qx "appended $N events (seq $npre..$((npre + N - 1)))" a.out && cmp -s race.canon x-$nx.canon; then
        verdict=append-then-convert
      elif grep -qx "appended $N events (seq $nx..$((nx + N - 1)))" a.out && cat x-$nx.canon batch.canon | cmp -s - race.canon; then
        verdict=convert-then-append
      fi
    elif [ $arc -eq 0 ]; then
      grep -qx "appended $N events (seq $npre..$((npre + N - 1)))" a.out && cat "$pre" batch.canon | cmp -s - race.canon &&
        verdict=convert-refused
    elif [ $crc -eq 0 ]; then
      cmp -s race.canon x-$nx.canon && verdict=append-refused
    fi
  fi
  if [ $verdict = bad ]; then
    race_failures=$((race_failures + 1))
    echo "# round $round: append exit $arc ($(cat a.out a.err | head -2 | tr '\n' ' ')), convert exit $crc ($(head -1 c.err)), cat exit $lrc"
  fi
  race_counts="$race_counts $verdict"
done
echo "# append/convert outcomes:$(echo "$race_counts" | tr ' ' '\n' | sed '/^$/d' | sort | uniq -c | awk '{printf " %s %s", $2, $1}')"
check "append racing convert (12 rounds): each ran whole or was refused for the lock, the log as run one after the other" \
  test $race_failures -eq 0

# ---------------------------------------------------------------- 4. repair and verify racing live appends
# A repair during an append finds the log clean (it ran before or after the
# append) or is refused for the lock; it never cuts the record being written.
repair_failures=0
for ((round = 0; round < 10; round++)); do
  cp base.evlog live.evlog
  $T "$LIQSIM" log append live.evlog <batch.jsonl >a.out 2>a.err &
  a=$!
  $T "$LIQSIM" log repair live.evlog >r.out 2>r.err
  rrc=$?
  wait "$a"; arc=$?
  if ! { [ $arc -eq 0 ] && { { [ $rrc -eq 0 ] && grep -q 'clean, nothing to repair' r.out; } ||
                              { [ $rrc -eq 2 ] && grep -q "$locked_msg" r.err; }; }; }; then
    repair_failures=$((repair_failures + 1))
    echo "# repair round $round: append exit $arc, repair exit $rrc: $(cat r.out r.err | head -2 | tr '\n' ' ')"
  fi
done
check "repair racing a live append (10 rounds): clean or refused for the lock, never a cut; every append acknowledged" \
  test $repair_failures -eq 0

# Verify during a live append: exit 0 every time — ok, or ok up to the record
# being written ("a writer is appending"); never a torn tail.
verify_failures=0
in_progress=0
verifies=0
for ((round = 0; round < 50; round++)); do
  cp base.evlog live.evlog
  $T "$LIQSIM" log append live.evlog <batch.jsonl >a.out 2>a.err &
  a=$!
  # verifies for as long as the append runs (at most 30 a round)
  for ((k = 0; k < 30; k++)); do
    kill -0 "$a" 2>/dev/null || { ((k > 0)) && break; }
    $T "$LIQSIM" log verify live.evlog >v.out 2>v.err
    vrc=$?
    verifies=$((verifies + 1))
    if [ $vrc -ne 0 ] || ! grep -q ': ok: binary log v1' v.out; then
      verify_failures=$((verify_failures + 1))
      echo "# verify round $round.$k: exit $vrc: $(cat v.out v.err | head -2 | tr '\n' ' ')"
    fi
    grep -q 'a writer is appending' v.out && in_progress=$((in_progress + 1))
  done
  wait "$a"; arc=$?
  if [ $arc -ne 0 ]; then
    verify_failures=$((verify_failures + 1))
    echo "# verify round $round: append exit $arc: $(head -2 a.err | tr '\n' ' ')"
  fi
done
echo "# verify during append: $verifies verifies, $in_progress saw a record being written"
check "verify racing a live append (50 rounds, verifies while it runs): exit 0 every time, never a torn tail" \
  test $verify_failures -eq 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
