#!/usr/bin/env bash
# The real kernel path end to end: avcwatch-inject sends AUDIT_USER_AVC denials through the
# kernel, which stamps them and multicasts them to the daemon's netlink socket (also with audit
# disabled). Container denials are stored with the contract's fields, found by query, streamed
# live by `tail -f`, and still there after a restart; non-container denials are not stored.
# Needs root (CAP_AUDIT_READ for the daemon, CAP_AUDIT_WRITE for the injector). Other processes
# may inject at the same time: everything is selected by a unique mark.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
require_audit_netlink
make_tmpdir

COUNT=200
# Unique per run, short like a real comm (the kernel's are at most 15 characters), and none a
# substring of another whatever the --comm filter's matching rule.
base=$$$(printf '%04x' $((RANDOM % 65536)))
mark=kp$base
tailmark=tl$base
hostmark=ht$base
endmark=nd$base

start_daemon --input netlink
stats=$(avcctl -o json stats)
[ "$(json_field "$stats" input)" = netlink ] || fail "input is not netlink: $stats"

stored_count() {
        count_lines avcctl -o json query --comm "$1" --limit 1000
}
has_count() {
        [ "$(stored_count "$1")" -eq "$2" ]
}

# 200 container denials through the kernel.
out=$(inject --count "$COUNT" --mark "$mark") || fail "inject failed: $out"
echo "inject: $out"
wait_for 15 has_count "$mark" "$COUNT" ||
        fail "query --comm $mark returned $(stored_count "$mark") denials, expected $COUNT"

avcctl -o json query --comm "$mark" --limit 1000 > "$T/q.json"
python3 - "$T/q.json" "$mark" "$COUNT" <<'PY' || fail "stored denials do not match what was injected"
import json, re, sys
path, mark, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
keys = ["time", "serial", "record_type", "result", "permissions", "pid", "comm", "exe", "path",
        "name", "scontext", "tcontext", "tclass", "permissive", "source_type", "target_type",
        "mcs", "container", "attribution", "target_container", "candidates", "count",
        "reason", "booleans", "verdict", "hint", "raw"]
names, serials, pids = set(), set(), set()
for line in open(path):
    o = json.loads(line)
    assert list(o.keys()) == keys, list(o.keys())
    assert o["record_type"] == "USER_AVC", o["record_type"]
    assert o["result"] == "denied", o
    assert o["permissions"] == ["write"], o["permissions"]
    assert o["comm"] == mark, o["comm"]
    assert o["scontext"] == "system_u:system_r:container_t:s0:c1,c2", o["scontext"]
    assert o["tcontext"] == "system_u:object_r:etc_t:s0", o["tcontext"]
    assert o["tclass"] == "file", o["tclass"]
    assert o["source_type"] == "container_t" and o["target_type"] == "etc_t", o
    assert o["mcs"] == "c1,c2", o["mcs"]
    assert o["permissive"] is False, o["permissive"]
    assert o["path"] is None, o["path"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]), o["time"]
    assert isinstance(o["serial"], int) and o["serial"] > 0, o["serial"]
    # the denied subject's pid (inside msg='...'): the injector's own pid
    assert isinstance(o["pid"], int) and o["pid"] > 0, o["pid"]
    assert o["attribution"] in ("pid", "mcs", "ambiguous", "none"), o["attribution"]
    # raw: exactly what the kernel sent, in the audit.log form
    assert o["raw"].startswith("type=USER_AVC msg=audit("), o["raw"]
    assert " msg='avc:  denied  { write } for  pid=" in o["raw"], o["raw"]
    assert o["raw"].endswith("tclass=file permissive=0'"), o["raw"]
    assert ('name="%s"' % o["name"]) in o["raw"], o["raw"]
    names.add(o["name"])
    serials.add(o["serial"])
    pids.add(o["pid"])
