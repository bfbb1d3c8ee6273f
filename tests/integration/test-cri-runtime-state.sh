#!/usr/bin/env bash
# Kubernetes nodes without a Kubernetes client (docs/kubernetes.md): containerd's task state and
# CRI-O's run root laid out in a temp directory exactly as the runtimes write them
# (tests/unit/data/runtime: their config.json documents, from the runtimes' source), the real
# daemon watching them through its configuration, denials through the kernel's audit socket.
# - containerd: a pod's sandbox and its container (the container's process in a real cgroup
#   cri-containerd-<id>.scope): a denial by its pid names pod, namespace, container and image.
# - CRI-O: a container whose categories no other has: a denial by those categories (no pid) is
#   named the same way; one whose config.json never appears is asked of CRI-O's HTTP API (a
#   stand-in answering as CRI-O's server/inspect.go does).
# - --namespace on query and top, top --by pod / --by namespace, containers with POD and
#   NAMESPACE columns and the sandbox left out unless --sandboxes.
# - Hostile files: a 100 MiB sparse config.json and a malformed one are skipped and counted, and
#   the watch goes on.
# - CRI-O's run root absent: its /info names the storage root, watched instead.
# - The runtimes delete everything; the daemon restarts: the stored denials keep their names, the
#   containers are listed with pod and namespace, the runtimes are "absent" and looked for.
# No real CRI-O runs here (not packaged for Debian 12); a real containerd is
# test-cri-containerd.sh's.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

setup_kernel_test python3
DATA=$AVCWATCH_SOURCE_DIR/tests/unit/data/runtime
STANDIN=$(dirname "$AVCWATCH_TESTLIB")/crio-standin.py

# The containerd container's process: a real cgroup as containerd's systemd driver names it.
fake_container avcwatch-test-$$.slice cri-containerd-
CTR=$FAKE_CONTAINER_ID
SANDBOX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
CRIO_CTR=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
CRIO_ASKED=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Categories of this run only: the CRI-O container's pair is matched by MCS.
ca=$((100 + RANDOM % 400)) cb=$((600 + RANDOM % 400))
CATS="c$ca,c$cb"

TASKS=$T/containerd/io.containerd.runtime.v2.task
CRIO=$T/crio/overlay-containers
mkdir -p "$TASKS/k8s.io/$SANDBOX" "$TASKS/k8s.io/$CTR" "$CRIO/$CRIO_CTR/userdata"
# As the runtimes do: the directory, then config.json written into it.
sed "s/9a8b7c6d5e4f30211f0e1d2c3b4a59687766554433221100ffeeddccbbaa9988/$SANDBOX/g" \
        "$DATA/containerd-sandbox.json" > "$TASKS/k8s.io/$SANDBOX/config.json"
sed "s/9a8b7c6d5e4f30211f0e1d2c3b4a59687766554433221100ffeeddccbbaa9988/$SANDBOX/g" \
        "$DATA/containerd-container.json" > "$TASKS/k8s.io/$CTR/config.json"
sed "s/c26,c5/$CATS/g" "$DATA/crio-container.json" > "$CRIO/$CRIO_CTR/userdata/config.json"
# CRI-O's inspect of the container whose config.json is not there.
sed 's/"io.kubernetes.pod.name":"api-5f6c8d7b9-q7wzt"/"io.kubernetes.pod.name":"asked-pod"/' \
        "$DATA/crio-inspect.json" > "$T/inspect.json"
grep -q asked-pod "$T/inspect.json" || fail "the inspect reply was not prepared"
# (its /info names a storage root that does not exist: nothing of the host's is read)
STANDIN_STORAGE_ROOT=$T/no-graph
export STANDIN_STORAGE_ROOT
start_bg python3 "$STANDIN" "$T/crio.sock" "$CRIO_ASKED" "$T/inspect.json" 2> "$T/standin.log"
wait_for 5 test -S "$T/crio.sock" || fail "the CRI-O stand-in did not start"

cat > "$T/conf" << EOF
[Engines]
Docker=
Podman=
ProcScan=no
ContainerdState=$T/containerd
CrioRunRoot=$T/crio
CrioSocket=$T/crio.sock
EOF
start_daemon --config "$T/conf" --input netlink

runtime() { # NAME 'python expression over r' (its stats block)
        avcctl -o json stats | python3 -c '
import json, sys
r = [r for r in json.load(sys.stdin)["runtimes"] if r["name"] == sys.argv[1]][0]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}
wait_for 10 runtime containerd 'r["state"] == "watching" and r["containers"] >= 2' ||
        fail "containerd's state not watched: $(avcctl -o json stats)"
wait_for 10 runtime cri-o 'r["state"] == "watching" and r["containers"] >= 1' ||
        fail "CRI-O's run root not watched: $(avcctl -o json stats)"
