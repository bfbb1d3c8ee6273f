#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Plays the service manager's part of socket activation (sd_listen_fds(3)) for the integration
# tests, the way avcwatchd.socket does: creates the sockets, puts them at fd 3, 4, ... with
# LISTEN_FDS / LISTEN_FDNAMES / LISTEN_PID, optionally drops to another user, and execs the
# command (the daemon, or systemd-socket-activate, which passes these fds on with its own).
#   --unix PATH      a listening AF_UNIX stream socket (ListenStream=PATH, mode 0660)
#   --netlink        the audit multicast socket (ListenNetlink=audit 1; needs CAP_AUDIT_READ)
#   --rcvbuf BYTES   its receive buffer, forced (ReceiveBuffer=; needs CAP_NET_ADMIN)
#   --extra          a datagram socket too: something the daemon does not expect (its
#                    "socket:[inode]" is printed)
#   --user UID:GID   drop to this user (no supplementary groups, no capabilities) before exec
#   --wait-for FILE  exec only once FILE exists (the sockets exist and buffer meanwhile)
# Usage: socket-launcher.py [OPTIONS] -- COMMAND [ARGS...]
import argparse
import os
import socket
import sys
import time

SO_RCVBUFFORCE = 33
NETLINK_AUDIT = 9
AUDIT_NLGRP_READLOG = 1

ap = argparse.ArgumentParser()
ap.add_argument("--unix")
ap.add_argument("--netlink", action="store_true")
ap.add_argument("--rcvbuf", type=int)
ap.add_argument("--extra", action="store_true")
ap.add_argument("--user")
ap.add_argument("--wait-for")
ap.add_argument("command", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.command[1:] if a.command[:1] == ["--"] else a.command

fds, names = [], []
if a.unix:
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(a.unix)
    os.chmod(a.unix, 0o660)
    u.listen(128)
    fds.append(u.detach())
    names.append("api")
if a.netlink:
    n = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    if a.rcvbuf:
        n.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, a.rcvbuf)
    n.bind((0, 1 << (AUDIT_NLGRP_READLOG - 1)))
    fds.append(n.detach())
    names.append("audit")
if a.extra:
    stray = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    print(f"stray fd: socket:[{os.fstat(stray.fileno()).st_ino}]", flush=True)
    fds.append(stray.detach())
    names.append("stray")

# fds 3.. in order; the copies made on the way must not collide with the targets
tmp = [os.dup(fd) for fd in fds]
for fd in fds:
    os.close(fd)
for i, fd in enumerate(tmp):
    os.dup2(fd, 3 + i, inheritable=True)
    os.close(fd)

if a.user:
    uid, gid = (int(x) for x in a.user.split(":"))
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from root: clears every capability set

while a.wait_for and not os.path.exists(a.wait_for):
    time.sleep(0.05)

os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_FDNAMES"] = ":".join(names)
os.environ["LISTEN_PID"] = str(os.getpid())  # exec keeps the pid
os.execvp(cmd[0], cmd)
