/* SPDX-License-Identifier: MIT */
/* The API server's transport: Varlink (https://varlink.org) over an AF_UNIX stream socket, on the
 * daemon's sd-event loop: connections, credentials, bounds, framing, and the tail subscribers'
 * streams. What a call does is not here: each call's method is looked up in a table of Method
 * entries (method.h; the table of org.varlink.service and io.avcwatch is in method.c, one file
 * per method beside it) and handed the call's parameters and its connection.
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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "denial-json.h"
#include "filter.h"
#include "log.h"
#include "macro.h"
#include "json-add.h"
#include "json-writer.h"
#include "method.h"
#include "server-socket.h"
#include "server.h"
#include "varlink-interface.h"
#include "varlink.h"

#define SERVER_ACCEPTS_PER_WAKE 16 /* new connections taken per wake-up: the loop stays fair */
#define SERVER_READS_PER_WAKE 16   /* reads per connection per wake-up, same reason */
#define SERVER_DISCARD_BUFFER 4096 /* what a subscriber sends is read into this and dropped */

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
        bool quiet;          /* handling a oneway call: replies are dropped */
        bool root;           /* the peer is uid 0 */
        DenialFilter filter; /* a subscriber's */
        void *state;         /* a method's, between calls (connection_set_state()) */
        connection_free_state_func free_state;
};

/* What the transport counts. Written into Stats in one place, server_publish_stats(). */
typedef struct ServerCounters {
        uint64_t cut;       /* unsent output over its bounds, or stalled */
        uint64_t timed_out; /* a request not completed in time */
        uint64_t evicted;   /* closed for a newcomer */
        uint64_t refused;   /* closed at accept: every connection was busy */
} ServerCounters;

struct Server {
        sd_event *event;
        sd_event_source *listen_source;
        int listen_fd;
        char *socket_path; /* set when we created the socket: unlinked by server_free() */
        gid_t access_gid;
        const Method *methods; /* ended by a zero entry */
        MethodContext context; /* what the methods work on */
        ApiStats *api;         /* its own block of the daemon's Stats */
        ServerCounters counters;
        Connection *connections;
        unsigned n_connections, n_subscribers;
        size_t unsent_total;     /* unsent bytes of every connection */
        sd_event_source *reaper; /* frees connections cut while another one was being served */
        uint64_t idle_usec, request_usec, stall_usec;
        size_t output_total_max;
};

void server_set_registry(Server *s, Registry *registry) {
        s->context.registry = registry;
}

void server_set_triage(Server *s, Triage *triage) {
        s->context.triage = triage;
}

