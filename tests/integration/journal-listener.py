#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A stand-in for journald's native protocol socket, for the integration tests: binds an AF_UNIX
# datagram socket at SOCKET and parses every entry the way journald does (systemd's "Native
# Journal Protocol": KEY=VALUE lines, or KEY\n + 64-bit little-endian length + bytes + \n; an
# empty datagram may carry a sealed memfd holding the entry). Appends one JSON object per entry
# to LOG: {"fields": {KEY: value}, "binary": [KEYs sent in the binary form], "memfd": bool};
# values are decoded as UTF-8 with surrogateescape, so any byte survives the round trip. A
# malformed entry is logged as {"error": "..."}: the tests fail on it.
# With --no-read it binds, shrinks its buffer and never reads: a journald that is stuck.
# Runs until killed. Usage: journal-listener.py SOCKET LOG [--no-read]
import array
import json
import os
import socket
import struct
import sys
import time


def parse(buf):
    fields, binary, i = {}, [], 0
    while i < len(buf):
        nl = buf.index(b"\n", i)
        line = buf[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", buf[nl + 1:nl + 9])
            v = buf[nl + 9:nl + 9 + n]
            if len(v) != n or buf[nl + 9 + n:nl + 10 + n] != b"\n":
                raise ValueError("bad binary field " + repr(k))
            binary.append(k.decode())
            i = nl + 10 + n
        name = k.decode()
        if not name or name.startswith("_") or not all(c.isupper() or c.isdigit() or c == "_"
                                                        for c in name):
            raise ValueError("bad field name " + repr(name))
        fields[name] = v.decode("utf-8", "surrogateescape")
    return fields, binary


path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path + ".tmp")
if "--no-read" in sys.argv[3:]:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    os.rename(path + ".tmp", path)
    while True:
        time.sleep(3600)
os.rename(path + ".tmp", path)
with open(log, "a", buffering=1) as out:
    while True:
        data, anc, _, _ = s.recvmsg(2 * 1024 * 1024, socket.CMSG_SPACE(4))
        memfd = False
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fd = array.array("i", payload[:4])[0]
                data, memfd = os.pread(fd, os.fstat(fd).st_size, 0), True
                os.close(fd)
        try:
            fields, binary = parse(data)
            out.write(json.dumps({"fields": fields, "binary": binary, "memfd": memfd}) + "\n")
        except (ValueError, struct.error) as e:
            out.write(json.dumps({"error": str(e)}) + "\n")
