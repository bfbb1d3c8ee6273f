#!/usr/bin/env bash
# The kernel path's system side per denial: system calls, context switches and page faults of
# the daemon while avcwatch-inject sends USER_AVC denials through the kernel at RATE per second.
# Counts hold on a shared machine where CPU times move by tens of percent (bench-ingest-kernel.sh
# gives the times): the figures are per denial taken in over a window of WINDOW seconds in the
# middle of the injection (perf stat's tracepoints for the system calls, /proc for the context
# switches of each thread and for the CPU time).
#
# COMPARE=OTHER_BUILD_DIR runs another build the same way after BUILD (RUNS rounds, alternating).
#
#   [BUILD=build] [COMPARE=/work/base-build] [RATE=50000] [DURATION=12] [WINDOW=6] [RUNS=1] \
#       bench/bench-kernel-syscalls.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
INJECT=${INJECT:-$BUILD/tools/avcwatch-inject}
COMPARE=${COMPARE:-}
RATE=${RATE:-50000}
DURATION=${DURATION:-12}
WINDOW=${WINDOW:-6}
RUNS=${RUNS:-1}
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 1; }
command -v perf > /dev/null || { echo "needs perf" >&2; exit 1; }
source bench/lib.sh
bench_tmpdir
tick=$(getconf CLK_TCK)
SYSCALLS="recvmmsg recvmsg getsockopt epoll_wait gettid pwrite64 pread64 fdatasync fsync futex
read write timerfd_settime clock_gettime mmap munmap madvise brk"
taken() { python3 -c 'import json,sys; s = json.load(sys.stdin); print(s["denials_stored"] + s["denials_coalesced"])'; }
# voluntary and involuntary context switches of every thread, summed
ctxt() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {n += $2} END {print v, n}'; }
loop_ctxt() { awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v, n}' "/proc/$1/task/$1/status"; }

one_run() {
        local b=$1 ctl="$1/client/avcctl"
        rm -f "$T"/db*
        : > "$T/daemon.log"
        bench_daemon_start "$b/daemon/avcwatchd" "$ctl" "$T/sock" "$T/daemon.log" \
                --config /dev/null --db "$T/db"
        "$INJECT" --rate "$RATE" --duration "$DURATION" --mark "ksys$$" > "$T/inject.out" 2>&1 &
        local inj=$!
        sleep $(((DURATION - WINDOW) / 2))
        local t0 c0 l0 u0 s0 t1 c1 l1 u1 s1
        t0=$("$ctl" --socket "$T/sock" -o json stats | taken)
        c0=$(ctxt "$pid")
        l0=$(loop_ctxt "$pid")
        read -r u0 s0 < <(bench_cpu_ticks "$pid")
        local events="raw_syscalls:sys_enter,context-switches,page-faults"
        for sc in $SYSCALLS; do
                [ -d "/sys/kernel/tracing/events/syscalls/sys_enter_$sc" ] ||
                        [ -d "/sys/kernel/debug/tracing/events/syscalls/sys_enter_$sc" ] &&
                        events="$events,syscalls:sys_enter_$sc"
        done
        perf stat -x, -e "$events" -p "$pid" -- sleep "$WINDOW" 2> "$T/perf.out" > /dev/null || true
        t1=$("$ctl" --socket "$T/sock" -o json stats | taken)
        c1=$(ctxt "$pid")
        l1=$(loop_ctxt "$pid")
        read -r u1 s1 < <(bench_cpu_ticks "$pid")
        wait "$inj" || true
        local n=$((t1 - t0))
        local threads
        threads=$(ls "/proc/$pid/task" | wc -l)
        bench_daemon_stop
        echo "$b: $n denials taken in over ${WINDOW}s at $RATE/s ($threads threads; injector: $(tail -1 "$T/inject.out"))"
        awk -v n="$n" -v t="$tick" -v u="$((u1 - u0))" -v s="$((s1 - s0))" \
                'BEGIN {printf "  CPU per denial: user %.2f us, system %.2f us (ticks: coarse)\n", 1e6 * u / t / n, 1e6 * s / t / n}'
        read -r v0 i0 <<< "$c0"
        read -r v1 i1 <<< "$c1"
        read -r lv0 li0 <<< "$l0"
        read -r lv1 li1 <<< "$l1"
        awk -v n="$n" -v w="$WINDOW" -v v="$((v1 - v0))" -v i="$((i1 - i0))" -v lv="$((lv1 - lv0))" -v li="$((li1 - li0))" \
                'BEGIN {printf "  context switches per second: all threads %d voluntary, %d involuntary; loop thread %d voluntary, %d involuntary (per 1000 denials: %.1f voluntary)\n", v / w, i / w, lv / w, li / w, 1000 * v / n}'
        awk -F, -v n="$n" -v w="$WINDOW" '$1 ~ /^[0-9]+$/ && $1 > 0 {
                name = $3; sub(/^syscalls:sys_enter_/, "", name); sub(/^raw_syscalls:sys_enter$/, "all system calls", name)
                printf "  %-18s %9d per second, %8.4f per denial\n", name, $1 / w, $1 / n }' "$T/perf.out"
}

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for run in $(seq 1 "$RUNS"); do
        one_run "$BUILD"
        [ -z "$COMPARE" ] || one_run "$COMPARE"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
