#!/usr/bin/env bash
# Denials named at the level of a pod or a namespace (issue 13), with a REAL dockerd (our own, on
# private sockets: engines.sh) whose containers carry the io.kubernetes.pod.* labels a kubelet
# gives them, and denials injected through the real kernel with a dead pid, so that only the
# categories (MCS + time) can name a container:
# - two containers of one pod sharing a level -> "pod", container {pod, namespace, no id};
# - two pods of one namespace sharing a level -> "namespace";
# - pods of two namespaces sharing a level -> "ambiguous";
# avcctl names them so, --container finds the pod's denial through either container, and --pod
# finds it (not the ambiguous one), --namespace both it and the namespace's.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
source "$(dirname "$AVCWATCH_TESTLIB")/engines.sh"

require_docker
require_audit_netlink
make_tmpdir
start_dockerd

n=avcw$$
printf '[Engines]\nDocker=%s\nPodman=\nProcScan=no\n' "$DOCKER_SOCK" > "$T/conf"
CONFIG=$T/conf start_daemon --input netlink
wait_for 20 bash -c "\"$AVCCTL\" --socket \"$AVC_SOCKET\" stats | grep -q 'engine docker: connected'" ||
        fail "not connected to docker"

run() { # NAME LEVEL POD NAMESPACE
        $DOCKER run -d --network none --name "$n-$1" --security-opt "label=level:$2" \
                --label io.kubernetes.pod.name="$3" --label io.kubernetes.pod.namespace="$4" \
                "$DOCKER_IMAGE" sleep 300 > /dev/null
}
run app s0:c71,c72 web-1 shop
run sidecar s0:c71,c72 web-1 shop
run web s0:c73,c74 web-2 shop
run db s0:c73,c74 db-1 shop
run mine s0:c75,c76 web-3 shop
run theirs s0:c75,c76 web-3 billing
for c in app sidecar web db mine theirs; do
        wait_until 20 "[ -n \"\$(registry_field \"$n-$c\" mcs 2> /dev/null | grep c7)\" ]" ||
                fail "the registry did not learn $n-$c with its categories"
done

has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
for m in pod:c71,c72 ns:c73,c74 amb:c75,c76; do
        inject --count 1 --mark "${m%:*}$$" --pid "$(dead_pid)" \
                --scontext "system_u:system_r:container_t:s0:${m#*:}" > /dev/null
done
for m in pod ns amb; do
        wait_for 15 has "$m$$" 1 || fail "denial $m$$ not stored"
done

check() { # MARK PYTHON-ASSERTIONS (o: the denial object)
        avcctl -o json query --comm "$1" > "$T/$1.json"
        python3 - "$T/$1.json" "$2" "$n" <<'PY' || fail "$1: $(cat "$T/$1.json")"
import json, sys
path, code, n = sys.argv[1:]
o = json.loads(open(path).read())
names = sorted(c["name"] for c in o["candidates"] or [])
exec(code)
PY
}
check "pod$$" '
assert o["attribution"] == "pod", o["attribution"]
assert o["container"] == {"id": None, "name": None, "image": None, "engine": "docker",
                          "pod": "web-1", "namespace": "shop"}, o["container"]
assert names == [n + "-app", n + "-sidecar"], names'
check "ns$$" '
assert o["attribution"] == "namespace", o["attribution"]
assert o["container"]["id"] is None and o["container"]["pod"] is None
assert o["container"]["namespace"] == "shop", o["container"]
assert names == [n + "-db", n + "-web"], names'
check "amb$$" '
assert o["attribution"] == "ambiguous", o["attribution"]
assert o["container"] is None
assert names == [n + "-mine", n + "-theirs"], names'

avcctl query --comm "pod$$" | grep -q "pod shop/web-1 .*(pod: $n-" ||
        fail "short output: $(avcctl query --comm "pod$$")"
avcctl query --comm "ns$$" | grep -q "namespace shop .*(namespace: $n-" ||
        fail "short output: $(avcctl query --comm "ns$$")"
for c in app sidecar; do
        [ "$(count_lines avcctl -o json query --comm "pod$$" --container "$n-$c")" -eq 1 ] ||
                fail "--container $n-$c does not find its pod's denial"
done
[ "$(count_lines avcctl -o json query --pod web-1)" -eq 1 ] || fail "--pod web-1: $(avcctl query --pod web-1)"
[ "$(count_lines avcctl -o json query --pod web-3)" -eq 0 ] ||
        fail "--pod web-3 finds an ambiguous denial: $(avcctl query --pod web-3)"
[ "$(count_lines avcctl -o json query --namespace shop)" -eq 2 ] ||
        fail "--namespace shop: $(avcctl query --namespace shop)"
stop_daemon
echo "docker: denials named at their pod and namespace"
