#!/usr/bin/env bash
# [Journal] ForwardDenials=yes: each stored denial becomes one structured journal entry with the
# documented fields, read back with an independent parser of journald's native protocol
# (tests/integration/journal-listener.py) on a test socket (AVCWATCH_JOURNAL_SOCKET):
#  A. file input: one entry per stored denial, fields equal to the API's JSON object, hostile
#     bytes exact (binary form), MESSAGE= escaped, the fixed MESSAGE_ID, no CONTAINER_* for an
#     unattributed denial; off by default.
#  B. no journal there: the import is not held up, every failure is counted, logged once.
#  C. a journal that never reads: the loop never blocks; entries wait in the bounded queue,
#     the rest is counted: sent + queued + failed = stored; when that journal goes away, the
#     queue empties into failed.
#  D. (root) the kernel path: a denial from a process in a container's cgroup carries
#     CONTAINER_ID (12) / CONTAINER_ID_FULL; forwarding switched on by SIGHUP.
#  E. (root) a real systemd-journald (a private journal namespace, volatile storage) stores the
#     entries, and `journalctl MESSAGE_ID=... CONTAINER_ID_FULL=...` finds them, with the
#     AVCWATCH_ fields (`-o export`), and the container's first denial of its signature as one
#     new-denial entry at priority 4 (test-baseline.sh has the rest); the installed message
#     catalog (both MESSAGE_IDs) compiles
#     (`journalctl --root --update-catalog`, `--list-catalog`) and `journalctl -x` renders it
#     for these entries (in a private mount namespace whose catalog database is the test's own:
#     journalctl -x reads only /var/lib/systemd/catalog/database).
set -euo pipefail
source "$AVCWATCH_TESTLIB"

make_tmpdir
HERE=$(dirname "$AVCWATCH_TESTLIB")
MESSAGE_ID=b7e5e1be24214d30bd1da4597cc3fb77
NEW_ID=3641b7c18f4f45d1a726f622feb65016 # a new denial (docs/fleet.md "New denials")

printf '[Journal]\nForwardDenials=yes\n' > "$T/forward.conf"
printf '[Journal]\nForwardDenials=no\n' > "$T/noforward.conf"
python3 "$HERE/../../bench/gen-audit-log.py" --denials 2000 --containers 10 --seed 7 > "$T/in.log"
# a comm with a newline, an escape sequence and a forged field, hex-encoded as the kernel does
printf '%s\n' 'type=AVC msg=audit(1713603292.240:9001): avc:  denied  { write } for  pid=4242 comm=62610A1B5B326A4D4553534147455F49443D78 name="x" dev="overlay" ino=1 scontext=system_u:system_r:container_t:s0:c1,c2 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0' >> "$T/in.log"

start_listener() { # NAME [--no-read]: socket $T/NAME.sock, entries in $T/NAME.log
        local name=$1
        shift
        touch "$T/$name.log"
        start_bg python3 "$HERE/journal-listener.py" "$T/$name.sock" "$T/$name.log" "$@"
        wait_for 5 test -S "$T/$name.sock" || fail "the journal listener did not start"
}
entries() { # LOG: number of entries
        wc -l < "$1"
}
stat_of() { # KEY
        json_field "$(avcctl -o json stats)" "$1"
}

# ---- A: every stored denial, exactly -------------------------------------------------------
start_listener a
AVCWATCH_JOURNAL_SOCKET=$T/a.sock CONFIG=$T/forward.conf start_daemon --input "$T/in.log"
wait_for 30 input_eof || fail "import did not finish"
stored=$(stat_of denials_stored)
[ "$stored" -eq 2001 ] || fail "stored $stored of 2001 denials"
wait_until 10 '[ "$(entries "$T/a.log")" -eq "$stored" ]' ||
        fail "$(entries "$T/a.log") journal entries for $stored stored denials"
