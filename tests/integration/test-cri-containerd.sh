#!/usr/bin/env bash
# A Kubernetes node without the kubelet: a REAL containerd with its CRI plugin (our own, on
# private directories and sockets: engines.sh), driven over CRI v1 gRPC as the kubelet drives it
# (cri-client.py): RunPodSandbox in the host network with the kubelet's cgroupfs layout
# (/kubepods/besteffort/pod<uid>), CreateContainer and StartContainer of a busybox `sleep`, then
# StopPodSandbox and RemovePodSandbox. Denials injected through the real kernel:
# - the pid of the pod container's process -> that container (the CRI id containerd gave it),
#   engine containerd, attribution "pid", found from its cgroup;
# - after the pod is removed and the daemon restarted, the stored denial keeps its container and
#   `avcctl containers` still lists the pod's container.
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

pod=avcw-pod-$$
ns=avcw-ns-$$
ctr_name=avcw-app-$$
uid=$(cat /proc/sys/kernel/random/uuid)
parent=/kubepods/besteffort/pod$uid
# The cleanup removes the pod's cgroups, and kubepods/ and besteffort/ where we made them.
for cg in $(cri_pod_cgroups "$parent"); do
        top=${cg%"$parent"}
        if [ ! -d "$top/kubepods" ]; then
                CRI_CGROUPS+=("$top/kubepods")
        elif [ ! -d "$top/kubepods/besteffort" ]; then
                CRI_CGROUPS+=("$top/kubepods/besteffort")
        else
                CRI_CGROUPS+=("$cg")
        fi
done

printf '[Engines]\nDocker=\nPodman=\nProcScan=yes\n' > "$T/conf"
CONFIG=$T/conf start_daemon --input netlink

cri up "$pod" "$ns" "$uid" "$ctr_name" "$CRI_IMAGE" "$parent" "$T/containerd/pods" \
        > "$T/up.json" 2> "$T/up.err" || {
        # the pod, if RunPodSandbox went that far, for the cleanup
        p=$(sed -n 's/^{"pod_id": "\([0-9a-f]*\)"}$/\1/p' "$T/up.err")
        [ -z "$p" ] || CRI_PODS+=("$p")
        fail "the pod did not start: $(cat "$T/up.err"); containerd: $(tail -20 "$T/containerd.log")"
}
field() { json_field "$(cat "$T/up.json")" "$1"; }
pod_id=$(field pod_id)
CRI_PODS+=("$pod_id")
cid=$(field container_id)
pid=$(field pid)
[ "$pid" -gt 0 ] || fail "no pid for the container: $(cat "$T/up.json")"
grep -q "$parent/$cid\$" "/proc/$pid/cgroup" ||
        fail "the container's process is not in $parent/$cid: $(cat "/proc/$pid/cgroup")"
# containerd keeps the task's OCI bundle where the daemon's runtime watch reads it
bundle=$CONTAINERD_STATE/io.containerd.runtime.v2.task/k8s.io/$cid/config.json
[ -f "$bundle" ] || fail "no $bundle"
grep -q '"io.kubernetes.cri.sandbox-name":"'"$pod"'"' "$bundle" ||
        fail "the bundle does not name the pod: $(head -c 2000 "$bundle")"

mark=cri$$
inject --count 1 --mark "$mark" --pid "$pid" \
        --scontext "system_u:system_r:container_t:s0:c12,c34" > /dev/null
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
wait_for 15 has "$mark" 1 || fail "the denial of the pod's container was not stored"

# check PYTHON-ASSERTIONS (o: the denial object)
check() {
        avcctl -o json query --comm "$mark" > "$T/q.json"
        python3 - "$T/q.json" "$1" "$cid" "$pid" <<'PY' || fail "$2: $(cat "$T/q.json")"
import json, sys
path, code, cid, pid = sys.argv[1:]
pid = int(pid)
for line in open(path):
    o = json.loads(line)
    exec(code)
PY
}
named='
c = o["container"]
assert c and c["id"] == cid and c["engine"] == "containerd", c'
check 'assert o["attribution"] == "pid" and o["pid"] == pid, o
'"$named" "the denial does not name the pod's container"

# The pod goes as the kubelet removes it; the daemon restarts: what was stored stays named.
cri down "$pod_id" 2> "$T/down.err" || fail "the pod was not removed: $(cat "$T/down.err")"
[ -z "$(cri pods)" ] || fail "pods remain after RemovePodSandbox: $(cri pods)"
[ ! -e "$bundle" ] || fail "containerd left $bundle"
stop_daemon
CONFIG=$T/conf start_daemon --input netlink
check "$named" "after the pod's removal and a restart, the denial lost its container"
avcctl -o json containers > "$T/containers.json"
python3 - "$T/containers.json" "$cid" <<'PY' || fail "containers: $(cat "$T/containers.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mine = [r for r in rows if r["id"] == sys.argv[2]]
assert len(mine) == 1, rows
assert mine[0]["engine"] == "containerd", mine
PY
stop_daemon
echo PASS
