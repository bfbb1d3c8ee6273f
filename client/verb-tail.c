/* SPDX-License-Identifier: MIT */
/* avcctl tail [-f] [-n N] [FILTERS]
 *
 * Without -f: the last N matching stored denials, oldest first. The store is asked newest first
 * (Query reverse, limit N) and the result is printed backwards, so N is bounded: these denials
 * are held in memory at once.
 * With -f: io.avcwatch.Tail with "more": true; the daemon sends the last N and then every new
 * matching denial, one reply each. Each is printed and stdout flushed at once, so that
 * `avcctl tail -f | grep ...` sees denials as they happen. SIGINT/SIGTERM end it with status 0
 * (the user asked to stop); the daemon going away ends it with status 2 (the user did not).
 * --limit N stops after N denials in both modes (handy for scripts waiting for one event). */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "filter-options.h"
#include "verbs.h"

#define TAIL_LINES_DEFAULT 10
/* Without -f every line is buffered before printing; bound what -n can make us hold. */
#define TAIL_LINES_MAX 10000
/* With -f the backlog comes from the daemon's Tail, which sends at most this many (docs/api.md,
 * "Tail backlog"): more is a usage error said here, not a parameter the daemon rejects. */
#define TAIL_FOLLOW_LINES_MAX 1000

enum {
        ARG_TAIL_FOLLOW = 'f',
        ARG_TAIL_LINES = 'n',
};

typedef struct TailArgs {
        FilterOptions filter;
        bool follow;
        uint64_t lines;
} TailArgs;

/* The signal handler's only way to reach the event loop: a self-pipe watched next to the
 * socket. Static because a handler has no user data. */
static int tail_signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t tail_interrupted;

static void tail_signal_handler(int sig) {
        int saved = errno;
        char c = 0;

        tail_interrupted = 1;
        (void) !write(tail_signal_pipe[1], &c, 1);
        errno = saved;
}

