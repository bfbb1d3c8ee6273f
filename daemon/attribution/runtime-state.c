/* SPDX-License-Identifier: MIT */
/* The state directories of containerd and CRI-O, watched: pods and namespaces without a
 * Kubernetes client (runtime-state.h).
 *
 * Decisions:
 * - The runtime's own files, not its API: containerd's CRI API is gRPC (a client library this
 *   daemon does not want) and neither runtime's API has an event stream a C client can follow
 *   simply; the OCI bundle each writes before the container starts has everything the registry
 *   keeps, and inotify says at once when one appears and when it goes. Both runtimes create the
 *   container's directory first and write config.json into it after (containerd:
 *   core/runtime/v2/bundle.go NewBundle; CRI-O: server/container_create.go, SaveToFile into the
 *   storage's run directory), so a new directory gets a watch of its own until its file is read,
 *   and a retry (RUNTIME_READ_TRIES) covers the file written between the scan and the watch.
 * - Nothing is followed: names under the directories must be container ids (and containerd
 *   namespaces, which containerd restricts to the same characters); every step is an openat()
 *   with O_NOFOLLOW from the directory above; config.json must be a regular file no larger
 *   than RUNTIME_SPEC_SIZE_MAX, checked with fstat() before a byte is read (a 100 MiB sparse
 *   file costs one fstat()).
 * - The end of a container: containerd deletes the bundle when the task is deleted, which the
 *   CRI plugin does when the container's process has exited, so its disappearance is recorded as
 *   the container finishing. CRI-O's directory lives until the container is removed: that is
 *   recorded as the removal. A container whose directory went while the daemon was down is
 *   ended at the scan (the time is the scan's: the true one is not known).
 * - A containerd container without CRI annotations (Docker's, in the moby namespace) is recorded
 *   only when no engine told the registry about it; it never overrides what an engine said.
 *   Podman's containers in CRI-O's storage (io.container.manager=libpod) are left to the Podman
 *   client.
 * - Bounded: RUNTIME_PENDING_MAX new containers awaited at once (more are counted as refused and
 *   caught by the next scan after a queue overflow), RUNTIME_NAMESPACES_MAX namespaces. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crio-inspect.h"
#include "log.h"
#include "macro.h"
#include "runtime-spec.h"
#include "runtime-state.h"

#define RUNTIME_READ_FIRST_USEC (50ULL * 1000) /* first retry of a config.json not there yet */
#define RUNTIME_INOTIFY_BUFFER (64 * 1024)

#define MASK_PARENT (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR)
#define MASK_ROOT_SELF (IN_DELETE_SELF | IN_MOVE_SELF)
#define MASK_INSIDE (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR)

typedef enum WatchKind {
        WATCH_ROOT,      /* containerd: the namespaces; CRI-O: the containers */
        WATCH_NAMESPACE, /* containerd: the containers of one namespace */
        WATCH_CONTAINER, /* a new container's directory, until its config.json is read */
        WATCH_USERDATA,  /* CRI-O: a new container's userdata directory, likewise */
} WatchKind;

typedef struct Watch {
        int wd;
        WatchKind kind;
        char *ns; /* containerd namespace; NULL for CRI-O */
        char *id; /* WATCH_CONTAINER / WATCH_USERDATA */
} Watch;

typedef struct Pending {
        char *ns, *id;
        unsigned tries;
        uint64_t due_usec; /* CLOCK_MONOTONIC */
        int last_error;
} Pending;

struct RuntimeState {
        sd_event *event;
        RuntimeKind kind;
        char *root; /* the directory holding the containers (containerd: their namespaces) */
        Registry *registry;
        RuntimeStats *stats;
        int inotify_fd;
        sd_event_source *inotify_source;
        Watch *watches;
        size_t n_watches, n_watches_allocated;
        Pending *pending;
        size_t n_pending, n_pending_allocated;
        sd_event_source *pending_timer;
        sd_event_source *retry_timer; /* the root is absent: look again */
        uint64_t retry_usec, retry_min_usec, retry_max_usec;
        uint64_t read_first_usec;
        CrioInspect *inspect;
        bool info_asked; /* CRI-O's /info, for its storage root, when the run root is absent */
};

