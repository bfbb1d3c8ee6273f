#!/usr/bin/env bash
# avcctl's side of triage (docs/triage.md), through the real daemon with [Triage] Policy= at the
# oracle's policy (triage-policy.sh):
#   - --reason / --verdict / --not-reason / --not-verdict on query, tail and top; top --by
#     verdict and --by reason; a wrong value is a usage error listing the valid ones;
#   - the short output: the verdict after NOTES, the hint on its own line (once per run);
#   - explain SERIAL (an event of two AVC records, a serial shared by two events, the constraint
#     text of an MCS denial), explain --last with filters, a serial nobody has;
#   - imported logs are triaged against Policy=;
#   - the one-off pass: a store made to look as if written before triage (reason NULL, one row
#     triaged without a policy: -1) gets the same reasons back in steps once a policy is there,
#     leaves the -1 row alone, shows its progress in stats, and does nothing without a policy.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
source "$(dirname "${BASH_SOURCE[0]}")/triage-policy.sh"
require_commands sqlite3

make_tmpdir
triage_policy_build # sets $policy
printf '[Triage]\nPolicy=%s\n' "$policy" > "$T/avcwatchd.conf"

now=$(date +%s)
c=system_u:system_r:container_t
o=system_u:object_r
# avc SERIAL MS SCONTEXT TCONTEXT CLASS PERMS COMM
avc() {
        printf 'type=AVC msg=audit(%s.%03d:%s): avc:  denied  { %s } for  pid=4242 comm="%s" scontext=%s tcontext=%s tclass=%s permissive=0\n' \
                "$now" "$2" "$1" "$6" "$7" "$3" "$4" "$5"
}

mkfifo "$T/feed"
exec {feed}<> "$T/feed"
CONFIG=$T/avcwatchd.conf STDIN=$T/feed start_daemon --input -
wait_until 10 'grep -q "Triage: policy .* loaded (start)" "$T/daemon.log"' || fail "no policy loaded"
{
        # one event, two AVC records: a host directory (volume) and /dev/mem (escape)
        avc 101 100 "$c:s0:c1,c2" "$o:default_t:s0" dir "write add_name" probe-101
        avc 101 100 "$c:s0:c1,c2" "$o:memory_device_t:s0" chr_file read probe-101m
        avc 102 200 "$c:s0:c1,c2" "$o:cgroup_t:s0" dir "write add_name create" probe-102
        avc 103 300 "$c:s0:c1,c2" "$o:container_file_t:s0:c3,c4" file "read open" probe-103
        avc 104 400 "$c:s0:c1,c2" "$o:memory_device_t:s0" chr_file read probe-104
        # serial 105 twice: two events (a reboot between them)
        avc 105 500 "$c:s0:c1,c2" "$o:default_t:s0" dir write probe-105a
        avc 105 900 "$c:s0:c5,c6" "$o:container_file_t:s0:c3,c4" file read probe-105b
} >&"$feed"
wait_until 20 '[ "$(count_lines avcctl -o json query)" -eq 7 ]' ||
        fail "the denials were not stored: $(avcctl -o json query)"

# --- filters ---
n() { count_lines avcctl -o json query "$@"; }
[ "$(n --verdict escape)" -eq 2 ] || fail "--verdict escape: $(n --verdict escape)"
[ "$(n --verdict escape,isolation)" -eq 4 ] || fail "--verdict escape,isolation: $(n --verdict escape,isolation)"
[ "$(n --verdict escape --verdict boolean)" -eq 3 ] || fail "a repeated --verdict"
[ "$(n --not-verdict escape)" -eq 5 ] || fail "--not-verdict escape: $(n --not-verdict escape)"
[ "$(n --reason constraint)" -eq 2 ] || fail "--reason constraint: $(n --reason constraint)"
[ "$(n --reason te --not-verdict volume)" -eq 2 ] || fail "--reason te --not-verdict volume"
[ "$(n --not-reason te,boolean,constraint)" -eq 0 ] || fail "--not-reason"
[ "$(n --reason none)" -eq 0 ] || fail "--reason none: every denial here is triaged"
avcctl -o json query --reason constraint --comm probe-103 | grep -q '"verdict":"isolation"' ||
        fail "--reason with --comm"
rc=0
avcctl query --verdict escpae 2> "$T/err" > /dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "a wrong --verdict exits $rc, expected 1"
grep -q "invalid value for --verdict: 'escpae': expected one of escape, isolation, volume, boolean, policy, none" "$T/err" ||
        fail "a wrong --verdict does not list the valid values: $(cat "$T/err")"
