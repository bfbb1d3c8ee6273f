# SPDX-License-Identifier: MIT
# Shared helpers for the integration tests: sourced (never run) by tests/integration/test-*.sh,
# which CTest starts with AVCWATCHD, AVCCTL, AVCWATCH_INJECT, AVCWATCH_CORPUS_DIR and
# AVCWATCH_TESTLIB (this file) in the environment.
#
# Every test runs the real daemon on a private temp directory ($T): database $T/db, socket
# $T/sock, log $T/daemon.log (all runs appended). Cleanup on exit stops whatever is still running;
# the directory is removed on success and kept on failure for a post-mortem.
#
#   skip MSG / require_root / require_audit_netlink     exit 77 with the reason (a failure in
#                                                       CI with AVC_MUST_RUN_IN_CI=1)
#   require_commands CMD...                             exit 77 unless each CMD is installed
#   make_tmpdir                                         sets T, installs the cleanup trap
#   setup_kernel_test [CMD...]                          all of the above, for a test that
#                                                       injects through the kernel
#   asan_small_quarantine                               for tests that bound the daemon's RSS
#   start_daemon [ARGS]                                 DB=, SOCK=, CONFIG=, STDIN= override
#                                                       the defaults
#   stop_daemon                                         SIGTERM, expects exit status 0
#   avcctl ARGS / inject ARGS                           the client and the injector
#   wait_for SECONDS CMD...                             polls CMD until it succeeds
#   wait_until SECONDS 'CONDITION'                      polls a shell condition, re-evaluated
#   wait_ingested MARK [SECONDS [INJECT-ARGS]]          a barrier through the kernel: one
#                                                       denial injected and waited for
#   json_field JSON KEY                                 one top-level value, as JSON text
#   stats_field KEY [JSON]                              one value of `avcctl -o json stats`
#   stats_at_least KEY N                                that value is N or more (for wait_for)
#   denials_kept N                                      rows stored + denials folded into them
#                                                       are exactly N (live input coalesces)
#   fake_container [PARENT [PREFIX]]                    a process in a docker-<id>.scope cgroup
#                                                       (or PARENT/PREFIX<id>.scope)
#   input_eof                                           the daemon's input reached its end
#   start_journald NS                                   a private systemd-journald namespace
#   terminate PID SECONDS                               SIGTERM, SIGKILL after SECONDS, reaped
#   fail MSG                                            prints, dumps the daemon log, exits 1

set -euo pipefail

# Bounds on the waits, so that a hung daemon fails the test instead of the CTest timeout.
AVC_START_TIMEOUT=${AVC_START_TIMEOUT:-10}
AVC_STOP_TIMEOUT=${AVC_STOP_TIMEOUT:-20}
AVC_LOG_TAIL=${AVC_LOG_TAIL:-200}

T=
DAEMON_PID=
AVC_SOCKET=
AVC_BG_PIDS=()
AVC_CGROUPS=() # removed (deepest first) by the cleanup, once the processes are gone

# A test run with AVC_MUST_RUN_IN_CI=1 (CTest sets it for the label cri) never skips in CI (CI
# set and not "false", as .ci/run and most CI services set it): what would be its SKIP fails.
skip() {
        if [ "${AVC_MUST_RUN_IN_CI:-0}" = 1 ] && [ -n "${CI:-}" ] && [ "$CI" != false ]; then
                fail "cannot run here, and this test must run in CI (CI=$CI): $*"
        fi
        echo "SKIP: $*"
        exit 77
}

require_root() {
        [ "$(id -u)" -eq 0 ] || skip "needs root"
}

# The kernel's audit multicast group, as the daemon binds it (needs CAP_AUDIT_READ). Every
# reader sees every injected record, so tests that use it run one at a time on this machine, also
# across separate ctest runs (CTest's RESOURCE_LOCK covers only one run): an flock held until the
# test exits.
AVC_NETLINK_LOCK=${AVC_NETLINK_LOCK:-/tmp/avcwatch-audit-netlink.lock}
# The lock's fd is closed in every process a test starts (start_daemon, start_bg): a daemon
# orphaned by a killed test must not hold the machine's lock forever.
AVC_NETLINK_LOCK_FD=
require_audit_netlink() {
        exec {AVC_NETLINK_LOCK_FD}>> "$AVC_NETLINK_LOCK"
        flock "$AVC_NETLINK_LOCK_FD"
        python3 - <<'PY' || skip "cannot bind the kernel audit multicast group (CAP_AUDIT_READ?)"
import socket
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)  # NETLINK_AUDIT
s.bind((0, 1))                                             # AUDIT_NLGRP_READLOG
PY
}