avcctl stats | grep -q "^runtime containerd: watching since .*io.containerd.runtime.v2.task), 2 containers" ||
        fail "stats does not show the runtime: $(avcctl stats)"

m=rs$$
inject --count 2 --mark "${m}p" --pid "$FAKE_CONTAINER_PID" > /dev/null || fail "inject failed"
inject --count 1 --mark "${m}m" --pid -1 \
        --scontext "system_u:system_r:container_t:s0:$CATS" > /dev/null || fail "inject failed"
has() { [ "$(count_lines avcctl -o json query --comm "$1")" -eq "$2" ]; }
wait_for 15 has "${m}p" 2 || fail "the containerd denials were not stored"
wait_for 15 has "${m}m" 1 || fail "the CRI-O denial was not stored"

check_names() { # the stored denials name pod, namespace, container and image
        avcctl -o json query --comm "${m}p" > "$T/p.json"
        avcctl -o json query --comm "${m}m" > "$T/m.json"
        python3 - "$T/p.json" "$T/m.json" "$CTR" "$CRIO_CTR" << 'PY'
import json, sys
p = [json.loads(l) for l in open(sys.argv[1])]
m = [json.loads(l) for l in open(sys.argv[2])]
for d in p:
    c = d["container"]
    assert d["attribution"] == "pid", d
    assert c["id"] == sys.argv[3] and c["engine"] == "containerd", c
    assert c["name"] == "web" and c["image"] == "docker.io/library/nginx:1.25", c
    assert c["pod"] == "web-7d4b9c-x2k8p" and c["namespace"] == "shop", c
(d,) = m
c = d["container"]
assert d["attribution"] == "mcs", d
assert c["id"] == sys.argv[4] and c["engine"] == "cri-o", c
assert c["name"] == "api" and c["image"] == "quay.io/acme/api:2.3", c
assert c["pod"] == "api-5f6c8d7b9-q7wzt" and c["namespace"] == "payments", c
PY
}
check_names || fail "denials not named: $(cat "$T/p.json" "$T/m.json")"

# --namespace on query, top; top by pod and by namespace.
[ "$(count_lines avcctl -o json query --namespace shop --comm "${m}p")" -eq 2 ] ||
        fail "query --namespace shop"
[ "$(count_lines avcctl -o json query --namespace payments --comm "${m}p")" -eq 0 ] ||
        fail "query --namespace payments finds the shop denials"
avcctl query --namespace nosuchns > /dev/null 2> "$T/unknown.err" && fail "an unknown namespace was accepted"
grep -q "no namespace named 'nosuchns'" "$T/unknown.err" || fail "unknown namespace: $(cat "$T/unknown.err")"
avcctl -o json top --by pod --comm "${m}p" --comm "${m}m" > "$T/top-pod.json"
python3 - "$T/top-pod.json" << 'PY' || fail "top --by pod: $(cat "$T/top-pod.json")"
import json, sys
rows = {(r["namespace"], r["pod"]): r["count"] for r in map(json.loads, open(sys.argv[1]))}
assert rows == {("shop", "web-7d4b9c-x2k8p"): 2, ("payments", "api-5f6c8d7b9-q7wzt"): 1}, rows
PY
avcctl top --by namespace --comm "${m}p" --comm "${m}m" > "$T/top-ns.txt"
grep -q " shop$" "$T/top-ns.txt" && grep -q " payments$" "$T/top-ns.txt" ||
        fail "top --by namespace: $(cat "$T/top-ns.txt")"
[ "$(count_lines avcctl -o json top --namespace payments --comm "${m}p" --comm "${m}m")" -eq 1 ] ||
        fail "top --namespace"

# Hostile files: skipped and counted; the watch goes on.
mkdir "$TASKS/k8s.io/huge" "$TASKS/k8s.io/bad"
truncate -s 100M "$TASKS/k8s.io/huge/config.json"
printf '{"annotations":{"io.kubernetes.cri.sandbox-name":' > "$TASKS/k8s.io/bad/config.json"
wait_for 10 runtime containerd 'r["too_large"] == 1' || fail "100 MiB config.json: $(avcctl -o json stats)"
wait_for 30 runtime containerd 'r["malformed"] == 1' || fail "malformed config.json: $(avcctl -o json stats)"
later=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkdir "$TASKS/k8s.io/$later"
sed 's/"io.kubernetes.cri.container-name":"web"/"io.kubernetes.cri.container-name":"later"/' \
        "$DATA/containerd-container.json" > "$TASKS/k8s.io/$later/config.json"
listed() { avcctl -o json containers | grep -q "\"id\":\"$1\""; }
wait_for 10 listed "$later" || fail "the watch stopped after the hostile files"

