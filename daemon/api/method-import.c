/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Import: the bytes of an audit log the client read, base64 in data, in order over
 * one connection; final: the end. The import (an Importer from the manager) lives with the
 * connection between the calls; what was sent stays stored when the connection goes early.
 * Root only (ImportDenied): what it stores becomes evidence beside the kernel's own records.
 * At most SERVER_IMPORTS_MAX run at once. */

#include <errno.h>

#include "macro.h"
#include "method.h"
#include "strutil.h"
#include "varlink.h"

static json_object *import_counts_to_json(const ImportCounts *k) {
        const struct {
                const char *key;
                uint64_t value;
        } fields[] = {
                {"bytes", k->bytes},
                {"records", k->records},
                {"malformed", k->malformed},
                {"unstamped", k->unstamped},
                {"stored", k->outcomes[IMPORT_STORED]},
                {"duplicates", k->outcomes[IMPORT_DUPLICATE]},
                {"filtered", k->outcomes[IMPORT_FILTERED]},
                {"expired", k->outcomes[IMPORT_EXPIRED]},
                {"lost", k->outcomes[IMPORT_LOST]},
                {"store_errors", k->store_errors},
        };
        json_object *o = json_object_new_object();
        for (size_t i = 0; o && i < ELEMENTSOF(fields); i++) {
                json_object *v = json_object_new_uint64(fields[i].value);
                if (!v || json_object_object_add(o, fields[i].key, v) < 0) {
                        json_object_put(v);
                        json_object_put(o);
                        return NULL;
                }
        }
        return o;
}

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
                        if (r == -ENOMEM)
                                connection_fail(c);
                        else
                                connection_send_store_error(c, r);
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
                if (r == -ENOMEM)
                        connection_fail(c);
                else
                        connection_send_store_error(c, r);
                return;
        }
        ImportCounts counts;
        importer_counts(importer, &counts);
        if (final)
                connection_set_state(c, NULL, NULL);
        connection_reply(c, import_counts_to_json(&counts), false);
}
