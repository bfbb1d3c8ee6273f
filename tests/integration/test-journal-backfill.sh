#!/usr/bin/env bash
# Gap backfill from the journal (Backfill=, JournalDirectory=): on a host without auditd the
# records of a downtime are only in the journal (_TRANSPORT=audit). A stand-in reads the kernel's
# multicast stream as journald does; the records are written into a real journal file by
# systemd-journal-remote (journal export format, journald's fields: _AUDIT_TYPE, _AUDIT_ID,
# _SOURCE_REALTIME_TIMESTAMP, MESSAGE="NAME BODY") in a private directory the daemon is pointed
# at with JournalDirectory=.
#   1. daemon up: denials A stored
#   2. daemon down: denials B (only in the journal)
#   3. up again with Backfill=auto and an AuditLog= that does not exist: B read back from the
#      journal, A not stored twice, records older than the gap not read
#   4. Backfill=journal again: nothing new; Backfill=no: no backfill at all
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
remote=$(command -v systemd-journal-remote || echo /usr/lib/systemd/systemd-journal-remote)
[ -x "$remote" ] || skip "systemd-journal-remote is not installed (scripts/dev deps)"
require_audit_netlink
make_tmpdir

mark=jb$$
# A source type of this run's own, the only domain its daemon keeps: the counters are the
# daemon's whole, and other writers on the shared audit stream send container_t denials too.
domain=${mark}_t
scontext=system_u:system_r:$domain:s0:c1,c2
REC=$T/records.log
conf() { # BACKFILL
        printf '[Daemon]\nAuditLog=%s\nBackfill=%s\nJournalDirectory=%s\n[Filter]\nDomains=%s\n' \
                "$T/no-auditd/audit.log" "$1" "$T/journal" "$domain" > "$T/conf"
}
conf auto
CONFIG=$T/conf

# The stand-in: every record of the multicast group with its type number, one per line. Only
# this test's records (those that carry its mark): other writers on the host share the stream,
# and their denials would be backfilled and counted too.
cat > "$T/listen.py" <<'PY'
import socket, struct, sys
out, ready, mark = sys.argv[1], sys.argv[2], sys.argv[3].encode()
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
s.bind((0, 1))
f = open(out, "a")
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
    f.write("%d %s\n" % (t, text))
    f.flush()
PY
# What journald would have written for those records, as a journal file.
cat > "$T/export.py" <<'PY'
import re, sys
names = {1107: "USER_AVC", 1400: "AVC", 1300: "SYSCALL", 1320: "EOE", 1327: "PROCTITLE"}
mono = 1000
for line in open(sys.argv[1]):
    t, text = line.rstrip("\n").split(" ", 1)
    m = re.match(r"audit\((\d+)\.(\d{3}):(\d+)\): ?(.*)", text)
    if not m or int(t) not in names:
        continue
    usec = int(m[1]) * 10**6 + int(m[2]) * 1000
    mono += 1
    print(f"__REALTIME_TIMESTAMP={usec + 2000}\n__MONOTONIC_TIMESTAMP={mono}\n"
          f"_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=node1\n_TRANSPORT=audit\n"
          f"SYSLOG_IDENTIFIER=audit\n_AUDIT_TYPE={t}\n_AUDIT_TYPE_NAME={names[int(t)]}\n"
          f"_AUDIT_ID={m[3]}\n_SOURCE_REALTIME_TIMESTAMP={usec}\n"
          f"MESSAGE={names[int(t)]} {m[4]}\n")
PY
write_journal() {
        rm -rf "$T/journal"
        mkdir "$T/journal"
        python3 "$T/export.py" "$REC" > "$T/export"
        "$remote" -o "$T/journal/remote.journal" - < "$T/export" 2> "$T/remote.log" ||
                fail "systemd-journal-remote failed: $(cat "$T/remote.log")"
}
start_bg python3 "$T/listen.py" "$REC" "$T/listen.ready" "$mark"
LISTENER=$BG_PID
wait_for 10 test -e "$T/listen.ready" || fail "the stand-in did not start"
heard() { [ "$(grep -c "$1" "$REC")" -ge "$2" ]; }
stored() { count_lines avcctl -o json query --comm "$1"; }
stat() { stats_field "$1"; }
done_() { [ "$(stat backfill)" = done ]; }

