#!/usr/bin/env bash
# The real daemon against abusive clients, each of which must get a clean error or a disconnect
# within a bounded time, while a well-behaved client keeps being served (every step checks it,
# with a time limit) and the daemon's memory stays bounded:
#   an oversized request, invalid JSON, an unknown method, a request that never ends (closed at
#   the request timeout), 3000 idle connections (the connection table evicts the idlest, nobody
#   is locked out), a client that pipelines queries and never reads, a tail subscriber that
#   stalls while denials flood in through the kernel (cut at its output bound, while another
#   subscriber gets every denial), and peers that are neither root nor in the access group
#   (AccessDenied and no data, through avcctl and raw; a silent one closed after a second).
set -euo pipefail
source "$AVCWATCH_TESTLIB"

setup_kernel_test setpriv

FLOOD=${ABUSE_FLOOD:-20000}
mark=ab$$
# A source type of this run's own, the only domain its daemon keeps: the store and the stalled
# subscriber's stream are the daemon's whole, and other writers on the shared audit stream (other
# tests, a benchmark's injector) send container_t denials, short ones, that would be stored and
# streamed too (the queries below would answer with them, not with the long ones sent here).
domain=${mark}_t
scontext=system_u:system_r:$domain:s0:c1,c2
printf '[Filter]\nDomains=%s\n' "$domain" > "$T/conf"
CONFIG=$T/conf
asan_small_quarantine # the daemon's peak RSS is bounded below
start_daemon --input netlink
# The socket's mode is the first wall; open it so that only the daemon's own check stands
# between nobody and the data (as with a permissive SocketMode=).
chmod 755 "$T"
chmod 666 "$AVC_SOCKET"

# Some stored denials with long paths, so that query replies are big.
long=$(printf '/%0200d' 0)
inject --count 2000 --mark "$mark" --path "$long" --scontext "$scontext" > /dev/null ||
        fail "inject failed"
has() { [ "$(stats_field store_denials)" -ge 2000 ]; }
wait_for 20 has || fail "the denials were not stored"

# Unauthorized, through avcctl: the access error, exit status 2, and no data.
set +e
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$AVCCTL" --socket "$AVC_SOCKET" \
        -o json query --limit 5 2> "$T/denied.err")
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "avcctl as nobody: exit status $rc, expected 2"
[ -z "$out" ] || fail "avcctl as nobody got data: $out"
grep -q "^avcctl: access denied" "$T/denied.err" || fail "no access error said by avcctl: $(cat "$T/denied.err")"

pid_rss() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
rss0=$(pid_rss)

python3 - "$AVC_SOCKET" "$AVCWATCH_INJECT" "$FLOOD" "$mark" "$DAEMON_PID" "$scontext" > "$T/abuse.log" 2>&1 <<'PY' || { cat "$T/abuse.log"; fail "abuse checks failed"; }
import json, os, resource, select, socket, subprocess, sys, time

path, injector, flood, mark, daemon_pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
scontext = sys.argv[6]
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
T0 = time.monotonic()

def log(*a):
    print("%6.2f" % (time.monotonic() - T0), *a, flush=True)

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def read_msg(s, timeout=5.0, buf=None):
    """One NUL-terminated message, None at EOF; fails on timeout."""
    buf = buf if buf is not None else bytearray()
    deadline = time.monotonic() + timeout
    while b"\0" not in buf:
        left = deadline - time.monotonic()
        assert left > 0, "no reply in %.1f s" % timeout
        p = select.poll()
        p.register(s, select.POLLIN)
        if not p.poll(left * 1000):
            continue
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            return None
        buf += d
    i = buf.index(b"\0")
    m = bytes(buf[:i])
    del buf[:i + 1]
    return json.loads(m)

def call(s, method, params=None, **kw):
    m = {"method": method}
    if params is not None:
        m["parameters"] = params
    m.update(kw)
    s.sendall(json.dumps(m).encode() + b"\0")
    return read_msg(s)

def expect_eof(s, timeout):
    """Reads whatever is left; returns how long until the end."""
    start, buf = time.monotonic(), bytearray()
    while True:
        m = read_msg(s, timeout, buf)
        if m is None:
            return time.monotonic() - start

def rss():
    for line in open("/proc/%d/status" % daemon_pid):
        if line.startswith("VmRSS"):
            return int(line.split()[1])

def served(limit=2.0):
    """A well-behaved client, like avcctl: connects, calls Stats, is answered within limit
    seconds. (A client that stays connected and idle may make room for others when the
    connections are all taken.)"""
    start = time.monotonic()
    good = connect()
    r = call(good, "io.avcwatch.Stats")
    good.close()
    took = time.monotonic() - start
    assert "error" not in r and took < limit, (r, took)
    return r["parameters"]

# A request that never ends: started first, checked at the end (the 10 s request timeout).
slow = connect()
slow.sendall(b'{"method":"io.avcwatch.Stats","parameters":')
slow_start = time.monotonic()

# Oversized: refused without waiting for the end, then closed.
s = connect()
try:
    s.sendall(b"{" + b" " * (70 * 1024))
except (BrokenPipeError, ConnectionResetError):
    pass
r = read_msg(s)
assert r["error"] == "io.avcwatch.RequestTooLarge" and r["parameters"]["max"] == 65536, r
expect_eof(s, 2)
log("oversized: RequestTooLarge, closed")
served()

# Invalid JSON: InvalidRequest, closed; the good call after it on the same connection is not run.
s = connect()
s.sendall(b'{"method": nope}\0{"method":"io.avcwatch.Stats"}\0')
r = read_msg(s)
assert r["error"] == "io.avcwatch.InvalidRequest", r
expect_eof(s, 2)
log("invalid JSON: InvalidRequest, closed")

