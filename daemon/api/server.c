/* SPDX-License-Identifier: MIT */
/* The API server: Varlink (https://varlink.org) over an AF_UNIX stream socket, on the daemon's
 * sd-event loop. Interfaces org.varlink.service (GetInfo, GetInterfaceDescription) and io.avcwatch
 * (Query, Tail, Stats, Containers; daemon/api/io.avcwatch.varlink).
 *
 * Decisions:
 * - Access is decided once, at accept, from the kernel's view of the peer (SO_PEERCRED and
 *   SO_PEERGROUPS), never from anything the client says. A peer that is not allowed keeps its
 *   connection just long enough to be told io.avcwatch.AccessDenied for each request it sent,
 *   then it is closed; it never sees data.
 * - Every call is answered synchronously, in order, so pipelined requests need no bookkeeping.
 *   Tail is the only streaming call: after it the connection belongs to the subscription;
 *   anything the client sends afterwards is read (to notice it leaving) and dropped.
 * - Every resource a client can make us hold is bounded, in size and in time:
 *   - request size (SERVER_REQUEST_MAX, then RequestTooLarge and close), and the time to finish a
 *     request once begun (SERVER_REQUEST_USEC, then InvalidRequest and close);
 *   - connections: SERVER_CONNECTIONS_MAX. When all are taken, a newcomer is still served: the
 *     connection idle the longest (a peer without access first; never a subscriber, nor one with
 *     a reply in flight) is closed for it, as web servers reuse keep-alive connections; only when
 *     none can go is the newcomer closed. Thousands of idle connections thus cost 256 slots and
 *     keep nobody out. Idle connections (no subscription) close after SERVER_IDLE_USEC anyway,
 *     and a peer without access after SERVER_DENIED_USEC;
 *   - subscribers, rows per page, bytes per reply;
 *   - unsent output: per connection SERVER_OUTPUT_MAX, all together SERVER_OUTPUT_TOTAL_MAX (the
 *     biggest holder is cut), and in time: output that makes no progress for SERVER_STALL_USEC
 *     is cut. A client that stops reading, or a tail subscriber that cannot keep up, is cut and
 *     counted rather than making the daemon buffer without limit or block. Beyond
 *     SERVER_OUTPUT_PAUSE unsent bytes a connection's next requests wait unread, so a client that
 *     pipelines calls without reading the answers holds one reply, not one per call.
 * - A request that is not a Varlink call (bad JSON, not an object, no method, mistyped keys)
 *   gets io.avcwatch.InvalidRequest and the connection is closed: after a framing error nothing
 *   that follows can be trusted to be a message boundary. A well-formed call with bad
 *   parameters gets InvalidParameter and the connection carries on. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "denial-json.h"
#include "filter.h"
#include "log.h"
#include "macro.h"
#include "strutil.h"
#include "registry.h"
#include "server.h"
#include "varlink-interface.h"
#include "varlink.h"

#define SERVER_QUERY_PAGE_DEFAULT 100 /* rows per Query page when the client does not say */
#define SERVER_TAIL_LINES_MAX 1000    /* backlog rows a Tail may ask for */
#define SERVER_HISTOGRAM_INTERVAL_MAX (366 * 24 * 3600) /* seconds: a year per bin at most */
#define SERVER_IMPORTS_MAX 4 /* imports running at once (each holds an assembler) */
/* A Query page stops early (next is set) once its denials take this many bytes, so that a page
 * of 1000 large events (long raw text) still fits well inside SERVER_OUTPUT_MAX. */
#define SERVER_REPLY_BYTES_MAX (4 * 1024 * 1024)
#define SERVER_ACCEPTS_PER_WAKE 16   /* new connections taken per wake-up: the loop stays fair */
#define SERVER_READS_PER_WAKE 16     /* reads per connection per wake-up, same reason */
#define SERVER_DISCARD_BUFFER 4096   /* what a subscriber sends is read into this and dropped */
#define SERVER_PEER_GROUPS_MAX 65536 /* the kernel's NGROUPS_MAX */
#define SERVER_PEER_GROUPS_GUESS 64  /* first try; most users have few groups */
#define SERVER_URL "man:avcwatchd(8)"

#define ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define ERROR_ACCESS_DENIED "io.avcwatch.AccessDenied"
#define ERROR_EXPECTED_MORE "io.avcwatch.ExpectedMore"
#define ERROR_TOO_MANY_SUBSCRIBERS "io.avcwatch.TooManySubscribers"
#define ERROR_STORE "io.avcwatch.StoreError"
#define ERROR_REQUEST_TOO_LARGE "io.avcwatch.RequestTooLarge"
#define ERROR_INVALID_REQUEST "io.avcwatch.InvalidRequest"
#define ERROR_QUERY_TOO_EXPENSIVE "io.avcwatch.QueryTooExpensive"
#define ERROR_IMPORT_DENIED "io.avcwatch.ImportDenied"
#define ERROR_TOO_MANY_IMPORTS "io.avcwatch.TooManyImports"

typedef struct Connection Connection;

struct Connection {
        Server *server;
        Connection *prev, *next;
        int fd;
        sd_event_source *io_source;
        sd_event_source *timer; /* the earliest of the deadlines below */
        VarlinkReader *reader;

        uint64_t accepted_usec;
        uint64_t last_call_usec;     /* the idle deadline counts from here */
        uint64_t partial_since_usec; /* 0, or when the incomplete request began */
        uint64_t output_since_usec;  /* 0, or the last progress of unsent output */

        char *out; /* unsent output is out[out_start..out_end) */
        size_t out_start, out_end, out_size;

        bool allowed;
        bool closing; /* no more requests: close once the output is flushed */
        bool dead;    /* close now (write error, overflow); freed by whoever holds it */
        bool subscribed;
        bool quiet; /* handling a oneway call: replies are dropped */
        bool root;  /* the peer is uid 0: it may import */
        DenialFilter filter;
        Importer *importer; /* an import in progress on this connection */
};

struct Server {
        sd_event *event;
        sd_event_source *listen_source;
        int listen_fd;
        char *socket_path; /* set when we created the socket: unlinked by server_free() */
        gid_t access_gid;
        Store *store;
        Registry *registry; /* borrowed, may be NULL */
        Stats *stats;
        Connection *connections;
        unsigned n_connections, n_subscribers;
        size_t unsent_total;     /* unsent bytes of every connection */
        sd_event_source *reaper; /* frees connections cut while another one was being served */
        uint64_t idle_usec, request_usec, stall_usec;
        size_t output_total_max;
        server_new_importer_func new_importer;
        void *importer_userdata;
        unsigned n_imports;
};

