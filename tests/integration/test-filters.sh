#!/usr/bin/env bash
# Filters never fail silently, through a real daemon and avcctl:
# - a repeated option and a comma list mean "any of" (--container a --container b, --perm r,w),
#   up to 16 values an option (17 is a usage error);
# - --target-type and --type take a trailing '*'; --not-target-type (and --not-type, --not-tclass,
#   --not-perm, --not-comm) exclude;
# - --container NAME also finds the ambiguous denials NAME is a candidate of, marked in the JSON
#   (attribution "ambiguous", candidates) and in the short output ("ambiguous: a|b"), and
#   --target-container NAME the denials that touched NAME's files;
# - a container, image or pod the daemon has never seen is an error with the closest known names
#   ("did you mean 'web'?"), exit status 1, for query, top, query --histogram and tail.
# No root or kernel socket needed; a few seconds.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
command -v sqlite3 > /dev/null || skip "sqlite3 (the CLI) is not installed"
make_tmpdir

# web (c1,c2), db (c3,c4, pod shop), and twin-a / twin-b sharing c5,c6 (ambiguous).
cat > "$T/containers.sql" << 'SQL'
INSERT INTO containers(container_id, name, image, engine, pod, mcs, created_ms, started_ms, running) VALUES ('aaaa000000000000000000000000000000000000000000000000000000000001', 'web', 'nginx:1', 'docker', NULL, 'c1,c2', 1713600000000, 1713600000000, 1);
INSERT INTO containers(container_id, name, image, engine, pod, mcs, created_ms, started_ms, running) VALUES ('bbbb000000000000000000000000000000000000000000000000000000000002', 'db', 'postgres:16', 'podman', 'shop', 'c3,c4', 1713600000000, 1713600000000, 1);
INSERT INTO containers(container_id, name, image, engine, pod, mcs, created_ms, started_ms, running) VALUES ('cccc000000000000000000000000000000000000000000000000000000000003', 'twin-a', 'busybox', 'docker', NULL, 'c5,c6', 1713600000000, 1713600000000, 1);
INSERT INTO containers(container_id, name, image, engine, pod, mcs, created_ms, started_ms, running) VALUES ('dddd000000000000000000000000000000000000000000000000000000000004', 'twin-b', 'busybox', 'docker', NULL, 'c5,c6', 1713600000000, 1713600000000, 1);
SQL
avc() { # SECONDS PERM COMM MCS TTYPE TCLASS NAME [TMCS]
        echo "type=AVC msg=audit(17136$1.000:$1): avc:  denied  { $2 } for  pid=$1 comm=\"$3\"" \
                "name=\"$7\" dev=\"overlay\" ino=$1 scontext=system_u:system_r:container_t:s0:$4" \
                "tcontext=system_u:object_r:$5:s0${8:+:$8} tclass=$6 permissive=0"
}
{
        avc 10001 read cat c1,c2 etc_t file a
        avc 10002 write sh c1,c2 var_log_t file log
        avc 10003 getattr ls c3,c4 var_lib_t dir data
        avc 10004 read cat c3,c4 container_file_t file index.html c1,c2 # db reads web's files
        avc 10005 open amb c5,c6 var_run_t sock_file s
} > "$T/audit.log"

start_daemon --input /dev/null # the schema
stop_daemon
sqlite3 "$T/db" < "$T/containers.sql"
start_daemon --input "$T/audit.log"
wait_for 20 input_eof || fail "input never reached its end"
wait_until 10 '[ "$(count_lines avcctl -o json query)" -eq 5 ]' || fail "not 5 denials stored"

comms() { # the comm of every denial avcctl -o json query "$@" prints, sorted, on one line
        avcctl -o json query "$@" | python3 -c '
import json, sys
print(" ".join(sorted(json.loads(l)["comm"] for l in sys.stdin)))'
}
expect() { # WANT ARGS...: the comms query ARGS finds
        local want=$1 got
        shift
        got=$(comms "$@") || fail "query $*: failed"
        [ "$got" = "$want" ] || fail "query $*: found '$got', expected '$want'"
}

