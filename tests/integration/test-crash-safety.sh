#!/usr/bin/env bash
# kill -9 at random moments during heavy ingest: after each kill the database passes
# PRAGMA integrity_check and every denial the daemon had reported stored is still there. Each
# round imports new records, so every kill lands while the daemon is writing. At the end a
# restarted daemon imports all the rounds' files again: what was stored is skipped as duplicate,
# the rest is added, ending with exactly every denial of every file, each with its raw text as
# the file has it. No root needed.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

command -v sqlite3 > /dev/null || skip "sqlite3 (the CLI) is not installed"
make_tmpdir
DENIALS=${CRASH_DENIALS:-60000} # per round
gen=$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py

for round in 1 2 3 4 5; do
        # A day apart: no two rounds share an audit stamp.
        python3 "$gen" --denials "$DENIALS" --containers 50 --seed "$round" \
                --start $((1713600000 + round * 86400)) > "$T/audit-$round.log"
        start_daemon --input "$T/audit-$round.log"
        # A random moment within the import (it takes a few seconds): the sleep is the test.
        sleep "0.$((RANDOM % 9 + 1))"
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

cat "$T"/audit-*.log > "$T/all.log"
start_daemon --input "$T/all.log"
wait_for 120 input_eof || fail "the last import did not finish"
stored=$(json_field "$(avcctl -o json stats)" store_denials)
[ "$stored" -eq $((5 * DENIALS)) ] ||
        fail "after the crashes: $stored denials stored, expected $((5 * DENIALS))"
[ "$(sqlite3 "$T/db" "PRAGMA integrity_check")" = ok ] || fail "final integrity_check failed"
# Every row's raw text reads back as the file has it: the reader thread packs it with the
# store's dictionaries, and no kill may leave a row referring to a dictionary the file lacks.
avcctl -o raw query --limit $((5 * DENIALS + 1)) | sort > "$T/raw.out" ||
        fail "the stored raw text does not read back"
sort "$T/all.log" | cmp -s - "$T/raw.out" || fail "the stored raw text differs from the files"
stop_daemon
echo "crash safety: 5 x kill -9, integrity ok, $stored denials at the end"
