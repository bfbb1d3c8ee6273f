#!/usr/bin/env bash
# Socket activation as avcwatchd.socket does it, with systemd's own systemd-socket-activate for
# the API socket and tests/integration/socket-launcher.py for the audit netlink socket:
#  A. systemd-socket-activate starts the daemon on the first connection; that very connection is
#     served; the daemon uses the passed socket (its own --socket path stays unused) and leaves
#     it in place at exit; an unexpected fd is closed with a warning.
#  B. (root) the audit socket bound by the "service manager" before the daemon exists: denials
#     sent before the daemon started wait in its buffer and are all stored; fds are named.
#  C. (root) with both sockets passed, the daemon needs no privilege at all: it runs as nobody
#     without capabilities, stores the denials, and keeps the receive buffer it was given (which
#     it could not have set itself); without the passed audit socket it refuses to start and
#     says what is missing.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

command -v systemd-socket-activate > /dev/null || skip "no systemd-socket-activate"
make_tmpdir
LAUNCHER=$(dirname "$AVCWATCH_TESTLIB")/socket-launcher.py

exe_of() {
        basename "$(readlink "/proc/$1/exe")"
}

# ---- A: the API socket --------------------------------------------------------------------------
python3 "$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py" --denials 50 --seed 3 > "$T/in.log"
start_bg python3 "$LAUNCHER" --extra -- systemd-socket-activate -l "$T/sock" \
        "$AVCWATCHD" --config /dev/null --db "$T/db" --socket "$T/unused.sock" \
        --input "$T/in.log" >> "$T/daemon.log" 2>&1
activator=$BG_PID
wait_for 5 test -S "$T/sock" || fail "systemd-socket-activate did not listen"
sleep 0.3 # kept: time in which the daemon must NOT start (nothing to wait for)
[ "$(exe_of "$activator")" = systemd-socket-activate ] || fail "the daemon ran before any connection"
# the first connection starts the daemon (systemd-socket-activate execs it: same pid) and is served
AVC_SOCKET=$T/sock
avcctl -o json stats > /dev/null || fail "the activating connection was not served"
DAEMON_PID=$activator
[ "$(exe_of "$DAEMON_PID")" = avcwatchd ] || fail "pid $DAEMON_PID is not the daemon"
wait_for 10 input_eof || fail "import did not finish"
[ "$(json_field "$(avcctl -o json stats)" denials_stored)" -eq 50 ] || fail "not 50 denials stored"
[ ! -e "$T/unused.sock" ] || fail "the daemon created its own socket although one was passed"
grep -q "Using the API socket passed by the service manager (fd 4" "$T/daemon.log" ||
        fail "the daemon does not say it uses the passed socket"
