#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for CRI-O's own HTTP API on a Unix socket, answering as CRI-O's server/inspect.go
does: GET /info -> pkg/types.CrioInfo, GET /containers/{id} -> pkg/types.ContainerInfo as JSON
(Content-Type application/json), 404 "can't find the container with id ID" for an unknown one.

Usage: crio-standin.py SOCKET ID REPLY.json [ID REPLY.json ...]
$STANDIN_STORAGE_ROOT: the storage_root /info names (default /var/lib/containers/storage).
Each request is logged to stderr as "GET PATH"."""

import http.server
import json
import os
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "unix"

    def log_message(self, fmt, *args):
        sys.stderr.write("GET %s\n" % self.path)
        sys.stderr.flush()

    def reply(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/info":
            root = os.environ.get("STANDIN_STORAGE_ROOT", "/var/lib/containers/storage")
            body = json.dumps({"storage_driver": "overlay", "storage_image": "",
                               "storage_root": root, "cgroup_driver": "systemd",
                               "default_id_mappings": {"uids": None, "gids": None}}).encode()
            return self.reply(200, body, "application/json")
        prefix = "/containers/"
        if self.path.startswith(prefix) and self.path[len(prefix):] in REPLIES:
            with open(REPLIES[self.path[len(prefix):]], "rb") as f:
                return self.reply(200, f.read(), "application/json")
        ident = self.path[len(prefix):] if self.path.startswith(prefix) else self.path
        self.reply(404, ("can't find the container with id %s\n" % ident).encode(),
                   "text/plain; charset=utf-8")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    path = sys.argv[1]
    REPLIES = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    if os.path.exists(path):
        os.unlink(path)
    Server(path, Handler).serve_forever()
