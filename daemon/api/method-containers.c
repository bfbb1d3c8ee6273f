/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Containers: the containers the registry knows, newest first, bounded in count and
 * in bytes (REGISTRY_LIST_MAX, REGISTRY_REPLY_BYTES_MAX; reply-json.c). */

#include <errno.h>

#include "method.h"
#include "reply-json.h"

void method_containers(Connection *c, json_object *params) {
        static const char *const known[] = {NULL};
        json_object *p = NULL;

        if (!params_check_keys(c, params, known))
                return;
        int r = containers_reply_to_json(connection_context(c)->registry, &p);
        if (r < 0) {
                connection_send_failure(c, r);
                return;
        }
        connection_reply(c, p, false);
}
