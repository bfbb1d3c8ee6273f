#!/usr/bin/env bash
# Query answers of two builds side by side, on the same store: the forensics store of
# bench-forensics.sh (generated log, imported, containers known), copied once per build so that
# neither daemon sees the other's writes. Rounds alternate the builds (A, B, A, B, ...), each round
# starting the daemon afresh on its copy and asking every question once; the medians per question
# and build and their ratio (B / A: below 1 means B is faster) are printed. On a shared machine the
# ratio is the figure that holds.
#
# The questions: a bulk export (-o json and -o raw, 100,000 rows to a pipe), one container's day as
# a whole answer (a middling container and the busiest) and the first 100 rows of the former, top over the whole store, an hourly histogram. For each,
# the wall clock and the CPU time of the daemon and avcctl together (user + sys; the daemon's from
# /proc, avcctl's from /usr/bin/time), the load average around the run, rows per second of the bulk
# exports, and the whole-day question against `ausearch -if` on the raw log (AUSEARCH=0: not;
# AUSEARCH_RUNS, default 3).
#
#   COMPARE=OTHER_BUILD_DIR [BUILD=build] [DENIALS=1000000] [RUNS=5] bench/bench-query-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DENIALS=${DENIALS:-1000000}
RUNS=${RUNS:-5}
REPEAT=${REPEAT:-10} # the questions other than the bulk exports, asked this many times per run
BUILD=${BUILD:-build}
COMPARE=${COMPARE:?COMPARE=OTHER_BUILD_DIR: the build to compare with (e.g. of an older commit)}
CACHE=${CACHE:-build-bench}
export TZ=UTC LC_ALL=C

# The store: bench-forensics.sh builds and caches it (the questions and pruning skipped here).
CACHE=$CACHE DENIALS=$DENIALS BUILD=$BUILD QUESTIONS=0 PRUNE=0 bench/bench-forensics.sh > /dev/null
db=$CACHE/forensics-$DENIALS-c200-d30-s1.db
[ -s "$db" ] || {
        echo "no store at $db" >&2
        exit 1
}

source bench/lib.sh
bench_tmpdir
run=$T
printf '[Daemon]\nAuditLog=\n[Engines]\nDocker=\nPodman=\nProcScan=no\n' > "$run/conf"
for side in A B; do
        cp "$db" "$run/$side.db"
done

# start SIDE BUILD_DIR. A build that skips the start-up check after a clean stop reads every
# page in the background after READY=1 instead (seconds of CPU on this store): the questions wait
# until that is done, or its CPU would be counted in the first question's.
start() {
        : > "$run/daemon-$1.log"
        bench_daemon_start "$2/daemon/avcwatchd" "$2/client/avcctl" "$run/sock" \
                "$run/daemon-$1.log" --config "$run/conf" --db "$run/$1.db" --input /dev/null
        if grep -q "not checked: the last stop was clean" "$run/daemon-$1.log"; then
                for _ in $(seq 1200); do
                        grep -qE "read in the background|background check of the database|Could not (start the background check|check the database)" \
                                "$run/daemon-$1.log" && return 0
                        sleep 0.1
                done
                echo "the background check of $1 did not end: $(cat "$run/daemon-$1.log")" >&2
                exit 1
        fi
}
stop() { bench_daemon_stop; }

# The questions' parameters, from the store itself (a middling container, a day near the end).
start A "$BUILD"
ctl() { "$BUILD/client/avcctl" --socket "$run/sock" "$@"; }
name=$(ctl -o json top --by container --limit 10 | tail -1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["container"]["name"])')
mcs=$(ctl -o json query --container "$name" --limit 1 |
        python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["mcs"])')
# and the busiest container (the first of top): its day is the long whole answer
busy=$(ctl -o json top --by container --limit 1 | head -1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["container"]["name"])')
busy_mcs=$(ctl -o json query --container "$busy" --limit 1 |
        python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["mcs"])')
last=$(ctl -o json query --reverse --limit 1 |
        python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["time"][:10])')
stop
day=$(date -u -d "$last - 3 days" +%F)
next=$(date -u -d "$day + 1 day" +%F)

