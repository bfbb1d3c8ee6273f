/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Stats: the daemon's counters (stats.h) followed by the store's totals. */

#include "method.h"
#include "registry.h"
#include "stats-json.h"

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
        /* the registry's count at this moment, on a copy: the method writes no one's counters */
        Stats snapshot = *ctx->stats;
        snapshot.registry_containers = registry_size(ctx->registry);
        if (stats_reply_to_json(&snapshot, &counts, &p) < 0)
                p = NULL;
        connection_reply(c, p, false);
}
