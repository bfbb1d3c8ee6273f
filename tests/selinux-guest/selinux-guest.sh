#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CTest "selinux-guest": avcwatch on a real enforcing SELinux kernel (docs/selinux-guest.md).
#
# 1. image: Debian bookworm's kernel + an initramfs with refpolicy (MCS, enforcing) and its
#    container/podman modules, systemd, auditd, podman; built by build-image.sh once per recipe
#    hash into the cache ($AVCWATCH_GUEST_CACHE, default /var/cache/avcwatch-selinux-guest);
# 2. the project: `cmake --install` of this build tree (DESTDIR, prefix /usr) + the guest's
#    workload, as a second cpio appended per run;
# 3. boot under QEMU (TCG by default, ACCEL=kvm where the host has real virtualisation): systemd
#    starts avcwatchd from the project's unit, the workload runs real containers and sends the
#    kernel's records and the daemon's API answers back over the second serial port;
# 4. judge (check.py), after replaying the kernel's records through a host avcwatchd
#    (--input FILE).
# Each run leaves its artefacts (audit.log = the kernel's records, replayable with
# `avcwatchd --input audit.log`) in $AVCWATCH_GUEST_RUNS (default <build>/selinux-guest/).
# Exit 77 (SKIP) only when QEMU cannot run at all: not root, or no qemu/debootstrap to be had.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${AVCWATCH_BUILD_DIR:?}
ACCEL=${ACCEL:-tcg}
GUEST_TIMEOUT=${AVCWATCH_GUEST_TIMEOUT:-300} # boot to power-off, seconds
cache_root=${AVCWATCH_GUEST_CACHE:-/var/cache/avcwatch-selinux-guest}
runs=${AVCWATCH_GUEST_RUNS:-$build/selinux-guest}
keep_runs=${AVCWATCH_GUEST_KEEP_RUNS:-5}
T0=$(date +%s)
phase_t=$T0
timings=()
phase() {
        local now
        now=$(date +%s)
        timings+=("$1 $((now - phase_t))s")
        phase_t=$now
}
say() { echo "[selinux-guest $(($(date +%s) - T0))s] $*"; }

require_root
host_tools=(qemu-system-x86_64 debootstrap cpio zstd python3)
missing() {
        local t
        for t in "${host_tools[@]}"; do command -v "$t" > /dev/null || return 0; done
        return 1
}
if missing; then
        # scripts/dev deps installs them; a bare `ctest -L selinux-guest` on a fresh machine too.
        say "installing qemu-system-x86 debootstrap cpio zstd"
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                        qemu-system-x86 debootstrap cpio zstd python3; } > /dev/null 2>&1 || true
        missing && skip "QEMU cannot run here: qemu-system-x86_64/debootstrap missing and not installable"
fi
if [ "$ACCEL" = kvm ]; then cpu=host; else cpu=qemu64; fi # qemu64: no AVX to emulate, ~25% faster
make_tmpdir

# --- 1. the cached image ------------------------------------------------------------------------
# The guest gets the same Debian packages that hold the libraries the binaries under test link
# (the host is bookworm too), found from the binaries themselves.
libpkgs=$(for b in "$AVCWATCHD" "$AVCCTL"; do ldd "$b"; done | awk '/=> \// {print $3}' | sort -u |
        while read -r l; do
                p=$(dpkg -S "$l" 2> /dev/null || dpkg -S "/usr$l" 2> /dev/null ||
                        dpkg -S "${l#/usr}" 2> /dev/null) || fail "no Debian package holds $l"
                echo "${p%%:*}"
        done | sort -u | tr '\n' ' ')
export AVCWATCH_SELINUX_MODULE=$AVCWATCH_SOURCE_DIR/selinux
key=$( (find "$here/build-image.sh" "$here/tools" "$here/image" "$AVCWATCH_SELINUX_MODULE" -type f |
        sort | xargs cat
        echo "$libpkgs ${AVCWATCH_GUEST_DAEMON_PERMISSIVE:-0}") | sha256sum | cut -c1-16)
