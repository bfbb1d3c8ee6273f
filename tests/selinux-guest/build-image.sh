#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the cacheable part of the SELinux test guest into DIR (usage: build-image.sh DIR
# [EXTRA-PACKAGE...]): Debian bookworm's stock kernel as an uncompressed ELF (DIR/vmlinux, booted
# through its PVH entry: no in-guest decompression under TCG) and an initramfs (DIR/base.cpio)
# holding refpolicy (selinux-policy-default, MCS) plus refpolicy's own container and podman
# modules built from selinux-policy-src, systemd, auditd, podman + crun, and the EXTRA packages
# (the runtime libraries of the binaries under test). Nothing of the project is in here: the
# harness appends it per run as a second cpio.
# Needs root, apt access to a Debian mirror and about 1 GB in DIR's parent while it builds; the
# result is about 250 MB. See docs/selinux-guest.md for the why of every step.
set -euo pipefail

out=${1:?usage: build-image.sh DIR [PACKAGE...]}
shift
extra=("$@")
here=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s)
ts() { echo "[image $(($(date +%s) - T0))s] $*"; }

# The mirror apt already uses (deb822 sources on Debian 12, else sources.list).
mirror=${AVCWATCH_GUEST_MIRROR:-}
if [ -z "$mirror" ]; then
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2> /dev/null || true)
fi
if [ -z "$mirror" ]; then
        mirror=$(awk '$1 == "deb" && $0 ~ /bookworm/ {print ($2 ~ /^\[/ ? $3 : $2); exit}' \
                /etc/apt/sources.list 2> /dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

work="$out.tmp"
umount "$work/rootfs" 2> /dev/null || true
rm -rf "$work"
mkdir -p "$work"
cd "$work"
rootfs=$work/rootfs

# Packages in the guest. netavark: podman wants its network backend even for --network none
# (and debootstrap does not resolve the virtual container-network-stack that pulls it in).
# selinux-policy-dev/-src and python3-selinux only serve the build (module
# compilation, label computation) and are left out of the initramfs.
# policycoreutils-python-utils: audit2why, the oracle the daemon's triage is compared with
# inside the guest (python3 and the part of its closure audit2why uses, below: about 40 MB more
# in the initramfs).
GUEST_PKGS=(dash grep sed findutils coreutils util-linux mount policycoreutils attr auditd busybox-static
        libselinux1 systemd podman crun conmon golang-github-containers-common netavark
        policycoreutils-python-utils "${extra[@]}")
BUILD_PKGS=(selinux-policy-default selinux-policy-dev selinux-policy-src selinux-utils
        python3-selinux)
include=$(printf '%s,' "${GUEST_PKGS[@]}" "${BUILD_PKGS[@]}")

# Every mount below is undone however the build ends.
cleanup() {
        umount "$rootfs/proc" "$rootfs/sys" 2> /dev/null || true
        umount "$rootfs" 2> /dev/null || true # the bind mount of the podman step
        if [ -n "${rootfs_tmpfs:-}" ]; then umount "$rootfs" 2> /dev/null || true; fi
}
trap cleanup EXIT
# The rootfs is scratch (only the initramfs made from it is kept): build it in a tmpfs, where
# dpkg's many fsyncs cost nothing (debootstrap takes 2-4 min on disk here).
mkdir -p "$rootfs"
if [ "${AVCWATCH_GUEST_KEEP_ROOTFS:-0}" != 1 ]; then
        mount -t tmpfs -o size=4G,mode=0755 tmpfs "$rootfs"
        rootfs_tmpfs=1
fi

ts "debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include="${include%,}" bookworm "$rootfs" "$mirror" \
        > debootstrap.log 2>&1 || {
        tail -n 30 debootstrap.log
        exit 1
}

