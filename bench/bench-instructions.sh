#!/usr/bin/env bash
# The daemon's work counted in instructions (valgrind --tool=callgrind), for two builds side by
# side: a count is the same from run to run whatever else the machine is doing, so a comparison
# holds on a shared, noisy machine where wall or CPU times move by tens of percent.
#
# - ingest: DENIALS generated denials read as a file (--input FILE: no clock involved, the same
#   work every run; the count includes start-up and the few `stats` calls that wait for the end);
# - questions: a store of DENIALS denials (imported once by the first build, then copied), the
#   daemon started, asked one question, stopped; the same with `stats` as the baseline, whose
#   count (start-up, the check of the database, exit) is taken off. A page of a query stops after
#   100 ms of CPU time, which callgrind stretches about fifty times: pages end at other rows from
#   run to run, so a question's count moves by about 1 % between two runs of one build. Ratios
#   within that are equal.
#
#   COMPARE=OTHER_BUILD_DIR [BUILD=build] [DENIALS=100000] [ROWS=20000] bench/bench-instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
COMPARE=${COMPARE:?COMPARE=OTHER_BUILD_DIR: the build to compare with (e.g. of an older commit)}
DENIALS=${DENIALS:-100000}
ROWS=${ROWS:-20000}
command -v valgrind > /dev/null || {
        echo "needs valgrind (apt-get install valgrind)" >&2
        exit 1
}
source bench/lib.sh
bench_tmpdir
printf '[Daemon]\nAuditLog=\n[Engines]\nDocker=\nPodman=\nProcScan=no\n' > "$T/conf"
python3 bench/gen-audit-log.py --denials "$DENIALS" --containers 200 --seed 1 > "$T/audit.log"

# instructions OUT: the total callgrind counted
instructions() { awk '/^summary:/ {print $2; exit}' "$1"; }

# The store for the questions: imported from the file by BUILD, checkpointed, copied per run.
bench_daemon_start "$BUILD/daemon/avcwatchd" "$BUILD/client/avcctl" "$T/sock" "$T/import.log" \
        --config "$T/conf" --db "$T/store.db" --input "$T/audit.log"
until "$BUILD/client/avcctl" --socket "$T/sock" -o json stats | grep -q '"input_eof":true'; do
        sleep 0.2
done
bench_daemon_stop
sqlite3 "$T/store.db" 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null

# ingest BUILD: instructions for the whole log read as a file (not live: no clock in the
# assembler or the coalescer, so the same work every run), and the rows stored
ingest() {
        rm -f "$T"/in.db*
        valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "$1/daemon/avcwatchd" \
                --config "$T/conf" --db "$T/in.db" --socket "$T/in.sock" --input "$T/audit.log" \
                2> "$T/cg.log" &
        pid=$!
        for _ in $(seq 2400); do
                "$1/client/avcctl" --socket "$T/in.sock" -o json stats 2> /dev/null |
                        grep -q '"input_eof":true' && break
                sleep 0.25
        done
        bench_daemon_stop
        echo "$(instructions "$T/cg.out") $(sqlite3 "$T/in.db" "SELECT value FROM meta WHERE key = 'denials'")"
}

# ask BUILD ARGS...: instructions the daemon spends from start to exit around one question
ask() {
        local b=$1
        shift
        cp "$T/store.db" "$T/q.db"
        rm -f "$T"/q.db-*
        valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "$b/daemon/avcwatchd" \
                --config "$T/conf" --db "$T/q.db" --socket "$T/q.sock" --input /dev/null \
                2> "$T/cg.log" &
        pid=$!
        for _ in $(seq 1200); do
                "$b/client/avcctl" --socket "$T/q.sock" stats > /dev/null 2>&1 && break
                sleep 0.25
        done
        # A question that fails is still counted (its lines say so): the daemon is stopped.
        "$b/client/avcctl" --socket "$T/q.sock" "$@" > "$T/answer" 2> "$T/ask.err" ||
                echo "  ($* failed under callgrind: $(cat "$T/ask.err"))" >&2
        bench_daemon_stop
        echo "$(instructions "$T/cg.out") $(wc -l < "$T/answer")"
}

echo "input: $DENIALS generated denials ($(wc -l < "$T/audit.log") records); A=$BUILD B=$COMPARE"
read -r ia ra < <(ingest "$BUILD")
read -r ib rb < <(ingest "$COMPARE")
awk -v ia="$ia" -v ra="$ra" -v ib="$ib" -v rb="$rb" 'BEGIN {
        printf "  %-44s %14.0f %14.0f %8.3f\n", "ingest, instructions per stored denial", ia / ra, ib / rb, (ib / rb) / (ia / ra) }'
read -r base_a _ < <(ask "$BUILD" stats)
read -r base_b _ < <(ask "$COMPARE" stats)
printf '  %-44s %14s %14s %8s  %s\n' "question (instructions, start-up taken off)" "A" "B" "B/A" "lines A/B"
for q in "-o json query --limit $ROWS" "-o raw query --limit $ROWS" "query --limit $ROWS" \
        "top --by container" "query --histogram 1h"; do
        read -r -a args <<< "$q"
        read -r qa la < <(ask "$BUILD" "${args[@]}")
        read -r qb lb < <(ask "$COMPARE" "${args[@]}")
        awk -v q="$q" -v a="$((qa - base_a))" -v b="$((qb - base_b))" -v la="$la" -v lb="$lb" 'BEGIN {
                printf "  %-44s %14d %14d %8.3f  %s/%s\n", q, a, b, b / a, la, lb }'
done
echo "reproduce: COMPARE=$COMPARE BUILD=$BUILD DENIALS=$DENIALS ROWS=$ROWS bench/bench-instructions.sh"
