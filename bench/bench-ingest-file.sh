#!/usr/bin/env bash
# Ingest throughput from a file: a generated audit.log of container denials (raw lines exactly as
# auditd writes them) through the whole pipeline (parse, assemble, filter, store in SQLite) with
# `avcwatchd --input FILE`. Prints records/s and denials/s per CPU second of the daemon, records/s
# of wall time (the daemon reads, parses and assembles a file on a thread of its own and stores
# on its loop thread: up to two cores; CPU and wall differ), the cores used (CPU / wall), peak
# RSS, the database size per denial, and the load average around each run (the machine may be
# shared: with a load above the core count, wall figures say more about the others than us), and
# records per second of the busier thread's CPU time: what the wall rate would be on idle cores,
# which a loaded machine cannot show (one thread: the same as per core).
#
# COMPARE=OTHER_BUILD_DIR runs another build (e.g. an older commit's) on the same input in the
# same run, alternating with BUILD run by run, and prints both medians and their ratio: on a
# shared machine whose speed varies from day to day, the ratio is the figure that holds.
# CONFIG=FILE gives the daemon a configuration (default none: /dev/null). TRIAGE_POLICY=FILE runs
# BUILD twice per round instead, alternating: triage off (CONFIG) and on (CONFIG plus
# [Triage] Policy=FILE, e.g. build/triage-policy/policy that the triage tests build), and prints
# the medians of the daemon's CPU seconds and their ratio (the cost of triage on ingest), with
# the verdicts the "on" runs counted.
#
#   bench/bench-ingest-file.sh [DENIALS=1000000] [BUILD=build] [RUNS=3] [COMPARE=dir]
#                              [CONFIG=file] [TRIAGE_POLICY=policy]
set -euo pipefail
cd "$(dirname "$0")/.."
DENIALS=${DENIALS:-${1:-1000000}}
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
CONFIG=${CONFIG:-/dev/null}
T=$(mktemp -d /tmp/avcwatch-bench.XXXXXX)
trap 'kill $pid 2>/dev/null || true; rm -rf "$T"' EXIT
pid=

python3 bench/gen-audit-log.py --denials "$DENIALS" --containers 200 --seed 1 > "$T/audit.log"
records=$(wc -l < "$T/audit.log")
bytes=$(stat -c %s "$T/audit.log")
echo "input: $DENIALS denials, $records records, $((bytes / 1024 / 1024)) MiB ($T/audit.log)"

