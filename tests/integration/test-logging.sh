#!/usr/bin/env bash
# The daemon's own messages keep their priorities in the journal: with standard error being the
# stream named by $JOURNAL_STREAM (what systemd sets up), each line carries its sd-daemon(3)
# "<N>" prefix (3 errors, 4 warnings, 5 notices, 6 information); with another standard error, or
# a $JOURNAL_STREAM inherited by a process whose standard error goes elsewhere, plain
# "avcwatchd: " lines. As root, the same through a real systemd-journald (a private journal
# namespace, its stdout stream protocol): `journalctl -p` selects by the daemon's priorities.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

make_tmpdir
printf '[Daemon]\nAccessGroup=no-such-group-%s\n' $$ > "$T/notice.conf"
python3 "$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py" --denials 5 > "$T/in.log"

# run_daemon STDERR_FILE JOURNAL_STREAM_VALUE: a short import, then SIGTERM
run_daemon() {
        local err=$1 stream=$2
        JOURNAL_STREAM=$stream "$AVCWATCHD" --config "$T/notice.conf" --db "$T/db" \
                --socket "$T/sock" --input "$T/in.log" 2> "$err" &
        local pid=$!
        wait_for 10 test -S "$T/sock" || fail "daemon did not start: $(cat "$err")"
        wait_for 10 grep -q "Input reached its end" "$err" || fail "import did not finish"
        kill -TERM "$pid"
        wait "$pid" || fail "daemon exit status $?"
}

# stderr is the stream: JOURNAL_STREAM names its device and inode
: > "$T/err1"
run_daemon "$T/err1" "$(stat -c '%d:%i' "$T/err1")"
grep -q "^<5>Access group 'no-such-group-$$' does not exist" "$T/err1" || fail "no <5> notice: $(cat "$T/err1")"
grep -q "^<6>Reading $T/in.log" "$T/err1" || fail "no <6> info line: $(cat "$T/err1")"
if grep -v '^<[0-7]>' "$T/err1"; then fail "lines without a priority prefix"; fi

# inherited JOURNAL_STREAM, stderr elsewhere: plain lines
: > "$T/err2"
run_daemon "$T/err2" "1:1"
grep -q "^avcwatchd: Access group" "$T/err2" || fail "no plain line: $(cat "$T/err2")"
if grep -q '^<[0-7]>' "$T/err2"; then fail "priority prefixes on a stderr that is not the journal"; fi

# an error is priority 3
printf '[Daemon]\nNoSuchKey=1\n' > "$T/bad.conf"
: > "$T/err3"
rc=0
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/err3") "$AVCWATCHD" --config "$T/bad.conf" --check-config \
        2> "$T/err3" > /dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "--check-config of a bad file exits $rc"
grep -q "^<3>.*line 2: unknown key 'NoSuchKey'" "$T/err3" || fail "no <3> error: $(cat "$T/err3")"

# ---- a real journald ----------------------------------------------------------------------------
ns=avcwatch-log-$$
start_journald "$ns" || skip "priority prefixes checked; $JOURNALD_WHY_NOT"

# what systemd does for StandardError=journal: a stream connection with its header, as stderr
python3 - "/run/systemd/journal.$ns/stdout" "$AVCWATCHD" --config "$T/notice.conf" \
        --db "$T/db-j" --socket "$T/sock-j" --input "$T/in.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
# identifier, unit, default priority, level prefix on, no syslog/kmsg/console forwarding
s.sendall(b"avcwatchd\n\n6\n1\n0\n0\n0\n")
st = os.fstat(s.fileno())
os.dup2(s.fileno(), 2)
os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
os.execv(sys.argv[2], sys.argv[2:])
PY
DAEMON_PID=$!
AVC_SOCKET=$T/sock-j
wait_for 10 test -S "$T/sock-j" || fail "daemon did not start"
wait_for 10 input_eof || fail "import did not finish"
stop_daemon
jc() { journalctl --namespace="$ns" SYSLOG_IDENTIFIER=avcwatchd -o json "$@" 2> /dev/null; }
wait_for 10 sh -c "journalctl --namespace=$ns SYSLOG_IDENTIFIER=avcwatchd | grep -q Stopped" ||
        fail "the daemon's messages did not reach journald"
jc -p notice | python3 -c '
import json, sys
msgs = [json.loads(l) for l in sys.stdin]
assert msgs, "nothing at notice or above"
assert all(int(m["PRIORITY"]) <= 5 for m in msgs), msgs
assert any(m["PRIORITY"] == "5" and m["MESSAGE"].startswith("Access group") for m in msgs), msgs
assert not any(m["MESSAGE"].startswith("Reading ") for m in msgs), "an info line at notice"
' || fail "journalctl -p notice does not select the notices"
jc -p info | python3 -c '
import json, sys
msgs = [json.loads(l) for l in sys.stdin]
assert any(m["PRIORITY"] == "6" and m["MESSAGE"].startswith("Reading ") for m in msgs), msgs
' || fail "the info line is not at priority 6 in the journal"
echo "journalctl --namespace=$ns -p notice: the notice only; -p info: the info lines too"
echo PASS
