#!/usr/bin/env bash
# Forensics at scale: a generated audit log of DENIALS container denials (bench/gen-audit-log.py:
# 200 containers, 20 signatures, storms, 30 days, whole events half of the time, varying syscall
# arguments) is imported through the normal path (`avcctl import` into a running avcwatchd, with
# the containers known to its registry so that they are named by MCS + time), then the same
# questions are asked of avcctl and of ausearch/aureport over the same log, side by side:
#   - a selective query: one MCS pair, or one container by name, over one day, first 100 rows;
#   - top over the whole store (signatures, containers, images), over a day, new since a week;
#   - histograms per hour;
# each the median of RUNS runs (AUSEARCH_RUNS for ausearch), end to end through avcctl. Also: the
# store's size per denial against the log's, the import rate, and the daemon's peak RSS while it
# answers small and very large queries (reset between them through /proc/PID/clear_refs).
#
# The log and the loaded database are cached in CACHE (default build-bench/): generating and
# importing 10 million denials takes a while on two cores. Not a CTest test. QUESTIONS=0 skips the
# questions and ausearch; PRUNE=0 skips the retention phase (on a copy of the store).
#
#   DENIALS=10000000 RUNS=7 AUSEARCH_RUNS=3 bench/bench-forensics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DENIALS=${DENIALS:-10000000}
RUNS=${RUNS:-7}
AUSEARCH_RUNS=${AUSEARCH_RUNS:-3}
CACHE=${CACHE:-build-bench}
BUILD=${BUILD:-build}
CONTAINERS=200
DAYS=30
SEED=1
AVCWATCHD=$BUILD/daemon/avcwatchd
AVCCTL=$BUILD/client/avcctl
tools="python3 sqlite3"
[ "${QUESTIONS:-1}" = 1 ] && tools="$tools ausearch aureport" # only the questions compare with them
for tool in $tools; do
        command -v "$tool" > /dev/null || {
                echo "needs $tool (apt-get install python3 sqlite3 auditd)" >&2
                exit 1
        }
done
export TZ=UTC LC_ALL=C # ausearch reads dates in the locale's form; everything in UTC

mkdir -p "$CACHE"
key="forensics-$DENIALS-c$CONTAINERS-d$DAYS-s$SEED"
log=$CACHE/$key.log
sql=$CACHE/$key.containers.sql
db=$CACHE/$key.db
source bench/lib.sh
bench_tmpdir
run=$T
sock=$run/sock

now_ms() { date +%s%3N; }

start_daemon() {
        bench_daemon_start "$AVCWATCHD" "$AVCCTL" "$sock" "$run/daemon.log" --config "$run/conf" \
                --db "$db" --input /dev/null
}
stop_daemon() { bench_daemon_stop; }

printf '[Daemon]\nAuditLog=\n[Engines]\nDocker=\nPodman=\nProcScan=no\n' > "$run/conf"

# ---- the log ----
if [ ! -s "$log" ] || [ ! -s "$sql" ]; then
        t0=$(now_ms)
        python3 bench/gen-audit-log.py --denials "$DENIALS" --containers "$CONTAINERS" \
                --seed "$SEED" --span-days "$DAYS" --varied-syscalls --containers-sql "$sql" \
                > "$log.tmp"
        mv "$log.tmp" "$log"
        echo "generated $log in $((($(now_ms) - t0) / 1000)) s"
fi
log_bytes=$(stat -c %s "$log")
records=$(wc -l < "$log")

# ---- the store, loaded through avcctl import (cached while the schema is the same) ----
if [ ! -s "$db" ] || [ "$(sqlite3 "$db" 'PRAGMA user_version' 2> /dev/null)" != 2 ] ||
        [ "$(sqlite3 "$db" "SELECT value FROM meta WHERE key = 'denials'" 2> /dev/null)" != \
                "$DENIALS" ]; then
        rm -f "$db" "$db-wal" "$db-shm"
        start_daemon # creates the schema
        stop_daemon
        sqlite3 "$db" < "$sql" # the registry's containers, as engines would have reported them
        start_daemon
        t0=$(now_ms)
        "$AVCCTL" --socket "$sock" import "$log"
        t1=$(now_ms)
        read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
        cpu=$(awk -v u="$utime" -v s="$stime" -v t="$(getconf CLK_TCK)" 'BEGIN {print (u + s) / t}')
        stop_daemon
        awk -v r="$records" -v d="$DENIALS" -v w="$(((t1 - t0)))" -v c="$cpu" 'BEGIN {
                printf "import: %d records (%d denials) in %.1f s wall, daemon %.1f s CPU -> %d records/s/core\n",
                        r, d, w / 1000, c, r / c }' | tee "$CACHE/$key.import.txt"
else
        echo "(cached) $(cat "$CACHE/$key.import.txt" 2> /dev/null || echo "import: from an earlier run")"
