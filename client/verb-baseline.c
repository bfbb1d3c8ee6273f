/* SPDX-License-Identifier: MIT */
/* avcctl baseline [list] [--image IMG] [--new] [--limit N]: the signatures each image's baseline
 * has seen, the most recently first seen first (io.avcwatch.Baseline); avcctl baseline accept
 * [--image IMG]: marks the new ones as known (io.avcwatch.BaselineAccept, root). `avcctl top
 * --new` without --since lists the new ones (baseline_list()). docs/fleet.md "New denials". */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "verbs.h"

#define BASELINE_LIMIT_DEFAULT 100
#define BASELINE_LIMIT_MAX 10000 /* io.avcwatch.varlink */

enum {
        ARG_BASELINE_IMAGE = 0x300,
        ARG_BASELINE_NEW,
        ARG_BASELINE_LIMIT,
};

typedef struct BaselineArgs {
        const char *image;
        bool new_only;
        int64_t limit;
} BaselineArgs;

static int baseline_parse_option(int c, const char *arg, void *userdata) {
        BaselineArgs *a = userdata;
        char *end;

        switch (c) {
        case ARG_BASELINE_IMAGE:
                if (!*arg) {
                        fprintf(stderr, "avcctl baseline: --image needs an image\n");
                        return -EINVAL;
                }
                a->image = arg;
                return 0;
        case ARG_BASELINE_NEW:
                a->new_only = true;
                return 0;
        case ARG_BASELINE_LIMIT:
                errno = 0;
                a->limit = strtoll(arg, &end, 10);
                if (errno != 0 || end == arg || *end || a->limit < 1 ||
                    a->limit > BASELINE_LIMIT_MAX) {
                        fprintf(stderr, "avcctl baseline: --limit takes 1 .. %d\n",
                                BASELINE_LIMIT_MAX);
                        return -EINVAL;
                }
                return 0;
        default:
                return -ENOENT;
        }
}

static json_object *image_params(const char *image) {
        json_object *params = json_object_new_object();

        if (params && image &&
            json_object_object_add(params, "image", json_object_new_string(image)) < 0) {
                json_object_put(params);
                return NULL;
        }
        return params;
}

int baseline_list(ClientContext *ctx, const char *image, bool new_only, int64_t limit) {
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        json_object *params, *entries, *more;
        Output out;
        int status;

        params = image_params(image);
        if (params && ((new_only &&
                        json_object_object_add(params, "new", json_object_new_boolean(true)) < 0) ||
                       json_object_object_add(params, "limit", json_object_new_int64(limit)) < 0)) {
                json_object_put(params);
                params = NULL;
        }
        status = client_call(ctx, "io.avcwatch.Baseline", params, &reply, "entries",
                             json_type_array, &entries);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;

        client_output_init(&out, ctx);
        output_baseline_header(&out);
        for (size_t i = 0; i < json_object_array_length(entries); i++)
                if (output_baseline_entry(&out, json_object_array_get_idx(entries, i)) < 0)
                        return client_io_failed(-EBADMSG);
        if (ctx->output == OUTPUT_SHORT &&
            json_object_object_get_ex(reply.parameters, "more", &more) &&
            json_object_get_boolean(more))
                fprintf(stderr,
                        "avcctl: only the %zu most recently first seen are shown "
                        "(--limit).\n",
                        json_object_array_length(entries));
        return client_flush_stdout();
}

static int baseline_accept(ClientContext *ctx, const char *image) {
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        json_object *accepted;
        int status;

        status = client_call(ctx, "io.avcwatch.BaselineAccept", image_params(image), &reply,
                             "accepted", json_type_int, &accepted);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;
        if (ctx->output == OUTPUT_SHORT) {
                int64_t n = json_object_get_int64(accepted);
                printf("%" PRId64 " new signature%s accepted as known", n, n == 1 ? "" : "s");
                if (image) {
                        fputs(" for image ", stdout);
                        fputs_terminal_safe(image, stdout);
                }
                fputs(".\n", stdout);
        } else
                printf("%s\n",
                       json_object_to_json_string_ext(reply.parameters, JSON_C_TO_STRING_PLAIN));
        return client_flush_stdout();
}

int verb_baseline(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {
                {"image", required_argument, NULL, ARG_BASELINE_IMAGE},
                {"new", no_argument, NULL, ARG_BASELINE_NEW},
                {"limit", required_argument, NULL, ARG_BASELINE_LIMIT},
                {},
        };
        BaselineArgs a = {.limit = BASELINE_LIMIT_DEFAULT};
        const char *what = "list";
        int first, r;

        r = verb_parse_options_args(argc, argv, options, "", baseline_parse_option, &a, ctx,
                                    &first);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;
        if (first < argc)
                what = argv[first++];
        if (first < argc || (strcmp(what, "list") != 0 && strcmp(what, "accept") != 0)) {
                fprintf(stderr, "avcctl baseline: list or accept, not '");
                fputs_terminal_safe(first < argc ? argv[first] : what, stderr);
                fprintf(stderr, "'\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (ctx->output == OUTPUT_RAW) {
                fprintf(stderr, "avcctl baseline: -o raw is for query and tail (audit records); "
                                "use short or json\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (strcmp(what, "accept") == 0) {
                if (a.new_only || a.limit != BASELINE_LIMIT_DEFAULT) {
                        fprintf(stderr, "avcctl baseline accept: takes --image only\n");
                        return AVCCTL_EXIT_FAILURE;
                }
                return baseline_accept(ctx, a.image);
        }
        return baseline_list(ctx, a.image, a.new_only, a.limit);
}
