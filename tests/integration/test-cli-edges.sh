#!/usr/bin/env bash
# avcctl at the edges of its options, against a real daemon reading a file: what a user types
# that the daemon would refuse must be refused by avcctl, clearly and with exit status 1, and what
# avcctl accepts must work. No root or kernel socket needed; a few seconds.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
make_tmpdir

# 1200 container denials, one per second.
python3 - > "$T/audit.log" << 'PY'
for i in range(1200):
    print(f'type=AVC msg=audit({1713600000 + i}.000:{i + 1}): avc:  denied  {{ read }} for  '
          f'pid={100 + i} comm="cat" name="f{i}" dev="overlay" ino={i} '
          'scontext=system_u:system_r:container_t:s0:c1,c2 '
          'tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0')
PY
start_daemon --input "$T/audit.log"
wait_for 20 input_eof || fail "input never reached its end"

# ---- usage errors before the verb are said by "avcctl", not by the path it was run from ----
for args in "-x query" "-o" "--socket"; do
        rc=0
        # shellcheck disable=SC2086 # the words of $args are the arguments
        err=$("$AVCCTL" $args 2>&1 > /dev/null) || rc=$?
        [ "$rc" -eq 1 ] || fail "avcctl $args: exit status $rc, expected 1"
        grep -q "^avcctl: " <<< "$err" || fail "avcctl $args: message not from avcctl: $err"
done

# ---- --socket naming something that is not a socket says so, not "Connection refused" ----
touch "$T/not-a-socket"
mkdir "$T/a-directory"
for path in "$T/not-a-socket" "$T/a-directory"; do
        rc=0
        err=$("$AVCCTL" --socket "$path" stats 2>&1 > /dev/null) || rc=$?
        [ "$rc" -eq 2 ] || fail "--socket $path: exit status $rc, expected 2"
        grep -q "is not a socket" <<< "$err" || fail "--socket $path: not said: $err"
        grep -q "refused" <<< "$err" && fail "--socket $path: still 'refused': $err"
done

# ---- tail -n N with -f: the daemon's backlog bound ----
# Without -f avcctl pages through Query, so -n above the daemon's Tail bound (1000) works.
[ "$(count_lines avcctl --no-legend tail -n 1200)" -eq 1200 ] || fail "tail -n 1200 did not print 1200"
# With -f the backlog comes from Tail itself: the bound is 1000, and asking for more is a usage
# error said by avcctl, not "avcwatchd rejected the parameter 'lines'".
rc=0
err=$(avcctl tail -f -n 1001 2>&1 > /dev/null) || rc=$?
[ "$rc" -eq 1 ] || fail "tail -f -n 1001: exit status $rc, expected 1 (usage error)"
grep -q -- "1000" <<< "$err" || fail "tail -f -n 1001 does not name the bound: $err"
if grep -q "rejected" <<< "$err"; then
        fail "tail -f -n 1001 was sent to the daemon: $err"
fi
# ... and 1000 is accepted: the backlog is printed, then it follows until stopped.
# (No fixed time for the backlog: under ASan on a loaded machine 1000 rows take seconds.)
"$AVCCTL" --socket "$AVC_SOCKET" --no-legend tail -f -n 1000 > "$T/tail.out" 2> "$T/tail.err" &
tail_pid=$!
wait_until 60 '[ "$(wc -l < "$T/tail.out")" -ge 1000 ] || ! kill -0 $tail_pid 2> /dev/null' ||
        fail "tail -f -n 1000 printed only $(wc -l < "$T/tail.out") in 60 s"
sleep 0.5 # kept: time in which tail -f must NOT end by itself (nothing to wait for)
kill -0 "$tail_pid" 2> /dev/null ||
        fail "tail -f -n 1000 ended by itself: $(cat "$T/tail.err")"
kill -TERM "$tail_pid"
wait "$tail_pid" || true
[ "$(wc -l < "$T/tail.out")" -eq 1000 ] || fail "tail -f -n 1000 printed $(wc -l < "$T/tail.out")"

# ---- import of a damaged .gz: what was read is imported, but the user is told ----
if [ "$(id -u)" -eq 0 ]; then # Import is root's only
        python3 - "$T" << 'PY'
import gzip, sys
t = sys.argv[1]
lines = [f'type=AVC msg=audit({1713700000 + i}.000:{i + 1}): avc:  denied  {{ write }} for  '
         f'pid={100 + i} comm="sh" name="g{i}" dev="overlay" ino={i} '
         'scontext=system_u:system_r:container_t:s0:c3,c4 '
         'tcontext=system_u:object_r:etc_t:s0 tclass=dir permissive=0\n' for i in range(3000)]
data = gzip.compress("".join(lines).encode())
open(t + "/whole.log.gz", "wb").write(data)
open(t + "/cut.log.gz", "wb").write(data[: len(data) // 2])  # a copy that stopped half way
PY
        out=$(avcctl import "$T/whole.log.gz" 2>&1) || fail "import of a whole .gz failed: $out"
        rc=0
        err=$(avcctl import "$T/cut.log.gz" 2>&1 > /dev/null) || rc=$?
        [ "$rc" -eq 1 ] || fail "import of a truncated .gz: exit status $rc, expected 1 ($err)"
        grep -q "cut.log.gz" <<< "$err" || fail "the truncated file is not named: $err"
        # a gzip stream that is garbage after its header
        printf '\037\213\010\000garbage' > "$T/bad.gz"
        rc=0
        err=$(avcctl import "$T/bad.gz" 2>&1 > /dev/null) || rc=$?
        [ "$rc" -eq 1 ] || fail "import of a damaged .gz: exit status $rc, expected 1 ($err)"
        # a file with no audit record in it (a README, an empty file) is not a quiet success
        printf '# avcwatch\n\nNot an audit log.\n' > "$T/README.md"
        : > "$T/empty.log"
        for f in README.md empty.log; do
                rc=0
                err=$(avcctl import "$T/$f" 2>&1 > /dev/null) || rc=$?
                [ "$rc" -eq 1 ] || fail "import of $f: exit status $rc, expected 1 ($err)"
                grep -q "0 audit records found" <<< "$err" || fail "import of $f: not said: $err"
        done
        # ... while one audit record among other lines is an import like any other
        { cat "$T/README.md"; zcat "$T/whole.log.gz" | sed -n 1p; } > "$T/mixed.log"
        avcctl import "$T/mixed.log" > /dev/null 2>&1 || fail "import of one record among text failed"

        # ---- a record stamped beyond what a store can hold (2109) is malformed input, not a
        # store error: counted so, nothing lost, exit status 0 ----
        { zcat "$T/whole.log.gz" | sed -n 2p
          zcat "$T/whole.log.gz" | sed -n 3p | sed 's/audit([0-9.]*:/audit(9999999999.999:/'
        } > "$T/far-future.log"
        rc=0
        out=$(avcctl -o json import "$T/far-future.log" 2>&1) || rc=$?
        [ "$rc" -eq 0 ] || fail "import of a record stamped 2286: exit status $rc ($out)"
        python3 - "$out" << 'PY' || fail "record stamped 2286 not counted as malformed: $out"
import json, sys
o = json.loads(sys.argv[1].splitlines()[-1])
c = o.get("counts", o)
assert c["malformed"] == 1 and c["records"] == 2, c
assert c.get("lost", 0) == 0 and c.get("store_errors", 0) == 0, c
PY
fi

stop_daemon
echo "PASS"