tick=$(getconf CLK_TCK)
# one_run BUILD LABEL [CONFIG]: one pass over the input; prints a line, sets rps, cpu, verdicts
one_run() {
        local b=$1 label=$2 config=${3:-$CONFIG}
        rm -f "$T"/db*
        start=$(date +%s.%N)
        "$b/daemon/avcwatchd" --config "$config" --db "$T/db" --socket "$T/sock" \
                --input "$T/audit.log" 2> "$T/daemon.log" &
        pid=$!
        until "$b/client/avcctl" --socket "$T/sock" -o json stats 2>/dev/null |
                grep -q '"input_eof":true'; do
                sleep 0.05
        done
        end=$(date +%s.%N)
        read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
        # the loop thread's own share (the task whose id is the pid); the rest is the reader's
        # (and the checkpoints'): the longer of the two bounds the wall time on idle cores
        read -r mutime mstime < <(awk '{print $14, $15}' "/proc/$pid/task/$pid/stat")
        hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
        stats=$("$b/client/avcctl" --socket "$T/sock" -o json stats)
        stored=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["denials_stored"])' "$stats")
        verdicts=$(python3 -c '
import json, sys
s = json.loads(sys.argv[1])
print(" ".join(f"{k[8:]}={v}" for k, v in s.items() if k.startswith("verdict_")), "none=%s" % s.get("triage_none"))' "$stats")
        kill -TERM "$pid"; wait "$pid" || true; pid=
        dbbytes=$(du -cb "$T"/db* | tail -1 | cut -f1)
        cpu=$(awk -v u="$utime" -v s="$stime" -v t="$tick" 'BEGIN {print (u + s) / t}')
        wall=$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')
        loop=$(awk -v u="$mutime" -v s="$mstime" -v t="$tick" 'BEGIN {print (u + s) / t}')
        crit=$(awk -v c="$cpu" -v l="$loop" 'BEGIN {o = c - l; print (l > o ? l : o)}')
        crps=$(awk -v r="$records" -v c="$crit" 'BEGIN {printf "%d", r / c}')
        rps=$(awk -v r="$records" -v c="$cpu" 'BEGIN {printf "%d", r / c}')
        wrps=$(awk -v r="$records" -v w="$wall" 'BEGIN {printf "%d", r / w}')
        cores=$(awk -v c="$cpu" -v w="$wall" 'BEGIN {printf "%.2f", c / w}')
        load=$(cut -d' ' -f1 /proc/loadavg)
        dps=$(awk -v r="$stored" -v c="$cpu" 'BEGIN {printf "%d", r / c}')
        printf '%srun %d: %d records, %d denials stored, wall %.2f s, cpu %.2f s (loop thread %.2f s; %s cores) -> %d records/s wall, %d records/s on idle cores (records / the busier thread'"'"'s CPU), %d records/s/core, %d denials/s/core, peak RSS %d MiB, db %d bytes/denial, load %s\n' \
                "$label" "$run" "$records" "$stored" "$wall" "$cpu" "$loop" "$cores" "$wrps" \
                "$crps" "$rps" "$dps" "$((hwm / 1024))" "$((dbbytes / stored))" "$load"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

if [ -n "${TRIAGE_POLICY:-}" ]; then
        { [ "$CONFIG" = /dev/null ] || cat "$CONFIG"; printf '\n[Triage]\nPolicy=%s\n' "$(realpath "$TRIAGE_POLICY")"; } > "$T/triage.conf"
        echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
        offs=() ons=() off_cpu=() on_cpu=() ratios=() loop_ratios=()
        for run in $(seq 1 "$RUNS"); do
                one_run "$BUILD" "  (triage off) " "$CONFIG"
                offs+=("$rps"); off_cpu+=("$cpu"); off_loop=$loop
                one_run "$BUILD" "  (triage on)  " "$T/triage.conf"
                ons+=("$rps"); on_cpu+=("$cpu")
                # the pair's ratio: the two runs are next to each other, so a change of the
                # machine's load between rounds cancels out
                ratios+=("$(awk -v a="$cpu" -v b="${off_cpu[-1]}" 'BEGIN {printf "%.3f", a / b}')")
                # triage runs on the loop thread, which bounds the rate on idle cores
                loop_ratios+=("$(awk -v a="$loop" -v b="$off_loop" 'BEGIN {printf "%.3f", a / b}')")
                grep -q "Triage: policy .* loaded" "$T/daemon.log" || { echo "triage was not on: $(cat "$T/daemon.log")"; exit 1; }
                echo "  (triage on)  verdicts: $verdicts"
        done
        mo=$(median "${off_cpu[@]}"); mn=$(median "${on_cpu[@]}")
        echo "median CPU: triage off $mo s, on $mn s; on / off = $(awk -v a="$mn" -v b="$mo" 'BEGIN {printf "%.3f", a / b}') ($(median "${offs[@]}") vs $(median "${ons[@]}") records/s per core)"
        echo "on / off per round: ${ratios[*]}; median $(median "${ratios[@]}")"
        echo "on / off of the loop thread per round: ${loop_ratios[*]}; median $(median "${loop_ratios[@]}")"
        echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "reproduce: DENIALS=$DENIALS RUNS=$RUNS TRIAGE_POLICY=$TRIAGE_POLICY bench/bench-ingest-file.sh"
        exit 0
fi

results=()
others=()
walls=()
other_walls=()
crits=()
other_crits=()
for run in $(seq 1 "$RUNS"); do
        one_run "$BUILD" ""
        results+=("$rps")
        walls+=("$wrps")
        crits+=("$crps")
        if [ -n "${COMPARE:-}" ]; then
                one_run "$COMPARE" "  ($COMPARE) "
                others+=("$rps")
                other_walls+=("$wrps")
                other_crits+=("$crps")
        fi
done
m=$(median "${results[@]}")
mw=$(median "${walls[@]}")
mc=$(median "${crits[@]}")
echo "median: $m records/s per core, $mw records/s wall, $mc records/s on idle cores (raw log: $((bytes / DENIALS)) bytes/denial)"
if [ -n "${COMPARE:-}" ]; then
        o=$(median "${others[@]}")
        ow=$(median "${other_walls[@]}")
        oc=$(median "${other_crits[@]}")
        echo "median of $COMPARE: $o records/s per core, $ow records/s wall, $oc records/s on idle cores"
        echo "$BUILD / $COMPARE: per core $(awk -v a="$m" -v b="$o" 'BEGIN {printf "%.2f", a / b}'), wall $(awk -v a="$mw" -v b="$ow" 'BEGIN {printf "%.2f", a / b}'), on idle cores $(awk -v a="$mc" -v b="$oc" 'BEGIN {printf "%.2f", a / b}')"
fi
echo "reproduce: DENIALS=$DENIALS RUNS=$RUNS${COMPARE:+ COMPARE=$COMPARE} bench/bench-ingest-file.sh"