require_commands() {
        local c
        for c in "$@"; do
                command -v "$c" > /dev/null || skip "$c is not installed"
        done
}

dump_log() {
        if [ -n "$T" ] && [ -s "$T/daemon.log" ]; then
                echo "---- daemon log (last $AVC_LOG_TAIL lines of $T/daemon.log) ----" >&2
                tail -n "$AVC_LOG_TAIL" "$T/daemon.log" >&2
                echo "----" >&2
        fi
}

fail() {
        echo "FAIL: $*" >&2
        dump_log
        exit 1
}

_require_env() {
        local v
        for v in AVCWATCHD AVCCTL AVCWATCH_INJECT; do
                [ -n "${!v:-}" ] && [ -x "${!v}" ] || fail "\$$v is not an executable: '${!v:-}'"
        done
}

_cleanup() {
        local rc=$?
        local p
        for p in "${AVC_BG_PIDS[@]}"; do
                kill "$p" 2> /dev/null || true
                wait "$p" 2> /dev/null || true
        done
        for p in "${AVC_CGROUPS[@]}"; do
                rmdir "$p" 2> /dev/null || true
        done
        stop_journald
        if [ -n "$DAEMON_PID" ]; then
                kill -TERM "$DAEMON_PID" 2> /dev/null || true
                wait "$DAEMON_PID" 2> /dev/null || true
        fi
        if [ -n "$T" ] && [ -d "$T" ]; then
                if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then
                        rm -rf "$T"
                else
                        echo "kept $T for inspection" >&2
                fi
        fi
        exit "$rc"
}

make_tmpdir() {
        _require_env
        T=$(mktemp -d /tmp/avcwatch-test.XXXXXX)
        trap _cleanup EXIT
        trap 'exit 130' INT TERM
}

# The set-up of a test that injects denials through the kernel: root, the audit multicast group
# (held for the whole test), the commands it needs besides ours, then $T.
setup_kernel_test() { # [CMD...]
        require_root
        require_audit_netlink
        require_commands "$@"
        make_tmpdir
}

# Under ASan, freed memory waits in a quarantine (256 MiB by default) before reuse, which would
# count against a bound on the daemon's memory: keep it small, so that the peak still measures
# what the daemon holds (plus ASan's redzones and shadow). Before start_daemon.
asan_small_quarantine() {
        if [ "${AVCWATCH_SANITIZE:-0}" = 1 ]; then
                export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
        fi
}

# Runs a command in the background and has the cleanup kill it; sets BG_PID.
# Execs "$@" without the audit netlink lock's fd (see require_audit_netlink). Meant for a
# background subshell, "( _exec_without_lock CMD ) &", whose pid becomes CMD's.
_exec_without_lock() {
        if [ -n "$AVC_NETLINK_LOCK_FD" ]; then
                exec {AVC_NETLINK_LOCK_FD}>&-
        fi
        exec "$@"
}

start_bg() {
        (_exec_without_lock "$@") &
        BG_PID=$!
        AVC_BG_PIDS+=("$BG_PID")
}

