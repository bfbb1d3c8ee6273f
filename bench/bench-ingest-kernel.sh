#!/usr/bin/env bash
# Ingest through the real kernel path: avcwatch-inject (a second process) sends USER_AVC
# denials through the kernel at a fixed rate for DURATION seconds while avcwatchd reads the audit
# multicast group. For each rate: how many were sent, stored and lost, the daemon's CPU use, its
# CPU per stored denial and its peak RSS. The highest rate with zero loss is the figure. Needs
# root (CAP_AUDIT_WRITE and CAP_AUDIT_READ). Other audit traffic on the host is counted but does
# not disturb the check, which counts only the marked denials.
#
# The CPU per denial is the daemon's CPU time over the run divided by every denial it took in
# meanwhile (stored or folded into a storm's row, marked or not: other audit traffic on a shared
# host costs CPU too, and is counted with it).
#
# COMPARE=OTHER_BUILD_DIR runs another build (e.g. bb3e216's) at each rate too, alternating with
# BUILD run by run (RUNS rounds, default 3), and prints per rate the medians of the daemon's CPU
# microseconds per denial and their ratio (BUILD / COMPARE): on a shared machine whose speed moves
# from minute to minute, neighbouring runs and the ratio are the figure that holds.
# Both daemons are driven by BUILD's injector (a build without tools/ borrows it). A run that
# lost denials is said so; its CPU per denial is of what it stored.
#
#   RATES="25000 50000 75000" DURATION=60 bench/bench-ingest-kernel.sh
#   RATES=50000 DURATION=60 RUNS=3 COMPARE=/work/base-build bench/bench-ingest-kernel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
INJECT=${INJECT:-$BUILD/tools/avcwatch-inject} # a build without tools/ can borrow another's
RATES=${RATES:-"25000 50000 75000"}
DURATION=${DURATION:-60}
COMPARE=${COMPARE:-}
RUNS=${RUNS:-$([ -n "$COMPARE" ] && echo 3 || echo 1)}
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 1; }
source bench/lib.sh
bench_tmpdir
tick=$(getconf CLK_TCK)
stat_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# denials the daemon took in so far: stored as rows, or folded into a storm's row
taken() { python3 -c 'import json,sys; s = json.load(sys.stdin); print(s["denials_stored"] + s["denials_coalesced"])'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# one_run BUILD RATE LABEL: one daemon, one injection; prints a line, sets us (daemon CPU
# microseconds per denial taken in) and lost
one_run() {
        local b=$1 rate=$2 label=$3
        local ctl="$b/client/avcctl"
        rm -f "$T"/db*
        : > "$T/daemon.log"
        bench_daemon_start "$b/daemon/avcwatchd" "$ctl" "$T/sock" \
                "$T/daemon.log" --config /dev/null --db "$T/db"
        local taken0
        taken0=$("$ctl" --socket "$T/sock" -o json stats | taken)
        read -r u0 s0 < <(bench_cpu_ticks "$pid")
        local mark="bench$rate$$r$run"
        local inj
        inj=$("$INJECT" --rate "$rate" --duration "$DURATION" \
                --mark "$mark" ${INJECT_ARGS:-} 2>&1 | tail -1)
        local sent
        sent=$(echo "$inj" | awk '{print $2}')
        sleep 1 # let the last batch commit (100 ms) and the deadline pass (300 ms)
        read -r u1 s1 < <(bench_cpu_ticks "$pid")
        local stored stats hwm cpu_ticks taken1
        stored=$("$ctl" --socket "$T/sock" -o json query --comm "$mark" | wc -l)
        stats=$("$ctl" --socket "$T/sock" -o json stats)
        taken1=$(echo "$stats" | taken)
        hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
        bench_daemon_stop
        cpu_ticks=$(((u1 + s1) - (u0 + s0)))
        local cpu
        cpu=$(awk -v c="$cpu_ticks" -v t="$tick" -v s="$DURATION" \
                'BEGIN {printf "%.0f", 100 * c / t / s}')
        us=$(awk -v c="$cpu_ticks" -v t="$tick" -v n="$((taken1 - taken0))" \
                'BEGIN {printf "%.2f", (n > 0) ? 1e6 * c / t / n : 0}')
        local us_user us_sys
        us_user=$(awk -v c="$((u1 - u0))" -v t="$tick" -v n="$((taken1 - taken0))" \
                'BEGIN {printf "%.2f", (n > 0) ? 1e6 * c / t / n : 0}')
        us_sys=$(awk -v c="$((s1 - s0))" -v t="$tick" -v n="$((taken1 - taken0))" \
                'BEGIN {printf "%.2f", (n > 0) ? 1e6 * c / t / n : 0}')
        lost=$((sent - stored))
        printf '%srate %6d/s for %ds: injector "%s"; stored %d of %d marked, lost %d; daemon events_lost %s netlink_dropped %s; CPU %s%% of one core, %s us per denial (user %s, system %s; of %d taken in), peak RSS %d MiB, load %s\n' \
                "$label" "$rate" "$DURATION" "$inj" "$stored" "$sent" "$lost" \
                "$(echo "$stats" | stat_of events_lost)" "$(echo "$stats" | stat_of netlink_dropped)" \
                "$cpu" "$us" "$us_user" "$us_sys" "$((taken1 - taken0))" "$((hwm / 1024))" "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for rate in $RATES; do
        mine=() theirs=() ratios=()
        for run in $(seq 1 "$RUNS"); do
                one_run "$BUILD" "$rate" ""
                mine+=("$us")
                [ "$lost" -eq 0 ] || echo "  (lost $lost)"
                if [ -n "$COMPARE" ]; then
                        one_run "$COMPARE" "$rate" "  ($COMPARE) "
                        theirs+=("$us")
                        [ "$lost" -eq 0 ] || echo "  (lost $lost)"
                        # the pair's ratio: neighbouring runs share the machine's load
                        ratios+=("$(awk -v a="${mine[-1]}" -v b="$us" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}')")
                fi
        done
        if [ -n "$COMPARE" ]; then
                m=$(median "${mine[@]}")
                o=$(median "${theirs[@]}")
                echo "rate $rate/s: median daemon CPU per denial $m us ($BUILD) vs $o us ($COMPARE): ratio $(awk -v a="$m" -v b="$o" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}')"
                echo "  per round: ${ratios[*]}; median $(median "${ratios[@]}")"
        fi
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "reproduce: RATES=\"$RATES\" DURATION=$DURATION RUNS=$RUNS${COMPARE:+ COMPARE=$COMPARE} bench/bench-ingest-kernel.sh"
