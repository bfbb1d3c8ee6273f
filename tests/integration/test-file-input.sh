#!/usr/bin/env bash
# --input FILE and --input - over the whole real corpus (tests/corpus): the daemon stores
# exactly the container denials that the corpus oracle (expected.jsonl) lists, counts the damaged
# lines as malformed, says the input reached its end, keeps serving queries, adds nothing when the
# same records are imported again, and keeps everything across a restart. No root needed.
# journalctl's text form (no audit id): dated with the year of the file's mtime (--input) or of
# the import, across New Year, keyed by a serial from its text, so a re-import adds nothing.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

corpus=${AVCWATCH_CORPUS_DIR:-}
[ -f "$corpus/expected.jsonl" ] || skip "no corpus at '$corpus'"
make_tmpdir

# Every corpus file, concatenated: real records, controls and damaged input in one stream.
find "$corpus" -name '*.log' | sort | xargs cat > "$T/all.log"

# The oracle's container denials under the default scope filter: source type in the default
# domain set (or *_container_t), or a target carrying categories other than c0.c1023; only
# records with an audit id can be stored.
expected=$(python3 - "$corpus/expected.jsonl" <<'PY'
import json, sys, fnmatch
domains = ["container_t", "container_init_t", "container_kvm_t", "container_user_t",
           "container_engine_t", "spc_t", "svirt_lxc_net_t", "*_container_t", "*.process"]
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["audit_id"] is None:
        continue
    st, tm = o["scontext_type"], o["tcontext_mcs"]
    if any(fnmatch.fnmatchcase(st, d) for d in domains) or (tm and tm != "c0.c1023"):
        n += 1
print(n)
PY
)
[ "$expected" -gt 10 ] || fail "oracle gives only $expected container denials"

start_daemon --input "$T/all.log"
wait_for 20 input_eof || fail "input never reached its end"
stats=$(avcctl -o json stats)
echo "stats: $stats"
json_field "$stats" input_eof | grep -qx true || fail "input_eof not true"
stored=$(json_field "$stats" denials_stored)
malformed=$(json_field "$stats" records_malformed)
[ "$stored" -eq "$expected" ] || fail "stored $stored denials, the oracle lists $expected"
[ "$malformed" -gt 20 ] || fail "only $malformed malformed lines counted for the damaged files"

# Queries are served after the end of the input; every object has the contract's keys.
avcctl -o json query > "$T/q.json"
[ "$(wc -l < "$T/q.json")" -eq "$expected" ] || fail "query returned $(wc -l < "$T/q.json") lines"
python3 - "$T/q.json" <<'PY' || fail "query output does not match the contract"
import json, sys
keys = ["time", "serial", "record_type", "result", "permissions", "pid", "comm", "exe", "path",
        "name", "scontext", "tcontext", "tclass", "permissive", "source_type", "target_type",
        "mcs", "container", "attribution", "target_container", "candidates", "count",
        "reason", "booleans", "verdict", "hint", "raw"]
seen = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert list(o.keys()) == keys, list(o.keys())
    assert o["attribution"] == "none" and o["container"] is None, o
    assert o["raw"] and ("msg=audit(" in o["raw"] or "audit(" in o["raw"]), o["raw"]
    seen[(o["serial"], o["scontext"], tuple(o["permissions"]))] = o
# Spot checks against the corpus: the Kata record, and a whole event with its SYSCALL.
kvm = seen[(128, "system_u:system_r:container_kvm_t:s0:c534,c983", ("write",))]
assert kvm["time"] == "2020-09-30T15:51:11.991Z", kvm["time"]
assert kvm["comm"] == "virtiofsd" and kvm["name"] == "/" and kvm["tclass"] == "dir"
assert kvm["mcs"] == "c534,c983" and kvm["permissive"] is False
cilium = seen[(1166063, "system_u:system_r:spc_t:s0", ("sys_admin",))]
assert cilium["exe"] == "/usr/bin/cilium-agent", cilium
assert cilium["raw"].count("\n") == 2 and cilium["raw"].startswith("type=PROCTITLE"), cilium["raw"]
# udica's per-container type, whole range c0.c1023 on both sides: kept by *.process alone
# (six lines, the two reads identical)
udica = [o for o in seen.values() if o["source_type"] == "my_container.process"]
assert len(udica) == 5 and {o["mcs"] for o in udica} == {"c0.c1023"}, len(udica)
PY

