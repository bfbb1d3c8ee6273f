#!/usr/bin/env bash
# Time from `docker run` to the registry knowing the container (its name and label in
# io.avcwatch.Containers), with our own dockerd on private sockets (tests/integration/engines.sh)
# and avcwatchd following it. A client polls Containers every 2 ms on one connection. Prints the
# median, 90th percentile and maximum, from the start of `docker run -d` and from its return.
#
#   bench/bench-engine-latency.sh [RUNS=30] [BUILD=build]        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-${1:-30}}
BUILD=$(cd "${BUILD:-build}" && pwd)
export AVCWATCHD=$BUILD/daemon/avcwatchd AVCCTL=$BUILD/client/avcctl
export AVCWATCH_INJECT=$BUILD/tools/avcwatch-inject AVCWATCH_TESTLIB=$PWD/tests/integration/lib.sh
source tests/integration/lib.sh
source tests/integration/engines.sh

require_docker
make_tmpdir
start_dockerd
printf '[Engines]\nDocker=%s\nPodman=\nProcScan=no\n' "$DOCKER_SOCK" > "$T/conf"
CONFIG=$T/conf start_daemon --input /dev/null
wait_for 20 bash -c "\"$AVCCTL\" --socket \"$AVC_SOCKET\" stats | grep -q 'engine docker: connected'" ||
        fail "not connected to docker"

python3 - "$AVC_SOCKET" "$RUNS" "$DOCKER_IMAGE" $DOCKER <<'PY'
import json, socket, statistics, subprocess, sys, time

sock_path, runs, image, docker = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
buf = b""

def containers():
    global buf
    s.sendall(b'{"method":"io.avcwatch.Containers"}\0')
    while b"\0" not in buf:
        buf += s.recv(1 << 20)
    msg, _, buf = buf.partition(b"\0")
    return json.loads(msg)["parameters"]["containers"]

from_start, from_return = [], []
for i in range(runs):
    name = "avcw-lat-%d" % i
    t0 = time.monotonic()
    cid = subprocess.run(docker + ["run", "-d", "--network", "none", "--name", name,
                                   "--security-opt", "label=level:s0:c%d,c%d" % (i, i + 100),
                                   image, "sleep", "60"],
                         check=True, capture_output=True, text=True).stdout.strip()
    t1 = time.monotonic()
    while True:
        c = [c for c in containers() if c["id"] == cid and c["name"] == name and c["mcs"]]
        if c:
            break
        if time.monotonic() - t0 > 30:
            sys.exit("container %s not known after 30 s" % name)
        time.sleep(0.002)
    t2 = time.monotonic()
    from_start.append((t2 - t0) * 1000)
    from_return.append((t2 - t1) * 1000)
    subprocess.run(docker + ["rm", "-f", name], check=True, capture_output=True)

def show(label, v):
    v = sorted(v)
    print("%-32s median %6.1f ms, p90 %6.1f ms, max %6.1f ms" %
          (label, statistics.median(v), v[int(len(v) * 0.9) - 1], v[-1]))
print("# bench/bench-engine-latency.sh: RUNS=%d, dockerd %s" % (runs, " ".join(docker)))
show("docker run -d start -> known", from_start)
show("docker run -d return -> known", from_return)
PY
stop_daemon
