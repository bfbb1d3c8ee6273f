/* SPDX-License-Identifier: MIT */
/* Attributor: which container a denial came from, by the live pid's cgroup, then by the
 * registry's MCS + time history (registry.c) when the pid is gone or not in a container.
 *
 * /proc/<pid>/cgroup names the container exactly, for every engine, as long as the process is
 * alive — which it usually is, since denials reach us within milliseconds. Two hazards:
 * - pid reuse: the pid may belong to a newer process by the time we look. We compare the
 *   process's start time (from /proc/<pid>/stat and the boot time) with the denial's time and
 *   refuse a process that started after the denial. This also makes old denials from an imported
 *   file fall through to "none" instead of being pinned on whatever runs with that pid today.
 * - storms: one process can produce thousands of denials a second; a small cache keyed by pid
 *   (entries kept ATTRIBUTOR_CACHE_USEC) keeps /proc reads off the hot path. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "attributor.h"
#include "cgroup-id.h"
#include "macro.h"
#include "procfs.h"
#include "record.h"
#include "registry.h"

#define ATTRIBUTOR_CACHE_SIZE 256
#define ATTRIBUTOR_CACHE_USEC (2ULL * 1000000)
#define START_TIME_SLACK_MS 1000 /* btime has one-second resolution */

typedef struct CacheEntry {
        int64_t pid;
        uint64_t stamp_usec;
        int64_t start_ms;
        bool alive; /* the process could be read */
        bool found; /* ... and it is in a container */
        CgroupContainer container;
} CacheEntry;

struct Attributor {
        char *proc_root;
        int64_t boot_ms;
        long ticks_per_sec;
        CacheEntry cache[ATTRIBUTOR_CACHE_SIZE];
        Registry *registry; /* borrowed; NULL: pid path only */
};

int attributor_new(const char *proc_root, Attributor **ret) {
        Attributor *a = calloc(1, sizeof(Attributor));
        if (!a)
                return -ENOMEM;
        a->proc_root = strdup(proc_root);
        if (!a->proc_root) {
                free(a);
                return -ENOMEM;
        }
        a->boot_ms = procfs_boot_ms(proc_root);
        a->ticks_per_sec = sysconf(_SC_CLK_TCK);
        if (a->ticks_per_sec <= 0)
                a->ticks_per_sec = 100;
        *ret = a;
        return 0;
}

Attributor *attributor_free(Attributor *a) {
        if (!a)
                return NULL;
        free(a->proc_root);
        free(a);
        return NULL;
}

/* Start time of the process in ms since the epoch. */
static int process_start_ms(Attributor *a, int64_t pid, int64_t *ret) {
        char path[512], buf[4096];
        ssize_t r;

        if (a->boot_ms < 0)
                return -ENODATA;
        snprintf(path, sizeof(path), "%s/%" PRId64 "/stat", a->proc_root, pid);
        r = procfs_read(AT_FDCWD, path, buf, sizeof(buf));
        if (r < 0)
                return (int) r;
        return procfs_stat_start_ms(buf, a->boot_ms, a->ticks_per_sec, ret);
}

static int lookup(Attributor *a, int64_t pid, CacheEntry *ret) {
        char path[512], buf[PROCFS_READ_MAX];
        CacheEntry e = {.pid = pid, .alive = true};
        int r;

        r = process_start_ms(a, pid, &e.start_ms);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/%" PRId64 "/cgroup", a->proc_root, pid);
        ssize_t len = procfs_read(AT_FDCWD, path, buf, sizeof(buf));
        if (len < 0)
                return (int) len;
        r = cgroup_parse_container(buf, (size_t) len, &e.container);
        e.found = r > 0;
        *ret = e;
        return 0;
}

typedef enum PidVerdict {
        PID_UNKNOWN,   /* gone, unreadable, or younger than the denial: nothing can be said */
        PID_HOST,      /* alive since before the denial, in no container */
        PID_CONTAINER, /* alive since before the denial, in the container returned */
} PidVerdict;

/* Where the process pid was at time_ms: a PidVerdict, with the container in *ret (id and
 * engine) for PID_CONTAINER; or -ENOMEM. */
