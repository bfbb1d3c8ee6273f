#!/usr/bin/env bash
# The container registry fed by a REAL dockerd (our own, on private sockets: engines.sh), denials
# injected through the real kernel:
# - the pid of a process in a running container -> its id, name, image, engine docker, "pid";
# - a dead pid with the categories of a container started with --security-opt
#   label=level:s0:cX,cY -> that container by "mcs" (SELinux is off here: docker keeps the option
#   in HostConfig.SecurityOpt and leaves ProcessLabel empty, which is what we read);
# - two containers sharing one label -> "ambiguous" with both candidates;
# - containers created (docker create) with those labels but never started -> no candidates;
# - a container touching another's categories -> target_container;
# - a container named with another's full id -> --container <that id> is still the other one;
# - a container started with --cgroup-parent (cgroupfs driver: /<parent>/<id>) -> named by pid;
# - a container whose events are over the line bound (80 KB of labels) -> still learnt, removal too;
# - a list over the inspect bound (one container with 18 MB of labels) -> the others still learnt;
# - a container learnt late (started while the daemon did not follow docker) -> its stored
#   denials are re-resolved when the daemon catches up;
# - after docker rm the old denials still carry the name, --container/--image/--pod find them,
#   also after a daemon restart; a new denial with those categories after the removal is no
#   longer pinned on it;
# - dockerd restarting: the daemon says so once, reconnects, and follows new containers.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
source "$(dirname "$AVCWATCH_TESTLIB")/engines.sh"

require_docker
require_audit_netlink
make_tmpdir
start_dockerd

n=avcw$$ # container names
ctx() { echo "system_u:system_r:container_t:s0:$1"; }
run() { $DOCKER run -d --network none "$@" > /dev/null; }
printf '[Engines]\nDocker=%s\nPodman=\nProcScan=no\n' "$DOCKER_SOCK" > "$T/conf"
printf '[Engines]\nDocker=\nPodman=\nProcScan=no\n' > "$T/conf-off"

# A container learnt late: started while the daemon does not follow docker.
run --name "$n-late" --security-opt label=level:s0:c77,c88 "$DOCKER_IMAGE" sleep 300
CONFIG=$T/conf-off start_daemon --input netlink
inject --count 1 --mark "late$$" --pid "$(dead_pid)" --scontext "$(ctx c77,c88)" > /dev/null
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
wait_for 15 has "late$$" 1 || fail "the late denial was not stored"
[ "$(json_field "$(avcctl -o json query --comm "late$$")" attribution)" = none ] ||
        fail "a denial of an unknown container is attributed"
stop_daemon

CONFIG=$T/conf start_daemon --input netlink
wait_for 20 registry_has "$n-late" || fail "the registry did not learn $n-late from docker"
late=$(avcctl -o json query --comm "late$$")
[ "$(json_field "$late" attribution)" = mcs ] || fail "the late denial was not re-resolved: $late"
python3 -c 'import json,sys; c=json.loads(sys.argv[1])["container"]; assert c["name"]==sys.argv[2], c' \
        "$late" "$n-late" || fail "the late denial names the wrong container: $late"

# Running containers: web (its own label), two twins sharing one, data (a target).
run --name "$n-web" --label io.kubernetes.pod.name="$n-pod" --label io.kubernetes.pod.namespace=shop \
        --security-opt label=level:s0:c101,c202 "$DOCKER_IMAGE" sleep 300
run --name "$n-twin1" --security-opt label=level:s0:c303,c404 "$DOCKER_IMAGE" sleep 300
run --name "$n-twin2" --security-opt label=level:s0:c303,c404 "$DOCKER_IMAGE" sleep 300
run --name "$n-data" --security-opt label=level:s0:c505,c606 "$DOCKER_IMAGE" sleep 300
# Created, never started, with the levels of web and of the twins: no process ever carried
# them, so they are no one's candidates (web's denials stay "mcs", the twins' have two).
$DOCKER create --name "$n-created1" --security-opt label=level:s0:c101,c202 "$DOCKER_IMAGE" \
        sleep 300 > /dev/null
$DOCKER create --name "$n-created2" --security-opt label=level:s0:c303,c404 "$DOCKER_IMAGE" \
        sleep 300 > /dev/null
for c in web twin1 twin2 data created1 created2; do
        wait_for 20 registry_has "$n-$c" || fail "the registry did not learn $n-$c"