bool server_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                         gid_t access_gid) {
        if (uid == 0)
                return true;
        if (access_gid == (gid_t) -1)
                return false;
        if (gid == access_gid)
                return true;
        for (size_t i = 0; i < n_groups; i++)
                if (groups[i] == access_gid)
                        return true;
        return false;
}

void server_set_registry(Server *s, Registry *registry) {
        s->registry = registry;
}

void server_set_importer(Server *s, server_new_importer_func new_importer, void *userdata) {
        s->new_importer = new_importer;
        s->importer_userdata = userdata;
}

void server_set_idle_usec(Server *s, uint64_t usec) {
        s->idle_usec = usec;
}

void server_set_request_usec(Server *s, uint64_t usec) {
        s->request_usec = usec;
}

void server_set_stall_usec(Server *s, uint64_t usec) {
        s->stall_usec = usec;
}

void server_set_output_total_max(Server *s, size_t bytes) {
        s->output_total_max = bytes;
}

/* Every change of unsent_total goes through here, so that Stats shows it. */
static void server_add_unsent(Server *s, size_t add, size_t sub) {
        s->unsent_total = s->unsent_total + add - sub;
        s->stats->clients_unsent_bytes = s->unsent_total;
}

static uint64_t server_now(Server *s) {
        uint64_t now = 0;
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        return now;
}

/* The peer's supplementary groups as the kernel saw them at connect (SO_PEERGROUPS, Linux 4.13),
 * else those of its uid's passwd entry. Returns the count; *ret is malloc'd. */
static int peer_groups(int fd, uid_t uid, gid_t gid, gid_t **ret) {
        socklen_t len = SERVER_PEER_GROUPS_GUESS * sizeof(gid_t);

        for (;;) {
                _cleanup_(freep) gid_t *groups = malloc(len ? len : sizeof(gid_t));
                if (!groups)
                        return -ENOMEM;
                socklen_t got = len;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &got) >= 0) {
                        *ret = TAKE_PTR(groups);
                        return (int) (got / sizeof(gid_t));
                }
                if (errno == ERANGE && got > len && got <= SERVER_PEER_GROUPS_MAX * sizeof(gid_t)) {
                        len = got;
                        continue;
                }
                if (errno != ENOPROTOOPT)
                        return negative_errno();
                break;
        }

        /* Old kernel: the groups of the uid's account (may miss a newgrp'ed group). */
        struct passwd pw, *result = NULL;
        char buf[4096];
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &result) != 0 || !result) {
                *ret = NULL;
                return 0;
        }
        int n = SERVER_PEER_GROUPS_GUESS;
        for (;;) {
                _cleanup_(freep) gid_t *groups = calloc((size_t) n, sizeof(gid_t));
                if (!groups)
                        return -ENOMEM;
                int k = n;
                if (getgrouplist(pw.pw_name, gid, groups, &k) >= 0) {
                        *ret = TAKE_PTR(groups);
                        return k;
                }
                if (k <= n || k > SERVER_PEER_GROUPS_MAX)
                        return -E2BIG;
                n = k;
        }
}

static bool connection_peer_allowed(Server *s, int fd) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        _cleanup_(freep) gid_t *groups = NULL;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
                return false;
        /* The supplementary groups are only needed when uid and gid did not decide. */
        if (server_peer_allowed(cred.uid, cred.gid, NULL, 0, s->access_gid))
                return true;
        if (s->access_gid == (gid_t) -1)
                return false;

        int n = peer_groups(fd, cred.uid, cred.gid, &groups);
        if (n < 0)
                return false;
        return server_peer_allowed(cred.uid, cred.gid, groups, (size_t) n, s->access_gid);
}

static void connection_free(Connection *c) {
        if (!c)
                return;
        Server *s = c->server;

        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_connections--;
        if (c->subscribed)
                s->n_subscribers--;
        s->stats->clients = s->n_connections;
        s->stats->tail_subscribers = s->n_subscribers;
        server_add_unsent(s, 0, c->out_end - c->out_start);

        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                close(c->fd);
        varlink_reader_free(c->reader);
        denial_filter_done(&c->filter);
        if (c->importer) {
                /* What the client sent so far stays stored. */
                c->importer = importer_free(c->importer);
                s->n_imports--;
        }
        free(c->out);
        free(c);
}

static size_t connection_unsent(const Connection *c) {
        return c->out_end - c->out_start;
}

/* A request waits unread while this much of the replies is unsent (subscribers are always
 * read, to notice them leaving). */
static bool connection_paused(const Connection *c) {
        return !c->subscribed && connection_unsent(c) > SERVER_OUTPUT_PAUSE;
}

static void connection_update_events(Connection *c) {
        if (c->dead)
                return;
        uint32_t events = (c->closing || connection_paused(c) ? 0 : EPOLLIN) |
                          (connection_unsent(c) > 0 ? EPOLLOUT : 0);
        (void) sd_event_source_set_io_events(c->io_source, events);
}

/* Gives up the unsent output of a connection that is being cut: it will never be sent. */
static void connection_drop_output(Connection *c) {
        server_add_unsent(c->server, 0, connection_unsent(c));
        free(c->out);
        c->out = NULL;
        c->out_start = c->out_end = c->out_size = 0;
}

/* Cuts a connection other than the one being served: freed from the reaper, outside of any
 * walk over the connections. */
