#!/usr/bin/env bash
# [Retention] through the real daemon: denials older than MaxAge= are not stored when imported
# (counted as expired), a lowered MaxAge= (SIGHUP) removes the old rows in steps while the daemon
# keeps answering, and `top` still counts what was removed (the aggregates keep it).
set -euo pipefail
source "$AVCWATCH_TESTLIB"

S=$(cd "$(dirname "$0")/../.." && pwd)
make_tmpdir

# Three clusters, far from the limits used below: 50-40, 10-6 and 3-1 days ago (events outside
# their window are cut off: the generator's span is only an average).
now=$(date +%s)
gen() { # START_DAYS_AGO END_DAYS_AGO DENIALS SEED
        # --span-days assumes storms; a few hundred denials have few: ask for a twentieth
        python3 "$S/bench/gen-audit-log.py" --start $((now - $1 * 86400)) \
                --span-days "$(awk -v a="$1" -v b="$2" 'BEGIN { print (a - b) / 20 }')" \
                --denials "$3" --containers 6 --seed "$4" |
                python3 -c '
import re, sys
end = float(sys.argv[1])
for line in sys.stdin:
    if float(re.search(r"audit\(([\d.]+):", line).group(1)) < end:
        sys.stdout.write(line)' $((now - $2 * 86400))
}
gen 50 40 700 1 > "$T/a.log"
gen 10 6 600 2 > "$T/b.log"
gen 3 1 500 3 > "$T/c.log"
count_in() { # LOG FROM_DAYS_AGO TO_DAYS_AGO: AVC records with times in between
        python3 - "$1" "$now" "$2" "$3" << 'PY'
import re, sys
log, now, a, b = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
n = 0
for line in open(log):
    if line.startswith("type=AVC"):
        t = float(re.search(r"audit\(([\d.]+):", line).group(1))
        n += now - a * 86400 <= t < now - b * 86400
print(n)
PY
}
cat "$T/a.log" "$T/b.log" "$T/c.log" > "$T/all.log"
na=$(count_in "$T/all.log" 60 30)
nb=$(count_in "$T/all.log" 30 5)
nc=$(count_in "$T/all.log" 5 0)
[ "$na" -gt 20 ] && [ "$nb" -gt 20 ] && [ "$nc" -gt 20 ] || fail "clusters: $na $nb $nc"
[ $((na + nb + nc)) -eq "$(grep -c '^type=AVC' "$T/all.log")" ] || fail "a cluster strays"
echo "clusters: $na $nb $nc denials"

write_config() {
        cat > "$T/avcwatchd.conf" << EOF
[Daemon]
AuditLog=
[Engines]
Docker=
Podman=
ProcScan=no
[Retention]
MaxAge=$1
EOF
}
write_config 30d
CONFIG=$T/avcwatchd.conf
start_daemon --input /dev/null

avcctl -o json import "$T/all.log" > "$T/import" || fail "import failed"
cat "$T/import"
[ "$(json_field "$(cat "$T/import")" expired)" -eq "$na" ] || fail "expected $na expired"
[ "$(json_field "$(cat "$T/import")" stored)" -eq $((nb + nc)) ] || fail "stored"
stats=$(avcctl -o json stats)
[ "$(json_field "$stats" denials_expired)" -eq "$na" ] || fail "stats: denials_expired"

# MaxAge=5d, at once on reload: the 10-6 days old cluster goes, step by step.
write_config 5d
kill -HUP "$DAEMON_PID"
pruned_all() {
        [ "$(json_field "$(avcctl -o json stats)" store_pruned)" -eq "$nb" ]
}
wait_for 30 pruned_all || fail "not pruned: $(avcctl -o json stats)"
stats=$(avcctl -o json stats)
[ "$(json_field "$stats" store_denials)" -eq "$nc" ] || fail "left: $(json_field "$stats" store_denials)"
[ "$(count_lines avcctl -o json query)" -eq "$nc" ] || fail "query sees pruned rows"
total=$(avcctl -o json top --limit 1000 | python3 -c 'import json,sys; print(sum(json.loads(l)["count"] for l in sys.stdin))')
[ "$total" -eq $((nb + nc)) ] || fail "top counts $total, expected $((nb + nc)) (the aggregates keep pruned rows)"
grep -q "Retention: MaxAge=432000 s" "$T/daemon.log" || fail "the reload did not say so"

# Importing the pruned cluster again: older than MaxAge now, not stored again.
avcctl -o json import "$T/b.log" > "$T/import2" || fail "second import failed"
[ "$(json_field "$(cat "$T/import2")" expired)" -eq "$nb" ] || fail "$(cat "$T/import2")"
[ "$(json_field "$(cat "$T/import2")" stored)" -eq 0 ] || fail "$(cat "$T/import2")"
stop_daemon
echo PASS
