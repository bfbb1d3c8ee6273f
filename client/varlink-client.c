/* SPDX-License-Identifier: MIT */
/* A small blocking Varlink client. One call at a time: avcctl never pipelines, so replies are
 * read in order and the state is just a socket and a reader. Waiting is done with poll() so that
 * a call can time out and a live tail can be interrupted by a signal (through a self-pipe, which
 * has no race between "check the flag" and "block in read"). Writes use MSG_NOSIGNAL: a daemon
 * that went away is an error to report, not a SIGPIPE. */

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "clock.h"
#include "varlink-client.h"
#include "varlink.h"

struct VarlinkClient {
        int fd;
        int interrupt_fd;
        VarlinkReader *reader;
        int broken; /* the first fatal error; every later operation returns it */
};

void varlink_reply_done(VarlinkReply *r) {
        if (!r)
                return;
        if (r->message)
                json_object_put(r->message);
        *r = (VarlinkReply){};
}

int varlink_client_connect(const char *path, VarlinkClient **ret) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_(closep) int fd = -EBADF;
        VarlinkClient *c;
        size_t len;
        int r;

        if (!path || !*path)
                return -EINVAL;
        len = strlen(path);
        if (len >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, len + 1);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        do
                r = connect(fd, (struct sockaddr *) &sa,
                            (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1));
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return negative_errno();

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = varlink_reader_new(VARLINK_CLIENT_MESSAGE_MAX, &c->reader);
        if (r < 0) {
                free(c);
                return r;
        }
        c->fd = TAKE_FD(fd);
        c->interrupt_fd = -1;
        *ret = c;
        return 0;
}

VarlinkClient *varlink_client_free(VarlinkClient *c) {
        if (!c)
                return NULL;
        if (c->fd >= 0)
                close(c->fd);
        varlink_reader_free(c->reader);
        free(c);
        return NULL;
}

void varlink_client_set_interrupt_fd(VarlinkClient *c, int fd) {
        c->interrupt_fd = fd;
}

static int fail(VarlinkClient *c, int r) {
        if (!c->broken)
                c->broken = r;
        return r;
}

int varlink_client_send(VarlinkClient *c, const char *method, json_object *params, bool more) {
        _cleanup_(freep) char *buf = NULL;
        json_object *call;
        size_t len, done = 0;
        int r;

        if (c->broken)
                return c->broken;

        call = json_object_new_object();
        if (!call)
                return -ENOMEM;
        if (json_object_object_add(call, "method", json_object_new_string(method)) < 0 ||
            /* Always send "parameters" ({} when none): strict servers insist on it. */
            json_object_object_add(call, "parameters",
                                   params ? json_object_get(params) : json_object_new_object()) <
                    0 ||
            (more && json_object_object_add(call, "more", json_object_new_boolean(true)) < 0)) {
                json_object_put(call);
                return -ENOMEM;
        }
        r = varlink_serialize(call, &buf, &len);
        json_object_put(call);
        if (r < 0)
                return r;

        while (done < len) {
                ssize_t n = send(c->fd, buf + done, len - done, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return fail(c, errno == EPIPE ? -ECONNRESET : negative_errno());
                }
                done += (size_t) n;
        }
        return 0;
}

/* Checks the shape of a reply: an object with optional "parameters" (object), "error" (string)
 * and "continues" (bool). */
static int reply_from_message(json_object *m, VarlinkReply *ret) {
        json_object *params = NULL, *error = NULL, *continues = NULL;

        if (json_object_object_get_ex(m, "parameters", &params) &&
            !json_object_is_type(params, json_type_object) &&
            !json_object_is_type(params, json_type_null))
                return -EBADMSG;
        if (json_object_object_get_ex(m, "error", &error) &&
            !json_object_is_type(error, json_type_string))
                return -EBADMSG;
        if (json_object_object_get_ex(m, "continues", &continues) &&
            !json_object_is_type(continues, json_type_boolean))
                return -EBADMSG;

        if (!params || json_object_is_type(params, json_type_null)) {
                params = json_object_new_object();
                if (!params || json_object_object_add(m, "parameters", params) < 0) {
                        json_object_put(params);
                        return -ENOMEM;
                }
        }
        *ret = (VarlinkReply){
                .message = m,
                .parameters = params,
                .error = error ? json_object_get_string(error) : NULL,
                .continues = continues && json_object_get_boolean(continues),
        };
        return 0;
}

/* Waits for the next complete message: its text, valid until the next read. */
static int read_message(VarlinkClient *c, int timeout_ms, const char **ret, size_t *ret_len) {
        int64_t deadline = timeout_ms >= 0 ? now_monotonic_ms() + timeout_ms : -1;

        if (c->broken)
                return c->broken;

        for (;;) {
                struct pollfd p[2] = {
                        {.fd = c->fd, .events = POLLIN},
                        {.fd = c->interrupt_fd, .events = POLLIN},
                };
                int r, wait_ms = -1;
                void *space;
                size_t size;
                ssize_t n;

                r = varlink_reader_next_text(c->reader, ret, ret_len);
                if (r < 0)
                        return fail(c, r);
                if (r > 0)
                        return 0;

                if (deadline >= 0) {
                        int64_t left = deadline - now_monotonic_ms();
                        if (left <= 0)
                                return fail(c, -ETIMEDOUT);
                        wait_ms = (int) MIN(left, (int64_t) INT32_MAX);
                }
                r = poll(p, c->interrupt_fd >= 0 ? 2 : 1, wait_ms);
                if (r < 0) {
                        if (errno == EINTR)
                                continue; /* a handler that matters wrote to interrupt_fd */
                        return fail(c, negative_errno());
                }
                if (c->interrupt_fd >= 0 && (p[1].revents & POLLIN))
                        return -EINTR; /* not fatal: the caller decides */
                if (r == 0)
                        continue; /* the deadline check above ends it */

                space = varlink_reader_space(c->reader, &size);
                n = recv(c->fd, space, size, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return fail(c, errno == ECONNRESET ? -ECONNRESET : negative_errno());
                }
                if (n == 0)
                        /* Whatever is buffered is an incomplete message: the daemon is gone. */
                        return fail(c, -ECONNRESET);
                varlink_reader_advance(c->reader, (size_t) n);
        }
}

int varlink_client_reply_parse(VarlinkClient *c, const char *text, size_t len, VarlinkReply *ret) {
        json_object *m = NULL;
        int r;

        r = varlink_parse_message(text, len, &m);
        if (r < 0)
                return fail(c, r);
        r = reply_from_message(m, ret);
        if (r < 0) {
                json_object_put(m);
                return fail(c, r);
        }
        return 0;
}

int varlink_client_read_text(VarlinkClient *c, int timeout_ms, const char **ret, size_t *ret_len) {
        return read_message(c, timeout_ms, ret, ret_len);
}

int varlink_client_read(VarlinkClient *c, int timeout_ms, VarlinkReply *ret) {
        const char *text;
        size_t len;
        int r;

        r = read_message(c, timeout_ms, &text, &len);
        if (r < 0)
                return r;
        return varlink_client_reply_parse(c, text, len, ret);
}

int varlink_client_call(VarlinkClient *c, const char *method, json_object *params,
                        VarlinkReply *ret) {
        int r;

        r = varlink_client_send(c, method, params, false);
        if (r < 0)
                return r;
        return varlink_client_read(c, VARLINK_CLIENT_CALL_TIMEOUT_MS, ret);
}
