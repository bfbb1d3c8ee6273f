#!/usr/bin/env bash
# A daemon that cannot start says why, in words that name the real cause, and leaves nothing
# behind that was not there before:
# - a configuration file named with --config must exist (only the default may be absent), and
#   --check-config lists every error of a file, each with its line, and echoes the effective
#   settings (retention in human units) as a configuration that reads back the same;
# - a second avcwatchd on the same database is refused and told the pid that holds it; the lock
#   goes with its holder, also after SIGKILL;
# - a start that fails (socket in use, no permission to bind) leaves no new database;
# - the database's directory read-only, not writable for the daemon's user, full, or the database
#   a directory: each reported as such (a read-only directory was "No such file or directory").
# The parts that need root (mounts, another user) say so and are left out without it.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

make_tmpdir
MOUNTS=()
cleanup_mounts() {
        local m
        for m in "${MOUNTS[@]}"; do
                umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || true
        done
}
# the mounts go first (the temp directory cannot be removed under them), then the usual clean-up,
# which needs the test's exit status
cleanup_all() {
        local rc=$?
        cleanup_mounts
        set +e
        (exit "$rc")
        _cleanup
}
trap cleanup_all EXIT

# try NAME ARGS...: runs avcwatchd with ARGS (no config unless given, input /dev/null), output in
# $T/NAME.out; its exit status in RC.
try() {
        local name=$1
        shift
        RC=0
        timeout 60 "$AVCWATCHD" "$@" < /dev/null > "$T/$name.out" 2>&1 || RC=$?
        cat "$T/$name.out" >> "$T/daemon.log"
        [ "$RC" -ne 124 ] || fail "$name: the daemon did not exit"
}

# refused NAME PATTERN ARGS...: the start fails, and says PATTERN.
refused() {
        local name=$1 pattern=$2
        shift 2
        try "$name" --input /dev/null "$@"
        [ "$RC" -ne 0 ] || fail "$name: exit status 0, expected a failure: $(cat "$T/$name.out")"
        grep -q -- "$pattern" "$T/$name.out" || fail "$name: no '$pattern' in: $(cat "$T/$name.out")"
        echo "$name: $(grep -- "$pattern" "$T/$name.out" | head -1)"
}

# no_database DB: neither the file nor SQLite's companions exist.
no_database() {
        local f
        for f in "$1" "$1-wal" "$1-shm" "$1-journal"; do
                [ ! -e "$f" ] || fail "a failed start left $f behind"
        done
}

# ---- the configuration file --------------------------------------------------------------------
refused config-missing "'$T/avcwatch.conf' does not exist" \
        --config "$T/avcwatch.conf" --check-config
refused config-missing-start "'$T/avcwatch.conf' does not exist" \
        --config "$T/avcwatch.conf" --db "$T/never.db" --socket "$T/never.sock"
no_database "$T/never.db"

cat > "$T/bad.conf" << 'EOF'
[Daemon]
Databse=/var/lib/avcwatch/avcwatch.db
Socket=relative.sock
[Retention]
MaxAge=soon
MaxSize=2G
[Engine]
Docker=/run/docker.sock
[Filter]
TargetCategories=maybe
EOF
try bad-conf --config "$T/bad.conf" --check-config
[ "$RC" -eq 1 ] || fail "--check-config of a bad file exits $RC"
for want in "line 2: unknown key 'Databse' in \[Daemon\]" "line 3: Socket= needs an absolute path" \
        "line 5: MaxAge= needs a duration" "line 7: unknown section \[Engine\]" \
        "line 10: TargetCategories= needs a boolean"; do
        grep -q "$T/bad.conf: $want" "$T/bad-conf.out" || fail "not reported: $want: $(cat "$T/bad-conf.out")"
done
[ "$(grep -c "$T/bad.conf: line" "$T/bad-conf.out")" -eq 5 ] ||
        fail "not exactly the 5 errors: $(cat "$T/bad-conf.out")"
echo "bad-conf: all 5 errors reported"

printf '[Retention]\nMaxAge=90d\nMaxSize=1.5G\n[Engines]\nDocker=\n' > "$T/good.conf"
"$AVCWATCHD" --config "$T/good.conf" --check-config --db "$T/x.db" > "$T/good.out" ||
        fail "--check-config of a good file failed"
for want in "# $T/good.conf: OK" "Database=$T/x.db" "MaxAge=90d" "MaxSize=1536M" "Docker=" \
        "Input=netlink" "Socket=" "Domains=container_t"; do
        grep -q "^$want" "$T/good.out" || fail "--check-config does not echo $want: $(cat "$T/good.out")"
done
# what it prints is a configuration that gives the same settings
sed 1d "$T/good.out" > "$T/echo.conf"
"$AVCWATCHD" --config "$T/echo.conf" --check-config > "$T/echo.out" || fail "the echo does not parse"
diff <(sed 1d "$T/good.out") <(sed 1d "$T/echo.out") || fail "the echo reads back differently"
echo "good-conf: $(grep -E '^Max' "$T/good.out" | tr '\n' ' ')"

# ---- one daemon per database --------------------------------------------------------------------
start_daemon --input /dev/null
first=$DAEMON_PID
refused second-daemon "Refusing '$T/db': avcwatchd (pid $first) is using it" \
        --config /dev/null --db "$T/db" --socket "$T/sock2"
