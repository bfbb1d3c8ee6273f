#!/usr/bin/env bash
# A container cannot frame another (issue 17): Docker's default capabilities include
# CAP_AUDIT_WRITE, so any root process in a container can send an AUDIT_USER_AVC naming any pid.
# A static sender (user-avc-sender.c) run in a real Docker container forges one that names the
# pid of a victim container, with the victim's categories: the denial is stored as the sender's
# container's claim (attribution "sender"), never the victim's, and `stats` counts it. A USER_AVC
# the host sends about the victim's pid (an object manager such as dbus-broker, here
# avcwatch-inject) is still the victim's, by pid.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
source "$(dirname "$AVCWATCH_TESTLIB")/engines.sh"

require_docker
require_audit_netlink
require_commands cc
make_tmpdir
cc -static -O2 -o "$T/user-avc-sender" "$(dirname "$AVCWATCH_TESTLIB")/user-avc-sender.c" ||
        skip "no static C library to build the sender with"
start_dockerd

# The test image plus the sender.
mkdir -p "$T/sender-root"
tar -C "$T/sender-root" -xf "$(test_image_tar)"
cp "$T/user-avc-sender" "$T/sender-root/bin/user-avc-sender"
tar -C "$T/sender-root" -cf "$T/sender.tar" .
$DOCKER import "$T/sender.tar" avcwatch-test/sender:latest > /dev/null || fail "docker import failed"

n=avcw$$
printf '[Engines]\nDocker=%s\nPodman=\nProcScan=no\n' "$DOCKER_SOCK" > "$T/conf"
CONFIG=$T/conf start_daemon --input netlink

$DOCKER run -d --network none --name "$n-victim" --security-opt label=level:s0:c61,c62 \
        "$DOCKER_IMAGE" sleep 300 > /dev/null
wait_for 20 registry_has "$n-victim" || fail "the registry did not learn $n-victim"
victim_id=$($DOCKER inspect -f '{{.Id}}' "$n-victim")
victim_pid=$(container_pid docker "$n-victim")
[ "$victim_pid" -gt 0 ] || fail "no pid for $n-victim"

# The forgery: default capabilities, nothing added.
mark=frm$$
text="avc:  denied  { write } for  pid=$victim_pid comm=\"$mark\" name=\"secret\" scontext=system_u:system_r:container_t:s0:c61,c62 tcontext=system_u:object_r:container_file_t:s0:c61,c62 tclass=file permissive=0"
$DOCKER run -d --network none --name "$n-sender" avcwatch-test/sender:latest \
        /bin/user-avc-sender "$text" 30 > /dev/null
sender_id=$($DOCKER inspect -f '{{.Id}}' "$n-sender")
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
if ! wait_for 15 has "$mark" 1; then
        $DOCKER logs "$n-sender" >&2 || true
        fail "the forged USER_AVC was not stored (did the kernel take it?)"
fi

# The same claim from the host: believed, as a host object manager's.
inject --count 1 --mark "h$mark" --pid "$victim_pid" \
        --scontext system_u:system_r:container_t:s0:c61,c62 > /dev/null || fail "inject failed"
wait_for 15 has "h$mark" 1 || fail "the host's USER_AVC was not stored"

avcctl -o json query --comm "$mark" > "$T/forged.json"
avcctl -o json query --comm "h$mark" > "$T/host.json"
python3 - "$T/forged.json" "$T/host.json" "$victim_id" "$sender_id" "$victim_pid" <<'PY' ||
import json, sys
forged = [json.loads(l) for l in open(sys.argv[1])]
host = [json.loads(l) for l in open(sys.argv[2])]
victim, sender, victim_pid = sys.argv[3], sys.argv[4], int(sys.argv[5])
assert len(forged) == 1 and len(host) == 1, (forged, host)
o = forged[0]
assert o["record_type"] == "USER_AVC", o["record_type"]
assert o["pid"] == victim_pid, o["pid"]  # what the message claims, kept as such
assert o["attribution"] == "sender", o["attribution"]
c = o["container"]
assert c and c["id"] == sender and c["engine"] == "docker", c
assert victim not in json.dumps({k: v for k, v in o.items() if k != "raw"}), o
assert o["target_container"] is None, o["target_container"]
h = host[0]
assert h["attribution"] == "pid", h["attribution"]
assert h["container"] and h["container"]["id"] == victim, h["container"]
PY
        fail "attribution: $(cat "$T/forged.json" "$T/host.json")"

[ "$(count_lines avcctl -o json query --container "${victim_id:0:12}" --comm "$mark")" -eq 0 ] ||
        fail "--container of the victim finds the forged denial"
[ "$(count_lines avcctl -o json query --container "${sender_id:0:12}" --comm "$mark")" -eq 1 ] ||
        fail "--container of the sender does not find its claim"
[ "$(stats_field user_avc_from_containers)" -ge 1 ] || fail "stats: user_avc_from_containers"
avcctl query --comm "$mark" | grep -q "(sender" || fail "short output does not say sender"
stop_daemon
echo "a USER_AVC sent from $n-sender naming $n-victim's pid $victim_pid is the sender's claim"
