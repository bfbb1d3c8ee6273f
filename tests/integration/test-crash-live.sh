#!/usr/bin/env bash
# kill -9 at random moments during heavy live ingest through the kernel: an injector sends
# denials without pause while the daemon is killed and restarted five times. After each kill the
# database passes PRAGMA integrity_check and holds at least every denial the daemon had reported
# committed; each restarted daemon resumes storing; at the end the newest are each stored once.
# (test-crash-safety does the same for imports, without root.)
set -euo pipefail
source "$AVCWATCH_TESTLIB"

setup_kernel_test sqlite3

RATE=${CRASH_RATE:-5000}
ROUNDS=5
mark=cl$$
# A source type of this run's own, the only domain its daemon keeps: store_denials is the
# daemon's whole, compared with the file's rows while other writers on the shared audit stream
# (other tests, a benchmark's injector) may still be sending container_t denials.
domain=${mark}_t
scontext=system_u:system_r:$domain:s0:c1,c2
printf '[Filter]\nDomains=%s\n' "$domain" > "$T/conf"
CONFIG=$T/conf
stat() { stats_field "$1"; }

start_daemon --input netlink
start_bg "$AVCWATCH_INJECT" --rate "$RATE" --duration 60 --mark "$mark" --scontext "$scontext"
injector=$BG_PID

for round in $(seq "$ROUNDS"); do
        # Storing has begun (again), then a random moment later (the sleep is the test: kill -9
        # lands anywhere in the write path) ...
        base=$(stat store_denials)
        grows() { [ "$(stat store_denials)" -gt "$base" ]; }
        wait_for 15 grows || fail "round $round: the daemon does not store"
        sleep "0.$((RANDOM % 9 + 1))"
        before=$(stat store_denials)
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2> /dev/null || true
        DAEMON_PID=
        rm -f "$AVC_SOCKET" # left behind: start_daemon waits for the new one
        check=$(sqlite3 "$T/db" "PRAGMA integrity_check")
        [ "$check" = ok ] || fail "round $round: integrity_check says: $check"
        after=$(sqlite3 "$T/db" "SELECT count(*) FROM denials")
        echo "round $round: $before reported committed before kill -9, $after in the file after"
        [ "$after" -ge "$before" ] || fail "round $round: committed denials lost ($before -> $after)"
        start_daemon --input netlink
done

kill "$injector" 2> /dev/null || true
wait "$injector" 2> /dev/null || true
wait_ingested "z$mark" 30 --scontext "$scontext" # the last batch: everything the injector sent is committed
stored=$(stat store_denials)
[ "$stored" -eq "$(sqlite3 "$T/db" "SELECT count(*) FROM denials")" ] || fail "stats and file disagree"
# The newest 2000: each sent once, stored once (a kernel record reaches a socket once; a restarted
# daemon's socket gets only new ones).
avcctl -o json query --reverse --comm "$mark" --limit 2000 > "$T/last.json"
python3 - "$T/last.json" "$mark" <<'PY' || fail "duplicates or strangers in the store"
import json, sys
names = [json.loads(l)["name"] for l in open(sys.argv[1])]
assert len(names) == 2000, len(names)
assert len(set(names)) == len(names), "%d stored twice" % (len(names) - len(set(names)))
for n in names:
    m, _, i = n.rpartition(".")
    assert m == sys.argv[2] and i.isdigit(), n
PY
[ "$(sqlite3 "$T/db" "PRAGMA integrity_check")" = ok ] || fail "final integrity_check failed"
stop_daemon
echo "crash safety (live): $ROUNDS x kill -9 during kernel ingest, integrity kept, $stored stored"
