/* SPDX-License-Identifier: MIT */
/* The metrics endpoint's transport and its snapshot of the store (metrics.h).
 *
 * Direction: the manager starts it; it reads Stats and asks the store (store_top, store_counts);
 * the text is metrics-text.c's.
 *
 * Decisions:
 * - One request per connection, answered and closed: a scraper opens one connection per scrape
 *   anyway, and no keep-alive means no idle connection worth keeping. A connection lives at most
 *   METRICS_REQUEST_USEC before its request is complete, METRICS_STALL_USEC while its answer is
 *   not read; when all METRICS_CONNECTIONS_MAX are taken, the oldest one is closed for the
 *   newcomer, so a thousand idle connections cost 64 slots and keep no scraper out.
 * - A scrape must not hold the loop: the store's part (the top N containers, images and
 *   namespaces, the classes, the triage cells, the database size) is asked at most once per
 *   METRICS_CACHE_USEC; the daemon's own counters are read at each scrape (they are memory). */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "metrics-text.h"
#include "metrics.h"

#define METRICS_ACCEPTS_PER_WAKE 16

typedef struct MetricsConnection MetricsConnection;
struct MetricsConnection {
        MetricsServer *server;
        MetricsConnection *prev, *next; /* oldest first */
        int fd;
        sd_event_source *io, *timer;
        char request[METRICS_REQUEST_MAX];
        size_t n_request;
        char *out;
        size_t out_start, out_end;
        bool answered;
};

struct MetricsServer {
        sd_event *event;
        sd_event_source *listen_source;
        int listen_fd;
        char *socket_path; /* a Unix socket we created: unlinked at the end */
        Store *store;
        const Stats *stats;
        unsigned top_n;
        char *avc_cache_path;
        MetricsConnection *first, *last;
        unsigned n_connections;
        /* The store's part of the snapshot, and when it was asked (0: never). */
        MetricsSnapshot cached;
        uint64_t cached_usec;
};

int metrics_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage ss = {};
        char host[64];
        const char *colon;
        char *end;

        if (!s || !*s)
                return -EINVAL;
        if (s[0] == '/') {
                struct sockaddr_un *un = (struct sockaddr_un *) &ss;
                if (strlen(s) >= sizeof(un->sun_path))
                        return -EINVAL;
                un->sun_family = AF_UNIX;
                strcpy(un->sun_path, s);
                *ret = ss;
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(s) + 1);
                return 0;
        }
        colon = strrchr(s, ':');
        if (!colon || colon == s || (size_t) (colon - s) >= sizeof(host))
                return -EINVAL;
        errno = 0;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (errno != 0 || *end != 0 || end == colon + 1 || port == 0 || port > 65535)
                return -EINVAL;
        memcpy(host, s, (size_t) (colon - s));
        host[colon - s] = 0;
        if (host[0] == '[') {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                size_t n = strlen(host);
                if (n < 3 || host[n - 1] != ']')
                        return -EINVAL;
                host[n - 1] = 0;
                if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
                        return -EINVAL;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                *ret_len = sizeof(*in6);
        } else {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
                        return -EINVAL;
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                *ret_len = sizeof(*in);
        }
        *ret = ss;
        return 0;
}

void metrics_server_set_avc_cache_path(MetricsServer *m, const char *path) {
        char *p = strdup(path);
        if (!p)
                return;
        free(m->avc_cache_path);
        m->avc_cache_path = p;
}

static uint64_t metrics_now(MetricsServer *m) {
        uint64_t now = 0;
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        return now;
}

static void connection_free(MetricsConnection *c) {
        if (!c)
                return;
        MetricsServer *m = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else
                m->first = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else
                m->last = c->prev;
        m->n_connections--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                close(c->fd);
        free(c->out);
        free(c);
}

/* ---- the snapshot ---- */

typedef struct GroupsCollect {
        MetricsGroups *groups;
        bool containers;
        uint64_t listed;
        int error;
} GroupsCollect;

static char *strdup_or_null(const char *s, int *error) {
        if (!s)
                return NULL;
        char *p = strdup(s);
        if (!p)
                *error = -ENOMEM;
        return p;
}