# Older than anything that will be stored: in the journal, never to be read back.
inject --count 3 --mark "o$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
wait_for 10 heard "o$mark" 3 || fail "the stand-in did not hear O"
sleep 1.1 # the next denials in a later second

# 1. Up: A.
write_journal
start_daemon --input netlink
inject --count 10 --mark "a$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
has_a() { [ "$(stored "a$mark")" -eq 10 ]; }
wait_for 15 has_a || fail "A was not stored"
stop_daemon

# 2. Down: B.
inject --count 20 --mark "b$mark" --scontext "$scontext" > /dev/null || fail "inject failed"
wait_for 10 heard "b$mark" 20 || fail "the stand-in did not hear B"
write_journal
journalctl -D "$T/journal" -o export > "$T/journal.export"
grep -q "comm=\"b$mark\"" "$T/journal.export" || fail "B is not in the journal file"

# 3. Up with Backfill=auto, no audit.log: B from the journal.
start_daemon --input netlink
wait_for 20 done_ || fail "the backfill did not finish: $(avcctl -o json stats)"
s=$(avcctl -o json stats)
echo "stats: $s"
[ "$(stored "b$mark")" -eq 20 ] || fail "B: $(stored "b$mark") of 20 backfilled from the journal"
[ "$(stored "a$mark")" -eq 10 ] || fail "A: $(stored "a$mark") stored, expected 10 (no duplicates)"
[ "$(stored "o$mark")" -eq 0 ] || fail "records older than the gap were read back"
[ "$(json_field "$s" backfill_denials)" -eq 20 ] || fail "backfill_denials: $(json_field "$s" backfill_denials)"
[ "$(json_field "$s" backfill_files)" -eq 0 ] || fail "backfill_files: $(json_field "$s" backfill_files)"
grep -q "no audit log at '$T/no-auditd/audit.log'; reading the journal in $T/journal" "$T/daemon.log" ||
        fail "the log does not say the journal is read: $(cat "$T/daemon.log")"
grep -q "Gap backfill done: 20 denials added from the journal" "$T/daemon.log" ||
        fail "the backfill is not in the log"
# the rebuilt records keep the kernel's serial: the same as the stand-in heard
python3 - "$REC" "$mark" <<'PY' > "$T/serials" || fail "cannot read the stand-in's records"
import re, sys
for line in open(sys.argv[1]):
    if f'b{sys.argv[2]}' in line and line.startswith(("1400 ", "1107 ")):
        print(re.search(r"audit\(\d+\.\d+:(\d+)\)", line)[1])
PY
avcctl -o json query --comm "b$mark" | python3 -c '
import json, sys
print("\n".join(str(json.loads(l)["serial"]) for l in sys.stdin))' > "$T/stored-serials"
cmp -s <(sort -n "$T/serials") <(sort -n "$T/stored-serials") ||
        fail "the serials differ from the kernel's: $(paste "$T/serials" "$T/stored-serials")"
stop_daemon

# 4. Backfill=journal: the gap since the last start is empty; Backfill=no: off.
conf journal
start_daemon --input netlink
wait_for 20 done_ || fail "the second backfill did not finish"
[ "$(stat backfill_denials)" -eq 0 ] || fail "the second backfill added $(stat backfill_denials)"
stop_daemon
conf no
start_daemon --input netlink
[ "$(stat backfill)" = off ] || fail "Backfill=no: backfill is $(stat backfill)"
[ "$(stat store_denials)" -eq 30 ] || fail "store_denials: $(stat store_denials)"
stop_daemon
kill "$LISTENER"
echo "journal backfill: 20 denials of the downtime read back from a journal file, none twice"
