#!/usr/bin/env bash
# avcctl's short output, through a real daemon reading a file (no root, no kernel socket): a
# legend above aligned columns (--no-legend omits it), times in local time with the zone or in
# UTC with --utc (JSON keeps ISO 8601 UTC), day bins of --histogram starting at local midnight,
# and colour only on a terminal (a pseudo-terminal from script(1)), never with --no-color or
# NO_COLOR.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
make_tmpdir

# 2024-01-10 22:30 UTC is 23:30 in Berlin (CET), 23:30 UTC is 00:30 on the 11th there: one UTC
# day, two local ones. The third is in summer time (CEST). The second has a long comm, the fourth
# a long path and a hostile comm.
cat > "$T/audit.log" << 'EOF2'
type=AVC msg=audit(1704925800.000:1): avc:  denied  { read } for  pid=101 comm="cat" name="a" dev="overlay" ino=1 scontext=system_u:system_r:container_t:s0:c1,c2 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0
type=AVC msg=audit(1704929400.000:2): avc:  denied  { read write } for  pid=102 comm="a-rather-long-comm-that-goes-on-and-on" name="b" dev="overlay" ino=2 scontext=system_u:system_r:container_t:s0:c1,c2 tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0
type=AVC msg=audit(1713603292.240:3): avc:  denied  { getattr } for  pid=103 comm="ls" path="/srv/data" dev="overlay" ino=3 scontext=system_u:system_r:container_t:s0:c3,c4 tcontext=system_u:object_r:var_t:s0 tclass=dir permissive=1
type=USER_AVC msg=audit(1713603294.000:5): pid=1 uid=0 auid=0 ses=1 msg='avc:  denied  { read } for  pid=105 comm="avcctl-selftest" name="avcwatch-selftest-0011223344556677" scontext=system_u:system_r:container_t:s0:c1022,c1023 tcontext=system_u:object_r:avcwatch_selftest_t:s0 tclass=file permissive=0  exe="/usr/bin/avcctl" sauid=0 hostname=? addr=? terminal=?'
type=AVC msg=audit(1713603293.000:4): avc:  denied  { open } for  pid=104 comm=1B5B324A path=2F7665727927276C6F6E672F6469726563746F72792F6E616D652F746861742F676F65732F6F6E2F616E642F6F6E2F616E642F6F6E2F7468652F66696C652E747874 dev="overlay" ino=4 scontext=system_u:system_r:container_t:s0:c3,c4 tcontext=system_u:object_r:var_t:s0 tclass=file permissive=0
EOF2
start_daemon --input "$T/audit.log"
wait_for 20 input_eof || fail "input never reached its end"
[ "$(count_lines avcctl -o json query)" -eq 5 ] || fail "not all denials stored"
# A self-test's mark read from a file: no sender to vouch for, an ordinary visible denial.
avcctl -o json query --target-type avcwatch_selftest_t | grep -q '"result":"denied"' ||
        fail "a self-test denial from a file is not shown as a denial"
avcctl -o json query --target-type avcwatch_selftest_t > "$T/st.json"

# ---- the legend and the columns ----
TZ=Europe/Berlin avcctl query > "$T/q.txt"
head -1 "$T/q.txt" | grep -q "^TIME  *CONTAINER  *PROCESS  *DENIED  *SOURCE  *TARGET:CLASS  *MCS  *PATH  NOTES$" ||
        fail "no legend: $(head -1 "$T/q.txt")"
[ "$(wc -l < "$T/q.txt")" -eq 6 ] || fail "legend + 5 rows expected: $(cat "$T/q.txt")"
TZ=Europe/Berlin avcctl --no-legend query > "$T/n.txt"
[ "$(wc -l < "$T/n.txt")" -eq 5 ] || fail "--no-legend still prints a legend: $(cat "$T/n.txt")"
python3 - "$T/q.txt" << 'PY' || fail "columns are not aligned: $(cat "$T/q.txt")"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
head = lines[0]
starts = [head.index(w) for w in ("CONTAINER", "PROCESS", "DENIED", "SOURCE", "TARGET:CLASS", "MCS", "PATH")]
for line in lines[1:]:
    for s in starts:
        # every column starts where its legend does: after two blanks, with text there
        assert line[s - 2:s] == "  " and line[s] != " ", (s, line)