static int groups_add(const StoreTopRow *row, void *userdata) {
        GroupsCollect *g = userdata;
        MetricsGroups *gr = g->groups;

        g->listed += row->count;
        if (g->containers && !row->has_container) {
                /* an MCS label, never a label of ours */
                gr->unattributed += row->count;
                return 0;
        }
        MetricsGroup *n = realloc(gr->groups, (gr->n + 1) * sizeof(MetricsGroup));
        if (!n)
                return g->error = -ENOMEM;
        gr->groups = n;
        MetricsGroup *x = &gr->groups[gr->n++];
        *x = (MetricsGroup){.count = row->count};
        if (g->containers) {
                x->name = strdup_or_null(
                        row->container.name ? row->container.name : row->container.id, &g->error);
                x->image = strdup_or_null(row->container.image ? row->container.image : row->image,
                                          &g->error);
        } else
                x->name = strdup_or_null(row->tclass ? row->tclass : row->image, &g->error);
        return g->error;
}

static int groups_load(Store *store, StoreTopBy by, unsigned limit, MetricsGroups *ret,
                       uint64_t *ret_listed) {
        DenialFilter filter = {};
        GroupsCollect g = {.groups = ret, .containers = by == STORE_TOP_CONTAINER};
        int r = store_top(store, &filter, by, false, limit, groups_add, &g);
        if (r >= 0 && g.error < 0)
                r = g.error;
        *ret_listed = g.listed;
        return r;
}

static int namespaces_add(const char *name, uint64_t count, uint64_t all, void *userdata) {
        GroupsCollect *g = userdata;
        MetricsGroups *gr = g->groups;

        g->listed = all; /* the namespaced denials, for "(other)" */
        MetricsGroup *n = realloc(gr->groups, (gr->n + 1) * sizeof(MetricsGroup));
        if (!n)
                return g->error = -ENOMEM;
        gr->groups = n;
        gr->groups[gr->n++] =
                (MetricsGroup){.name = strdup_or_null(name, &g->error), .count = count};
        return g->error;
}

static int triage_add(const char *verdict, const char *reason, uint64_t count, void *userdata) {
        MetricsSnapshot *s = userdata;

        if (s->n_triage >= METRICS_TRIAGE_MAX)
                return 0; /* the table holds no more cells than these; a foreign row */
        s->triage[s->n_triage++] = (MetricsTriage){verdict, reason, count};
        return 0;
}

/* The namespaces (top N, "(other)", "(unknown)") and the triage cells, from their aggregates. */
static int namespaces_and_triage_load(Store *store, unsigned limit, MetricsSnapshot *s) {
        GroupsCollect g = {.groups = &s->namespaces};
        int r = store_namespace_counts(store, limit, namespaces_add, &g);
        if (r >= 0 && g.error < 0)
                r = g.error;
        if (r < 0)
                return r;
        s->namespaces.unattributed = s->denials > g.listed ? s->denials - g.listed : 0;
        s->namespaces.other = g.listed;
        for (size_t i = 0; i < s->namespaces.n; i++)
                s->namespaces.other -= MIN(s->namespaces.other, s->namespaces.groups[i].count);
        return store_triage_counts(store, triage_add, s);
}

static void snapshot_store_done(MetricsSnapshot *s) {
        metrics_groups_done(&s->namespaces);
        metrics_groups_done(&s->containers);
        metrics_groups_done(&s->images);
        metrics_groups_done(&s->tclasses);
}

/* The store's part: every METRICS_CACHE_USEC at most. On failure the last one is kept. */
static void metrics_refresh(MetricsServer *m) {
        MetricsSnapshot s = {};
        StoreCounts counts;
        uint64_t listed_classes, listed_containers, listed_images;
        uint64_t now = metrics_now(m);
        int r;

        if (m->cached_usec > 0 && now < m->cached_usec + METRICS_CACHE_USEC)
                return;
        r = groups_load(m->store, STORE_TOP_TCLASS, STORE_TOP_MAX, &s.tclasses, &listed_classes);
        if (r >= 0)
                r = groups_load(m->store, STORE_TOP_CONTAINER, m->top_n, &s.containers,
                                &listed_containers);
        if (r >= 0)
                r = groups_load(m->store, STORE_TOP_IMAGE, m->top_n, &s.images, &listed_images);
        if (r < 0) {
                log_warning_errno(r, "Metrics: the store's counts are not available: %m");
                snapshot_store_done(&s);
                m->cached_usec = now; /* not again at once */
                return;
        }
        /* The classes are few (the policy's), all listed: their sum is the total. */
        s.denials = listed_classes;
        s.containers.other = s.denials > listed_containers ? s.denials - listed_containers : 0;
        s.images.other = s.denials > listed_images ? s.denials - listed_images : 0;
        r = namespaces_and_triage_load(m->store, m->top_n, &s);
        if (r < 0) {
                log_warning_errno(r, "Metrics: the store's counts are not available: %m");
                snapshot_store_done(&s);
                m->cached_usec = now;
                return;
        }
        if (store_counts(m->store, &counts) >= 0) {
                s.has_db_bytes = true;
                s.db_bytes = counts.db_bytes;
        }
        snapshot_store_done(&m->cached);
        m->cached = s;
        m->cached_usec = now;
}

