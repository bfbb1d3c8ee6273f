#!/usr/bin/env bash
# New denials (docs/fleet.md "New denials"): the baseline of signatures per image, through the
# kernel's audit socket, with a process in a container's cgroup (no engine here, so the baseline
# is the container's: scope "container", key its id; the image key is covered by
# tests/unit/test-baseline.c). Journal entries are read back with the native-protocol listener
# (journal-listener.py) on a test socket.
#  A. a signature never seen for the container: one new-denial entry (its own MESSAGE_ID,
#     PRIORITY=4, the AVCWATCH_ fields, the baseline named), new_denials 1, `top --new` lists it;
#     the same signature again: no entry, no count.
#  B. `baseline accept` (root only: another user is refused and nothing changes); then the
#     accepted signature gives no event, a newer one exactly one.
#  C. a restart keeps the baseline: neither signature is new again.
#  D. an import of a signature never seen live: stored, but not news (no event, not in the
#     baseline).
set -euo pipefail
source "$AVCWATCH_TESTLIB"

setup_kernel_test python3
HERE=$(dirname "$AVCWATCH_TESTLIB")
DENIAL_ID=b7e5e1be24214d30bd1da4597cc3fb77
NEW_ID=3641b7c18f4f45d1a726f622feb65016
fake_container
cid=$FAKE_CONTAINER_ID
pid=$FAKE_CONTAINER_PID
mark=bl$$$(printf '%04x' $((RANDOM % 65536)))
# A source type of this run's own, the only domain its daemon keeps: the counters, the baseline
# and `top --new` are the daemon's whole, and other writers on the shared audit stream (other
# tests, a benchmark's injector) send container_t denials that would be new signatures too.
domain=${mark}_t
scontext=system_u:system_r:$domain:s0:c1,c2

printf '[Journal]\nForwardDenials=yes\n[Filter]\nDomains=%s\n' "$domain" > "$T/forward.conf"
touch "$T/j.log"
start_bg python3 "$HERE/journal-listener.py" "$T/j.sock" "$T/j.log"
wait_for 5 test -S "$T/j.sock" || fail "the journal listener did not start"

entries_of() { # MESSAGE_ID: entries of that id about the container received so far
        python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    f = json.loads(l).get("fields", {})
    n += f.get("MESSAGE_ID") == sys.argv[2] and f.get("CONTAINER_ID_FULL") == sys.argv[3]
print(n)' "$T/j.log" "$1" "$cid"
}
stored() { # COMM N: N denials of COMM stored
        [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]
}
send() { # COMM PERM [COUNT]: denials from the container, each stored and forwarded
        local want n=${3:-1}
        want=$(($(entries_of $DENIAL_ID) + n))
        inject --count "$n" --mark "$1" --pid "$pid" --perm "$2" --scontext "$scontext" > /dev/null ||
                fail "inject failed"
        wait_for 10 stored "$1" "$n" || fail "denials $1 not stored: $(avcctl -o json stats)"
        # a denial's new-denial entry is sent before its own entry
        wait_until 10 '[ "$(entries_of $DENIAL_ID)" -eq $want ]' ||
                fail "the denial entries of $1 were not forwarded"
}
new_listed() { # the signatures `top --new` lists
        avcctl -o json top --new | python3 -c '
import json, sys
for l in sys.stdin:
    print(json.loads(l)["signature"])'
}

AVCWATCH_JOURNAL_SOCKET=$T/j.sock CONFIG=$T/forward.conf start_daemon --input netlink

# ---- A --------------------------------------------------------------------------------------
send "${mark}a" read
[ "$(entries_of $NEW_ID)" -eq 1 ] || fail "$(entries_of $NEW_ID) new-denial entries, expected 1"
[ "$(stats_field new_denials)" -eq 1 ] || fail "new_denials is $(stats_field new_denials), not 1"
python3 - "$T/j.log" "$NEW_ID" "$cid" "${mark}a" "$domain" <<'PY' || fail "the new-denial entry is wrong"
import json, sys
new_id, cid, comm = sys.argv[2], sys.argv[3], sys.argv[4]
e = [json.loads(l)["fields"] for l in open(sys.argv[1])]
new = [f for f in e if f["MESSAGE_ID"] == new_id]
assert len(new) == 1, new
f = new[0]
assert f["PRIORITY"] == "4", f
assert f["AVCWATCH_SIGNATURE"] == "denied %s etc_t:file { read }" % sys.argv[5], f
assert f["AVCWATCH_BASELINE_SCOPE"] == "container" and f["AVCWATCH_BASELINE"] == cid, f
assert f["CONTAINER_ID_FULL"] == cid and f["AVC_COMM"] == comm, f
assert f["MESSAGE"].startswith("new denial for container " + cid + ": container "), f["MESSAGE"]
PY
[ "$(new_listed)" = "denied $domain etc_t:file { read }" ] ||
        fail "top --new lists: $(new_listed)"
