#!/usr/bin/env bash
# Strings from inside a container are hostile. A denial whose comm and path (hex-encoded by the
# kernel's rules) decode to terminal escape sequences goes through the real kernel path; the JSON
# output carries the exact bytes, escaped; the human output never emits a control character raw.
set -euo pipefail
source "$AVCWATCH_TESTLIB"

require_root
require_audit_netlink
make_tmpdir

mark=hs$$
comm=$'\e]0;pwned\a\b\r'
path=$'/tmp/\e[2J\e[31mred\x9b1m'
start_daemon --input netlink
inject --count 1 --name "$mark" --comm "$comm" --path "$path" > /dev/null || fail "inject failed"
has() { [ "$(count_lines avcctl -o json query --path "$mark")" -eq 1 ]; }
wait_for 15 has || fail "the hostile denial was not stored"

avcctl -o json query --path "$mark" > "$T/q.json"
python3 - "$T/q.json" "$comm" "$path" <<'PY' || fail "JSON does not carry the exact bytes"
import json, sys
raw = open(sys.argv[1], "rb").read()
assert not any(b < 0x20 for b in raw.rstrip(b"\n")), "raw control byte in the JSON text"
o = json.loads(raw)
assert o["comm"] == sys.argv[2], repr(o["comm"])
PY
# The path with a C1 byte (0x9b, not UTF-8 on its own) is kept; check the ESC-only prefix.
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["path"].startswith("/tmp/\x1b[2J\x1b[31mred"), repr(o["path"])' "$T/q.json" ||
        fail "path not decoded"

avcctl query --path "$mark" > "$T/short.txt"
python3 - "$T/short.txt" <<'PY' || fail "short output emits control characters: $(od -c "$T/short.txt" | head)"
import sys
data = open(sys.argv[1], "rb").read()
body = data.rstrip(b"\n")
assert body, "no output"
# Nothing in this denial is legitimately non-ASCII: any byte >= 0x7f would be a raw DEL, C1
# control or broken UTF-8 reaching the terminal.
bad = [b for b in body if b < 0x20 or b >= 0x7f]
assert not bad, bad
assert b"\\x1b" in body, body
PY
# -o raw on a pipe is exact (hex as the kernel wrote it): no decoding there.
avcctl -o raw query --path "$mark" | grep -q "comm=1B5D303B" || fail "raw output is not the kernel's text"
stop_daemon
echo "hostile strings: exact in JSON, escaped for the terminal"
