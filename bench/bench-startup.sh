#!/usr/bin/env bash
# Time from exec to READY=1 (sd_notify) on a large existing store, warm (the file in the page
# cache) and cold (caches dropped before each start), side by side for this build and another
# (COMPARE=, e.g. a build of the commit before). Each start is stopped with SIGTERM (a clean
# stop) before the next; the first start of each build on its copy is not counted (it follows
# the copy, which is not a clean stop of that build). Needs root for the cold runs.
#
#   DB=build-bench/forensics-1000000-c200-d30-s1.db RUNS=5 COMPARE=../base/build \
#       bench/bench-startup.sh
# DB is copied (into WORK, default /var/tmp), never written.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
DB=${DB:?DB= names the store to copy}
WORK=${WORK:-/var/tmp}
COMPARE=${COMPARE:-}
source bench/lib.sh
bench_tmpdir
copy=$(mktemp -d "$WORK/avcwatch-startup.XXXXXX")
trap 'bench_cleanup; rm -rf "$copy"' EXIT

# ready DAEMON DB: seconds from exec to READY=1; the daemon is then stopped cleanly.
ready() {
        python3 - "$1" "$2" "$T/sock" "$T/notify" "$T/daemon.log" << 'PY'
import os, signal, socket, subprocess, sys, time
daemon, db, sock, notify, log = sys.argv[1:6]
for p in (notify, sock):
    if os.path.exists(p):
        os.unlink(p)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(notify)
env = dict(os.environ, NOTIFY_SOCKET=notify)
start = time.monotonic()
with open(log, "a") as out:
    p = subprocess.Popen([daemon, "--config", "/dev/null", "--db", db, "--socket", sock,
                          "--input", "/dev/null"], env=env, stderr=out, stdout=out)
    s.settimeout(600)
    while True:
        data = s.recv(65536).decode()
        if "READY=1" in data.split("\n"):
            break
    took = time.monotonic() - start
    p.send_signal(signal.SIGTERM)
    p.wait()
print(f"{took:.3f}")
PY
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run() { # NAME BUILD_DIR
        local name=$1 daemon=$2/daemon/avcwatchd db=$copy/$1.db warm=() cold=()
        cp "$DB" "$db"
        ready "$daemon" "$db" > /dev/null # after the copy: not a clean stop of this build
        for ((i = 0; i < RUNS; i++)); do
                warm+=("$(ready "$daemon" "$db")")
                if [ "$(id -u)" -eq 0 ]; then
                        sync
                        echo 3 > /proc/sys/vm/drop_caches
                        cold+=("$(ready "$daemon" "$db")")
                fi
        done
        printf '%-10s warm %6s s (%s)   cold %6s s (%s)\n' "$name" \
                "$(printf '%s\n' "${warm[@]}" | median)" "${warm[*]}" \
                "$(printf '%s\n' "${cold[@]:-n/a}" | median)" "${cold[*]:-not root}"
        rm -f "$db" "$db"-*
}

echo "time to READY=1 on a copy of $DB ($(du -h "$DB" | cut -f1)), median of $RUNS"
[ -z "$COMPARE" ] || run compare "$COMPARE"
run this "$BUILD"