static void connection_cut_later(Connection *c) {
        c->dead = true;
        connection_drop_output(c);
        (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(c->server->reaper, SD_EVENT_ONESHOT);
}

/* Writes what the socket takes now. A failed peer marks the connection dead. */
static void connection_flush(Connection *c) {
        while (!c->dead && connection_unsent(c) > 0) {
                ssize_t k = send(c->fd, c->out + c->out_start, connection_unsent(c),
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                c->dead = true;
                        break;
                }
                c->out_start += (size_t) k;
                server_add_unsent(c->server, 0, (size_t) k);
                c->output_since_usec = server_now(c->server);
        }
        if (c->out_start == c->out_end) {
                c->out_start = c->out_end = 0;
                if (c->output_since_usec > 0)
                        /* a reply fully read is activity: the idle time counts from here */
                        c->last_call_usec = c->output_since_usec;
                c->output_since_usec = 0;
                /* A big reply's buffer is not kept for the life of the connection. */
                if (c->out_size > SERVER_OUTPUT_PAUSE) {
                        free(c->out);
                        c->out = NULL;
                        c->out_size = 0;
                }
        }
}

/* Makes room for len more unsent bytes in the server's total by cutting the biggest holders
 * (which may be c itself). */
static void server_make_room(Server *s, Connection *c, size_t len) {
        while (!c->dead && s->unsent_total + len > s->output_total_max) {
                Connection *biggest = c;
                for (Connection *i = s->connections; i; i = i->next)
                        if (!i->dead && connection_unsent(i) > connection_unsent(biggest))
                                biggest = i;
                s->stats->clients_cut++;
                if (biggest == c) {
                        c->dead = true;
                        connection_drop_output(c);
                } else
                        connection_cut_later(biggest);
        }
}

/* The earliest moment something must happen to c: idle close, denied close, request timeout,
 * stalled output. UINT64_MAX for none (a subscriber whose output flows). */
static uint64_t connection_deadline(const Connection *c) {
        const Server *s = c->server;
        uint64_t d = UINT64_MAX;

        if (!c->allowed)
                d = c->accepted_usec + SERVER_DENIED_USEC;
        if (!c->subscribed && connection_unsent(c) == 0)
                d = MIN(d, c->last_call_usec + s->idle_usec);
        if (c->partial_since_usec > 0)
                d = MIN(d, c->partial_since_usec + s->request_usec);
        if (c->output_since_usec > 0)
                d = MIN(d, c->output_since_usec + s->stall_usec);
        return d;
}

static void connection_rearm_timer(Connection *c) {
        uint64_t d;

        if (c->dead || !c->timer)
                return;
        d = connection_deadline(c);
        if (d == UINT64_MAX) {
                (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(c->timer, d);
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

/* Queues one serialised message (NUL included). Beyond SERVER_OUTPUT_MAX unsent bytes the
 * connection is cut: it is not reading, and we do not buffer for it without limit. */
static void connection_queue(Connection *c, const char *data, size_t len) {
        if (c->dead)
                return;
        if (len > SERVER_OUTPUT_MAX - connection_unsent(c)) {
                c->server->stats->clients_cut++;
                c->dead = true;
                connection_drop_output(c);
                return;
        }
        server_make_room(c->server, c, len);
        if (c->dead)
                return;

        if (c->out_end + len > c->out_size) {
                if (c->out_start > 0) {
                        memmove(c->out, c->out + c->out_start, connection_unsent(c));
                        c->out_end -= c->out_start;
                        c->out_start = 0;
                }
                if (c->out_end + len > c->out_size) {
                        size_t n = MAX(c->out_size * 2, c->out_end + len);
                        char *b = realloc(c->out, n);
                        if (!b) {
                                c->dead = true;
                                return;
                        }
                        c->out = b;
                        c->out_size = n;
                }
        }
        memcpy(c->out + c->out_end, data, len);
        if (c->out_end == c->out_start)
                c->output_since_usec = server_now(c->server);
        c->out_end += len;
        server_add_unsent(c->server, len, 0);

        connection_flush(c);
        connection_update_events(c);
        connection_rearm_timer(c); /* output pending: the stall deadline */
}

/* Sends o (consumed); NULL o means the reply could not be built: the connection is dropped
 * rather than leaving the client waiting for an answer that never comes. */
static void connection_send(Connection *c, json_object *o) {
        _cleanup_(freep) char *text = NULL;
        size_t len;

        if (c->quiet) {
                json_object_put(o);
                return;
        }
        if (!o || varlink_serialize(o, &text, &len) < 0) {
                json_object_put(o);
                c->dead = true;
                return;
        }
        json_object_put(o);
        connection_queue(c, text, len);
}

static void connection_send_error(Connection *c, const char *error, const char *key,
                                  json_object *value) {
        json_object *params = NULL;

        if (key) {
                params = json_object_new_object();
                if (!params || !value || json_object_object_add(params, key, value) < 0) {
                        json_object_put(params);
                        json_object_put(value);
                        c->dead = true;
                        return;
                }
        }
        connection_send(c, varlink_error_new(error, params));
}

static void connection_send_invalid_parameter(Connection *c, const char *parameter) {
        connection_send_error(c, ERROR_INVALID_PARAMETER, "parameter",
                              varlink_string_new(parameter));
}

static void connection_send_invalid_request(Connection *c, const char *reason) {
        connection_send_error(c, ERROR_INVALID_REQUEST, "reason", varlink_string_new(reason));
        c->closing = true;
}

static void connection_send_store_error(Connection *c, int r) {
        const char *message = store_last_error(c->server->store);
        connection_send_error(c, ERROR_STORE, "message",
                              varlink_string_new(message && message[0] ? message : strerror(-r)));
}

/* Parameters of one call: every key must be one the method knows. */
static bool params_check_keys(Connection *c, json_object *params, const char *const *known) {
        json_object_object_foreach (params, key, value) {
                (void) value;
                bool found = false;
                for (const char *const *k = known; *k; k++)
                        if (strcmp(*k, key) == 0)
                                found = true;
                if (!found) {
                        connection_send_invalid_parameter(c, key);
                        return false;
                }
        }
        return true;
}

/* An optional integer parameter in [min, max]; absent or null leaves *ret. */
static bool params_get_int(Connection *c, json_object *params, const char *key, int64_t min,
                           int64_t max, int64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(params, key, &v) || !v)
                return true;
        if (json_object_is_type(v, json_type_int)) {
                errno = 0;
                int64_t i = json_object_get_int64(v);
                if (errno == 0 && i >= min && i <= max) {
                        *ret = i;
                        return true;
                }
        }
        connection_send_invalid_parameter(c, key);
        return false;
}

static bool params_get_bool(Connection *c, json_object *params, const char *key, bool *ret) {
        json_object *v;

        if (!json_object_object_get_ex(params, key, &v) || !v)
                return true;
        if (json_object_is_type(v, json_type_boolean)) {
                *ret = json_object_get_boolean(v);
                return true;
        }
        connection_send_invalid_parameter(c, key);
        return false;
}

static bool params_get_filter(Connection *c, json_object *params, DenialFilter *ret) {
        json_object *v = NULL;
        const char *bad = NULL;
        char name[64];

        (void) json_object_object_get_ex(params, "filter", &v);
        if (v && !json_object_is_type(v, json_type_object)) {
                connection_send_invalid_parameter(c, "filter");
                return false;
        }
        int r = denial_filter_from_json(v, ret, &bad);
        if (r == -ENOMEM) {
                c->dead = true;
                return false;
        }
        if (r < 0) {
                snprintf(name, sizeof(name), "filter.%s", bad ? bad : "");
                connection_send_invalid_parameter(c, name);
                return false;
        }
        return true;
}

static void method_get_info(Connection *c, json_object *params) {
        static const char *const known[] = {NULL};
        if (!params_check_keys(c, params, known))
                return;

        json_object *p = json_object_new_object(), *interfaces = json_object_new_array();
        if (!p || !interfaces ||
            json_object_array_add(interfaces, json_object_new_string(VARLINK_INTERFACE_SERVICE)) <
                    0 ||
            json_object_array_add(interfaces, json_object_new_string(VARLINK_INTERFACE_AVCWATCH)) <
                    0 ||
            json_object_object_add(p, "vendor", json_object_new_string("avcwatch")) < 0 ||
            json_object_object_add(p, "product", json_object_new_string("avcwatchd")) < 0 ||
            json_object_object_add(p, "version", json_object_new_string(AVCWATCH_VERSION)) < 0 ||
            json_object_object_add(p, "url", json_object_new_string(SERVER_URL)) < 0 ||
            json_object_object_add(p, "interfaces", interfaces) < 0) {
                json_object_put(interfaces);
                json_object_put(p);
                c->dead = true;
                return;
        }
        connection_send(c, varlink_reply_new(p, false));
}

static void method_get_interface_description(Connection *c, json_object *params) {
        static const char *const known[] = {"interface", NULL};
        json_object *v;

        if (!params_check_keys(c, params, known))
                return;
        if (!json_object_object_get_ex(params, "interface", &v) ||
            !json_object_is_type(v, json_type_string)) {
                connection_send_invalid_parameter(c, "interface");
                return;
        }
        const char *description = varlink_interface_lookup(json_object_get_string(v));
        if (!description) {
                connection_send_error(c, ERROR_INTERFACE_NOT_FOUND, "interface",
                                      varlink_string_new(json_object_get_string(v)));
                return;
        }

        json_object *p = json_object_new_object();
        if (!p ||
            json_object_object_add(p, "description", json_object_new_string(description)) < 0) {
                json_object_put(p);
                c->dead = true;
                return;
        }
        connection_send(c, varlink_reply_new(p, false));
}

typedef struct QueryPage {
        json_object *denials;
        size_t rows, bytes;
        bool full; /* stopped at SERVER_REPLY_BYTES_MAX */
} QueryPage;

static int query_page_add(const Denial *d, void *userdata) {
        QueryPage *page = userdata;
        json_object *o;
        size_t len = 0;

        int r = denial_to_json(d, &o);
        if (r < 0)
                return r;
        if (!json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len)) {
                json_object_put(o);
                return -ENOMEM;
        }
        /* Always at least one row per page, or a single huge event could never be paged past. */
        if (page->rows > 0 && page->bytes + len > SERVER_REPLY_BYTES_MAX) {
                json_object_put(o);
                page->full = true;
                return 1;
        }
        if (json_object_array_add(page->denials, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        page->rows++;
        page->bytes += len;
        return 0;
}

static void method_query(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "limit", "after", "reverse", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t limit = SERVER_QUERY_PAGE_DEFAULT, after = 0;
        bool reverse = false, has_after;
        json_object *v;

        has_after = json_object_object_get_ex(params, "after", &v) && v;
        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "limit", 1, SERVER_QUERY_PAGE_MAX, &limit) ||
            !params_get_int(c, params, "after", INT64_MIN, INT64_MAX, &after) ||
            !params_get_bool(c, params, "reverse", &reverse) ||
            !params_get_filter(c, params, &filter))
                return;

        QueryPage page = {.denials = json_object_new_array()};
        StorePage more = {};
        if (!page.denials) {
                c->dead = true;
                return;
        }
        int r = store_query(c->server->store, &filter, reverse, has_after ? &after : NULL,
                            (unsigned) limit, query_page_add, &page, &more);
        if (r < 0) {
                json_object_put(page.denials);
                if (r == -ENOMEM)
                        c->dead = true;
                else
                        connection_send_store_error(c, r);
                return;
        }

        json_object *p = json_object_new_object();
        json_object *next = more.more ? json_object_new_int64(more.next) : NULL;
        if (!p || json_object_object_add(p, "denials", page.denials) < 0) {
                json_object_put(page.denials);
                json_object_put(next);
                json_object_put(p);
                c->dead = true;
                return;
        }
        if (json_object_object_add(p, "next", next) < 0) {
                json_object_put(next);
                json_object_put(p);
                c->dead = true;
                return;
        }
        connection_send(c, varlink_reply_new(p, false));
}

static json_object *tail_reply_new(json_object *denial) {
        json_object *p = json_object_new_object();
        if (!p || json_object_object_add(p, "denial", denial) < 0) {
                json_object_put(denial);
                json_object_put(p);
                return NULL;
        }
        return varlink_reply_new(p, true);
}

static void method_tail(Connection *c, json_object *params, bool more) {
        static const char *const known[] = {"filter", "lines", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        Server *s = c->server;
        int64_t lines = 0;

        if (!more) {
                connection_send_error(c, ERROR_EXPECTED_MORE, NULL, NULL);
                return;
        }
        if (s->n_subscribers >= SERVER_SUBSCRIBERS_MAX) {
                connection_send_error(c, ERROR_TOO_MANY_SUBSCRIBERS, "max",
                                      json_object_new_int(SERVER_SUBSCRIBERS_MAX));
                return;
        }
        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "lines", 0, SERVER_TAIL_LINES_MAX, &lines) ||
            !params_get_filter(c, params, &filter))
                return;

        if (filter.container && string_is_hex(filter.container)) {
                /* As the store's queries do: a known name is a name, not an id prefix. */
                int r = store_container_name_known(s->store, filter.container);
                if (r < 0) {
                        connection_send_store_error(c, r);
                        return;
                }
                filter.container_is_name = r > 0;
        }

        if (lines > 0) {
                /* The newest `lines` matches, newest first from the store, sent oldest first. */
                QueryPage page = {.denials = json_object_new_array()};
                if (!page.denials) {
                        c->dead = true;
                        return;
                }
                int r = store_query(s->store, &filter, true, NULL, (unsigned) lines, query_page_add,
                                    &page, NULL);
                if (r < 0) {
                        json_object_put(page.denials);
                        if (r == -ENOMEM)
                                c->dead = true;
                        else
                                connection_send_store_error(c, r);
                        return;
                }
                for (size_t i = page.rows; i > 0 && !c->dead; i--) {
                        json_object *d =
                                json_object_get(json_object_array_get_idx(page.denials, i - 1));
                        connection_send(c, tail_reply_new(d));
                }
                json_object_put(page.denials);
                if (c->dead)
                        return;
        }

        c->filter = filter;
        filter = (DenialFilter){};
        c->subscribed = true;
        s->n_subscribers++;
        s->stats->tail_subscribers = s->n_subscribers;
}

static void method_stats(Connection *c, json_object *params) {
        static const char *const known[] = {NULL};
        StoreCounts counts = {};
        json_object *p = NULL;

        if (!params_check_keys(c, params, known))
                return;
        int r = store_counts(c->server->store, &counts);
        if (r < 0) {
                connection_send_store_error(c, r);
                return;
        }
        c->server->stats->registry_containers = registry_size(c->server->registry);
        if (stats_to_json(c->server->stats, &p) < 0)
                goto oom;

        const struct {
                const char *key;
                uint64_t value;
        } totals[] = {
                {"store_denials", counts.denials},       {"store_events", counts.events},
                {"store_signatures", counts.signatures}, {"store_bytes", counts.db_bytes},
                {"store_pruned", counts.pruned},
        };
        for (size_t i = 0; i < ELEMENTSOF(totals); i++) {
                json_object *v = json_object_new_uint64(totals[i].value);
                if (!v || json_object_object_add(p, totals[i].key, v) < 0) {
                        json_object_put(v);
                        goto oom;
                }
        }
        connection_send(c, varlink_reply_new(p, false));
        return;
oom:
        json_object_put(p);
        c->dead = true;
}

static void method_containers(Connection *c, json_object *params) {
        static const char *const known[] = {NULL};
        json_object *p = NULL;
        int r;

        if (!params_check_keys(c, params, known))
                return;
        if (c->server->registry)
                r = registry_to_json(c->server->registry, &p);
        else {
                p = json_object_new_object();
                r = p && json_object_object_add(p, "containers", json_object_new_array()) >= 0 &&
                                    json_object_object_add(p, "truncated",
                                                           json_object_new_boolean(false)) >= 0
                            ? 0
                            : -ENOMEM;
        }
        if (r < 0) {
                json_object_put(p);
                if (r == -ENOMEM)
                        c->dead = true;
                else
                        connection_send_store_error(c, r);
                return;
        }
        connection_send(c, varlink_reply_new(p, false));
}

static void json_object_putp(json_object **o) {
        json_object_put(*o);
}

/* An answer the store gave up on (too many rows to read, too many bins) is the caller's to
 * narrow; anything else is the store's failure. */
static void connection_send_query_error(Connection *c, int r) {
        if (r == -ENOMEM)
                c->dead = true;
        else if (r == -ETIME || r == -E2BIG)
                connection_send_error(c, ERROR_QUERY_TOO_EXPENSIVE, "message",
                                      varlink_string_new(store_last_error(c->server->store)));
        else
                connection_send_store_error(c, r);
}

static int json_add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_add_nullable(json_object *o, const char *key, const char *s) {
        json_object *v = s ? varlink_string_new(s) : NULL;
        if (s && !v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *time_string_new(int64_t time_ms) {
        char buf[64];
        format_time_iso8601_ms(time_ms, buf, sizeof(buf));
        return json_object_new_string(buf);
}

/* One TopRow of io.avcwatch.varlink. */
static int top_row_to_json(const StoreTopRow *row, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *v = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        if (json_add_nullable(o, "result", row->result) < 0 ||
            json_add_nullable(o, "source_type", row->source_type) < 0 ||
            json_add_nullable(o, "target_type", row->target_type) < 0 ||
            json_add_nullable(o, "tclass", row->tclass) < 0)
                return -ENOMEM;
        if (row->permissions) {
                r = permissions_to_json(row->permissions, &v);
                if (r < 0)
                        return r;
        }
        if (json_object_object_add(o, "permissions", v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        v = NULL;
        if (json_add_nullable(o, "image", row->image) < 0)
                return -ENOMEM;
        if (row->has_container) {
                r = container_to_json(&row->container, &v);
                if (r < 0)
                        return r;
        }
        if (json_object_object_add(o, "container", v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        if (json_add_nullable(o, "mcs", row->mcs) < 0 ||
            json_add(o, "count", json_object_new_uint64(row->count)) < 0 ||
            json_add(o, "first", time_string_new(row->first_ms)) < 0 ||
            json_add(o, "last", time_string_new(row->last_ms)) < 0 ||
            json_add(o, "containers", json_object_new_uint64(row->containers)) < 0 ||
            json_add(o, "signatures", json_object_new_uint64(row->signatures)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int top_add(const StoreTopRow *row, void *userdata) {
        json_object *o;
        int r = top_row_to_json(row, &o);
        if (r < 0)
                return r;
        if (json_object_array_add(userdata, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return 0;
}

/* Sends {key: array} or gives up on the connection. */
static void connection_send_array(Connection *c, const char *key, json_object *array) {
        json_object *p = json_object_new_object();
        if (!p || json_object_object_add(p, key, array) < 0) {
                json_object_put(array);
                json_object_put(p);
                c->dead = true;
                return;
        }
        connection_send(c, varlink_reply_new(p, false));
}

static void method_top(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "by", "new", "limit", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t limit = STORE_TOP_DEFAULT;
        bool new_only = false;
        int by = STORE_TOP_SIGNATURE;
        json_object *v;

        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "limit", 1, STORE_TOP_MAX, &limit) ||
            !params_get_bool(c, params, "new", &new_only) || !params_get_filter(c, params, &filter))
                return;
        if (json_object_object_get_ex(params, "by", &v) && v) {
                by = json_object_is_type(v, json_type_string)
                             ? store_top_by_from_string(json_object_get_string(v))
                             : -EINVAL;
                if (by < 0) {
                        connection_send_invalid_parameter(c, "by");
                        return;
                }
        }
        if (new_only && !filter.has_since) {
                connection_send_invalid_parameter(c, "new");
                return;
        }

        json_object *rows = json_object_new_array();
        if (!rows) {
                c->dead = true;
                return;
        }
        int r = store_top(c->server->store, &filter, (StoreTopBy) by, new_only, (unsigned) limit,
                          top_add, rows);
        if (r < 0) {
                json_object_put(rows);
                connection_send_query_error(c, r);
                return;
        }
        connection_send_array(c, "rows", rows);
}

static int histogram_add(int64_t start_ms, uint64_t count, void *userdata) {
        json_object *o = json_object_new_object();
        if (!o || json_add(o, "start", time_string_new(start_ms)) < 0 ||
            json_add(o, "count", json_object_new_uint64(count)) < 0 ||
            json_object_array_add(userdata, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return 0;
}

static void method_histogram(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "interval", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t interval = 0;

        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "interval", 1, SERVER_HISTOGRAM_INTERVAL_MAX, &interval) ||
            !params_get_filter(c, params, &filter))
                return;
        if (interval == 0) {
                connection_send_invalid_parameter(c, "interval");
                return;
        }
        json_object *bins = json_object_new_array();
        if (!bins) {
                c->dead = true;
                return;
        }
        int r = store_histogram(c->server->store, &filter, interval * 1000, histogram_add, bins);
        if (r < 0) {
                json_object_put(bins);
                connection_send_query_error(c, r);
                return;
        }
        connection_send_array(c, "bins", bins);
}

static json_object *import_counts_to_json(const ImportCounts *k) {
        const struct {
                const char *key;
                uint64_t value;
        } fields[] = {
                {"bytes", k->bytes},
                {"records", k->records},
                {"malformed", k->malformed},
                {"unstamped", k->unstamped},
                {"stored", k->outcomes[IMPORT_STORED]},
                {"duplicates", k->outcomes[IMPORT_DUPLICATE]},
                {"filtered", k->outcomes[IMPORT_FILTERED]},
                {"expired", k->outcomes[IMPORT_EXPIRED]},
                {"lost", k->outcomes[IMPORT_LOST]},
                {"store_errors", k->store_errors},
        };
        json_object *o = json_object_new_object();
        for (size_t i = 0; o && i < ELEMENTSOF(fields); i++)
                if (json_add(o, fields[i].key, json_object_new_uint64(fields[i].value)) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        return o;
}

static void connection_end_import(Connection *c) {
        c->importer = importer_free(c->importer);
        c->server->n_imports--;
}

/* Import: the bytes of a file the client read, base64 in data, in order; final: the end. The
 * connection holds the import between the calls. */
static void method_import(Connection *c, json_object *params) {
        static const char *const known[] = {"data", "final", NULL};
        Server *s = c->server;
        _cleanup_(freep) void *data = NULL;
        size_t len = 0;
        bool final = false;
        json_object *v;
        int r;

        if (!params_check_keys(c, params, known) || !params_get_bool(c, params, "final", &final))
                return;
        if (json_object_object_get_ex(params, "data", &v) && v) {
                if (!json_object_is_type(v, json_type_string) ||
                    base64_decode(json_object_get_string(v), (size_t) json_object_get_string_len(v),
                                  &data, &len) < 0) {
                        connection_send_invalid_parameter(c, "data");
                        return;
                }
        }
        if (!s->new_importer) {
                connection_send_error(c, ERROR_METHOD_NOT_FOUND, "method",
                                      varlink_string_new("io.avcwatch.Import"));
                return;
        }
        if (!c->root) {
                connection_send_error(c, ERROR_IMPORT_DENIED, NULL, NULL);
                return;
        }
        if (!c->importer) {
                if (s->n_imports >= SERVER_IMPORTS_MAX) {
                        connection_send_error(c, ERROR_TOO_MANY_IMPORTS, "max",
                                              json_object_new_int(SERVER_IMPORTS_MAX));
                        return;
                }
                r = s->new_importer(s->importer_userdata, &c->importer);
                if (r < 0) {
                        c->dead = r == -ENOMEM;
                        if (!c->dead)
                                connection_send_store_error(c, r);
                        return;
                }
                s->n_imports++;
        }

        r = importer_feed(c->importer, data, len);
        if (r >= 0 && final)
                r = importer_finish(c->importer);
        if (r < 0) {
                connection_end_import(c);
                if (r == -ENOMEM)
                        c->dead = true;
                else
                        connection_send_store_error(c, r);
                return;
        }
        ImportCounts counts;
        importer_counts(c->importer, &counts);
        if (final)
                connection_end_import(c);
        json_object *p = import_counts_to_json(&counts);
        if (!p) {
                c->dead = true;
                return;
        }
        connection_send(c, varlink_reply_new(p, false));
}

/* The header of a call: method, parameters, more, oneway. NULL reason when valid. */
static const char *call_parse(json_object *call, const char **ret_method, json_object **ret_params,
                              bool *ret_more, bool *ret_oneway) {
        json_object *method = NULL, *params = NULL, *v;
        bool more = false, oneway = false;

        if (!json_object_object_get_ex(call, "method", &method) ||
            !json_object_is_type(method, json_type_string))
                return "no method";
        if (json_object_object_get_ex(call, "parameters", &params) && params &&
            !json_object_is_type(params, json_type_object))
                return "parameters is not an object";
        if (json_object_object_get_ex(call, "more", &v) && v) {
                if (!json_object_is_type(v, json_type_boolean))
                        return "more is not a boolean";
                more = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(call, "oneway", &v) && v) {
                if (!json_object_is_type(v, json_type_boolean))
                        return "oneway is not a boolean";
                oneway = json_object_get_boolean(v);
        }
        if (more && oneway)
                return "more and oneway together";

        *ret_method = json_object_get_string(method);
        *ret_params = params;
        *ret_more = more;
        *ret_oneway = oneway;
        return NULL;
}

static void connection_dispatch_method(Connection *c, const char *method, json_object *params,
                                       bool more) {
        if (strcmp(method, "org.varlink.service.GetInfo") == 0)
                method_get_info(c, params);
        else if (strcmp(method, "org.varlink.service.GetInterfaceDescription") == 0)
                method_get_interface_description(c, params);
        else if (strcmp(method, "io.avcwatch.Query") == 0)
                method_query(c, params);
        else if (strcmp(method, "io.avcwatch.Tail") == 0)
                method_tail(c, params, more);
        else if (strcmp(method, "io.avcwatch.Stats") == 0)
                method_stats(c, params);
        else if (strcmp(method, "io.avcwatch.Top") == 0)
                method_top(c, params);
        else if (strcmp(method, "io.avcwatch.Histogram") == 0)
                method_histogram(c, params);
        else if (strcmp(method, "io.avcwatch.Import") == 0)
                method_import(c, params);
        else if (strcmp(method, "io.avcwatch.Containers") == 0)
                method_containers(c, params);
        else {
                /* Like libvarlink: an interface we do not have is named as such. */
                const char *dot = strrchr(method, '.');
                _cleanup_(freep) char *interface =
                        dot ? strndup(method, (size_t) (dot - method)) : NULL;
                if (dot && !interface)
                        c->dead = true;
                else if (interface && !varlink_interface_lookup(interface))
                        connection_send_error(c, ERROR_INTERFACE_NOT_FOUND, "interface",
                                              varlink_string_new(interface));
                else
                        connection_send_error(c, ERROR_METHOD_NOT_FOUND, "method",
                                              varlink_string_new(method));
        }
}

/* One call. Protocol errors close the connection; method errors do not. */
static void connection_dispatch(Connection *c, json_object *call) {
        _cleanup_(json_object_putp) json_object *empty = NULL;
        const char *method = NULL;
        json_object *params = NULL;
        bool more = false, oneway = false;

        const char *invalid = call_parse(call, &method, &params, &more, &oneway);
        if (invalid) {
                connection_send_invalid_request(c, invalid);
                return;
        }

        /* A oneway call is carried out but gets no reply, not even an error. */
        c->quiet = oneway;
        if (!c->allowed)
                connection_send_error(c, ERROR_ACCESS_DENIED, NULL, NULL);
        else if (oneway && strcmp(method, "io.avcwatch.Tail") == 0)
                ; /* a stream nobody reads: nothing to do */
        else {
                /* An empty object where the client sent none: handlers need no NULL checks. */
                if (!params)
                        params = empty = json_object_new_object();
                if (!params)
                        c->dead = true;
                else
                        connection_dispatch_method(c, method, params, more);
        }
        c->quiet = false;
}

/* Takes the complete messages buffered so far. */
static void connection_process(Connection *c) {
        bool denied = false;

        while (!c->dead && !c->closing && !c->subscribed && !connection_paused(c)) {
                json_object *call = NULL;
                int r = varlink_reader_next(c->reader, &call);
                if (r == 0)
                        break;
                if (r == -EMSGSIZE) {
                        connection_send_error(c, ERROR_REQUEST_TOO_LARGE, "max",
                                              json_object_new_int64(SERVER_REQUEST_MAX));
                        c->closing = true;
                        break;
                }
                if (r == -EBADMSG) {
                        connection_send_invalid_request(c, "not a JSON object");
                        break;
                }
                if (r < 0) {
                        c->dead = true;
                        break;
                }
                c->last_call_usec = server_now(c->server);
                connection_dispatch(c, call);
                json_object_put(call);
                denied = denied || !c->allowed;
        }
        /* A peer without access gets its answers, then the door. */
        if (denied)
                c->closing = true;

        /* A request begun and not finished has SERVER_REQUEST_USEC to be. */
        if (c->subscribed || c->closing || varlink_reader_buffered(c->reader) == 0)
                c->partial_since_usec = 0;
        else if (c->partial_since_usec == 0 && !connection_paused(c))
                c->partial_since_usec = server_now(c->server);
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;

        if (revents & EPOLLOUT) {
                connection_flush(c);
                /* Requests that waited for the replies to be read. */
                if (!c->dead && !c->closing && !c->subscribed && !connection_paused(c))
                        connection_process(c);
        }

        if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing) {
                for (unsigned i = 0; i < SERVER_READS_PER_WAKE && !c->dead && !c->closing; i++) {
                        char discard[SERVER_DISCARD_BUFFER];
                        size_t size;
                        void *buf =
                                c->subscribed ? discard : varlink_reader_space(c->reader, &size);
                        if (c->subscribed)
                                size = sizeof(discard);
                        if (!buf || size == 0) {
                                c->dead = true;
                                break;
                        }
                        ssize_t k = recv(fd, buf, size, MSG_DONTWAIT);
                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                if (errno != EAGAIN)
                                        c->dead = true;
                                break;
                        }
                        if (k == 0) {
                                /* The client is done sending; answer what it sent, then close. */
                                if (!c->subscribed)
                                        connection_process(c);
                                c->closing = true;
                                break;
                        }
                        if (c->subscribed)
                                continue;
                        varlink_reader_advance(c->reader, (size_t) k);
                        connection_process(c);
                }
        } else if ((revents & (EPOLLHUP | EPOLLERR)) && c->closing)
                c->dead = true; /* nobody left to read the rest */

        if (c->dead || (c->closing && connection_unsent(c) == 0)) {
                connection_free(c);
                return 0;
        }
        connection_update_events(c);
        connection_rearm_timer(c);
        return 0;
}

static int on_connection_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Connection *c = userdata;
        Server *s = c->server;
        uint64_t now = server_now(s);

        if (c->output_since_usec > 0 && now >= c->output_since_usec + s->stall_usec) {
                /* Not reading its replies (or its stream) at all. */
                s->stats->clients_cut++;
                connection_free(c);
                return 0;
        }
        if (c->partial_since_usec > 0 && now >= c->partial_since_usec + s->request_usec) {
                s->stats->clients_timed_out++;
                c->partial_since_usec = 0;
                connection_send_invalid_request(c, "request not completed in time");
                if (c->dead || connection_unsent(c) == 0) {
                        connection_free(c);
                        return 0;
                }
                connection_update_events(c);
                connection_rearm_timer(c);
                return 0;
        }
        if ((!c->allowed && now >= c->accepted_usec + SERVER_DENIED_USEC) ||
            (!c->subscribed && connection_unsent(c) == 0 &&
             now >= c->last_call_usec + s->idle_usec)) {
                connection_free(c);
                return 0;
        }
        connection_rearm_timer(c);
        return 0;
}

static int on_reap(sd_event_source *source, void *userdata) {
        Server *s = userdata;
        Connection *next;

        for (Connection *c = s->connections; c; c = next) {
                next = c->next;
                if (c->dead)
                        connection_free(c);
        }
        return 0;
}

static int connection_new(Server *s, int fd) {
        _cleanup_(closep) int fd_owned = fd;
        Connection *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->server = s;
        c->fd = TAKE_FD(fd_owned);
        c->allowed = connection_peer_allowed(s, c->fd);
        struct ucred cred;
        socklen_t cred_len = sizeof(cred);
        c->root = getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) >= 0 &&
                  cred_len == sizeof(cred) && cred.uid == 0;
        c->accepted_usec = c->last_call_usec = server_now(s);

        /* Linked in first, so that connection_free() undoes everything from here on. */
        c->next = s->connections;
        if (s->connections)
                s->connections->prev = c;
        s->connections = c;
        s->n_connections++;
        s->stats->clients = s->n_connections;

        r = varlink_reader_new(SERVER_REQUEST_MAX, &c->reader);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(s->event, &c->io_source, c->fd, EPOLLIN, on_connection_io, c);
        if (r < 0)
                goto fail;
        r = sd_event_add_time(s->event, &c->timer, CLOCK_MONOTONIC, connection_deadline(c), 0,
                              on_connection_timer, c);
        if (r < 0)
                goto fail;
        return 0;
fail:
        connection_free(c);
        return r;
}

/* The connection to close for a newcomer when all are taken: a peer without access, else the one
 * idle the longest; never a subscriber, nor one with a reply in flight or a request coming in. */
static Connection *server_pick_victim(Server *s) {
        Connection *victim = NULL;

        for (Connection *c = s->connections; c; c = c->next) {
                if (c->subscribed || c->dead || connection_unsent(c) > 0 ||
                    (c->allowed && c->partial_since_usec > 0))
                        continue;
                if (!c->allowed)
                        return c;
                /* <=: among equals the one accepted first (connections are listed newest
                 * first) */
                if (!victim || c->last_call_usec <= victim->last_call_usec)
                        victim = c;
        }
        return victim;
}

static int on_listen_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;

        for (unsigned i = 0; i < SERVER_ACCEPTS_PER_WAKE; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0)
                        break; /* EAGAIN, or a peer that left already: nothing to do */
                if (s->n_connections >= SERVER_CONNECTIONS_MAX) {
                        Connection *victim = server_pick_victim(s);
                        if (!victim) {
                                /* Every connection is busy: the newcomer sees its connection
                                 * closed and may retry. */
                                s->stats->clients_refused++;
                                close(cfd);
                                continue;
                        }
                        s->stats->clients_evicted++;
                        connection_free(victim);
                }
                (void) connection_new(s, cfd);
        }
        return 0;
}

/* Creates, binds and listens on the socket at path. A stale socket file is replaced; a live one
 * (a daemon answers on it) or a non-socket file is refused. */
static int socket_listen_at(const char *path, gid_t access_gid, int *ret) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;

        if (!path || !path[0])
                return -EINVAL;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        _cleanup_(closep) int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();

        if (lstat(path, &st) >= 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                _cleanup_(closep) int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe < 0)
                        return negative_errno();
                if (connect(probe, (struct sockaddr *) &sa, sizeof(sa)) >= 0)
                        return -EADDRINUSE;
                if (unlink(path) < 0 && errno != ENOENT)
                        return negative_errno();
        } else if (errno != ENOENT)
                return negative_errno();

        /* Created without any access for others from the start; chmod widens it to the group. */
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return negative_errno();
        /* Giving the socket to the access group needs CAP_CHOWN, or membership of that group:
         * a daemon run by hand by another user keeps its own group (peers are checked anyway). */
        if (access_gid != (gid_t) -1 && chown(path, (uid_t) -1, access_gid) < 0) {
                if (errno != EPERM)
                        goto fail;
                log_warning("Cannot give '%s' to the access group (gid %u): only the daemon's "
                            "own user and group can connect to it.",
                            path, (unsigned) access_gid);
        }
        if (chmod(path, 0660) < 0)
                goto fail;
        if (listen(fd, SOMAXCONN) < 0)
                goto fail;

        *ret = TAKE_FD(fd);
        return 0;
fail:
        r = negative_errno();
        (void) unlink(path);
        return r;
}

int server_new(sd_event *e, int listen_fd, const char *socket_path, gid_t access_gid, Store *store,
               Stats *stats, Server **ret) {
        int r;

        Server *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->listen_fd = -EBADF;
        s->access_gid = access_gid;
        s->store = store;
        s->stats = stats;
        s->idle_usec = SERVER_IDLE_USEC;
        s->request_usec = SERVER_REQUEST_USEC;
        s->stall_usec = SERVER_STALL_USEC;
        s->output_total_max = SERVER_OUTPUT_TOTAL_MAX;

        if (listen_fd >= 0) {
                /* Socket activation: systemd made it; make sure we never block on it. */
                int flags = fcntl(listen_fd, F_GETFL);
                if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                        r = negative_errno();
                        goto fail;
                }
                s->listen_fd = listen_fd;
        } else {
                r = socket_listen_at(socket_path, access_gid, &s->listen_fd);
                if (r < 0)
                        goto fail;
                s->socket_path = strdup(socket_path);
                if (!s->socket_path) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        r = sd_event_add_io(e, &s->listen_source, s->listen_fd, EPOLLIN, on_listen_io, s);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(e, &s->reaper, on_reap, s);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(s->reaper, SD_EVENT_OFF);

        stats->clients = 0;
        stats->tail_subscribers = 0;
        *ret = s;
        return 0;
fail:
        if (listen_fd >= 0)
                s->listen_fd = -EBADF; /* not ours on failure */
        server_free(s);
        return r;
}

Server *server_free(Server *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        sd_event_source_disable_unref(s->listen_source);
        sd_event_source_disable_unref(s->reaper);
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        if (s->socket_path) {
                (void) unlink(s->socket_path);
                free(s->socket_path);
        }
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void server_broadcast(Server *s, const Denial *d) {
        _cleanup_(freep) char *text = NULL;
        size_t len = 0;

        if (!s || s->n_subscribers == 0)
                return;

        Connection *next;
        for (Connection *c = s->connections; c; c = next) {
                next = c->next;
                if (c->subscribed && c->filter.container && d->has_container && d->container.name &&
                    strcmp(d->container.name, c->filter.container) == 0)
                        c->filter.container_is_name = true; /* a container of that name now */
                if (!c->subscribed || c->dead || c->closing || !denial_filter_match(&c->filter, d))
                        continue;

                /* Serialised once, for the first subscriber that wants it. */
                if (!text) {
                        json_object *o = NULL;
                        if (denial_to_json(d, &o) < 0)
                                return;
                        json_object *reply = tail_reply_new(o);
                        int r = reply ? varlink_serialize(reply, &text, &len) : -ENOMEM;
                        json_object_put(reply);
                        if (r < 0)
                                return;
                }
                connection_queue(c, text, len);
                if (c->dead)
                        connection_free(c);
        }
}
