/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Import: the bytes of an audit log the client read, base64 in data, in order over
 * one connection; final: the end. The import (an Importer from the manager) lives with the
 * connection between the calls; what was sent stays stored when the connection goes early.
 * Root only (ImportDenied): what it stores becomes evidence beside the kernel's own records.
 * At most SERVER_IMPORTS_MAX run at once. */

#include <errno.h>

#include "macro.h"
#include "method.h"
#include "reply-json.h"
#include "strutil.h"
#include "varlink.h"

/* The connection's import ends (finished, failed, or the connection closed). */
static void import_free(Connection *c, void *state) {
        importer_free(state);
        connection_context(c)->n_imports--;
}

void method_import(Connection *c, json_object *params) {
        static const char *const known[] = {"data", "final", NULL};
        MethodContext *ctx = connection_context(c);
        _cleanup_(freep) void *data = NULL;
        size_t len = 0;
        bool final = false;
        json_object *v;
        int r;

        if (!params_check_keys(c, params, known) || !params_get_bool(c, params, "final", &final))
                return;
        if (json_object_object_get_ex(params, "data", &v) && v) {
                if (!json_object_is_type(v, json_type_string) ||
                    base64_decode(json_object_get_string(v), (size_t) json_object_get_string_len(v),
                                  &data, &len) < 0) {
                        connection_send_invalid_parameter(c, "data");
                        return;
                }
        }
        if (!ctx->new_importer) {
                connection_send_error(c, ERROR_METHOD_NOT_FOUND, "method",
                                      varlink_string_new("io.avcwatch.Import"));
                return;
        }
        if (!connection_peer_is_root(c)) {
                connection_send_error(c, ERROR_IMPORT_DENIED, NULL, NULL);
                return;
        }
        Importer *importer = connection_get_state(c);
        if (!importer) {
                if (ctx->n_imports >= SERVER_IMPORTS_MAX) {
                        connection_send_error(c, ERROR_TOO_MANY_IMPORTS, "max",
                                              json_object_new_int(SERVER_IMPORTS_MAX));
                        return;
                }
                r = ctx->new_importer(ctx->importer_userdata, &importer);
                if (r < 0) {
                        connection_send_failure(c, r);
                        return;
                }
                ctx->n_imports++;
                connection_set_state(c, importer, import_free);
        }

        r = importer_feed(importer, data, len);
        if (r >= 0 && final)
                r = importer_finish(importer);
        if (r < 0) {
                connection_set_state(c, NULL, NULL);
                connection_send_failure(c, r);
                return;
        }
        ImportCounts counts;
        importer_counts(importer, &counts);
        if (final)
                connection_set_state(c, NULL, NULL);
        json_object *p = NULL;
        if (import_counts_to_json(&counts, &p) < 0)
                p = NULL;
        connection_reply(c, p, false);
}