[ "$(stat_of journal_forwarded)" -eq "$stored" ] || fail "journal_forwarded is not $stored"
[ "$(stat_of journal_failed)" -eq 0 ] || fail "journal_failed is not 0"
avcctl -o json query --limit 100000 > "$T/a.json"
python3 - "$T/a.log" "$T/a.json" "$MESSAGE_ID" <<'PY' || fail "journal entries do not match the stored denials"
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
denials = [json.loads(l) for l in open(sys.argv[2])]
assert all("error" not in e for e in entries), [e for e in entries if "error" in e][:1]
by_key = {(d["time"], d["serial"], d["scontext"], " ".join(d["permissions"])): d for d in denials}
assert len(by_key) == len(denials) == len(entries)
seen = set()
for e in entries:
    f = e["fields"]
    key = (f["AVC_TIME"], int(f["AVC_SERIAL"]), f["AVC_SCONTEXT"], f["AVC_PERMS"])
    d = by_key[key]
    seen.add(key)
    assert f["MESSAGE_ID"] == sys.argv[3] and f["PRIORITY"] == "5", f
    assert f["SYSLOG_IDENTIFIER"] == "avcwatchd"
    for field, k in [("AVC_TCONTEXT", "tcontext"), ("AVC_TCLASS", "tclass"),
                     ("AVC_SOURCE_TYPE", "source_type"), ("AVC_TARGET_TYPE", "target_type"),
                     ("AVC_MCS", "mcs"), ("AVC_COMM", "comm"), ("AVC_EXE", "exe"),
                     ("AVC_RESULT", "result"), ("AVC_RECORD_TYPE", "record_type"),
                     ("AVC_ATTRIBUTION", "attribution"), ("AVC_RAW", "raw")]:
        assert f.get(field) == d[k], (field, f.get(field), d[k])
    assert f.get("AVC_PID") == (None if d["pid"] is None else str(d["pid"]))
    assert f.get("AVC_PATH") == (d["path"] or d["name"])
    assert d["container"] is None and not any(k.startswith("CONTAINER_") or k == "IMAGE_NAME"
                                              for k in f), f
    assert "\n" not in f["MESSAGE"] and "\x1b" not in f["MESSAGE"]
    if d["serial"] == 9001:
        assert f["AVC_COMM"] == "ba\n\x1b[2jMESSAGE_ID=x" and "AVC_COMM" in e["binary"], e
        assert 'comm="ba\\n\\x1b[2jMESSAGE_ID=x"' in f["MESSAGE"], f["MESSAGE"]
assert len(seen) == len(denials)
print(len(entries), "entries match")
PY
stop_daemon

# off by default: the same import into a new database sends nothing
start_listener a2
AVCWATCH_JOURNAL_SOCKET=$T/a2.sock start_daemon --db "$T/db-a2" --input "$T/in.log"
wait_for 30 input_eof || fail "import did not finish"
sleep 0.5 # kept: time for entries that must not come (nothing to wait for when none is sent)
[ "$(entries "$T/a2.log")" -eq 0 ] || fail "entries sent with ForwardDenials off (the default)"
[ "$(stat_of journal_forwarded)" -eq 0 ] || fail "journal_forwarded counts with forwarding off"
stop_daemon

# ---- B: nobody there ------------------------------------------------------------------------
AVCWATCH_JOURNAL_SOCKET=$T/nothing.sock CONFIG=$T/forward.conf \
        start_daemon --db "$T/db-b" --input "$T/in.log"
wait_for 30 input_eof || fail "import did not finish without a journal"
[ "$(stat_of journal_failed)" -eq 2001 ] || fail "journal_failed is $(stat_of journal_failed), not 2001"
[ "$(stat_of journal_forwarded)" -eq 0 ] || fail "journal_forwarded is not 0"
stop_daemon
n=$(grep -c "Failed to forward .* to the journal" "$T/daemon.log" || true)
[ "$n" -eq 1 ] || fail "the failure was logged $n times, expected once"

# ---- C: a journal that never reads -----------------------------------------------------------
python3 "$HERE/../../bench/gen-audit-log.py" --denials 6000 --containers 10 --seed 8 > "$T/c.log"
start_listener c --no-read
stuck_listener=$BG_PID
AVCWATCH_JOURNAL_SOCKET=$T/c.sock CONFIG=$T/forward.conf \
        start_daemon --db "$T/db-c" --input "$T/c.log"
wait_for 30 input_eof || fail "import did not finish with a stuck journal"
stored=$(stat_of denials_stored)
sent=$(stat_of journal_forwarded)
queued=$(stat_of journal_queued)
failed=$(stat_of journal_failed)
echo "stuck journal: $stored stored, $sent sent, $queued queued, $failed failed"
[ "$stored" -eq 6000 ] || fail "stored $stored of 6000"
[ "$queued" -gt 0 ] && [ "$queued" -le 4096 ] || fail "queued $queued, expected 1..4096"
[ "$failed" -gt 0 ] && [ $((sent + queued + failed)) -eq "$stored" ] ||
        fail "sent $sent + queued $queued + failed $failed is not the $stored stored"
kill "$stuck_listener"
wait_until 10 '[ "$(stat_of journal_queued)" -eq 0 ]' || fail "the queue did not empty"
[ $(($(stat_of journal_forwarded) + $(stat_of journal_failed))) -eq "$stored" ] ||
        fail "sent + failed is not $stored once the journal went away"
stop_daemon

