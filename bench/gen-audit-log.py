#!/usr/bin/env python3
"""Writes a realistic audit.log of container denials, lines exactly as auditd writes them.

Many containers (each with its own MCS pair), a few dozen denial signatures with a skewed
(Zipf-like) popularity, bursty timing (quiet stretches and storms), and a mix of lone AVCs (audit
syscall auditing off) and whole events (AVC + SYSCALL + CWD + PATH + PROCTITLE + EOE).

  bench/gen-audit-log.py --denials 1000000 --containers 200 --seed 1 > /tmp/audit.log

--span-days D spreads the log over about D days (the default, a storm-heavy 100 denials/s, packs
a million denials into three hours). --containers-sql FILE writes the containers as rows of the
avcwatch registry (name ctr-N, image img-K, their MCS pair, alive over the whole log), so that an
import names them by MCS and time. --varied-syscalls makes the SYSCALL records' pointer arguments
and the processes' pids vary per event, as in real logs (less for the compressor to find).
"""
import argparse
import random
import sys

SIGNATURES = [
    # (permission set, target type, tclass, syscall, name, path)
    ("write", "admin_home_t", "dir", 83, "root", "/root"),
    ("read", "shadow_t", "file", 257, "shadow", "/etc/shadow"),
    ("getattr", "proc_kcore_t", "file", 262, "kcore", "/proc/kcore"),
    ("read write", "container_runtime_t", "unix_stream_socket", 42, None, "socket:[2709260]"),
    ("connectto", "container_runtime_t", "unix_stream_socket", 42, "docker.sock", "/run/docker.sock"),
    ("name_bind", "http_port_t", "tcp_socket", 49, None, None),
    ("sys_admin", "container_t", "capability", 165, None, None),
    ("mounton", "container_var_run_t", "dir", 165, "mnt", "/var/run/containers/mnt"),
    ("execute", "user_home_t", "file", 59, "run.sh", "/home/user/run.sh"),
    ("read", "sysfs_t", "file", 257, "uevent", "/sys/devices/uevent"),
    ("open read", "etc_t", "file", 257, "passwd", "/etc/passwd"),
    ("create", "tmp_t", "sock_file", 49, ".s.PGSQL.5432", "/tmp/.s.PGSQL.5432"),
    ("map", "container_var_lib_t", "file", 9, "db", "/var/lib/containers/db"),
    ("ioctl", "container_file_t", "file", 16, "key", "/var/lib/containers/storage/volumes/v/_data/key"),
    ("setattr", "var_log_t", "file", 90, "app.log", "/var/log/app.log"),
    ("search", "sysctl_net_t", "dir", 257, "net", "/proc/sys/net"),
    ("getpgid", "container_t", "process", 121, None, None),
    ("unix_read", "unconfined_t", "shm", 29, None, None),
    ("read", "cert_t", "dir", 257, "certs", "/etc/pki/tls/certs"),
    ("write", "cgroup_t", "file", 1, "memory.max", "/sys/fs/cgroup/memory.max"),
]
COMMS = ["bash", "nginx", "postgres", "python3", "java", "node", "sh", "redis-server",
         "ruby", "php-fpm", "httpd", "envoy", "etcd", "java", "sleep"]
EXES = {"bash": "/usr/bin/bash", "sh": "/bin/sh", "sleep": "/bin/sleep"}


