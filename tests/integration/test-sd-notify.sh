#!/usr/bin/env bash
# The service manager's notification protocol (sd_notify), with tests/integration/
# sd-notify-listener.py in place of systemd: every message comes from the daemon's own pid (what
# NotifyAccess=main accepts); READY=1 once; WATCHDOG=1 keeps arriving at less than WATCHDOG_USEC
# apart, also while a big import keeps the loop busy; STATUS= carries the live counters (the same
# figures as `avcctl stats`); SIGHUP gives RELOADING=1 then READY=1; SIGTERM gives STOPPING=1 and
# exit 0. As root, on the kernel's audit socket: READY=1 means the socket is bound (a denial sent
# right after READY=1 is stored), all capabilities are gone once ready, and no WATCHDOG=1 is sent
# without WATCHDOG_USEC.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

make_tmpdir
LISTENER=$(dirname "$AVCWATCH_TESTLIB")/sd-notify-listener.py
WATCHDOG_MS=1000

start_listener() { # NAME: socket $T/NAME.sock, log $T/NAME.log
        start_bg python3 "$LISTENER" "$T/$1.sock" "$T/$1.log"
        touch "$T/$1.log"
        wait_for 5 test -S "$T/$1.sock" || fail "the notify listener did not start"
}

# notify LOG QUERY [ARG]: asks the listener's log (see the python below) about $NOTIFY_PID.
notify() {
        python3 - "$NOTIFY_PID" "$@" <<'PY'
import json, sys
pid, log, query = int(sys.argv[1]), sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
msgs = [json.loads(l) for l in open(log)]
mine = [m for m in msgs if m["pid"] == pid]
def has(m, kv):
    k, _, v = kv.partition("=")
    return k in m["fields"] and (not v or m["fields"][k] == v)
if query == "count":        # messages carrying KEY[=VALUE]
    print(sum(1 for m in mine if has(m, arg)))
elif query == "foreign":    # messages not from the daemon
    print(len(msgs) - len(mine))
elif query == "status":     # the last STATUS=
    print(([m["fields"]["STATUS"] for m in mine if "STATUS" in m["fields"]] or [""])[-1])
elif query == "order":      # whether the KEY=VALUE items (comma separated) came in this order
    want, i = arg.split(","), 0
    for m in mine:
        if i < len(want) and has(m, want[i]):
            i += 1
    print("yes" if i == len(want) else "no")
elif query == "watchdog":   # "N MAXGAP_MS" of the WATCHDOG=1 pings
    t = [m["t"] for m in mine if has(m, "WATCHDOG=1")]
    gaps = [b - a for a, b in zip(t, t[1:])]
    print(len(t), int(max(gaps, default=0) * 1000))
PY
}
notify_has() { # LOG KEY[=VALUE] [N]: at least N (1) such messages
        [ "$(notify "$1" count "$2")" -ge "${3:-1}" ]
}
status_says() { # LOG TEXT: the last STATUS= contains TEXT
        notify "$1" status | grep -qF -- "$2"
}

# ---- A: file input, watchdog on, no root needed ----------------------------------------------
python3 "$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py" --denials 30000 \
        --containers 20 --seed 5 > "$T/big.log"
start_listener a
NOTIFY_SOCKET=$T/a.sock WATCHDOG_USEC=$((WATCHDOG_MS * 1000)) start_daemon --input "$T/big.log"
NOTIFY_PID=$DAEMON_PID
wait_for 10 notify_has "$T/a.log" READY=1 || fail "no READY=1"
wait_for 60 input_eof || fail "the import did not finish"
# the watchdog keeps going once the loop is idle again: two more pings (and the gap before them)
n=$(notify "$T/a.log" count WATCHDOG=1)
wait_until 5 '[ "$(notify "$T/a.log" count WATCHDOG=1)" -ge $((n + 2)) ]' ||
        fail "WATCHDOG=1 stopped arriving once idle"