# ---- D: the kernel path, a container, SIGHUP --------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "A-C passed; D-E need root (kernel audit socket, cgroups, journald)"
require_audit_netlink
fake_container
mark=jf$$$(printf '%04x' $((RANDOM % 65536)))
# A source type of this run's own, the only domain this daemon keeps: every denial it stores is
# forwarded, and other writers on the shared audit stream (other tests, a benchmark's injector)
# send container_t denials that would be forwarded and counted too.
domain=${mark}_t
scontext=system_u:system_r:$domain:s0:c1,c2
printf '[Filter]\nDomains=%s\n' "$domain" > "$T/own.conf"
cat "$T/noforward.conf" "$T/own.conf" > "$T/live.conf"
start_listener d
AVCWATCH_JOURNAL_SOCKET=$T/d.sock CONFIG=$T/live.conf start_daemon --db "$T/db-d" --input netlink
inject --count 1 --mark "${mark}o" --pid "$FAKE_CONTAINER_PID" --scontext "$scontext" > /dev/null ||
        fail "inject failed"
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
wait_for 10 has "${mark}o" 1 || fail "denial not stored"
cat "$T/forward.conf" "$T/own.conf" > "$T/live.conf"
kill -HUP "$DAEMON_PID"
wait_for 10 grep -q "Forwarding denials to the journal: on" "$T/daemon.log" || fail "reload not seen"
inject --count 3 --mark "$mark" --pid "$FAKE_CONTAINER_PID" --scontext "$scontext" > /dev/null ||
        fail "inject failed"
wait_for 10 has "$mark" 3 || fail "denials not stored"
# (the container's first denial of a signature also gets a new-denial entry: test-baseline.sh)
denial_entries() { grep -c "\"MESSAGE_ID\": \"$MESSAGE_ID\"" "$1" || true; }
wait_until 10 '[ "$(denial_entries "$T/d.log")" -eq 3 ]' ||
        fail "$(denial_entries "$T/d.log") entries, expected 3"
python3 - "$T/d.log" "$FAKE_CONTAINER_ID" "$FAKE_CONTAINER_PID" "$mark" "$MESSAGE_ID" <<'PY' || fail "container fields are wrong"
import json, sys
cid, pid, mark = sys.argv[2], sys.argv[3], sys.argv[4]
for l in open(sys.argv[1]):
    f = json.loads(l)["fields"]
    if f["MESSAGE_ID"] != sys.argv[5]:
        continue
    assert f["CONTAINER_ID"] == cid[:12] and f["CONTAINER_ID_FULL"] == cid, f
    assert f["AVC_ATTRIBUTION"] == "pid" and f["AVC_PID"] == pid and f["AVC_COMM"] == mark, f
    assert f["AVC_CONTAINER_ENGINE"] == "docker", f
    assert f["MESSAGE"].startswith("container " + cid[:12]), f["MESSAGE"]
PY
stop_daemon

# ---- E: a real journald -----------------------------------------------------------------------
ns=avcwatch-test-$$
start_journald "$ns" || skip "A-D passed; no journald for E: $JOURNALD_WHY_NOT"

AVCWATCH_JOURNAL_SOCKET=/run/systemd/journal.$ns/socket CONFIG=$T/forward.conf \
        start_daemon --db "$T/db-e" --input netlink
inject --count 2 --mark "e$mark" --pid "$FAKE_CONTAINER_PID" > /dev/null || fail "inject failed"
wait_for 30 has "e$mark" 2 || fail "denials not stored: $(avcctl -o json stats)"
jq_count() {
        journalctl --namespace="$ns" -o json MESSAGE_ID=$MESSAGE_ID \
                CONTAINER_ID_FULL="$FAKE_CONTAINER_ID" AVC_COMM="e$mark" 2> /dev/null | wc -l
}
wait_until 10 '[ "$(jq_count)" -eq 2 ]' || fail "journalctl finds $(jq_count) entries, expected 2"
journalctl --namespace="$ns" -o json MESSAGE_ID=$MESSAGE_ID AVC_COMM="e$mark" > "$T/e.json"
python3 - "$T/e.json" "$FAKE_CONTAINER_ID" <<'PY' || fail "journald's entries lack fields"
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    for k in ["CONTAINER_ID", "AVC_SCONTEXT", "AVC_TCONTEXT", "AVC_TCLASS", "AVC_PERMS", "MESSAGE",
              "PRIORITY", "SYSLOG_IDENTIFIER"]:
        assert o.get(k), (k, o)
    assert o["CONTAINER_ID_FULL"] == sys.argv[2] and o["_COMM"] == "avcwatchd", o
    assert o["PRIORITY"] == "5" and o["SYSLOG_IDENTIFIER"] == "avcwatchd"
