/* SPDX-License-Identifier: MIT */
/* The method table of the API server and what its methods share: reading parameters and
 * answering errors.
 *
 * Decisions:
 * - The table is the one list of what the server offers; the transport looks the method of each
 *   call up in it, so adding a method is one file and one line here, and the transport does not
 *   change. Its flags carry what the transport enforces before a method runs (METHOD_STREAM).
 * - A method validates its own parameters, in its own order, before anything else: a call with
 *   a bad parameter is told which one (InvalidParameter) whoever sends it, even for a method that
 *   would refuse the caller afterwards (Import: MethodNotFound when not wired, ImportDenied for a
 *   peer that is not root). */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json-add.h"
#include "macro.h"
#include "method.h"
#include "varlink.h"

const Method api_methods[] = {
        {"org.varlink.service.GetInfo", method_get_info, 0},
        {"org.varlink.service.GetInterfaceDescription", method_get_interface_description, 0},
        {"io.avcwatch.Query", method_query, 0},
        {"io.avcwatch.Tail", method_tail, METHOD_STREAM},
        {"io.avcwatch.Stats", method_stats, 0},
        {"io.avcwatch.Top", method_top, 0},
        {"io.avcwatch.Histogram", method_histogram, 0},
        {"io.avcwatch.Import", method_import, 0},
        {"io.avcwatch.Containers", method_containers, 0},
        {"io.avcwatch.Baseline", method_baseline, 0},
        {"io.avcwatch.BaselineAccept", method_baseline_accept, 0},
        {"io.avcwatch.Explain", method_explain, 0},
        {},
};

void connection_send_invalid_parameter(Connection *c, const char *parameter) {
        connection_send_error(c, ERROR_INVALID_PARAMETER, "parameter",
                              varlink_string_new(parameter));
}

void connection_send_store_error(Connection *c, int r) {
        const char *message = store_last_error(connection_context(c)->store);
        connection_send_error(c, ERROR_STORE, "message",
                              varlink_string_new(message && message[0] ? message : strerror(-r)));
}

void connection_send_failure(Connection *c, int r) {
        if (r == -ENOMEM)
                connection_fail(c);
        else
                connection_send_store_error(c, r);
}

void connection_send_query_error(Connection *c, int r) {
        if (r == -ETIME || r == -E2BIG)
                connection_send_error(
                        c, ERROR_QUERY_TOO_EXPENSIVE, "message",
                        varlink_string_new(store_last_error(connection_context(c)->store)));
        else
                connection_send_failure(c, r);
}

bool params_check_keys(Connection *c, json_object *params, const char *const *known) {
        json_object_object_foreach (params, key, value) {
                (void) value;
                bool found = false;
                for (const char *const *k = known; *k; k++)
                        if (strcmp(*k, key) == 0)
                                found = true;
                if (!found) {
                        connection_send_invalid_parameter(c, key);
                        return false;
                }
        }
        return true;
}

bool params_get_int(Connection *c, json_object *params, const char *key, int64_t min, int64_t max,
                    int64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(params, key, &v) || !v)
                return true;
        if (json_object_is_type(v, json_type_int)) {
                errno = 0;
                int64_t i = json_object_get_int64(v);
                if (errno == 0 && i >= min && i <= max) {
                        *ret = i;
                        return true;
                }
        }
        connection_send_invalid_parameter(c, key);
        return false;
}

bool params_get_bool(Connection *c, json_object *params, const char *key, bool *ret) {
        json_object *v;

        if (!json_object_object_get_ex(params, key, &v) || !v)
                return true;
        if (json_object_is_type(v, json_type_boolean)) {
                *ret = json_object_get_boolean(v);
                return true;
        }
        connection_send_invalid_parameter(c, key);
        return false;
}

bool params_get_filter(Connection *c, json_object *params, DenialFilter *ret) {
        json_object *v = NULL;
        const char *bad = NULL;
        char name[64];

        (void) json_object_object_get_ex(params, "filter", &v);
        if (v && !json_object_is_type(v, json_type_object)) {
                connection_send_invalid_parameter(c, "filter");
                return false;
        }
        int r = denial_filter_from_json(v, ret, &bad);
        if (r == -ENOMEM) {
                connection_fail(c);
                return false;
        }
        if (r < 0) {
                snprintf(name, sizeof(name), "filter.%s", bad ? bad : "");
                connection_send_invalid_parameter(c, name);
                return false;
        }
        return true;
}

bool params_check_known(Connection *c, const DenialFilter *f) {
        _cleanup_(store_unknown_done) StoreUnknown u = {};
        json_object *params, *closest;

        int r = store_filter_unknown(connection_context(c)->store, f, &u);
        if (r < 0) {
                connection_send_store_error(c, r);
                return false;
        }
        if (r == 0)
                return true;
        params = json_object_new_object();
        closest = json_object_new_array();
        for (size_t i = 0; params && closest && i < u.n_closest; i++)
                if (json_append(closest, varlink_string_new(u.closest[i])) < 0) {
                        json_object_put(closest);
                        closest = NULL;
                }
        if (!params || !closest || json_add_string(params, "field", u.field) < 0 ||
            json_add_string(params, "value", u.value) < 0 ||
            json_object_object_add(params, "closest", closest) < 0) {
                json_object_put(params);
                json_object_put(closest);
                connection_fail(c);
                return false;
        }
        connection_send_error(c, ERROR_UNKNOWN_CONTAINER, NULL, params);
        return false;
}