done
web_id=$($DOCKER inspect -f '{{.Id}}' "$n-web")
web_pid=$(container_pid docker "$n-web")
[ "$web_pid" -gt 0 ] || fail "no pid for $n-web"
[ "$(registry_field "$n-web" label)" = "level:s0:c101,c202" ] || fail "label of $n-web not recorded"
[ "$(registry_field "$n-web" mcs)" = "c101,c202" ] || fail "categories of $n-web not recorded"

inject --count 2 --mark "pid$$" --pid "$web_pid" --scontext "$(ctx c101,c202)" > /dev/null
inject --count 1 --mark "mcs$$" --pid "$(dead_pid)" --scontext "$(ctx c101,c202)" > /dev/null
inject --count 1 --mark "amb$$" --pid "$(dead_pid)" --scontext "$(ctx c303,c404)" > /dev/null
inject --count 1 --mark "tgt$$" --pid "$web_pid" --scontext "$(ctx c101,c202)" \
        --tcontext "system_u:object_r:container_file_t:s0:c505,c606" > /dev/null
for m in "pid$$:2" "mcs$$:1" "amb$$:1" "tgt$$:1"; do
        wait_for 15 has "${m%:*}" "${m#*:}" || fail "denials ${m%:*} not stored"
done

check() { # MARK PYTHON-ASSERTIONS (o: each denial object)
        avcctl -o json query --comm "$1" > "$T/$1.json"
        python3 - "$T/$1.json" "$2" "$n" "$web_id" "$web_pid" "$DOCKER_IMAGE" <<'PY' ||
import json, sys
path, code, n, web_id, web_pid, image = sys.argv[1:]
web_pid = int(web_pid)
for line in open(path):
    o = json.loads(line)
    exec(code)
PY
                fail "$1: $(cat "$T/$1.json")"
}
check "pid$$" '
assert o["attribution"] == "pid", o["attribution"]
assert o["pid"] == web_pid
c = o["container"]
assert c["id"] == web_id and c["name"] == n + "-web" and c["image"] == image, c
assert c["engine"] == "docker" and c["pod"] == n + "-pod", c
assert o["candidates"] is None'
check "mcs$$" '
assert o["attribution"] == "mcs", o["attribution"]
assert o["container"]["id"] == web_id and o["container"]["name"] == n + "-web", o["container"]'
check "amb$$" '
assert o["attribution"] == "ambiguous", o["attribution"]
assert o["container"] is None
assert sorted(c["name"] for c in o["candidates"]) == [n + "-twin1", n + "-twin2"], o["candidates"]'
check "tgt$$" '
assert o["attribution"] == "pid" and o["container"]["name"] == n + "-web"
assert o["target_container"]["name"] == n + "-data", o["target_container"]'
avcctl query --comm "amb$$" | grep -q "ambiguous: $n-twin" || fail "short output hides the candidates"

# A container named with web's full id (docker accepts a 64-hex name) takes nothing from web:
# --container <full id> is always the id, in query and top, also with a denial of the impostor.
imp_id=$($DOCKER run -d --network none --name "$web_id" "$DOCKER_IMAGE" sleep 300)
wait_for 20 registry_has "$web_id" || fail "the registry did not learn the container named $web_id"
# (docker's own lookup takes a full id as the id too: the impostor is reached by its own)
inject --count 1 --mark "imp$$" --pid "$(container_pid docker "$imp_id")" \
        --scontext "$(ctx c818,c828)" > /dev/null
wait_for 15 has "imp$$" 1 || fail "the impostor's denial was not stored"
check "imp$$" 'assert o["container"]["name"] == web_id and o["container"]["id"] != web_id, o'
avcctl -o json query --container "$web_id" > "$T/fullid.json"
python3 - "$T/fullid.json" "$web_id" << 'PY' || fail "--container FULL-ID: $(cat "$T/fullid.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 4 and all(r["container"]["id"] == sys.argv[2] for r in rows), rows
PY
top_total=$(avcctl -o json top --container "$web_id" --limit 1000 |
        python3 -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin))')
[ "$top_total" -eq 4 ] || fail "top --container FULL-ID counts $top_total, not web's 4"
$DOCKER rm -f "$imp_id" > /dev/null