daemon_alive() {
        [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2> /dev/null
}

start_daemon() {
        [ -n "$T" ] || fail "start_daemon before make_tmpdir"
        [ -z "$DAEMON_PID" ] || fail "start_daemon: already running ($DAEMON_PID)"
        local db=${DB:-$T/db} config=${CONFIG:-/dev/null}
        AVC_SOCKET=${SOCK:-$T/sock}
        local i

        echo "==== avcwatchd --db $db --socket $AVC_SOCKET $* ($(date +%T.%N))" >> "$T/daemon.log"
        (_exec_without_lock "$AVCWATCHD" --config "$config" --db "$db" --socket "$AVC_SOCKET" \
                "$@") < "${STDIN:-/dev/null}" >> "$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        for ((i = 0; i < AVC_START_TIMEOUT * 10; i++)); do
                if [ -S "$AVC_SOCKET" ]; then
                        return 0
                fi
                if ! daemon_alive; then
                        local rc=0
                        wait "$DAEMON_PID" || rc=$?
                        DAEMON_PID=
                        fail "avcwatchd exited with status $rc during start-up"
                fi
                sleep 0.1
        done
        fail "avcwatchd did not create $AVC_SOCKET within ${AVC_START_TIMEOUT}s"
}

stop_daemon() {
        [ -n "$DAEMON_PID" ] || fail "stop_daemon: no daemon running"
        local pid=$DAEMON_PID rc=0 i

        kill -TERM "$pid" 2> /dev/null || true
        for ((i = 0; i < AVC_STOP_TIMEOUT * 10; i++)); do
                kill -0 "$pid" 2> /dev/null || break
                sleep 0.1
        done
        if kill -0 "$pid" 2> /dev/null; then
                kill -KILL "$pid" 2> /dev/null || true
                wait "$pid" 2> /dev/null || true
                DAEMON_PID=
                fail "avcwatchd did not exit within ${AVC_STOP_TIMEOUT}s of SIGTERM"
        fi
        wait "$pid" || rc=$?
        DAEMON_PID=
        [ "$rc" -eq 0 ] || fail "avcwatchd exited with status $rc after SIGTERM, expected 0"
}

avcctl() {
        "$AVCCTL" --socket "${AVC_SOCKET:-$T/sock}" "$@"
}

inject() {
        "$AVCWATCH_INJECT" "$@"
}

# wait_for SECONDS CMD [ARGS...]: 0 as soon as CMD succeeds, 1 after SECONDS. Fails the test at
# once if the daemon died meanwhile.
wait_for() {
        local secs=$1 i
        shift
        for ((i = 0; i < secs * 10; i++)); do
                if "$@" > /dev/null 2>&1; then
                        return 0
                fi
                if [ -n "$DAEMON_PID" ] && ! daemon_alive; then
                        fail "avcwatchd died while waiting for: $*"
                fi
                sleep 0.1
        done
        return 1
}

# wait_until SECONDS 'SHELL CONDITION': like wait_for, but the condition is evaluated afresh at
# every poll. (wait_for 10 test "$(x)" -eq 0 would expand $(x) once, before the first poll, and
# wait on that stale value.)
wait_until() {
        local secs=$1
        shift
        wait_for "$secs" eval "$*"
}

# json_field JSON KEY: the top-level KEY of one JSON object; strings bare, everything else as
# JSON text (true, null, 42, [...]).
json_field() {
        python3 -c '
import json, sys
v = json.loads(sys.argv[1])[sys.argv[2]]
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# stats_field KEY [JSON]: KEY of the daemon's stats (or of JSON, stats taken earlier).
stats_field() {
        json_field "${2:-$(avcctl -o json stats)}" "$1"
}

# stats_at_least KEY N: the daemon's counter KEY has reached N (wait_for stats_at_least ...).
stats_at_least() {
        [ "$(stats_field "$1")" -ge "$2" ]
}

# denials_kept N: the denials the store keeps are exactly N: live input folds storms of identical
# denials into one row with a count, so they are the rows stored plus the denials folded.
denials_kept() {
        local s
        s=$(avcctl -o json stats)
        [ $(($(json_field "$s" denials_stored) + $(json_field "$s" denials_coalesced))) -eq "$1" ]
}

# wait_ingested MARK [SECONDS [INJECT-ARGS...]]: injects one denial (comm MARK; INJECT-ARGS such
# as the --scontext of a test's own domain) through the kernel and waits until it is stored. The
# daemon reads its socket in order and commits in order, so afterwards every record the kernel
# delivered before it has been read, and every denial of them committed (or counted as dropped).
# MARK must be new (a query by comm finds it alone).
wait_ingested() {
        local mark=$1 secs=${2:-30}
        shift $(($# < 2 ? $# : 2))
        inject --count 1 --mark "$mark" "$@" > /dev/null || fail "inject failed"
        wait_until "$secs" '[ "$(count_lines avcctl -o json query --comm "$mark")" -eq 1 ]' ||
                fail "the marker denial $mark was not stored within ${secs}s: $(avcctl -o json stats)"
}

input_eof() {
        [ "$(json_field "$(avcctl -o json stats)" input_eof)" = true ]
}

# complete WORD...: what the bash completion offers for the command line WORD... (the last word
# is the one being completed), one per line; avcctl found on PATH as an interactive shell would.
complete_words() {
        PATH="$(dirname "$AVCCTL"):$PATH" bash -c 'source "$1"; shift; COMP_WORDS=("$@");
                COMP_CWORD=$(($# - 1)); _avcctl; printf "%s\n" "${COMPREPLY[@]}"' _ \
                "$AVCWATCH_SOURCE_DIR/shell-completion/bash/avcctl" "$@"
}

# count_lines CMD...: the number of lines CMD prints (fails the test if CMD fails).
count_lines() {
        local out
        out=$("$@") || fail "command failed: $*"
        if [ -z "$out" ]; then
                echo 0
        else
                printf '%s\n' "$out" | wc -l
        fi
}

# fake_container: a process (sleep) moved into a real cgroup laid out like a container engine's
# (docker's systemd driver: .../docker-<64 hex>.scope), so that /proc/<pid>/cgroup names a
# container. Sets FAKE_CONTAINER_ID and FAKE_CONTAINER_PID; the cleanup removes both. Needs root
# and a writable cgroup hierarchy (the v1 pids controller on hybrid hosts, else the unified one),
# else SKIP.
fake_container() { # [PARENT [PREFIX]]: default avcwatch-test-$$.slice docker- (docker-<id>.scope)
        local hier= h group parent=${1:-avcwatch-test-$$.slice} prefix=${2:-docker-}
        for h in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
                if [ -f "$h/cgroup.procs" ] && [ -w "$h" ]; then
                        hier=$h
                        break
                fi
        done
        [ -n "$hier" ] || skip "no writable cgroup hierarchy"
        FAKE_CONTAINER_ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
        group="$hier/$parent/$prefix$FAKE_CONTAINER_ID.scope"
        mkdir -p "$group" || skip "cannot create cgroups under $hier"
        AVC_CGROUPS+=("$group" "$(dirname "$group")")
        start_bg sleep 300
        FAKE_CONTAINER_PID=$BG_PID
        echo "$FAKE_CONTAINER_PID" > "$group/cgroup.procs" ||
                skip "cannot move a process into $group"
        grep -q "$prefix$FAKE_CONTAINER_ID.scope" "/proc/$FAKE_CONTAINER_PID/cgroup" ||
                fail "the process is not in $group"
}

# start_journald NS: a private systemd-journald instance, namespace NS, volatile storage, running
# once its sockets are there (/run/systemd/journal.NS/{socket,stdout}); the cleanup stops it and
# removes its files. Returns 1 with the reason in JOURNALD_WHY_NOT when it cannot run here.
JOURNALD=/lib/systemd/systemd-journald
JOURNALD_NS=
JOURNALD_PID=
JOURNALD_WHY_NOT=
start_journald() {
        local ns=$1 machine_id conf
        [ "$(id -u)" -eq 0 ] || { JOURNALD_WHY_NOT="a real journald needs root"; return 1; }
        [ -x "$JOURNALD" ] || { JOURNALD_WHY_NOT="no $JOURNALD"; return 1; }
        command -v journalctl > /dev/null || { JOURNALD_WHY_NOT="no journalctl"; return 1; }
        machine_id=$(cat /etc/machine-id 2> /dev/null || true)
        [ -n "$machine_id" ] || { JOURNALD_WHY_NOT="no /etc/machine-id, journald cannot run"; return 1; }
        conf=/run/systemd/journald@$ns.conf.d
        JOURNALD_NS=$ns
        JOURNALD_FILES=("$conf" "/run/systemd/journal.$ns" "/run/log/journal/$machine_id.$ns"
                "/var/log/journal/$machine_id.$ns")
        mkdir -p "$conf"
        printf '[Journal]\nStorage=volatile\n' > "$conf/volatile.conf"
        (_exec_without_lock "$JOURNALD" "$ns") > "$T/journald.log" 2>&1 &
        JOURNALD_PID=$!
        if ! wait_for 10 test -S "/run/systemd/journal.$ns/socket" -a \
                -S "/run/systemd/journal.$ns/stdout"; then
                JOURNALD_WHY_NOT="systemd-journald did not start: $(cat "$T/journald.log")"
                return 1
        fi
}

# terminate PID SECONDS: SIGTERM to a child of ours, SIGKILL if it still runs SECONDS later (a
# stuck helper must not hang the test), then reaped.
terminate() {
        local pid=$1 i
        kill -TERM "$pid" 2> /dev/null || true
        for ((i = 0; i < $2 * 10; i++)); do
                kill -0 "$pid" 2> /dev/null || break
                sleep 0.1
        done
        kill -KILL "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
}

stop_journald() {
        if [ -n "$JOURNALD_PID" ]; then
                terminate "$JOURNALD_PID" 5
                JOURNALD_PID=
        fi
        if [ -n "$JOURNALD_NS" ]; then
                rm -rf "${JOURNALD_FILES[@]}"
                JOURNALD_NS=
        fi
}
