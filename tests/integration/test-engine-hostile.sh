#!/usr/bin/env bash
# A hostile engine (tests/integration/hostile-engine.py) against the engine client's bounds: an
# event line over ENGINE_EVENT_LINE_MAX is skipped and counted while the stream and the next
# event go on; an inspect body over ENGINE_RESPONSE_MAX and an inspect that never answers
# (ENGINE_REQUEST_TIMEOUT_USEC) fail and are counted, and the containers queued behind them are
# still inspected; events cut into awkward chunks are reassembled; a name full of terminal
# escapes is kept exactly in JSON and escaped on the screen; a name and an image that are not
# UTF-8 (no real engine sends them: Go's JSON encoder cannot) are unknown, never shown as the
# Latin-1 characters the bytes would read back as ("ÿþ"); last_error says what happened in words.
# Then a flood (70,000 start events, lists that leave them out): `avcctl stats` answers within
# 100 ms all along, a full registry is said as such, repeated failures are rate-limited.
# Needs no root: the daemon reads /dev/null and only talks to the fake engine.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

make_tmpdir
start_bg python3 "$(dirname "$AVCWATCH_TESTLIB")/hostile-engine.py" "$T/engine.sock"
wait_for 5 test -S "$T/engine.sock" || fail "the fake engine did not start"
printf '[Engines]\nDocker=%s\nPodman=\nProcScan=no\n' "$T/engine.sock" > "$T/conf"
CONFIG=$T/conf start_daemon --input /dev/null

known() { # NAME: listed with its categories
        avcctl -o json containers | python3 -c '
import json, sys
sys.exit(0 if any(json.loads(l)["name"] == sys.argv[1] and json.loads(l)["mcs"]
                  for l in sys.stdin) else 1)' "$1"
}
# The start event after the oversized one, and the list's first container.
wait_for 10 known evt || fail "the event after an oversized one was lost: $(avcctl -o json containers)"
wait_for 10 known $'\e]0;owned\aweb' || fail "the listed container was not inspected"
engine() { # python expression over e (the docker engine's stats)
        avcctl -o json stats | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["engines"] if e["name"] == "docker"][0]
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}
engine 'e["state"] == "connected" and e["connects"] == 1' ||
        fail "the oversized event cost the stream: $(avcctl -o json stats)"
# big fails at once, slow after the request deadline (10 s); "after" waits behind them.
wait_for 20 known after || fail "the container queued behind the slow one was never inspected"
# (bad is listed before big: inspected by now, its strings refused, not the whole container)
engine 'e["failures"] >= 3 and e["inspects"] == 4 and e["connects"] == 1' ||
        fail "failures not counted: $(avcctl -o json stats)"
avcctl containers > "$T/short.txt"
if grep -q $'\e' "$T/short.txt"; then
        fail "a raw escape reached the screen"
fi
grep -q 'x1b' "$T/short.txt" || fail "the escaped name is not shown: $(cat "$T/short.txt")"
# bad: known by its id and categories, its name and image unknown
avcctl -o json containers | python3 -c '
import json, sys
bad = [o for o in map(json.loads, sys.stdin) if o["id"] == format(6, "064x")]
assert len(bad) == 1 and bad[0]["mcs"] == "c7,c8", bad
assert bad[0]["name"] is None and bad[0]["image"] is None, bad
' || fail "strings that are not UTF-8 were taken from the engine: $(avcctl -o json containers)"
if grep -q $'\xc3\xbf\|\xff' "$T/short.txt"; then
        fail "bytes that are not UTF-8 reach the screen as characters: $(cat "$T/short.txt")"
fi
engine '(e["last_error"] and "Argument list" not in e["last_error"]
        and "No buffer space" not in e["last_error"])' ||
        fail "last_error borrows an errno: $(avcctl -o json stats)"
stop_daemon

# A flood (FLOOD=N: N start events of containers that exist nowhere, more than the registry
# holds, then lists that leave them out): the loop keeps answering within 100 ms all along
# (the engine's reads and the removals the lists imply are done in bounded steps), a full
# registry says so in words, and repeated failures are not logged one line each.
FLOOD=70000
start_bg env FLOOD=$FLOOD python3 "$(dirname "$AVCWATCH_TESTLIB")/hostile-engine.py" \
        "$T/flood.sock"
wait_for 5 test -S "$T/flood.sock" || fail "the flooding engine did not start"
printf '[Engines]\nDocker=%s\nPodman=\nProcScan=no\n' "$T/flood.sock" > "$T/conf-flood"
CONFIG=$T/conf-flood DB=$T/db-flood SOCK=$T/sock-flood start_daemon --input /dev/null
bound=100
[ "${AVCWATCH_SANITIZE:-0}" = 1 ] && bound=1000 # ASan/UBSan: every call is several times slower
# A machine with more runnable tasks than CPUs leaves the daemon waiting for one, whatever it
# does: then the bound is what the load allows, and said so.
if awk -v n="$(nproc)" '{ exit !($1 > n) }' /proc/loadavg; then
        bound=$((bound * 3))
        echo "load $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs: stats bound ${bound} ms"
fi
# Stats over the daemon's socket, timed from the request to the whole answer (no process start
# in the measure), every 50 ms until every event was read and the removals the last list
# implies are logged, and 2 s more.
python3 - "$AVC_SOCKET" "$T/daemon.log" "$FLOOD" "$bound" > "$T/flood.out" 2>&1 <<'PY' ||
import json, socket, sys, time
path, log, flood, bound = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
worst, asked, flooded, start = 0.0, 0, None, time.monotonic()
while time.monotonic() - start < 120:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t0 = time.monotonic()
    s.sendall(b'{"method":"io.avcwatch.Stats"}\0')
    data = b""
    while not data.endswith(b"\0"):
        d = s.recv(65536)
        if not d:
            sys.exit("the daemon closed the connection")
        data += d
    ms = (time.monotonic() - t0) * 1000
    s.close()
    asked += 1
    worst = max(worst, ms)
    if ms > bound:
        sys.exit("stats took %.0f ms during the flood (bound %d ms)" % (ms, bound))
    e = [e for e in json.loads(data[:-1])["parameters"]["engines"] if e["name"] == "docker"][0]
    if flooded is None and e["events"] >= flood:
        flooded = time.monotonic()
    if (flooded is not None and time.monotonic() - flooded > 2 and
            "were removed while docker was not followed" in open(log).read()):
        print("flood: %d stats answered during it, the slowest in %.0f ms" % (asked, worst))
        sys.exit(0)
    time.sleep(0.05)
sys.exit("the flood was not over within 120 s: %s" % e)
PY
        fail "$(cat "$T/flood.out")"
cat "$T/flood.out"
grep -q "were removed while docker was not followed" "$T/daemon.log" ||
        fail "the containers the lists left out were not marked removed"
! grep -q "No space left on device" "$T/daemon.log" || fail "a full registry is not a full disk"
grep -q "registry full" "$T/daemon.log" || fail "a full registry was not said"
failed=$(grep -c "Failed to record" "$T/daemon.log" || true)
[ "$failed" -le 30 ] || fail "$failed lines of 'Failed to record': not rate-limited"
# The lines left out are counted when their 10 s window ends.
wait_for 15 grep -q "more docker container(s) (messages suppressed)" "$T/daemon.log" ||
        fail "the suppressed failures are not counted in the log"
engine '(e["last_error"] is None or ("Argument list" not in e["last_error"]
        and "No buffer space" not in e["last_error"]))' ||
        fail "last_error borrows an errno: $(avcctl -o json stats)"
stop_daemon
echo "hostile engine: oversized event skipped, oversized and silent inspects bounded"
