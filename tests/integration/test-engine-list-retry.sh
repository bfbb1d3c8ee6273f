#!/usr/bin/env bash
# An engine whose container list fails (HTTP 500: not ready yet, or failing for a while) while
# its event stream is up: the client does not stay "connected" without knowing the containers
# that already exist; it says so, reconnects with its backoff and lists again, and then knows
# them. The fake engine (hostile-engine.py, FAIL_LISTS=2) stands in for a failing one; no root.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

make_tmpdir
FAIL_LISTS=2 start_bg python3 "$(dirname "$AVCWATCH_TESTLIB")/hostile-engine.py" "$T/engine.sock"
wait_for 5 test -S "$T/engine.sock" || fail "the fake engine did not start"
printf '[Engines]\nDocker=%s\nPodman=\nProcScan=no\n' "$T/engine.sock" > "$T/conf"
CONFIG=$T/conf start_daemon --input /dev/null

listed() { # the list's first container, known with its categories
        avcctl -o json containers | python3 -c '
import json, sys
sys.exit(0 if any(json.loads(l)["mcs"] == "c1,c2" for l in sys.stdin) else 1)'
}
# Backoff 1 s then 2 s after the two failures: well inside 15 s.
wait_for 15 listed || fail "the containers of a list that failed twice were never learnt: $(avcctl -o json stats)"
grep -q "container list" "$T/daemon.log" || fail "the failing list was not said in the log"
stop_daemon
echo "engine list retry: learnt after two failed lists"
