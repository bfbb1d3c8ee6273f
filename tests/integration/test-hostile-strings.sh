#!/usr/bin/env bash
# Strings from inside a container are hostile: comm, exe, path, name, cwd and proctitle can hold
# any bytes, which the kernel hex-encodes. Here they decode to terminal attacks: ESC sequences
# (clear screen, colours, window title), OSC 52 (write the clipboard), CR / BS (overwrite what
# was printed), DEL, C1 CSI, newlines and tabs, bidi overrides and invisible characters (a name
# that displays as another one: "bd2" ZWSP "x" shows as "bd2x"). Through the real kernel
# (USER_AVC: comm, name, path) and from a file in the kernel's own format (a full event: AVC,
# SYSCALL with exe, CWD, PATH, PROCTITLE), each denial's
# JSON carries the exact bytes, escaped, and the human output of avcctl never emits a control
# character or a bidi control raw.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
require_audit_netlink
make_tmpdir

# Checks the short output in $1: no raw control byte (C0 but the line ends, DEL, C1 as UTF-8),
# no bidi control, no zero-width or other invisible character of the samples used here; and the
# escapes named in the other arguments are there.
check_short() {
        python3 - "$@" <<'PY' || fail "short output emits control characters: $(od -c "$1" | head -20)"
import sys
data = open(sys.argv[1], "rb").read()
assert data, "no output"
text = data.decode("utf-8")  # also fails on broken UTF-8
bad = [hex(ord(c)) for c in text
       if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f
       or ord(c) in (0x061c, 0x200e, 0x200f, 0x2028, 0x2029)
       or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069
       or ord(c) in (0x00ad, 0x200b, 0x200d, 0xfeff, 0x115f, 0x3164) or 0xe0000 <= ord(c) <= 0xe0fff]
assert not bad, bad
for want in sys.argv[2:]:
    assert want in text, (want, text)
PY
}

# ---- through the kernel ----
mark=hs$$
osc52=$'\e]52;c;cm0gLXJmIH4K\a\r'       # writes "rm -rf ~" into the clipboard, then CR
path=$'/tmp/\e[2J\e[31mred\xc2\x9b1m\u202eexe.txt' # clear, colour, C1 CSI, right-to-left override
name=$'\b\b\b\bok\r\n\tevil\x7f'
# invisible: "bd2" ZWSP "x" would show as "bd2x" (short enough for the PATH column, which is cut)
iname=$'bd2\u200bx\u00ad\ufeff\u3164\U000e0041'
icomm=i$mark$'\u115f'
start_daemon --input netlink
inject --count 1 --name "$mark" --comm "$osc52" --path "$path" > /dev/null || fail "inject failed"
inject --count 1 --comm "n$mark" --name "$name" > /dev/null || fail "inject failed"
inject --count 1 --comm "$icomm" --name "$iname" > /dev/null || fail "inject failed"
has() { [ "$(count_lines avcctl -o json query --path "$mark")" -eq 1 ] &&
        [ "$(count_lines avcctl -o json query --comm "n$mark")" -eq 1 ] &&
        [ "$(count_lines avcctl -o json query --comm "$icomm")" -eq 1 ]; }
wait_for 15 has || fail "the hostile denials were not stored"

avcctl -o json query --path "$mark" > "$T/a.json"
avcctl -o json query --comm "n$mark" > "$T/b.json"
python3 - "$T/a.json" "$T/b.json" "$osc52" "$path" "$name" <<'PY' || fail "JSON does not carry the exact bytes"
import json, sys
for f in sys.argv[1:3]:
    raw = open(f, "rb").read()
    assert not any(b < 0x20 for b in raw.rstrip(b"\n")), "raw control byte in the JSON text"
    assert b"\xe2\x80\xae" not in raw, "raw bidi control in the JSON text"
