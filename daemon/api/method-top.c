/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Top and io.avcwatch.Histogram: aggregates of the stored denials, computed by the
 * store (store_top, store_histogram) within its own bounds; an answer the store gives up on is
 * the caller's to narrow (QueryTooExpensive). */

#include <errno.h>

#include "denial-json.h"
#include "macro.h"
#include "method.h"
#include "varlink.h"

static void json_object_putp(json_object **o) {
        json_object_put(*o);
}

static int json_add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_add_nullable(json_object *o, const char *key, const char *s) {
        json_object *v = s ? varlink_string_new(s) : NULL;
        if (s && !v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *time_string_new(int64_t time_ms) {
        char buf[64];
        format_time_iso8601_ms(time_ms, buf, sizeof(buf));
        return json_object_new_string(buf);
}

/* One TopRow of io.avcwatch.varlink. */
static int top_row_to_json(const StoreTopRow *row, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *v = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        if (json_add_nullable(o, "result", row->result) < 0 ||
            json_add_nullable(o, "source_type", row->source_type) < 0 ||
            json_add_nullable(o, "target_type", row->target_type) < 0 ||
            json_add_nullable(o, "tclass", row->tclass) < 0)
                return -ENOMEM;
        if (row->permissions) {
                r = permissions_to_json(row->permissions, &v);
                if (r < 0)
                        return r;
        }
        if (json_object_object_add(o, "permissions", v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        v = NULL;
        if (json_add_nullable(o, "image", row->image) < 0)
                return -ENOMEM;
        if (row->has_container) {
                r = container_to_json(&row->container, &v);
                if (r < 0)
                        return r;
        }
        if (json_object_object_add(o, "container", v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        if (json_add_nullable(o, "mcs", row->mcs) < 0 ||
            json_add(o, "count", json_object_new_uint64(row->count)) < 0 ||
            json_add(o, "first", time_string_new(row->first_ms)) < 0 ||
            json_add(o, "last", time_string_new(row->last_ms)) < 0 ||
            json_add(o, "containers", json_object_new_uint64(row->containers)) < 0 ||
            json_add(o, "signatures", json_object_new_uint64(row->signatures)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int top_add(const StoreTopRow *row, void *userdata) {
        json_object *o;
        int r = top_row_to_json(row, &o);
        if (r < 0)
                return r;
        if (json_object_array_add(userdata, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return 0;
}

/* Sends {key: array} or gives up on the connection. */
static void reply_array(Connection *c, const char *key, json_object *array) {
        json_object *p = json_object_new_object();
        if (!p || json_object_object_add(p, key, array) < 0) {
                json_object_put(array);
                json_object_put(p);
                p = NULL;
        }
        connection_reply(c, p, false);
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
            !params_get_bool(c, params, "new", &new_only) || !params_get_filter(c, params, &filter))
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
        reply_array(c, "rows", rows);
}

static int histogram_add(int64_t start_ms, uint64_t count, void *userdata) {
        json_object *o = json_object_new_object();
        if (!o || json_add(o, "start", time_string_new(start_ms)) < 0 ||
            json_add(o, "count", json_object_new_uint64(count)) < 0 ||
            json_object_array_add(userdata, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return 0;
}

void method_histogram(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "interval", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t interval = 0;

        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "interval", 1, SERVER_HISTOGRAM_INTERVAL_MAX, &interval) ||
            !params_get_filter(c, params, &filter))
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
        int r = store_histogram(connection_context(c)->store, &filter, interval * 1000,
                                histogram_add, bins);
        if (r < 0) {
                json_object_put(bins);
                connection_send_query_error(c, r);
                return;
        }
        reply_array(c, "bins", bins);
}
