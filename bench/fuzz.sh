#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 60) of CPU, starting from its saved corpus
# (tests/fuzz/corpus/<target>), built with clang + ASan + UBSan in ./build-fuzz. New interesting
# inputs are merged back into the saved corpus (MERGE=1, the default), so that every CTest run
# replays them. Prints, per target, the executions, the CPU time and what was found; a crash
# leaves its reproducer in build-fuzz/findings/<target>/ and makes the script exit 1.
#
#   SECONDS_PER_TARGET=60 bench/fuzz.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_PER_TARGET:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(record line-form varlink-request verdict record-fields-diff zstd-frame)
command -v clang > /dev/null || { echo "needs clang (apt-get install clang libclang-rt-dev)"; exit 1; }

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DAVCWATCH_FUZZ=ON -DAVCWATCH_SANITIZE=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build-fuzz -j"$(nproc)" --target $(printf 'fuzz-%s ' "${targets[@]}") > /dev/null

# User + system CPU seconds of this shell's finished children so far ("times" must run in this
# shell, not in a command substitution's subshell, which has children of its own).
cpu_seconds() {
        times > build-fuzz/times
        tail -1 build-fuzz/times | awk '{
                split($1, u, "m"); split($2, s, "m");
                printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }'
}

status=0
for t in "${targets[@]}"; do
        work=build-fuzz/work/$t
        findings=build-fuzz/findings/$t
        mkdir -p "$work" "$findings"
        start=$(date +%s)
        log=build-fuzz/fuzz-$t.log
        # CPU seconds (user + system) of the fuzzer, from the shell's own accounting: on a shared
        # machine the wall-clock budget is not the CPU time fuzzed.
        cpu_seconds > build-fuzz/cpu0
        if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
                "build-fuzz/tests/fuzz-$t" -max_total_time="$secs" -max_len=16384 \
                -artifact_prefix="$findings/" -print_final_stats=1 \
                "$work" "tests/fuzz/corpus/$t" > "$log" 2>&1; then
                status=1
        fi
        cpu_seconds > build-fuzz/cpu1
        cpu=$(awk -v a="$(cat build-fuzz/cpu1)" -v b="$(cat build-fuzz/cpu0)" 'BEGIN { printf "%.1f", a - b }')
        execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        crashes=$(find "$findings" -type f | wc -l)
        echo "$t: $execs executions in $(( $(date +%s) - start )) s wall, ${cpu} s CPU, $cov," \
                "$crashes findings"
        if [ "${MERGE:-1}" = 1 ]; then
                "build-fuzz/tests/fuzz-$t" -merge=1 "tests/fuzz/corpus/$t" "$work" > /dev/null 2>&1 || true
        fi
done
echo "reproduce: SECONDS_PER_TARGET=$secs bench/fuzz.sh ${targets[*]}"
exit $status
