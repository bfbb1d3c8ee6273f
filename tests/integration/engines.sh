# SPDX-License-Identifier: MIT
# Real container engines for the integration tests: sourced after lib.sh (and make_tmpdir) by
# tests/integration/test-engine-*.sh.
#
# Each test gets its OWN engine on private sockets and directories under $T, whatever else runs
# on the host: a dockerd (--iptables=false --bridge=none --storage-driver=vfs, private -H unix
# socket, --data-root, --exec-root, --pidfile; it starts its own containerd) or a
# `podman system service` (runc, cgroupfs, file events, private --root/--runroot/--tmpdir). Only
# containers these engines hold exist for them, so a test can never touch a container it did not
# create; everything is stopped and removed on exit. No registry is reachable: the image is
# busybox-static copied into an empty root and imported (docker import / podman import).
#
#   start_dockerd          sets DOCKER (a command: docker -H unix://$T/docker.sock) and DOCKER_SOCK
#   start_podman_service   sets PODMAN (podman with the private options) and PODMAN_SOCK
#   test_image_tar         prints the path of the busybox root tarball (built once per test)
#   container_pid ENGINE NAME    the host pid of the container's first process
#   ulimit_args            --ulimit options that keep podman's defaults within our hard limits

ENGINE_START_TIMEOUT=${ENGINE_START_TIMEOUT:-60}
DOCKER=
DOCKER_SOCK=
DOCKERD_PID=
PODMAN=
PODMAN_SOCK=
PODMAN_SERVICE_PID=
_ENGINE_CLEANUPS=()

_engine_cleanup() {
        local f
        for f in "${_ENGINE_CLEANUPS[@]}"; do
                "$f" || true
        done
        # Whatever the engines left mounted under $T (network namespaces, shm, overlay).
        if [ -n "$T" ]; then
                awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r |
                        while read -r m; do umount -l "$m" 2> /dev/null || true; done
        fi
}

# Chains our cleanup before lib.sh's (which removes $T and sets the exit status).
_engine_trap_installed=
_engine_install_trap() {
        [ -z "$_engine_trap_installed" ] || return 0
        _engine_trap_installed=1
        trap 'rc=$?; set +e; _engine_cleanup; (exit $rc); _cleanup' EXIT
}

# The Debian CLI first: /usr/local may hold a different one.
_docker_cli() {
        if [ -x /usr/bin/docker ]; then
                echo /usr/bin/docker
        else
                command -v docker
        fi
}

require_docker() {
        require_root
        command -v dockerd > /dev/null || skip "dockerd is not installed (scripts/dev deps installs docker.io)"
        [ -n "$(_docker_cli)" ] || skip "the docker CLI is not installed"
        command -v runc > /dev/null || skip "runc is not installed"
}

require_podman() {
        require_root
        command -v podman > /dev/null || skip "podman is not installed (scripts/dev deps installs it)"
        command -v runc > /dev/null || skip "runc is not installed"
}

test_image_tar() {
        local root=$T/image-root tar=$T/image.tar bb
        if [ ! -f "$tar" ]; then
                bb=$(command -v busybox || true)
                [ -n "$bb" ] || skip "busybox is not installed (busybox-static)"
                # A static busybox only: the image has no libraries.
                if ldd "$bb" > /dev/null 2>&1; then
                        [ -x /bin/busybox ] && ! ldd /bin/busybox > /dev/null 2>&1 && bb=/bin/busybox
                        ldd "$bb" > /dev/null 2>&1 && skip "no static busybox (busybox-static)"
                fi
                mkdir -p "$root/bin" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc"
                cp "$bb" "$root/bin/busybox"
                for c in sh sleep cat echo true ls; do
                        ln -sf busybox "$root/bin/$c"
                done
                tar -C "$root" -cf "$tar" .
        fi
        echo "$tar"
}

_stop_dockerd() {
        if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2> /dev/null; then
                # Our containers first (their names all start with avcw-), then the daemon.
                $DOCKER ps -aq 2> /dev/null | xargs -r $DOCKER rm -f > /dev/null 2>&1 || true
                kill -TERM "$DOCKERD_PID" 2> /dev/null || true
                local i
                for ((i = 0; i < 200; i++)); do
                        kill -0 "$DOCKERD_PID" 2> /dev/null || break
                        sleep 0.1
                done
                kill -KILL "$DOCKERD_PID" 2> /dev/null || true
        fi
        DOCKERD_PID=
}

