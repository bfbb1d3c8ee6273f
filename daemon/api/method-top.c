/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Top and io.avcwatch.Histogram: aggregates of the stored denials, computed by the
 * store (store_top, store_histogram) within its own bounds; an answer the store gives up on is
 * the caller's to narrow (QueryTooExpensive). */

#include <errno.h>

#include "json-add.h"
#include "macro.h"
#include "method.h"
#include "reply-json.h"

static int top_add(const StoreTopRow *row, void *userdata) {
        json_object *o;
        int r = top_row_to_json(row, &o);
        return r < 0 ? r : json_append(userdata, o);
}

void method_top(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "by", "new", "limit", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t limit = STORE_TOP_DEFAULT;
        bool new_only = false;
        int by = STORE_TOP_SIGNATURE;
        json_object *v;

        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "limit", 1, STORE_TOP_MAX, &limit) ||
            !params_get_bool(c, params, "new", &new_only) ||
            !params_get_filter(c, params, &filter) || !params_check_known(c, &filter))
                return;
        if (json_object_object_get_ex(params, "by", &v) && v) {
                by = json_object_is_type(v, json_type_string)
                             ? store_top_by_from_string(json_object_get_string(v))
                             : -EINVAL;
                if (by < 0) {
                        connection_send_invalid_parameter(c, "by");
                        return;
                }
        }
        if (new_only && !filter.has_since) {
                connection_send_invalid_parameter(c, "new");
                return;
        }

        json_object *rows = json_object_new_array();
        if (!rows) {
                connection_fail(c);
                return;
        }
        int r = store_top(connection_context(c)->store, &filter, (StoreTopBy) by, new_only,
                          (unsigned) limit, top_add, rows);
        if (r < 0) {
                json_object_put(rows);
                connection_send_query_error(c, r);
                return;
        }
        connection_reply(c, reply_params_new("rows", rows), false);
}

static int histogram_add(int64_t start_ms, uint64_t count, void *userdata) {
        json_object *o;
        int r = histogram_bin_to_json(start_ms, count, &o);
        return r < 0 ? r : json_append(userdata, o);
}

void method_histogram(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "interval", "offset", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t interval = 0, offset = 0;

        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "interval", 1, SERVER_HISTOGRAM_INTERVAL_MAX, &interval) ||
            !params_get_int(c, params, "offset", -86399, 86399, &offset) ||
            !params_get_filter(c, params, &filter) || !params_check_known(c, &filter))
                return;
        if (interval == 0) {
                connection_send_invalid_parameter(c, "interval");
                return;
        }
        json_object *bins = json_object_new_array();
        if (!bins) {
                connection_fail(c);
                return;
        }
        int r = store_histogram_offset(connection_context(c)->store, &filter, interval * 1000,
                                       offset * 1000, histogram_add, bins);
        if (r < 0) {
                json_object_put(bins);
                connection_send_query_error(c, r);
                return;
        }
        connection_reply(c, reply_params_new("bins", bins), false);
}
