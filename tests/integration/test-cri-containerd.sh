#!/usr/bin/env bash
# A Kubernetes node without the kubelet: a REAL containerd with its CRI plugin (our own, on
# private directories and sockets: engines.sh), driven over CRI v1 gRPC as the kubelet drives it
# (cri-client.py): RunPodSandbox in the host network with the kubelet's cgroupfs layout
# (/kubepods/besteffort/pod<uid>), CreateContainer and StartContainer of a busybox `sleep`, then
# StopPodSandbox and RemovePodSandbox. Denials injected through the real kernel:
# - the pid of the pod container's process -> that container (the CRI id containerd gave it),
#   engine containerd, attribution "pid", from its cgroup (kubelet's cgroupfs layout);
# - the pod removed and the daemon restarted: the stored denial keeps its container, and
#   `avcctl containers` lists it;
# - a pod started while the daemon was stopped is found by the start-up /proc scan.
# Under CI (CI set, .ci/run sets it) this test never skips: what would be a SKIP fails.
set -euo pipefail
# shellcheck disable=SC2034 # read by skip() in lib.sh
AVC_MUST_RUN_IN_CI=1
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

# registry_has_id ID: `avcctl containers` lists the container ID.
registry_has_id() {
        avcctl -o json containers | grep -q '"id":"'"$1"'"'
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

# containers_check PYTHON-ASSERTIONS MESSAGE: on `avcctl -o json containers`, o each row of the
# pod's container.
containers_check() {
        avcctl -o json containers > "$T/containers.json"
        pycheck "$T/containers.json" 'if o["id"] == cid:
    assert len([r for r in rows if r["id"] == cid]) == 1, "not once"
    assert o["engine"] == "containerd", o
'"$1" "$2"
}

printf '[Engines]\nDocker=\nPodman=\nProcScan=yes\n' > "$T/conf"
CONFIG=$T/conf start_daemon --input netlink

pod=avcw-pod-$$
ns=avcw-ns-$$
name=avcw-app-$$
pod_up "$pod" "$ns" "$name"
uid=$UID_ pod_id=$POD_ID cid=$CID pid=$PID bundle=$BUNDLE

mark=cri$$
inject --count 1 --mark "$mark" --pid "$pid" \
        --scontext "system_u:system_r:container_t:s0:c12,c34" > /dev/null
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
wait_for 15 has "$mark" 1 || fail "the denial of the pod's container was not stored"

named='
c = o["container"]
assert c and c["id"] == cid and c["engine"] == "containerd", c'
check 'assert o["attribution"] == "pid" and o["pid"] == pid, o
'"$named" "the denial does not name the pod's container"
containers_check 'pass' "the registry does not hold the pod's container"

# The pod goes as the kubelet removes it. The daemon restarts: what was stored stays named.
pod_down "$pod_id"
[ ! -e "$bundle" ] || fail "containerd left $bundle"
stop_daemon

# A pod started while the daemon is stopped: the start-up scan finds it.
pod_up "$pod-late" "$ns" "$name-late"
CONFIG=$T/conf start_daemon --input netlink
check "$named" "after the pod's removal and a restart, the denial lost its container"
containers_check 'pass' "after a restart, containers lost the removed pod's container"
wait_for 15 registry_has_id "$CID" || fail "the start-up scan did not find $CID"
pod_down "$POD_ID"
stop_daemon
echo PASS
