#!/usr/bin/env bash
# Sourced by the triage tests: the binary policy they triage against, built once and cached under
# the build directory ($AVCWATCH_BUILD_DIR/triage-policy/policy), keyed by the versions of the
# packages it comes from: refpolicy (selinux-policy-default) with refpolicy's own container module
# built from selinux-policy-src, as the SELinux guest does (tests/selinux-guest/build-image.sh),
# installed with `semodule -p` into a private copy of the module store, so that no SELinux needs
# to be enabled here and the host's store is not touched (about 30 s).
#
#   triage_policy_build            sets $policy; skips the test without the packages
#   triage_policy_with_boolean B   sets $policy_b: the same policy with boolean B on by default
#                                  (booleans.local in the private store, rebuilt: what
#                                  `setsebool -P B 1` does), cached too

need() {
        command -v "$1" > /dev/null || skip "$1 is not installed (Debian: $2)"
}
need semodule policycoreutils
need make make
need zstd zstd
[ -f /usr/share/selinux/devel/Makefile ] || skip "no policy Makefile (Debian: selinux-policy-dev)"
[ -f /usr/src/selinux-policy-src.tar.zst ] ||
        skip "no refpolicy source (Debian: selinux-policy-src)"
[ -d /var/lib/selinux/default ] ||
        skip "no refpolicy module store /var/lib/selinux/default (Debian: selinux-policy-default)"
[ -r /var/lib/selinux/default/active ] ||
        skip "the module store /var/lib/selinux/default is readable by root only"


triage_policy_build() {
        local cache=$AVCWATCH_BUILD_DIR/triage-policy stamp built
        stamp=$(dpkg-query -W -f '${Package}=${Version} ' selinux-policy-default selinux-policy-src \
                selinux-policy-dev policycoreutils libsemanage2 2> /dev/null || true)
        exec 9> "$cache.lock"
        flock 9
        if [ ! -f "$cache/policy" ] || [ "$(cat "$cache/stamp" 2> /dev/null)" != "$stamp" ]; then
                echo "building refpolicy with the container module into $cache (once)"
                rm -rf "$cache"
                mkdir -p "$cache/module" "$cache/root/var/lib/selinux" "$cache/root/etc"
                tar -C "$cache/module" --zstd -xf /usr/src/selinux-policy-src.tar.zst --strip-components=4 \
                        selinux-policy-src/policy/modules/services/container.te \
                        selinux-policy-src/policy/modules/services/container.fc
                # container.if is in selinux-policy-dev's headers already: only .te and .fc here
                (cd "$cache/module" && make -s -f /usr/share/selinux/devel/Makefile container.pp) \
                        > "$cache/make.log" 2>&1 || {
                        cat "$cache/make.log"
                        fail "container.pp did not build"
                }
                cp -a /var/lib/selinux/default "$cache/root/var/lib/selinux/"
                cp -a /etc/selinux "$cache/root/etc/"
                semodule -p "$cache/root" -s default -n -i "$cache/module/container.pp" \
                        > "$cache/semodule.log" 2>&1 || {
                        cat "$cache/semodule.log"
                        fail "semodule could not build the policy"
                }
                built=$(ls "$cache"/root/etc/selinux/default/policy/policy.* 2> /dev/null | head -n1)
                [ -n "$built" ] || fail "semodule built no policy file"
                cp "$built" "$cache/policy"
                echo "$stamp" > "$cache/stamp"
        fi
        exec 9>&-
        policy=$cache/policy
}

triage_policy_with_boolean() {
        local cache=$AVCWATCH_BUILD_DIR/triage-policy name=$1 dir
        dir=$cache/with-$name
        [ -f "$cache/policy" ] || fail "triage_policy_with_boolean before triage_policy_build"
        exec 9> "$cache.lock"
        flock 9
        if [ ! -f "$dir/policy" ] || [ "$dir/policy" -ot "$cache/policy" ]; then
                echo "building the policy with $name on into $dir (once)"
                rm -rf "$dir"
                mkdir -p "$dir"
                cp -a "$cache/root" "$dir/root"
                echo "$name=1" >> "$dir/root/var/lib/selinux/default/active/booleans.local"
                semodule -p "$dir/root" -s default -n -B > "$dir/semodule.log" 2>&1 || {
                        cat "$dir/semodule.log"
                        fail "semodule could not rebuild the policy with $name on"
                }
                cp "$(ls "$dir"/root/etc/selinux/default/policy/policy.* | head -n1)" "$dir/policy"
                rm -rf "$dir/root"
        fi
        exec 9>&-
        policy_b=$dir/policy
}
