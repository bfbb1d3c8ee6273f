/* SPDX-License-Identifier: MIT */
/* CRI-O's HTTP inspect (crio-inspect.h).
 *
 * Decisions:
 * - The endpoint is CRI-O's server/inspect.go: GET /containers/{id} answers its
 *   pkg/types.ContainerInfo as JSON, 404 for a container it does not know. It is asked only for
 *   containers whose config.json was not there, so the queue is short: one connection at a time,
 *   a new one per request (CRI-O's server closes it or not; we do not depend on keep-alive).
 * - Bounded: RUNTIME_INSPECT_QUEUE_MAX waiting ids, RUNTIME_INSPECT_RESPONSE_MAX bytes of reply,
 *   RUNTIME_INSPECT_TIMEOUT_USEC per request. The reply is parsed by http.c, whose framing is
 *   bounded too. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "container.h"
#include "crio-inspect.h"
#include "http.h"
#include "macro.h"
#include "runtime-state.h"

struct CrioInspect {
        sd_event *event;
        char *socket_path;
        crio_inspect_cb cb;
        void *userdata;
        char **queue; /* ids waiting, oldest first */
        size_t n_queued;
        /* The request in flight. */
        char *id;
        int fd;
        sd_event_source *io, *deadline;
        HttpResponse *http;
        char out[CONTAINER_STRING_MAX + 128];
        size_t out_len, out_sent;
        char *body;
        size_t body_len;
};

static void request_close(CrioInspect *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->deadline = sd_event_source_disable_unref(c->deadline);
        if (c->fd >= 0)
                (void) close(c->fd);
        c->fd = -EBADF;
        free(c->id);
        c->id = NULL;
        free(c->body);
        c->body = NULL;
        c->body_len = 0;
}

static void request_next(CrioInspect *c);

static void request_done(CrioInspect *c, int error) {
        if (error >= 0 && c->http->status == 404)
                error = -ENOENT;
        else if (error >= 0 && c->http->status != 200)
                error = -EPROTO;
        c->cb(c->id, c->body ? c->body : "", c->body_len, error, c->userdata);
        request_close(c);
        request_next(c);
}

static int on_body(const char *data, size_t len, void *userdata) {
        CrioInspect *c = userdata;

        if (len > RUNTIME_INSPECT_RESPONSE_MAX - c->body_len)
                return -E2BIG;
        char *b = realloc(c->body, c->body_len + len + 1);
        if (!b)
                return -ENOMEM;
        c->body = b;
        memcpy(c->body + c->body_len, data, len);
        c->body_len += len;
        c->body[c->body_len] = 0;
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CrioInspect *c = userdata;
        char buf[16384];
        int r;

        if (c->out_sent < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno != EAGAIN && errno != EINTR) {
                        request_done(c, negative_errno());
                        return 0;
                }
                if (n > 0)
                        c->out_sent += (size_t) n;
                if (c->out_sent == c->out_len)
                        (void) sd_event_source_set_io_events(c->io, EPOLLIN);
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        request_done(c, negative_errno());
                return 0;
        }
        if (n == 0) {
                r = http_response_eof(c->http);
                request_done(c, r > 0 ? 0 : r);
                return 0;
        }
        r = http_response_feed(c->http, buf, (size_t) n, on_body, c, NULL);
        if (r != 0)
                request_done(c, r > 0 ? 0 : r);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        request_done(userdata, -ETIMEDOUT);
        return 0;
}

static int request_start(CrioInspect *c) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int r;

        if (strlen(c->socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, c->socket_path);
        /* "": CRI-O's /info (no container id is empty). */
        int n = snprintf(c->out, sizeof(c->out),
                         "GET %s%s HTTP/1.1\r\nHost: crio\r\nConnection: close\r\n\r\n",
                         c->id[0] ? "/containers/" : "/info", c->id);
        if (n < 0 || (size_t) n >= sizeof(c->out))
                return -E2BIG;
        c->out_len = (size_t) n;
        c->out_sent = 0;
        http_response_init(c->http);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return negative_errno();
        /* A local stream socket connects at once or fails at once. */
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        r = sd_event_add_io(c->event, &c->io, c->fd, EPOLLOUT | EPOLLIN, on_io, c);
        if (r < 0)
                return r;
        return sd_event_add_time_relative(c->event, &c->deadline, CLOCK_MONOTONIC,
                                          RUNTIME_INSPECT_TIMEOUT_USEC, 0, on_deadline, c);
}

static void request_next(CrioInspect *c) {
        while (!c->id && c->n_queued > 0) {
                c->id = c->queue[0];
                memmove(c->queue, c->queue + 1, (c->n_queued - 1) * sizeof(char *));
                c->n_queued--;
                int r = request_start(c);
                if (r < 0) {
                        c->cb(c->id, "", 0, r, c->userdata);
                        request_close(c);
                }
        }
}

int crio_inspect_queue(CrioInspect *c, const char *id) {
        if (!c || !id || (id[0] && !container_id_is_valid(id)))
                return -EINVAL;
        if (c->n_queued >= RUNTIME_INSPECT_QUEUE_MAX)
                return -EXFULL;
        char *copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        c->queue[c->n_queued++] = copy;
        request_next(c);
        return 0;
}

int crio_inspect_new(sd_event *event, const char *socket_path, crio_inspect_cb cb, void *userdata,
                     CrioInspect **ret) {
        CrioInspect *c;

        if (!event || !socket_path || !cb || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(CrioInspect));
        if (!c)
                return -ENOMEM;
        c->fd = -EBADF;
        c->event = sd_event_ref(event);
        c->cb = cb;
        c->userdata = userdata;
        c->socket_path = strdup(socket_path);
        c->queue = calloc(RUNTIME_INSPECT_QUEUE_MAX, sizeof(char *));
        c->http = malloc(sizeof(HttpResponse));
        if (!c->socket_path || !c->queue || !c->http) {
                crio_inspect_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

CrioInspect *crio_inspect_free(CrioInspect *c) {
        if (!c)
                return NULL;
        request_close(c);
        for (size_t i = 0; i < c->n_queued; i++)
                free(c->queue[i]);
        free(c->queue);
        free(c->http);
        free(c->socket_path);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}