read -r pings gap <<< "$(notify "$T/a.log" watchdog)"
echo "watchdog: $pings pings, longest gap ${gap} ms (WATCHDOG_USEC ${WATCHDOG_MS} ms)"
[ "$pings" -ge 3 ] || fail "only $pings WATCHDOG=1 with WATCHDOG_USEC=${WATCHDOG_MS}ms"
[ "$gap" -lt "$WATCHDOG_MS" ] || fail "WATCHDOG=1 gap of $gap ms: systemd would have killed us"
n=$(notify "$T/a.log" count WATCHDOG=1)
wait_until 5 '[ "$(notify "$T/a.log" count WATCHDOG=1)" -gt "$n" ]' ||
        fail "WATCHDOG=1 stopped arriving"

stored=$(json_field "$(avcctl -o json stats)" denials_stored)
[ "$stored" -eq 30000 ] || fail "stored $stored of 30000 denials"
wait_for 5 status_says "$T/a.log" "$stored denials stored" ||
        fail "STATUS= does not say '$stored denials stored': $(notify "$T/a.log" status)"
echo "status: $(notify "$T/a.log" status)"
# the periodic line follows the counters: a client connected now is counted in the next one
start_bg "$AVCCTL" --socket "$AVC_SOCKET" tail -f > /dev/null
wait_for 5 status_says "$T/a.log" "1 clients, 1 tailing" ||
        fail "STATUS= did not follow a new client: $(notify "$T/a.log" status)"

[ "$(notify "$T/a.log" count READY=1)" -eq 1 ] || fail "READY=1 sent more than once"
kill -HUP "$DAEMON_PID"
wait_for 5 notify_has "$T/a.log" READY=1 2 || fail "no READY=1 after SIGHUP"
[ "$(notify "$T/a.log" order READY=1,RELOADING=1,READY=1)" = yes ] ||
        fail "SIGHUP did not give RELOADING=1 then READY=1"
notify_has "$T/a.log" MONOTONIC_USEC || fail "RELOADING=1 without MONOTONIC_USEC="
stop_daemon
notify_has "$T/a.log" STOPPING=1 || fail "no STOPPING=1 on SIGTERM"
[ "$(notify "$T/a.log" order READY=1,STOPPING=1)" = yes ] || fail "STOPPING=1 before READY=1"
[ "$(notify "$T/a.log" foreign)" -eq 0 ] || fail "notifications from another pid than the daemon"

# ---- B: the kernel's audit socket (root), no watchdog --------------------------------------
[ "$(id -u)" -eq 0 ] || skip "part A passed; part B needs root (CAP_AUDIT_READ, CAP_AUDIT_WRITE)"
require_audit_netlink
start_listener b
mark=nt$$$(printf '%04x' $((RANDOM % 65536)))
NOTIFY_SOCKET=$T/b.sock start_daemon --db "$T/db-b" --input netlink
NOTIFY_PID=$DAEMON_PID
wait_for 10 notify_has "$T/b.log" READY=1 || fail "no READY=1 on netlink"
# sent the moment READY=1 is seen: the socket must already be bound
inject --count 1 --mark "$mark" > /dev/null || fail "inject failed"
wait_until 10 '[ "$(count_lines avcctl -o json query --comm "$mark")" -eq 1 ]' ||
        fail "the denial sent right after READY=1 was not stored"

status=$(cat "/proc/$DAEMON_PID/status")
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
        v=$(awk -v f="$f:" '$1 == f {print $2}' <<< "$status")
        [ "$v" = 0000000000000000 ] || fail "$f is $v once ready, expected none"
done
awk '$1 == "NoNewPrivs:" {exit $2 != 1}' <<< "$status" || fail "no_new_privs not set"
stop_daemon
[ "$(notify "$T/b.log" count WATCHDOG=1)" -eq 0 ] || fail "WATCHDOG=1 without WATCHDOG_USEC"
notify_has "$T/b.log" STOPPING=1 || fail "no STOPPING=1"
echo "PASS"
