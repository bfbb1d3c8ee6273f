#!/usr/bin/env bash
# raw_encode()'s instructions per event (valgrind --tool=callgrind) and bytes stored per event, at
# both levels in use (3: the reader's, -1: the store's), for one build or two side by side, on
# the events of each FILE (an audit log: bench/gen-audit-log.py's, or the USER_AVC lines that
# `KEEP=DIR bench/bench-kernel-instructions.sh` keeps as DIR/lines). Only the steady-state pass
# of bench-raw-codec is counted (the dictionaries are trained before it); "digest" is the same
# for two builds that store the same bytes.
#
#   [BUILD=build] [COMPARE=OTHER_BUILD_DIR] [LEVELS="3 -1"] bench/bench-raw-codec.sh FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LEVELS=${LEVELS:-3 -1}
[ $# -gt 0 ] || {
        echo "usage: [BUILD=build] [COMPARE=DIR] bench/bench-raw-codec.sh FILE..." >&2
        exit 2
}
command -v valgrind > /dev/null || {
        echo "needs valgrind (apt-get install valgrind)" >&2
        exit 1
}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

count() {
        local b=$1 file=$2 level=$3 out events ir
        out=$(valgrind --tool=callgrind --collect-atstart=no --toggle-collect=measured_passes \
                --callgrind-out-file="$T/cg.out" "$b/bench/bench-raw-codec" "$file" "$level" 1 2> "$T/log")
        events=$(awk '/ events / {print $1; exit}' <<< "$out")
        ir=$(awk '/^summary:/ {print $2}' "$T/cg.out")
        printf '  %-28s level %2s: %6d instructions per event, %s\n' "$b" "$level" \
                "$((ir / events))" "$(sed -n 's/.*CPU per event, //p' <<< "$out")"
}

for file in "$@"; do
        echo "$file: $("$BUILD/bench/bench-raw-codec" "$file" 3 1 | head -1 | sed 's/, level.*//')"
        for level in $LEVELS; do
                count "$BUILD" "$file" "$level"
                [ -z "${COMPARE:-}" ] || count "$COMPARE" "$file" "$level"
        done
done
