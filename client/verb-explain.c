/* SPDX-License-Identifier: MIT */
/* avcctl explain SERIAL [FILTERS] | explain --last [FILTERS]: why one audit event's denials
 * happened, what they mean and what to do: the denial, its container, the reason with the
 * booleans and the constraint text, the verdict and the hint (output-explain.c), like audit2why
 * but named and container-aware. One io.avcwatch.Explain call.
 *
 * A serial may name several events (serials restart at boot, each node counts its own): all are
 * shown, newest first, each under its own head line; --since/--until pick one. An event may
 * hold several denials (several AVC records): each is explained. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "filter-options.h"
#include "strutil.h"
#include "verbs.h"

enum {
        ARG_EXPLAIN_LAST = 0x300,
};

typedef struct ExplainArgs {
        FilterOptions filter;
        bool last;
} ExplainArgs;

static void explain_args_done(ExplainArgs *a) {
        filter_options_done(&a->filter);
}

static int explain_parse_option(int c, const char *arg, void *userdata) {
        ExplainArgs *a = userdata;
        int r;

        r = filter_options_parse_one(&a->filter, c, arg);
        if (r != 0)
                return r < 0 ? r : 0;
        if (c == ARG_EXPLAIN_LAST) {
                a->last = true;
                return 0;
        }
        return -ENOENT;
}

static const char *json_str(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) &&
                               json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

/* Whether two ExplainedDenials are of one event: same time and serial (the daemon returns an
 * event's denials next to each other). */
static bool same_event(json_object *a, json_object *b) {
        json_object *da, *db, *sa, *sb;
        if (!json_object_object_get_ex(a, "denial", &da) ||
            !json_object_object_get_ex(b, "denial", &db))
                return false;
        const char *ta = json_str(da, "time"), *tb = json_str(db, "time");
        return ta && tb && strcmp(ta, tb) == 0 && json_object_object_get_ex(da, "serial", &sa) &&
               json_object_object_get_ex(db, "serial", &sb) &&
               json_object_get_int64(sa) == json_object_get_int64(sb);
}

int verb_explain(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {
                FILTER_OPTIONS,
                {"last", no_argument, NULL, ARG_EXPLAIN_LAST},
                {},
        };
        _cleanup_(explain_args_done) ExplainArgs a = {};
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        json_object *filter = NULL, *params, *denials, *v;
        int r, status, first;
        Output out;

        filter_options_init(&a.filter, now_realtime_ms());
        r = verb_parse_options_args(argc, argv, options, "", explain_parse_option, &a, ctx, &first);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;
        if (filter_options_finish(&a.filter) < 0)
                return AVCCTL_EXIT_FAILURE;
        if (a.filter.has_limit) {
                fprintf(stderr,
                        "avcctl explain: --limit does not apply (one event is explained)\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (a.last == (first < argc) || argc - first > 1) {
                fprintf(stderr, "avcctl explain: give one SERIAL (as query shows it), or --last\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (!a.last) {
                uint64_t serial;
                if (parse_count(argv[first], 0, INT64_MAX, &serial) < 0) {
                        fprintf(stderr, "avcctl explain: invalid serial '");
                        fputs_terminal_safe(argv[first], stderr);
                        fprintf(stderr, "': expected the audit serial, a number\n");
                        return AVCCTL_EXIT_FAILURE;
                }
                a.filter.filter.has_serial = true;
                a.filter.filter.serial = serial;
        }

        r = denial_filter_to_json(&a.filter.filter, &filter);
        if (r < 0) {
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        params = json_object_new_object();
        if (!params || json_object_object_add(params, "filter", filter) < 0) {
                json_object_put(filter);
                json_object_put(params);
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (a.last && json_object_object_add(params, "last", json_object_new_boolean(true)) < 0) {
                json_object_put(params);
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }

        status = client_call(ctx, "io.avcwatch.Explain", params, &reply, "denials", json_type_array,
                             &denials);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;

        size_t n = json_object_array_length(denials);
        if (n == 0) {
                if (a.last)
                        fprintf(stderr, "avcctl explain: no stored denial matches\n");
                else
                        fprintf(stderr, "avcctl explain: no stored denial has the serial %s%s\n",
                                argv[first],
                                a.filter.filter.has_since || a.filter.filter.has_until
                                        ? " in that time range"
                                        : "");
                return AVCCTL_EXIT_FAILURE;
        }

        /* The events: runs of denials of the same time and serial. */
        size_t events = 0;
        for (size_t i = 0; i < n; i++)
                if (i == 0 || !same_event(json_object_array_get_idx(denials, i - 1),
                                          json_object_array_get_idx(denials, i)))
                        events++;

        client_output_init(&out, ctx);
        for (size_t i = 0; i < n;) {
                size_t k = i + 1;
                while (k < n && same_event(json_object_array_get_idx(denials, i),
                                           json_object_array_get_idx(denials, k)))
                        k++;
                json_object *head = json_object_array_get_idx(denials, i), *d;
                if (!json_object_object_get_ex(head, "denial", &d) ||
                    output_explain_event_head(&out, d, k - i, events) < 0)
                        return client_io_failed(-EBADMSG);
                /* The daemon sends newest first; an event's own records read best in their
                 * order (seq): reversed within the event. */
                for (size_t j = k; j > i; j--)
                        if (output_explain_denial(&out, json_object_array_get_idx(denials, j - 1),
                                                  k - j, k - i) < 0)
                                return client_io_failed(-EBADMSG);
                if (out.mode == OUTPUT_SHORT && k < n)
                        fputc('\n', stdout);
                i = k;
        }
        if (json_object_object_get_ex(reply.parameters, "truncated", &v) &&
            json_object_get_boolean(v))
                fprintf(stderr,
                        "avcctl explain: more denials have this serial than shown (the newest "
                        "64); narrow with --since/--until\n");
        return client_flush_stdout();
}