ts "refpolicy's container and podman modules (Debian ships their source, not the .pp), avcwatch's"
mkdir -p "$rootfs/root/pol"
# The project's own module (selinux/ in the checkout), built the way a packager would.
cp "${AVCWATCH_SELINUX_MODULE:?the selinux/ directory of the checkout}"/avcwatch.{te,if,fc} "$rootfs/root/pol/"
tar -C "$rootfs/root/pol" --zstd -xf "$rootfs/usr/src/selinux-policy-src.tar.zst" \
        --strip-components=4 \
        selinux-policy-src/policy/modules/services/container.te \
        selinux-policy-src/policy/modules/services/container.fc \
        selinux-policy-src/policy/modules/services/podman.te \
        selinux-policy-src/policy/modules/services/podman.fc
# refpolicy 2.20221101's podman_t lacks rules crun needs (open /proc/sys, mounton /proc/kcore,
# ...): the engine domains are permissive; container_t, the domain under test, stays enforcing.
printf '(typepermissive podman_t)\n(typepermissive podman_conmon_t)\n' \
        > "$rootfs/root/pol/engines_permissive.cil"
# A developer's knob for extending avcwatch.te: the daemon's domain permissive, so one boot shows
# every access it makes (in the run's avcs-other section).
if [ "${AVCWATCH_GUEST_DAEMON_PERMISSIVE:-0}" = 1 ]; then
        echo '(typepermissive avcwatchd_t)' >> "$rootfs/root/pol/engines_permissive.cil"
fi
# No "semodule -v": with libsepol 3.4 it turns a harmless duplicate filecon in spamassassin.fc
# into "Found conflicting filecon rules ... semodule: Failed!".
chroot "$rootfs" sh -c 'cd /root/pol &&
        make -s -f /usr/share/selinux/devel/Makefile container.pp podman.pp avcwatch.pp > make.log 2>&1 &&
        semodule -i container.pp podman.pp avcwatch.pp engines_permissive.cil' > semodule.log 2>&1 || {
        cat semodule.log "$rootfs/root/pol/make.log"
        exit 1
}
chroot "$rootfs" semodule -l > modules.txt
grep -qx container modules.txt && grep -qx podman modules.txt && grep -qx avcwatch modules.txt || {
        echo "container/podman/avcwatch modules not installed"
        exit 1
}

ts "kernel"
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || {
        echo "no linux-image package found (apt-get update?)"
        exit 1
}
mkdir -p debs && chmod 777 debs
(cd debs && apt-get download -q "$kpkg" > /dev/null 2>&1)
mkdir kernel && dpkg-deb -x debs/"$kpkg"_*.deb kernel
# The uncompressed ELF (PVH entry point) boots without the in-guest xz decompressor, seconds
# faster under TCG.
python3 - kernel/boot/vmlinuz-* vmlinux <<'PY'
import lzma, sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"\xfd7zXZ\x00")
open(sys.argv[2], "wb").write(lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[i:]))
PY

ts "container images (imported at build time: one podman import costs ~25 s under TCG)"
cp -a "$here/image/." "$rootfs/"
# podman needs /proc and /sys (cgroup version), and applies layers from a chroot that remounts
# "/": the rootfs is bind-mounted on itself so that its / is a mount point.
mount --bind "$rootfs" "$rootfs"
mount -t proc proc "$rootfs/proc"
mount -t sysfs sysfs "$rootfs/sys"
# Two images that differ (their own /etc/image), from one static busybox: no registry is
# reachable, and a real image name is what the daemon must report.
chroot "$rootfs" sh -e -c '
        for img in avc-alpha:1 avc-beta:2; do
                rm -rf /tmp/img && mkdir -p /tmp/img/bin /tmp/img/etc /tmp/img/proc /tmp/img/sys /tmp/img/dev
                cp /usr/bin/busybox /tmp/img/bin/
                for a in sh cat sleep touch echo; do ln -s busybox /tmp/img/bin/$a; done
                echo "$img" > /tmp/img/etc/image
                (cd /tmp/img && busybox tar -cf /tmp/img.tar .)
                podman import -q /tmp/img.tar "localhost/$img" > /dev/null
        done
        rm -rf /tmp/img /tmp/img.tar /run/containers /run/libpod
        podman images --format "{{.Repository}}:{{.Tag}} {{.ID}}"' > images.txt 2> podman.log || {
        cat podman.log
        exit 1
}
umount "$rootfs/proc" "$rootfs/sys"
umount "$rootfs"
cat images.txt

