#!/usr/bin/env bash
# scripts/dev installs by job: `build` and `run` ask apt-get only for what building and running
# need, never for a container engine, QEMU or policy sources (they may run on a production host),
# while `test` asks for all of them. scripts/dev runs with apt-get, dpkg-query (nothing is
# installed), sudo and cmake replaced by stubs that record their arguments; the stubbed cmake
# fails, so that nothing is built and no daemon is started. No root needed.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

[ -d "${AVCWATCH_SOURCE_DIR:-}" ] || fail "\$AVCWATCH_SOURCE_DIR is not set"
make_tmpdir
stubs=$T/stubs
mkdir "$stubs"
for tool in apt-get cmake; do
        cat > "$stubs/$tool" <<STUB
#!/bin/sh
echo "$tool \$*" >> "\$DEV_STUB_LOG"
[ "$tool" != cmake ] || exit 3
STUB
done
printf '#!/bin/sh\nexit 1\n' > "$stubs/dpkg-query"
printf '#!/bin/sh\nexec "$@"\n' > "$stubs/sudo"
chmod +x "$stubs"/*

# dev JOB: the apt-get install lines that `scripts/dev JOB` asked for, into $T/JOB.apt
dev() {
        local job=$1 rc=0
        : > "$T/$job.log"
        DEV_STUB_LOG=$T/$job.log PATH=$stubs:$PATH bash "$AVCWATCH_SOURCE_DIR/scripts/dev" "$job" \
                > "$T/$job.out" 2>&1 || rc=$?
        grep -q '^cmake ' "$T/$job.log" ||
                fail "scripts/dev $job never reached the build (exit $rc): $(cat "$T/$job.out")"
        grep '^apt-get install' "$T/$job.log" > "$T/$job.apt" || true
        echo "scripts/dev $job asks for: $(sed 's/^apt-get install -y -qq //' "$T/$job.apt" | tr '\n' ' ')"
}

# asks JOB PACKAGE: whether `scripts/dev JOB` asked for PACKAGE
asks() {
        tr ' ' '\n' < "$T/$1.apt" | grep -qx -- "$2"
}

FORBIDDEN=(docker.io podman runc containerd python3-grpcio python3-grpc-tools qemu-system-x86
           qemu-system-x86-64 debootstrap selinux-policy-default selinux-policy-src
           selinux-policy-dev)
dev test
# the control: the forbidden packages are real entries of the lists, which `test` asks for
for p in docker.io podman containerd python3-grpcio qemu-system-x86 rpm build-essential \
        libaudit-dev; do
        asks test "$p" || fail "scripts/dev test does not ask for $p"
done
for job in build run; do
        dev "$job"
        [ -s "$T/$job.apt" ] || fail "scripts/dev $job asked for nothing"
        for p in build-essential cmake libaudit-dev libsystemd-dev libsqlite3-dev; do
                asks "$job" "$p" || fail "scripts/dev $job does not ask for $p"
        done
        for p in "${FORBIDDEN[@]}"; do
                ! asks "$job" "$p" || fail "scripts/dev $job asks for $p"
        done
        ! grep -Eq 'docker|podman|qemu' "$T/$job.apt" || fail "scripts/dev $job: $(cat "$T/$job.apt")"
done
echo PASS
