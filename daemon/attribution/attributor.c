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
#include "registry.h"

#define ATTRIBUTOR_CACHE_SIZE 256
#define ATTRIBUTOR_CACHE_USEC (2ULL * 1000000)
#define START_TIME_SLACK_MS 1000 /* btime has one-second resolution */

typedef struct CacheEntry {
        int64_t pid;
        uint64_t stamp_usec;
        int64_t start_ms;
        bool found;
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
        CacheEntry e = {.pid = pid};
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

static int attributor_resolve_pid(Attributor *a, Denial *d) {
        CacheEntry e;
        int r;

        d->attribution = ATTRIBUTION_NONE;
        if (d->pid <= 0)
                return 0;

        uint64_t now = now_monotonic_usec();
        CacheEntry *slot = &a->cache[d->pid % ATTRIBUTOR_CACHE_SIZE];
        if (slot->pid == d->pid && now - slot->stamp_usec < ATTRIBUTOR_CACHE_USEC)
                e = *slot;
        else {
                r = lookup(a, d->pid, &e);
                if (r < 0)
                        /* Gone, or not readable: not attributable by pid. Remembered too, so
                         * that a burst of denials of an exited process (a backlog, an import
                         * from stdin) does not pay a failed open() each. */
                        e = (CacheEntry){.pid = d->pid};
                e.stamp_usec = now;
                *slot = e;
        }

        if (!e.found || e.start_ms > d->time_ms + START_TIME_SLACK_MS)
                return 0;

        /* A bare id below an unknown cgroup parent (cgroup-id.h) is a container only when an
         * engine told the registry about it; the engine is then the registry's. */
        const char *engine = e.container.engine;
        if (!engine) {
                const ContainerInfo *known =
                        a->registry ? registry_get(a->registry, e.container.id) : NULL;
                if (!known || !known->engine)
                        return 0;
                engine = known->engine;
        }
        ContainerRef c = {.id = strdup(e.container.id), .engine = strdup(engine)};
        if (!c.id || !c.engine) {
                container_ref_done(&c);
                return -ENOMEM;
        }
        container_ref_done(&d->container);
        d->container = c;
        d->has_container = true;
        d->attribution = ATTRIBUTION_PID;
        return 0;
}

void attributor_set_registry(Attributor *a, Registry *registry) {
        if (a)
                a->registry = registry;
}

/* The pid's cgroup first (exact); the registry then names what the cgroup only identified,
 * and resolves by MCS + time what the pid could not (docs/architecture.md "Attributor"). */
int attributor_resolve(Attributor *a, Denial *d) {
        int r;

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