ts "initramfs"
cp "$here/tools/closure.sh" "$here/tools/genlabels.py" "$rootfs/tmp/"
# Left out too: what audit2why imports only if it can (sepolgen's policygen tries setools,
# audit2allow tries sepolicy for the booleans' descriptions). The reason comes from the C
# module selinux.audit2why either way; with them each run imports ~600 python modules instead
# of ~110 (networkx, pkg_resources ...), about three times the time, tens of seconds under TCG.
chroot "$rootfs" sh /tmp/closure.sh "${GUEST_PKGS[@]}" |
        grep -v -E '^(debconf|dpkg|init-system-helpers|tar|lsb-base)$' |
        grep -v -E '^python3-(setools|networkx|sepolicy|pkg-resources)$' > pkgs.txt
{
        # shellcheck disable=SC2046
        chroot "$rootfs" dpkg -L $(cat pkgs.txt)
        (cd "$rootfs" && find etc var/lib/containers | sed 's|^|/|')
        printf '%s\n' / /bin /sbin /lib /lib64 /usr /usr/local /root /tmp /run /proc /sys /dev /mnt \
                /var /var/lib /var/log /var/tmp /var/run /usr/lib64 /dev/console /dev/null \
                /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx
} | grep -v -x '/\.' | grep -v -E '^/usr/share/(doc|man|locale|info|lintian|bug)(/|$)' |
        sed -E 's#^/(bin|sbin|lib|lib64)/#/usr/\1/#' | sort -u |
        while read -r p; do
                if [ -e "$rootfs$p" ] || [ -L "$rootfs$p" ]; then echo ".$p"; fi
        done > files.rel
# The usrmerge symlinks (/bin -> usr/bin, ...) are listed themselves; add missing parents, and
# the byte code the packages' scripts compiled at install time (dpkg -L does not list it;
# without it python compiles every module it imports on each run, seconds under TCG).
python3 - files.rel "$rootfs" <<'PY'
import glob, os, sys
s = set(l.rstrip("\n") for l in open(sys.argv[1]))
root = sys.argv[2]
for p in list(s):
    if p.endswith(".py"):
        d, f = os.path.split(p)
        for c in glob.glob(os.path.join(root, d, "__pycache__", f[:-3] + ".cpython-*.pyc")):
            s.add(os.path.join(d, "__pycache__", os.path.basename(c)))
for p in list(s):
    d = os.path.dirname(p)
    while d not in ("", ".") and d not in s:
        s.add(d)
        d = os.path.dirname(d)
s.discard(".")
open(sys.argv[1], "w").write("\n".join(sorted(s)) + "\n")
PY
(cd "$rootfs" && while read -r p; do
        if [ -L "$p" ]; then t=l; elif [ -d "$p" ]; then t=d; elif [ -c "$p" ]; then t=c
        elif [ -b "$p" ]; then t=b; else t=f; fi
        echo "$t ${p#./}"
done < "$work/files.rel"
        echo "d "
        echo "f etc/selinux-labels.dump") | sort -k2 -u > filelist.txt
chroot "$rootfs" python3 /tmp/genlabels.py < filelist.txt > selinux-labels.dump
mkdir -p extra/etc && cp selinux-labels.dump extra/etc/
(cd "$rootfs" && cpio -o -H newc --quiet < "$work/files.rel") > base.cpio
(cd extra && find . -mindepth 1 | cpio -o -H newc --quiet) >> base.cpio
{
        echo "kernel $kpkg"
        chroot "$rootfs" dpkg-query -W -f='${Package} ${Version}\n' $(cat pkgs.txt)
} > image.info

ts "done: $(wc -l < files.rel) files, base.cpio $(du -m base.cpio | cut -f1) MB, vmlinux $(du -m vmlinux | cut -f1) MB"
if [ "${AVCWATCH_GUEST_KEEP_ROOTFS:-0}" != 1 ]; then
        cleanup
        rm -rf "$rootfs" kernel debs
fi
rm -rf "$out"
mv "$work" "$out"
