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
