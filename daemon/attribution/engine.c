/* SPDX-License-Identifier: MIT */
/* Engine: the Docker Engine API (and Podman's compatible API) over AF_UNIX, on sd-event.
 *
 * Two HTTP/1.1 connections at most, both non-blocking:
 * - the event stream, GET /events filtered to containers, open as long as the engine is up. Its
 *   chunked body is decoded by daemon/attribution/http.c and cut into lines (one JSON object each;
 * a longer one than ENGINE_EVENT_LINE_MAX is skipped and counted, but its leading status and id are
 *   still acted on: engine_handle_cut_event()). It is opened first; once its response
 * head says 200 the engine counts as connected, and only then is the container list asked for, so
 * that a container started between the list and the stream cannot be missed.
 * - one request at a time (list, then an inspect per queued container), each on a fresh
 *   connection with "Connection: close": simple, and a slow or broken answer costs one request,
 *   not the stream. Inspect bodies are buffered up to ENGINE_RESPONSE_MAX; the list, which holds
 *   every container's labels, is only scanned for its ids as it arrives
 *   (engine_list_scanner_feed()). Each request has a deadline.
 *
 * Decisions:
 * - Events name a container before its inspect arrives: create / start / die / destroy update the
 *   registry at once with what the event carries (name, image, times), so a container that lives
 *   for a few milliseconds is still named; the inspect then adds the label and exact times.
 * - After a list, containers of this engine that the registry thinks alive but the engine no
 *   longer has were removed while we were not listening: they are marked removed now (an upper
 *   bound; nothing better is known). Not done when the list was cut at ENGINE_LIST_MAX.
 * - The engine being absent is normal (not every host runs both): the first failure is logged
 *   once, retries back off from ENGINE_RETRY_MIN_USEC to ENGINE_RETRY_MAX_USEC and stay silent,
 *   and stats show the state. Losing a connected engine is logged once too. A failed container
 *   list is a failed connection (retried the same way): without it the containers that already
 *   exist would stay unknown while the stream looked healthy.
 * - Everything an engine sends is untrusted: sizes are bounded (responses, event lines, the
 *   inspect queue) and the JSON goes through daemon/attribution/engine-json.c. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "engine-json.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "macro.h"

#define ENGINE_READ_CHUNK (64 * 1024) /* one recv() */
/* ... of the event stream: a few dozen events, so that the time budget is checked often */
#define ENGINE_EVENTS_READ_CHUNK 2048
#define ENGINE_READS_PER_WAKE 16    /* the loop stays fair to the audit socket */
#define ENGINE_REQUEST_TEXT_MAX 512 /* "GET /containers/<id>/json ..." */
/* Filtered to container events: images, networks and volumes are of no interest. */
#define ENGINE_EVENTS_PATH "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D"
/* Work per wake-up, so that the loop keeps serving the audit socket and the API (< 100 ms) under
 * an engine that floods: reads of the event stream stop after this much time (the socket stays
 * readable, the rest comes at the next wake-up), and the removals a list implies are recorded a
 * step at a time, at idle priority. */
#define ENGINE_WAKE_BUDGET_USEC (5 * 1000)
#define ENGINE_REMOVE_STEP 64
/* Repeated warnings: at most ENGINE_LOG_BURST per ENGINE_LOG_INTERVAL_USEC, the next one says how
 * many were left out. */
#define ENGINE_LOG_BURST 5
#define ENGINE_LOG_INTERVAL_USEC (10ULL * 1000000)

typedef struct LogLimit {
        uint64_t window_usec;
        unsigned logged;
        uint64_t suppressed, report; /* in this window; to tell with the next line */
} LogLimit;

/* Whether a line may be logged now; *ret_suppressed: how many were left out before it. */
static bool log_limit_allow(LogLimit *l, uint64_t *ret_suppressed) {
        uint64_t now = now_monotonic_usec();

        if (l->window_usec == 0 || now - l->window_usec >= ENGINE_LOG_INTERVAL_USEC) {
                l->report += l->suppressed;
                l->window_usec = now;
                l->logged = 0;
                l->suppressed = 0;
        }
        if (l->logged >= ENGINE_LOG_BURST) {
                l->suppressed++;
                return false;
        }
        l->logged++;
        *ret_suppressed = l->report;
        l->report = 0;
        return true;
}