# CRI-O's API asked for a container whose config.json never came (after the retries: ~13 s).
mkdir "$CRIO/$CRIO_ASKED"
wait_for 40 runtime cri-o 'r["inspects"] == 1' || fail "CRI-O's API not asked: $(avcctl -o json stats)"
grep -q "GET /containers/$CRIO_ASKED" "$T/standin.log" || fail "stand-in: $(cat "$T/standin.log")"
avcctl -o json containers --sandboxes | python3 -c '
import json, sys
(c,) = [c for c in map(json.loads, sys.stdin) if c["id"] == sys.argv[1]]
assert c["pod"] == "asked-pod" and c["namespace"] == "payments" and c["name"] == "api", c
assert c["engine"] == "cri-o", c' "$CRIO_ASKED" || fail "the inspected container: $(avcctl -o json containers)"

# The runtimes delete everything: the ends are recorded.
rm -rf "$T/containerd" "$T/crio"
wait_for 10 runtime containerd 'r["state"] == "absent" and r["ended"] >= 3' ||
        fail "containerd's ends: $(avcctl -o json stats)"
wait_for 10 runtime cri-o 'r["state"] == "absent" and r["ended"] >= 1' ||
        fail "CRI-O's ends: $(avcctl -o json stats)"

stop_daemon
start_daemon --config "$T/conf" --input netlink
runtime containerd 'r["state"] == "absent"' || fail "after the restart: $(avcctl -o json stats)"
check_names || fail "the names did not survive: $(cat "$T/p.json" "$T/m.json")"
avcctl -o json containers > "$T/containers.json"
python3 - "$T/containers.json" "$CTR" "$SANDBOX" "$CRIO_CTR" << 'PY' || fail "containers: $(cat "$T/containers.json")"
import json, sys
cs = {c["id"]: c for c in map(json.loads, open(sys.argv[1]))}
web, api = cs[sys.argv[2]], cs[sys.argv[4]]
assert sys.argv[3] not in cs, "the sandbox is listed as a workload"
assert web["pod"] == "web-7d4b9c-x2k8p" and web["namespace"] == "shop", web
assert web["pod_uid"] == "6f1c2d5e-8a4b-4c3d-9e2f-0a1b2c3d4e5f", web
assert web["sandbox_id"] == sys.argv[3] and not web["sandbox"], web
assert web["finished"], web
assert api["pod"] == "api-5f6c8d7b9-q7wzt" and api["namespace"] == "payments", api
assert api["removed"], api
PY
avcctl -o json containers --sandboxes | grep -q "\"id\":\"$SANDBOX\".*\"sandbox\":true" ||
        fail "--sandboxes does not list the sandbox"
avcctl containers --namespace shop > "$T/containers.txt"
head -1 "$T/containers.txt" | grep -q "POD.*NAMESPACE" || fail "no POD/NAMESPACE columns: $(cat "$T/containers.txt")"
grep -q "web-7d4b9c-x2k8p *shop" "$T/containers.txt" || fail "containers --namespace: $(cat "$T/containers.txt")"
if grep -q "payments" "$T/containers.txt"; then
        fail "containers --namespace shop lists payments"
fi

# CRI-O's run root is not where the setting says: CRI-O's /info names its storage root, whose
# overlay-containers holds the same config.json documents.
stop_daemon
GRAPH_CTR=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkdir -p "$T/graph/overlay-containers/$GRAPH_CTR/userdata"
sed 's/"io.kubernetes.pod.name":"api-5f6c8d7b9-q7wzt"/"io.kubernetes.pod.name":"graph-pod"/' \
        "$DATA/crio-container.json" > "$T/graph/overlay-containers/$GRAPH_CTR/userdata/config.json"
STANDIN_STORAGE_ROOT=$T/graph; export STANDIN_STORAGE_ROOT; start_bg python3 "$STANDIN" "$T/crio2.sock" 2> "$T/standin2.log"
wait_for 5 test -S "$T/crio2.sock" || fail "the second CRI-O stand-in did not start"
sed -e "s|^CrioRunRoot=.*|CrioRunRoot=$T/no-such-runroot|" \
        -e "s|^CrioSocket=.*|CrioSocket=$T/crio2.sock|" "$T/conf" > "$T/conf2"
start_daemon --config "$T/conf2" --input netlink
wait_for 10 runtime cri-o "r['state'] == 'watching' and r['directory'] == '$T/graph/overlay-containers'" ||
        fail "CRI-O's storage root from /info not watched: $(avcctl -o json stats)"
wait_for 10 listed "$GRAPH_CTR" || fail "the storage root's container was not read"
grep -q "GET /info" "$T/standin2.log" || fail "/info was not asked: $(cat "$T/standin2.log")"
avcctl -o json containers | grep "\"id\":\"$GRAPH_CTR\"" | grep -q '"pod":"graph-pod"' ||
        fail "the storage root's container: $(avcctl -o json containers)"
echo "cri runtime state: containerd and CRI-O containers named by pod and namespace, kept"