static bool streq_ptr(const char *a, const char *b) {
        return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Room for need elements in *p (doubling); false on ENOMEM, *p untouched. */
static bool grow(void **p, size_t *allocated, size_t need, size_t size) {
        if (need <= *allocated)
                return true;
        size_t n = MAX(need, MAX(*allocated * 2, (size_t) 8));
        void *q = reallocarray(*p, n, size);
        if (!q)
                return false;
        *p = q;
        *allocated = n;
        return true;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(RuntimeState *, runtime_state_free);

static const char *const engine_names[_RUNTIME_KIND_MAX] = {
        [RUNTIME_CONTAINERD] = "containerd",
        [RUNTIME_CRIO] = "cri-o",
};

const char *runtime_kind_engine(RuntimeKind kind) {
        return kind >= 0 && kind < _RUNTIME_KIND_MAX ? engine_names[kind] : NULL;
}

const char *runtime_state_engine(const RuntimeState *s) {
        return s ? engine_names[s->kind] : NULL;
}

bool runtime_state_is_watching(const RuntimeState *s) {
        return s && s->inotify_fd >= 0;
}

static void set_state(RuntimeState *s, const char *state) {
        if (s->stats->state != state) {
                s->stats->state = state;
                s->stats->since_ms = now_realtime_ms();
        }
}

static void set_error(RuntimeState *s, const char *what, const char *id, int r) {
        s->stats->failures++;
        snprintf(s->stats->last_error, sizeof(s->stats->last_error), "%s%s%.64s: %s", what,
                 id ? " " : "", id ? id : "", strerror(r < 0 ? -r : r));
}

/* Names under the directories: container ids, and containerd namespaces (containerd's
 * identifiers: letters, digits, '.', '_', '-'), never "." or "..". */
static bool name_is_valid(const char *name) {
        return container_id_is_valid(name) && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* ---- watches ---- */

static Watch *watch_find(RuntimeState *s, int wd) {
        for (size_t i = 0; i < s->n_watches; i++)
                if (s->watches[i].wd == wd)
                        return &s->watches[i];
        return NULL;
}

static void watch_drop_at(RuntimeState *s, size_t i) {
        free(s->watches[i].ns);
        free(s->watches[i].id);
        s->watches[i] = s->watches[--s->n_watches];
}

static int watch_add(RuntimeState *s, int dirfd, const char *name, uint32_t mask, WatchKind kind,
                     const char *ns, const char *id) {
        char path[64];
        int wd;

        /* Through the directory's fd: the name the kernel resolves is the one checked. */
        if (dirfd >= 0)
                snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
        wd = inotify_add_watch(s->inotify_fd, dirfd >= 0 ? path : name, mask);
        if (wd < 0)
                return negative_errno();
        if (watch_find(s, wd))
                return 0; /* the same directory again (a rescan) */
        if (!grow((void **) &s->watches, &s->n_watches_allocated, s->n_watches + 1,
                  sizeof(*s->watches)))
                return -ENOMEM;
        Watch *w = &s->watches[s->n_watches];
        *w = (Watch){.wd = wd, .kind = kind};
        if ((ns && !(w->ns = strdup(ns))) || (id && !(w->id = strdup(id)))) {
                free(w->ns);
                return -ENOMEM;
        }
        s->n_watches++;
        return 0;
}

/* The watches inside a container's directory: not needed once its config.json is read. */
static void watch_drop_container(RuntimeState *s, const char *ns, const char *id) {
        for (size_t i = 0; i < s->n_watches;) {
                Watch *w = &s->watches[i];
                if ((w->kind == WATCH_CONTAINER || w->kind == WATCH_USERDATA) &&
                    strcmp(w->id, id) == 0 && streq_ptr(w->ns, ns)) {
                        (void) inotify_rm_watch(s->inotify_fd, w->wd);
                        watch_drop_at(s, i);
                } else
                        i++;
        }
}

/* ---- reading a config.json ---- */

static int open_dir_at(int dirfd, const char *name) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

/* The container's directory, as an fd. */
static int open_container_dir(RuntimeState *s, const char *ns, const char *id) {
        _cleanup_(closep) int root = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return negative_errno();
        if (!ns)
                return open_dir_at(root, id);
        _cleanup_(closep) int nsfd = open_dir_at(root, ns);
        if (nsfd < 0)
                return nsfd;
        return open_dir_at(nsfd, id);
}

/* Reads config.json of a container into a malloc'd buffer; its mtime in ms. -ENOENT when not
 * there (yet), -EFBIG when too large, -EBADMSG when not a regular file. */
static int read_config(RuntimeState *s, const char *ns, const char *id, char **ret, size_t *ret_len,
                       int64_t *ret_mtime_ms) {
        _cleanup_(closep) int dir = open_container_dir(s, ns, id);
        _cleanup_(closep) int userdata = -EBADF, fd = -EBADF;
        struct stat st;

        if (dir < 0)
                return dir;
        if (s->kind == RUNTIME_CRIO) {
                userdata = open_dir_at(dir, "userdata");
                if (userdata < 0)
                        return userdata;
        }
        fd = openat(userdata >= 0 ? userdata : dir, "config.json",
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        if (st.st_size > RUNTIME_SPEC_SIZE_MAX)
                return -EFBIG;
        size_t size = (size_t) st.st_size, len = 0;
        _cleanup_(freep) char *buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        /* One byte more than fstat() said: a file still growing is read again later. */
        while (len < size + 1) {
                ssize_t n = read(fd, buf + len, size + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > size)
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        *ret_mtime_ms = (int64_t) st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        return 0;
}

/* Records what a parsed document says. */
static int record(RuntimeState *s, ContainerInfo *c, int kind) {
        int r;

        if (kind == RUNTIME_SPEC_FOREIGN)
                return 0;
        if (kind == RUNTIME_SPEC_PLAIN) {
                if (s->kind == RUNTIME_CRIO)
                        return 0; /* not CRI-O's: Podman's or buildah's */
                const ContainerInfo *known = registry_get(s->registry, c->id);
                if (known && known->engine) {
                        /* An engine's (Docker's): what it said stands. */
                        free(c->engine);
                        c->engine = NULL;
                        if (known->has_mcs)
                                c->has_mcs = false;
                        free(c->label);
                        c->label = NULL;
                        c->created_ms = c->started_ms = 0; /* the engine's are exact */
                }
        }
        r = registry_update(s->registry, c);
        if (r < 0)
                return r;
        s->stats->containers++;
        return 0;
}

/* 1: done with this container (recorded or given up on), 0: try again later. */
static int try_read(RuntimeState *s, const char *ns, const char *id, bool last_try) {
        _cleanup_(freep) char *buf = NULL;
        _cleanup_(container_info_done) ContainerInfo c = {};
        size_t len = 0;
        int64_t mtime_ms = 0;
        int r, kind;

        r = read_config(s, ns, id, &buf, &len, &mtime_ms);
        if (r == -EFBIG) {
                s->stats->too_large++;
                log_debug("%s: config.json of %s is over %d bytes, skipped.", s->stats->name, id,
                          RUNTIME_SPEC_SIZE_MAX);
                return 1;
        }
        if (r == -ENOENT && !last_try)
                return 0;
        if (r == -ENOENT) {
                if (s->inspect && crio_inspect_queue(s->inspect, id) >= 0)
                        return 1;
                set_error(s, "no config.json for", id, r);
                return 1;
        }
        if (r == -EBADMSG) {
                s->stats->malformed++;
                return 1;
        }
        if (r < 0) {
                set_error(s, "reading config.json of", id, r);
                return 1;
        }
        kind = runtime_spec_parse(buf, len, id, engine_names[s->kind], &c);
        if (kind == -EBADMSG && !last_try)
                return 0; /* written as we read it: complete at the next IN_CLOSE_WRITE */
        if (kind == -EBADMSG || kind == -EINVAL) {
                s->stats->malformed++;
                log_debug("%s: config.json of %s is not an OCI spec, skipped.", s->stats->name, id);
                return 1;
        }
        if (kind == -EFBIG) {
                s->stats->too_large++;
                return 1;
        }
        if (kind < 0) {
                set_error(s, "parsing config.json of", id, kind);
                return 1;
        }
        if (c.created_ms == 0)
                c.created_ms = mtime_ms; /* written when the container was created */
        /* Both runtimes write config.json as they create the container's process (containerd:
         * the task's bundle, just before runc create; CRI-O: in CreateContainer, which runs the
         * runtime's create): its label is carried from then on. Without a start the registry
         * would take a container that ended for one that never ran, and no one's candidate. */
        if (c.started_ms == 0)
                c.started_ms = c.created_ms;
        r = record(s, &c, kind);
        if (r < 0)
                set_error(s, "recording", id, r);
        return 1;
}

/* ---- pending containers ---- */

static void pending_drop_at(RuntimeState *s, size_t i) {
        free(s->pending[i].ns);
        free(s->pending[i].id);
        s->pending[i] = s->pending[--s->n_pending];
}

static Pending *pending_find(RuntimeState *s, const char *ns, const char *id, size_t *ret_i) {
        for (size_t i = 0; i < s->n_pending; i++)
                if (strcmp(s->pending[i].id, id) == 0 && streq_ptr(s->pending[i].ns, ns)) {
                        if (ret_i)
                                *ret_i = i;
                        return &s->pending[i];
                }
        return NULL;
}

static int on_pending_timer(sd_event_source *source, uint64_t usec, void *userdata);

static void pending_arm(RuntimeState *s) {
        uint64_t due = UINT64_MAX;
        int r;

        for (size_t i = 0; i < s->n_pending; i++)
                due = MIN(due, s->pending[i].due_usec);
        if (due == UINT64_MAX) {
                if (s->pending_timer)
                        (void) sd_event_source_set_enabled(s->pending_timer, SD_EVENT_OFF);
                return;
        }
        if (!s->pending_timer) {
                r = sd_event_add_time(s->event, &s->pending_timer, CLOCK_MONOTONIC, due, 0,
                                      on_pending_timer, s);
                if (r < 0)
                        set_error(s, "arming a timer", NULL, r);
                return;
        }
        (void) sd_event_source_set_time(s->pending_timer, due);
        (void) sd_event_source_set_enabled(s->pending_timer, SD_EVENT_ONESHOT);
}

static void pending_done(RuntimeState *s, const char *ns, const char *id) {
        size_t i;
        watch_drop_container(s, ns, id);
        if (pending_find(s, ns, id, &i))
                pending_drop_at(s, i);
}

/* One attempt at a pending container; reschedules it or forgets it. */
static void pending_try(RuntimeState *s, size_t i) {
        Pending *p = &s->pending[i];
        bool last = p->tries + 1 >= RUNTIME_READ_TRIES;
        _cleanup_(freep) char *ns = p->ns ? strdup(p->ns) : NULL, *id = strdup(p->id);

        if (!id || (p->ns && !ns))
                return;
        if (try_read(s, ns, id, last) > 0) {
                pending_done(s, ns, id);
                return;
        }
        p = pending_find(s, ns, id, NULL);
        if (!p)
                return;
        p->due_usec = now_monotonic_usec() + (s->read_first_usec << MIN(p->tries, 16u));
        p->tries++;
}

static int on_pending_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        RuntimeState *s = userdata;
        uint64_t now = now_monotonic_usec();

        for (size_t i = 0; i < s->n_pending;) {
                size_t before = s->n_pending;
                if (s->pending[i].due_usec <= now)
                        pending_try(s, i);
                if (s->n_pending == before)
                        i++; /* still there (rescheduled), or not due */
        }
        pending_arm(s);
        return 0;
}

/* A container directory seen (scan or IN_CREATE): read at once when its config.json is there,
 * else watched and retried. */
static void container_seen(RuntimeState *s, int parent_fd, const char *ns, const char *id) {
        _cleanup_(closep) int dir = -EBADF;
        int r;

        if (!name_is_valid(id))
                return;
        if (pending_find(s, ns, id, NULL))
                return;
        if (try_read(s, ns, id, false) > 0)
                return;
        if (s->n_pending >= RUNTIME_PENDING_MAX) {
                s->stats->refused++;
                return;
        }
        if (!grow((void **) &s->pending, &s->n_pending_allocated, s->n_pending + 1,
                  sizeof(*s->pending)))
                return (void) set_error(s, "following", id, -ENOMEM);
        Pending *p = &s->pending[s->n_pending];
        *p = (Pending){.due_usec = now_monotonic_usec() + s->read_first_usec, .tries = 1};
        if ((ns && !(p->ns = strdup(ns))) || !(p->id = strdup(id))) {
                free(p->ns);
                return (void) set_error(s, "following", id, -ENOMEM);
        }
        s->n_pending++;

        dir = openat(parent_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir >= 0) {
                r = watch_add(s, dir, NULL, MASK_INSIDE, WATCH_CONTAINER, ns, id);
                if (r < 0)
                        set_error(s, "watching", id, r);
                if (s->kind == RUNTIME_CRIO) {
                        _cleanup_(closep) int ud = open_dir_at(dir, "userdata");
                        if (ud >= 0)
                                (void) watch_add(s, ud, NULL, MASK_INSIDE, WATCH_USERDATA, ns, id);
                }
        }
        /* The file may have been written between the first try and the watch. */
        size_t i;
        if (pending_find(s, ns, id, &i))
                pending_try(s, i);
        pending_arm(s);
}

/* A container directory gone: the container ended (containerd) or was removed (CRI-O). */
static void container_gone(RuntimeState *s, const char *ns, const char *id) {
        int r;

        if (!name_is_valid(id))
                return;
        pending_done(s, ns, id);
        pending_arm(s);
        const ContainerInfo *c = registry_get(s->registry, id);
        if (!c || !streq_ptr(c->engine, engine_names[s->kind]))
                return; /* an engine's (Docker's moby tasks): its events say when it ended */
        int64_t now = now_realtime_ms();
        r = s->kind == RUNTIME_CRIO ? registry_mark_removed(s->registry, id, now)
                                    : registry_mark_finished(s->registry, id, now);
        if (r < 0 && r != -ENOENT)
                set_error(s, "recording the end of", id, r);
        else
                s->stats->ended++;
}

/* ---- scans ---- */

typedef struct Seen {
        char **ids;
        size_t n, allocated;
} Seen;

static void seen_done(Seen *x) {
        for (size_t i = 0; i < x->n; i++)
                free(x->ids[i]);
        free(x->ids);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The containers of one directory (CRI-O's root, or one containerd namespace). */
static int scan_containers(RuntimeState *s, int dirfd, const char *ns, Seen *seen) {
        _cleanup_(closep) int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        int keep = TAKE_FD(fd);
        (void) keep;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (!name_is_valid(de->d_name))
                        continue;
                if (seen &&
                    grow((void **) &seen->ids, &seen->allocated, seen->n + 1, sizeof(*seen->ids))) {
                        seen->ids[seen->n] = strdup(de->d_name);
                        if (seen->ids[seen->n])
                                seen->n++;
                }
                container_seen(s, dirfd, ns, de->d_name);
        }
        closedir(d);
        return 0;
}

static int watch_namespace(RuntimeState *s, int rootfd, const char *ns, Seen *seen) {
        _cleanup_(closep) int nsfd = open_dir_at(rootfd, ns);
        int r;

        if (nsfd < 0)
                return nsfd;
        size_t namespaces = 0;
        for (size_t i = 0; i < s->n_watches; i++)
                namespaces += s->watches[i].kind == WATCH_NAMESPACE;
        if (namespaces >= RUNTIME_NAMESPACES_MAX) {
                s->stats->refused++;
                return -EXFULL;
        }
        r = watch_add(s, nsfd, NULL, MASK_PARENT, WATCH_NAMESPACE, ns, NULL);
        if (r < 0)
                return r;
        return scan_containers(s, nsfd, ns, seen);
}

typedef struct Ended {
        const char *engine;
        Seen *seen;
        char **ids;
        size_t n, allocated;
} Ended;

static int collect_ended(const ContainerInfo *c, void *userdata) {
        Ended *x = userdata;
        if (!streq_ptr(c->engine, x->engine) || c->removed_ms > 0 ||
            (c->state == CONTAINER_STATE_EXITED && c->finished_ms > 0))
                return 0;
        /* Only what this module recorded: the /proc scan names containerd and CRI-O containers
         * too, from cgroups that may belong to another instance of the runtime. */
        if (!c->pod_uid && !c->sandbox_id)
                return 0;
        /* (ids is NULL when nothing was seen: bsearch() and qsort() must not get it) */
        if (x->seen->n > 0 &&
            bsearch(&c->id, x->seen->ids, x->seen->n, sizeof(char *), compare_strings))
                return 0;
        if (!grow((void **) &x->ids, &x->allocated, x->n + 1, sizeof(*x->ids)))
                return -ENOMEM;
        x->ids[x->n] = strdup(c->id);
        if (!x->ids[x->n])
                return -ENOMEM;
        x->n++;
        return 0;
}

/* Containers the registry thinks alive whose directory went while nobody watched. */
static void reconcile(RuntimeState *s, Seen *seen) {
        Ended x = {.engine = engine_names[s->kind], .seen = seen};
        int64_t now = now_realtime_ms();
        int r;

        if (seen->n > 0)
                qsort(seen->ids, seen->n, sizeof(char *), compare_strings);
        r = registry_foreach(s->registry, collect_ended, &x);
        if (r < 0)
                set_error(s, "reconciling", NULL, r);
        (void) registry_batch_begin(s->registry);
        for (size_t i = 0; i < x.n; i++) {
                r = s->kind == RUNTIME_CRIO ? registry_mark_removed(s->registry, x.ids[i], now)
                                            : registry_mark_finished(s->registry, x.ids[i], now);
                if (r >= 0)
                        s->stats->ended++;
                free(x.ids[i]);
        }
        (void) registry_batch_end(s->registry);
        free(x.ids);
}

/* Everything under the root, watched; then the containers that went meanwhile ended. */
static int scan_root(RuntimeState *s) {
        _cleanup_(closep) int rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(seen_done) Seen seen = {};
        int r;

        if (rootfd < 0)
                return negative_errno();
        if (s->kind == RUNTIME_CRIO)
                r = scan_containers(s, rootfd, NULL, &seen);
        else {
                _cleanup_(closep) int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
                DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
                struct dirent *de;
                if (!d)
                        return negative_errno();
                TAKE_FD(fd);
                while ((de = readdir(d)))
                        if ((de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) &&
                            name_is_valid(de->d_name)) {
                                r = watch_namespace(s, rootfd, de->d_name, &seen);
                                if (r < 0 && r != -ENOTDIR && r != -ENOENT)
                                        set_error(s, "watching namespace", de->d_name, r);
                        }
                closedir(d);
                r = 0;
        }
        if (r >= 0)
                reconcile(s, &seen);
        return r;
}

/* ---- the root: watched, or looked for ---- */

static int on_inotify(sd_event_source *source, int fd, uint32_t revents, void *userdata);
static void root_lost(RuntimeState *s);

static int root_watch(RuntimeState *s) {
        int r;

        s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (s->inotify_fd < 0)
                return negative_errno();
        r = watch_add(s, -EBADF, s->root, MASK_PARENT | MASK_ROOT_SELF, WATCH_ROOT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_io(s->event, &s->inotify_source, s->inotify_fd, EPOLLIN,
                                    on_inotify, s);
        if (r >= 0)
                r = scan_root(s);
        if (r < 0) {
                root_lost(s);
                return r;
        }
        set_state(s, "watching");
        s->retry_usec = 0;
        log_info("Watching %s's containers in %s.", engine_names[s->kind], s->root);
        return 0;
}

static int on_retry(sd_event_source *source, uint64_t usec, void *userdata);

static void root_schedule_retry(RuntimeState *s) {
        int r;

        s->retry_usec =
                s->retry_usec == 0 ? s->retry_min_usec : MIN(s->retry_usec * 2, s->retry_max_usec);
        s->retry_timer = sd_event_source_disable_unref(s->retry_timer);
        r = sd_event_add_time_relative(s->event, &s->retry_timer, CLOCK_MONOTONIC, s->retry_usec, 0,
                                       on_retry, s);
        if (r < 0)
                set_error(s, "arming a timer", NULL, r);
}

/* Everything watched is forgotten (the root went, or the queue overflowed). */
static void root_lost(RuntimeState *s) {
        s->inotify_source = sd_event_source_disable_unref(s->inotify_source);
        if (s->inotify_fd >= 0)
                (void) close(s->inotify_fd);
        s->inotify_fd = -EBADF;
        while (s->n_watches > 0)
                watch_drop_at(s, s->n_watches - 1);
        while (s->n_pending > 0)
                pending_drop_at(s, s->n_pending - 1);
        pending_arm(s);
}

static void root_try(RuntimeState *s) {
        int r = root_watch(s);
        if (r >= 0)
                return;
        if (r != -ENOENT && r != -ENOTDIR)
                set_error(s, "watching", s->root, r);
        else if (s->stats->state != (const char *) "absent")
                log_info("%s: %s is absent; looking for it in the background.",
                         engine_names[s->kind], s->root);
        set_state(s, "absent");
        /* Not where crio.conf's default puts it: CRI-O itself may say where its storage is. */
        if (s->inspect && !s->info_asked && (r == -ENOENT || r == -ENOTDIR)) {
                s->info_asked = true;
                (void) crio_inspect_queue(s->inspect, "");
        }
        root_schedule_retry(s);
}

static int on_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        RuntimeState *s = userdata;
        s->retry_timer = sd_event_source_disable_unref(s->retry_timer);
        root_try(s);
        return 0;
}

/* ---- inotify events ---- */

static void handle_event(RuntimeState *s, const struct inotify_event *ev) {
        Watch *w = watch_find(s, ev->wd);
        const char *name = ev->len > 0 ? ev->name : NULL;

        if (!w)
                return;
        if (ev->mask & IN_IGNORED) {
                bool root = w->kind == WATCH_ROOT;
                watch_drop_at(s, (size_t) (w - s->watches));
                if (root) {
                        root_lost(s);
                        root_try(s);
                }
                return;
        }
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
                if (w->kind == WATCH_ROOT) {
                        root_lost(s);
                        root_try(s);
                }
                return;
        }
        if (!name)
                return;

        bool dir = ev->mask & IN_ISDIR;
        bool created = ev->mask & (IN_CREATE | IN_MOVED_TO);
        bool gone = ev->mask & (IN_DELETE | IN_MOVED_FROM);
        switch (w->kind) {
        case WATCH_ROOT:
        case WATCH_NAMESPACE: {
                bool containers = w->kind == WATCH_NAMESPACE || s->kind == RUNTIME_CRIO;
                if (!dir || !name_is_valid(name))
                        return;
                _cleanup_(freep) char *ns = w->ns ? strdup(w->ns) : NULL;
                if (w->ns && !ns)
                        return;
                if (containers && created) {
                        _cleanup_(closep) int parent = -EBADF;
                        _cleanup_(closep) int rootfd =
                                open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (rootfd < 0)
                                return;
                        parent = ns ? open_dir_at(rootfd, ns) : fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
                        if (parent >= 0)
                                container_seen(s, parent, ns, name);
                } else if (containers && gone)
                        container_gone(s, ns, name);
                else if (!containers && created) {
                        _cleanup_(closep) int rootfd =
                                open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        int r = rootfd < 0 ? negative_errno()
                                           : watch_namespace(s, rootfd, name, NULL);
                        if (r < 0 && r != -ENOENT)
                                set_error(s, "watching namespace", name, r);
                }
                return;
        }
        case WATCH_CONTAINER:
        case WATCH_USERDATA: {
                _cleanup_(freep) char *ns = w->ns ? strdup(w->ns) : NULL, *id = strdup(w->id);
                if (!id || (w->ns && !ns))
                        return;
                if (w->kind == WATCH_CONTAINER && s->kind == RUNTIME_CRIO && dir && created &&
                    strcmp(name, "userdata") == 0) {
                        _cleanup_(closep) int cdir = open_container_dir(s, ns, id);
                        _cleanup_(closep) int ud = cdir >= 0 ? open_dir_at(cdir, "userdata") : -1;
                        if (ud >= 0)
                                (void) watch_add(s, ud, NULL, MASK_INSIDE, WATCH_USERDATA, ns, id);
                } else if (dir || strcmp(name, "config.json") != 0 ||
                           !(ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
                        return;
                size_t i;
                if (pending_find(s, ns, id, &i))
                        pending_try(s, i);
                pending_arm(s);
                return;
        }
        }
}

static int on_inotify(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        RuntimeState *s = userdata;
        _Alignas(struct inotify_event) char buf[RUNTIME_INOTIFY_BUFFER];
        bool overflow = false;

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                set_error(s, "reading inotify events", NULL, negative_errno());
                        break;
                }
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                overflow = true;
                                continue;
                        }
                        handle_event(s, ev);
                        if (s->inotify_fd != fd)
                                return 0; /* the root went: everything was set up anew */
                }
        }
        if (overflow) {
                /* Events were lost: start again from a scan, which misses nothing that is there
                 * and ends what went. */
                log_warning("%s: the inotify queue overflowed; scanning %s again.",
                            engine_names[s->kind], s->root);
                root_lost(s);
                root_try(s);
        }
        return 0;
}

/* ---- CRI-O's inspect ---- */

static void root_try(RuntimeState *s);

/* CRI-O's /info answered while its run root is absent: its storage (graph) root holds the same
 * overlay-containers/<id>/userdata/config.json, written beside the run root's copy. */
static void on_info(RuntimeState *s, const char *body, size_t len, int error) {
        _cleanup_(freep) char *storage_root = NULL, *root = NULL;
        int r;

        if (error < 0) {
                set_error(s, "asking /info", NULL, error);
                return;
        }
        r = runtime_crio_info_parse(body, len, &storage_root);
        if (r < 0 || !storage_root) {
                s->stats->malformed++;
                return;
        }
        if (runtime_state_is_watching(s) ||
            asprintf(&root, "%s/%s", storage_root, RUNTIME_CRIO_CONTAINERS_DIR) < 0)
                return;
        log_info("cri-o: %s is absent; its API names the storage root %s: watching %s.", s->root,
                 storage_root, root);
        free(s->root);
        s->root = TAKE_PTR(root);
        snprintf(s->stats->directory, sizeof(s->stats->directory), "%s", s->root);
        s->retry_timer = sd_event_source_disable_unref(s->retry_timer);
        s->retry_usec = 0;
        root_try(s);
}

static void on_inspect(const char *id, const char *body, size_t len, int error, void *userdata) {
        RuntimeState *s = userdata;
        _cleanup_(container_info_done) ContainerInfo c = {};
        int r;

        if (!id[0]) {
                on_info(s, body, len, error);
                return;
        }
        if (error < 0) {
                set_error(s, "inspecting", id, error);
                return;
        }
        r = runtime_crio_inspect_parse(body, len, id, &c);
        if (r < 0) {
                if (r == -EFBIG)
                        s->stats->too_large++;
                else
                        s->stats->malformed++;
                return;
        }
        s->stats->inspects++;
        if (c.started_ms == 0)
                c.started_ms = c.created_ms; /* as for config.json (try_read()) */
        r = record(s, &c, r);
        if (r < 0)
                set_error(s, "recording", id, r);
}

/* ---- life ---- */

void runtime_stats_disabled(RuntimeStats *stats, RuntimeKind kind) {
        *stats = (RuntimeStats){.state = "disabled"};
        snprintf(stats->name, sizeof(stats->name), "%s", runtime_kind_engine(kind));
}

int runtime_state_new(sd_event *event, RuntimeKind kind, const char *directory,
                      const char *crio_socket, Registry *registry, RuntimeStats *stats,
                      RuntimeState **ret) {
        _cleanup_(runtime_state_freep) RuntimeState *s = NULL;
        int r;

        if (!event || kind < 0 || kind >= _RUNTIME_KIND_MAX || !directory || !registry || !stats ||
            !ret)
                return -EINVAL;
        s = calloc(1, sizeof(RuntimeState));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->kind = kind;
        s->registry = registry;
        s->stats = stats;
        s->inotify_fd = -EBADF;
        s->retry_min_usec = RUNTIME_RETRY_MIN_USEC;
        s->retry_max_usec = RUNTIME_RETRY_MAX_USEC;
        s->read_first_usec = RUNTIME_READ_FIRST_USEC;
        if (asprintf(&s->root, "%s/%s", directory,
                     kind == RUNTIME_CRIO ? RUNTIME_CRIO_CONTAINERS_DIR
                                          : RUNTIME_CONTAINERD_TASK_DIR) < 0) {
                s->root = NULL;
                return -ENOMEM;
        }
        *stats = (RuntimeStats){.state = "absent", .since_ms = now_realtime_ms()};
        snprintf(stats->name, sizeof(stats->name), "%s", engine_names[kind]);
        snprintf(stats->directory, sizeof(stats->directory), "%s", s->root);
        if (crio_socket && kind == RUNTIME_CRIO) {
                r = crio_inspect_new(event, crio_socket, on_inspect, s, &s->inspect);
                if (r < 0)
                        return r;
        }
        root_try(s);
        *ret = TAKE_PTR(s);
        return 0;
}

RuntimeState *runtime_state_free(RuntimeState *s) {
        if (!s)
                return NULL;
        root_lost(s);
        s->pending_timer = sd_event_source_disable_unref(s->pending_timer);
        s->retry_timer = sd_event_source_disable_unref(s->retry_timer);
        s->inspect = crio_inspect_free(s->inspect);
        free(s->watches);
        free(s->pending);
        free(s->root);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void runtime_state_set_retry_usec(RuntimeState *s, uint64_t min_usec, uint64_t max_usec,
                                  uint64_t read_first_usec) {
        if (!s)
                return;
        s->read_first_usec = read_first_usec;
        s->retry_min_usec = min_usec;
        s->retry_max_usec = max_usec;
        s->retry_usec = 0;
}