# ---- any of ----
expect "cat cat ls sh" --container web --container db
expect "cat cat ls sh" --container web,db
expect "cat cat ls sh" --image nginx,postgres
expect "cat cat sh" --perm read,write
expect "cat cat sh" --perm read --perm write --container web,db
expect "cat ls" --container web,db --tclass dir --tclass file --comm ls --comm cat --not-type spc_t --target-type var_lib_t,container_file_t
# 16 values are accepted, 17 are a usage error naming the bound
sixteen=$(printf 'p%d,' $(seq 1 15))read
expect "cat cat" --perm "$sixteen"
rc=0
err=$(avcctl query --perm "$sixteen,write" 2>&1 > /dev/null) || rc=$?
[ "$rc" -eq 1 ] || fail "17 values of --perm: exit status $rc, expected 1"
grep -q "more than 16 values" <<< "$err" || fail "17 values of --perm: $err"

# ---- wildcards and negations ----
expect "ls sh" --target-type 'var_l*'
expect "amb ls sh" --target-type 'var_*'
expect "amb cat cat ls sh" --type 'container_*'
expect "amb ls" --target-type 'var_*' --not-target-type var_log_t
expect "cat cat" --not-target-type 'var_l*,var_run_t'
expect "amb cat cat ls" --not-perm write
expect "amb ls sh" --not-comm cat
expect "amb cat cat sh" --not-tclass dir

# ---- ambiguous candidates and the target container ----
expect "amb" --container twin-a
expect "amb" --container twin-b,db --tclass sock_file
expect "amb cat sh" --container web,twin-b
avcctl -o json query --container twin-a | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 1 and rows[0]["attribution"] == "ambiguous", rows
assert sorted(c["name"] for c in rows[0]["candidates"]) == ["twin-a", "twin-b"], rows
' || fail "--container twin-a: the ambiguous denial is not marked in JSON"
avcctl query --container twin-b | grep -q "ambiguous: twin-.|twin-" ||
        fail "--container twin-b: the short output does not mark the ambiguous denial"
[ "$(json_field "$(avcctl -o json top --by signature --container twin-a)" count)" = 1 ] ||
        fail "top --container twin-a does not count the ambiguous denial: $(avcctl -o json top --container twin-a)"
# what `containers` counts as ambiguous for a container, `query --container` shows
avcctl -o json containers | python3 -c '
import json, sys
rows = {o["name"]: o for o in map(json.loads, sys.stdin)}
assert rows["twin-a"]["ambiguous"] == 1 and rows["twin-b"]["ambiguous"] == 1, rows
' || fail "containers does not count the ambiguous denial of twin-a and twin-b"
expect "cat" --target-container web
expect "cat" --target-container web --container db
expect "" --target-container db

# ---- unknown names: an error with a hint, never an empty answer ----
unknown() { # MESSAGE ARGS...: avcctl ARGS exits 1 and says MESSAGE
        local want=$1 rc=0 err
        shift
        # (a bound on the time: `tail -f` that is not refused would follow forever)
        err=$(timeout 20 "$AVCCTL" --socket "$AVC_SOCKET" "$@" 2>&1 > "$T/unknown.out") || rc=$?
        [ "$rc" -eq 1 ] || fail "avcctl $*: exit status $rc, expected 1 ($err)"
        grep -qF "$want" <<< "$err" || fail "avcctl $*: says '$err', expected '$want'"
        # no table head above the message: the answer is an error, not an empty table
        [ ! -s "$T/unknown.out" ] || fail "avcctl $*: printed $(cat "$T/unknown.out")"
}
unknown "no container named 'wbe' is known; did you mean 'web'?" query --container wbe
unknown "no container named 'wbe' is known; did you mean 'web'?" query --container db,wbe
unknown "no container named 'wbe' is known" top --container wbe
unknown "no container named 'wbe' is known" query --histogram 1h --container wbe
unknown "no container named 'wbe' is known" tail -f --container wbe
unknown "no container named 'twin-c' is known; did you mean 'twin-b' or 'twin-a'?" query --container twin-c
unknown "no container named 'webweb' is known" query --target-container webweb
unknown "no container of image 'ngnix:1' is known; did you mean 'nginx:1'" query --image ngnix:1
unknown "no pod named 'shpo' is known; did you mean 'shop'?" query --pod shpo
unknown "no container named 'ffff' is known" query --container ffff
# an id prefix of a known container is known; a known value with no denials is an empty answer
expect "cat sh" --container aaaa
expect "" --container web --since "@1713700000"

echo "filters: any-of lists, wildcards, negations, candidates, target containers, unknown names"