static int metrics_text(MetricsServer *m, char **ret, size_t *ret_len) {
        MetricsSnapshot s;

        metrics_refresh(m);
        s = m->cached;
        s.stats = m->stats;
        s.version = AVCWATCH_VERSION;
        /* A small file of the kernel's; absent without SELinux: skipped quietly. */
        int fd = open(m->avc_cache_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0) {
                char buf[64 * 1024];
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n > 0) {
                        buf[n] = 0;
                        s.has_avc_cache = avc_cache_stats_parse(buf, &s.avc_cache) >= 0;
                }
        }
        return metrics_render(&s, ret, ret_len);
}

/* ---- HTTP ---- */

static void connection_rearm(MetricsConnection *c, uint64_t deadline) {
        (void) sd_event_source_set_time(c->timer, deadline);
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

/* Writes what the socket takes. Returns true when the connection is done with (all sent, or the
 * peer gone). */
static bool connection_flush(MetricsConnection *c) {
        while (c->out_start < c->out_end) {
                ssize_t k = send(c->fd, c->out + c->out_start, c->out_end - c->out_start,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno != EAGAIN;
                }
                c->out_start += (size_t) k;
                connection_rearm(c, metrics_now(c->server) + METRICS_STALL_USEC);
        }
        return true;
}

/* Queues the answer and stops reading: one request per connection. */
static void connection_answer(MetricsConnection *c, const char *status, const char *type,
                              const char *extra, const char *body, size_t body_len) {
        char *head = NULL;
        int n = asprintf(&head,
                         "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                         "Connection: close\r\n\r\n",
                         status, type, body_len, extra ? extra : "");
        c->answered = true;
        if (n < 0)
                return;
        c->out = malloc((size_t) n + body_len);
        if (!c->out) {
                free(head);
                return;
        }
        memcpy(c->out, head, (size_t) n);
        if (body_len > 0)
                memcpy(c->out + n, body, body_len);
        free(head);
        c->out_start = 0;
        c->out_end = (size_t) n + body_len;
        (void) shutdown(c->fd, SHUT_RD);
        (void) sd_event_source_set_io_events(c->io, EPOLLOUT);
        connection_rearm(c, metrics_now(c->server) + METRICS_STALL_USEC);
}

static void connection_error(MetricsConnection *c, const char *status, const char *extra) {
        char body[128];
        int n = snprintf(body, sizeof(body), "%s\n", status);
        connection_answer(c, status, "text/plain; charset=utf-8", extra, body, (size_t) n);
}

/* The request line and headers are all in; only the request line matters. */
static void connection_handle(MetricsConnection *c) {
        const char *line = c->request, *eol = strpbrk(line, "\r\n");
        const char *sp1 = memchr(line, ' ', (size_t) (eol - line));
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t) (eol - sp1 - 1)) : NULL;

        if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
                connection_error(c, "400 Bad Request", NULL);
                return;
        }
        size_t path_len = (size_t) (sp2 - sp1 - 1);
        const char *path = sp1 + 1;
        /* a query string is allowed (Prometheus sends none, curl users may) */
        size_t bare = strcspn(path, "?");
        bool is_metrics = MIN(bare, path_len) == 8 && strncmp(path, "/metrics", 8) == 0;

        if (!is_metrics) {
                connection_error(c, "404 Not Found", NULL);
                return;
        }
        if (sp1 - line != 3 || strncmp(line, "GET", 3) != 0) {
                connection_error(c, "405 Method Not Allowed", "Allow: GET\r\n");
                return;
        }
        _cleanup_(freep) char *text = NULL;
        size_t len = 0;
        if (metrics_text(c->server, &text, &len) < 0) {
                connection_error(c, "500 Internal Server Error", NULL);
                return;
        }
        connection_answer(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", NULL, text, len);
}

