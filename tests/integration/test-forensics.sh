#!/usr/bin/env bash
# Forensics end to end, through avcctl and a real daemon on a real SQLite file:
# - `avcctl import` of rotated logs (one gzip-compressed) stores every container denial once;
#   importing them again adds nothing; containers known to the registry are named by MCS + time;
# - query, top and query --histogram agree with an oracle computed here from the log itself;
# - `-o raw` gives back every event's records byte for byte;
# - `avcctl query --container web -o raw | audit2allow` gives the same rules as audit2allow on
#   the original log (Debian's policycoreutils-python-utils, with the policy of
#   selinux-policy-default: audit2allow needs one when the host has none loaded);
# - import is root's only, and a member of the access group cannot make the daemon read a file.
# No kernel socket is needed.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

S=$(cd "$(dirname "$0")/../.." && pwd)
command -v sqlite3 > /dev/null || skip "sqlite3 (the CLI) is not installed"
make_tmpdir

# ---- the logs ----
python3 "$S/bench/gen-audit-log.py" --denials 3000 --containers 12 --seed 7 --span-days 2 \
        --varied-syscalls --containers-sql "$T/containers.sql" > "$T/gen.log"
# Two containers of a domain Debian's policy knows (svirt_t), for audit2allow: web (c1,c2) and db
# (c3,c4), each denied twice, web's events whole (AVC + SYSCALL + PATH + PROCTITLE + EOE).
cat > "$T/svirt.log" << 'EOF'
type=AVC msg=audit(1713700000.100:900001): avc:  denied  { write } for  pid=4242 comm="sh" name="home" dev="overlay" ino=1234 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:user_home_dir_t:s0 tclass=dir permissive=0
type=SYSCALL msg=audit(1713700000.100:900001): arch=c000003e syscall=83 success=no exit=-13 a0=7ffd1c2e5f10 a1=1ed a2=0 a3=0 items=1 ppid=4200 pid=4242 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="sh" exe="/bin/sh" subj=system_u:system_r:svirt_t:s0:c1,c2 key=(null)
type=PATH msg=audit(1713700000.100:900001): item=0 name="/home/x" inode=1234 dev=00:2f mode=040755 ouid=0 ogid=0 rdev=00:00 obj=system_u:object_r:user_home_dir_t:s0 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1713700000.100:900001): proctitle=7368002D63006D6B646972
type=EOE msg=audit(1713700000.100:900001): 
type=AVC msg=audit(1713700000.200:900002): avc:  denied  { read } for  pid=4243 comm="cat" name="shadow" dev="overlay" ino=99 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0
type=SYSCALL msg=audit(1713700000.200:900002): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffc00112233 a2=0 a3=0 items=1 ppid=4242 pid=4243 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="cat" exe="/bin/cat" subj=system_u:system_r:svirt_t:s0:c1,c2 key=(null)
type=EOE msg=audit(1713700000.200:900002): 
type=AVC msg=audit(1713700000.300:900003): avc:  denied  { name_bind } for  pid=5000 comm="nc" src=80 scontext=system_u:system_r:svirt_t:s0:c3,c4 tcontext=system_u:object_r:http_port_t:s0 tclass=tcp_socket permissive=0
type=AVC msg=audit(1713700000.400:900004): avc:  denied  { getattr } for  pid=5001 comm="ls" path="/etc/shadow" dev="overlay" ino=99 scontext=system_u:system_r:svirt_t:s0:c3,c4 tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0
EOF
cat >> "$T/containers.sql" << 'EOF'
INSERT INTO containers(container_id, name, image, engine, mcs, created_ms, started_ms, running) VALUES ('aaaa000000000000000000000000000000000000000000000000000000000001', 'web', 'nginx:1', 'docker', 'c1,c2', 1713600000000, 1713600000000, 1);
INSERT INTO containers(container_id, name, image, engine, mcs, created_ms, started_ms, running) VALUES ('bbbb000000000000000000000000000000000000000000000000000000000002', 'db', 'postgres:16', 'docker', 'c3,c4', 1713600000000, 1713600000000, 1);
EOF

# Rotations as logrotate leaves them: the oldest third compressed, events never cut in two.
python3 - "$T" << 'PY'
import gzip, re, sys
t = sys.argv[1]
events, key = [], None
for line in open(t + "/gen.log"):
    k = re.search(r"audit\(([^)]*)\)", line).group(1)
    if k != key:
        events.append([])
        key = k
    events[-1].append(line)
