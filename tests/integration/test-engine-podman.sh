#!/usr/bin/env bash
# The registry fed by a REAL podman through its Docker-compatible API (our own
# `podman system service` on a private socket, private storage: engines.sh), denials injected
# through the real kernel: the pid of a process in a podman container -> its id, name, image,
# engine podman, attribution "pid"; a dead pid with the categories of a container started with
# --security-opt label=level:s0:cX,cY -> "mcs", also with a container of that level whose start
# failed; podman rm -> the removal time is recorded and
# the denials keep the name. Podman's socket given as Docker= (podman-docker) -> still podman.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
source "$(dirname "$AVCWATCH_TESTLIB")/engines.sh"

require_podman
require_audit_netlink
make_tmpdir
start_podman_service

n=avcw$$
ctx() { echo "system_u:system_r:container_t:s0:$1"; }
printf '[Engines]\nDocker=\nPodman=%s\nProcScan=no\n' "$PODMAN_SOCK" > "$T/conf"
CONFIG=$T/conf start_daemon --input netlink

# shellcheck disable=SC2046 # ulimit_args is a list of options
$PODMAN run -d --name "$n-web" --network none $(ulimit_args) \
        --security-opt label=level:s0:c111,c222 "$PODMAN_IMAGE" sleep 300 > "$T/web.id" 2>> "$T/podman.log" ||
        skip "podman cannot run a container here: $(tail -3 "$T/podman.log")"
web_id=$(cat "$T/web.id")
web_pid=$(container_pid podman "$n-web")
[ "$web_pid" -gt 0 ] || fail "no pid for $n-web"
grep -q "libpod-$web_id" "/proc/$web_pid/cgroup" || fail "podman's cgroup is not libpod-<id>: $(cat "/proc/$web_pid/cgroup")"
wait_for 20 registry_has "$n-web" || fail "the registry did not learn $n-web from podman"
[ "$(registry_field "$n-web" engine)" = podman ] || fail "engine of $n-web"
[ "$(registry_field "$n-web" mcs)" = c111,c222 ] || fail "categories of $n-web not recorded"
# A container with web's level whose start failed never had a process: no one's candidate, so
# web's denials stay "mcs", not ambiguous.
$PODMAN create --name "$n-failed" --network none --security-opt label=level:s0:c111,c222 \
        "$PODMAN_IMAGE" /nonexistent > /dev/null 2>> "$T/podman.log"
if $PODMAN start "$n-failed" > /dev/null 2>> "$T/podman.log"; then
        fail "$n-failed started"
fi
wait_for 20 registry_has "$n-failed" || fail "the registry did not learn $n-failed from podman"

has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
inject --count 2 --mark "pid$$" --pid "$web_pid" --scontext "$(ctx c111,c222)" > /dev/null
inject --count 1 --mark "mcs$$" --pid "$(dead_pid)" --scontext "$(ctx c111,c222)" > /dev/null
wait_for 15 has "pid$$" 2 || fail "pid denials not stored"
wait_for 15 has "mcs$$" 1 || fail "mcs denial not stored"

check() {
        avcctl -o json query --comm "$1" > "$T/$1.json"
        python3 - "$T/$1.json" "$2" "$n" "$web_id" "$web_pid" "$PODMAN_IMAGE" <<'PY' ||
import json, sys
path, how, n, web_id, web_pid, image = sys.argv[1:]
for line in open(path):
    o = json.loads(line)
    assert o["attribution"] == how, o["attribution"]
    c = o["container"]
    assert c["id"] == web_id and c["name"] == n + "-web", c
    assert c["image"] == image and c["engine"] == "podman", c
    if how == "pid":
        assert o["pid"] == int(web_pid)
PY
                fail "$1: $(cat "$T/$1.json")"
}
check "pid$$" pid
check "mcs$$" mcs

$PODMAN rm -f -t 0 "$n-web" > /dev/null
wait_for 15 bash -c "\"$AVCCTL\" --socket \"$AVC_SOCKET\" -o json containers | grep '\"$n-web\"' | grep -q '\"removed\":\"'" ||
        fail "the removal of $n-web was not recorded"
[ "$(count_lines avcctl -o json query --container "$n-web")" -eq 3 ] || fail "--container after podman rm"
# podman reports the image fully qualified (localhost/avcwatch-test/busybox:latest): the
# repository as a user types it finds it, with or without the tag
for img in "$PODMAN_IMAGE" avcwatch-test/busybox avcwatch-test/busybox:latest; do
        [ "$(count_lines avcctl -o json query --image "$img")" -eq 3 ] || fail "--image $img"
done
# another tag matches no container: an error naming the image (issue 16), not an empty answer
rc=0
err=$(avcctl -o json query --image avcwatch-test/busybox:1 2>&1) || rc=$?
[ "$rc" -eq 1 ] && grep -q "no container of image 'avcwatch-test/busybox:1' is known" <<< "$err" ||
        fail "--image with another tag matched (exit $rc): $err"
check "mcs$$" mcs
stop_daemon

# podman-docker links /run/docker.sock to podman's socket (its tmpfiles.d entry): with the
# default configuration Docker= follows podman too. Its containers are podman's all the same.
printf '[Engines]\nDocker=%s\nPodman=\nProcScan=no\n' "$PODMAN_SOCK" > "$T/conf-docker"
CONFIG=$T/conf-docker start_daemon --input netlink
# shellcheck disable=SC2046 # ulimit_args is a list of options
$PODMAN run -d --name "$n-viadocker" --network none $(ulimit_args) "$PODMAN_IMAGE" sleep 300 > /dev/null
wait_for 20 registry_has "$n-viadocker" || fail "Docker= on podman's socket did not follow it"
[ "$(registry_field "$n-viadocker" engine)" = podman ] ||
        fail "a podman container seen through Docker= is recorded as $(registry_field "$n-viadocker" engine)'s"
grep -q "is Podman" "$T/daemon.log" || fail "podman behind Docker= was not said in the log"
stop_daemon
echo "podman: pid and mcs attribution named $n-web ($web_id); podman behind Docker= is podman"