image=$cache_root/$key
mkdir -p "$cache_root"
exec {cache_lock}> "$cache_root/.lock"
flock "$cache_lock"
if [ ! -s "$image/base.cpio" ] || [ ! -s "$image/vmlinux" ]; then
        say "building the guest image $key (packages: $libpkgs)"
        "$here/build-image.sh" "$image" $libpkgs || fail "building the guest image failed"
        # Keep the two newest images: a changed recipe does not fill the disk.
        ls -1dt "$cache_root"/*/ 2> /dev/null | tail -n +3 | xargs -r rm -rf
        phase "image-build"
else
        say "guest image $key from the cache"
        phase "image-cached"
fi
flock -u "$cache_lock"

# --- 2. the project, installed the way a package would install it ----------------------------------
stage=$T/stage
DESTDIR=$stage cmake --install "$build" --prefix /usr > "$T/install.log" ||
        fail "cmake --install failed: $(cat "$T/install.log")"
[ -x "$stage/usr/sbin/avcwatchd" ] && [ -x "$stage/usr/bin/avcctl" ] ||
        fail "cmake --install did not install avcwatchd and avcctl: $(cat "$T/install.log")"
[ -e "$stage/usr/lib/systemd/system/avcwatchd.service" ] ||
        fail "cmake --install did not install avcwatchd.service: $(cat "$T/install.log")"
cp -a "$here/guest/." "$stage/"
mkdir -p "$stage/etc/avcwatch-guest"
# Every path the harness adds, directories too (/etc/avcwatch ...), for restorecon in the guest.
(cd "$stage" && find . -mindepth 1 | sed 's|^\.||') > "$stage/etc/avcwatch-guest/overlay.list"
(cd "$stage" && find . -mindepth 1 | cpio -o -H newc --quiet) > "$T/project.cpio"
cat "$image/base.cpio" "$T/project.cpio" > "$T/initrd.cpio"
phase "install"

# --- 3. boot -----------------------------------------------------------------------------------------
mkdir -p "$runs"
run=$runs/run-$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$run"
ln -sfn "$(basename "$run")" "$runs/latest"
cp "$image/image.info" "$run/"
say "booting ($ACCEL); console in $run/console.log"
rc=0
timeout "$GUEST_TIMEOUT" qemu-system-x86_64 -machine "q35,accel=$ACCEL" -cpu "$cpu" -smp 2 -m 2048 \
        -nographic -no-reboot -nodefaults \
        -serial "file:$run/console.log" -serial "file:$run/results.txt" \
        -kernel "$image/vmlinux" -initrd "$T/initrd.cpio" \
        -append "console=ttyS0 selinux=1 security=selinux enforcing=1 audit=1 panic=-1 loglevel=4 audit_backlog_limit=8192 systemd.unit=avcwatch-guest.target systemd.show_status=0" \
        < /dev/null > "$T/qemu.log" 2>&1 || rc=$?
rm -f "$T/initrd.cpio"
phase "guest"
[ "$rc" -ne 124 ] || fail "the guest did not power off within ${GUEST_TIMEOUT}s (console: $run/console.log)"
[ "$rc" -eq 0 ] || fail "qemu exited with status $rc: $(cat "$T/qemu.log")"
python3 - "$run" <<'PY' || fail "cannot decode the guest's results"
import base64, re, sys
run = sys.argv[1]
name, buf = None, []
for l in open(run + "/results.txt", encoding="ascii", errors="replace"):
    l = l.rstrip("\r\n")
    m = re.match(r"=== BEGIN (\S+) rc=(\d+)$", l)
    if m:
        name, buf = m.group(1), []
        open(run + "/" + name + ".rc", "w").write(m.group(2) + "\n")
    elif l.startswith("=== END ") and name:
        data = base64.b64decode("".join(buf))
        open(run + "/" + ("audit.log" if name == "auditlog" else name), "wb").write(data)
        name = None
    elif name:
        buf.append(l)
PY
grep -q '^=== DONE' "$run/results.txt" ||
        fail "the guest's workload did not finish; console: $(tail -n 40 "$run/console.log")"
for s in query-json query-raw stats; do
        [ "$(cat "$run/$s.rc")" = 0 ] || fail "avcctl ($s) failed in the guest: $(cat "$run/$s")"
done

# --- 4. replay the artefact, judge -------------------------------------------------------------------
start_daemon --input "$run/audit.log"
wait_for 60 input_eof || fail "the replay of $run/audit.log did not finish"
avcctl -o json query > "$run/replay-json"
stop_daemon
phase "replay"
result=0
python3 "$here/check.py" "$run" "$run/replay-json" > "$run/check.txt" 2>&1 || result=$?
cat "$run/check.txt"
phase "check"
printf '%s\n' "${timings[@]}" "total $(($(date +%s) - T0))s" > "$run/timings.txt"
say "timings: $(tr '\n' ' ' < "$run/timings.txt")"
ls -1dt "$runs"/run-* | tail -n +$((keep_runs + 1)) | xargs -r rm -rf
[ "$result" -eq 0 ] || fail "the guest's results do not hold (artefacts: $run)"
say "PASS; artefacts in $run"