QUESTIONS=(
        "bulk export, 100000 rows, -o json|-o json query --limit 100000"
        "bulk export, 100000 rows, -o raw|-o raw query --limit 100000"
        "one container's day, whole answer (--mcs, -o json)|-o json query --mcs $mcs --since $day --until $next"
        "busiest container's day, whole answer (-o json)|-o json query --mcs $busy_mcs --since $day --until $next"
        "one container's day, first 100 (--mcs)|query --mcs $mcs --since $day --until $next --limit 100"
        "top (signatures, whole store)|top"
        "top --by container (whole store)|top --by container"
        "query --histogram 1h (whole store)|query --histogram 1h"
)
declare -A MED_T MED_C
declare -A T   # "side|question index" -> space-separated microseconds (wall clock)
declare -A CPU # "side|question index" -> space-separated microseconds (daemon + avcctl, user + sys)
declare -A ROWS
tick_us=$((1000000 / $(getconf CLK_TCK)))
# cpu_us: the daemon's user+sys since the last call (its ticks), plus avcctl's from $run/time.
daemon_cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$RUNS"); do
        for side in A B; do
                b=$BUILD
                [ "$side" = B ] && b=$COMPARE
                start "$side" "$b"
                for i in "${!QUESTIONS[@]}"; do
                        read -r -a args <<< "${QUESTIONS[$i]#*|}"
                        # The small questions are asked REPEAT times in a row (CPU time is
                        # counted in ticks of 10 ms): the figures are per answer.
                        reps=1
                        [ "$i" -ge 2 ] && reps=$REPEAT
                        c0=$(daemon_cpu)
                        t0=${EPOCHREALTIME/./}
                        n=$(/usr/bin/time -f '%U %S' -o "$run/time" bash -c \
                                'for _ in $(seq "$1"); do "${@:2}" > "$0"; done; wc -l < "$0"' \
                                "$run/answer" "$reps" "$b/client/avcctl" --socket "$run/sock" "${args[@]}" 2> /dev/null)
                        t1=${EPOCHREALTIME/./}
                        c1=$(daemon_cpu)
                        T["$side|$i"]+="$(((t1 - t0) / reps)) "
                        CPU["$side|$i"]+="$(awk -v d=$(((c1 - c0) * tick_us)) -v r="$reps" '{printf "%d", (d + ($1 + $2) * 1e6) / r}' "$run/time") "
                        ROWS["$side|$i"]=$n
                done
                stop
        done
        echo "round $round of $RUNS done" >&2
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ms() { awk -v x="$1" 'BEGIN {printf "%.1f", x / 1000}'; }
echo "store: $db ($DENIALS denials); container $name (MCS $mcs), busiest $busy (MCS $busy_mcs), day $day; medians of $RUNS runs"
echo "load average: $load0 before, $load1 after (2 cores shared with other jobs: CPU time is the steadier figure)"
echo "A: $BUILD, B: $COMPARE; B/A above 1: A is that many times faster"
printf '  %-52s %10s %10s %6s  %10s %10s %6s  %s\n' "question" "wall A" "wall B" "B/A" "cpu A" \
        "cpu B" "B/A" "lines A/B"
for i in "${!QUESTIONS[@]}"; do
        a=$(median <<< "${T["A|$i"]}")
        c=$(median <<< "${T["B|$i"]}")
        ca=$(median <<< "${CPU["A|$i"]}")
        cb=$(median <<< "${CPU["B|$i"]}")
        printf '  %-52s %7s ms %7s ms %6.2f  %7s ms %7s ms %6.2f  %s/%s\n' "${QUESTIONS[$i]%%|*}" \
                "$(ms "$a")" "$(ms "$c")" "$(awk -v x="$a" -v y="$c" 'BEGIN {print y / x}')" \
                "$(ms "$ca")" "$(ms "$cb")" "$(awk -v x="$ca" -v y="$cb" 'BEGIN {print y / x}')" \
                "${ROWS["A|$i"]}" "${ROWS["B|$i"]}"
        MED_T["A|$i"]=$a
        MED_T["B|$i"]=$c
        MED_C["A|$i"]=$ca
        MED_C["B|$i"]=$cb
done
# Bulk rows per second (the first two questions: 100,000 denials each).
for i in 0 1; do
        awk -v n=100000 -v a="${MED_T["A|$i"]}" -v b="${MED_T["B|$i"]}" -v ca="${MED_C["A|$i"]}" \
                -v cb="${MED_C["B|$i"]}" -v q="${QUESTIONS[$i]%%|*}" 'BEGIN {
                printf "  %-52s A %8.0f rows/s (%5.1f us CPU/row)  B %8.0f rows/s (%5.1f us CPU/row)\n",
                        q, n / a * 1e6, ca / n, n / b * 1e6, cb / n }'
done

# The whole-day one-container question against ausearch over the raw log (it knows no container
# names: the MCS pair in the subject context is what can be put to it).
if [ "${AUSEARCH:-1}" = 1 ] && command -v ausearch > /dev/null; then
        log=$CACHE/forensics-$DENIALS-c200-d30-s1.log
        ts=$(date -u -d "$day" +%m/%d/%y)
        te=$(date -u -d "$next" +%m/%d/%y)
        # question index, its MCS pair
        for q in "2 $mcs" "3 $busy_mcs"; do
                read -r i m <<< "$q"
                ctx="system_u:system_r:container_t:s0:$m"
                at=""
                ac=""
                for _ in $(seq "${AUSEARCH_RUNS:-3}"); do
                        t0=${EPOCHREALTIME/./}
                        /usr/bin/time -f '%U %S' -o "$run/time" ausearch -if "$log" -m AVC -su "$ctx" \
                                -ts "$ts" 00:00:00 -te "$te" 00:00:00 --raw > "$run/ausearch.out" 2> /dev/null || true
                        t1=${EPOCHREALTIME/./}
                        at+="$((t1 - t0)) "
                        ac+="$(awk '{printf "%d", ($1 + $2) * 1e6}' "$run/time") "
                done
                ma=$(median <<< "$at")
                mc=$(median <<< "$ac")
                echo "ausearch -if LOG ($(($(stat -c %s "$log") >> 20)) MiB) -m AVC -su CONTEXT (MCS $m), the same day," \
                        "whole answer: $(ms "$ma") ms wall, $(ms "$mc") ms CPU" \
                        "($(grep -c '^type=AVC' "$run/ausearch.out" || true) AVC records; median of ${AUSEARCH_RUNS:-3})"
                for side in A B; do
                        awk -v s="$side" -v a="${MED_T["$side|$i"]}" -v c="${MED_C["$side|$i"]}" -v ma="$ma" \
                                -v mc="$mc" -v q="${QUESTIONS[$i]%%|*}" 'BEGIN {
                                printf "  %s, %s: %.1f ms wall (ausearch / it: %.1fx), %.1f ms CPU (%.1fx)\n",
                                        s, q, a / 1000, ma / a, c / 1000, (c > 0 ? mc / c : 0) }'
                done
        done
fi
echo "reproduce: COMPARE=$COMPARE BUILD=$BUILD DENIALS=$DENIALS RUNS=$RUNS bench/bench-query-compare.sh"
