/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Stats: the daemon's counters (stats.h) followed by the store's totals. */

#include <errno.h>

#include "macro.h"
#include "method.h"
#include "registry.h"

void method_stats(Connection *c, json_object *params) {
        static const char *const known[] = {NULL};
        MethodContext *ctx = connection_context(c);
        StoreCounts counts = {};
        json_object *p = NULL;

        if (!params_check_keys(c, params, known))
                return;
        int r = store_counts(ctx->store, &counts);
        if (r < 0) {
                connection_send_store_error(c, r);
                return;
        }
        ctx->stats->registry_containers = registry_size(ctx->registry);
        if (stats_to_json(ctx->stats, &p) < 0)
                goto oom;

        const struct {
                const char *key;
                uint64_t value;
        } totals[] = {
                {"store_denials", counts.denials},       {"store_events", counts.events},
                {"store_signatures", counts.signatures}, {"store_bytes", counts.db_bytes},
                {"store_pruned", counts.pruned},
        };
        for (size_t i = 0; i < ELEMENTSOF(totals); i++) {
                json_object *v = json_object_new_uint64(totals[i].value);
                if (!v || json_object_object_add(p, totals[i].key, v) < 0) {
                        json_object_put(v);
                        goto oom;
                }
        }
        connection_reply(c, p, false);
        return;
oom:
        json_object_put(p);
        connection_fail(c);
}