avcctl top --new | grep -q "container $cid  denied $domain etc_t:file { read }" ||
        fail "top --new's table: $(avcctl top --new)"

send "${mark}b" read 3
[ "$(entries_of $NEW_ID)" -eq 1 ] || fail "the same signature again gave a new-denial entry"
[ "$(stats_field new_denials)" -eq 1 ] || fail "new_denials moved for a known signature"

# ---- B --------------------------------------------------------------------------------------
if command -v setpriv > /dev/null; then
        chmod 0755 "$T"
        rc=0
        setpriv --reuid=65534 --regid=65534 --clear-groups "$AVCCTL" --socket "$AVC_SOCKET" \
                baseline accept > "$T/nobody.out" 2>&1 || rc=$?
        [ "$rc" -ne 0 ] || fail "a user who is not root accepted: $(cat "$T/nobody.out")"
        [ -n "$(new_listed)" ] || fail "a refused accept accepted anyway"
fi
out=$(avcctl baseline accept) || fail "baseline accept failed: $out"
[ "$out" = "1 new signature accepted as known." ] || fail "baseline accept said: $out"
[ -z "$(new_listed)" ] || fail "top --new still lists after accept: $(new_listed)"
avcctl -o json baseline list | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 1 and rows[0]["accepted"] and rows[0]["count"] == 4, rows' ||
        fail "baseline list after accept: $(avcctl -o json baseline list)"

send "${mark}c" read
[ "$(entries_of $NEW_ID)" -eq 1 ] || fail "an accepted signature gave a new-denial entry"
send "${mark}d" append
[ "$(entries_of $NEW_ID)" -eq 2 ] || fail "$(entries_of $NEW_ID) new-denial entries, expected 2"
[ "$(stats_field new_denials)" -eq 2 ] || fail "new_denials is $(stats_field new_denials), not 2"
[ "$(new_listed)" = "denied $domain etc_t:file { append }" ] ||
        fail "top --new lists: $(new_listed)"

# ---- C --------------------------------------------------------------------------------------
stop_daemon
AVCWATCH_JOURNAL_SOCKET=$T/j.sock CONFIG=$T/forward.conf start_daemon --input netlink
[ "$(new_listed)" = "denied $domain etc_t:file { append }" ] ||
        fail "after a restart top --new lists: $(new_listed)"
send "${mark}e" read
send "${mark}f" append
[ "$(entries_of $NEW_ID)" -eq 2 ] || fail "a restart made a known signature new again"
[ "$(stats_field new_denials)" -eq 0 ] || fail "new_denials after the restart is not 0"

# ---- D --------------------------------------------------------------------------------------
now=$(date +%s)
printf 'type=AVC msg=audit(%s.100:77001): avc:  denied  { search } for  pid=1 comm="%s" name="x" dev="overlay" ino=1 scontext=system_u:system_r:%s:s0:c1,c2 tcontext=system_u:object_r:var_t:s0 tclass=dir permissive=0\n' \
        "$now" "${mark}i" "$domain" > "$T/old.log"
avcctl import "$T/old.log" > /dev/null || fail "import failed"
stored "${mark}i" 1 || fail "the imported denial is not stored"
[ "$(stats_field new_denials)" -eq 0 ] || fail "an import counted as news"
[ "$(entries_of $NEW_ID)" -eq 2 ] || fail "an import gave a new-denial entry"
! avcctl -o json baseline list | grep -q "var_t:dir" || fail "an import grew the baseline"
[ "$(stats_field baseline_untracked)" -eq 0 ] || fail "baseline_untracked is not 0"
stop_daemon
echo PASS
