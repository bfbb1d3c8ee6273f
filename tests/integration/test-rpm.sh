#!/usr/bin/env bash
# packaging/avcwatch.spec, with Debian's rpm (rpmbuild, rpmspec 4.18): the spec parses (for
# Fedora >= 42, older Fedora and RHEL alike), the source RPM is built from the files git tracks
# in this checkout (committed or not), and the binary RPMs avcwatch and avcwatch-selinux are
# built with `rpmbuild -bb --nodeps`, which fails on any installed file that %files does not
# list. Their contents are checked: every file `cmake --install` puts in place, the configuration
# as %config(noreplace), the systemd scriptlets naming the units, the compressed policy module.
#
# Debian's rpm has none of Fedora's build macros (%cmake, %ctest, %systemd_*, %sysusers_*,
# %selinux_*, %_unitdir ...): the binary build loads minimal stand-ins for them, written below
# and printed, for building here only. Compiling, installing, %files and the policy module
# (against Debian's refpolicy headers, selinux-policy-dev) are real; the scriptlets are no-ops
# that only show which units and files they were given (but %pre creates the group). rpmlint (if installed) finds no error
# beyond those packaging/avcwatch.rpmlintrc filters, each with its reason. See packaging/README.md.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

[ -d "${AVCWATCH_SOURCE_DIR:-}" ] || fail "\$AVCWATCH_SOURCE_DIR is not set"
for tool in rpmbuild rpmspec rpm; do
        command -v "$tool" > /dev/null || skip "no $tool (Debian package rpm)"
done
command -v git > /dev/null && git -C "$AVCWATCH_SOURCE_DIR" rev-parse --git-dir > /dev/null 2>&1 ||
        skip "not a git checkout: the tarball is made from the files git tracks"
[ -f /usr/share/selinux/devel/Makefile ] ||
        skip "no /usr/share/selinux/devel/Makefile (selinux-policy-dev) for the -selinux subpackage"
make_tmpdir
SRC=$AVCWATCH_SOURCE_DIR
SPEC=$SRC/packaging/avcwatch.spec
TOP=$T/rpmbuild
mkdir -p "$TOP"/{SOURCES,SPECS,SRPMS,RPMS,BUILD,BUILDROOT}
RPMDEFS=(--define "_topdir $TOP")

