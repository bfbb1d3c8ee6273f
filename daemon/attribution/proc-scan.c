/* SPDX-License-Identifier: MIT */
/* ProcScan: the registry's source for engines that have no API we speak.
 *
 * Decisions:
 * - Cheap and bounded: one readdir of /proc, one read of /proc/<pid>/cgroup per process (small,
 *   at most PROCFS_READ_MAX), and attr/current + stat only for the first process of each
 *   container not yet seen in this scan. At most PROC_SCAN_PIDS_MAX processes and
 *   PROC_SCAN_CONTAINERS_MAX containers per scan, every PROC_SCAN_INTERVAL_USEC.
 * - The label is taken only when the registry has none for the container, or one without MCS
 *   categories while a process of the container now shows some: an engine's own answer
 *   ("level:s0:c1,c2" from its API) is not overwritten with a context that spells the same
 *   categories differently, which would re-resolve its denials at every scan. A container's
 *   first process can still carry the engine's label (runc init, or a runtime that has not yet
 *   exec'd the entrypoint, in the container's cgroup already): within a scan a process with
 *   categories wins over one without, and a later scan corrects a label without categories.
 *   (Found by the SELinux guest test: a scan during start-up pinned container_engine_t:s0.)
 * - A label must be a valid context (common/context.c): whatever a process wrote into its attr
 *   files is not trusted. Without an LSM (the read fails) the container is registered without.
 * - A container's start is its oldest process's start time, as far as we saw it; its end is the
 *   first scan that no longer saw a process of it (late by up to one interval: the process may
 *   have lived until just before that scan, and a denial of that time is still its own). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-id.h"
#include "container.h"
#include "log.h"
#include "macro.h"
#include "proc-scan.h"
#include "procfs.h"

typedef struct Seen {
        char id[CONTAINER_ID_LEN + 1];
        const char *engine; /* static, from cgroup-id.c */
        int64_t start_ms;
        char *label;
} Seen;

struct ProcScan {
        sd_event_source *timer;
        char *proc_root;
        Registry *registry;
        ProcScanStats *stats;
        proc_scan_followed_cb followed;
        void *userdata;
        int64_t boot_ms;
        long ticks_per_sec;
        Seen *now, *before; /* this scan's containers and the previous one's */
        size_t n_now, n_before;
};

static int64_t process_start_ms(ProcScan *p, int pid_fd) {
        char buf[1024];
        int64_t ms;
        if (procfs_read(pid_fd, "stat", buf, sizeof(buf)) < 0 ||
            procfs_stat_start_ms(buf, p->boot_ms, p->ticks_per_sec, &ms) < 0)
                return 0;
        return ms;
}

/* The process label, when it is a valid context. */
static char *process_label(int pid_fd) {
        char buf[CONTAINER_STRING_MAX + 1];
        ssize_t n = procfs_read(pid_fd, "attr/current", buf, sizeof(buf));
        if (n <= 0)
                return NULL;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == 0))
                buf[--n] = 0;
        if ((size_t) n != strlen(buf) || !context_is_valid(buf))
                return NULL;
        return strdup(buf);
}

static bool label_has_mcs(const char *label) {
        McsSet mcs;
        return label && container_label_mcs(label, &mcs) > 0;
}

static Seen *seen_find(Seen *list, size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i].id, id) == 0)
                        return &list[i];
        return NULL;
}

static void seen_clear(Seen *list, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                free(list[i].label);
        *n = 0;
}

static void scan_process(ProcScan *p, int proc_fd, const char *name) {
        char buf[PROCFS_READ_MAX];
        CgroupContainer c;

        _cleanup_(closep) int pid_fd =
                openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (pid_fd < 0)
                return; /* gone */
        ssize_t n = procfs_read(pid_fd, "cgroup", buf, sizeof(buf));
        if (n <= 0 || cgroup_parse_container(buf, (size_t) n, &c) <= 0)
                return;
        if (!c.engine)
                return; /* a bare id below an unknown parent: only an engine can vouch for it */
        int64_t start_ms = process_start_ms(p, pid_fd);
        Seen *s = seen_find(p->now, p->n_now, c.id);
        if (s) {
                if (start_ms > 0 && (s->start_ms == 0 || start_ms < s->start_ms))
                        s->start_ms = start_ms;
                if (!label_has_mcs(s->label)) {
                        char *label = process_label(pid_fd);
                        if (label_has_mcs(label) || (label && !s->label)) {
                                free(s->label);
                                s->label = label;
                        } else
                                free(label);
                }
                return;
        }
        if (p->n_now >= PROC_SCAN_CONTAINERS_MAX)
                return;
        s = &p->now[p->n_now++];
        *s = (Seen){.engine = c.engine, .start_ms = start_ms};
        memcpy(s->id, c.id, sizeof(s->id));
        s->label = process_label(pid_fd);
}

