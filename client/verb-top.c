/* SPDX-License-Identifier: MIT */
/* avcctl top [FILTERS] [--by signature|container|image|tclass|verdict|reason|pod|namespace]
 * [--new] [--limit N]: the most frequent denial signatures (or containers, images, classes, triage
 * verdicts or reasons, Kubernetes pods or namespaces), with first and last seen and how many
 * containers. One io.avcwatch.Top call: the daemon answers from its aggregate tables (from
 * denial rows for verdict and reason). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "filter-options.h"
#include "strutil.h"
#include "verbs.h"

/* io.avcwatch.varlink: "limit: at most 1000 rows (default 20)". */
#define TOP_LIMIT_DEFAULT 20
#define TOP_LIMIT_MAX 1000

enum {
        ARG_TOP_BY = 0x300,
        ARG_TOP_NEW,
};

typedef struct TopArgs {
        FilterOptions filter;
        const char *by;
        bool new_only;
} TopArgs;

static void top_args_done(TopArgs *a) {
        filter_options_done(&a->filter);
}

static int top_parse_option(int c, const char *arg, void *userdata) {
        static const char *const groupings[] = {"signature", "container", "image", "tclass",
                                                "verdict",   "reason",    "pod",   "namespace"};
        TopArgs *a = userdata;
        int r;

        r = filter_options_parse_one(&a->filter, c, arg);
        if (r != 0)
                return r < 0 ? r : 0;
        switch (c) {
        case ARG_TOP_BY:
                for (size_t i = 0; i < ELEMENTSOF(groupings); i++)
                        if (strcmp(arg, groupings[i]) == 0) {
                                a->by = groupings[i];
                                return 0;
                        }
                fprintf(stderr, "avcctl top: --by takes signature, container, image, tclass, "
                                "verdict, reason, pod or namespace, not '");
                fputs_terminal_safe(arg, stderr);
                fprintf(stderr, "'\n");
                return -EINVAL;
        case ARG_TOP_NEW:
                a->new_only = true;
                return 0;
        default:
                return -ENOENT;
        }
}

static int json_add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* top --new without --since: the signatures new to their image's baseline (verb-baseline.c),
 * which takes no other filter than one --image and no other grouping. */
static int top_new(TopArgs *a, ClientContext *ctx) {
        const DenialFilter *f = &a->filter.filter;
        json_object *o = NULL;
        bool other = denial_filter_to_json(f, &o) < 0;

        if (o) {
                json_object_object_foreach (o, key, value) {
                        (void) value;
                        if (strcmp(key, "image") != 0)
                                other = true;
                }
                json_object_put(o);
        }
        if (other || strcmp(a->by, "signature") != 0 || f->image.n > 1) {
                fprintf(stderr, "avcctl top: --new without --since lists the baseline's new "
                                "signatures and takes no filter but one --image (new since when? "
                                "add --since)\n");
                return AVCCTL_EXIT_FAILURE;
        }
        return baseline_list(ctx, f->image.n > 0 ? f->image.v[0] : NULL, true,
                             a->filter.has_limit ? (int64_t) a->filter.limit : 100);
}

int verb_top(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {
                FILTER_OPTIONS,
                {"by", required_argument, NULL, ARG_TOP_BY},
                {"new", no_argument, NULL, ARG_TOP_NEW},
                {},
        };
        _cleanup_(top_args_done) TopArgs a = {.by = "signature"};
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        json_object *filter = NULL, *params, *rows;
        Output out;
        int r, status;

        filter_options_init(&a.filter, now_realtime_ms());
        r = verb_parse_options(argc, argv, options, "", top_parse_option, &a, ctx);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;
        if (filter_options_finish(&a.filter) < 0)
                return AVCCTL_EXIT_FAILURE;
        if (ctx->output == OUTPUT_RAW) {
                fprintf(stderr, "avcctl top: -o raw is for query and tail (audit records); use "
                                "short or json\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (a.new_only && !a.filter.filter.has_since)
                return top_new(&a, ctx);
        if (a.filter.has_limit && a.filter.limit > TOP_LIMIT_MAX) {
                fprintf(stderr, "avcctl top: --limit is at most %d\n", TOP_LIMIT_MAX);
                return AVCCTL_EXIT_FAILURE;
        }

        r = denial_filter_to_json(&a.filter.filter, &filter);
        params = json_object_new_object();
        if (r < 0 || !params || json_add(params, "filter", filter) < 0 ||
            json_add(params, "by", json_object_new_string(a.by)) < 0 ||
            (a.new_only && json_add(params, "new", json_object_new_boolean(true)) < 0) ||
            json_add(params, "limit",
                     json_object_new_int64(a.filter.has_limit ? (int64_t) a.filter.limit
                                                              : TOP_LIMIT_DEFAULT)) < 0) {
                if (r < 0)
                        json_object_put(filter);
                json_object_put(params);
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }

        status =
                client_call(ctx, "io.avcwatch.Top", params, &reply, "rows", json_type_array, &rows);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;

        client_output_init(&out, ctx);
        output_top_header(&out, a.by);
        for (size_t i = 0; i < json_object_array_length(rows); i++)
                if (output_top_row(&out, a.by, json_object_array_get_idx(rows, i)) < 0)
                        return client_io_failed(-EBADMSG);
        return client_flush_stdout();
}
