# Shared by the benchmark scripts (sourced): a temp directory that goes with the script, and one
# avcwatchd at a time started on it, waited for until it answers, stopped at the end whatever
# happens.
#
#   bench_tmpdir                         T=a new temp dir; removed (and the daemon stopped) at exit
#   bench_daemon_start DAEMON CTL SOCK LOG ARGS...
#                                        avcwatchd ARGS... in the background (pid=...), stderr to
#                                        LOG; returns once CTL --socket SOCK stats answers
#   bench_daemon_stop                    SIGTERM, then waits for it to flush and exit
#   bench_cpu_ticks PID                  "utime stime" of PID in clock ticks

pid=
bench_cleanup() {
        if [ -n "$pid" ]; then
                kill -TERM "$pid" 2> /dev/null || true
                wait "$pid" 2> /dev/null || true
        fi
        [ -n "${T:-}" ] && rm -rf "$T"
}

bench_tmpdir() {
        T=$(mktemp -d /tmp/avcwatch-bench.XXXXXX)
        trap bench_cleanup EXIT
}

bench_daemon_start() {
        local daemon=$1 ctl=$2 sock=$3 log=$4
        shift 4
        "$daemon" --socket "$sock" "$@" 2>> "$log" &
        pid=$!
        for _ in $(seq 600); do
                "$ctl" --socket "$sock" stats > /dev/null 2>&1 && return 0
                kill -0 "$pid" 2> /dev/null || break
                sleep 0.1
        done
        echo "avcwatchd ($daemon) did not start: $(cat "$log")" >&2
        exit 1
}

bench_daemon_stop() {
        kill -TERM "$pid"
        wait "$pid" || true
        pid=
}

bench_cpu_ticks() {
        awk '{print $14, $15}' "/proc/$1/stat"
}
