#!/usr/bin/env bash
# What avcctl asks for: the short output prints no raw text, so its Query calls say "raw": false
# and the daemon neither reads nor decompresses it; -o json and -o raw need it and do not say so.
# A stand-in daemon on a Unix socket records each call's parameters and answers an empty page.
set -euo pipefail
source "$AVCWATCH_TESTLIB"
make_tmpdir

cat > "$T/standin.py" << 'PY'
import json, os, socket, sys
path, calls = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
while True:
    conn, _ = srv.accept()
    buf = b""
    while True:
        d = conn.recv(65536)
        if not d:
            break
        buf += d
        while b"\0" in buf:
            msg, buf = buf.split(b"\0", 1)
            call = json.loads(msg)
            with open(calls, "a") as f:
                f.write(json.dumps(call) + "\n")
            conn.sendall(json.dumps({"parameters": {"denials": []}}).encode() + b"\0")
    conn.close()
PY
start_bg python3 "$T/standin.py" "$T/sock" "$T/calls"
wait_for 5 test -S "$T/sock" || fail "the stand-in did not start"

# ask MODE: the "raw" parameter of the Query call avcctl sends in output mode MODE
ask() {
        : > "$T/calls"
        "$AVCCTL" --socket "$T/sock" -o "$1" query > /dev/null ||
                fail "avcctl -o $1 query failed against the stand-in"
        python3 - "$T/calls" << 'PY'
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
q = [c for c in calls if c.get("method") == "io.avcwatch.Query"]
assert q, calls
print(json.dumps(q[0].get("parameters", {}).get("raw", "absent")))
PY
}

[ "$(ask short)" = false ] || fail "the short output asks for raw text it does not print"
[ "$(ask json)" = '"absent"' ] || fail "-o json does not ask for raw text: $(ask json)"
[ "$(ask raw)" = '"absent"' ] || fail "-o raw does not ask for raw text: $(ask raw)"
echo "client raw request: short asks raw:false, json and raw ask for it"