PY
grep -q "a-rather-long-comm-t…\[102\]" "$T/q.txt" || fail "the long comm is not cut with a mark (pid kept)"
grep -q "  /very''long/directory/name/that/goes/on/and/on/and/on/the/file.txt  (none)" "$T/q.txt" ||
        fail "the long path is not whole"
grep -q '\\x1b\[2J\[104\]' "$T/q.txt" || fail "the hostile comm is not escaped"

# ---- times: local with the zone, --utc, JSON unchanged ----
grep -q "^2024-01-10 23:30:00.000 CET " "$T/q.txt" || fail "no local winter time: $(cat "$T/q.txt")"
grep -q "^2024-01-11 00:30:00.000 CET " "$T/q.txt" || fail "no local time after midnight"
grep -q "^2024-04-20 10:54:52.240 CEST " "$T/q.txt" || fail "no local summer time"
TZ=Europe/Berlin avcctl --utc query > "$T/u.txt"
grep -q "^2024-01-10 22:30:00.000 UTC " "$T/u.txt" || fail "--utc: $(cat "$T/u.txt")"
grep -q "^2024-04-20 08:54:52.240 UTC " "$T/u.txt" || fail "--utc: $(cat "$T/u.txt")"
TZ=Europe/Berlin avcctl -o json query --limit 1 | grep -q '"time":"2024-01-10T22:30:00.000Z"' ||
        fail "JSON time is no longer ISO 8601 UTC"
TZ=Europe/Berlin avcctl stats > "$T/stats.txt"
if grep -Eq "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z" "$T/stats.txt"; then
        fail "stats shows ISO UTC times: $(grep -E 'T[0-9:.]+Z' "$T/stats.txt")"
fi

# ---- histogram: days start at local midnight ----
TZ=Europe/Berlin avcctl query --histogram 1d --until "@1704970000" > "$T/h.txt"
grep -q "^2024-01-10 00:00 CET  *1 " "$T/h.txt" || fail "local day bins: $(cat "$T/h.txt")"
grep -q "^2024-01-11 00:00 CET  *1 " "$T/h.txt" || fail "local day bins: $(cat "$T/h.txt")"
TZ=Europe/Berlin avcctl --utc query --histogram 1d --until "@1704970000" > "$T/hu.txt"
grep -q "^2024-01-10 00:00 UTC  *2 " "$T/hu.txt" || fail "UTC day bins: $(cat "$T/hu.txt")"

# ---- colour: on a terminal only, and never when told not to ----
on_tty() { script -qefc "$*" /dev/null < /dev/null; }
cmd="'$AVCCTL' --socket '$AVC_SOCKET' query"
on_tty "$cmd" > "$T/tty.txt"
grep -q $'\e\\[31m' "$T/tty.txt" || fail "no colour on a terminal: $(od -c "$T/tty.txt" | head -5)"
if grep -q $'\e\\[' "$T/q.txt"; then fail "colour into a file"; fi
on_tty "$cmd --no-color" > "$T/tty-nc.txt"
if grep -q $'\e\\[' "$T/tty-nc.txt"; then fail "colour despite --no-color"; fi
NO_COLOR=1 on_tty "$cmd" > "$T/tty-env.txt"
if grep -q $'\e\\[' "$T/tty-env.txt"; then fail "colour despite NO_COLOR"; fi
# the hostile comm's ESC stays escaped on the terminal too
grep -q '\\x1b\[2J' "$T/tty.txt" || fail "the hostile comm is not escaped on a terminal"

# ---- completion of names: none known here; a daemon that cannot be asked gives nothing, quietly
out=$(complete_words avcctl --socket "$AVC_SOCKET" query --container "" 2>&1)
[ -z "$out" ] || fail "completion offers names no container has: $out"
out=$(complete_words avcctl --socket "$T/nothing-here" query --image "" 2>&1)
[ -z "$out" ] || fail "completion without a daemon is not quiet: $out"
"$AVCCTL" --socket "$T/nothing-here" __complete container > "$T/c.out" 2>&1 ||
        fail "__complete without a daemon fails"
[ ! -s "$T/c.out" ] || fail "__complete without a daemon says something: $(cat "$T/c.out")"

stop_daemon
echo "PASS"