static int on_connection_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        MetricsConnection *c = userdata;
        (void) es;

        if (c->answered) {
                if (connection_flush(c))
                        connection_free(c);
                return 0;
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t n = recv(fd, c->request + c->n_request,
                                 sizeof(c->request) - 1 - c->n_request, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                if (n <= 0) {
                        connection_free(c);
                        return 0;
                }
                c->n_request += (size_t) n;
                c->request[c->n_request] = 0;
                if (memchr(c->request, 0, c->n_request)) {
                        connection_error(c, "400 Bad Request", NULL);
                        goto flush;
                }
                if (strstr(c->request, "\r\n\r\n") || strstr(c->request, "\n\n"))
                        connection_handle(c);
                else if (c->n_request >= sizeof(c->request) - 1)
                        connection_error(c,
                                         strpbrk(c->request, "\r\n")
                                                 ? "431 Request Header Fields Too Large"
                                                 : "414 URI Too Long",
                                         NULL);
        }
flush:
        if (c->answered && connection_flush(c))
                connection_free(c);
        return 0;
}

static int on_connection_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        (void) es;
        (void) usec;
        connection_free(userdata); /* a request not complete, or an answer not read, in time */
        return 0;
}

static int on_listen(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        MetricsServer *m = userdata;
        (void) es;
        (void) revents;

        for (unsigned i = 0; i < METRICS_ACCEPTS_PER_WAKE; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                        break;
                if (m->n_connections >= METRICS_CONNECTIONS_MAX)
                        connection_free(m->first); /* the oldest goes for the newcomer */
                MetricsConnection *c = calloc(1, sizeof(MetricsConnection));
                if (!c) {
                        close(cfd);
                        break;
                }
                c->server = m;
                c->fd = cfd;
                c->prev = m->last;
                if (m->last)
                        m->last->next = c;
                else
                        m->first = c;
                m->last = c;
                m->n_connections++;
                if (sd_event_add_io(m->event, &c->io, cfd, EPOLLIN, on_connection_io, c) < 0 ||
                    sd_event_add_time(m->event, &c->timer, CLOCK_MONOTONIC,
                                      metrics_now(m) + METRICS_REQUEST_USEC, 0, on_connection_timer,
                                      c) < 0) {
                        connection_free(c);
                        continue;
                }
        }
        return 0;
}

static int metrics_bind(MetricsServer *m, const char *address) {
        struct sockaddr_storage ss;
        socklen_t len;
        int fd, r;

        r = metrics_parse_listen(address, &ss, &len);
        if (r < 0)
                return r;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (ss.ss_family == AF_UNIX) {
                const char *path = ((struct sockaddr_un *) &ss)->sun_path;
                struct stat st;
                /* a stale socket of ours is replaced; anything else is not ours to remove */
                if (lstat(path, &st) == 0) {
                        if (!S_ISSOCK(st.st_mode)) {
                                close(fd);
                                return -EEXIST;
                        }
                        (void) unlink(path);
                }
                m->socket_path = strdup(path);
                if (!m->socket_path) {
                        close(fd);
                        return -ENOMEM;
                }
        } else
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || listen(fd, 128) < 0) {
                r = -errno;
                close(fd);
                free(m->socket_path);
                m->socket_path = NULL;
                return r;
        }
        if (m->socket_path)
                (void) chmod(m->socket_path, 0660);
        m->listen_fd = fd;
        return 0;
}

int metrics_server_new(sd_event *e, int listen_fd, const char *address, Store *store,
                       const Stats *stats, unsigned top_n, MetricsServer **ret) {
        MetricsServer *m = calloc(1, sizeof(MetricsServer));
        int r;

        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->listen_fd = -EBADF;
        m->store = store;
        m->stats = stats;
        m->top_n = top_n > 0 ? MIN(top_n, STORE_TOP_MAX) : METRICS_TOP_DEFAULT;
        m->avc_cache_path = strdup(METRICS_AVC_CACHE_STATS);
        if (!m->avc_cache_path) {
                metrics_server_free(m);
                return -ENOMEM;
        }
        if (listen_fd >= 0) {
                (void) fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
                m->listen_fd = listen_fd;
        } else {
                r = metrics_bind(m, address);
                if (r < 0) {
                        metrics_server_free(m);
                        return r;
                }
        }
        r = sd_event_add_io(e, &m->listen_source, m->listen_fd, EPOLLIN, on_listen, m);
        if (r < 0) {
                if (listen_fd >= 0)
                        m->listen_fd = -EBADF; /* the caller still owns it */
                metrics_server_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

MetricsServer *metrics_server_free(MetricsServer *m) {
        if (!m)
                return NULL;
        while (m->first)
                connection_free(m->first);
        sd_event_source_disable_unref(m->listen_source);
        if (m->listen_fd >= 0)
                close(m->listen_fd);
        if (m->socket_path)
                (void) unlink(m->socket_path);
        free(m->socket_path);
        free(m->avc_cache_path);
        snapshot_store_done(&m->cached);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}
