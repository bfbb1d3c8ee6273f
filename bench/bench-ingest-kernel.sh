#!/usr/bin/env bash
# Ingest through the real kernel path: avcwatch-inject (a second process) sends USER_AVC
# denials through the kernel at a fixed rate for DURATION seconds while avcwatchd reads the audit
# multicast group. For each rate: how many were sent, stored and lost, the daemon's CPU use and
# its peak RSS. The highest rate with zero loss is the figure. Needs root (CAP_AUDIT_WRITE and
# CAP_AUDIT_READ). Other audit traffic on the host is counted but does not disturb the check,
# which counts only the marked denials.
#
#   RATES="25000 50000 75000" DURATION=60 bench/bench-ingest-kernel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
INJECT=${INJECT:-$BUILD/tools/avcwatch-inject} # a build without tools/ can borrow another's
RATES=${RATES:-"25000 50000 75000"}
DURATION=${DURATION:-60}
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 1; }
source bench/lib.sh
bench_tmpdir
tick=$(getconf CLK_TCK)
ctl() { "$BUILD/client/avcctl" --socket "$T/sock" "$@"; }
stat_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

for rate in $RATES; do
        rm -f "$T"/db*
        : > "$T/daemon.log"
        bench_daemon_start "$BUILD/daemon/avcwatchd" "$BUILD/client/avcctl" "$T/sock" \
                "$T/daemon.log" --config /dev/null --db "$T/db"
        read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
        mark="bench$rate$$"
        inj=$("$INJECT" --rate "$rate" --duration "$DURATION" \
                --mark "$mark" ${INJECT_ARGS:-} 2>&1 | tail -1)
        sent=$(echo "$inj" | awk '{print $2}')
        sleep 1 # let the last batch commit (100 ms) and the deadline pass (300 ms)
        read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
        stored=$(ctl -o json query --comm "$mark" | wc -l)
        stats=$(ctl -o json stats)
        hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
        kill -TERM "$pid"; wait "$pid" || true; pid=
        cpu=$(awk -v a="$u0" -v b="$s0" -v c="$u1" -v d="$s1" -v t="$tick" -v s="$DURATION" \
                'BEGIN {printf "%.0f", 100 * ((c + d) - (a + b)) / t / s}')
        printf 'rate %6d/s for %ds: injector "%s"; stored %d of %d marked, lost %d; daemon events_lost %s netlink_dropped %s; CPU %s%% of one core, peak RSS %d MiB\n' \
                "$rate" "$DURATION" "$inj" "$stored" "$sent" "$((sent - stored))" \
                "$(echo "$stats" | stat_of events_lost)" "$(echo "$stats" | stat_of netlink_dropped)" \
                "$cpu" "$((hwm / 1024))"
done
echo "reproduce: RATES=\"$RATES\" DURATION=$DURATION bench/bench-ingest-kernel.sh"