# Unknown method: MethodNotFound, the connection stays usable.
s = connect()
r = call(s, "io.avcwatch.Nope")
assert r["error"] == "org.varlink.service.MethodNotFound", r
r = call(s, "org.varlink.service.GetInfo")
assert r["parameters"]["product"] == "avcwatchd", r
s.close()
log("unknown method: MethodNotFound, connection usable")
served()

# 3000 idle connections: the daemon keeps at most 256, evicting the idlest; the good client and
# new clients are served throughout.
idle = []
for i in range(3000):
    idle.append(connect())
    if i % 500 == 499:
        served()
st = served()
assert st["clients"] <= 256, st["clients"]
assert st["clients_evicted"] >= 3000 - 256, st["clients_evicted"]
fresh = connect()
assert "error" not in call(fresh, "org.varlink.service.GetInfo")
fresh.close()
for s in idle:
    s.close()
log("3000 idle connections: %d kept, %d evicted, others served; RSS %d KiB" %
    (st["clients"], st["clients_evicted"], rss()))

# A client that pipelines 500 big queries and never reads: it holds about one reply, the others
# are served, the daemon does not grow.
nr = connect()
q = json.dumps({"method": "io.avcwatch.Query", "parameters": {"limit": 1000}}).encode() + b"\0"
nr.setblocking(False)
sent = 0
deadline = time.monotonic() + 5
while sent < 500 and time.monotonic() < deadline:
    try:
        nr.send(q)
        sent += 1
    except BlockingIOError:
        time.sleep(0.01)
time.sleep(0.5)  # kept: the daemon gets time to take in what it will; the bound must hold after
st = served()
assert st["clients_unsent_bytes"] <= 8 * 1024 * 1024, st["clients_unsent_bytes"]
log("non-reader: %d queries sent, %d bytes held for it, others served, RSS %d KiB" %
    (sent, st["clients_unsent_bytes"], rss()))
nr.close()

# Tail: one subscriber that never reads, one that reads everything; a flood through the kernel.
stall = connect()
stall.sendall(json.dumps({"method": "io.avcwatch.Tail", "more": True}).encode() + b"\0")
reader = connect()
reader.sendall(json.dumps({"method": "io.avcwatch.Tail", "more": True,
                           "parameters": {"filter": {"comm": "f" + mark}}}).encode() + b"\0")
deadline = time.monotonic() + 10
while served()["tail_subscribers"] < 2:
    assert time.monotonic() < deadline, "the two subscribers were not taken in"
    time.sleep(0.05)
cut0 = served()["clients_cut"]
inj = subprocess.Popen([injector, "--count", str(flood), "--rate", "5000", "--mark", "f" + mark,
                        "--path", "/" + "p" * 200, "--scontext", scontext],
                       stdout=subprocess.PIPE, text=True)
got, buf, peak = 0, bytearray(), 0
deadline = time.monotonic() + 60
while got < flood:
    assert time.monotonic() < deadline, "the reading subscriber got %d of %d" % (got, flood)
    m = read_msg(reader, 10, buf)
    assert m is not None, "the reading subscriber was cut after %d" % got
    assert m["parameters"]["denial"]["comm"] == "f" + mark
    got += 1
    if got % 2000 == 0:
        peak = max(peak, rss())
        served(5)
assert inj.wait() == 0, "injector failed"
st = served()
assert st["clients_cut"] == cut0 + 1, (cut0, st["clients_cut"])
assert st["tail_subscribers"] == 1, st["tail_subscribers"]
expect_eof(stall, 5)
log("stalled subscriber cut; the other got all %d denials; peak RSS %d KiB" % (got, peak))
reader.close()

# The request that never ended: closed with InvalidRequest at the request timeout (10 s).
r = read_msg(slow, 15)
waited = time.monotonic() - slow_start
assert r["error"] == "io.avcwatch.InvalidRequest", r
assert 9 <= waited <= 14, waited
expect_eof(slow, 2)
log("unterminated request: InvalidRequest after %.1f s, closed" % waited)

# Peers without access, raw: pipelined calls each get AccessDenied and no data, then the door;
# one that says nothing is closed after a second.
def as_nobody(fn):
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            fn()
            os._exit(0)
        except BaseException as e:
            print("nobody:", repr(e), flush=True)
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

def denied_calls():
    s = connect()
    s.sendall(b'{"method":"io.avcwatch.Query"}\0{"method":"io.avcwatch.Stats"}\0')
    buf = bytearray()
    for _ in range(2):
        r = read_msg(s, 5, buf)
        assert r["error"] == "io.avcwatch.AccessDenied" and not r.get("parameters"), r
    expect_eof(s, 2)

def denied_silent():
    s = connect()
    t = expect_eof(s, 5)
    assert 0.8 <= t <= 3, t

as_nobody(denied_calls)
as_nobody(denied_silent)
log("unauthorized: AccessDenied without data; a silent one closed after a second")
served()
print("final", json.dumps(served()))
PY
cat "$T/abuse.log"
rss1=$(pid_rss)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status")
echo "daemon RSS: ${rss0} KiB before, ${rss1} KiB after, peak ${hwm} KiB"
# The bounds: 256 connections, 64 MiB of unsent output in all, the store's page cache.
[ "$hwm" -lt $((256 * 1024)) ] || fail "the daemon's peak RSS is ${hwm} KiB"
stop_daemon
echo "API abuse: every abuser got an error or a disconnect in bounded time; others were served"
