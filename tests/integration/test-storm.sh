#!/usr/bin/env bash
# A storm: one denial repeated as fast as the injector can make the kernel deliver it. The
# daemon keeps up (nothing dropped), folds it (few rows, each second's first ones whole and its
# last one carrying the number folded into it), and every denial is counted exactly: the counts
# of the rows add up to what was sent, in a query, in a live tail, and in stats; the first and
# the last denial of the storm are kept; the daemon's memory stays bounded.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

setup_kernel_test

N=${STORM_COUNT:-60000}
mark=st$$
# A source type of this run's own, the only domain its daemon keeps: the stats deltas checked
# below are the daemon's whole, and other writers on the shared audit stream (other tests, a
# benchmark's injector) send container_t denials that would be stored and counted too.
domain=${mark}_t
printf '[Filter]\nDomains=%s\n' "$domain" > "$T/conf"
CONFIG=$T/conf
# The kernel's serials are the host's: other writers' records take serials inside the storm's
# span, so the storm's own first and last serial are what a reader of the stream saw with its mark.
cat > "$T/serials.py" <<'PY'
import re, socket, sys, time
out, ready, comm = sys.argv[1], sys.argv[2], b'comm="%s"' % sys.argv[3].encode()
serial = re.compile(rb"audit\(\d+\.\d+:(\d+)\)")
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
s.setsockopt(socket.SOL_SOCKET, 33, 256 << 20)  # SO_RCVBUFFORCE: the storm comes at once
s.bind((0, 1))
s.settimeout(0.1)
f = open(out, "a")
open(ready, "w").close()
flushed = time.monotonic()
while True:
    try:
        d = s.recv(65536)
        if comm in d:
            f.write("%s\n" % serial.search(d)[1].decode())
    except (InterruptedError, socket.timeout):
        pass
    if time.monotonic() - flushed > 0.1:  # written as it comes, whatever else the stream carries
        f.flush()
        flushed = time.monotonic()
PY
start_bg python3 "$T/serials.py" "$T/serials" "$T/serials.ready" "$mark"
wait_for 10 test -e "$T/serials.ready" || fail "the stream reader did not start"
asan_small_quarantine # the daemon's peak RSS is bounded below
start_daemon --input netlink
s0=$(avcctl -o json stats)
# A live subscriber all along.
(_exec_without_lock "$AVCCTL" --socket "$AVC_SOCKET" -o json tail -f --comm "$mark") \
        > "$T/tail.json" &
tail_pid=$!
AVC_BG_PIDS+=("$tail_pid")
subscribed() { [ "$(stats_field tail_subscribers)" -eq 1 ]; }
wait_for 10 subscribed || fail "the tail did not subscribe"

# Categories no engine hands out by default, so that no container on the machine (other tests'
# or the host's) can attribute some of the storm differently and split it into more kinds.
out=$(inject --count "$N" --comm "$mark" --name shadow --path /etc/shadow \
        --scontext "system_u:system_r:$domain:s0:c1009,c1017") || fail "inject: $out"
echo "inject: $out"
# Every record read, and the last second's summary written (a window closes a second after it
# began): the counts of the stored rows add up to the storm.
received() { [ "$(stats_field records_received)" -ge "$N" ]; }
wait_for 30 received || fail "the daemon did not read the storm: $(avcctl -o json stats)"
counted() { # FILE: the sum of the counts of its denials (0 while a line is half written)
        python3 -c 'import json, sys
try:
    print(sum(json.loads(l)["count"] for l in open(sys.argv[1])))
except ValueError:
    print(0)' "$1"
}
stored_all() {
        avcctl -o json query --comm "$mark" --limit 1000000 > "$T/rows.json" &&
                [ "$(counted "$T/rows.json")" -ge "$N" ]
}
wait_for 30 stored_all || fail "the storm's rows count $(counted "$T/rows.json") of $N"
s1=$(avcctl -o json stats)
echo "stats: $s1"
avcctl query --comm "$mark" --limit 1000000 > "$T/rows.txt"
# the tail is sent what was committed, as it was committed: wait for the last summary there too
wait_until 30 '[ "$(counted "$T/tail.json")" -ge "$N" ]' ||
        fail "the tail got denials counting $(counted "$T/tail.json") of $N"
kill "$tail_pid" 2> /dev/null || true

seen() { [ "$(wc -l < "$T/serials")" -ge "$N" ]; }
wait_for 30 seen || fail "the stream reader saw $(wc -l < "$T/serials") of the $N denials"

python3 - "$T/rows.json" "$T/tail.json" "$s0" "$s1" "$N" "$T/serials" <<'PY' || fail "the storm was not accounted for exactly"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
tail = [json.loads(l) for l in open(sys.argv[2])]
s0, s1, n = json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
d = lambda k: s1[k] - s0[k]
dropped = d("netlink_dropped")
assert dropped == 0, "the daemon fell behind: %d dropped" % dropped
total = sum(r["count"] for r in rows)
summaries = [r for r in rows if r["count"] > 1]
print("%d denials: %d rows (%d summaries), counts add up to %d; tail got %d rows adding up to %d"
      % (n, len(rows), len(summaries), total, len(tail), sum(r["count"] for r in tail)))
assert total == n, (total, n)
assert len(rows) < n / 100, "not folded: %d rows" % len(rows)
assert summaries and all(r["count"] >= 2 for r in summaries)
assert d("denials_stored") + d("denials_coalesced") == n, (d("denials_stored"), d("denials_coalesced"))
assert d("denials_stored") == len(rows)
assert sum(r["count"] for r in tail) == n and len(tail) == len(rows), (len(tail), len(rows))
# the first and the last of the storm are kept: the stored serials are the first and the last
# of the n the kernel gave the storm
sent = sorted(int(l) for l in open(sys.argv[6]))
assert len(sent) == n, (len(sent), n)
serials = sorted(r["serial"] for r in rows)
ends = (serials[0], serials[-1]), (sent[0], sent[-1])
assert ends[0] == ends[1], ends
# a summary is the last denial of its second, whole
last = max(rows, key=lambda r: r["serial"])
assert last["count"] > 1 and ":%d)" % last["serial"] in last["raw"], last
PY
grep -q "x[0-9]* (storm: [0-9]* identical folded into this one)" "$T/rows.txt" ||
        fail "the human output does not say what was folded: $(head -3 "$T/rows.txt")"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$DAEMON_PID/status")
echo "daemon peak RSS ${hwm} KiB"
[ "$hwm" -lt $((200 * 1024)) ] || fail "peak RSS ${hwm} KiB"
stop_daemon
echo "storm: $N identical denials kept exactly in a few rows, nothing dropped"