typedef enum RequestKind {
        REQUEST_NONE,
        REQUEST_EVENTS,
        REQUEST_LIST,
        REQUEST_INSPECT,
} RequestKind;

typedef struct Conn {
        Engine *engine;
        RequestKind kind;
        int fd;
        sd_event_source *io;
        sd_event_source *deadline;
        char out[ENGINE_REQUEST_TEXT_MAX];
        size_t out_len, out_sent;
        HttpResponse *http;
        bool head_done;
        bool skipping; /* events: dropping the rest of a line over ENGINE_EVENT_LINE_MAX */
        char *body;    /* inspect: the body so far; events: the current line */
        EngineListScanner *list; /* list: its ids, read as the body arrives (never held whole) */
        size_t body_len, body_size, body_max;
        char id[CONTAINER_STRING_MAX + 1]; /* REQUEST_INSPECT */
} Conn;

struct Engine {
        sd_event *event;
        char *name;           /* as configured: "docker", "podman" (stats, log) */
        const char *recorded; /* the engine its containers are recorded with: name, or "podman"
                               * when Podman answers on the Docker socket (podman-docker) */
        char *socket_path;
        Registry *registry;
        EngineStats *stats;
        Conn events, request;
        char **queue; /* ring of ids to inspect */
        size_t queue_head, queue_len;
        sd_event_source *retry;
        uint64_t backoff_usec, retry_min_usec, retry_max_usec;
        bool connected;
        bool listed; /* ... and its container list was read: the engine is followed */
        bool quiet;  /* the current outage was logged */
        /* The containers a list left out, marked removed ENGINE_REMOVE_STEP at a time by the
         * idle-priority source `removing` (engine_remove_step()). */
        char **gone;
        size_t n_gone, gone_next;
        int64_t gone_ms;
        sd_event_source *removing;
        LogLimit record_log;           /* "Failed to record ..." */
        sd_event_source *record_flush; /* says how many were left out at the window's end */
};

static void engine_set_state(Engine *e, const char *state) {
        if (e->stats->state != state) {
                e->stats->state = state;
                e->stats->since_ms = now_realtime_ms();
        }
}

/* "what: reason" into stats' last_error. */
static void engine_set_error(Engine *e, const char *what, int r) {
        snprintf(e->stats->last_error, sizeof(e->stats->last_error), "%s: %s", what,
                 strerror(r < 0 ? -r : r));
}

/* ---- connections ---- */

