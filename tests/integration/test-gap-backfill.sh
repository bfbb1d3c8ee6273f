#!/usr/bin/env bash
# Gap backfill: denials that happen while avcwatchd is down are read back from auditd's log at the
# next start, without duplicates, also across a log rotation. A small stand-in for auditd reads
# the same kernel multicast stream and writes every record in auditd's log format (it never
# misses the daemon's downtime); it rotates its log like auditd (audit.log -> audit.log.1).
#   1. daemon up: denials A stored (and logged by "auditd")
#   2. daemon down: denials B1, the log is rotated, denials B2 (only in the logs)
#   3. daemon up again: B1 and B2 are backfilled from audit.log.1 and audit.log; A is not stored
#      twice; records older than the newest stored denial are not read back; live denials C
#      are stored meanwhile
#   4. once more: nothing new to fill, nothing doubled
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
require_audit_netlink
make_tmpdir

mark=bf$$
# A source type of this run's own, the only domain its daemon keeps: the counters are the
# daemon's whole, and other writers on the shared audit stream send container_t denials too.
domain=${mark}_t
scontext=system_u:system_r:$domain:s0:c1,c2
LOG=$T/audit/audit.log
mkdir -p "$T/audit"
printf '[Daemon]\nAuditLog=%s\n[Filter]\nDomains=%s\n' "$LOG" "$domain" > "$T/conf"
CONFIG=$T/conf

# The stand-in for auditd: every record of the multicast group, one line each, as auditd writes
# them ("type=NAME msg=audit(...): ..."); SIGHUP reopens the log (after the test renamed it).
# Only this test's records (those that carry its mark): other writers on the host share the
# stream, and their denials would be backfilled and counted too.
cat > "$T/auditd.py" <<'PY'
import os, signal, socket, struct, sys
log, ready, mark = sys.argv[1], sys.argv[2], sys.argv[3].encode()
names = {1107: "USER_AVC", 1400: "AVC", 1300: "SYSCALL", 1320: "EOE", 1327: "PROCTITLE"}
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
s.bind((0, 1))
f = open(log, "a")
def reopen(*_):
    global f
    f.close()
    f = open(log, "a")
signal.signal(signal.SIGHUP, reopen)
open(ready, "w").close()
while True:
    try:
        d = s.recv(65536)
    except InterruptedError:
        continue
    t = struct.unpack_from("=H", d, 4)[0]
    if mark not in d:
        continue
    text = d[16:].rstrip(b"\0\n").decode("utf-8", "replace")
    f.write("type=%s msg=%s\n" % (names.get(t, "UNKNOWN[%d]" % t), text))
    f.flush()
PY
start_bg python3 "$T/auditd.py" "$LOG" "$T/auditd.ready" "$mark"
AUDITD=$BG_PID
logged() { [ "$(grep -c "$1" "$LOG" "$LOG".* 2> /dev/null | awk -F: '{n += $NF} END {print n}')" -ge "$2" ]; }
wait_for 10 test -e "$T/auditd.ready" || fail "the auditd stand-in did not start"

stored() { count_lines avcctl -o json query --comm "$1"; }
stat() { stats_field "$1"; }

# Older than anything that will be stored: in the log, never to be read back.
inject --count 3 --mark "o$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
wait_for 10 logged "o$mark" 3 || fail "auditd did not log"
sleep 1.1 # kept: the next denials must be in a later millisecond, and second (time must pass)

# 1. Up: A.
start_daemon --input netlink
[ "$(stat backfill)" = none ] || fail "backfill on an empty store: $(stat backfill)"
inject --count 10 --mark "a$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
has_a() { [ "$(stored "a$mark")" -eq 10 ]; }
wait_for 15 has_a || fail "A was not stored"
stop_daemon

# 2. Down: B1, rotation, B2.
inject --count 20 --mark "b$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
wait_for 10 logged "b$mark" 20 || fail "auditd did not log B1"
mv "$LOG" "$LOG.1"
kill -HUP "$AUDITD"
wait_for 5 test -e "$LOG" || fail "the auditd stand-in did not reopen its log"
inject --count 30 --mark "c$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
wait_for 10 logged "c$mark" 30 || fail "auditd did not log B2"
grep -q "c$mark" "$LOG.1" && fail "the rotation did not split the gap"

