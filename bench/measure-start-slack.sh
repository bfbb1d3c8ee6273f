#!/usr/bin/env bash
# How far a container's own process runs from the times its engine reports, for the registry's
# lifetime slack (daemon/attribution/registry.c, docs/architecture.md "Registry"). Each container
# runs one static program that prints CLOCK_REALTIME in ns and exits: that instant stands for
# the earliest (and, since it exits at once, the latest) denial its process could cause. With
# our own dockerd / podman on private sockets (tests/integration/engines.sh), RUNS containers
# each, started one after the other while the machine does whatever it does. Prints, in ms:
#   start: process time - State.StartedAt      (negative: the process ran before StartedAt)
#   created: process time - Created           (always positive if Created bounds the lifetime)
#   event: process time - the start event's timeNano
#   end: State.FinishedAt - process time       (positive: stamped after the process ended)
#   die: the die event's timeNano - process time
#
#   bench/measure-start-slack.sh [RUNS=50] [ENGINES="docker podman"] [BUILD=build]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-${1:-50}}
ENGINES=${ENGINES:-docker podman}
BUILD=$(cd "${BUILD:-build}" && pwd)
export AVCWATCHD=$BUILD/daemon/avcwatchd AVCCTL=$BUILD/client/avcctl
export AVCWATCH_INJECT=$BUILD/tools/avcwatch-inject AVCWATCH_TESTLIB=$PWD/tests/integration/lib.sh
source tests/integration/lib.sh
source tests/integration/engines.sh

require_root
make_tmpdir
cat > "$T/now.c" << 'C'
#include <stdio.h>
#include <time.h>
int main(void) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        printf("%lld%09ld\n", (long long) t.tv_sec, t.tv_nsec);
        return 0;
}
C
cc -static -O2 -o "$T/now" "$T/now.c" || skip "no static libc (libc6-dev) to build the probe"
mkdir -p "$T/probe-root"
cp "$T/now" "$T/probe-root/now"
tar -C "$T/probe-root" -cf "$T/probe.tar" .

measure() { # ENGINE CLI...
        local engine=$1
        shift
        local image=localhost/avcwatch-probe:latest since
        "$@" import "$T/probe.tar" "$image" > /dev/null
        since=$(date +%s)
        : > "$T/$engine.runs"
        for ((i = 0; i < RUNS; i++)); do
                local name=avcw-probe-$i id
                id=$("$@" run -d ${RUN_EXTRA:-} --network none --name "$name" "$image" /now)
                "$@" wait "$id" > /dev/null
                printf '%s %s %s\n' "$id" "$("$@" logs "$id" 2>&1 | tail -1)" \
                        "$("$@" inspect -f '{{.Created}} {{.State.StartedAt}} {{.State.FinishedAt}}' "$id" | tr '\n' ' ')" \
                        >> "$T/$engine.runs"
                "$@" rm "$id" > /dev/null
        done
        # The engine's API (both speak Docker's), whose events carry timeNano as the daemon
        # reads them.
        curl -s --max-time 20 --unix-socket "$SOCK" \
                "http://d/events?since=$since&until=$(($(date +%s) + 1))" \
                > "$T/$engine.events" 2> /dev/null || true
        python3 - "$engine" "$T/$engine.runs" "$T/$engine.events" << 'PY'
import json, re, statistics, sys
from datetime import datetime, timezone

def ns(s):
    # RFC 3339 with up to 9 fraction digits, Z or +hh:mm, or Go's "2006-01-02 15:04:05.999 +0000 UTC"
    m = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?", s)
    base = datetime.fromisoformat(m.group(1) + "T" + m.group(2))
    off = m.group(4) or "Z"
    if off == "Z":
        base = base.replace(tzinfo=timezone.utc)
    else:
        base = datetime.fromisoformat(m.group(1) + "T" + m.group(2) + off[:3] + ":" + off[-2:])
    frac = (m.group(3) or "0")[:9].ljust(9, "0")
    return int(base.timestamp()) * 10**9 + int(frac)

engine, runs, events = sys.argv[1:]
ev = {}
for line in open(events):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    cid = e.get("ID") or e.get("id") or (e.get("Actor") or {}).get("ID")
    action = e.get("Action") or e.get("Status") or e.get("status")
    t = e.get("timeNano") or e.get("TimeNano")
    if cid and action in ("start", "died", "die") and t:
        ev[(cid, "start" if action == "start" else "die")] = int(t)

rows = {"start": [], "created": [], "event": [], "end": [], "die": []}
for line in open(runs):
    parts = line.split()
    cid, proc = parts[0], int(parts[1])
    rest = " ".join(parts[2:])
    stamps = re.findall(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:\s*(?:Z|[+-]\d\d:?\d\d))?", rest)
    created, started, finished = (ns(s) for s in stamps[:3])
    rows["start"].append((proc - started) / 1e6)
    rows["created"].append((proc - created) / 1e6)
    rows["end"].append((finished - proc) / 1e6)
    for k, key in (("event", "start"), ("die", "die")):
        for c in (cid, cid[:12]):
            if (c, key) in ev:
                t = ev[(c, key)]
                rows[k].append((proc - t) / 1e6 if k == "event" else (t - proc) / 1e6)
                break

def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]
for k, v in rows.items():
    if not v:
        print("%s %-8s (no data)" % (engine, k))
        continue
    print("%s %-8s n=%3d  min %9.3f  p10 %9.3f  median %9.3f  p90 %9.3f  max %9.3f ms"
          % (engine, k, len(v), min(v), q(v, .1), statistics.median(v), q(v, .9), max(v)))
PY
}

for engine in $ENGINES; do
        case $engine in
        docker)
                require_docker
                start_dockerd
                SOCK=$DOCKER_SOCK measure docker $DOCKER
                ;;
        podman)
                require_podman
                start_podman_service
                SOCK=$PODMAN_SOCK RUN_EXTRA=$(ulimit_args) measure podman $PODMAN
                ;;
        esac
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