void server_set_importer(Server *s, server_new_importer_func new_importer, void *userdata) {
        s->context.new_importer = new_importer;
        s->context.importer_userdata = userdata;
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

/* The one place where the transport writes Stats: after every change of what it counts. */
static void server_publish_stats(Server *s) {
        s->api->clients = s->n_connections;
        s->api->tail_subscribers = s->n_subscribers;
        s->api->clients_unsent_bytes = s->unsent_total;
        s->api->clients_cut = s->counters.cut;
        s->api->clients_timed_out = s->counters.timed_out;
        s->api->clients_evicted = s->counters.evicted;
        s->api->clients_refused = s->counters.refused;
}

/* Counts one closing for a reason of ServerCounters (a member of s->counters). */
static void server_count(Server *s, uint64_t *counter) {
        (*counter)++;
        server_publish_stats(s);
}

/* Every change of unsent_total goes through here, so that Stats shows it. */
static void server_add_unsent(Server *s, size_t add, size_t sub) {
        s->unsent_total = s->unsent_total + add - sub;
        server_publish_stats(s);
}

static uint64_t server_now(Server *s) {
        uint64_t now = 0;
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        return now;
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
        server_add_unsent(s, 0, c->out_end - c->out_start);

        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                close(c->fd);
        varlink_reader_free(c->reader);
        denial_filter_done(&c->filter);
        connection_set_state(c, NULL, NULL);
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
                /* A big reply's buffer is not kept for the life of the connection: it goes to
                 * the server's context, where the next page of a bulk Query is written (one
                 * buffer for all the connections, bounded there). */
                if (c->out_size > SERVER_OUTPUT_PAUSE) {
                        query_text_recycle(&c->server->context, c->out, c->out_size);
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
                server_count(s, &s->counters.cut);
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

/* Whether a message of len bytes may be queued: beyond SERVER_OUTPUT_MAX unsent bytes the
 * connection is cut (it is not reading, and we do not buffer for it without limit), and the
 * server's total makes room first. */
static bool connection_queue_admit(Connection *c, size_t len) {
        if (c->dead)
                return false;
        if (len > SERVER_OUTPUT_MAX - connection_unsent(c)) {
                server_count(c->server, &c->server->counters.cut);
                c->dead = true;
                connection_drop_output(c);
                return false;
        }
        server_make_room(c->server, c, len);
        return !c->dead;
}

/* len more bytes were put at out_end: counted, then sent as far as the socket takes them. */
static void connection_queued(Connection *c, size_t len) {
        if (c->out_end == c->out_start)
                c->output_since_usec = server_now(c->server);
        c->out_end += len;
        server_add_unsent(c->server, len, 0);

        connection_flush(c);
        connection_update_events(c);
        connection_rearm_timer(c); /* output pending: the stall deadline */
}

/* Queues one serialised message (NUL included). */
static void connection_queue(Connection *c, const char *data, size_t len) {
        if (!connection_queue_admit(c, len))
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
        connection_queued(c, len);
}

void connection_send_buffer(Connection *c, char **buf, size_t *size, size_t len) {
        if (c->quiet)
                return;
        if (c->dead || connection_unsent(c) > 0 || len > *size) {
                connection_queue(c, *buf, len);
                return;
        }
        if (!connection_queue_admit(c, len))
                return;
        /* Nothing waits: the message's buffer becomes the output buffer, and the empty output
         * buffer the caller's (a page of a bulk Query is a megabyte, copied for nothing). */
        char *out = c->out;
        size_t out_size = c->out_size;
        c->out = *buf;
        c->out_size = *size;
        c->out_start = c->out_end = 0;
        *buf = out;
        *size = out_size;
        connection_queued(c, len);
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

void connection_send_message(Connection *c, const char *text, size_t len) {
        if (c->quiet)
                return;
        connection_queue(c, text, len);
}

void connection_reply(Connection *c, json_object *params, bool continues) {
        if (!params) {
                c->dead = true;
                return;
        }
        connection_send(c, varlink_reply_new(params, continues));
}

void connection_send_error(Connection *c, const char *error, const char *key, json_object *value) {
        json_object *params = NULL;

        if (key) {
                params = json_object_new_object();
                if (!params || !value || json_object_object_add(params, key, value) < 0) {
                        json_object_put(params);
                        json_object_put(value);
                        c->dead = true;
                        return;
                }
        } else
                params = value;
        connection_send(c, varlink_error_new(error, params));
}

static void connection_send_invalid_request(Connection *c, const char *reason) {
        connection_send_error(c, ERROR_INVALID_REQUEST, "reason", varlink_string_new(reason));
        c->closing = true;
}

MethodContext *connection_context(Connection *c) {
        return &c->server->context;
}

bool connection_peer_is_root(const Connection *c) {
        return c->root;
}

void connection_fail(Connection *c) {
        c->dead = true;
}

bool connection_failed(const Connection *c) {
        return c->dead;
}

unsigned connection_n_subscribers(const Connection *c) {
        return c->server->n_subscribers;
}

void connection_subscribe(Connection *c, DenialFilter *filter) {
        Server *s = c->server;

        denial_filter_done(&c->filter);
        c->filter = *filter;
        *filter = (DenialFilter){};
        if (!c->subscribed) {
                c->subscribed = true;
                s->n_subscribers++;
                server_publish_stats(s);
        }
}

void *connection_get_state(Connection *c) {
        return c->state;
}

void connection_set_state(Connection *c, void *state, connection_free_state_func free_state) {
        if (c->state && c->free_state)
                c->free_state(c, c->state);
        c->state = state;
        c->free_state = free_state;
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

static const Method *server_find_method(const Server *s, const char *name) {
        for (const Method *m = s->methods; m->name; m++)
                if (strcmp(m->name, name) == 0)
                        return m;
        return NULL;
}

/* A method we do not have. Like libvarlink: an interface we do not have is named as such. */
static void connection_send_not_found(Connection *c, const char *method) {
        const char *dot = strrchr(method, '.');
        _cleanup_(freep) char *interface = dot ? strndup(method, (size_t) (dot - method)) : NULL;
        if (dot && !interface)
                c->dead = true;
        else if (interface && !varlink_interface_lookup(interface))
                connection_send_error(c, ERROR_INTERFACE_NOT_FOUND, "interface",
                                      varlink_string_new(interface));
        else
                connection_send_error(c, ERROR_METHOD_NOT_FOUND, "method",
                                      varlink_string_new(method));
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
        const Method *m = c->allowed ? server_find_method(c->server, method) : NULL;
        if (!c->allowed)
                connection_send_error(c, ERROR_ACCESS_DENIED, NULL, NULL);
        else if (!m)
                connection_send_not_found(c, method);
        else if ((m->flags & METHOD_STREAM) && oneway)
                ; /* a stream nobody reads: nothing to do */
        else if ((m->flags & METHOD_STREAM) && !more)
                connection_send_error(c, ERROR_EXPECTED_MORE, NULL, NULL);
        else {
                /* An empty object where the client sent none: methods need no NULL checks. */
                if (!params)
                        params = empty = json_object_new_object();
                if (!params)
                        c->dead = true;
                else
                        m->call(c, params);
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
                server_count(s, &s->counters.cut);
                connection_free(c);
                return 0;
        }
        if (c->partial_since_usec > 0 && now >= c->partial_since_usec + s->request_usec) {
                server_count(s, &s->counters.timed_out);
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
        server_socket_peer(c->fd, s->access_gid, &c->allowed, &c->root);
        c->accepted_usec = c->last_call_usec = server_now(s);

        /* Linked in first, so that connection_free() undoes everything from here on. */
        c->next = s->connections;
        if (s->connections)
                s->connections->prev = c;
        s->connections = c;
        s->n_connections++;
        server_publish_stats(s);

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
                                server_count(s, &s->counters.refused);
                                close(cfd);
                                continue;
                        }
                        server_count(s, &s->counters.evicted);
                        connection_free(victim);
                }
                (void) connection_new(s, cfd);
        }
        return 0;
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
        s->methods = api_methods;
        s->context = (MethodContext){.store = store, .stats = stats};
        s->api = &stats->api;
        /* Stats outlives a server: its totals go on from where they are. */
        s->counters = (ServerCounters){
                .cut = stats->api.clients_cut,
                .timed_out = stats->api.clients_timed_out,
                .evicted = stats->api.clients_evicted,
                .refused = stats->api.clients_refused,
        };
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
                r = server_socket_listen(socket_path, access_gid, &s->listen_fd);
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

        server_publish_stats(s); /* clients and tail_subscribers: 0 */
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
        if (s->context.reply_text)
                printbuf_free(s->context.reply_text);
        free(s);
        return NULL;
}

void server_broadcast(Server *s, const Denial *d) {
        _cleanup_(printbuf_freep) struct printbuf *text = NULL;

        if (!s || s->n_subscribers == 0)
                return;

        Connection *next;
        for (Connection *c = s->connections; c; c = next) {
                next = c->next;
                if (c->subscribed && d->has_container && d->container.name)
                        for (size_t i = 0; i < c->filter.container.n && i < 32; i++)
                                if (strcmp(d->container.name, c->filter.container.v[i]) == 0)
                                        /* a container of that name now */
                                        c->filter.container_is_name |= UINT32_C(1) << i;
                if (!c->subscribed || c->dead || c->closing || !denial_filter_match(&c->filter, d))
                        continue;

                /* Serialised once, for the first subscriber that wants it. */
                if (!text) {
                        _cleanup_(printbuf_freep) struct printbuf *row = printbuf_new();
                        JsonWriter w;

                        text = printbuf_new();
                        if (!row || !text)
                                return;
                        json_writer_init(&w, row);
                        denial_write_json(&w, d);
                        if (json_writer_failed(&w) ||
                            tail_message_write(text, row->buf, (size_t) row->bpos) < 0)
                                return;
                }
                connection_queue(c, text->buf, (size_t) text->bpos);
                if (c->dead)
                        connection_free(c);
        }
}