static void scan_register(ProcScan *p, const Seen *s) {
        const ContainerInfo *known = registry_get(p->registry, s->id);
        ContainerInfo c = {
                .id = (char *) s->id,
                .engine = known && known->engine ? NULL : (char *) s->engine,
                .state = CONTAINER_STATE_RUNNING,
        };
        if (s->label && (!known || !known->label ||
                         (!label_has_mcs(known->label) && label_has_mcs(s->label)))) {
                c.label = s->label;
                c.has_mcs = container_label_mcs(s->label, &c.mcs) > 0;
        }
        if (!known || (known->created_ms == 0 && known->started_ms == 0) ||
            (known->started_ms > s->start_ms && s->start_ms > 0 && known->created_ms == 0))
                c.started_ms = s->start_ms;
        /* A container the engine already reported ended is not revived by a lingering process
         * (an engine that ended it follows it). */
        if (known && known->removed_ms > 0)
                return;
        int r = registry_update(p->registry, &c);
        if (r < 0 && r != -EXFULL)
                log_warning_errno(r, "Failed to record container %.12s found in /proc: %m", s->id);
}

int proc_scan_run(ProcScan *p, int64_t now_ms) {
        _cleanup_(closep) int proc_fd = -EBADF;
        DIR *d;
        size_t pids = 0;

        if (!p)
                return -EINVAL;
        proc_fd = open(p->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0)
                return negative_errno();
        int dup_fd = fcntl(proc_fd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return negative_errno();
        d = fdopendir(dup_fd);
        if (!d) {
                close(dup_fd);
                return negative_errno();
        }
        seen_clear(p->now, &p->n_now);
        struct dirent *de;
        while ((de = readdir(d)) && pids < PROC_SCAN_PIDS_MAX) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                pids++;
                scan_process(p, proc_fd, de->d_name);
        }
        closedir(d);

        for (size_t i = 0; i < p->n_now; i++)
                scan_register(p, &p->now[i]);
        /* Gone since the last scan: ended by now, unless its engine's API is followed (that
         * engine's events say exactly when). Not at the last scan that saw it: its process may
         * have run (and been denied) until just before this one, and a denial the lifetime no
         * longer covered would lose its container. */
        for (size_t i = 0; i < p->n_before; i++) {
                Seen *s = &p->before[i];
                if (seen_find(p->now, p->n_now, s->id))
                        continue;
                const ContainerInfo *known = registry_get(p->registry, s->id);
                if (!known || known->state == CONTAINER_STATE_EXITED ||
                    (p->followed && known->engine && p->followed(known->engine, p->userdata)))
                        continue;
                (void) registry_mark_finished(p->registry, s->id, now_ms);
        }

        /* This scan's list becomes the previous one. */
        seen_clear(p->before, &p->n_before);
        Seen *t = p->before;
        p->before = p->now;
        p->n_before = p->n_now;
        p->now = t;
        p->n_now = 0;
        size_t n = p->n_before;
        if (p->stats) {
                p->stats->proc_scans++;
                p->stats->proc_containers = n;
        }
        return (int) n;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        ProcScan *p = userdata;
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        int r = proc_scan_run(p, (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        if (r < 0)
                log_warning_errno(r, "Failed to scan %s for containers: %m", p->proc_root);
        (void) sd_event_source_set_time_relative(s, PROC_SCAN_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int proc_scan_new(sd_event *event, const char *proc_root, Registry *registry, ProcScanStats *stats,
                  proc_scan_followed_cb followed, void *userdata, ProcScan **ret) {
        ProcScan *p;
        int r;

        if (!proc_root || !registry || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(ProcScan));
        if (!p)
                return -ENOMEM;
        p->registry = registry;
        p->stats = stats;
        p->followed = followed;
        p->userdata = userdata;
        p->proc_root = strdup(proc_root);
        p->now = calloc(PROC_SCAN_CONTAINERS_MAX, sizeof(Seen));
        p->before = calloc(PROC_SCAN_CONTAINERS_MAX, sizeof(Seen));
        if (!p->proc_root || !p->now || !p->before) {
                proc_scan_free(p);
                return -ENOMEM;
        }
        p->boot_ms = procfs_boot_ms(proc_root);
        p->ticks_per_sec = sysconf(_SC_CLK_TCK);
        if (p->ticks_per_sec <= 0)
                p->ticks_per_sec = 100;
        if (event) {
                /* The first scan right after start-up, from the loop. */
                r = sd_event_add_time_relative(event, &p->timer, CLOCK_MONOTONIC, 0, 0, on_timer,
                                               p);
                if (r < 0) {
                        proc_scan_free(p);
                        return r;
                }
        }
        *ret = p;
        return 0;
}

ProcScan *proc_scan_free(ProcScan *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timer);
        if (p->now)
                seen_clear(p->now, &p->n_now);
        if (p->before)
                seen_clear(p->before, &p->n_before);
        free(p->now);
        free(p->before);
        free(p->proc_root);
        free(p);
        return NULL;
}
