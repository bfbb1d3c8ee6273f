#!/usr/bin/env bash
# Attribution by the live pid's cgroup, through the real kernel path: a process is moved into a
# real cgroup laid out like a container engine's (docker's systemd driver: docker-<id>.scope),
# a denial is injected with its pid, and it comes back with that container id, engine docker and
# attribution "pid". A denial whose pid is gone comes back unattributed. `avcctl selftest` passes.
# Real container engines are exercised by the registry tests; this one needs only root.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
require_audit_netlink
make_tmpdir

fake_container
id=$FAKE_CONTAINER_ID
SLEEPER=$FAKE_CONTAINER_PID

start_daemon --input netlink
avcctl selftest > "$T/selftest.out" || fail "selftest failed: $(cat "$T/selftest.out")"
grep -q "OK" "$T/selftest.out" || fail "selftest did not say OK: $(cat "$T/selftest.out")"

mark=ap$$
inject --count 3 --mark "$mark" --pid "$SLEEPER" > /dev/null || fail "inject failed"
(sleep 0 & echo $! > "$T/deadpid"; wait)
inject --count 1 --mark "d$mark" --pid "$(cat "$T/deadpid")" > /dev/null || fail "inject failed"
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
wait_for 15 has "$mark" 3 || fail "pid-attributed denials not stored"
wait_for 15 has "d$mark" 1 || fail "dead-pid denial not stored"

avcctl -o json query --comm "$mark" > "$T/live.json"
avcctl -o json query --comm "d$mark" > "$T/dead.json"
python3 - "$T/live.json" "$T/dead.json" "$id" "$SLEEPER" <<'PY' || fail "attribution is wrong"
import json, sys
live = [json.loads(l) for l in open(sys.argv[1])]
dead = [json.loads(l) for l in open(sys.argv[2])]
cid, pid = sys.argv[3], int(sys.argv[4])
for o in live:
    assert o["pid"] == pid, o["pid"]
    assert o["attribution"] == "pid", o["attribution"]
    c = o["container"]
    assert c and c["id"] == cid and c["engine"] == "docker", c
for o in dead:
    assert o["attribution"] == "none" and o["container"] is None, o
PY

# Filters by container id prefix work on pid-attributed denials.
[ "$(count_lines avcctl -o json query --container "${id:0:12}")" -ge 3 ] ||
        fail "--container ${id:0:12} does not find the denials"
avcctl query --comm "$mark" | grep -q "${id:0:12}" || fail "short output does not name the container"
stop_daemon
echo "pid attribution: docker-$id.scope named by /proc/$SLEEPER/cgroup"