assert names == {"%s.%d" % (mark, i) for i in range(1, count + 1)}, sorted(names)[:5]
assert len(serials) == count, "serials are not unique"
assert len(pids) == 1, pids
PY

# Live tail: a subscriber sees denials injected after it subscribed.
subscribers() {
        json_field "$(avcctl -o json stats)" tail_subscribers
}
before=$(subscribers)
start_bg "$AVCCTL" --socket "$AVC_SOCKET" -o json tail -f --comm "$tailmark" > "$T/tail.json"
tailpid=$BG_PID
tail_subscribed() {
        [ "$(subscribers)" -gt "$before" ]
}
wait_for 10 tail_subscribed || fail "tail -f did not subscribe"
out=$(inject --count 20 --mark "$tailmark") || fail "inject failed: $out"
tail_has() {
        [ "$(wc -l < "$T/tail.json")" -ge "$1" ]
}
wait_for 15 tail_has 20 || fail "tail -f printed $(wc -l < "$T/tail.json") of 20 denials"
kill "$tailpid" 2> /dev/null || true
python3 - "$T/tail.json" "$tailmark" <<'PY' || fail "tail -f output is wrong"
import json, sys
names = set()
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert o["comm"] == sys.argv[2], o
    assert o["scontext"] == "system_u:system_r:container_t:s0:c1,c2", o
    names.add(o["name"])
assert names == {"%s.%d" % (sys.argv[2], i) for i in range(1, 21)}, sorted(names)
PY

# Not a container: a host daemon's denial, target without categories. Then one container denial
# as a sentinel: once it is stored, the ten before it have been through the pipeline.
filtered_before=$(json_field "$(avcctl -o json stats)" denials_filtered)
out=$(inject --count 10 --mark "$hostmark" --scontext system_u:system_r:httpd_t:s0 \
        --tcontext system_u:object_r:httpd_sys_content_t:s0) || fail "inject failed: $out"
out=$(inject --count 1 --mark "$endmark") || fail "inject failed: $out"
wait_for 15 has_count "$endmark" 1 || fail "sentinel denial was not stored"
[ "$(stored_count "$hostmark")" -eq 0 ] || fail "non-container denials were stored"
stats=$(avcctl -o json stats)
echo "stats: $stats"
filtered=$(json_field "$stats" denials_filtered)
[ "$filtered" -ge $((filtered_before + 10)) ] ||
        fail "denials_filtered went from $filtered_before to $filtered, expected +10"
stored=$(json_field "$stats" denials_stored)
[ "$stored" -ge $((COUNT + 20 + 1)) ] || fail "denials_stored is $stored, expected >= $((COUNT + 21))"
received=$(json_field "$stats" records_received)
[ "$received" -ge $((COUNT + 20 + 10 + 1)) ] || fail "records_received is $received"
echo "losses: events_lost=$(json_field "$stats" events_lost)" \
        "netlink_enobufs=$(json_field "$stats" netlink_enobufs)" \
        "netlink_dropped=$(json_field "$stats" netlink_dropped)" \
        "serials_missed=$(json_field "$stats" serials_missed)"
# Nothing was dropped here, so no serial may be missing: the kernel multicasts every record it
# numbers (the premise of counting serial gaps as losses).
if [ "$(json_field "$stats" netlink_dropped)" -eq 0 ]; then
        [ "$(json_field "$stats" serials_missed)" -eq 0 ] ||
                fail "serials missed without any drop: $(json_field "$stats" losses)"
fi

# Restart: everything is still there.
stop_daemon
start_daemon --input netlink
[ "$(stored_count "$mark")" -eq "$COUNT" ] || fail "after restart: $(stored_count "$mark") denials"
[ "$(stored_count "$tailmark")" -eq 20 ] || fail "after restart: tail denials missing"
[ "$(stored_count "$hostmark")" -eq 0 ] || fail "after restart: non-container denials present"
stop_daemon
echo "kernel path: $COUNT + 20 + 1 container denials stored and streamed, 10 host denials filtered"