static int tail_catch_signals(void) {
        struct sigaction sa = {.sa_handler = tail_signal_handler};

        if (pipe2(tail_signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: a write to a stuck pipe must give way to the signal too. */
        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
                return negative_errno();
        return 0;
}

static void tail_args_done(TailArgs *a) {
        filter_options_done(&a->filter);
}

static int tail_parse_option(int c, const char *arg, void *userdata) {
        TailArgs *a = userdata;
        int r;

        r = filter_options_parse_one(&a->filter, c, arg);
        if (r != 0)
                return r < 0 ? r : 0;
        switch (c) {
        case ARG_TAIL_FOLLOW:
                a->follow = true;
                return 0;
        case ARG_TAIL_LINES:
                if (parse_count(arg, 0, TAIL_LINES_MAX, &a->lines) < 0) {
                        fprintf(stderr, "avcctl: invalid value for --lines: expected 0..%d\n",
                                TAIL_LINES_MAX);
                        return -EINVAL;
                }
                return 0;
        default:
                return -ENOENT;
        }
}

static int tail_collect(json_object *denial, void *userdata) {
        if (!json_object_is_type(denial, json_type_object))
                return -EBADMSG;
        if (json_object_array_add(userdata, json_object_get(denial)) < 0) {
                json_object_put(denial);
                return -ENOMEM;
        }
        return 0;
}

static int tail_stored(VarlinkClient *c, json_object *filter, uint64_t n, Output *out) {
        json_object *list;
        int status;

        if (n == 0)
                return AVCCTL_EXIT_SUCCESS;
        list = json_object_new_array();
        if (!list) {
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        status = query_run(c, filter, /* reverse= */ true, true, n, tail_collect, list);
        if (status == AVCCTL_EXIT_SUCCESS)
                for (size_t i = json_object_array_length(list); i > 0; i--)
                        (void) output_denial(out, json_object_array_get_idx(list, i - 1));
        json_object_put(list);
        return status;
}

static int tail_follow(VarlinkClient *c, json_object *filter, const TailArgs *a, Output *out) {
        uint64_t printed = 0;
        json_object *params;
        int r;

        r = tail_catch_signals();
        if (r < 0) {
                fprintf(stderr, "avcctl: cannot set up signal handling: %s\n", strerror(-r));
                return AVCCTL_EXIT_FAILURE;
        }
        varlink_client_set_interrupt_fd(c, tail_signal_pipe[0]);

        params = json_object_new_object();
        if (!params ||
            (filter && json_object_object_add(params, "filter", json_object_get(filter)) < 0) ||
            json_object_object_add(params, "lines", json_object_new_int64((int64_t) a->lines)) <
                    0) {
                json_object_put(params);
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        r = varlink_client_send(c, "io.avcwatch.Tail", params, /* more= */ true);
        json_object_put(params);
        if (r < 0)
                return client_io_failed(r);

        for (;;) {
                _cleanup_(varlink_reply_done) VarlinkReply reply = {};
                json_object *denial;

                r = varlink_client_read(c, -1, &reply);
                if (r == -EINTR || tail_interrupted)
                        return AVCCTL_EXIT_SUCCESS;
                if (r < 0)
                        return client_io_failed(r);
                if (reply.error)
                        return client_reply_failed(&reply);

                if (!json_object_object_get_ex(reply.parameters, "denial", &denial) ||
                    output_denial(out, denial) < 0)
                        return client_io_failed(-EBADMSG);
                if (fflush(stdout) != 0 || ferror(stdout)) {
                        if (tail_interrupted)
                                return AVCCTL_EXIT_SUCCESS;
                        return client_flush_stdout();
                }
                printed++;
                if (a->filter.has_limit && printed >= a->filter.limit)
                        return AVCCTL_EXIT_SUCCESS;
                if (!reply.continues) {
                        fprintf(stderr, "avcctl: avcwatchd ended the live tail\n");
                        return AVCCTL_EXIT_DAEMON;
                }
        }
}

int verb_tail(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {
                FILTER_OPTIONS,
                {"follow", no_argument, NULL, ARG_TAIL_FOLLOW},
                {"lines", required_argument, NULL, ARG_TAIL_LINES},
                {},
        };
        _cleanup_(tail_args_done) TailArgs a = {.lines = TAIL_LINES_DEFAULT};
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        json_object *filter = NULL;
        Output out;
        int r, status;

        filter_options_init(&a.filter, now_realtime_ms());
        r = verb_parse_options(argc, argv, options, "fn:", tail_parse_option, &a, ctx);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;
        if (filter_options_finish(&a.filter) < 0)
                return AVCCTL_EXIT_FAILURE;
        if (a.follow && a.lines > TAIL_FOLLOW_LINES_MAX) {
                fprintf(stderr,
                        "avcctl tail: with --follow, --lines is at most %d (without it, %d)\n",
                        TAIL_FOLLOW_LINES_MAX, TAIL_LINES_MAX);
                return AVCCTL_EXIT_FAILURE;
        }

        r = denial_filter_to_json(&a.filter.filter, &filter);
        if (r < 0) {
                fprintf(stderr, "avcctl: cannot encode the filter: %s\n", strerror(-r));
                return AVCCTL_EXIT_FAILURE;
        }

        status = client_connect(ctx, &c);
        if (status == AVCCTL_EXIT_SUCCESS) {
                client_output_init(&out, ctx);
                output_denials_header(&out);
                if (a.follow)
                        status = tail_follow(c, filter, &a, &out);
                else {
                        uint64_t n = a.filter.has_limit ? MIN(a.lines, a.filter.limit) : a.lines;
                        status = tail_stored(c, filter, n, &out);
                        if (status == AVCCTL_EXIT_SUCCESS)
                                output_header_flush(&out);
                        r = client_flush_stdout();
                        if (status == AVCCTL_EXIT_SUCCESS)
                                status = r;
                }
        }
        json_object_put(filter);
        return status;
}