# -o raw is the original lines, each event once.
avcctl -o raw query --mcs c534,c983 > "$T/raw.txt"
grep -qxF "$(sed -n 1p "$corpus/container-selinux-commit-5770b061.log")" "$T/raw.txt" ||
        fail "-o raw does not reproduce the original line"

stop_daemon

# Importing the same records again adds nothing.
start_daemon --input "$T/all.log"
wait_for 20 input_eof || fail "second import never reached its end"
stats=$(avcctl -o json stats)
[ "$(json_field "$stats" denials_stored)" -eq 0 ] || fail "re-import stored new rows: $stats"
[ "$(json_field "$stats" denials_duplicate)" -eq "$expected" ] || fail "duplicates not counted: $stats"
[ "$(avcctl -o json query | wc -l)" -eq "$expected" ] || fail "row count changed on re-import"
stop_daemon

# stdin: exits by itself at the end; the data is there for the next daemon.
"$AVCWATCHD" --config /dev/null --db "$T/stdin.db" --socket "$T/stdin.sock" --input - \
        < "$corpus/container-selinux-commit-5770b061.log" > "$T/stdin.log" 2>&1 ||
        fail "stdin daemon failed: $(cat "$T/stdin.log")"
: > "$T/empty.log"
DB="$T/stdin.db" start_daemon --input "$T/empty.log"
[ "$(avcctl -o json query | wc -l)" -eq 10 ] || fail "stdin import did not store 10 denials"
stop_daemon
# journalctl's text form: a log written across New Year, its mtime 2025-01-02 (UTC).
export TZ=UTC
jline() { # TIME NAME
        echo "$1 host audit[7568]: AVC avc:  denied  { read } for  pid=7 comm=\"cat\" name=\"$2\"" \
                "scontext=system_u:system_r:container_t:s0:c1,c2" \
                "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0"
}
{
        jline "Dec 31 23:59:59" a
        jline "Dec 31 23:59:59" b
        jline "Jan  1 00:00:01.250000" a
} > "$T/journalctl.txt"
touch -d '2025-01-02 00:00:00 UTC' "$T/journalctl.txt"
DB="$T/journalctl.db" start_daemon --input "$T/journalctl.txt"
wait_for 20 input_eof || fail "journalctl text input never reached its end"
stats=$(avcctl -o json stats)
[ "$(json_field "$stats" denials_stored)" -eq 3 ] || fail "journalctl text: not 3 stored: $stats"
[ "$(json_field "$stats" records_unstamped)" -eq 0 ] || fail "journalctl text unstamped: $stats"
avcctl -o json query > "$T/jq.json"
python3 - "$T/jq.json" <<'PY' || fail "journalctl text lines not dated or keyed as documented"
import json, sys
rows = sorted((o["time"], o["name"], o["serial"]) for o in map(json.loads, open(sys.argv[1])))
assert [(t, n) for t, n, _ in rows] == [("2024-12-31T23:59:59.000Z", "a"),
                                        ("2024-12-31T23:59:59.000Z", "b"),
                                        ("2025-01-01T00:00:01.250Z", "a")], rows
assert all(2**48 <= s < 2**49 for _, _, s in rows), rows
assert rows[0][2] != rows[1][2] and rows[0][2] == rows[2][2], rows  # serial: the text's hash
PY
stop_daemon
DB="$T/journalctl.db" start_daemon --input "$T/journalctl.txt"
wait_for 20 input_eof || fail "journalctl text input never reached its end (again)"
stats=$(avcctl -o json stats)
[ "$(json_field "$stats" denials_stored)" -eq 0 ] || fail "journalctl text re-read stored: $stats"
[ "$(json_field "$stats" denials_duplicate)" -eq 3 ] || fail "journalctl text duplicates: $stats"
# avcctl import (root only): the year of the import's start; twice: nothing added the second
# time.
if [ "$(id -u)" -eq 0 ]; then
        avcctl -o json import "$T/journalctl.txt" > "$T/ji1" || fail "journalctl text import failed"
        avcctl -o json import "$T/journalctl.txt" > "$T/ji2" || fail "journalctl text re-import failed"
        python3 - "$T/ji1" "$T/ji2" <<'PY' || fail "journalctl text import: $(cat "$T/ji1" "$T/ji2")"
import json, sys
a, b = (json.loads(open(p).read()) for p in sys.argv[1:])
assert a["stored"] + a["duplicates"] == 3 and a["lost"] == 0, a
assert b["stored"] == 0 and b["duplicates"] == 3, b
PY
fi
stop_daemon
unset TZ
echo "file input: $expected denials stored from the corpus, $malformed malformed lines counted"
