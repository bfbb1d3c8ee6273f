#!/usr/bin/env bash
# What triage costs ingest, counted in instructions (valgrind --tool=callgrind): the same build
# reads the same generated log as a file twice, with [Triage] Policy= and without, and once more
# each with a tiny log, whose count (start-up, the policy's load, exit) is taken off. A count is
# the same from run to run whatever else the machine is doing, so this ratio holds where CPU
# times on a shared machine move by tens of percent (bench/bench-ingest-file.sh gives those).
#
#   TRIAGE_POLICY=FILE [BUILD=build] [DENIALS=20000] bench/bench-triage-instructions.sh
#
# FILE: a policy with the container module, e.g. the one tests/integration/triage-policy.sh
# builds into BUILD/triage-policy/policy.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DENIALS=${DENIALS:-20000}
POLICY=$(realpath "${TRIAGE_POLICY:?TRIAGE_POLICY=FILE: a policy with the container module}")
command -v valgrind > /dev/null || {
        echo "needs valgrind (apt-get install valgrind)" >&2
        exit 1
}
source bench/lib.sh
bench_tmpdir
printf '[Daemon]\nAuditLog=\n[Engines]\nDocker=\nPodman=\nProcScan=no\n' > "$T/off.conf"
{ cat "$T/off.conf"; printf '[Triage]\nPolicy=%s\n' "$POLICY"; } > "$T/on.conf"
python3 bench/gen-audit-log.py --denials "$DENIALS" --containers 200 --seed 1 > "$T/big.log"
python3 bench/gen-audit-log.py --denials 100 --containers 200 --seed 1 > "$T/small.log"

# ingest CONF LOG: "instructions stored triaged" for the log read as a file
ingest() {
        rm -f "$T"/in.db*
        valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "$BUILD/daemon/avcwatchd" \
                --config "$1" --db "$T/in.db" --socket "$T/in.sock" --input "$2" 2> "$T/cg.log" &
        pid=$!
        for _ in $(seq 2400); do
                "$BUILD/client/avcctl" --socket "$T/in.sock" -o json stats 2> /dev/null |
                        grep -q '"input_eof":true' && break
                sleep 0.25
        done
        bench_daemon_stop
        echo "$(awk '/^summary:/ {print $2; exit}' "$T/cg.out")" \
                "$(sqlite3 "$T/in.db" "SELECT count(*) FROM denials")" \
                "$(sqlite3 "$T/in.db" "SELECT count(*) FROM denials WHERE reason IS NOT NULL AND reason >= 0")"
}

read -r off_big off_n _ < <(ingest "$T/off.conf" "$T/big.log")
read -r off_small off_sn _ < <(ingest "$T/off.conf" "$T/small.log")
read -r on_big on_n on_triaged < <(ingest "$T/on.conf" "$T/big.log")
read -r on_small on_sn _ < <(ingest "$T/on.conf" "$T/small.log")
echo "input: $DENIALS generated denials ($(wc -l < "$T/big.log") records), policy $POLICY"
echo "stored: off $off_n, on $on_n (triaged $on_triaged)"
awk -v ob="$off_big" -v os="$off_small" -v nb="$on_big" -v ns="$on_small" -v n="$off_n" \
        -v sn="$off_sn" 'BEGIN {
        off = (ob - os) / (n - sn); on = (nb - ns) / (n - sn)
        printf "  start-up and exit:              off %12d  on %12d  (policy load %+d)\n", os, ns, ns - os
        printf "  instructions per stored denial: off %12.0f  on %12.0f  on/off %.3f\n", off, on, on / off }'
echo "reproduce: TRIAGE_POLICY=$TRIAGE_POLICY BUILD=$BUILD DENIALS=$DENIALS bench/bench-triage-instructions.sh"
