#!/usr/bin/env bash
# Attribution by the live pid's cgroup, through the real kernel path: a process is moved into a
# real cgroup laid out like a container engine's (docker's systemd driver: docker-<id>.scope),
# a denial is injected with its pid, and it comes back with that container id, engine docker and
# attribution "pid". A denial whose pid is gone comes back unattributed. `avcctl selftest` passes.
# A container named only by a pid is listed by `avcctl containers` at once.
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
# Its denial is vouched for (a USER_AVC from a running host process): left out of query and top
# unless asked for, and marked as a self-test's.
st=(--target-type avcwatch_selftest_t)
[ "$(count_lines avcctl -o json query "${st[@]}")" -eq 0 ] ||
        fail "query shows the self-test denial: $(avcctl -o json query "${st[@]}")"
[ "$(count_lines avcctl -o json top "${st[@]}")" -eq 0 ] || fail "top counts the self-test denial"
avcctl -o json query "${st[@]}" --include-selftest | grep -q '"result":"selftest"' ||
        fail "--include-selftest: $(avcctl -o json query "${st[@]}" --include-selftest)"
avcctl -o json top "${st[@]}" --include-selftest | grep -q '"result":"selftest"' ||
        fail "top --include-selftest does not count it"
avcctl query --include-selftest "${st[@]}" | grep -q " selftest { read } " ||
        fail "short output does not mark the self-test denial"
[ "$(stats_field denials_selftest)" -ge 1 ] || fail "stats: denials_selftest"
# The same mark sent from inside a container (its cgroup), by a sender still running: not
# vouched for, an ordinary denial that everyone sees.
group=${AVC_CGROUPS[0]}
bash -c 'echo $$ > "$1/cgroup.procs" && exec "$2" --rate 2 --duration 2 --comm avcctl-selftest \
        --name "forged$3" --tcontext system_u:object_r:avcwatch_selftest_t:s0 --perm read' \
        _ "$group" "$AVCWATCH_INJECT" "$$" > /dev/null || fail "the forged self-test was not sent"
wait_until 15 '[ "$(count_lines avcctl -o json query --path "forged$$")" -ge 1 ]' ||
        fail "a forged self-test denial is hidden: $(avcctl -o json query --include-selftest --path "forged$$")"
if avcctl -o json query --include-selftest --path "forged$$" | grep -q '"result":"selftest"'; then
        fail "a self-test denial sent from a container was vouched for"
fi

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

# A container that only a pid named (no engine followed, no /proc scan) is known from then on:
# `avcctl containers` lists it at once, as it does after a restart.
fake_container
id2=$FAKE_CONTAINER_ID
printf '[Engines]\nDocker=\nPodman=\nProcScan=no\n' > "$T/conf-bare"
CONFIG=$T/conf-bare start_daemon --input netlink
inject --count 2 --mark "b$mark" --pid "$FAKE_CONTAINER_PID" > /dev/null || fail "inject failed"
wait_for 15 has "b$mark" 2 || fail "denials of the second container not stored"
avcctl -o json containers > "$T/containers.json"
python3 - "$T/containers.json" "$id2" <<'PY' || fail "containers: $(cat "$T/containers.json")"
import json, sys
c = [c for c in map(json.loads, open(sys.argv[1])) if c["id"] == sys.argv[2]]
assert len(c) == 1, "not listed"
assert c[0]["engine"] == "docker" and c[0]["denials"] == 2, c[0]
PY
stop_daemon
echo "pid attribution: docker-$id.scope named by /proc/$SLEEPER/cgroup"