# ---- the spec parses, and says the project's version ------------------------------------------
version=$(sed -n 's/^project(avcwatch VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt"
spec_version=$(rpmspec -q --srpm --qf '%{VERSION}\n' "$SPEC" 2> "$T/rpmspec.err") ||
        fail "rpmspec -q: $(cat "$T/rpmspec.err")"
[ "$spec_version" = "$version" ] || fail "spec Version $spec_version, CMakeLists.txt $version"
for dist in "" "fedora 41" "fedora 42" "rhel 9" "rhel 10"; do
        defs=()
        [ -z "$dist" ] || defs=(--define "$dist")
        rpmspec -P "${defs[@]}" "$SPEC" > "$T/parsed" 2> "$T/rpmspec.err" ||
                fail "rpmspec -P ${dist:-(no dist)}: $(cat "$T/rpmspec.err")"
        ! grep -q . "$T/rpmspec.err" || fail "rpmspec -P ${dist:-(no dist)} warns: $(cat "$T/rpmspec.err")"
        # users: rpm itself from Fedora 42 on, a %pre scriptlet before and on RHEL
        if [ "$dist" = "fedora 42" ]; then
                ! grep -q 'sysusers_create_compat' "$T/parsed" || fail "$dist: %sysusers_create_compat"
        else
                grep -q '^%sysusers_create_compat .*avcwatch.sysusers' "$T/parsed" ||
                        fail "${dist:-(no dist)}: no %sysusers_create_compat in %pre"
        fi
done
echo "rpmspec -P: parses for no dist, Fedora 41 and 42, RHEL 9 and 10"

# ---- the source tarball: the files git tracks, as they are in this working tree ----------------
tarball=$TOP/SOURCES/avcwatch-$version.tar.gz
(cd "$SRC" && git ls-files -z | while IFS= read -r -d '' f; do
        [ -e "$f" ] && printf '%s\0' "$f"
done) > "$T/files"
[ "$(tr -cd '\0' < "$T/files" | wc -c)" -gt 100 ] || fail "git ls-files lists almost nothing"
tar -C "$SRC" --null -T "$T/files" --transform "s,^,avcwatch-$version/," --owner=0 --group=0 \
        -czf "$tarball" || fail "tar failed"
cp "$SRC/systemd/avcwatch.sysusers" "$TOP/SOURCES/avcwatch.sysusers"

rpmbuild "${RPMDEFS[@]}" -bs "$SPEC" > "$T/bs.log" 2>&1 || fail "rpmbuild -bs: $(cat "$T/bs.log")"
srpm=$(ls "$TOP"/SRPMS/avcwatch-"$version"-1*.src.rpm)
rpm -qpl "$srpm" 2> /dev/null | sort > "$T/srpm.files"
printf '%s\n' avcwatch-"$version".tar.gz avcwatch.spec avcwatch.sysusers > "$T/srpm.expected"
diff -u "$T/srpm.expected" "$T/srpm.files" || fail "the source RPM holds other files"
echo "source RPM: $(basename "$srpm")"

# ---- the binary RPMs, with stand-ins for Fedora's macros ---------------------------------------
# Paths as Fedora's systemd-rpm-macros and redhat-rpm-config define them; the build macros as
# cmake-rpm-macros does, reduced to what they run; the scriptlet macros as shell no-ops, but
# %sysusers_create_compat, like the real one, reads the sysusers.d file when the spec is parsed
# and writes groupadd for its group lines (the only kind the file has).
cat > "$T/stand-ins.macros" <<'MACROS'
%_unitdir /usr/lib/systemd/system
%_sysusersdir /usr/lib/sysusers.d
%_tmpfilesdir /usr/lib/tmpfiles.d
%_journalcatalogdir /usr/lib/systemd/catalog
%_sharedstatedir /var/lib
%__cmake_builddir redhat-linux-build
%cmake %{set_build_flags} ; cmake -S . -B %{__cmake_builddir} -DCMAKE_INSTALL_PREFIX:PATH=%{_prefix} -DCMAKE_BUILD_TYPE=RelWithDebInfo
%cmake_build cmake --build %{__cmake_builddir} %{?_smp_mflags}
%cmake_install DESTDIR="%{buildroot}" cmake --install %{__cmake_builddir}
%ctest cd %{__cmake_builddir} && ctest --output-on-failure --force-new-ctest-process %{?_smp_mflags}
%systemd_post : stand-in for systemd_post:
%systemd_preun : stand-in for systemd_preun:
%systemd_postun_with_restart : stand-in for systemd_postun_with_restart:
%sysusers_create_compat() %(awk '$1 == "g" { print "getent group " $2 " >/dev/null || groupadd -r " $2 }' %1)
%selinux_relabel_pre : stand-in for selinux_relabel_pre:
%selinux_relabel_post : stand-in for selinux_relabel_post:
%selinux_modules_install : stand-in for selinux_modules_install:
%selinux_modules_uninstall : stand-in for selinux_modules_uninstall:
MACROS
echo "stand-ins for Fedora's macros (Debian's rpm has none of them), for this build only:"
sed 's/^/    /' "$T/stand-ins.macros"
echo "    (%{?systemd_requires}, %{?sysusers_requires_compat}, %{?selinux_requires}: left empty)"
echo "    %__brp_compress: Debian's brp-compress, run by bash (it needs bash; /bin/sh here is dash)"

# %check runs the unit and golden tests of the package's own build: the tarball is complete.
# An installed file that %files does not list fails the build (made explicit here).
# Debian's brp-compress (#!/bin/sh) uses bash's `read -d`: under dash it compresses nothing. Run
# by bash, as /bin/sh is on Fedora, it compresses the man pages as there.
rpmbuild "${RPMDEFS[@]}" --load "$T/stand-ins.macros" --define '_unpackaged_files_terminate_build 1' \
        --define "_smp_mflags -j$(nproc)" --define '__brp_compress bash /usr/lib/rpm/brp-compress %{?_prefix}' -bb --nodeps "$SPEC" > "$T/bb.log" 2>&1 ||
        fail "rpmbuild -bb: $(tail -40 "$T/bb.log")"
grep -q '100% tests passed' "$T/bb.log" && grep -q 'test-corpus .*Passed' "$T/bb.log" ||
        fail "%check did not run the unit and golden tests: $(grep -A3 ctest "$T/bb.log")"
main=$(ls "$TOP"/RPMS/*/avcwatch-"$version"-1*.rpm | grep -v -- -selinux-)
sel=$(ls "$TOP"/RPMS/noarch/avcwatch-selinux-"$version"-1*.noarch.rpm)
echo "binary RPMs: $(basename "$main") $(basename "$sel")"

# ---- what they hold ------------------------------------------------------------------------------
q() { rpm -qp "$@" 2> /dev/null; }
q -l "$main" | sort > "$T/main.files"
for f in /usr/bin/avcctl /usr/sbin/avcwatchd /usr/libexec/avcwatch/avcwatch-inject \
        /etc/avcwatch/avcwatchd.conf /usr/lib/systemd/system/avcwatchd.service \
        /usr/lib/systemd/system/avcwatchd.socket /usr/lib/systemd/system/avcwatchd-audit.socket \
        /usr/lib/sysusers.d/avcwatch.conf /usr/lib/tmpfiles.d/avcwatch.conf /var/lib/avcwatch \
        /run/avcwatch /usr/share/bash-completion/completions/avcctl \
        /usr/lib/systemd/catalog/avcwatch.catalog; do
        grep -qx -- "$f" "$T/main.files" || fail "avcwatch lacks $f: $(cat "$T/main.files")"
done
for page in man1/avcctl.1 man5/avcwatchd.conf.5 man8/avcwatchd.8; do
        grep -qx "/usr/share/man/$page.gz" "$T/main.files" || fail "avcwatch lacks $page.gz"
done
q --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$main" | grep -qx 'cn /etc/avcwatch/avcwatchd.conf' ||
        fail "avcwatchd.conf is not %config(noreplace): $(q --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$main")"
q --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$main" | grep -qx 'drwxr-x--- /var/lib/avcwatch' ||
        fail "/var/lib/avcwatch is not 0750"
# the unit installed names the installed daemon
rpm2cpio "$main" | (cd "$T" && mkdir x && cd x && cpio -idm --quiet)
grep -qx 'ExecStart=/usr/sbin/avcwatchd' "$T/x/usr/lib/systemd/system/avcwatchd.service" ||
        fail "packaged unit: $(grep ExecStart "$T/x/usr/lib/systemd/system/avcwatchd.service")"
"$T/x/usr/sbin/avcwatchd" --version | grep -qx "avcwatchd $version" || fail "packaged avcwatchd --version"

q --scripts "$main" > "$T/main.scripts"
for s in "systemd_post: avcwatchd.service avcwatchd.socket avcwatchd-audit.socket avcwatchd-metrics.socket" \
        "systemd_preun: avcwatchd.service avcwatchd.socket avcwatchd-audit.socket avcwatchd-metrics.socket" \
        "systemd_postun_with_restart: avcwatchd.service" \
        "getent group avcwatch >/dev/null || groupadd -r avcwatch"; do
        grep -q -- "$s" "$T/main.scripts" || fail "avcwatch's scriptlets lack '$s': $(cat "$T/main.scripts")"
done

q -l "$sel" | sort > "$T/sel.files"
for f in /usr/share/selinux/packages/targeted/avcwatch.pp.bz2 \
        /usr/share/selinux/devel/include/contrib/ipp-avcwatch.if \
        /var/lib/selinux/targeted/active/modules/200/avcwatch \
        /usr/share/avcwatch/selinux/avcwatch.te; do
        grep -qx -- "$f" "$T/sel.files" || fail "avcwatch-selinux lacks $f: $(cat "$T/sel.files")"
done
[ "$(q --qf '%{ARCH}' "$sel")" = noarch ] || fail "avcwatch-selinux is not noarch"
q -R "$sel" | grep -q "^avcwatch = $version-1" || fail "avcwatch-selinux does not require avcwatch"
q --scripts "$sel" > "$T/sel.scripts"
for s in "selinux_relabel_pre: -s targeted" \
        "selinux_modules_install: -s targeted /usr/share/selinux/packages/targeted/avcwatch.pp.bz2" \
        "selinux_modules_uninstall: -s targeted avcwatch" "selinux_relabel_post: -s targeted"; do
        grep -q -- "$s" "$T/sel.scripts" || fail "avcwatch-selinux's scriptlets lack '$s'"
done
# the module is a real policy package, with the daemon's file contexts
rpm2cpio "$sel" | (cd "$T" && mkdir y && cd y && cpio -idm --quiet)
bunzip2 -c "$T/y/usr/share/selinux/packages/targeted/avcwatch.pp.bz2" > "$T/avcwatch.pp"
if command -v semodule_unpackage > /dev/null; then
        (cd "$T" && semodule_unpackage avcwatch.pp avcwatch.mod avcwatch.fc) ||
                fail "the packaged module is not a policy package"
        grep -q '^/usr/sbin/avcwatchd.*avcwatchd_exec_t' "$T/avcwatch.fc" || fail "module file contexts"
else
        echo "no semodule_unpackage (semodule-utils): the module's contents not checked"
fi
# rpmlint over the spec and the three packages, with the project's filters (each says why)
if command -v rpmlint > /dev/null; then
        rc=0
        rpmlint -r "$SRC/packaging/avcwatch.rpmlintrc" "$SPEC" "$srpm" "$main" "$sel" \
                > "$T/rpmlint.log" 2>&1 || rc=$?
        grep -E ': [EW]: ' "$T/rpmlint.log" | sed 's/^/    rpmlint /' || true
        summary=$(grep -E '[0-9]+ errors, [0-9]+ warnings' "$T/rpmlint.log" || true)
        [ "$rc" -eq 0 ] && [[ "$summary" == *" 0 errors,"* ]] ||
                fail "rpmlint (exit $rc): $(grep -E ': E: ' "$T/rpmlint.log" || cat "$T/rpmlint.log")"
        echo "rpmlint: $summary"
else
        echo "no rpmlint (Debian package rpmlint): the packages were not linted"
fi
echo "built for real: the source RPM; avcwatch and avcwatch-selinux (compiled, installed, %check"
echo "  with the unit and golden tests, every installed file packaged, the module against Debian's"
echo "  refpolicy headers). Not real: Fedora's macros (stand-ins above, scriptlets are no-ops), the"
echo "  build dependencies (--nodeps), installing the packages on Fedora/RHEL."
echo PASS
