#!/usr/bin/env bash
# avcctl import --journal from real journal files (written by systemd-journal-remote from journal
# export format, as journald keeps audit records on a host without auditd: _TRANSPORT=audit,
# _AUDIT_TYPE, _AUDIT_ID, _SOURCE_REALTIME_TIMESTAMP, MESSAGE="AVC avc:  denied ..."):
# - the records are rebuilt with their exact time and serial, the SYSCALL record joins its AVC;
# - entries of another transport, or without a serial, are not imported (the latter counted);
# - --since/--until choose by the record's own time;
# - a re-import adds nothing, and a record already stored from audit.log (the same time and
#   serial as the live input would give) is recognised.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

[ "$(id -u)" -eq 0 ] || skip "import is root's only"
remote=$(command -v systemd-journal-remote || echo /usr/lib/systemd/systemd-journal-remote)
[ -x "$remote" ] || skip "systemd-journal-remote is not installed (scripts/dev deps)"
make_tmpdir

python3 - > "$T/export" <<'PY'
boot = "0123456789abcdef0123456789abcdef"
avc = ("avc:  denied  { read } for  pid=7 comm=\"cat\" name=\"%s\" "
       "scontext=system_u:system_r:container_t:s0:c1,c2 "
       "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0")
def entry(usec, fields):
    out = [f"__REALTIME_TIMESTAMP={usec + 50000}", f"__MONOTONIC_TIMESTAMP={usec % 10**9}",
           f"_BOOT_ID={boot}", "_HOSTNAME=node1"]
    out += [f"{k}={v}" for k, v in fields]
    print("\n".join(out) + "\n")
def audit(usec, serial, tname, tnum, body):
    f = [("_TRANSPORT", "audit"), ("SYSLOG_IDENTIFIER", "audit"), ("_AUDIT_TYPE", tnum),
         ("_AUDIT_TYPE_NAME", tname)]
    if serial is not None:
        f.append(("_AUDIT_ID", serial))
    f += [("_SOURCE_REALTIME_TIMESTAMP", usec), ("MESSAGE", f"{tname} {body}")]
    entry(usec, f)
t = 1713603292240000  # 2024-04-20T08:54:52.240Z
audit(t, 4242, "AVC", 1400, avc % "f")
audit(t, 4242, "SYSCALL", 1300, "arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c "
      "a1=7ffd0000 a2=0 a3=0 items=1 ppid=1 pid=7 auid=4294967295 uid=0 gid=0 euid=0 suid=0 "
      "fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"cat\" exe=\"/bin/cat\" "
      "key=(null)")
audit(t, 4242, "PROCTITLE", 1327, "proctitle=636174")
audit(t + 1000000, 4243, "AVC", 1400, avc % "g")      # its own event
audit(t + 2000000, None, "AVC", 1400, avc % "noid")   # no serial: not imported, counted
entry(t + 3000000, [("_TRANSPORT", "syslog"), ("SYSLOG_IDENTIFIER", "x"),
                    ("MESSAGE", "AVC " + avc % "syslog")])  # not from the audit transport
audit(t + 4000000, 5000, "AVC", 1400, avc % "held")   # also in audit.log, imported first
audit(t + 86400000000, 4300, "AVC", 1400, avc % "next-day")
PY
mkdir "$T/journal"
"$remote" -o "$T/journal/remote.journal" - < "$T/export" 2> "$T/remote.log" ||
        fail "systemd-journal-remote failed: $(cat "$T/remote.log")"
journalctl -D "$T/journal" -o export | grep -c '^_AUDIT_ID=' | grep -qx 6 ||
        fail "the journal file does not hold the entries: $(journalctl -D "$T/journal" -o export)"

cat > "$T/avcwatchd.conf" << EOF
[Daemon]
AuditLog=
[Engines]
Docker=
Podman=
ProcScan=no
EOF
CONFIG=$T/avcwatchd.conf start_daemon --input /dev/null

# The record with serial 5000, as auditd would have written it: stored from audit.log first.
echo "type=AVC msg=audit(1713603296.240:5000): avc:  denied  { read } for  pid=7 comm=\"cat\"" \
        "name=\"held\" scontext=system_u:system_r:container_t:s0:c1,c2" \
        "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0" > "$T/audit.log"
avcctl import "$T/audit.log" > /dev/null || fail "audit.log import failed"

counts() { # ARGS: the import's JSON line
        avcctl -o json import --journal --directory "$T/journal" "$@" 2> "$T/import.err"
}
check() { # JSON STORED DUPLICATES
        python3 - "$1" "$2" "$3" <<'PY' || fail "import counts: $1 (expected $2 stored, $3 held)"
import json, sys
o = json.loads(sys.argv[1])
assert o["file"].endswith("/journal") and o["lost"] == 0, o
assert (o["stored"], o["duplicates"]) == (int(sys.argv[2]), int(sys.argv[3])), o
PY
}

# --until before the next day's record: the first day's three verdicts, one held already.
out=$(counts --until "@1713680000") || fail "import --journal failed: $(cat "$T/import.err")"
check "$out" 2 1
grep -q "1 audit entries of the journal without a serial" "$T/import.err" ||
        fail "the entry without _AUDIT_ID was not reported: $(cat "$T/import.err")"
avcctl -o json query > "$T/q.json"
python3 - "$T/q.json" <<'PY' || fail "the journal's records were not rebuilt as they were"
import json, sys
rows = {o["name"]: o for o in map(json.loads, open(sys.argv[1]))}
assert sorted(rows) == ["f", "g", "held"], sorted(rows)
f = rows["f"]
assert f["time"] == "2024-04-20T08:54:52.240Z" and f["serial"] == 4242, f
assert f["exe"] == "/bin/cat" and f["comm"] == "cat" and f["pid"] == 7, f  # the SYSCALL joined
assert f["raw"].startswith("type=") and "msg=audit(1713603292.240:4242)" in f["raw"], f["raw"]
assert rows["g"]["serial"] == 4243 and rows["g"]["time"] == "2024-04-20T08:54:53.240Z"
assert f["scontext"] == "system_u:system_r:container_t:s0:c1,c2" and f["tclass"] == "file"
PY
# Again: nothing added.
out=$(counts --until "@1713680000") || fail "re-import failed: $(cat "$T/import.err")"
check "$out" 0 3
# --since: only the next day's record.
out=$(counts --since "@1713680000") || fail "import --since failed: $(cat "$T/import.err")"
check "$out" 1 0
# Everything: all held.
out=$(counts) || fail "full re-import failed: $(cat "$T/import.err")"
check "$out" 0 4
[ "$(avcctl -o json query | wc -l)" -eq 4 ] || fail "re-imports changed the row count"

# Usage errors.
rc=0
avcctl import --journal "$T/audit.log" 2> /dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "--journal with a file: exit $rc, expected 1"
rc=0
avcctl import --directory "$T/journal" "$T/audit.log" 2> /dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "--directory without --journal: exit $rc, expected 1"
rc=0
avcctl import --journal --directory "$T/nonexistent" 2> "$T/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a journal directory that does not exist was imported"
stop_daemon
echo "journal import: rebuilt records stored once, held ones recognised, the range honoured"