a = json.loads(open(sys.argv[1]).read())
b = json.loads(open(sys.argv[2]).read())
# (a USER_AVC's text is the sender's: comm is not cut to 16 bytes as in kernel AVCs)
assert a["comm"] == sys.argv[3], repr(a["comm"])
assert a["path"] == sys.argv[4], repr(a["path"])
assert b["name"] == sys.argv[5], repr(b["name"])
PY
avcctl query --path "$mark" > "$T/a.txt"
check_short "$T/a.txt" '\x1b]52' '\x1b[2J' '\u202e' '\xc2\x9b'
avcctl query --comm "n$mark" > "$T/b.txt"
check_short "$T/b.txt" '\x08\x08' '\x7f'
avcctl query --comm "$icomm" > "$T/i.txt"
check_short "$T/i.txt" 'bd2\u200bx\u00ad\ufeff\u3164\U000e0041' "i$mark"'\u115f'
# -o raw on a pipe is exact (hex as the kernel wrote it): no decoding there.
avcctl -o raw query --path "$mark" | grep -q "comm=1B5D35323B" || fail "raw output is not the kernel's text"
stop_daemon

# ---- a full event in the kernel's format, from a file ----
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }
comm2=$'\e]0;owned\a'
exe2=$'/usr/bin/\e[8m\u2066hidden\u2069'
cwd2=$'/work/\r\e[K'
pname=$'/etc/\e[1;1H\e[2Jshadow\u202e'
# NULs separate the arguments (a shell variable cannot hold them: straight from printf)
proctitle_hex=$(printf 'sh\0-c\0printf \033]52;c;cm0gLXJmIH4K\007\0' | od -An -v -tx1 |
        tr -d ' \n' | tr a-f A-F)
stamp="audit(1713603292.240:9001)"
ctx=system_u:system_r:container_t:s0:c1,c2
cat > "$T/event.log" <<EOF
type=SYSCALL msg=$stamp: arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=55d0 a2=241 a3=1b6 items=1 ppid=1 pid=4242 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=$(hex "$comm2") exe=$(hex "$exe2") subj=$ctx key=(null)
type=AVC msg=$stamp: avc:  denied  { write } for  pid=4242 comm=$(hex "$comm2") name=$(hex "${pname##*/}") dev="overlay" ino=131 scontext=$ctx tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0
type=CWD msg=$stamp: cwd=$(hex "$cwd2")
type=PATH msg=$stamp: item=0 name=$(hex "$pname") inode=131 dev=00:2f mode=0100000 ouid=0 ogid=0 rdev=00:00 obj=system_u:object_r:shadow_t:s0 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=$stamp: proctitle=$proctitle_hex
type=EOE msg=$stamp:
EOF
DB=$T/db2 start_daemon --input "$T/event.log"
wait_for 15 input_eof || fail "the file was not read"
avcctl -o json query > "$T/c.json"
[ "$(wc -l < "$T/c.json")" -eq 1 ] || fail "the event was not stored: $(cat "$T/c.json")"
python3 - "$T/c.json" "$comm2" "$exe2" "$pname" "${pname##*/}" <<'PY' || fail "JSON of the file event is not exact"
import json, sys
raw = open(sys.argv[1], "rb").read()
assert not any(b < 0x20 for b in raw.rstrip(b"\n")), "raw control byte in the JSON text"
o = json.loads(raw)
assert o["comm"] == sys.argv[2], repr(o["comm"])
assert o["exe"] == sys.argv[3], repr(o["exe"])
assert o["path"] == sys.argv[4], repr(o["path"])
assert o["name"] == sys.argv[5], repr(o["name"])
# raw is the kernel's text: the hex, never the decoded bytes
assert "\x1b" not in o["raw"] and "proctitle=7368002D63" in o["raw"], o["raw"]
PY
avcctl query > "$T/c.txt"
check_short "$T/c.txt" '\x1b]0;owned\x07' '\x1b[1;1H' '\u202e'
avcctl -o raw query > "$T/c.raw"
check_short "$T/c.raw"
stop_daemon
echo "hostile strings: exact in JSON, escaped for the terminal (kernel path and full events)"
