#!/usr/bin/env bash
# Triage through the real daemon (docs/triage.md): with [Triage] Policy= naming the policy the
# oracle test builds (refpolicy + its container module, triage-policy.sh), denials read from
# standard input are stored with reason, booleans, verdict and hint, as `query -o json` shows,
# and counted per verdict in stats: te (an unlabelled host directory: volume), boolean
# (container_manage_cgroup), constraint (MCS, another container's files: isolation), an escape
# (/dev/mem). Then the policy changes under the daemon:
#   - the configured file replaced by one with container_manage_cgroup on, and a MAC_POLICY_LOAD
#     record on the input: new denials of the same kind are "allowed";
#   - a reload (SIGHUP) naming a damaged file: one clear log line, reason null, no crash;
#   - a reload naming the first policy again: "boolean" again.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/triage-policy.sh"

make_tmpdir
triage_policy_build # sets $policy
triage_policy_with_boolean container_manage_cgroup # sets $policy_b

cp "$policy" "$T/policy"
printf 'not a binary policy at all\n' > "$T/damaged"
write_config() { # journal forwarding on: escapes are alerts, with AVCWATCH_REASON/_VERDICT
        printf '[Journal]\nForwardDenials=yes\n[Triage]\nPolicy=%s\n' "$1" > "$T/avcwatchd.conf"
}
write_config "$T/policy"

now=$(date +%s)
c=system_u:system_r:container_t
o=system_u:object_r
# avc SERIAL SCONTEXT TCONTEXT CLASS PERMS: one AVC record of comm "probe-SERIAL"
avc() {
        printf 'type=AVC msg=audit(%s.%03d:%s): avc:  denied  { %s } for  pid=4242 comm="probe-%s" scontext=%s tcontext=%s tclass=%s permissive=0\n' \
                "$now" $(($1 % 1000)) "$1" "$5" "$1" "$2" "$3" "$4"
}
cgroup() { avc "$1" "$c:s0:c1,c2" "$o:cgroup_t:s0" dir "write add_name create"; }

# field SERIAL KEY: KEY of the stored denial of comm probe-SERIAL (JSON text)
field() {
        local line
        line=$(avcctl -o json query --comm "probe-$1")
        [ -n "$line" ] || return 1
        python3 -c '
import json, sys
print(json.dumps(json.loads(sys.argv[1])[sys.argv[2]]))' "$line" "$2"
}
stored() {
        [ "$(count_lines avcctl -o json query --comm "probe-$1")" -eq 1 ]
}

HERE=$(dirname "$AVCWATCH_TESTLIB")
touch "$T/journal.log"
start_bg python3 "$HERE/journal-listener.py" "$T/journal.sock" "$T/journal.log"
wait_for 5 test -S "$T/journal.sock" || fail "the journal listener did not start"

mkfifo "$T/feed"
exec {feed}<> "$T/feed"
AVCWATCH_JOURNAL_SOCKET=$T/journal.sock CONFIG=$T/avcwatchd.conf STDIN=$T/feed \
        start_daemon --input -
wait_until 10 'grep -q "Triage: policy $T/policy loaded (start)" "$T/daemon.log"' ||
        fail "no log line for the policy"

{
        cgroup 101
        avc 102 "$c:s0:c1,c2" "$o:default_t:s0" dir "write add_name"
        avc 103 "$c:s0:c1,c2" "$o:container_file_t:s0:c3,c4" file "read open"
        avc 104 "$c:s0:c1,c2" "$o:memory_device_t:s0" chr_file read
} >&"$feed"
wait_for 20 stored 104 || fail "the first denials were not stored: $(avcctl -o json stats)"
wait_for 20 stored 101 || fail "denial 101 was not stored"