static int pid_container(Attributor *a, int64_t pid, int64_t time_ms, ContainerRef *ret) {
        CacheEntry e;
        int r;

        if (pid <= 0)
                return PID_UNKNOWN;

        uint64_t now = now_monotonic_coarse_usec(); /* per denial: the coarse clock */
        CacheEntry *slot = &a->cache[pid % ATTRIBUTOR_CACHE_SIZE];
        if (slot->pid == pid && now - slot->stamp_usec < ATTRIBUTOR_CACHE_USEC)
                e = *slot;
        else {
                r = lookup(a, pid, &e);
                if (r < 0)
                        /* Gone, or not readable: not attributable by pid. Remembered too, so
                         * that a burst of denials of an exited process (a backlog, an import
                         * from stdin) does not pay a failed open() each. */
                        e = (CacheEntry){.pid = pid};
                e.stamp_usec = now;
                *slot = e;
        }

        if (!e.alive || e.start_ms > time_ms + START_TIME_SLACK_MS)
                return PID_UNKNOWN;
        if (!e.found)
                return PID_HOST;

        /* A bare id below an unknown cgroup parent (cgroup-id.h) is a container only when an
         * engine told the registry about it; the engine is then the registry's. */
        const char *engine = e.container.engine;
        if (!engine) {
                const ContainerInfo *known =
                        a->registry ? registry_get(a->registry, e.container.id) : NULL;
                if (!known || !known->engine)
                        return PID_HOST;
                engine = known->engine;
        }
        ContainerRef c = {.id = strdup(e.container.id), .engine = strdup(engine)};
        if (!c.id || !c.engine) {
                container_ref_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return PID_CONTAINER;
}

static void set_container(Denial *d, ContainerRef *c, Attribution how) {
        container_ref_done(&d->container);
        d->container = *c;
        *c = (ContainerRef){};
        d->has_container = true;
        d->attribution = how;
}

/* A USER_AVC is the sender's word about the pid it names: any root process with
 * CAP_AUDIT_WRITE (Docker grants it by default) can send one naming another container's pid.
 * Only the kernel's part of the record (the sender's pid=) is evidence. Returns 0 when the
 * sender is a host process (dbus-broker, systemd: the inner pid is believed, as for an AVC) or
 * could not be checked, 1 when it runs in a container (the denial is that container's claim:
 * ATTRIBUTION_SENDER), or -ENOMEM. A sender already gone is believed as before: on an SELinux
 * host its subj= still gives a container away (registry_resolve_denial); without SELinux, a
 * sender that exits before we look cannot be told from a host tool such as avcwatch-inject
 * (docs/architecture.md "Attributor"). */
static int attributor_resolve_sender(Attributor *a, Denial *d) {
        ContainerRef c = {};
        int r;

        if (d->record_type != AUDIT_TYPE_USER_AVC || d->sender_pid <= 0)
                return 0;
        r = pid_container(a, d->sender_pid, d->time_ms, &c);
        if (r < 0)
                return r;
        if (r != PID_CONTAINER)
                return 0;
        set_container(d, &c, ATTRIBUTION_SENDER);
        return 1;
}

static int attributor_resolve_pid(Attributor *a, Denial *d) {
        ContainerRef c = {};
        int r;

        r = pid_container(a, d->pid, d->time_ms, &c);
        if (r == PID_CONTAINER)
                set_container(d, &c, ATTRIBUTION_PID);
        return r < 0 ? r : 0;
}

void attributor_set_registry(Attributor *a, Registry *registry) {
        if (a)
                a->registry = registry;
}

/* A USER_AVC's sender first (a claim from a container is that container's, whatever it names);
 * then the pid's cgroup (exact); the registry then names what the cgroup only identified, and
 * resolves by MCS + time what the pid could not (docs/architecture.md "Attributor"). */
int attributor_resolve(Attributor *a, Denial *d) {
        int r;

        d->attribution = ATTRIBUTION_NONE;
        r = attributor_resolve_sender(a, d);
        if (r == 0)
                r = attributor_resolve_pid(a, d);
        if (r < 0 || !a->registry)
                return r;
        if (d->has_container) {
                r = registry_fill_ref(a->registry, &d->container);
                if (r < 0)
                        return r;
                if (r == 0) {
                        /* Named by its cgroup before (or without) any engine or /proc scan:
                         * known from now on, listed by Containers like after a restart (the
                         * store keeps its row anyway). A full registry or a failing database
                         * costs the listing, never the denial. */
                        ContainerInfo c = {.id = d->container.id, .engine = d->container.engine};
                        r = registry_update(a->registry, &c);
                        if (r == -ENOMEM)
                                return r;
                }
        }
        return registry_resolve_denial(a->registry, d);
}
