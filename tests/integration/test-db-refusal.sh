#!/usr/bin/env bash
# A database file that is not a sound avcwatch database is refused at start, with a message that
# says why, and left byte for byte as it was: a text file, another application's SQLite
# database (by its tables, and by its application_id), an avcwatch database of a newer schema,
# and an avcwatch database with a damaged page. No root needed.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

command -v sqlite3 > /dev/null || skip "sqlite3 (the CLI) is not installed"
make_tmpdir

# refused FILE PATTERN [OPTION...]: the daemon exits non-zero at start, logs PATTERN, the file is
# unchanged.
refused() {
        local db=$1 pattern=$2 before after rc=0
        shift 2
        before=$(sha256sum < "$db")
        timeout 60 "$AVCWATCHD" --config /dev/null --db "$db" --socket "$T/sock" \
                --input /dev/null "$@" > "$T/out" 2>&1 || rc=$?
        cat "$T/out" >> "$T/daemon.log"
        after=$(sha256sum < "$db")
        [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$db: exit status $rc, expected a refusal"
        grep -q "$pattern" "$T/out" || fail "$db: no message '$pattern': $(cat "$T/out")"
        [ "$before" = "$after" ] || fail "$db was modified"
        [ ! -e "$T/sock" ] || fail "$db: the daemon served anyway"
        echo "refused $(basename "$db"): $(grep -o "Refusing.*" "$T/out" | head -1)"
}

printf 'These are my notes.\nNot a database.\n' > "$T/notes.db"
refused "$T/notes.db" "not an avcwatch database"

sqlite3 "$T/other.db" "CREATE TABLE accounts(id, name); INSERT INTO accounts VALUES (1, 'x');"
refused "$T/other.db" "not an avcwatch database"

sqlite3 "$T/other-id.db" "PRAGMA application_id = 305419896; CREATE TABLE t(x);"
refused "$T/other-id.db" "not an avcwatch database"

sqlite3 "$T/newer.db" "PRAGMA application_id = 1096172375; PRAGMA user_version = 99; CREATE TABLE future(x);"
refused "$T/newer.db" "written by a newer avcwatch"

# A real avcwatch database, then one page in its middle overwritten: after a stop that was not
# clean (the mark a clean stop leaves is missing, as after a kill -9) the start-up check finds
# it; after a clean stop the check on request (--check-db) does (test-db-check.sh).
gen=$(dirname "$AVCWATCH_TESTLIB")/../../bench/gen-audit-log.py
python3 "$gen" --denials 5000 --containers 5 --seed 4 > "$T/a.log"
DB=$T/good.db start_daemon --input "$T/a.log"
wait_for 60 input_eof || fail "the import did not finish"
stop_daemon
pages=$(sqlite3 "$T/good.db" "PRAGMA page_count")
size=$(sqlite3 "$T/good.db" "PRAGMA page_size")
[ "$pages" -gt 20 ] || fail "the database is too small to damage in its middle ($pages pages)"
cp "$T/good.db" "$T/damaged.db"
cp "$T/good.db" "$T/damaged-clean.db"
sqlite3 "$T/damaged.db" "DELETE FROM meta WHERE key = 'clean_stop'"
for db in "$T/damaged.db" "$T/damaged-clean.db"; do
        python3 - "$db" $((pages / 2 * size)) "$size" <<'PY'
import sys
path, offset, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek(offset)
    f.write(bytes((i * 37 + 11) & 0xff for i in range(size)))
PY
        [ "$(sqlite3 "$db" "PRAGMA quick_check" 2>&1 | head -1)" != ok ] ||
                fail "the damage did not show: the test would prove nothing"
done
refused "$T/damaged.db" "the database is damaged"
refused "$T/damaged-clean.db" "the database is damaged" --check-db

# ... and the sound original is still accepted.
DB=$T/good.db start_daemon --input /dev/null
[ "$(json_field "$(avcctl -o json stats)" store_denials)" -eq 5000 ] || fail "the sound one lost rows"
stop_daemon
echo "db refusal: 5 kinds of unusable file (a damaged one after an unclean and a clean stop) refused with their reason, each left untouched"
