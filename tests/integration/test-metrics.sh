#!/usr/bin/env bash
# The metrics endpoint ([Metrics] Listen=, docs/metrics.md) scraped by a real Prometheus:
# - 500 denials (file input) with 500 different category pairs, 300 named containers (registry
#   rows, as `--containers-sql` of bench/gen-audit-log.py writes them) and 200 unattributed:
#   Prometheus' query API says sum(avcwatch_denials_total) is 500, and the series stay within the
#   documented bound (TopContainers= + 2 container series), no label has MCS categories;
#   150 of the containers are in 3 namespaces: the namespace series sum to 500 and ns-0 holds
#   50; the triage series (no policy here: all "(unknown)") sum to 500; no news from a file;
# - `promtool check metrics` passes on the endpoint's text, with a hostile container name
#   (quote, backslash, newline) among the labels;
# - a Unix socket (Listen=PATH) and a TCP socket passed by systemd-socket-activate are served;
# - abuse: 1,000 idle connections, a 1 MiB request line, another path (404), another method
#   (405): the connections stay bounded, scrapes and `avcctl stats` go on being answered;
# - live input (stdin): 3 denials of 2 signatures are 2 new denials,
#   avcwatch_new_denials_total 2.
# No root or kernel socket needed.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
require_commands sqlite3 curl python3 /usr/bin/prometheus promtool
make_tmpdir

free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
MPORT=$(free_port)
PPORT=$(free_port)
TOP=100

# 300 containers ctr-N (c N, c N+600), ctr-0 named with a quote, a backslash and a newline.
python3 - "$T" << 'PY'
import sys
t = sys.argv[1]
with open(t + "/containers.sql", "w") as f:
    for i in range(300):
        name = "ctr-%d" % i if i else 'evil"\\name\nline{x="1"}'
        name = name.replace("'", "''")
        ns = "'ns-%d'" % (i % 3) if i < 150 else "NULL"
        f.write("INSERT INTO containers(container_id, name, image, engine, pod_namespace, mcs, "
                "created_ms, started_ms, running) VALUES ('%064x', '%s', 'img-%d', 'docker', %s, "
                "'c%d,c%d', 1713600000000, 1713600000000, 1);\n"
                % (i + 1, name, i % 7, ns, i, i + 600))
tclasses = ["file", "dir", "tcp_socket", "capability", "process"]
with open(t + "/audit.log", "w") as f:
    for j in range(500):
        # 300 attributed (ctr-j), 200 of pairs no container has (c k, c k+300)
        a, b = (j, j + 600) if j < 300 else (j - 300, j)
        s = 10000 + j
        f.write('type=AVC msg=audit(17136%d.000:%d): avc:  denied  { read } for  pid=%d '
                'comm="cat" name="x" dev="overlay" ino=%d '
                'scontext=system_u:system_r:container_t:s0:c%d,c%d '
                'tcontext=system_u:object_r:etc_t:s0 tclass=%s permissive=0\n'
                % (s, s, s, s, a, b, tclasses[j % 5]))
PY
cat > "$T/avcwatchd.conf" << CONF
[Metrics]
Listen=127.0.0.1:$MPORT
TopContainers=$TOP
CONF

start_daemon --input /dev/null # the schema
stop_daemon
sqlite3 "$T/db" < "$T/containers.sql"
CONFIG=$T/avcwatchd.conf start_daemon --input "$T/audit.log"
wait_for 20 input_eof || fail "input never reached its end"
wait_until 10 '[ "$(stats_field denials_stored)" -eq 500 ]' || fail "not 500 denials stored"
sleep 5.5 # the endpoint's view of the store is cached up to 5 s

URL=http://127.0.0.1:$MPORT/metrics
curl -sf "$URL" > "$T/metrics.txt" || fail "GET /metrics failed"
promtool check metrics < "$T/metrics.txt" > "$T/promtool.log" 2>&1 ||
        { cat "$T/promtool.log"; fail "promtool check metrics found problems"; }
grep -q '^avcwatch_build_info{version="' "$T/metrics.txt" || fail "no avcwatch_build_info"
# no label value with MCS categories, contexts or pids
if grep -v '^#' "$T/metrics.txt" | grep -Eq 'c[0-9]+,c[0-9]+|_u:|_r:|pid='; then
        fail "a label carries categories or contexts: $(grep -E 'c[0-9]+,c[0-9]+|_u:' "$T/metrics.txt" | head -3)"