n = len(events)
parts = [events[: n // 3], events[n // 3 : 2 * n // 3], events[2 * n // 3 :]]
with gzip.open(t + "/audit.log.2.gz", "wt") as f:
    f.write("".join("".join(e) for e in parts[0]))
open(t + "/audit.log.1", "w").write("".join("".join(e) for e in parts[1]))
open(t + "/audit.log", "w").write("".join("".join(e) for e in parts[2]))
PY
cat "$T/gen.log" "$T/svirt.log" > "$T/all.log"

# ---- the daemon: schema first, then the registry's containers, then imports ----
cat > "$T/avcwatchd.conf" << EOF
[Daemon]
AccessGroup=nogroup
AuditLog=
[Filter]
Domains=container_t svirt_t
[Engines]
Docker=
Podman=
ProcScan=no
EOF
CONFIG=$T/avcwatchd.conf
start_daemon --input /dev/null
stop_daemon
sqlite3 "$T/db" < "$T/containers.sql"
start_daemon --input /dev/null

avcctl import "$T/audit.log.2.gz" "$T/audit.log.1" "$T/audit.log" "$T/svirt.log" > "$T/import1" ||
        fail "import failed: $(cat "$T/import1")"
cat "$T/import1"
stats=$(avcctl -o json stats)
total=$(json_field "$stats" store_denials)
[ "$total" -eq 3004 ] || fail "expected 3004 denials stored, got $total"
grep -q "audit.log.2.gz: .* 1000 denials stored\|audit.log.2.gz: .*denials stored, 0 already" \
        "$T/import1" || fail "the compressed rotation was not imported"

# Again, whole and through stdin: nothing new.
avcctl -o json import "$T/audit.log.1" - < "$T/all.log" > "$T/import2" || fail "second import failed"
python3 - "$T/import2" << 'PY' || fail "the second import stored something"
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert o["stored"] == 0 and o["duplicates"] > 0 and o["lost"] == 0, o
PY
[ "$(json_field "$(avcctl -o json stats)" store_denials)" -eq 3004 ] || fail "re-import added rows"

# ---- query, top, histogram against the oracle ----
avcctl -o json query > "$T/all.json"
avcctl -o json top --limit 1000 > "$T/top.json"
avcctl -o json top --by container --limit 1000 > "$T/top-ctr.json"
avcctl -o json query --histogram 1h > "$T/hist.json"
avcctl -o json query --histogram 10min --container ctr-0 > "$T/hist-ctr0.json"
avcctl -o json query --container ctr-0 --since "@1713610000" --until "@1713700000" > "$T/ctr0.json"
avcctl -o raw query > "$T/all.raw"
python3 - "$T" << 'PY' || fail "query/top/histogram disagree with the log (see above)"
import collections, json, re, sys
t = sys.argv[1]
events, order = {}, []
for line in open(t + "/all.log"):
    k = re.search(r"audit\(([^)]*)\)", line).group(1)
    if k not in events:
        events[k] = []
        order.append(k)
    events[k].append(line)
avcs = []
for k in order:
    for line in events[k]:
        if line.startswith("type=AVC"):
            m = re.search(r"audit\((\d+)\.(\d+):(\d+)\).*\{ ([^}]*) \}.*scontext=\S+:(\w+):s0:(c\d+,c\d+) "
                          r"tcontext=\S+:(\w+):s0\S* tclass=(\w+)", line)
            avcs.append(dict(ms=int(m[1]) * 1000 + int(m[2]), serial=int(m[3]), perms=m[4],
                             stype=m[5], mcs=m[6], ttype=m[7], tclass=m[8]))
denials = [json.loads(l) for l in open(t + "/all.json")]
assert len(denials) == len(avcs) == 3004, (len(denials), len(avcs))
# Oldest first (svirt.log's events lie in the middle of the generated ones).
times = [d["time"] for d in denials]
assert times == sorted(times), "not in time order"
assert sorted(d["serial"] for d in denials) == sorted(a["serial"] for a in avcs), "content"
named = collections.Counter(d["container"]["name"] for d in denials if d["container"])
assert sum(named.values()) == 3004, "every denial is named by MCS + time: %s" % named
ctr0_mcs = next(d["mcs"] for d in denials if d["container"] and d["container"]["name"] == "ctr-0")

top = [json.loads(l) for l in open(t + "/top.json")]
assert sum(r["count"] for r in top) == 3004
want = collections.Counter((a["stype"], a["ttype"], a["tclass"], a["perms"]) for a in avcs)
got = collections.Counter()
for r in top:
    got[(r["source_type"], r["target_type"], r["tclass"], " ".join(r["permissions"]))] += r["count"]
assert got == want, (got, want)
assert [r["count"] for r in top] == sorted((r["count"] for r in top), reverse=True)
tc = [json.loads(l) for l in open(t + "/top-ctr.json")]
assert {r["container"]["name"]: r["count"] for r in tc} == dict(named), "top by container"

hist = [json.loads(l) for l in open(t + "/hist.json")]
hours = collections.Counter(a["ms"] // 3600000 for a in avcs)
assert len(hist) == len(hours) and sum(b["count"] for b in hist) == 3004
h0 = [json.loads(l) for l in open(t + "/hist-ctr0.json")]
assert sum(b["count"] for b in h0) == named["ctr-0"]
ctr0 = [json.loads(l) for l in open(t + "/ctr0.json")]
want0 = [a["serial"] for a in avcs if a["mcs"] == ctr0_mcs and 1713610000000 <= a["ms"] < 1713700000000]
assert sorted(d["serial"] for d in ctr0) == sorted(want0) and want0, "--container ctr-0 --since --until"

# -o raw: each event's records exactly as in the log, once per event, in time order.
raw = open(t + "/all.raw").read()
stamp = lambda k: (int(k.split(":")[0].replace(".", "")), int(k.split(":")[1]))
by_time = sorted(order, key=lambda k: stamp(k)[0])  # stable: the log's order within a ms
got_events = re.split(r"(?m)^(?=type=AVC)", raw)
assert sorted(got_events[1:]) == sorted("".join(events[k]) for k in order), "raw differs"
assert raw.splitlines()[0] == events[by_time[0]][0].rstrip("\n"), "raw not oldest first"
print("oracle: %d denials, %d signatures, %d containers, %d hours" % (len(avcs), len(want),
      len(named), len(hours)))
PY

# ---- audit2allow on avcctl's raw output, as on the original log ----
policy=$(ls /etc/selinux/default/policy/policy.* 2> /dev/null | tail -1 || true)
if ! command -v audit2allow > /dev/null; then
        echo "SKIP part: audit2allow is not installed (policycoreutils-python-utils)"
elif [ -z "$policy" ]; then
        echo "SKIP part: no policy file in /etc/selinux/default/policy (selinux-policy-default)"
else
        avcctl query --container web -o raw > "$T/web.raw"
        audit2allow -p "$policy" < "$T/web.raw" > "$T/web.rules" 2> "$T/a2a.err" ||
                fail "audit2allow failed: $(cat "$T/a2a.err")"
        head -n 5 "$T/svirt.log" > "$T/web.log"
        sed -n 6,8p "$T/svirt.log" >> "$T/web.log"
        audit2allow -p "$policy" -i "$T/web.log" > "$T/web.expected" 2>> "$T/a2a.err"
        cat "$T/web.rules"
        grep -qx "allow svirt_t user_home_dir_t:dir write;" "$T/web.rules" || fail "rule 1 missing"
        grep -qx "allow svirt_t shadow_t:file read;" "$T/web.rules" || fail "rule 2 missing"
        ! grep -q "http_port_t\|getattr" "$T/web.rules" || fail "db's denials in web's rules"
        cmp -s "$T/web.rules" "$T/web.expected" || fail "audit2allow says otherwise on the log"
        (cd "$T" && avcctl query --container web -o raw | audit2allow -p "$policy" -M web_local \
                > /dev/null 2>&1) || fail "audit2allow -M failed"
        grep -q "allow svirt_t shadow_t:file read;" "$T/web_local.te" || fail "module lacks a rule"
fi

# ---- access: import is root's; the access group cannot make the daemon read a file ----
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null && getent group nogroup > /dev/null; then
        chmod 755 "$T"
        chmod 644 "$T/audit.log"
        as_member() {
                setpriv --reuid=nobody --regid=nogroup --clear-groups "$AVCCTL" \
                        --socket "$AVC_SOCKET" "$@"
        }
        as_member stats > /dev/null || fail "a member of the access group cannot use the API"
        rc=0
        as_member import "$T/audit.log" > "$T/out" 2>&1 || rc=$?
        [ "$rc" -eq 2 ] && grep -q "only root may import" "$T/out" ||
                fail "a non-root member could import (exit $rc: $(cat "$T/out"))"
        rc=0
        as_member import /etc/shadow > "$T/out" 2>&1 || rc=$?
        [ "$rc" -eq 1 ] && grep -q "cannot open '/etc/shadow'" "$T/out" ||
                fail "import /etc/shadow as nobody: exit $rc: $(cat "$T/out")"
else
        echo "SKIP part: the access checks need root, setpriv and group nogroup"
fi

stop_daemon
echo PASS