# A container with more labels than an event line may carry (ENGINE_EVENT_LINE_MAX, 64 KiB:
# docker copies every label into each event's attributes): its events are too long to keep,
# but what they name is still inspected, so it cannot hide from the registry that way; its
# removal is recorded too.
python3 -c 'import sys
for i in range(80): print("avcw.pad%d=%s" % (i, "x" * 1000))' > "$T/labels"
run --name "$n-biglabels" --label-file "$T/labels" --security-opt label=level:s0:c919,c929 \
        "$DOCKER_IMAGE" sleep 300
wait_for 20 registry_has "$n-biglabels" || fail "a container with 80 KB of labels stayed unknown"
[ "$(registry_field "$n-biglabels" mcs)" = c919,c929 ] || fail "categories of $n-biglabels"
$DOCKER rm -f "$n-biglabels" > /dev/null
wait_until 10 '[ "$(registry_field "$n-biglabels" removed)" != null ]' ||
        fail "the removal of $n-biglabels was not recorded"

# docker run --cgroup-parent with the cgroupfs driver: the container's cgroup is /<parent>/<id>,
# no docker prefix or parent; the pid still names it, since docker told the registry that id.
# (The systemd driver takes only a slice there and keeps docker-<id>.scope.)
if [ "$($DOCKER info -f '{{.CgroupDriver}}')" = cgroupfs ]; then
        cgp=avcw-cgp-$$
        remove_cgp() {
                local d
                for d in /sys/fs/cgroup/*/"$cgp" /sys/fs/cgroup/"$cgp"; do
                        [ -d "$d" ] && rmdir "$d" 2> /dev/null || true
                done
        }
        _ENGINE_CLEANUPS+=(remove_cgp) # after _stop_dockerd removed the container
        run --name "$n-cgp" --cgroup-parent "/$cgp" "$DOCKER_IMAGE" sleep 300
        wait_for 20 registry_has "$n-cgp" || fail "the registry did not learn $n-cgp"
        cgp_pid=$(container_pid docker "$n-cgp")
        grep -q "/$cgp/" "/proc/$cgp_pid/cgroup" || fail "$n-cgp is not below /$cgp: $(cat "/proc/$cgp_pid/cgroup")"
        # categories no container has: only the pid can name it
        inject --count 1 --mark "cgp$$" --pid "$cgp_pid" --scontext "$(ctx c707,c808)" > /dev/null
        wait_for 15 has "cgp$$" 1 || fail "the --cgroup-parent denial was not stored"
        check "cgp$$" '
assert o["attribution"] == "pid", o["attribution"]
assert o["container"]["name"] == n + "-cgp" and o["container"]["engine"] == "docker", o["container"]'
        $DOCKER rm -f "$n-cgp" > /dev/null
fi

# docker rename: the container's denials show its new name, and its old name still finds them
# (an alert or a journal entry from before the rename names it so).
run --name "$n-old" --security-opt label=level:s0:c111,c222 "$DOCKER_IMAGE" sleep 300
wait_for 10 registry_has "$n-old" || fail "$n-old not learnt"
inject --count 1 --mark "ren$$" --pid "$(container_pid docker "$n-old")" \
        --scontext "$(ctx c111,c222)" > /dev/null
wait_for 15 has "ren$$" 1 || fail "denial of $n-old not stored"
$DOCKER rename "$n-old" "$n-new"
wait_for 10 registry_has "$n-new" || fail "the rename to $n-new was not learnt"
for name in "$n-old" "$n-new"; do
        avcctl -o json query --container "$name" > "$T/ren.json"
        python3 - "$T/ren.json" "$n-new" << 'PY' || fail "--container $name after the rename: $(cat "$T/ren.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1, rows
assert rows[0]["container"]["name"] == sys.argv[2], rows[0]["container"]
PY
done
$DOCKER rm -f "$n-new" > /dev/null

# docker rm: the history stays.
$DOCKER rm -f "$n-web" > /dev/null
wait_for 10 bash -c "[ \"\$(\"$AVCCTL\" --socket \"$AVC_SOCKET\" -o json containers | grep '\"$n-web\"' | grep -c '\"removed\":\"')\" = 1 ]" ||
        fail "the removal of $n-web was not recorded"
sleep 1 # past REGISTRY_END_SLACK_MS (100 ms) after the removal
inject --count 1 --mark "after$$" --pid "$(dead_pid)" --scontext "$(ctx c101,c202)" > /dev/null
wait_for 15 has "after$$" 1 || fail "denial after rm not stored"
check "after$$" 'assert o["attribution"] == "none" and o["container"] is None, o'

named() { # FILTER... : the pid + mcs + target denials of web, by that filter
        [ "$(count_lines avcctl -o json query "$@")" -eq 4 ] || return 1
}
named --container "$n-web" || fail "--container $n-web after rm: $(avcctl query --container "$n-web")"
named --container "${web_id:0:12}" || fail "--container ID-PREFIX after rm"
named --pod "$n-pod" || fail "--pod after rm"
check "mcs$$" 'assert o["container"]["name"] == n + "-web"'

# A daemon restart (without docker): the removed container is still named and listed.
stop_daemon
CONFIG=$T/conf-off start_daemon --input netlink
named --container "$n-web" || fail "--container $n-web after a daemon restart"
check "pid$$" 'assert o["container"]["name"] == n + "-web" and o["attribution"] == "pid"'
[ "$(registry_field "$n-web" denials)" -eq 4 ] || fail "denial count of $n-web after restart"
[ "$(registry_field "$n-web" running)" = false ] || fail "$n-web still running after restart"
avcctl containers | grep -q "$n-web" || fail "avcctl containers does not list $n-web"
# TAB after --container, --pod, --namespace, --image offers what the daemon knows
complete_words avcctl --socket "$AVC_SOCKET" query --container "" | grep -qx "$n-web" ||
        fail "completion of --container: $(complete_words avcctl --socket "$AVC_SOCKET" query --container "")"
complete_words avcctl --socket "$AVC_SOCKET" top --pod "$n-p" | grep -qx "$n-pod" ||
        fail "completion of --pod"
complete_words avcctl --socket "$AVC_SOCKET" tail --namespace "" | grep -qx shop ||
        fail "completion of --namespace"
complete_words avcctl --socket "$AVC_SOCKET" query --image "" | grep -qxF "$DOCKER_IMAGE" ||
        fail "completion of --image"
[ "$(count_lines avcctl -o json query --image "$DOCKER_IMAGE")" -ge 5 ] || fail "--image after restart"
stop_daemon

# One container with 18 MB of labels (its owner chose them) makes docker's container list larger
# than any inspect may be (ENGINE_RESPONSE_MAX, 16 MiB): the list is read for its ids as it
# arrives, so the containers around it are still learnt at start-up.
python3 -c 'import sys
for i in range(300): print("avcw.big%d=%s" % (i, "x" * 60000))' > "$T/hugelabels"
$DOCKER create --network none --name "$n-hugelist" --label-file "$T/hugelabels" "$DOCKER_IMAGE" \
        sleep 300 > /dev/null || fail "docker create with 18 MB of labels failed"
rm -f "$T/hugelabels"
run --name "$n-listed" --security-opt label=level:s0:c939,c949 "$DOCKER_IMAGE" sleep 300
CONFIG=$T/conf start_daemon --input netlink
wait_for 20 registry_has "$n-listed" ||
        fail "a container next to one with 18 MB of labels was not learnt: $(avcctl -o json stats)"
[ "$(registry_field "$n-listed" mcs)" = c939,c949 ] || fail "categories of $n-listed"
stop_daemon
$DOCKER rm -f "$n-hugelist" > /dev/null

# dockerd goes away and comes back: said once, reconnected, new containers followed.
CONFIG=$T/conf start_daemon --input netlink
wait_for 20 bash -c "\"$AVCCTL\" --socket \"$AVC_SOCKET\" stats | grep -q 'engine docker: connected'" ||
        fail "not connected to docker"
restart_dockerd
run --name "$n-after" --security-opt label=level:s0:c9,c10 "$DOCKER_IMAGE" sleep 300
wait_for 40 registry_has "$n-after" || fail "a container started after dockerd's restart is unknown"
[ "$(grep -c "Lost docker" "$T/daemon.log")" -eq 1 ] || fail "the loss of docker was not logged once"
stats=$(avcctl -o json stats)
python3 -c '
import json, sys
e = [e for e in json.loads(sys.argv[1])["engines"] if e["name"] == "docker"][0]
assert e["state"] == "connected" and e["connects"] >= 2, e' "$stats" || fail "engine stats: $stats"
stop_daemon
echo "docker: pid, mcs, ambiguous, target, late, removed and restart cases named"
