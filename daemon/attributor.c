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

#include "attributor.h"
#include "cgroup-id.h"
#include "macro.h"
#include "registry.h"

#define ATTRIBUTOR_CACHE_SIZE 256
#define ATTRIBUTOR_CACHE_USEC (2ULL * 1000000)
#define ATTRIBUTOR_READ_MAX (16 * 1024) /* /proc/<pid>/cgroup is small; cap what we read */
#define START_TIME_SLACK_MS 1000        /* btime has one-second resolution */

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

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int read_file(const char *path, char *buf, size_t size, size_t *ret_len) {
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t len = 0;

        if (fd < 0)
                return negative_errno();
        while (len < size - 1) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += n;
        }
        buf[len] = 0;
        *ret_len = len;
        return 0;
}

static int64_t read_boot_ms(const char *proc_root) {
        char path[512], buf[ATTRIBUTOR_READ_MAX];
        size_t len;

        snprintf(path, sizeof(path), "%s/stat", proc_root);
        if (read_file(path, buf, sizeof(buf), &len) < 0)
                return -1;
        const char *p = strstr(buf, "\nbtime ");
        if (!p)
                return -1;
        return strtoll(p + 7, NULL, 10) * 1000;
}

int attributor_new(const char *proc_root, Attributor **ret) {
        Attributor *a = calloc(1, sizeof(Attributor));
        if (!a)
                return -ENOMEM;
        a->proc_root = strdup(proc_root);
        if (!a->proc_root) {
                free(a);
                return -ENOMEM;
        }
        a->boot_ms = read_boot_ms(proc_root);
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

/* Start time of the process in ms since the epoch, from field 22 of /proc/<pid>/stat. The comm
 * field (2) can hold spaces and parentheses, so parse after the last ')'. */
static int process_start_ms(Attributor *a, int64_t pid, int64_t *ret) {
        char path[512], buf[4096];
        size_t len;
        int r;

        if (a->boot_ms < 0)
                return -ENODATA;
        snprintf(path, sizeof(path), "%s/%" PRId64 "/stat", a->proc_root, pid);
        r = read_file(path, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        char *p = strrchr(buf, ')');
        if (!p)
                return -EBADMSG;
        p++;
        /* After ')': field 3 (state) is the first; starttime is field 22 -> skip 19 fields. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        unsigned long long ticks = strtoull(p + 1, NULL, 10);
        *ret = a->boot_ms + (int64_t) (ticks * 1000 / a->ticks_per_sec);
        return 0;
}

static int lookup(Attributor *a, int64_t pid, CacheEntry *ret) {
        char path[512], buf[ATTRIBUTOR_READ_MAX];
        size_t len;
        CacheEntry e = {.pid = pid};
        int r;

        r = process_start_ms(a, pid, &e.start_ms);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "%s/%" PRId64 "/cgroup", a->proc_root, pid);
        r = read_file(path, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        r = cgroup_parse_container(buf, len, &e.container);
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

        uint64_t now = now_usec();
        CacheEntry *slot = &a->cache[d->pid % ATTRIBUTOR_CACHE_SIZE];
        if (slot->pid == d->pid && now - slot->stamp_usec < ATTRIBUTOR_CACHE_USEC)
                e = *slot;
        else {
                r = lookup(a, d->pid, &e);
                if (r < 0)
                        return 0; /* gone, or not readable: not attributable by pid */
                e.stamp_usec = now;
                *slot = e;
        }

        if (!e.found || e.start_ms > d->time_ms + START_TIME_SLACK_MS)
                return 0;

        ContainerRef c = {.id = strdup(e.container.id), .engine = strdup(e.container.engine)};
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
        }
        return registry_resolve_denial(a->registry, d);
}
