#!/usr/bin/env bash
# A denial storm through the real kernel path: INJECTORS processes each send one and the same
# denial (a container looping on one denied open) as fast as the kernel takes them, for DURATION
# seconds, while avcwatchd reads the audit multicast group. Then the same with every denial
# different (numbered names: nothing to fold), for reference. For each: denials sent, dropped
# by the daemon's socket, rows stored and the denials they stand for (the sum of their counts),
# the daemon's CPU, its peak RSS, and the database's growth. Needs root.
#
#   INJECTORS=2 DURATION=30 bench/bench-storm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
INJECTORS=${INJECTORS:-2}
DURATION=${DURATION:-30}
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 1; }
# Alone on the audit multicast group, like the integration tests (tests/integration/lib.sh).
exec {lock}>> "${AVC_NETLINK_LOCK:-/tmp/avcwatch-audit-netlink.lock}"
flock "$lock"
source bench/lib.sh
bench_tmpdir
tick=$(getconf CLK_TCK)
ctl() { "$BUILD/client/avcctl" --socket "$T/sock" "$@"; }
stat_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

for kind in identical distinct; do
        rm -f "$T"/db*
        : > "$T/daemon.log"
        bench_daemon_start "$BUILD/daemon/avcwatchd" "$BUILD/client/avcctl" "$T/sock" \
                "$T/daemon.log" --config /dev/null --db "$T/db"
        db0=$(stat -c %s "$T/db")
        read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
        mark=storm$$$kind
        injs=()
        for i in $(seq "$INJECTORS"); do
                if [ "$kind" = identical ]; then
                        args=(--comm "$mark" --name shadow --path /etc/shadow --pid 4242)
                else
                        args=(--mark "$mark" --comm "$mark")
                fi
                "$BUILD/tools/avcwatch-inject" --duration "$DURATION" "${args[@]}" \
                        > "$T/inj.$i" 2>&1 &
                injs+=($!)
        done
        wait "${injs[@]}" || true
        sent=$(cat "$T"/inj.* | awk '/^sent/ {n += $2} END {print n}')
        sleep 2 # the last window (1 s) and the last batch
        read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
        stats=$(ctl -o json stats)
        rows_counts=$(ctl -o json query --comm "$mark" --limit 100000000 |
                python3 -c 'import json,sys
n = t = 0
for l in sys.stdin:
    n += 1; t += json.loads(l)["count"]
print(n, t)')
        hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
        kill -TERM "$pid"; wait "$pid" || true; pid=
        db1=$(stat -c %s "$T/db")
        cpu=$(awk -v a="$u0" -v b="$s0" -v c="$u1" -v d="$s1" -v t="$tick" -v s="$DURATION" \
                'BEGIN {printf "%.0f", 100 * ((c + d) - (a + b)) / t / s}')
        read -r rows counted <<< "$rows_counts"
        printf '%-9s %d injectors, %ds: sent %d (%d/s); dropped by the socket %s; stored %d rows standing for %d denials (coalesced %s); CPU %s%% of one core; peak RSS %d MiB; database +%d KiB\n' \
                "$kind" "$INJECTORS" "$DURATION" "$sent" "$((sent / DURATION))" \
                "$(echo "$stats" | stat_of netlink_dropped)" "$rows" "$counted" \
                "$(echo "$stats" | stat_of denials_coalesced)" "$cpu" "$((hwm / 1024))" \
                "$(((db1 - db0) / 1024))"
done
echo "reproduce: INJECTORS=$INJECTORS DURATION=$DURATION bench/bench-storm.sh"
