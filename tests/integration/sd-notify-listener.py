#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A stand-in for the service manager's end of sd_notify(3), for the integration tests: binds an
# AF_UNIX datagram socket at SOCKET (NOTIFY_SOCKET for the daemon), asks the kernel for each
# sender's credentials (SO_PASSCRED, as systemd does for NotifyAccess=main) and appends one JSON
# object per datagram to LOG: {"t": seconds (monotonic), "pid": sender pid, "fields": {...}}.
# Runs until killed. Usage: sd-notify-listener.py SOCKET LOG
import json
import os
import socket
import struct
import sys
import time

path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # the socket appears only once it is bound
with open(log, "a", buffering=1) as out:
    while True:
        data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, _, _ = struct.unpack("iII", payload[:12])
        fields = {}
        for line in data.decode("utf-8", "replace").split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                fields[k] = v
        out.write(json.dumps({"t": time.monotonic(), "pid": pid, "fields": fields}) + "\n")