fi

# ---- size ----
db_bytes=$(stat -c %s "$db")
[ -e "$db-wal" ] && db_bytes=$((db_bytes + $(stat -c %s "$db-wal")))
echo "log: $log_bytes bytes, $records records, $DENIALS denials -> $((log_bytes / DENIALS)) bytes/denial"
echo "store: $db_bytes bytes (database + WAL, after the daemon's checkpoint at exit) -> $((db_bytes / DENIALS)) bytes/denial = $(awk -v a="$db_bytes" -v b="$log_bytes" 'BEGIN {printf "%.0f", 100 * a / b}')% of the log"
sqlite3 "$db" "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6" |
        awk -F'|' -v d="$DENIALS" '{printf "  %-22s %7.1f bytes/denial\n", $1, $2 / d}'

# ---- the questions ----
start_daemon
rss_start=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
ctl() { "$AVCCTL" --socket "$sock" "$@"; }

# A container of middling popularity (the 10th), its categories, and a day near the end of the log
# (ausearch has to read most of the file to reach it; an early day would flatter it).
ctl -o json top --by container --limit 10 | tail -1 > "$run/ctr.json"
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["container"]["name"])' "$run/ctr.json")
mcs=$(ctl -o json query --container "$name" --limit 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["mcs"])')
last=$(ctl -o json query --reverse --limit 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["time"][:10])')
day=$(date -u -d "$last - 3 days" +%F)
next=$(date -u -d "$day + 1 day" +%F)
week=$(date -u -d "$last - 7 days" +%F)
echo "questions: container $name (MCS $mcs), day $day"

# measure LABEL N CMD...: the median, min and max wall time of N runs, in ms
declare -A MEDIAN
measure() {
        local label=$1 n=$2
        shift 2
        local times=() t0 t1
        for _ in $(seq "$n"); do
                # bash's own clock (no process started around the command): microseconds
                t0=${EPOCHREALTIME/./}
                "$@" > /dev/null 2>&1 || true
                t1=${EPOCHREALTIME/./}
                times+=("$((t1 - t0))")
        done
        local sorted
        sorted=$(printf '%s\n' "${times[@]}" | sort -n)
        local med min max
        med=$(awk -v n="$n" 'NR == int((n + 1) / 2) {print}' <<< "$sorted")
        min=$(head -1 <<< "$sorted")
        max=$(tail -1 <<< "$sorted")
        MEDIAN[$label]=$med
        printf '  %-58s %10.1f ms  (min %.1f, max %.1f, %d runs)\n' "$label" \
                "$(awk -v m="$med" 'BEGIN {print m / 1000}')" \
                "$(awk -v m="$min" 'BEGIN {print m / 1000}')" \
                "$(awk -v m="$max" 'BEGIN {print m / 1000}')" "$n"
}
# rows CMD...: how many lines it prints (to show the answers are the same)
rows() { "$@" 2> /dev/null | wc -l; }

if [ "${QUESTIONS:-1}" = 1 ]; then
echo "avcctl (end to end: connect, ask, print):"
measure "query --mcs, one day, first 100 (short)" "$RUNS" \
        ctl query --mcs "$mcs" --since "$day" --until "$next" --limit 100
measure "query --container, one day, first 100 (short)" "$RUNS" \
        ctl query --container "$name" --since "$day" --until "$next" --limit 100
measure "query --mcs, one day, first 100 (-o json)" "$RUNS" \
        ctl -o json query --mcs "$mcs" --since "$day" --until "$next" --limit 100
measure "query --mcs, one day, first 100 (-o raw)" "$RUNS" \
        ctl -o raw query --mcs "$mcs" --since "$day" --until "$next" --limit 100
measure "query --mcs, one day, all $(rows ctl query --mcs "$mcs" --since "$day" --until "$next") (short)" "$RUNS" \
        ctl query --mcs "$mcs" --since "$day" --until "$next"
measure "top (signatures, whole store)" "$RUNS" ctl top
measure "top --by container (whole store)" "$RUNS" ctl top --by container
measure "top --by image (whole store)" "$RUNS" ctl top --by image
measure "top, $day 10:17 .. $next 15:42" "$RUNS" ctl top --since "$day 10:17" --until "$next 15:42"
measure "top --new --since $week (signatures new in a week)" "$RUNS" ctl top --new --since "$week"
measure "query --histogram 1h (whole store)" "$RUNS" ctl query --histogram 1h
measure "query --histogram 1h --container $name" "$RUNS" ctl query --histogram 1h --container "$name"
measure "query --comm (no index), whole store, first 100" 3 ctl query --comm nginx --limit 100