# start_dockerd: a private dockerd; DOCKER is its CLI, DOCKER_SOCK its socket, DOCKER_IMAGE the
# imported test image.
start_dockerd() {
        local dir=$T/docker i
        mkdir -p "$dir/data" "$dir/exec"
        DOCKER_SOCK=$dir/docker.sock
        DOCKER="$(_docker_cli) -H unix://$DOCKER_SOCK"
        _engine_install_trap
        [ -n "${_dockerd_cleanup_added:-}" ] || {
                _ENGINE_CLEANUPS+=(_stop_dockerd)
                _dockerd_cleanup_added=1
        }
        dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs \
                --shutdown-timeout=1 -H "unix://$DOCKER_SOCK" --data-root "$dir/data" \
                --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
                >> "$T/dockerd.log" 2>&1 &
        DOCKERD_PID=$!
        for ((i = 0; i < ENGINE_START_TIMEOUT * 10; i++)); do
                if [ -S "$DOCKER_SOCK" ] && $DOCKER version > /dev/null 2>&1; then
                        break
                fi
                kill -0 "$DOCKERD_PID" 2> /dev/null || {
                        tail -20 "$T/dockerd.log" >&2
                        skip "dockerd does not start here (log above)"
                }
                sleep 0.1
        done
        $DOCKER version > /dev/null 2>&1 || fail "dockerd did not answer within ${ENGINE_START_TIMEOUT}s"
        DOCKER_IMAGE=avcwatch-test/busybox:latest
        if ! $DOCKER image inspect "$DOCKER_IMAGE" > /dev/null 2>&1; then
                $DOCKER import "$(test_image_tar)" "$DOCKER_IMAGE" > /dev/null ||
                        fail "docker import failed"
        fi
}

restart_dockerd() {
        _stop_dockerd
        start_dockerd
}

ulimit_args() {
        # podman raises nofile/nproc to its defaults, which needs CAP_SYS_RESOURCE inside a
        # container sandbox (and podman itself runs with a lower nproc limit than its shell):
        # small fixed limits can always be set, and sleep needs no more.
        echo "--ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
}

_stop_podman_service() {
        if [ -n "$PODMAN" ]; then
                $PODMAN ps -aq 2> /dev/null | xargs -r $PODMAN rm -f -t 0 > /dev/null 2>&1 || true
        fi
        if [ -n "$PODMAN_SERVICE_PID" ]; then
                kill -TERM "$PODMAN_SERVICE_PID" 2> /dev/null || true
                wait "$PODMAN_SERVICE_PID" 2> /dev/null || true
        fi
        PODMAN_SERVICE_PID=
}

# start_podman_service: podman with private storage, state and events, and its API service on
# PODMAN_SOCK; PODMAN_IMAGE the imported test image.
start_podman_service() {
        local dir=$T/podman i
        mkdir -p "$dir/root" "$dir/runroot" "$dir/tmp"
        PODMAN_SOCK=$dir/podman.sock
        PODMAN="podman --root $dir/root --runroot $dir/runroot --tmpdir $dir/tmp --runtime runc"
        PODMAN+=" --cgroup-manager cgroupfs --events-backend file --storage-driver vfs"
        _engine_install_trap
        _ENGINE_CLEANUPS+=(_stop_podman_service)
        PODMAN_IMAGE=localhost/avcwatch-test/busybox:latest
        $PODMAN import "$(test_image_tar)" "$PODMAN_IMAGE" > /dev/null 2>> "$T/podman.log" ||
                skip "podman does not work here (see $T/podman.log)"
        $PODMAN system service --time 0 "unix://$PODMAN_SOCK" >> "$T/podman.log" 2>&1 &
        PODMAN_SERVICE_PID=$!
        for ((i = 0; i < ENGINE_START_TIMEOUT * 10; i++)); do
                [ -S "$PODMAN_SOCK" ] && break
                kill -0 "$PODMAN_SERVICE_PID" 2> /dev/null || fail "podman system service exited"
                sleep 0.1
        done
        [ -S "$PODMAN_SOCK" ] || fail "podman system service did not listen within ${ENGINE_START_TIMEOUT}s"
}

# container_pid docker|podman NAME
container_pid() {
        local cli
        if [ "$1" = docker ]; then cli=$DOCKER; else cli=$PODMAN; fi
        $cli inspect -f '{{.State.Pid}}' "$2"
}