check() { # SERIAL REASON BOOLEANS VERDICT HINT-PART
        local got
        got=$(field "$1" reason)
        [ "$got" = "$2" ] || fail "denial $1: reason $got, expected $2"
        got=$(field "$1" booleans)
        [ "$got" = "$3" ] || fail "denial $1: booleans $got, expected $3"
        got=$(field "$1" verdict)
        [ "$got" = "$4" ] || fail "denial $1: verdict $got, expected $4"
        got=$(field "$1" hint)
        [[ "$got" == *"$5"* ]] || fail "denial $1: hint $got, expected it to contain '$5'"
}
check 101 '"boolean"' '["container_manage_cgroup"]' '"boolean"' 'setsebool -P container_manage_cgroup 1'
check 102 '"te"' '[]' '"volume"' ':Z'
check 103 '"constraint"' '[]' '"isolation"' ':z'
check 104 '"te"' '[]' '"escape"' 'Escape'
avcctl -o json query --comm probe-101
# the journal: the escape an alert (1), the others notices (5), each with reason and verdict
wait_until 10 '[ "$(wc -l < "$T/journal.log")" -ge 4 ]' || fail "not forwarded to the journal"
python3 - "$T/journal.log" <<'PY' || fail "journal entries: wrong priority or triage fields"
import json, sys
want = {"probe-101": ("5", "boolean", "boolean"), "probe-102": ("5", "te", "volume"),
        "probe-103": ("5", "constraint", "isolation"), "probe-104": ("1", "te", "escape")}
got = {}
for line in open(sys.argv[1]):
    f = json.loads(line)["fields"]
    if f["MESSAGE_ID"] != "b7e5e1be24214d30bd1da4597cc3fb77":
        continue  # the new-denial entries of test-baseline.sh
    got[f["AVC_COMM"]] = (f["PRIORITY"], f.get("AVCWATCH_REASON"), f.get("AVCWATCH_VERDICT"))
for comm, w in want.items():
    assert got.get(comm) == w, (comm, got.get(comm), w)
PY
s=$(avcctl -o json stats)
for kv in verdict_boolean=1 verdict_volume=1 verdict_isolation=1 verdict_escape=1 verdict_policy=0 \
        triage_none=0; do
        [ "$(json_field "$s" "${kv%=*}")" -eq "${kv#*=}" ] ||
                fail "stats ${kv%=*} is $(json_field "$s" "${kv%=*}"), expected ${kv#*=}: $s"
done

# --- the kernel loads a policy with the boolean on: the configured file is read again ---
cp "$policy_b" "$T/policy"
{
        printf 'type=MAC_POLICY_LOAD msg=audit(%s.500:150): auid=4294967295 ses=4294967295 lsm=selinux res=1\n' "$now"
        cgroup 201
} >&"$feed"
wait_for 20 stored 201 || fail "denial 201 was not stored"
grep -q "Triage: policy $T/policy loaded (policy load record)" "$T/daemon.log" ||
        fail "no log line for the reload on MAC_POLICY_LOAD"
check 201 '"allowed"' '[]' '"policy"' 'allows this now'
check 101 '"boolean"' '["container_manage_cgroup"]' '"boolean"' 'setsebool' # stored: unchanged

# --- a reload naming a damaged policy: triage off, said once, the daemon goes on ---
write_config "$T/damaged"
kill -HUP "$DAEMON_PID"
wait_until 10 'grep -q "Triage off: the policy $T/damaged cannot be used" "$T/daemon.log"' ||
        fail "no log line for the damaged policy"
cgroup 301 >&"$feed"
wait_for 20 stored 301 || fail "denial 301 was not stored"
check 301 null '[]' null ''
[ "$(field 301 hint)" = null ] || fail "an untriaged denial has a hint"
[ "$(stats_field triage_none)" -eq 1 ] || fail "triage_none is not 1"

# --- and back to the first policy by a reload with a changed Policy= ---
write_config "$policy"
kill -HUP "$DAEMON_PID"
wait_until 10 'grep -q "Triage: policy $policy loaded (Policy= changed)" "$T/daemon.log"' ||
        fail "no log line for the reload"
cgroup 401 >&"$feed"
wait_for 20 stored 401 || fail "denial 401 was not stored"
check 401 '"boolean"' '["container_manage_cgroup"]' '"boolean"' 'setsebool'
daemon_alive || fail "the daemon died"
stop_daemon
exec {feed}>&-

# --- no policy configured and no kernel policy: off, one log line, reason null ---
[ -e /sys/fs/selinux/policy ] && exit 0 # the kernel's would be used: nothing more to check
avc 501 "$c:s0:c1,c2" "$o:default_t:s0" dir write > "$T/none.log"
DB=$T/none.db start_daemon --input "$T/none.log"
wait_for 20 stored 501 || fail "denial 501 was not stored"
grep -q "Triage off: no \[Triage\] Policy= and no kernel policy" "$T/daemon.log" ||
        fail "no log line saying triage is off"
check 501 null '[]' null ''
stop_daemon
echo "ok"