grep -q "serving $T/sock\." "$T/daemon.log" || fail "the daemon does not name the socket it serves"
# fd 3 was the stray socket (passed through first), fd 4 the API socket
grep -q "Closing unexpected file descriptor 3" "$T/daemon.log" || fail "the stray fd was not reported"
stray=$(sed -n 's/^stray fd: //p' "$T/daemon.log")
[ -n "$stray" ] || fail "the launcher did not name the stray socket"
for fd in /proc/"$DAEMON_PID"/fd/*; do
        [ "$(readlink "$fd")" != "$stray" ] || fail "the unexpected $stray is still open as $fd"
done
stop_daemon
[ -S "$T/sock" ] || fail "the daemon removed a socket it did not create"

# ---- B: the audit socket, passed before the daemon runs ------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "A passed; B and C need root (CAP_AUDIT_READ, CAP_AUDIT_WRITE)"
require_audit_netlink
mark=sa$$$(printf '%04x' $((RANDOM % 65536)))
# (systemd would start the daemon at the first record; here it starts when told to.) The
# buffer is the shipped unit's ReceiveBuffer=64M: until the daemon runs it holds every record of
# the host's audit stream, and other writers' records (another test, a benchmark's injector)
# would fill the kernel's default of about 200 KiB in a fraction of a second, before this test's
# are sent.
start_bg python3 "$LAUNCHER" --netlink --rcvbuf $((64 << 20)) --unix "$T/sock-b" \
        --wait-for "$T/go" -- "$AVCWATCHD" --config /dev/null --db "$T/db-b" \
        --socket "$T/unused.sock" --input netlink >> "$T/daemon.log" 2>&1
DAEMON_PID=$BG_PID
wait_for 5 test -S "$T/sock-b" || fail "the launcher did not create the sockets"
# sent while no daemon runs: they wait in the passed socket's buffer
inject --count 100 --mark "$mark" > /dev/null || fail "inject failed"
[ "$(exe_of "$DAEMON_PID")" != avcwatchd ] || fail "the daemon ran too early"
touch "$T/go"
AVC_SOCKET=$T/sock-b
has() { [ "$(count_lines avcctl -o json query --comm "$1" --limit 1000)" -eq "$2" ]; }
wait_for 10 has "$mark" 100 || fail "$(count_lines avcctl -o json query --comm "$mark" \
        --limit 1000) of the 100 denials sent before the daemon started were stored"
[ "$(json_field "$(avcctl -o json stats)" input)" = netlink ] || fail "input is not netlink"
grep -q "Using the audit socket passed by the service manager (fd 4, audit)" "$T/daemon.log" ||
        fail "the daemon does not say it uses the passed audit socket"
stop_daemon

# ---- C: no privilege at all ----------------------------------------------------------------------
chmod 0711 "$T"
mkdir -m 0700 "$T/nobody" && chown 65534:65534 "$T/nobody"
rcvbuf=$((8 * 1024 * 1024)) # forced by the "service manager"; nobody could not set it
: > "$T/daemon-c.log"
start_bg python3 "$LAUNCHER" --unix "$T/sock-c" --netlink --rcvbuf "$rcvbuf" --user 65534:65534 \
        -- "$AVCWATCHD" --config /dev/null --db "$T/nobody/db" --socket "$T/nobody/unused.sock" \
        --input netlink >> "$T/daemon-c.log" 2>&1
DAEMON_PID=$BG_PID
AVC_SOCKET=$T/sock-c
wait_for 10 avcctl stats || fail "the unprivileged daemon does not answer: $(cat "$T/daemon-c.log")"
status=$(cat "/proc/$DAEMON_PID/status")
awk '$1 == "Uid:" {exit $2 != 65534}' <<< "$status" || fail "not running as nobody"
awk '$1 == "CapEff:" || $1 == "CapPrm:" {if ($2 != "0000000000000000") exit 1}' <<< "$status" ||
        fail "capabilities left: $(grep Cap <<< "$status")"
inject --count 5 --mark "u$mark" > /dev/null || fail "inject failed"
wait_for 10 has "u$mark" 5 || fail "the unprivileged daemon did not store the denials"
# it could not force its own 64 MiB, and kept the 8 MiB (16 MiB as the kernel counts) it was given
grep -q "receive buffer is $((2 * rcvbuf)) bytes" "$T/daemon-c.log" ||
        fail "the passed receive buffer was not kept: $(grep -i buffer "$T/daemon-c.log")"
stop_daemon

# without the passed audit socket, nobody cannot bind the multicast group: a clear refusal
rc=0
setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all "$AVCWATCHD" --config /dev/null \
        --db "$T/nobody/db2" --socket "$T/nobody/sock2" --input netlink > "$T/refused.log" 2>&1 ||
        rc=$?
[ "$rc" -eq 1 ] || fail "exit status $rc without the audit socket, expected 1"
grep -q "CAP_AUDIT_READ is needed, or the socket passed by the service manager" "$T/refused.log" ||
        fail "the refusal does not say why: $(cat "$T/refused.log")"
echo PASS