PY
journalctl --namespace="$ns" -o export MESSAGE_ID=$MESSAGE_ID AVC_COMM="e$mark" > "$T/e.export"
python3 - "$T/e.export" <<'PY' || fail "the AVCWATCH_ fields are not in journald's entries"
import sys
entries = [dict(l.split("=", 1) for l in block.splitlines() if "=" in l)
           for block in open(sys.argv[1]).read().split("\n\n") if block.strip()]
assert len(entries) == 2, len(entries)
for e in entries:
    assert e["AVCWATCH_SIGNATURE"] == "denied container_t etc_t:file { write }", e
    assert e["AVCWATCH_COUNT"] == "1", e
    assert "AVCWATCH_POD" not in e and "AVCWATCH_NAMESPACE" not in e, e  # no pod here
PY
echo "journalctl --namespace=$ns MESSAGE_ID=$MESSAGE_ID CONTAINER_ID_FULL=... found both"
# the container's first denial of that signature is news: one entry of its own, a warning
new_entries() {
        journalctl --namespace="$ns" -o export MESSAGE_ID=$NEW_ID \
                CONTAINER_ID_FULL="$FAKE_CONTAINER_ID" 2> /dev/null | grep -c '^PRIORITY=4$' || true
}
wait_until 10 '[ "$(new_entries)" -eq 1 ]' ||
        fail "journalctl finds $(new_entries) new-denial entries at priority 4, expected 1"
journalctl --namespace="$ns" -o export MESSAGE_ID=$NEW_ID CONTAINER_ID_FULL="$FAKE_CONTAINER_ID" |
        grep -qx "AVCWATCH_BASELINE=$FAKE_CONTAINER_ID" || fail "the new-denial entry names no baseline"

# The catalog, as installed, compiled into a private root and shown by journalctl -x.
DESTDIR=$T/croot cmake --install "$AVCWATCH_BUILD_DIR" --prefix /usr > "$T/install.log" ||
        fail "cmake --install failed: $(cat "$T/install.log")"
[ -f "$T/croot/usr/lib/systemd/catalog/avcwatch.catalog" ] || fail "the catalog is not installed"
journalctl --root="$T/croot" --update-catalog 2> "$T/catalog.log" ||
        fail "journalctl --update-catalog: $(cat "$T/catalog.log")"
! grep -qi "avcwatch" "$T/catalog.log" || fail "the catalog has errors: $(cat "$T/catalog.log")"
journalctl --root="$T/croot" --list-catalog > "$T/catalog.list"
grep -q "^$MESSAGE_ID avcwatch: SELinux denied a container" "$T/catalog.list" ||
        fail "--list-catalog does not show $MESSAGE_ID: $(cat "$T/catalog.list")"
grep -q "^$NEW_ID avcwatch: A new SELinux denial of a container" "$T/catalog.list" ||
        fail "--list-catalog does not show $NEW_ID: $(cat "$T/catalog.list")"
if unshare --mount true 2> /dev/null; then
        unshare --mount sh -c 'mount --bind "$1" /var/lib/systemd/catalog/database &&
                journalctl --namespace="$2" -x --no-pager MESSAGE_ID="$3" AVC_COMM="$4"' _ \
                "$T/croot/var/lib/systemd/catalog/database" "$ns" "$MESSAGE_ID" "e$mark" \
                > "$T/x.txt" || fail "journalctl -x failed"
        grep -q "Subject: SELinux denied a container: denied container_t etc_t:file { write }" \
                "$T/x.txt" || fail "journalctl -x does not explain the entry: $(cat "$T/x.txt")"
        grep -q "Documentation: man:avcctl(1)" "$T/x.txt" || fail "-x: no Documentation: line"
        grep -q "AVC_ATTRIBUTION=, here pid" "$T/x.txt" || fail "-x: fields not substituted"
        unshare --mount sh -c 'mount --bind "$1" /var/lib/systemd/catalog/database &&
                journalctl --namespace="$2" -x --no-pager MESSAGE_ID="$3" AVC_COMM="$4"' _ \
                "$T/croot/var/lib/systemd/catalog/database" "$ns" "$NEW_ID" "e$mark" \
                > "$T/xn.txt" || fail "journalctl -x failed for $NEW_ID"
        grep -q "Subject: A new SELinux denial of a container: denied container_t etc_t:file { write }" \
                "$T/xn.txt" || fail "journalctl -x does not explain the new denial: $(cat "$T/xn.txt")"
        echo "journalctl -x explains $MESSAGE_ID with the installed catalog"
else
        echo "no private mount namespace here: journalctl -x not run (the catalog compiled)"
fi
stop_daemon
echo PASS
