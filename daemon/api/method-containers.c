/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Containers: the containers the registry knows, newest first, bounded in count and
 * in bytes (REGISTRY_LIST_MAX, REGISTRY_REPLY_BYTES_MAX). */

#include <errno.h>

#include "method.h"
#include "registry.h"

void method_containers(Connection *c, json_object *params) {
        static const char *const known[] = {NULL};
        Registry *registry = connection_context(c)->registry;
        json_object *p = NULL;
        int r;

        if (!params_check_keys(c, params, known))
                return;
        if (registry)
                r = registry_to_json(registry, &p);
        else {
                p = json_object_new_object();
                r = p && json_object_object_add(p, "containers", json_object_new_array()) >= 0 &&
                                    json_object_object_add(p, "truncated",
                                                           json_object_new_boolean(false)) >= 0
                            ? 0
                            : -ENOMEM;
        }
        if (r < 0) {
                json_object_put(p);
                if (r == -ENOMEM)
                        connection_fail(c);
                else
                        connection_send_store_error(c, r);
                return;
        }
        connection_reply(c, p, false);
}
