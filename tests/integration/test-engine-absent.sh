#!/usr/bin/env bash
# No engine API anywhere (the configured sockets do not exist): the daemon runs, says so once
# per engine in its log however often it retries, shows the state in stats, and still names
# containers by the pid's cgroup. The /proc scan finds the container too (a CRI-O-style
# crio-<id>.scope in a kubepods slice: an engine without an API) and lists it under
# `avcctl containers`.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
require_audit_netlink
make_tmpdir

fake_container "kubepods-avcw$$.slice" crio-
id=$FAKE_CONTAINER_ID
SLEEPER=$FAKE_CONTAINER_PID

printf '[Engines]\nDocker=%s/no-docker.sock\nPodman=%s/no-podman.sock\nProcScan=yes\n' "$T" "$T" \
        > "$T/conf"
CONFIG=$T/conf start_daemon --input netlink

engines_failed() { # each engine retried at least twice
        avcctl -o json stats | python3 -c '
import json, sys
e = json.load(sys.stdin)["engines"]
assert [x["name"] for x in e] == ["docker", "podman"], e
assert all(x["state"] == "unavailable" and x["failures"] >= 2 and x["last_error"] for x in e), e'
}
wait_for 15 engines_failed || fail "engine state in stats: $(avcctl -o json stats)"
for e in docker podman; do
        [ "$(grep -c "$e is not available" "$T/daemon.log")" -eq 1 ] ||
                fail "the absence of $e is not said exactly once"
done
avcctl stats | grep -q "engine docker: unavailable" || fail "avcctl stats does not show docker's state"

inject --count 2 --mark "abs$$" --pid "$SLEEPER" > /dev/null
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
wait_for 15 has "abs$$" 2 || fail "denials not stored"
avcctl -o json query --comm "abs$$" | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    assert o["attribution"] == "pid", o
    assert o["container"]["id"] == sys.argv[1] and o["container"]["engine"] == "cri-o", o
' "$id" || fail "not attributed by pid: $(avcctl -o json query --comm "abs$$")"

# The /proc scan registered it (an engine without an API), with its denials counted.
listed() {
        avcctl -o json containers | python3 -c '
import json, sys
c = [json.loads(l) for l in sys.stdin if json.loads(l)["id"] == sys.argv[1]]
assert len(c) == 1 and c[0]["engine"] == "cri-o" and c[0]["running"] and c[0]["denials"] == 2, c
' "$id"
}
wait_for 15 listed || fail "the /proc scan did not list the container: $(avcctl -o json containers)"
avcctl containers | grep -q "^${id:0:12} .* cri-o " || fail "short containers output: $(avcctl containers)"
[ "$(json_field "$(avcctl -o json stats)" proc_scans)" -ge 1 ] || fail "no /proc scan counted"
stop_daemon
echo "engines absent: said once, attributed by pid, /proc scan found crio-$id"