fi
series=$(grep -vc '^#' "$T/metrics.txt")
containers=$(grep -c '^avcwatch_container_denials_total{' "$T/metrics.txt")
images=$(grep -c '^avcwatch_image_denials_total{' "$T/metrics.txt")
namespaces=$(grep -c '^avcwatch_namespace_denials_total{' "$T/metrics.txt")
triage=$(grep -c '^avcwatch_triage_denials_total{' "$T/metrics.txt")
[ "$containers" -le $((TOP + 2)) ] || fail "$containers container series, bound $((TOP + 2))"
[ "$images" -le $((TOP + 2)) ] || fail "$images image series, bound $((TOP + 2))"
[ "$namespaces" -eq 5 ] || fail "$namespaces namespace series, expected 3 + (other) + (unknown)"
[ "$triage" -le 48 ] || fail "$triage triage series, bound 48"
grep -q '^avcwatch_triage_denials_total{verdict="(unknown)",reason="(unknown)"} 500$' \
        "$T/metrics.txt" || fail "the untriaged denials are not 500: $(grep triage_denials "$T/metrics.txt")"
grep -q '^avcwatch_new_denials_total 0$' "$T/metrics.txt" || fail "a file's denials counted as news"
# docs/metrics.md: at most 3 x (TopContainers + 2) + the classes + 1 + 48 + 40 series
bound=$((3 * (TOP + 2) + 5 + 1 + 48 + 40))
[ "$series" -le "$bound" ] || fail "$series series, bound $bound"
echo "series: $series (containers $containers, images $images, namespaces $namespaces, triage $triage; bound $bound)"

# ---- a real Prometheus scrapes it ----
mkdir "$T/prom"
cat > "$T/prometheus.yml" << YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: avcwatch
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
YML
/usr/bin/prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
        --web.listen-address="127.0.0.1:$PPORT" > "$T/prometheus.log" 2>&1 &
AVC_BG_PIDS+=($!)
query() { # PROMQL: the value of a one-sample vector, "" when none
        curl -sf --get "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
                python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
wait_until 60 '[ "$(query "sum(avcwatch_denials_total)" 2> /dev/null)" = 500 ]' ||
        { tail -20 "$T/prometheus.log"; fail "Prometheus: sum(avcwatch_denials_total) is '$(query "sum(avcwatch_denials_total)")', expected 500"; }
up=$(query 'up{job="avcwatch"}')
[ "$up" = 1 ] || fail "Prometheus: up is '$up'"
n=$(query 'count({job="avcwatch",__name__=~"avcwatch_.*"})')
[ "$n" -le "$bound" ] || fail "Prometheus holds $n series, bound $bound"
attributed=$(query 'sum(avcwatch_container_denials_total{container!~"\\(.*\\)"})')
[ "$attributed" -le "$TOP" ] || fail "top containers hold $attributed, expected at most $TOP"
total=$(query 'sum(avcwatch_container_denials_total)')
[ "$total" = 500 ] || fail "sum(avcwatch_container_denials_total) is $total, expected 500"
total=$(query 'sum(avcwatch_namespace_denials_total)')
[ "$total" = 500 ] || fail "sum(avcwatch_namespace_denials_total) is $total, expected 500"
ns0=$(query 'avcwatch_namespace_denials_total{namespace="ns-0"}')
[ "$ns0" = 50 ] || fail "avcwatch_namespace_denials_total{namespace=\"ns-0\"} is $ns0, expected 50"
total=$(query 'sum(avcwatch_triage_denials_total)')
[ "$total" = 500 ] || fail "sum(avcwatch_triage_denials_total) is $total, expected 500"
news=$(query 'avcwatch_new_denials_total')
[ "$news" = 0 ] || fail "Prometheus: avcwatch_new_denials_total is '$news', expected 0"
echo "Prometheus: sum(avcwatch_denials_total) 500, $n series"

# ---- abuse ----
status() { # METHOD PATH: the HTTP status
        curl -s -o /dev/null -w '%{http_code}' -X "$1" "http://127.0.0.1:$MPORT$2"
}
[ "$(status GET /other)" = 404 ] || fail "GET /other: not 404"
[ "$(status GET /metrics/x)" = 404 ] || fail "GET /metrics/x: not 404"
[ "$(status POST /metrics)" = 405 ] || fail "POST /metrics: not 405"
[ "$(status GET /metrics)" = 200 ] || fail "GET /metrics: not 200"
python3 - "$MPORT" "$DAEMON_PID" << 'PY'
import os, resource, socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))

def fds():
    return len(os.listdir("/proc/%s/fd" % pid))

