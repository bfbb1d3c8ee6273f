#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A hostile container engine for test-engine-hostile.sh: speaks just enough of the Docker Engine
# API over an AF_UNIX socket (argv[1]) to be followed by avcwatchd, and misbehaves at each of the
# client's bounds:
#   /events          200, chunked, in chunks of awkward sizes: an event line longer than
#                    ENGINE_EVENT_LINE_MAX (a rename with megabytes of attributes), then a normal
#                    start event of "evt" (must still be processed), then nothing (kept open)
#   /containers/json good (terminal escapes in its name), bad, big, slow, after
#   good, evt        a normal inspect document
#   bad              name and image hold bytes that are not UTF-8 (0xff 0xfe), raw in the JSON
#   big              a body over ENGINE_RESPONSE_MAX (Content-Length says so, bytes follow)
#   slow             never answers (the client's request deadline)
#   after            normal: queued behind slow, must still be inspected
# With FAIL_LISTS=N in the environment, the first N container lists answer 500 (an engine that
# is not ready yet, or fails for a while).
# With FLOOD=N, a flood instead: the first /events stream sends N start events of containers
# that exist nowhere (their inspects answer 404) as fast as it can, then ends; every later
# stream stays quiet; every list holds "good" alone, so each one leaves the flood out.
import json
import os
import socket
import sys
import threading
import time

EVENT_LINE_MAX = 64 * 1024
RESPONSE_MAX = 16 * 1024 * 1024
IDS = {n: format(i + 1, "064x")
       for i, n in enumerate(["good", "evt", "big", "slow", "after", "bad"])}
NAMES = {"good": "\x1b]0;owned\x07web", "evt": "evt", "after": "after", "bad": "bad-@NOTUTF8@"}
CATS = {"good": "c1,c2", "evt": "c3,c4", "after": "c5,c6", "bad": "c7,c8"}
LISTS_TO_FAIL = [int(os.environ.get("FAIL_LISTS", "0"))]
FLOOD = int(os.environ.get("FLOOD", "0"))
STREAMS = [0]


def inspect(name):
    return {
        "Id": IDS[name],
        "Name": "/" + NAMES[name],
        "Created": "2026-01-01T00:00:00.000000001Z",
        "State": {"Running": True, "StartedAt": "2026-01-01T00:00:01Z",
                  "FinishedAt": "0001-01-01T00:00:00Z"},
        "Config": {"Image": "hostile/" + name + ("@NOTUTF8@" if name == "bad" else "") + ":1",
                   "Labels": {}},
        "ProcessLabel": "",
        "HostConfig": {"SecurityOpt": ["label=level:s0:" + CATS[name]]},
    }


def send_chunk(conn, data):
    conn.sendall(b"%x\r\n" % len(data) + data + b"\r\n")


def flood(conn):
    STREAMS[0] += 1
    if STREAMS[0] == 1:
        now = int(time.time())
        batch = []
        for i in range(FLOOD):
            batch.append(json.dumps({"Type": "container", "Action": "start",
                                     "Actor": {"ID": format(0x100000 + i, "064x"),
                                               "Attributes": {"name": "flood%d" % i,
                                                              "image": "flood:1"}},
                                     "time": now}).encode() + b"\n")
            if len(batch) == 200:
                send_chunk(conn, b"".join(batch))
                batch = []
        if batch:
            send_chunk(conn, b"".join(batch))
        conn.sendall(b"0\r\n\r\n")  # the end of the stream: the client connects again
        return
    while True:
        time.sleep(3600)


def events(conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    if FLOOD:
        flood(conn)
        return
    huge = json.dumps({"Type": "container", "Action": "rename",
                       "Actor": {"ID": IDS["good"],
                                 "Attributes": {"name": "x", "junk": "j" * (4 * EVENT_LINE_MAX)}},
                       "time": int(time.time())}).encode() + b"\n"
    start = json.dumps({"Type": "container", "Action": "start",
                        "Actor": {"ID": IDS["evt"], "Attributes": {"name": "evt"}},
                        "time": int(time.time())}).encode() + b"\n"
    data = huge + start
    # Awkward chunk sizes: 1 byte, 7 bytes, then big pieces, so lines span chunks.
    sizes = [1, 7, 4093, 65536]
    i = 0
    k = 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        send_chunk(conn, data[i:i + n])
        i += n
        k += 1
    while True:  # a stream stays open
        time.sleep(3600)


def respond(conn, status, body):
    conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                 % (status, len(body)) + body)


def handle(conn):
    try:
        req = b""
        while b"\r\n\r\n" not in req:
            d = conn.recv(4096)
            if not d:
                return
            req += d
        path = req.split(b" ")[1].decode()
        if path.startswith("/events"):
            events(conn)
        elif path.startswith("/containers/json") and LISTS_TO_FAIL[0] > 0:
            LISTS_TO_FAIL[0] -= 1
            respond(conn, 500, b'{"message":"not ready"}')
        elif path.startswith("/containers/json"):
            listed = ["good"] if FLOOD else ["good", "bad", "big", "slow", "after"]
            respond(conn, 200, json.dumps([{"Id": IDS[n]} for n in listed]).encode())
        else:
            cid = path.split("/")[2]
            name = [n for n, i in IDS.items() if i == cid]
            name = name[0] if name else None
            if name == "big":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (RESPONSE_MAX + 1))
                chunk = b" " * 65536
                for _ in range(RESPONSE_MAX // len(chunk) + 1):
                    conn.sendall(chunk)
            elif name == "slow":
                time.sleep(60)
            elif name:
                # json.dumps would write \u00ff: put the raw bytes in by hand
                respond(conn, 200, json.dumps(inspect(name)).encode().replace(
                    b"@NOTUTF8@", b"\xff\xfe"))
            else:
                respond(conn, 404, b'{"message":"no such container"}')
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        conn.close()


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


main()
