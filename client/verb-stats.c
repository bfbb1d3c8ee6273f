/* SPDX-License-Identifier: MIT */
/* avcctl stats: the daemon's counters (io.avcwatch.Stats). Short output is "name: value" lines
 * in the daemon's order; -o json (and -o raw) print the reply parameters as one JSON object on
 * one line, for scripts and monitoring. */

#include <errno.h>
#include <stdio.h>

#include "verbs.h"

int verb_stats(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {{}};
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        Output out;
        int r, status;

        r = verb_parse_options(argc, argv, options, "", NULL, NULL, ctx);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;

        status = client_call(ctx, "io.avcwatch.Stats", json_object_new_object(), &reply, NULL,
                             json_type_null, NULL);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;

        client_output_init(&out, ctx);
        r = output_stats(&out, reply.parameters);
        if (r < 0)
                return client_io_failed(r);
        return client_flush_stdout();
}