[ ! -e "$T/sock2" ] || fail "the second daemon served anyway"
avcctl stats > /dev/null || fail "the first daemon suffered from the second"

# a lock does not outlive its holder, also when it is killed
kill -KILL "$first"
wait "$first" 2> /dev/null || true # (bash reports the kill)
DAEMON_PID=
rm -f "$T/sock"
start_daemon --input /dev/null
echo "after SIGKILL: the next daemon starts on the same database"

# ---- a failed start leaves no new database ------------------------------------------------------
refused socket-in-use "Failed to listen on '$T/sock'" \
        --config /dev/null --db "$T/new1.db" --socket "$T/sock"
no_database "$T/new1.db"
touch "$T/a-file"
refused socket-dir-is-file "Failed to listen on '$T/a-file/sock': Not a directory" \
        --config /dev/null --db "$T/new2.db" --socket "$T/a-file/sock"
no_database "$T/new2.db"
# ... but one that was there before is never removed
stop_daemon
DB=$T/existing.db start_daemon --input /dev/null
avcctl stats > /dev/null # serving: past start-up, SIGTERM is handled
stop_daemon
start_daemon --input /dev/null
refused socket-in-use-existing "Failed to listen on '$T/sock'" \
        --config /dev/null --db "$T/existing.db" --socket "$T/sock"
[ -s "$T/existing.db" ] || fail "a failed start removed a database it had not created"
! grep -q "Removed the database" "$T/socket-in-use-existing.out" || fail "it says it removed it"
stop_daemon

# ---- the database a directory, or below a file --------------------------------------------------
mkdir "$T/dir.db"
refused db-is-directory "'$T/dir.db' is a directory, not a database file" \
        --config /dev/null --db "$T/dir.db" --socket "$T/sock"
refused db-below-file "'$T/a-file' is not a directory" \
        --config /dev/null --db "$T/a-file/x.db" --socket "$T/sock"

if [ "$(id -u)" -ne 0 ]; then
        echo "not root: read-only, full and foreign directories not tried"
        echo "start errors: config, lock, cleanup and directory errors checked"
        exit 0
fi

# ---- a read-only directory (a leftover -wal made this "No such file or directory") --------------
mkdir "$T/ro"
DB=$T/ro/db start_daemon --input /dev/null
avcctl stats > /dev/null
stop_daemon
: > "$T/ro/db-wal" # what a daemon killed mid-write leaves
if mount --bind "$T/ro" "$T/ro" 2> /dev/null; then
        MOUNTS+=("$T/ro")
        mount -o remount,bind,ro "$T/ro" || fail "cannot remount read-only"
        refused read-only-existing "Read-only file system" \
                --config /dev/null --db "$T/ro/db" --socket "$T/sock"
        refused read-only-new "Read-only file system" \
                --config /dev/null --db "$T/ro/new.db" --socket "$T/sock"
        if grep -q "No such file or directory" "$T/read-only-existing.out" "$T/read-only-new.out"; then
                fail "a read-only directory is still reported as missing"
        fi
else
        echo "cannot bind-mount here: read-only directory not tried"
fi

# ---- a full file system --------------------------------------------------------------------------
mkdir "$T/full"
if mount -t tmpfs -o size=256k tmpfs "$T/full" 2> /dev/null; then
        MOUNTS+=("$T/full")
        echo "         1" > "$T/full/old.db.lock" # left by an earlier daemon
        dd if=/dev/zero of="$T/full/filler" bs=4k 2> /dev/null || true
        refused full-disk "No space left on device" \
                --config /dev/null --db "$T/full/db" --socket "$T/sock"
        refused full-disk-old-lock "database or disk is full\|No space left on device" \
                --config /dev/null --db "$T/full/old.db" --socket "$T/sock"
        no_database "$T/full/old.db"
        if grep -q "No such file or directory" "$T/full-disk.out" "$T/full-disk-old-lock.out"; then
                fail "a full disk is reported as a missing file"
        fi
else
        echo "cannot mount a tmpfs here: full disk not tried"
fi

# ---- another user: no write permission in the directory, no permission to bind -------------------
if command -v setpriv > /dev/null && id nobody > /dev/null 2>&1; then
        as_nobody() {
                setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
        }
        chmod 755 "$T"
        mkdir -m 755 "$T/root-owned"
        mkdir -m 777 "$T/open"
        try() {
                local name=$1
                shift
                RC=0
                timeout 60 setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
                        "$AVCWATCHD" "$@" < /dev/null > "$T/$name.out" 2>&1 || RC=$?
                cat "$T/$name.out" >> "$T/daemon.log"
                [ "$RC" -ne 124 ] || fail "$name: the daemon did not exit"
        }
        refused no-write-permission "Permission denied" \
                --config /dev/null --db "$T/root-owned/db" --socket "$T/open/sock"
        no_database "$T/root-owned/db"
        refused no-bind-permission "Failed to listen on '$T/root-owned/sock'" \
                --config /dev/null --db "$T/open/new3.db" --socket "$T/root-owned/sock"
        no_database "$T/open/new3.db"
else
        echo "no setpriv or no user nobody: permission errors not tried"
fi

echo "start errors: every failed start named its cause and left no new database"
