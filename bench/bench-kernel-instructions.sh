#!/usr/bin/env bash
# The kernel path's work per denial counted in instructions (valgrind --tool=callgrind), for two
# builds side by side: a count holds on a shared, noisy machine where CPU times move by tens of
# percent (bench-ingest-kernel.sh gives the CPU times).
#
# DENIALS USER_AVC denials are sent through the kernel once (BUILD's avcwatch-inject, as in
# bench-ingest-kernel.sh) and read back from BUILD's daemon as the lines it stored (`-o raw`:
# exactly what the netlink source handed on). Each build's daemon then reads those lines as
# live input on stdin (a FIFO it never sees the end of): the clock-mode assembler, pid
# attribution, the coalescer, the store's batches, as on netlink; only the source differs (the
# netlink source's own work, a recvmmsg() per 32 records and a few comparisons per datagram, is
# not in the count). The count runs from the first line to the last commit (callgrind_control
# -z / -d), start-up left out; the raw codec's dictionary training, once per store, is given
# apart, since a run of DENIALS denials would otherwise spread it over too few.
#
#   [COMPARE=OTHER_BUILD_DIR] [BUILD=build] [DENIALS=50000] [LINES=FILE] [KEEP=DIR] \
#       bench/bench-kernel-instructions.sh
#
# Without COMPARE only BUILD is counted. LINES=FILE reads lines kept by an earlier run (KEEP)
# instead of capturing new ones: the same input for builds counted at different times.
# KEEP=DIR keeps each build's callgrind profile as DIR/callgrind.BUILD_DIR (its / as _), for
# callgrind_annotate, and the captured lines as DIR/lines (input for bench/bench-raw-codec.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
COMPARE=${COMPARE:-}
DENIALS=${DENIALS:-50000}
LINES=${LINES:-}
[ "$(id -u)" -eq 0 ] || { echo "needs root (CAP_AUDIT_WRITE and CAP_AUDIT_READ)"; exit 1; }
command -v valgrind > /dev/null || {
        echo "needs valgrind (apt-get install valgrind)" >&2
        exit 1
}
source bench/lib.sh
bench_tmpdir
ctl() { "$BUILD/client/avcctl" --socket "$T/sock" "$@"; }
stored() { "$1/client/avcctl" --socket "$T/sock" -o json stats |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["denials_stored"])'; }

if [ -n "$LINES" ]; then
        cp "$LINES" "$T/lines"
        DENIALS=$(wc -l < "$T/lines")
else
        # The lines, from the kernel.
        mark="kinstr$$"
        bench_daemon_start "$BUILD/daemon/avcwatchd" "$BUILD/client/avcctl" "$T/sock" "$T/capture.log" \
                --config /dev/null --db "$T/capture.db"
        "$BUILD/tools/avcwatch-inject" --rate 20000 --count "$DENIALS" --mark "$mark" > /dev/null
        sleep 1
        ctl -o raw query --comm "$mark" --limit "$DENIALS" > "$T/lines"
        bench_daemon_stop
        [ "$(wc -l < "$T/lines")" -eq "$DENIALS" ] || {
                echo "captured $(wc -l < "$T/lines") of $DENIALS lines" >&2
                exit 1
        }
fi
if [ -n "${KEEP:-}" ]; then
        mkdir -p "$KEEP"
        cp "$T/lines" "$KEEP/lines"
fi

# count BUILD: instructions for the lines read live, and the training's share of them
count() {
        local b=$1
        rm -f "$T"/db* "$T"/cg.out*
        mkfifo "$T/fifo"
        exec 3<> "$T/fifo"
        valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "$b/daemon/avcwatchd" \
                --config /dev/null --db "$T/db" --socket "$T/sock" --input - <&3 2> "$T/cg.log" &
        pid=$!
        for _ in $(seq 1200); do
                "$b/client/avcctl" --socket "$T/sock" stats > /dev/null 2>&1 && break
                sleep 0.25
        done
        callgrind_control -z "$pid" > /dev/null
        cat "$T/lines" > "$T/fifo"
        local prev= cur
        for _ in $(seq 2400); do
                sleep 0.5
                cur=$(stored "$b")
                [ "$cur" = "$prev" ] && [ "$cur" -ge "$DENIALS" ] && break
                prev=$cur
        done
        callgrind_control -d "$pid" > /dev/null
        bench_daemon_stop
        exec 3>&-
        rm -f "$T/fifo"
        local part ir train
        part=$(ls "$T"/cg.out.* | head -1)
        ir=$(awk '/^summary:/ && !n++ {print $2}' "$part")
        train=$(callgrind_annotate --inclusive=yes "$part" 2> /dev/null |
                awk '/raw_encoder_train/ && !n++ {gsub(",", "", $1); print $1}')
        train=${train:-0}
        printf '%-30s %d denials stored: %d instructions per denial, %d without the dictionary'"'"'s training (%d in all)\n' \
                "$b" "$cur" "$((ir / cur))" "$(((ir - train) / cur))" "$train"
        per=$(((ir - train) / cur))
        if [ -n "${KEEP:-}" ]; then
                mkdir -p "$KEEP"
                cp "$part" "$KEEP/callgrind.$(echo "$b" | tr / _)"
        fi
}

count "$BUILD"
mine=$per
if [ -n "$COMPARE" ]; then
        count "$COMPARE"
        theirs=$per
        echo "ratio without the training: $(awk -v a="$mine" -v b="$theirs" 'BEGIN {printf "%.3f", a / b}')"
fi
echo "reproduce: DENIALS=$DENIALS BUILD=$BUILD${COMPARE:+ COMPARE=$COMPARE}${LINES:+ LINES=$LINES} bench/bench-kernel-instructions.sh"