rc=0
avcctl top --not-reason teh 2> "$T/err" > /dev/null || rc=$?
[ "$rc" -eq 1 ] && grep -q "te, boolean, constraint, rbac, bounds, allowed, unknown, none" "$T/err" ||
        fail "a wrong --not-reason: $rc $(cat "$T/err")"
# tail: the backlog and a live denial through the subscriber's filter
avcctl -o json tail -n 10 --verdict isolation > "$T/tail.out"
[ "$(wc -l < "$T/tail.out")" -eq 2 ] || fail "tail --verdict isolation: $(cat "$T/tail.out")"
avcctl -o json tail -f -n 0 --verdict escape > "$T/tailf.out" &
tail_pid=$!
AVC_BG_PIDS+=("$tail_pid")
wait_until 10 '[ "$(stats_field tail_subscribers)" -ge 1 ]' || fail "tail -f did not subscribe"
{
        avc 106 950 "$c:s0:c1,c2" "$o:default_t:s0" dir write probe-106
        avc 107 990 "$c:s0:c1,c2" "$o:memory_device_t:s0" chr_file write probe-107
} >&"$feed"
wait_until 20 'grep -q probe-107 "$T/tailf.out"' || fail "tail -f --verdict escape missed the escape"
kill "$tail_pid"
wait "$tail_pid" || true
grep -q probe-106 "$T/tailf.out" && fail "tail -f --verdict escape showed a volume denial"

# top --by verdict / reason, and a triage filter on top
top=$(avcctl -o json top --by verdict)
python3 - "$top" <<'PY' || fail "top --by verdict: $top"
import json, sys
rows = {r["verdict"]: r["count"] for r in map(json.loads, sys.argv[1].splitlines())}
assert rows == {"escape": 3, "isolation": 2, "volume": 3, "boolean": 1}, rows
PY
top=$(avcctl -o json top --by reason --not-verdict escape)
python3 - "$top" <<'PY' || fail "top --by reason --not-verdict escape: $top"
import json, sys
rows = {r["reason"]: r["count"] for r in map(json.loads, sys.argv[1].splitlines())}
assert rows == {"te": 3, "constraint": 2, "boolean": 1}, rows
PY
[ "$(count_lines avcctl -o json top --verdict escape)" -eq 2 ] ||
        fail "top --verdict escape: $(avcctl -o json top --verdict escape)" # two signatures
avcctl top --by verdict | grep -q "VERDICT" || fail "top --by verdict has no VERDICT column"

# --- short output: the verdict, the hint on its own line, once per run ---
avcctl query --comm probe-104 > "$T/short"
grep -q '(none) escape$' "$T/short" || fail "no verdict in the short row: $(cat "$T/short")"
grep -q '^    hint: Escape attempt' "$T/short" || fail "no hint line: $(cat "$T/short")"
[ "$(avcctl --no-legend query --comm probe-105a --comm probe-106 | grep -c '^    hint:')" -eq 1 ] ||
        fail "the same hint twice in a row is not shown once"

# --- explain ---
avcctl explain 101 > "$T/explain"
for want in 'Event 101 at' '(2 denials)' 'Denial 1 of 2' 'Denial 2 of 2' 'reason      te: no allow rule' \
        'verdict     volume' 'verdict     escape' 'container   none known' "policy now  $policy: te (as when it was stored)" \
        'hint        Escape attempt' 'process     probe-101[4242]' "source      $c:s0:c1,c2"; do
        grep -qF -- "$want" "$T/explain" || fail "explain 101 lacks '$want': $(cat "$T/explain")"
done
avcctl explain 103 > "$T/explain"
grep -qF 'reason      constraint: a constraint refused it' "$T/explain" &&
        grep -qF 'verdict     isolation' "$T/explain" &&
        grep -q '^  constraint  .*constrain' "$T/explain" ||
        fail "explain 103: no constraint text: $(cat "$T/explain")"
avcctl explain 102 | grep -qF 'booleans    container_manage_cgroup' || fail "explain 102: no booleans"
avcctl explain 105 > "$T/explain"
[ "$(grep -c '^Event 105 at .*one of 2 events with this serial' "$T/explain")" -eq 2 ] ||
        fail "explain 105: not two events: $(cat "$T/explain")"
[ "$(grep -n probe-105b "$T/explain" | cut -d: -f1)" -lt "$(grep -n probe-105a "$T/explain" | cut -d: -f1)" ] ||
        fail "explain 105: not newest first"
