/* SPDX-License-Identifier: MIT */
/* avcctl __complete KIND: the names the bash completion offers for --container, --image, --pod
 * and --namespace, one per line, from the daemon's registry (io.avcwatch.Containers). Hidden: not
 * a verb of the table, not in --help; the completion runs it as the user who presses TAB.
 *
 * Quiet by design: a daemon that cannot be reached, an access denied or a malformed reply gives
 * no output and exit status 0, so that TAB completes nothing instead of printing errors into the
 * command line. A name that could not be typed back as one shell word (blank, control character,
 * quote, backslash, non-ASCII: whoever started a container chose it) is left out: offering it
 * would let a container's name write into the user's command line. */

#include <stdio.h>
#include <string.h>

#include "verbs.h"

#define COMPLETE_NAMES_MAX 4096 /* more names than anyone reads in a completion list */

static const char *const complete_kinds[][2] = {
        /* the argument, the key of a Containers object */
        {"container", "name"},
        {"image", "image"},
        {"pod", "pod"},
        {"namespace", "namespace"},
};

bool complete_name_is_offered(const char *s) {
        if (!s || !*s || strlen(s) > 255 || s[0] == '-')
                return false;
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (c <= ' ' || c >= 0x7f || strchr("\"'\\`$;&|<>()*?[]{}!#~=,", c))
                        return false;
        }
        return true;
}

int verb_complete(int argc, char *argv[], ClientContext *ctx) {
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        const char *key = NULL, *seen[COMPLETE_NAMES_MAX];
        size_t n_seen = 0;
        json_object *list;

        for (size_t i = 0; argc == 2 && i < ELEMENTSOF(complete_kinds); i++)
                if (strcmp(argv[1], complete_kinds[i][0]) == 0)
                        key = complete_kinds[i][1];
        if (!key)
                return AVCCTL_EXIT_FAILURE;
        if (varlink_client_connect(ctx->socket_path, &c) < 0 ||
            varlink_client_call(c, "io.avcwatch.Containers", NULL, &reply) < 0 || reply.error ||
            !json_object_object_get_ex(reply.parameters, "containers", &list) ||
            !json_object_is_type(list, json_type_array))
                return AVCCTL_EXIT_SUCCESS;

        for (size_t i = 0; i < json_object_array_length(list) && n_seen < ELEMENTSOF(seen); i++) {
                json_object *o = json_object_array_get_idx(list, i), *v;
                const char *s;
                bool dup = false;

                if (!json_object_object_get_ex(o, key, &v) ||
                    !json_object_is_type(v, json_type_string))
                        continue;
                s = json_object_get_string(v);
                if (!complete_name_is_offered(s))
                        continue;
                for (size_t k = 0; k < n_seen && !dup; k++)
                        dup = strcmp(seen[k], s) == 0;
                if (dup)
                        continue;
                seen[n_seen++] = s;
                printf("%s\n", s);
        }
        (void) fflush(stdout);
        return AVCCTL_EXIT_SUCCESS;
}
