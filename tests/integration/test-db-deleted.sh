#!/usr/bin/env bash
# The database file, or its -wal, deleted under a running daemon (live input on stdin, as from
# auditd's plugin framework): SQLite would go on committing into an inode nobody will open again,
# and a restart would find an empty store (or lose what the -wal held) with "0 lost". The daemon
# must notice before it commits, say so in stats (store_failing, store_error) and in the log, and
# count every later denial as not stored; when only the -wal went, what it held is saved into
# the database file, so that a kill -9 loses nothing that was reported stored. No root needed.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
make_tmpdir

gen=$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py
now=$(date +%s)
python3 "$gen" --denials 200 --containers 3 --seed 1 --start $((now - 300)) > "$T/1.log"
python3 "$gen" --denials 300 --containers 3 --seed 2 --start $((now - 200)) > "$T/2.log"
mkfifo "$T/feed"

# ---- the database file deleted ----
exec {feed}<> "$T/feed"
DB=$T/a.db STDIN=$T/feed start_daemon --input -
cat "$T/1.log" >&"$feed"
wait_for 20 denials_kept 200 || fail "the first 200 denials were not stored: $(avcctl -o json stats)"
rm "$T/a.db"
cat "$T/2.log" >&"$feed"
wait_for 20 stats_at_least denials_seen 500 || fail "the daemon stopped reading: $(avcctl -o json stats)"
wait_for 10 stats_at_least denials_unstored 300 || true # the last batch, the last storm summaries
s=$(avcctl -o json stats)
echo "database deleted: $s"
[ "$(json_field "$s" store_failing)" = true ] || fail "store_failing is not set after the file was deleted"
json_field "$s" store_error | grep -q "database file was deleted" ||
        fail "store_error: $(json_field "$s" store_error)"
[ "$(json_field "$s" denials_unstored)" -eq 300 ] ||
        fail "denials_unstored $(json_field "$s" denials_unstored), expected 300"
grep -q "is gone: the database file was deleted" "$T/daemon.log" || fail "the log does not say so"
stop_daemon
exec {feed}>&-

# ---- its -wal deleted, then kill -9 ----
exec {feed}<> "$T/feed"
DB=$T/b.db STDIN=$T/feed start_daemon --input -
cat "$T/1.log" >&"$feed"
wait_for 20 denials_kept 200 || fail "the first 200 denials were not stored: $(avcctl -o json stats)"
rows=$(stats_field store_denials)
[ -e "$T/b.db-wal" ] || fail "no -wal next to the database"
rm "$T/b.db-wal"
cat "$T/2.log" >&"$feed"
wait_for 20 stats_at_least denials_seen 500 || fail "the daemon stopped reading: $(avcctl -o json stats)"
wait_for 10 stats_at_least denials_unstored 300 || true
s=$(avcctl -o json stats)
echo "-wal deleted: $s"
[ "$(json_field "$s" store_failing)" = true ] || fail "store_failing is not set after the -wal was deleted"
json_field "$s" store_error | grep -q "write-ahead log" ||
        fail "store_error: $(json_field "$s" store_error)"
[ "$(json_field "$s" denials_unstored)" -eq 300 ] ||
        fail "denials_unstored $(json_field "$s" denials_unstored), expected 300"
grep -q "is gone: the database's write-ahead log" "$T/daemon.log" || fail "the log does not say so"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null || true
DAEMON_PID=
rm -f "$AVC_SOCKET"
exec {feed}>&-
: > "$T/empty.log"
DB=$T/b.db start_daemon --input "$T/empty.log"
after=$(stats_field store_denials)
[ "$after" -eq "$rows" ] || fail "after kill -9: $after rows in the file, $rows were reported stored"
stop_daemon
# ---- its -wal deleted while nothing arrives, then kill -9: noticed at once, nothing lost ----
exec {feed}<> "$T/feed"
DB=$T/c.db STDIN=$T/feed start_daemon --input -
cat "$T/1.log" >&"$feed"
wait_for 20 denials_kept 200 || fail "the first 200 denials were not stored: $(avcctl -o json stats)"
rows=$(stats_field store_denials)
rm "$T/c.db-wal"
failing() { [ "$(stats_field store_failing)" = true ]; }
wait_for 10 failing || fail "an idle daemon did not notice the -wal was deleted: $(avcctl -o json stats)"
json_field "$(avcctl -o json stats)" store_error | grep -q "saved into the database file" ||
        fail "store_error: $(stats_field store_error)"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null || true
DAEMON_PID=
rm -f "$AVC_SOCKET"
exec {feed}>&-
DB=$T/c.db start_daemon --input "$T/empty.log"
after=$(stats_field store_denials)
[ "$after" -eq "$rows" ] || fail "idle, after kill -9: $after rows in the file, $rows were reported stored"
stop_daemon
echo "database deleted: 300 counted unstored; -wal deleted + kill -9: $rows rows kept, 300 counted"
