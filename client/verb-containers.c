/* SPDX-License-Identifier: MIT */
/* avcctl containers: every container the daemon's registry knows, also removed ones
 * (io.avcwatch.Containers), newest first: engine, image, label, lifetime and the number of
 * stored denials attributed to each. -o json prints one object per container per line. */

#include <errno.h>
#include <stdio.h>

#include "verbs.h"

int verb_containers(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {{}};
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        json_object *list, *truncated;
        Output out;
        int r, status;

        r = verb_parse_options(argc, argv, options, "", NULL, NULL, ctx);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;

        status = client_connect(ctx, &c);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;

        r = varlink_client_call(c, "io.avcwatch.Containers", NULL, &reply);
        if (r < 0)
                return client_io_failed(r);
        if (reply.error)
                return client_reply_failed(&reply);
        if (!json_object_object_get_ex(reply.parameters, "containers", &list) ||
            !json_object_is_type(list, json_type_array))
                return client_io_failed(-EBADMSG);

        client_output_init(&out, ctx);
        output_containers_header(&out);
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                r = output_container(&out, json_object_array_get_idx(list, i));
                if (r < 0)
                        return client_io_failed(r);
        }
        if (ctx->output == OUTPUT_SHORT &&
            json_object_object_get_ex(reply.parameters, "truncated", &truncated) &&
            json_object_get_boolean(truncated))
                fprintf(stderr, "avcctl: only the newest %zu containers are shown.\n",
                        json_object_array_length(list));
        return client_flush_stdout();
}
