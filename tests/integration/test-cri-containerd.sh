#!/usr/bin/env bash
# A Kubernetes node without the kubelet: a REAL containerd with its CRI plugin (our own, on
# private directories and sockets: engines.sh), driven over CRI v1 gRPC as the kubelet drives it
# (cri-client.py): RunPodSandbox in the host network with the kubelet's cgroupfs layout
# (/kubepods/besteffort/pod<uid>), CreateContainer and StartContainer of a busybox `sleep`, then
# StopPodSandbox and RemovePodSandbox. The daemon watches that containerd's task state
# (ContainerdState=). Denials injected through the real kernel:
# - the pid of the pod container's process -> that container (the CRI id containerd gave it),
#   engine containerd, attribution "pid", with its name, image, pod and namespace from the
#   task's config.json; --pod, --namespace and top --by pod|namespace find it;
# - the registry holds the pod's sandbox too, marked as the sandbox: `containers` shows it with
#   --sandboxes only;
# - the pod removed: both ends are recorded; after a daemon restart the stored denial keeps every
#   name and `avcctl containers` lists the pod's containers with pod and namespace;
# - a pod started while the daemon was stopped is learnt by the start-up scan, with its names.
# Under CI (CI set, .ci/run sets it) this test never skips (label cri): a SKIP fails.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
source "$(dirname "$AVCWATCH_TESTLIB")/engines.sh"

require_containerd
require_audit_netlink
make_tmpdir
start_containerd

# pod_up POD NAMESPACE CONTAINER: a pod of one container, as the kubelet starts it; sets UID,
# POD_ID, CID (the container's id), PID (its process) and BUNDLE (its task's config.json).
pod_up() {
        UID_=$(cat /proc/sys/kernel/random/uuid)
        local parent=/kubepods/besteffort/pod$UID_ out=$T/up-$1.json err=$T/up-$1.err p
        cri_pod_cgroup "$parent"
        if ! cri up "$1" "$2" "$UID_" "$3" "$CRI_IMAGE" "$parent" "$T/containerd/pods" \
                > "$out" 2> "$err"; then
                # the pod, if RunPodSandbox went that far, for the cleanup
                p=$(sed -n 's/^{"pod_id": "\([0-9a-f]*\)"}$/\1/p' "$err")
                [ -z "$p" ] || CRI_PODS+=("$p")
                fail "pod $1 did not start: $(cat "$err"); containerd: $(tail -20 "$T/containerd.log")"
        fi
        POD_ID=$(json_field "$(cat "$out")" pod_id)
        CRI_PODS+=("$POD_ID")
        CID=$(json_field "$(cat "$out")" container_id)
        PID=$(json_field "$(cat "$out")" pid)
        [ "$PID" -gt 0 ] || fail "no pid for the container of $1: $(cat "$out")"
        grep -q "$parent/$CID\$" "/proc/$PID/cgroup" ||
                fail "the container's process is not in $parent/$CID: $(cat "/proc/$PID/cgroup")"
        # containerd keeps the task's OCI bundle where the daemon's runtime watch reads it
        BUNDLE=$CONTAINERD_STATE/io.containerd.runtime.v2.task/k8s.io/$CID/config.json
        [ -f "$BUNDLE" ] || fail "no $BUNDLE"
        grep -q '"io.kubernetes.cri.sandbox-name":"'"$1"'"' "$BUNDLE" ||
                fail "the bundle does not name the pod: $(head -c 2000 "$BUNDLE")"
}

# pod_down POD-ID: StopPodSandbox and RemovePodSandbox, as the kubelet removes a pod.
pod_down() {
        cri down "$1" 2> "$T/down.err" || fail "pod $1 was not removed: $(cat "$T/down.err")"
        ! cri pods | grep -qx "$1" || fail "pod $1 remains after RemovePodSandbox"
}

# learnt NAME: the registry learnt the container NAME from its config.json (the runtime watch).
learnt() {
        wait_for 15 registry_has "$1" ||
                fail "the registry did not learn $1: $(avcctl -o json containers)
$(find "$CONTAINERD_STATE/io.containerd.runtime.v2.task" -maxdepth 3 -name config.json)
runtimes: $(stats_field runtimes)"
}

# pycheck FILE PYTHON-ASSERTIONS MESSAGE: the assertions on each JSON line o of FILE (rows: all
# of them), with the pod's names and ids in scope (cid, pid, pod, ns, uid, name, image, pod_id).
pycheck() {
        python3 - "$1" "$2" "$cid" "$pid" "$pod" "$ns" "$uid" "$name" "$CRI_IMAGE" "$pod_id" \
                << 'PY' || fail "$3: $(cat "$1")"
import json, sys
path, code, cid, pid, pod, ns, uid, name, image, pod_id = sys.argv[1:]
pid = int(pid)
rows = [json.loads(l) for l in open(path) if l.strip()]
assert rows, "no rows"
for o in rows:
    exec(code)
PY
}

