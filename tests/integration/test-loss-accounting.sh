#!/usr/bin/env bash
# Honest about loss: the daemon is paused (SIGSTOP) while far more denials are injected through
# the kernel than its receive buffer holds; after SIGCONT every injected denial is accounted for,
# either stored or counted as lost (netlink_dropped / events_lost), and the daemon keeps ingesting.
# Runs alone on the audit socket (RESOURCE_LOCK), so the drop counter is this test's.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
require_audit_netlink
make_tmpdir

COUNT=${LOSS_COUNT:-150000}
mark=ls$$
start_daemon --input netlink
s0=$(avcctl -o json stats)
dropped0=$(json_field "$s0" netlink_dropped)

kill -STOP "$DAEMON_PID"
out=$(inject --count "$COUNT" --mark "$mark") || { kill -CONT "$DAEMON_PID"; fail "inject: $out"; }
echo "inject: $out"
sent=$(echo "$out" | awk '{print $2}')
kill -CONT "$DAEMON_PID"

# Let the backlog drain: the marked count stops growing.
last=-1
for _ in $(seq 60); do
        n=$(count_lines avcctl -o json query --comm "$mark" --limit 1000000 2> /dev/null || echo 0)
        [ "$n" -eq "$last" ] && break
        last=$n
        sleep 1
done
stored=$last
s1=$(avcctl -o json stats)
echo "stats: $s1"
dropped=$(( $(json_field "$s1" netlink_dropped) - dropped0 ))
lost=$(json_field "$s1" events_lost)
echo "sent $sent, stored $stored, dropped by the socket $dropped, events_lost $lost"
[ "$dropped" -gt 0 ] || fail "nothing was dropped: the test did not overflow the buffer"
[ "$lost" -ge "$dropped" ] || fail "events_lost ($lost) does not include the drops ($dropped)"
# Every injected denial is stored or counted lost. Other audit traffic on the host can only add
# to the drops, never hide one, so the sum may exceed what was sent by a little, never fall short.
[ $((stored + dropped)) -ge "$sent" ] || fail "$((sent - stored - dropped)) denials unaccounted for"
[ $((stored + dropped)) -le $((sent + sent / 100 + 100)) ] ||
        fail "more counted ($((stored + dropped))) than sent ($sent)"

# And it keeps ingesting afterwards.
inject --count 100 --mark "a$mark" > /dev/null || fail "inject failed"
has() { [ "$(count_lines avcctl -o json query --comm "a$mark")" -eq 100 ]; }
wait_for 15 has || fail "the daemon stopped ingesting after the overflow"
stop_daemon
echo "loss accounting: $sent sent = $stored stored + $dropped counted as dropped"