def hexenc(s):
    return s.encode().hex().upper()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--denials", type=int, default=1_000_000)
    ap.add_argument("--containers", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=float, default=1713600000.0)
    ap.add_argument("--full-events", type=float, default=0.5,
                    help="share of denials written as whole events (SYSCALL, PROCTITLE, EOE)")
    ap.add_argument("--span-days", type=float, default=None,
                    help="spread the denials over about this many days")
    ap.add_argument("--containers-sql", default=None,
                    help="write the containers as avcwatch registry rows (SQL) to this file")
    ap.add_argument("--varied-syscalls", action="store_true",
                    help="vary pointer arguments and pids per event")
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    cats = set()
    containers = []
    while len(containers) < args.containers:
        a, b = sorted(rnd.sample(range(1024), 2))
        if (a, b) in cats:
            continue
        cats.add((a, b))
        comm = rnd.choice(COMMS)
        containers.append((a, b, comm, rnd.randint(1000, 4_000_000)))
    weights = [1.0 / (i + 1) for i in range(len(SIGNATURES))]
    cweights = [1.0 / (i + 1) ** 0.8 for i in range(len(containers))]

    # Mean quiet gap: an iteration emits 0.98 * 1 + 0.02 * 1025 = 21.5 denials on average.
    quiet_gap = 0.2
    if args.span_days:
        quiet_gap = args.span_days * 86400.0 / (args.denials / 21.5) / 0.98

    if args.containers_sql:
        ids = random.Random(args.seed + 1000)  # the log does not depend on this option
        with open(args.containers_sql, "w") as f:
            for i, (a, b, comm, pid) in enumerate(containers):
                f.write("INSERT INTO containers(container_id, name, image, engine, mcs, label, "
                        "created_ms, started_ms, running) VALUES ('%064x', 'ctr-%d', 'img-%d', "
                        "'docker', 'c%d,c%d', 'system_u:system_r:container_t:s0:c%d,c%d', %d, %d, "
                        "1);\n" % (ids.getrandbits(256) | (i + 1), i, i % 7, a, b, a, b,
                                   int(args.start * 1000) - 60000, int(args.start * 1000) - 60000))

    out = sys.stdout
    t = args.start
    serial = 1000
    written = 0
    buf = []
    while written < args.denials:
        # Bursty: mostly quiet gaps, sometimes a storm from one container.
        if rnd.random() < 0.02:
            burst = rnd.randint(50, 2000)
            dt = 0.0005
        else:
            burst = 1
            dt = rnd.expovariate(1 / quiet_gap)
        c = rnd.choices(containers, cweights)[0]
        sig = rnd.choices(SIGNATURES, weights)[0]
        for _ in range(min(burst, args.denials - written)):
            t += dt
            serial += 1
            a, b, comm, pid = c
            if args.varied_syscalls:
                pid += rnd.randint(0, 50)
            perms, ttype, tclass, sysno, name, path = sig
            stamp = "audit(%.3f:%d)" % (t, serial)
            fields = ["pid=%d" % pid, 'comm="%s"' % comm]
            if path and path.startswith("/") and rnd.random() < 0.5:
                fields.append('path="%s"' % path)
            elif name:
                fields.append('name="%s"' % name)
            if path and path.startswith("/"):
                fields.append('dev="overlay" ino=%d' % rnd.randint(1000, 9_999_999))
            tmcs = ":c%d,c%d" % (a, b) if ttype.startswith("container_") and tclass != "unix_stream_socket" else ""
            buf.append("type=AVC msg=%s: avc:  denied  { %s } for  %s "
                       "scontext=system_u:system_r:container_t:s0:c%d,c%d "
                       "tcontext=system_u:object_r:%s:s0%s tclass=%s permissive=0\n"
                       % (stamp, perms, " ".join(fields), a, b, ttype, tmcs, tclass))
            if rnd.random() < args.full_events:
                exe = EXES.get(comm, "/usr/bin/" + comm)
                a1 = "7ffd%08x" % rnd.getrandbits(32) if args.varied_syscalls else "7ffd2c1e5e20"
                buf.append("type=SYSCALL msg=%s: arch=c000003e syscall=%d success=no exit=-13 "
                           "a0=ffffff9c a1=%s a2=80000 a3=0 items=1 ppid=%d pid=%d "
                           "auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 "
                           "fsgid=0 tty=(none) ses=4294967295 comm=\"%s\" exe=\"%s\" "
                           "subj=system_u:system_r:container_t:s0:c%d,c%d key=(null)\n"
                           % (stamp, sysno, a1, pid - 1, pid, comm, exe, a, b))
                if path and path.startswith("/"):
                    buf.append('type=CWD msg=%s: cwd="/"\n' % stamp)
                    buf.append("type=PATH msg=%s: item=0 name=\"%s\" inode=%d dev=00:2f mode=0100644 "
                               "ouid=0 ogid=0 rdev=00:00 obj=system_u:object_r:%s:s0 nametype=NORMAL "
                               "cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n"
                               % (stamp, path, rnd.randint(1000, 9_999_999), ttype))
                buf.append("type=PROCTITLE msg=%s: proctitle=%s\n"
                           % (stamp, hexenc(comm + "\0-c\0loop")))
                buf.append("type=EOE msg=%s: \n" % stamp)
            written += 1
        if len(buf) > 10000:
            out.write("".join(buf))
            buf = []
    out.write("".join(buf))


if __name__ == "__main__":
    main()
