#!/usr/bin/env bash
# A hostile engine (tests/integration/hostile-engine.py) against the engine client's bounds: an
# event line over ENGINE_EVENT_LINE_MAX is skipped and counted while the stream and the next
# event go on; an inspect body over ENGINE_RESPONSE_MAX and an inspect that never answers
# (ENGINE_REQUEST_TIMEOUT_USEC) fail and are counted, and the containers queued behind them are
# still inspected; events cut into awkward chunks are reassembled; a name full of terminal
# escapes is kept exactly in JSON and escaped on the screen; a name and an image that are not
# UTF-8 (no real engine sends them: Go's JSON encoder cannot) are unknown, never shown as the
# Latin-1 characters the bytes would read back as ("ÿþ"). Needs no root: the daemon reads
# /dev/null and only talks to the fake engine.
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
stop_daemon
echo "hostile engine: oversized event skipped, oversized and silent inspects bounded"