# check PYTHON-ASSERTIONS MESSAGE: on the denial
check() {
        avcctl -o json query --comm "$mark" > "$T/q.json"
        pycheck "$T/q.json" "$1" "$2"
}

# containers_check PYTHON-ASSERTIONS MESSAGE: on `avcctl -o json containers --sandboxes`, o each
# row of the pod (its container and its sandbox), after the checks every such row passes.
containers_check() {
        avcctl -o json containers --sandboxes > "$T/containers.json"
        pycheck "$T/containers.json" 'if o["id"] in (cid, pod_id):
    assert len([r for r in rows if r["id"] in (cid, pod_id)]) == 2, "not both the container and the sandbox"
    assert o["engine"] == "containerd" and o["pod"] == pod and o["namespace"] == ns, o
    assert o["pod_uid"] == uid and o["sandbox_id"] == pod_id, o
    assert o["sandbox"] == (o["id"] == pod_id), o
    assert o["id"] == pod_id or (o["name"] == name and o["image"] == image), o
'"$1" "$2"
}

printf '[Engines]\nDocker=\nPodman=\nProcScan=yes\nContainerdState=%s\nCrioRunRoot=\nCrioSocket=\n' \
        "$CONTAINERD_STATE" > "$T/conf"
CONFIG=$T/conf start_daemon --input netlink

pod=avcw-pod-$$
ns=avcw-ns-$$
name=avcw-app-$$
pod_up "$pod" "$ns" "$name"
uid=$UID_ pod_id=$POD_ID cid=$CID pid=$PID bundle=$BUNDLE
learnt "$name"

mark=cri$$
inject --count 1 --mark "$mark" --pid "$pid" \
        --scontext "system_u:system_r:container_t:s0:c12,c34" > /dev/null
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
wait_for 15 has "$mark" 1 || fail "the denial of the pod's container was not stored"

named='
c = o["container"]
assert c and c["id"] == cid and c["engine"] == "containerd", c
assert c["name"] == name and c["image"] == image, c
assert c["pod"] == pod and c["namespace"] == ns, c'
check 'assert o["attribution"] == "pid" and o["pid"] == pid, o
'"$named" "the denial does not name the pod's container"
for f in "--pod $pod" "--namespace $ns"; do
        # shellcheck disable=SC2086 # two words
        avcctl -o json query $f > "$T/f.json"
        pycheck "$T/f.json" 'assert len(rows) == 1 and o["container"]["id"] == cid' "query $f"
done
for by in pod:pod namespace:ns; do
        avcctl -o json top --by "${by%:*}" > "$T/top.json"
        pycheck "$T/top.json" "assert [r['count'] for r in rows if r['${by%:*}'] == ${by#*:}] == [1], rows" \
                "top --by ${by%:*}"
done
containers_check 'pass' "the registry does not hold the pod's container and its sandbox"
# without --sandboxes, and for its namespace: the pod's container alone
avcctl -o json containers --namespace "$ns" > "$T/containers-ns.json"
pycheck "$T/containers-ns.json" 'assert [r["id"] for r in rows] == [cid], rows' \
        "containers --namespace $ns"

# The pod goes as the kubelet removes it: both ends are recorded. The daemon restarts: what was
# stored stays named.
pod_down "$pod_id"
[ ! -e "$bundle" ] || fail "containerd left $bundle"
ended='assert o["id"] not in (cid, pod_id) or (not o["running"] and o["finished"]), o'
wait_until 15 "(containers_check '$ended' waiting) > /dev/null 2>&1" ||
        containers_check "$ended" "the pod's removal was not recorded"
stop_daemon

# A pod started while the daemon is stopped, in another namespace: the start-up scan learns it.
pod_up "$pod-late" "$ns-late" "$name-late"
CONFIG=$T/conf start_daemon --input netlink
check "$named" "after the pod's removal and a restart, the denial lost its names"
containers_check "$ended" "after a restart, containers lost the removed pod"
learnt "$name-late"
[ "$(registry_field "$name-late" pod)" = "$pod-late" ] || fail "the late pod is not named"
[ "$(registry_field "$name-late" namespace)" = "$ns-late" ] || fail "the late pod's namespace"
# a namespace the daemon knows, without denials; the first one's are still found by it
[ "$(count_lines avcctl -o json query --namespace "$ns-late")" -eq 0 ] ||
        fail "--namespace $ns-late: $(avcctl -o json query --namespace "$ns-late")"
[ "$(count_lines avcctl -o json query --namespace "$ns")" -eq 1 ] ||
        fail "--namespace $ns after a restart: $(avcctl -o json query --namespace "$ns")"
pod_down "$POD_ID"
stop_daemon
echo PASS
