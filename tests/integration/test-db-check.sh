#!/usr/bin/env bash
# When start-up reads every page (PRAGMA quick_check): not after a clean stop (the file is as
# SQLite left it), after a kill -9 (the clean-stop mark is missing), on request (--check-db,
# [Daemon] CheckDatabase=always) where a page damaged after a clean stop is found and the file
# refused untouched, and never with CheckDatabase=never. No root needed.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

command -v sqlite3 > /dev/null || skip "sqlite3 (the CLI) is not installed"
make_tmpdir

# The log of the daemon started last.
last_log() {
        awk '/^==== avcwatchd/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' \
                "$T/daemon.log"
}
checked() { # REASON: the last start read every page, for REASON
        last_log | grep -q "Checked the database .* (every page, PRAGMA quick_check) in .* $1" ||
                fail "the start was expected to check every page ($1): $(last_log)"
}
not_checked() { # REASON
        last_log | grep -q "not checked: $1" ||
                fail "no 'not checked: $1' in the log: $(last_log)"
        ! last_log | grep -q "Checked the database" ||
                fail "the start checked every page anyway: $(last_log)"
}
kill_daemon() {
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2> /dev/null || true
        DAEMON_PID=
        rm -f "$AVC_SOCKET"
}

gen=$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py
python3 "$gen" --denials 5000 --containers 5 --seed 4 > "$T/a.log"
start_daemon --input "$T/a.log"
wait_for 60 input_eof || fail "the import did not finish"
stop_daemon

# A clean stop, then a start: not read before READY=1, but in the background after it.
start_daemon --input /dev/null
not_checked "the last stop was clean"
[ "$(json_field "$(avcctl -o json stats)" store_denials)" -eq 5000 ] || fail "rows lost"
wait_until 60 'last_log | grep -q "is sound: every page read in the background"' ||
        fail "no background check: $(last_log)"

# kill -9, then a start: every page is read.
kill_daemon
start_daemon --input /dev/null
checked "the last stop was not clean"
stop_daemon

# On request, after a clean stop.
start_daemon --input /dev/null --check-db
checked "requested"
stop_daemon
printf '[Daemon]\nCheckDatabase=always\n' > "$T/always.conf"
CONFIG=$T/always.conf start_daemon --input /dev/null
checked "requested"
stop_daemon

# never: not even after a kill -9.
printf '[Daemon]\nCheckDatabase=never\n' > "$T/never.conf"
CONFIG=$T/never.conf start_daemon --input /dev/null
kill_daemon
CONFIG=$T/never.conf start_daemon --input /dev/null
not_checked "CheckDatabase=never"
stop_daemon

# A page damaged after a clean stop: the check on request finds it and leaves the file as it is;
# a start without it finds it in the background and stops writing, and the next start (that
# stop was not clean for the file) refuses it.
pages=$(sqlite3 "$T/db" "PRAGMA page_count")
size=$(sqlite3 "$T/db" "PRAGMA page_size")
[ "$pages" -gt 20 ] || fail "the database is too small to damage in its middle ($pages pages)"
python3 - "$T/db" $((pages / 2 * size)) "$size" << 'PY'
import sys
path, offset, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(offset)
    f.write(bytes((i * 37 + 11) & 0xff for i in range(size)))
PY
[ "$(sqlite3 "$T/db" "PRAGMA quick_check" 2>&1 | head -1)" != ok ] ||
        fail "the damage did not show: the test would prove nothing"
for how in "--check-db" "--config $T/always.conf"; do
        before=$(sha256sum < "$T/db")
        rc=0
        # shellcheck disable=SC2086 # $how is two words for --config
        timeout 60 "$AVCWATCHD" --config /dev/null --db "$T/db" --socket "$T/sock" \
                --input /dev/null $how > "$T/out" 2>&1 || rc=$?
        [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$how: exit status $rc, expected a refusal"
        grep -q "the database is damaged" "$T/out" || fail "$how: no refusal: $(cat "$T/out")"
        [ "$before" = "$(sha256sum < "$T/db")" ] || fail "$how: the damaged file was modified"
        [ ! -e "$T/sock" ] || fail "$how: the daemon served anyway"
done
cp "$T/db" "$T/damaged-copy.db"
start_daemon --input /dev/null
not_checked "the last stop was clean"
wait_until 60 'last_log | grep -q "background check of the database .* found it damaged"' ||
        fail "the background check did not find the damage: $(last_log)"
stats=$(avcctl -o json stats)
[ "$(json_field "$stats" store_failing)" = true ] || fail "stats do not say the store fails: $stats"
[[ "$(json_field "$stats" store_error)" == *damaged* ]] || fail "store_error: $stats"
stop_daemon
rc=0
timeout 60 "$AVCWATCHD" --config /dev/null --db "$T/db" --socket "$T/sock" --input /dev/null \
        > "$T/out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "after the damage was found: exit status $rc"
grep -q "the database is damaged" "$T/out" || fail "not refused: $(cat "$T/out")"
echo "db check: skipped after a clean stop (then in the background), run after kill -9 and on request; damage found either way"