[ "$(count_lines avcctl -o json explain 101)" -eq 2 ] || fail "explain -o json: one line per denial"
avcctl -o json explain 103 | grep -q '"reason_now":"constraint"' || fail "explain -o json: reason_now"
avcctl explain --last | grep -q 'probe-107' || fail "explain --last is not the newest"
avcctl explain --last --verdict volume | grep -q 'probe-106' || fail "explain --last --verdict volume"
avcctl explain --last --comm probe-101m > "$T/explain"
grep -q 'Denial 2 of 2' "$T/explain" || fail "explain --last: not every denial of the event"
rc=0
avcctl explain 99999 2> "$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "no stored denial has the serial 99999" "$T/err" || fail "explain of an unknown serial"
rc=0
avcctl explain 2> /dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "explain without a serial exits $rc"
rc=0
avcctl explain 101 --last 2> /dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "explain SERIAL --last exits $rc"

# --- import: triaged against Policy= ---
{
        printf 'type=AVC msg=audit(%s.000:201): avc:  denied  { read } for  pid=1 comm="imported" scontext=%s tcontext=%s tclass=chr_file permissive=0\n' \
                $((now - 3600)) "$c:s0:c7,c8" "$o:memory_device_t:s0"
        printf 'type=AVC msg=audit(%s.000:202): avc:  denied  { write add_name create } for  pid=1 comm="imported2" scontext=%s tcontext=%s tclass=dir permissive=0\n' \
                $((now - 3599)) "$c:s0:c7,c8" "$o:cgroup_t:s0"
} > "$T/old.log"
avcctl import "$T/old.log" > /dev/null || fail "import failed"
avcctl -o json query --comm imported | grep -q '"verdict":"escape"' || fail "an imported escape is not triaged"
avcctl -o json query --comm imported2 | grep -q '"booleans":\["container_manage_cgroup"\]' ||
        fail "an imported boolean denial is not triaged"

# --- the one-off pass over denials stored before triage ---
before=$(avcctl -o json query | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l); print(d["serial"], d["comm"], d["reason"], d["verdict"], ",".join(d["booleans"]))' | sort)
[ "$(stats_field triage_pass_done)" = true ] || fail "a store created with triage needs no pass"
exec {feed}>&-
stop_daemon
# as if stored before triage: every reason NULL but probe-102's, which a daemon without a policy
# stored (-1: untriaged, and it stays so)
sqlite3 "$T/db" "UPDATE denials SET reason = NULL, verdict = NULL, booleans = NULL;
        UPDATE denials SET reason = -1, verdict = -1 WHERE serial = 102;
        DELETE FROM meta WHERE key LIKE 'triage_pass%';"
# without a policy: nothing happens
start_daemon --input /dev/null
sleep 4
[ "$(stats_field triage_pass_done)" = false ] || fail "the pass ran without a policy"
[ "$(count_lines avcctl -o json query --reason none)" -eq 11 ] || fail "rows triaged without a policy"
stop_daemon
CONFIG=$T/avcwatchd.conf start_daemon --input /dev/null
wait_until 30 '[ "$(stats_field triage_pass_done)" = true ]' ||
        fail "the pass did not finish: $(avcctl -o json stats)"
s=$(avcctl -o json stats)
[ "$(json_field "$s" triage_pass_triaged)" -eq 10 ] || fail "triage_pass_triaged: $s"
[ "$(json_field "$s" triage_pass_until)" != null ] || fail "triage_pass_until: $s"
[ "$(json_field "$s" verdict_escape)" -eq 0 ] || fail "the pass counted its rows as new denials: $s"
grep -q "Triage pass done: 10 stored denials given a reason" "$T/daemon.log" || fail "no log line for the pass"
after=$(avcctl -o json query | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l); print(d["serial"], d["comm"], d["reason"], d["verdict"], ",".join(d["booleans"]))' | sort)
want=$(printf '%s\n' "$before" | sed 's/^\(102 probe-102\) .*/\1 None None /')
[ "$after" = "$want" ] || fail "the pass gave other answers:
$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$after"))"
# restarted: done stays done, nothing read again
stop_daemon
CONFIG=$T/avcwatchd.conf start_daemon --input /dev/null
[ "$(stats_field triage_pass_done)" = true ] || fail "done is not remembered"
[ "$(stats_field triage_pass_triaged)" -eq 0 ] || fail "the pass ran again"
stop_daemon