# 3. Up again: B1 and B2 from the two files, A once, the old ones not at all, live ones too.
start_daemon --input netlink
done_() { [ "$(stat backfill)" = done ]; }
wait_for 20 done_ || fail "the backfill did not finish: $(avcctl -o json stats)"
inject --count 5 --mark "d$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
has_d() { [ "$(stored "d$mark")" -eq 5 ]; }
wait_for 15 has_d || fail "live denials were not stored during/after the backfill"
s=$(avcctl -o json stats)
echo "stats: $s"
[ "$(stored "b$mark")" -eq 20 ] || fail "B1: $(stored "b$mark") of 20 backfilled"
[ "$(stored "c$mark")" -eq 30 ] || fail "B2: $(stored "c$mark") of 30 backfilled"
[ "$(stored "a$mark")" -eq 10 ] || fail "A: $(stored "a$mark") stored, expected 10 (no duplicates)"
[ "$(stored "o$mark")" -eq 0 ] || fail "records older than the gap were read back"
[ "$(json_field "$s" backfill_denials)" -eq 50 ] || fail "backfill_denials: $(json_field "$s" backfill_denials)"
[ "$(json_field "$s" backfill_files)" -eq 2 ] || fail "backfill_files: $(json_field "$s" backfill_files)"
[ "$(json_field "$s" store_denials)" -eq 65 ] || fail "store_denials: $(json_field "$s" store_denials)"
grep -q "Gap backfill done: 50 denials added from 2 file(s)" "$T/daemon.log" ||
        fail "the backfill is not in the log"
stop_daemon

# 4. Once more: the gap since D is empty; nothing doubled.
start_daemon --input netlink
wait_for 20 done_ || fail "the second backfill did not finish"
[ "$(stat backfill_denials)" -eq 0 ] || fail "the second backfill added $(stat backfill_denials)"
[ "$(stat store_denials)" -eq 65 ] || fail "store_denials after a second restart: $(stat store_denials)"
stop_daemon

# 5. One imported record stamped 2100 (a log from a host with a wrong clock) does not move the
#    start of the next gap: it begins at what this daemon last stored live (E).
start_daemon --input netlink
inject --count 3 --mark "e$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
has_e() { [ "$(stored "e$mark")" -eq 3 ]; }
wait_for 15 has_e || fail "E was not stored"
printf '%s\n' "type=AVC msg=audit(4102444800.000:77): avc:  denied  { read } for  pid=4242 \
comm=\"f$mark\" name=\"x\" scontext=system_u:system_r:$domain:s0:c5,c6 \
tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0" > "$T/future.log"
avcctl import "$T/future.log" > /dev/null || fail "import of the 2100 record failed"
[ "$(stored "f$mark")" -eq 1 ] || fail "the 2100 record was not imported"
stop_daemon
inject --count 2 --mark "g$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
wait_for 10 logged "g$mark" 2 || fail "auditd did not log G"
start_daemon --input netlink
wait_for 20 done_ || fail "the backfill after the import did not finish: $(avcctl -o json stats)"
s=$(avcctl -o json stats)
echo "stats: $s"
[ "$(stored "g$mark")" -eq 2 ] || fail "G: $(stored "g$mark") of 2 backfilled after a 2100 import"
[ "$(json_field "$s" backfill_from)" = live ] || fail "backfill_from: $(json_field "$s" backfill_from)"
[ "$(json_field "$s" backfill_ignored)" -ge 1 ] || fail "the 2100 record is not said to be ignored"
grep -q "were not seen live" "$T/daemon.log" || fail "the log does not say what was ignored"
stop_daemon

# 6. A database of an older version has no live position: the newest stored denial starts the
#    gap, except those dated after now (+ a slack), and the log says so.
python3 - "${DB:-$T/db}" <<'PY' || fail "cannot remove the live position"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DELETE FROM meta WHERE key IN ('live_position_ms', 'backfill_from_ms')")
c.commit()
PY
inject --count 2 --mark "h$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
wait_for 10 logged "h$mark" 2 || fail "auditd did not log H"
start_daemon --input netlink
wait_for 20 done_ || fail "the backfill without a live position did not finish"
s=$(avcctl -o json stats)
[ "$(stored "h$mark")" -eq 2 ] || fail "H: $(stored "h$mark") of 2 backfilled without a live position"
[ "$(json_field "$s" backfill_from)" = stored ] || fail "backfill_from: $(json_field "$s" backfill_from)"
grep -q "no live position recorded yet" "$T/daemon.log" || fail "the fallback is not in the log"
stop_daemon
kill "$AUDITD"
echo "gap backfill: 50 denials of the downtime read back across a rotation, none twice; a 2100 import moves nothing"
