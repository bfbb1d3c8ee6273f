#!/usr/bin/env bash
# Query answers of two builds side by side, on the same store: the forensics store of
# bench-forensics.sh (generated log, imported, containers known), copied once per build so that
# neither daemon sees the other's writes. Rounds alternate the builds (A, B, A, B, ...), each round
# starting the daemon afresh on its copy and asking every question once; the medians per question
# and build and their ratio (B / A: below 1 means B is faster) are printed. On a shared machine the
# ratio is the figure that holds.
#
# The questions: a bulk export (-o json and -o raw, 100,000 rows to a pipe), one container's day as
# a whole answer and its first 100 rows, top over the whole store, an hourly histogram.
#
#   COMPARE=OTHER_BUILD_DIR [BUILD=build] [DENIALS=1000000] [RUNS=5] bench/bench-query-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DENIALS=${DENIALS:-1000000}
RUNS=${RUNS:-5}
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

# start SIDE BUILD_DIR
start() {
        bench_daemon_start "$2/daemon/avcwatchd" "$2/client/avcctl" "$run/sock" \
                "$run/daemon-$1.log" --config "$run/conf" --db "$run/$1.db" --input /dev/null
}
stop() { bench_daemon_stop; }

# The questions' parameters, from the store itself (a middling container, a day near the end).
start A "$BUILD"
ctl() { "$BUILD/client/avcctl" --socket "$run/sock" "$@"; }
name=$(ctl -o json top --by container --limit 10 | tail -1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["container"]["name"])')
mcs=$(ctl -o json query --container "$name" --limit 1 |
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
        "one container's day, first 100 (--mcs)|query --mcs $mcs --since $day --until $next --limit 100"
        "top (signatures, whole store)|top"
        "top --by container (whole store)|top --by container"
        "query --histogram 1h (whole store)|query --histogram 1h"
)
declare -A T # "side|question index" -> space-separated microseconds
declare -A ROWS
for round in $(seq "$RUNS"); do
        for side in A B; do
                b=$BUILD
                [ "$side" = B ] && b=$COMPARE
                start "$side" "$b"
                for i in "${!QUESTIONS[@]}"; do
                        read -r -a args <<< "${QUESTIONS[$i]#*|}"
                        t0=${EPOCHREALTIME/./}
                        n=$("$b/client/avcctl" --socket "$run/sock" "${args[@]}" 2> /dev/null | wc -l)
                        t1=${EPOCHREALTIME/./}
                        T["$side|$i"]+="$((t1 - t0)) "
                        ROWS["$side|$i"]=$n
                done
                stop
        done
        echo "round $round of $RUNS done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "store: $db ($DENIALS denials); container $name (MCS $mcs), day $day; medians of $RUNS runs"
printf '  %-58s %12s %12s %8s  %s\n' "question" "A: $BUILD" "B: $COMPARE" "B/A" "lines A/B"
for i in "${!QUESTIONS[@]}"; do
        a=$(median <<< "${T["A|$i"]}")
        c=$(median <<< "${T["B|$i"]}")
        printf '  %-58s %9.1f ms %9.1f ms %8.2f  %s/%s\n' "${QUESTIONS[$i]%%|*}" \
                "$(awk -v x="$a" 'BEGIN {print x / 1000}')" "$(awk -v x="$c" 'BEGIN {print x / 1000}')" \
                "$(awk -v x="$a" -v y="$c" 'BEGIN {print y / x}')" "${ROWS["A|$i"]}" "${ROWS["B|$i"]}"
done
echo "reproduce: COMPARE=$COMPARE BUILD=$BUILD DENIALS=$DENIALS RUNS=$RUNS bench/bench-query-compare.sh"