# registry_has NAME: the daemon's registry lists a container of that name.
registry_has() {
        avcctl -o json containers | python3 -c '
import json, sys
sys.exit(0 if any(json.loads(l)["name"] == sys.argv[1] for l in sys.stdin if l.strip()) else 1)' "$1"
}

# registry_field NAME KEY: a field of the named container in `avcctl -o json containers`.
registry_field() {
        avcctl -o json containers | python3 -c '
import json, sys
for l in sys.stdin:
    c = json.loads(l)
    if c["name"] == sys.argv[1]:
        v = c[sys.argv[2]]
        print(v if isinstance(v, str) else json.dumps(v))
        break
else:
    sys.exit(1)' "$1" "$2"
}

# A pid that no longer exists.
dead_pid() {
        (sleep 0 & echo $! > "$T/deadpid"; wait)
        cat "$T/deadpid"
}

# ---- containerd with its CRI plugin, driven as the kubelet drives it (test-cri-containerd) ----
# A private containerd (config version 2, Debian 12's 1.6): root, state, sockets and CNI
# directories under $T/containerd, the native snapshotter (any filesystem), the CRI plugin with
# SELinux labelling on, restrict_oom_score_adj (this VM refuses the negative oom_score_adj CRI
# gives every sandbox: runc then fails with "can't get final child's PID from pipe"), a random
# streaming port, and the busybox test image as the sandbox ("pause") image, imported locally
# (nothing can be pulled). cri-client.py speaks CRI v1 to it.
#
#   require_containerd     root, containerd, ctr, its runc shim, /usr/bin/python3 with grpc
#   start_containerd       sets CONTAINERD_SOCK, CONTAINERD_STATE (its state directory, whose
#                          io.containerd.runtime.v2.task/<ns>/<id>/ holds each task's bundle),
#                          CRI_IMAGE (the imported image)
#   cri ARGS               cri-client.py on that socket (see its header)
#   cri_pod_cgroup PARENT  has the cleanup remove the pod's cgroups (as the kubelet would)
CONTAINERD_SOCK=
CONTAINERD_STATE=
CONTAINERD_PID=
CRI_IMAGE=localhost/avcwatch-test/busybox:latest
CRI_PODS=()    # sandbox ids to stop and remove on exit
CRI_CGROUPS=() # pod cgroup parents to remove on exit (after the pods)
_CRI_PY=/usr/bin/python3 # Debian's grpc modules are seen by this interpreter only

require_containerd() {
        require_root
        local c
        for c in containerd ctr containerd-shim-runc-v2 runc; do
                command -v "$c" > /dev/null ||
                        skip "$c is not installed (scripts/dev deps installs containerd and runc)"
        done
        "$_CRI_PY" -c 'import grpc, grpc_tools.protoc' 2> /dev/null ||
                skip "$_CRI_PY cannot import grpc and grpc_tools (python3-grpcio, python3-grpc-tools)"
}

cri() {
        "$_CRI_PY" "$(dirname "$AVCWATCH_TESTLIB")/cri-client.py" -s "$CONTAINERD_SOCK" \
                -m "$T/containerd/cri-modules" "$@"
}

# A docker-archive of the busybox root (test_image_tar) whose command is a long sleep, so that it
# also serves as the sandbox image: a pause container's process must keep running.
_cri_image_archive() {
        local out=$T/containerd/image.tar
        test_image_tar > /dev/null # (its SKIP, if any, must not happen in a subshell)
        "$_CRI_PY" - "$(test_image_tar)" "$out" "$CRI_IMAGE" <<'PY'
import hashlib, io, json, sys, tarfile
layer_path, out, ref = sys.argv[1:]
layer = open(layer_path, "rb").read()
diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
config = json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Cmd": ["/bin/sleep", "86400"], "Env": ["PATH=/bin"]},
    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps([{"Config": config_name, "RepoTags": [ref],
                        "Layers": ["layer/layer.tar"]}]).encode()
with tarfile.open(out, "w") as t:
    for name, data in ((config_name, config), ("layer/layer.tar", layer),
                       ("manifest.json", manifest)):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
        echo "$out"
}