echo "ausearch / aureport over the same log ($((log_bytes >> 20)) MiB):"
ctx="system_u:system_r:container_t:s0:$mcs"
ts=$(date -u -d "$day" +%m/%d/%y)
te=$(date -u -d "$next" +%m/%d/%y)
measure "ausearch -su CONTEXT, one day, whole answer" "$AUSEARCH_RUNS" \
        ausearch -if "$log" -m AVC -su "$ctx" -ts "$ts" 00:00:00 -te "$te" 00:00:00 --raw
measure "ausearch -su CONTEXT, one day, until the first 100 lines" "$AUSEARCH_RUNS" \
        bash -c "ausearch -if '$log' -m AVC -su '$ctx' -ts $ts 00:00:00 -te $te 00:00:00 --raw | head -n 100"
measure "aureport -a --summary (AVC objects ranked)" "$AUSEARCH_RUNS" \
        aureport -if "$log" -a --summary
a_ours=$(ctl -o raw query --mcs "$mcs" --since "$day" --until "$next" | grep -c '^type=AVC' || true)
a_theirs=$(ausearch -if "$log" -m AVC -su "$ctx" -ts "$ts" 00:00:00 -te "$te" 00:00:00 --raw 2> /dev/null | grep -c '^type=AVC' || true)
echo "  same answer: avcctl $a_ours AVC records, ausearch $a_theirs (ausearch knows no container names: only the MCS question can be put to it)"
ratio() { awk -v a="${MEDIAN[$1]}" -v b="${MEDIAN[$2]}" 'BEGIN {printf "%.0f", a / b}'; }
echo "ratios (ausearch / avcctl, medians):"
echo "  selective query, whole answer:        $(ratio "ausearch -su CONTEXT, one day, whole answer" "query --mcs, one day, first 100 (short)")x (first 100 rows against ausearch's whole day)"
echo "  selective query, first 100 each:      $(ratio "ausearch -su CONTEXT, one day, until the first 100 lines" "query --mcs, one day, first 100 (short)")x"
echo "  ranking (aureport summary vs top):    $(ratio "aureport -a --summary (AVC objects ranked)" "top (signatures, whole store)")x"

# ---- memory while answering ----
reset_peak() { echo 5 > "/proc/$pid/clear_refs"; }
peak() { awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status"; }
echo "daemon memory (peak RSS, reset before each):"
echo "  after start-up and the questions above: $(peak) MiB (right after start: $((rss_start / 1024)) MiB)"
sizes="100 10000 1000000"
[ "$DENIALS" -ge 3000000 ] && sizes="$sizes 3000000"
for n in $sizes; do
        reset_peak
        t0=$(now_ms)
        ctl -o json query --limit "$n" > /dev/null
        echo "  query -o json, $n rows: peak $(peak) MiB ($((($(now_ms) - t0))) ms)"
done
reset_peak
ctl top --by container --limit 1000 > /dev/null
echo "  top --by container --limit 1000: peak $(peak) MiB"
fi # QUESTIONS
stop_daemon

# ---- retention on a copy: remove the oldest sixth while questions are asked ----
if [ "${PRUNE:-1}" = 1 ]; then
        cp "$db" "$run/prune.db"
        first=$(sqlite3 "$db" "SELECT min(id) >> 20 FROM denials")
        newest=$(sqlite3 "$db" "SELECT max(id) >> 20 FROM denials")
        cut=$((first + (newest - first) / 6))
        age_s=$((($(date +%s%3N) - cut) / 1000))
        expect=$(sqlite3 "$db" "SELECT count(*) FROM denials WHERE id < $cut * 1048576")
        printf '[Daemon]\nAuditLog=\n[Engines]\nDocker=\nPodman=\nProcScan=no\n[Retention]\nMaxAge=%ds\n' \
                "$age_s" > "$run/conf"
        db_saved=$db
        db=$run/prune.db
        : > "$run/daemon.log"
        start_daemon
        echo "retention: MaxAge=${age_s}s removes about $expect denials from a copy of the store; meanwhile:"
        t_start=$(now_ms)
        sleep 4 # the first step comes 2 s after start-up
        measure "query --mcs, one day, first 100, while pruning" "$RUNS" \
                ctl query --mcs "$mcs" --since "$day" --until "$next" --limit 100
        measure "top, while pruning" "$RUNS" ctl top
        for _ in $(seq 3000); do
                grep -q "Retention: removed" "$run/daemon.log" && break
                sleep 0.2
        done
        grep -o "Retention: removed.*" "$run/daemon.log" | sed 's/^/  /'
        echo "  in $((($(now_ms) - t_start) / 1000)) s; stats: store_pruned $(ctl -o json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["store_pruned"])'), top still counts $(ctl -o json top --limit 1000 | python3 -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin))')"
        stop_daemon
        db=$db_saved
fi
echo "reproduce: DENIALS=$DENIALS RUNS=$RUNS AUSEARCH_RUNS=$AUSEARCH_RUNS bench/bench-forensics.sh"