base = fds()
# a 1 MiB request line: answered (414) and closed after the first 8 KiB, not read whole
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
try:
    s.sendall(b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n")
except (BrokenPipeError, ConnectionResetError):
    pass
try:
    answer = s.recv(4096)
except ConnectionResetError:
    answer = b"(reset)"
s.close()
print("1 MiB request line:", answer.split(b"\r\n")[0].decode(errors="replace"))
assert not answer.startswith(b"HTTP/1.1 200"), answer[:100]

# 1,000 idle connections
idle = []
for i in range(1000):
    idle.append(socket.create_connection(("127.0.0.1", port)))
time.sleep(1)
held = fds() - base
print("daemon fds for 1000 idle connections:", held)
assert held <= 64 + 2, held
# a scrape still gets through (the oldest idle connection goes for it)
t0 = time.monotonic()
c = socket.create_connection(("127.0.0.1", port))
c.settimeout(5)
c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    data += b
assert data.startswith(b"HTTP/1.1 200"), data[:100]
assert b"avcwatch_denials_total" in data
print("scrape among 1000 idle connections: %.3f s" % (time.monotonic() - t0))
for s in idle:
    s.close()
PY
[ "$(stats_field denials_stored)" -eq 500 ] || fail "avcctl stats: not answered after the abuse"
wait_until 30 '[ "$(query "up{job=\"avcwatch\"}")" = 1 ]' || fail "Prometheus: target down after the abuse"
stop_daemon

# ---- every container listed: the hostile name escaped, the text still valid ----
sed -i "s/^TopContainers=.*/TopContainers=1000/" "$T/avcwatchd.conf"
CONFIG=$T/avcwatchd.conf start_daemon --input /dev/null
curl -sf "$URL" > "$T/metrics-all.txt" || fail "GET /metrics failed"
grep -qF 'container="evil\"\\name\nline{x=\"1\"}"' "$T/metrics-all.txt" ||
        fail "the hostile name is not there, escaped: $(grep -F evil "$T/metrics-all.txt")"
[ "$(grep -c '^avcwatch_container_denials_total{' "$T/metrics-all.txt")" -eq 302 ] ||
        fail "not 300 containers + 2 series with TopContainers=1000"
promtool check metrics < "$T/metrics-all.txt" > "$T/promtool.log" 2>&1 ||
        { cat "$T/promtool.log"; fail "promtool check metrics: problems with every container listed"; }
stop_daemon

# ---- a Unix socket: made 0660, served, removed at exit ----
printf '[Metrics]\nListen=%s\n' "$T/metrics.sock" > "$T/unix.conf"
CONFIG=$T/unix.conf start_daemon --input /dev/null
[ "$(stat -c %a "$T/metrics.sock")" = 660 ] || fail "metrics socket mode $(stat -c %a "$T/metrics.sock")"
curl -sf --unix-socket "$T/metrics.sock" http://localhost/metrics | grep -q '^avcwatch_build_info' ||
        fail "not served on the Unix socket"
stop_daemon
[ ! -e "$T/metrics.sock" ] || fail "the metrics socket is left behind"

# ---- socket activation: a TCP socket passed is served (avcwatchd-metrics.socket's way) ----
if command -v systemd-socket-activate > /dev/null; then
        SPORT=$(free_port)
        systemd-socket-activate -l "127.0.0.1:$SPORT" --fdname=metrics "$AVCWATCHD" \
                --config /dev/null --db "$T/db" --socket "$T/sock2" --input /dev/null \
                >> "$T/daemon.log" 2>&1 &
        sa=$!
        AVC_BG_PIDS+=($sa)
        wait_until 10 'grep -q "Listening on 127.0.0.1:$SPORT" "$T/daemon.log"' ||
                fail "systemd-socket-activate did not listen"
        # it starts the daemon at the first connection, which waits in the backlog meanwhile
        curl -sf --max-time 20 "http://127.0.0.1:$SPORT/metrics" | grep -q '^avcwatch_build_info' ||
                fail "the passed metrics socket is not served"
        grep -q "Using the metrics socket passed" "$T/daemon.log" || fail "no log of the passed socket"
        kill -TERM "$sa"
        wait "$sa" || fail "socket-activated daemon: exit status $?"
fi
# ---- live input: new denials ----
mkfifo "$T/feed"
exec {feed}<> "$T/feed"
CONFIG=$T/avcwatchd.conf STDIN=$T/feed start_daemon --db "$T/db-live" --input -
now=$(date +%s)
for k in 1 2 3; do
        perm=read
        [ "$k" -eq 3 ] && perm=write
        printf 'type=AVC msg=audit(%s.%03d:%d): avc:  denied  { %s } for  pid=%d comm="live%d" name="x" dev="overlay" ino=1 scontext=system_u:system_r:container_t:s0:c1,c2 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n' \
                "$now" "$k" $((90000 + k)) "$perm" $((4000 + k)) "$k"
done >&"$feed"
wait_until 10 '[ "$(stats_field denials_stored)" -eq 3 ]' || fail "the live denials were not stored"
[ "$(stats_field new_denials)" -eq 2 ] || fail "new_denials is $(stats_field new_denials), not 2"
curl -sf "$URL" > "$T/metrics-live.txt" || fail "GET /metrics failed"
grep -q '^avcwatch_new_denials_total 2$' "$T/metrics-live.txt" ||
        fail "avcwatch_new_denials_total is not 2: $(grep new_denials "$T/metrics-live.txt")"
grep -q '^avcwatch_baseline_untracked_total 0$' "$T/metrics-live.txt" ||
        fail "avcwatch_baseline_untracked_total is not 0"
promtool check metrics < "$T/metrics-live.txt" > "$T/promtool.log" 2>&1 ||
        { cat "$T/promtool.log"; fail "promtool check metrics: problems with live input"; }
exec {feed}>&-
stop_daemon
echo "OK"
