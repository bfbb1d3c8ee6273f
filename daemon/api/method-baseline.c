/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Baseline and io.avcwatch.BaselineAccept: the signatures each image's baseline has
 * seen (store.h "Baseline"), and marking the new ones as known. Accepting is root only
 * (AcceptDenied), as Import: it decides what is reported as news, on every host that ships
 * the journal. */

#include <errno.h>

#include "clock.h"
#include "json-add.h"
#include "macro.h"
#include "method.h"
#include "signature.h"
#include "varlink.h"

#define BASELINE_LIST_DEFAULT 100 /* io.avcwatch.varlink: "limit: ... (default 100)" */

/* An optional image parameter: a non-empty string, or absent / null. */
static bool params_get_image(Connection *c, json_object *params, const char **ret) {
        json_object *v;
        char key[BASELINE_KEY_MAX];

        *ret = NULL;
        if (!json_object_object_get_ex(params, "image", &v) || !v)
                return true;
        if (!json_object_is_type(v, json_type_string) ||
            baseline_image_key(json_object_get_string(v), key, sizeof(key)) < 0) {
                connection_send_invalid_parameter(c, "image");
                return false;
        }
        *ret = json_object_get_string(v);
        return true;
}

static int baseline_add(const StoreBaselineRow *row, void *userdata) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o || json_add_string(o, "scope", baseline_scope_to_string(row->scope)) < 0 ||
            json_add_string(o, "key", row->key) < 0 ||
            json_add_string(o, "signature", row->signature) < 0 ||
            json_add_time(o, "first", row->first_ms) < 0 ||
            json_add_time(o, "last", row->last_ms) < 0 ||
            json_add_uint64(o, "count", row->count) < 0 ||
            json_add_time_or_null(o, "accepted", row->accepted_ms) < 0)
                return -ENOMEM;
        return json_append(userdata, TAKE_PTR(o));
}

void method_baseline(Connection *c, json_object *params) {
        static const char *const known[] = {"image", "new", "limit", NULL};
        int64_t limit = BASELINE_LIST_DEFAULT;
        const char *image = NULL;
        bool new_only = false, more = false;

        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "limit", 1, STORE_BASELINE_LIST_MAX, &limit) ||
            !params_get_bool(c, params, "new", &new_only) || !params_get_image(c, params, &image))
                return;
        _cleanup_(json_object_putp) json_object *entries = json_object_new_array();
        if (!entries) {
                connection_fail(c);
                return;
        }
        int r = store_baseline_list(connection_context(c)->store, image, new_only, (unsigned) limit,
                                    baseline_add, entries, &more);
        if (r < 0) {
                connection_send_failure(c, r);
                return;
        }
        json_object *reply = json_object_new_object();
        if (!reply || json_add(reply, "entries", TAKE_PTR(entries)) < 0 ||
            json_add_bool(reply, "more", more) < 0) {
                json_object_put(reply);
                connection_fail(c);
                return;
        }
        connection_reply(c, reply, false);
}

void method_baseline_accept(Connection *c, json_object *params) {
        static const char *const known[] = {"image", NULL};
        const char *image = NULL;
        uint64_t accepted = 0;

        if (!params_check_keys(c, params, known) || !params_get_image(c, params, &image))
                return;
        if (!connection_peer_is_root(c)) {
                connection_send_error(c, ERROR_ACCEPT_DENIED, NULL, NULL);
                return;
        }
        int r = store_baseline_accept(connection_context(c)->store, image, now_realtime_ms(),
                                      &accepted);
        if (r < 0) {
                connection_send_failure(c, r);
                return;
        }
        json_object *reply = json_object_new_object();
        if (!reply || json_add_uint64(reply, "accepted", accepted) < 0) {
                json_object_put(reply);
                connection_fail(c);
                return;
        }
        connection_reply(c, reply, false);
}