_stop_containerd() {
        local p cg i
        # The pods first, as the kubelet would remove them; then whatever they left.
        if [ -n "$CONTAINERD_PID" ] && kill -0 "$CONTAINERD_PID" 2> /dev/null; then
                for p in "${CRI_PODS[@]}"; do
                        timeout 30 "$_CRI_PY" "$(dirname "$AVCWATCH_TESTLIB")/cri-client.py" \
                                -s "$CONTAINERD_SOCK" -m "$T/containerd/cri-modules" down "$p" \
                                >> "$T/containerd.log" 2>&1 || true
                done
                terminate "$CONTAINERD_PID" 10
        fi
        CONTAINERD_PID=
        # Shims of our containerd that outlived it (each names our socket in its command line),
        # then the processes still in our pods' cgroups: ours alone, found by our paths.
        if [ -n "$CONTAINERD_SOCK" ]; then
                for p in /proc/[0-9]*; do
                        if tr '\0' ' ' 2> /dev/null < "$p/cmdline" |
                                grep -qF -- "-address $CONTAINERD_SOCK "; then
                                kill -KILL "${p#/proc/}" 2> /dev/null || true
                        fi
                done
        fi
        # A shim killed leaves its socket: /run/containerd/s/<sha256 of ADDRESS/NAMESPACE/POD>
        # (containerd's runtime/v2/shim SocketAddress(); one shim per pod).
        for p in "${CRI_PODS[@]}"; do
                rm -f "/run/containerd/s/$(printf '%s' "$CONTAINERD_SOCK/k8s.io/$p" | sha256sum |
                        cut -d' ' -f1)"
        done
        for cg in "${CRI_CGROUPS[@]}"; do
                find "$cg" -name cgroup.procs -exec cat {} + 2> /dev/null |
                        while read -r p; do kill -KILL "$p" 2> /dev/null || true; done
        done
        for cg in "${CRI_CGROUPS[@]}"; do
                for ((i = 0; i < 50; i++)); do
                        [ -d "$cg" ] || break
                        find "$cg" -depth -type d -exec rmdir {} + 2> /dev/null || true
                        if [ -d "$cg" ]; then sleep 0.1; fi
                done
        done
}

# cri_pod_cgroup PARENT: the cleanup will remove the pod cgroup PARENT (/kubepods/...) in every
# mounted hierarchy (cgroup v1 or v2), with each of its ancestors that did not exist before.
cri_pod_cgroup() {
        local h top
        for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
                [ -f "$h/cgroup.procs" ] || continue
                top=${h%/}$1
                while [ ! -d "$(dirname "$top")" ]; do
                        top=$(dirname "$top")
                done
                CRI_CGROUPS+=("$top")
        done
}

# start_containerd: the private containerd, its CRI answering, the test image imported.
start_containerd() {
        local dir=$T/containerd i
        mkdir -p "$dir/root" "$dir/state" "$dir/cni/bin" "$dir/cni/conf" "$dir/pods"
        CONTAINERD_SOCK=$dir/containerd.sock
        # shellcheck disable=SC2034 # for the tests
        CONTAINERD_STATE=$dir/state
        _engine_install_trap
        _ENGINE_CLEANUPS+=(_stop_containerd)
        cat > "$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
# plugins that only probe the host (and /opt) at start-up
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  enable_selinux = true
  restrict_oom_score_adj = true
  sandbox_image = "$CRI_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/cni/bin"
    conf_dir = "$dir/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$dir/runc"
TOML
        (_exec_without_lock containerd --config "$dir/config.toml") >> "$T/containerd.log" 2>&1 &
        CONTAINERD_PID=$!
        cri compile "$dir/cri-modules" || fail "cannot compile the CRI api.proto"
        for ((i = 0; i < ENGINE_START_TIMEOUT * 10; i++)); do
                [ -S "$CONTAINERD_SOCK" ] && cri version > "$dir/version.json" 2> /dev/null && break
                kill -0 "$CONTAINERD_PID" 2> /dev/null || {
                        tail -20 "$T/containerd.log" >&2
                        skip "containerd does not start here (log above)"
                }
                sleep 0.1
        done
        [ -s "$dir/version.json" ] ||
                fail "containerd's CRI did not answer within ${ENGINE_START_TIMEOUT}s: $(tail -20 "$T/containerd.log")"
        _cri_image_archive > /dev/null
        ctr -a "$CONTAINERD_SOCK" -n k8s.io images import --snapshotter native \
                "$dir/image.tar" > "$dir/import.log" 2>&1 ||
                fail "ctr images import failed: $(cat "$dir/import.log")"
}
