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

# ---- tail -n N with -f: the daemon's backlog bound ----
# Without -f avcctl pages through Query, so -n above the daemon's Tail bound (1000) works.
[ "$(count_lines avcctl tail -n 1200)" -eq 1200 ] || fail "tail -n 1200 did not print 1200"
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
rc=0
timeout 3 "$AVCCTL" --socket "$AVC_SOCKET" tail -f -n 1000 > "$T/tail.out" 2> "$T/tail.err" ||
        rc=$?
[ "$rc" -eq 124 ] || fail "tail -f -n 1000 ended by itself (status $rc): $(cat "$T/tail.err")"
[ "$(wc -l < "$T/tail.out")" -eq 1000 ] || fail "tail -f -n 1000 printed $(wc -l < "$T/tail.out")"

stop_daemon
echo "PASS"