static void conn_close(Conn *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->deadline = sd_event_source_disable_unref(c->deadline);
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -EBADF;
        free(c->body);
        c->body = NULL;
        c->body_len = c->body_size = 0;
        c->list = engine_list_scanner_free(c->list);
        c->kind = REQUEST_NONE;
        c->head_done = false;
        c->skipping = false;
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int on_conn_deadline(sd_event_source *s, uint64_t usec, void *userdata);

/* Connects to the engine's socket and queues text as the request. The answer is handled by
 * on_conn_io(); deadline_usec 0: none (the event stream). */
static int conn_open(Conn *c, RequestKind kind, const char *text, uint64_t deadline_usec) {
        Engine *e = c->engine;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int r;

        if (strlen(e->socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, e->socket_path);
        size_t n = strlen(text);
        if (n >= sizeof(c->out))
                return -E2BIG;
        if (!c->http) {
                c->http = malloc(sizeof(HttpResponse));
                if (!c->http)
                        return -ENOMEM;
        }
        http_response_init(c->http);

        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return negative_errno();
        /* A local stream socket connects at once or fails at once (EAGAIN: backlog full). */
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = negative_errno();
                conn_close(c);
                return r;
        }
        memcpy(c->out, text, n);
        c->out_len = n;
        c->out_sent = 0;
        c->kind = kind;
        c->head_done = false;
        c->body_len = 0;
        c->body_max = kind == REQUEST_EVENTS ? ENGINE_EVENT_LINE_MAX : ENGINE_RESPONSE_MAX;
        r = sd_event_add_io(e->event, &c->io, c->fd, EPOLLOUT | EPOLLIN, on_conn_io, c);
        if (r >= 0 && deadline_usec > 0)
                r = sd_event_add_time_relative(e->event, &c->deadline, CLOCK_MONOTONIC,
                                               deadline_usec, 0, on_conn_deadline, c);
        if (r < 0) {
                conn_close(c);
                return r;
        }
        return 0;
}

/* ---- the registry side ---- */

/* The end of a window with lines left out: how many, even if no other line comes. */
static int on_record_flush(sd_event_source *s, uint64_t usec, void *userdata) {
        Engine *e = userdata;

        if (e->record_log.suppressed > 0)
                log_warning("Failed to record %" PRIu64 " more %s container(s) (messages "
                            "suppressed).",
                            e->record_log.suppressed, e->name);
        e->record_log.suppressed = 0;
        e->record_flush = sd_event_source_disable_unref(e->record_flush);
        return 0;
}

static int engine_update(Engine *e, ContainerInfo *c) {
        char more[64] = "";
        uint64_t suppressed;

        int r = registry_update(e->registry, c);
        if (r >= 0 || r == -EINVAL)
                return r;
        if (!log_limit_allow(&e->record_log, &suppressed)) {
                if (!e->record_flush)
                        (void) sd_event_add_time(e->event, &e->record_flush, CLOCK_MONOTONIC,
                                                 e->record_log.window_usec +
                                                         ENGINE_LOG_INTERVAL_USEC,
                                                 0, on_record_flush, e);
                return r;
        }
        if (suppressed > 0)
                snprintf(more, sizeof(more), " (%" PRIu64 " more suppressed)", suppressed);
        if (r == -EXFULL)
                log_warning("Failed to record %s container %.12s: registry full (%d containers, "
                            "none of them ended)%s",
                            e->name, c->id, REGISTRY_CONTAINERS_MAX, more);
        else
                log_warning_errno(r, "Failed to record %s container %.12s: %m%s", e->name, c->id,
                                  more);
        return r;
}

static void engine_queue_inspect(Engine *e, const char *id);

static void engine_handle_event(Engine *e, const char *line, size_t len) {
        EngineEvent ev;
        int r;

        r = engine_event_parse(line, len, &ev);
        if (r < 0) {
                e->stats->failures++;
                return;
        }
        if (ev.action == ENGINE_ACTION_IGNORE) {
                engine_event_done(&ev);
                return;
        }
        e->stats->events++;
        int64_t t = ev.time_ms > 0 ? ev.time_ms : now_realtime_ms();
        ContainerInfo c = {
                .id = ev.id,
                .name = ev.name,
                .image = ev.image,
                .engine = (char *) e->recorded,
        };
        switch (ev.action) {
        case ENGINE_ACTION_INSPECT: {
                /* An event stands for the container until the inspect says more. A start's time
                 * is after its process began (by up to 46 ms measured, Docker): a start, whose
                 * slack covers that, not a creation, before which nothing of it ran. */
                const ContainerInfo *known = registry_get(e->registry, ev.id);
                if (ev.starts && (!known || known->started_ms == 0))
                        c.started_ms = t;
                else if (!known)
                        c.created_ms = t;
                (void) engine_update(e, &c);
                engine_queue_inspect(e, ev.id);
                break;
        }
        case ENGINE_ACTION_DIE:
                c.finished_ms = t;
                c.state = CONTAINER_STATE_EXITED;
                (void) engine_update(e, &c);
                engine_queue_inspect(e, ev.id); /* the exact FinishedAt */
                break;
        case ENGINE_ACTION_REMOVE:
                c.removed_ms = t;
                c.state = CONTAINER_STATE_EXITED;
                (void) engine_update(e, &c);
                break;
        default:
                break;
        }
        engine_event_done(&ev);
}

/* The string value of "key":"..." in the first part of an event, when it is made of the
 * characters allowed (both engines write "status" and "id" first, before the attributes, and
 * JSON escapes every quote a label could use to forge them). */
static bool cut_event_value(const char *text, size_t len, const char *key, char *ret, size_t size,
                            bool (*allowed)(char)) {
        char pattern[32];
        int n = snprintf(pattern, sizeof(pattern), "\"%s\":\"", key);
        const char *p = memmem(text, len, pattern, (size_t) n);
        if (!p)
                return false;
        p += n;
        size_t i = 0;
        for (; p + i < text + len && p[i] != '"'; i++)
                if (i + 1 >= size || !allowed(p[i]))
                        return false;
        if (p + i >= text + len || i == 0)
                return false;
        memcpy(ret, p, i);
        ret[i] = 0;
        return true;
}

static bool is_action_char(char c) {
        return c >= 'a' && c <= 'z';
}

static bool is_id_char(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '-' || c == '_' || c == '.';
}

/* An event over ENGINE_EVENT_LINE_MAX (a container with tens of kilobytes of labels, all copied
 * into every event) is not kept, but its beginning still says what happened to which container:
 * handled as the older engines' {"status": ..., "id": ...}, so the container is inspected (or
 * its removal recorded) and cannot hide from the registry behind its labels. */
static void engine_handle_cut_event(Engine *e, const char *prefix, size_t len) {
        char status[32], id[CONTAINER_STRING_MAX + 1], text[sizeof(id) + 64];

        if (!cut_event_value(prefix, len, "status", status, sizeof(status), is_action_char) ||
            !cut_event_value(prefix, len, "id", id, sizeof(id), is_id_char) ||
            !container_id_is_valid(id))
                return;
        int n = snprintf(text, sizeof(text), "{\"status\":\"%s\",\"id\":\"%s\"}", status, id);
        if (n > 0 && (size_t) n < sizeof(text))
                engine_handle_event(e, text, (size_t) n);
}

typedef struct Reconcile {
        Engine *engine;
        char **listed; /* sorted */
        size_t n_listed;
        char **gone;
        size_t n_gone, n_gone_alloc;
} Reconcile;

static int compare_ids(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* One container of the registry against the list: a binary search in the sorted ids, so that a
 * pass costs O((registry + list) log list), not registry x list (65,536 x 4,096 string compares
 * held the loop for seconds). */
static int reconcile_one(const ContainerInfo *c, void *userdata) {
        Reconcile *rc = userdata;
        const char *key = c->id;

        if (!c->engine || strcmp(c->engine, rc->engine->recorded) != 0 || c->removed_ms > 0)
                return 0;
        if (bsearch(&key, rc->listed, rc->n_listed, sizeof(char *), compare_ids))
                return 0;
        if (rc->n_gone == rc->n_gone_alloc) {
                size_t n = MAX(rc->n_gone_alloc * 2, (size_t) 64);
                char **gone = realloc(rc->gone, n * sizeof(char *));
                if (!gone)
                        return -ENOMEM;
                rc->gone = gone;
                rc->n_gone_alloc = n;
        }
        rc->gone[rc->n_gone] = strdup(c->id);
        if (!rc->gone[rc->n_gone])
                return -ENOMEM;
        rc->n_gone++;
        return 0;
}

static void engine_stop_removing(Engine *e) {
        e->removing = sd_event_source_disable_unref(e->removing);
        engine_ids_free(e->gone, e->n_gone);
        e->gone = NULL;
        e->n_gone = e->gone_next = 0;
}

/* Marks the next ENGINE_REMOVE_STEP containers the list left out as removed (each is a store
 * write, and may re-resolve stored denials), then lets the loop serve everyone else. */
static int engine_remove_step(sd_event_source *s, void *userdata) {
        Engine *e = userdata;
        size_t end = MIN(e->gone_next + ENGINE_REMOVE_STEP, e->n_gone);

        bool batch = registry_batch_begin(e->registry) >= 0;
        for (; e->gone_next < end; e->gone_next++)
                (void) registry_mark_removed(e->registry, e->gone[e->gone_next], e->gone_ms);
        if (batch)
                (void) registry_batch_end(e->registry);
        if (e->gone_next >= e->n_gone) {
                log_info("%zu %s container(s) were removed while %s was not followed.", e->n_gone,
                         e->name, e->name);
                engine_stop_removing(e);
        }
        return 0;
}

/* The containers of this engine the registry thinks alive that the list leaves out: removed
 * while we were not listening, recorded as removed now (an upper bound; nothing better is
 * known), in steps. ids is sorted in place. */
static int engine_reconcile(Engine *e, char **ids, size_t n) {
        Reconcile rc = {.engine = e, .listed = ids, .n_listed = n};
        int r;

        qsort(ids, n, sizeof(char *), compare_ids);
        r = registry_foreach(e->registry, reconcile_one, &rc);
        if (r < 0 || rc.n_gone == 0) {
                engine_ids_free(rc.gone, rc.n_gone);
                return r;
        }
        /* A newer list supersedes what an older one left to do. */
        engine_stop_removing(e);
        e->gone = rc.gone;
        e->n_gone = rc.n_gone;
        e->gone_ms = now_realtime_ms();
        r = sd_event_add_defer(e->event, &e->removing, engine_remove_step, e);
        if (r >= 0) /* a defer source is one-shot unless told otherwise */
                r = sd_event_source_set_enabled(e->removing, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_source_set_priority(e->removing, SD_EVENT_PRIORITY_IDLE);
        if (r < 0) {
                engine_stop_removing(e);
                return r;
        }
        return 0;
}

/* The list's ids, from the scanner the body went through (taken and freed). */
static int engine_handle_list(Engine *e, EngineListScanner *scanner) {
        char **ids = NULL;
        size_t n = 0;
        int r;

        r = scanner ? engine_list_scanner_finish(scanner, &ids, &n) : -EBADMSG;
        if (r < 0)
                return r;
        if (n < ENGINE_LIST_MAX) {
                r = engine_reconcile(e, ids, n);
                if (r < 0)
                        log_warning_errno(r, "Failed to reconcile %s's container list: %m",
                                          e->name);
        }
        for (size_t i = 0; i < n; i++)
                engine_queue_inspect(e, ids[i]);
        log_info("Following %s at %s: %zu container(s).", e->name, e->socket_path, n);
        engine_ids_free(ids, n);
        e->listed = true;
        e->quiet = false;
        e->backoff_usec = 0;
        return 0;
}

static void engine_handle_inspect(Engine *e, const char *id, const char *body, size_t len) {
        ContainerInfo c;
        int r;

        r = engine_inspect_parse(body, len, e->recorded, &c);
        if (r < 0 || strcmp(c.id, id) != 0) {
                if (r >= 0)
                        container_info_done(&c);
                e->stats->failures++;
                engine_set_error(e, "container inspect", r < 0 ? r : -EBADMSG);
                return;
        }
        e->stats->inspects++;
        (void) engine_update(e, &c);
        container_info_done(&c);
}

/* ---- requests ---- */

static void engine_next_request(Engine *e);

static void engine_queue_inspect(Engine *e, const char *id) {
        size_t cap = ENGINE_QUEUE_MAX;

        /* Full first: a flood of events must not pay a scan of the whole queue each. */
        if (e->queue_len >= cap) {
                e->stats->failures++;
                snprintf(e->stats->last_error, sizeof(e->stats->last_error),
                         "inspect queue full (%d): container %.12s not inspected", ENGINE_QUEUE_MAX,
                         id);
                return;
        }
        for (size_t i = 0; i < e->queue_len; i++)
                if (strcmp(e->queue[(e->queue_head + i) % cap], id) == 0)
                        return;
        if (e->request.kind == REQUEST_INSPECT && strcmp(e->request.id, id) == 0)
                return;
        char *copy = strdup(id);
        if (!copy)
                return;
        e->queue[(e->queue_head + e->queue_len) % cap] = copy;
        e->queue_len++;
        engine_next_request(e);
}

static void engine_clear_queue(Engine *e) {
        while (e->queue_len > 0) {
                free(e->queue[e->queue_head]);
                e->queue[e->queue_head] = NULL;
                e->queue_head = (e->queue_head + 1) % ENGINE_QUEUE_MAX;
                e->queue_len--;
        }
        e->queue_head = 0;
}

static void engine_start_request(Engine *e, RequestKind kind, const char *id) {
        char text[ENGINE_REQUEST_TEXT_MAX];
        int r;

        if (kind == REQUEST_LIST)
                snprintf(text, sizeof(text),
                         "GET /containers/json?all=1&limit=%d HTTP/1.1\r\nHost: %s\r\n"
                         "Connection: close\r\n\r\n",
                         ENGINE_LIST_MAX, e->name);
        else
                snprintf(
                        text, sizeof(text),
                        "GET /containers/%s/json HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                        id, e->name);
        r = conn_open(&e->request, kind, text, ENGINE_REQUEST_TIMEOUT_USEC);
        if (r < 0) {
                e->stats->failures++;
                engine_set_error(e, "request", r);
                return;
        }
        if (id)
                snprintf(e->request.id, sizeof(e->request.id), "%s", id);
}

/* Starts the next inspect when nothing else is in flight. */
static void engine_next_request(Engine *e) {
        while (e->connected && e->request.kind == REQUEST_NONE && e->queue_len > 0) {
                _cleanup_(freep) char *id = e->queue[e->queue_head];
                e->queue[e->queue_head] = NULL;
                e->queue_head = (e->queue_head + 1) % ENGINE_QUEUE_MAX;
                e->queue_len--;
                if (container_id_is_valid(id) && strlen(id) < ENGINE_REQUEST_TEXT_MAX - 128)
                        engine_start_request(e, REQUEST_INSPECT, id);
        }
}

/* ---- the connection's life ---- */

static void engine_schedule_retry(Engine *e) {
        int r;

        if (e->backoff_usec == 0)
                e->backoff_usec = e->retry_min_usec;
        else
                e->backoff_usec = MIN(e->backoff_usec * 2, e->retry_max_usec);
        r = sd_event_source_set_time_relative(e->retry, e->backoff_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->retry, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to schedule a reconnect to %s: %m", e->name);
}

/* The event stream failed or ended: drop everything, try again later. */
static void engine_disconnect(Engine *e, int error, const char *what) {
        /* Lost only once it was followed: a stream whose list keeps failing is an outage that
         * goes on (said once, retried with a growing backoff), not a loss per attempt. */
        bool was_connected = e->connected && e->listed;

        conn_close(&e->events);
        conn_close(&e->request);
        engine_clear_queue(e);
        e->connected = e->listed = false;
        e->stats->failures++;
        engine_set_error(e, what, error);
        if (was_connected) {
                e->backoff_usec = 0;
                log_notice("Lost %s at %s (%s); reconnecting in the background.", e->name,
                           e->socket_path, e->stats->last_error);
                e->quiet = true;
        } else if (!e->quiet) {
                log_notice("%s is not available at %s (%s); retrying in the background, "
                           "attributing by pid and /proc meanwhile.",
                           e->name, e->socket_path, e->stats->last_error);
                e->quiet = true;
        }
        engine_set_state(e, "unavailable");
        engine_schedule_retry(e);
}

static void engine_connect(Engine *e) {
        char text[ENGINE_REQUEST_TEXT_MAX];
        int r;

        snprintf(text, sizeof(text), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", ENGINE_EVENTS_PATH,
                 e->name);
        r = conn_open(&e->events, REQUEST_EVENTS, text, ENGINE_REQUEST_TIMEOUT_USEC);
        if (r < 0) {
                engine_disconnect(e, r, "connect");
                return;
        }
        e->stats->connects++;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        engine_connect(userdata);
        return 0;
}

/* The event stream's head: 200 means the engine is there and we follow it. */
static int events_head(Conn *c) {
        Engine *e = c->engine;

        c->head_done = true;
        if (c->http->status != 200)
                return -EPROTO;
        c->deadline = sd_event_source_disable_unref(c->deadline); /* a stream has no end */
        /* podman-docker links /run/docker.sock to Podman's socket: what answers there is
         * Podman, and its containers are podman's (the same as Podman= records, were both set). */
        const char *recorded = c->http->libpod ? "podman" : e->name;
        if (strcmp(recorded, e->name) != 0 && strcmp(recorded, e->recorded) != 0)
                log_notice("%s at %s is Podman's Docker-compatible API: its containers are "
                           "recorded as podman's.",
                           e->name, e->socket_path);
        e->recorded = recorded;
        e->connected = true;
        e->stats->last_error[0] = 0;
        engine_set_state(e, "connected");
        engine_start_request(e, REQUEST_LIST, NULL);
        return 0;
}

static int on_events_body(const char *data, size_t len, void *userdata) {
        Conn *c = userdata;

        if (!c->head_done) {
                int r = events_head(c);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < len; i++) {
                if (data[i] == '\n') {
                        if (c->body_len > 0 && !c->skipping)
                                engine_handle_event(c->engine, c->body, c->body_len);
                        c->body_len = 0;
                        c->skipping = false;
                        continue;
                }
                if (c->skipping)
                        continue;
                if (c->body_len >= c->body_max) {
                        /* A container with megabytes of labels makes every one of its events
                         * this long: skip that event, keep the stream (and everyone else's). */
                        c->engine->stats->failures++;
                        snprintf(c->engine->stats->last_error, sizeof(c->engine->stats->last_error),
                                 "event larger than %d KiB skipped", ENGINE_EVENT_LINE_MAX / 1024);
                        engine_handle_cut_event(c->engine, c->body, c->body_len);
                        c->skipping = true;
                        continue;
                }
                if (c->body_len >= c->body_size) {
                        size_t size = MIN(MAX(c->body_size * 2, (size_t) 4096), c->body_max);
                        char *b = realloc(c->body, size);
                        if (!b)
                                return -ENOMEM;
                        c->body = b;
                        c->body_size = size;
                }
                c->body[c->body_len++] = data[i];
        }
        return 0;
}

static int on_request_body(const char *data, size_t len, void *userdata) {
        Conn *c = userdata;

        if (c->kind == REQUEST_LIST && c->http->status == 200) {
                /* Every container's labels are in there: scanned, not buffered. */
                if (!c->list) {
                        int r = engine_list_scanner_new(&c->list);
                        if (r < 0)
                                return r;
                }
                return engine_list_scanner_feed(c->list, data, len);
        }
        if (len > c->body_max - c->body_len)
                return -E2BIG;
        if (c->body_len + len + 1 > c->body_size) {
                size_t size = MAX(c->body_size * 2, c->body_len + len + 1);
                size = MAX(size, (size_t) 16384);
                size = MIN(size, c->body_max + 1);
                char *b = realloc(c->body, size);
                if (!b)
                        return -ENOMEM;
                c->body = b;
                c->body_size = size;
        }
        memcpy(c->body + c->body_len, data, len);
        c->body_len += len;
        c->body[c->body_len] = 0;
        return 0;
}

/* A list or inspect answer is complete (or failed with error < 0). */
static void request_done(Conn *c, int error) {
        Engine *e = c->engine;
        RequestKind kind = c->kind;
        char id[sizeof(c->id)];

        memcpy(id, c->id, sizeof(id));
        if (kind == REQUEST_LIST) {
                /* Without the list the containers that already exist stay unknown and no
                 * removal is reconciled: a failed list (an engine not ready yet, a bad answer)
                 * is a failed connection, retried from the start with the backoff. */
                int r = error < 0                ? error
                        : c->http->status != 200 ? -EPROTO
                                                 : engine_handle_list(e, TAKE_PTR(c->list));
                conn_close(c);
                if (r < 0) {
                        engine_disconnect(e, r, "container list");
                        return;
                }
        } else {
                if (error == -E2BIG) {
                        e->stats->failures++;
                        snprintf(e->stats->last_error, sizeof(e->stats->last_error),
                                 "inspect answer larger than %d MiB: container %.12s skipped",
                                 ENGINE_RESPONSE_MAX / (1024 * 1024), id);
                } else if (error < 0) {
                        e->stats->failures++;
                        engine_set_error(e, "container inspect", error);
                } else if (c->http->status == 404) {
                        /* Gone before we asked: its events have said what there is to say. */
                } else if (c->http->status != 200) {
                        e->stats->failures++;
                        snprintf(e->stats->last_error, sizeof(e->stats->last_error),
                                 "HTTP status %d", c->http->status);
                } else
                        engine_handle_inspect(e, id, c->body ? c->body : "", c->body_len);
                conn_close(c);
        }
        engine_next_request(e);
}

static void conn_failed(Conn *c, int error) {
        if (c->kind == REQUEST_EVENTS)
                engine_disconnect(c->engine, error, "event stream");
        else
                request_done(c, error);
}

static int on_conn_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        conn_failed(userdata, -ETIMEDOUT);
        return 0;
}

/* Reads what is there, within the wake-up's budget. */
static void conn_read(Conn *c) {
        char buf[ENGINE_READ_CHUNK];
        uint64_t begin = now_monotonic_usec();
        int r;

        for (int i = 0; i < ENGINE_READS_PER_WAKE; i++) {
                /* The socket stays readable: what is left comes at the next wake-up. */
                if (i > 0 && now_monotonic_usec() - begin > ENGINE_WAKE_BUDGET_USEC)
                        return;
                ssize_t n = recv(c->fd, buf,
                                 c->kind == REQUEST_EVENTS ? ENGINE_EVENTS_READ_CHUNK : sizeof(buf),
                                 MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        conn_failed(c, negative_errno());
                        return;
                }
                if (n == 0) {
                        r = http_response_eof(c->http);
                        if (c->kind == REQUEST_EVENTS)
                                conn_failed(c, -ECONNRESET); /* the engine went away */
                        else
                                request_done(c, r > 0 ? 0 : r);
                        return;
                }
                size_t consumed = 0;
                r = http_response_feed(c->http, buf, (size_t) n,
                                       c->kind == REQUEST_EVENTS ? on_events_body : on_request_body,
                                       c, &consumed);
                if (r >= 0 && c->kind == REQUEST_EVENTS && !c->head_done &&
                    c->http->state != HTTP_STATE_HEAD)
                        r = events_head(c);
                if (r < 0) {
                        conn_failed(c, r);
                        return;
                }
                if (r > 0) {
                        /* Complete. A stream that completes has ended. */
                        if (c->kind == REQUEST_EVENTS)
                                conn_failed(c, -ECONNRESET);
                        else
                                request_done(c, 0);
                        return;
                }
        }
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;

        if (c->out_sent < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        conn_failed(c, negative_errno());
                        return 0;
                }
                if (n > 0)
                        c->out_sent += n;
                if (c->out_sent == c->out_len)
                        (void) sd_event_source_set_io_events(c->io, EPOLLIN);
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        /* A burst of events is many registry updates: one transaction for all of them, not a
         * commit each (the store's errors are counted and logged by the updates themselves). */
        Registry *registry = c->engine->registry;
        bool batch = c->kind == REQUEST_EVENTS && registry_batch_begin(registry) >= 0;
        conn_read(c);
        if (batch)
                (void) registry_batch_end(registry);
        return 0;
}

/* ---- the handle ---- */

int engine_new(sd_event *event, const char *name, const char *socket_path, Registry *registry,
               EngineStats *stats, Engine **ret) {
        Engine *e;
        int r;

        if (!event || !name || !socket_path || !registry || !stats || !ret)
                return -EINVAL;
        e = calloc(1, sizeof(Engine));
        if (!e)
                return -ENOMEM;
        e->event = sd_event_ref(event);
        e->registry = registry;
        e->stats = stats;
        e->events = (Conn){.engine = e, .fd = -EBADF};
        e->request = (Conn){.engine = e, .fd = -EBADF};
        e->retry_min_usec = ENGINE_RETRY_MIN_USEC;
        e->retry_max_usec = ENGINE_RETRY_MAX_USEC;
        e->name = strdup(name);
        e->recorded = e->name;
        e->socket_path = strdup(socket_path);
        e->queue = calloc(ENGINE_QUEUE_MAX, sizeof(char *));
        if (!e->name || !e->socket_path || !e->queue) {
                engine_free(e);
                return -ENOMEM;
        }
        *stats = (EngineStats){};
        snprintf(stats->name, sizeof(stats->name), "%s", name);
        snprintf(stats->socket, sizeof(stats->socket), "%s", socket_path);
        engine_set_state(e, "connecting");

        r = sd_event_add_time_relative(event, &e->retry, CLOCK_MONOTONIC, 0, 0, on_retry, e);
        if (r < 0) {
                engine_free(e);
                return r;
        }
        /* The first attempt runs from the loop, like every later one. */
        *ret = e;
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        conn_close(&e->events);
        conn_close(&e->request);
        free(e->events.http);
        free(e->request.http);
        if (e->queue)
                engine_clear_queue(e);
        free(e->queue);
        engine_stop_removing(e);
        sd_event_source_disable_unref(e->record_flush);
        sd_event_source_disable_unref(e->retry);
        sd_event_unref(e->event);
        free(e->name);
        free(e->socket_path);
        free(e);
        return NULL;
}

bool engine_is_connected(const Engine *e) {
        return e && e->connected;
}

void engine_stats_disabled(EngineStats *stats, const char *name) {
        *stats = (EngineStats){.state = "disabled"};
        snprintf(stats->name, sizeof(stats->name), "%s", name);
}

const char *engine_name(const Engine *e) {
        return e ? e->recorded : NULL;
}

void engine_set_retry_usec(Engine *e, uint64_t min_usec, uint64_t max_usec) {
        e->retry_min_usec = min_usec;
        e->retry_max_usec = MAX(min_usec, max_usec);
}
