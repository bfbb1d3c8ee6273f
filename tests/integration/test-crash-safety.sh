#!/usr/bin/env bash
# kill -9 at random moments during heavy ingest: after each kill the database passes
# PRAGMA integrity_check, every denial the daemon had reported stored is still there, and a
# restarted daemon resumes (the same file again: what was stored is skipped as duplicate, the rest
# is added), ending with exactly the file's denials. No root needed.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

command -v sqlite3 > /dev/null || skip "sqlite3 (the CLI) is not installed"
make_tmpdir
DENIALS=${CRASH_DENIALS:-150000}
python3 "$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py" --denials "$DENIALS" \
        --containers 50 --seed 7 > "$T/audit.log"

for round in 1 2 3 4 5; do
        start_daemon --input "$T/audit.log"
        # A random moment within the import (it takes a few seconds).
        sleep "$((RANDOM % 2)).$((RANDOM % 9 + 1))"
        before=$(json_field "$(avcctl -o json stats)" store_denials)
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2> /dev/null || true
        DAEMON_PID=
        rm -f "$AVC_SOCKET"
        check=$(sqlite3 "$T/db" "PRAGMA integrity_check")
        [ "$check" = ok ] || fail "round $round: integrity_check says: $check"
        after=$(sqlite3 "$T/db" "SELECT count(*) FROM denials")
        echo "round $round: $before reported stored before kill -9, $after in the file after"
        [ "$after" -ge "$before" ] || fail "round $round: committed denials lost ($before -> $after)"
done

start_daemon --input "$T/audit.log"
wait_for 120 input_eof || fail "the last import did not finish"
stored=$(json_field "$(avcctl -o json stats)" store_denials)
[ "$stored" -eq "$DENIALS" ] || fail "after the crashes: $stored denials stored, expected $DENIALS"
[ "$(sqlite3 "$T/db" "PRAGMA integrity_check")" = ok ] || fail "final integrity_check failed"
stop_daemon
echo "crash safety: 5 x kill -9, integrity ok, $stored denials at the end"
