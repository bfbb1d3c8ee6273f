/* SPDX-License-Identifier: MIT */
/* The reply objects of io.avcwatch that are not a denial nor Stats: Top rows, Histogram bins,
 * Import counts, the Containers listing (reply-json.h). Made from plain values that the store,
 * the registry and the importer hand over, with the adders of json-add.h. */

#include <errno.h>

#include "context.h"
#include "denial-json.h"
#include "json-add.h"
#include "macro.h"
#include "reply-json.h"

#define REPLY_MCS_TEXT_MAX 4096 /* canonical text of a category set */

json_object *reply_params_new(const char *key, json_object *value) {
        json_object *p = json_object_new_object();
        if (!p || json_add(p, key, value) < 0) {
                if (!p)
                        json_object_put(value);
                json_object_put(p);
                return NULL;
        }
        return p;
}

int top_row_to_json(const StoreTopRow *row, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *v = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        if (json_add_string(o, "result", row->result) < 0 ||
            json_add_string(o, "source_type", row->source_type) < 0 ||
            json_add_string(o, "target_type", row->target_type) < 0 ||
            json_add_string(o, "tclass", row->tclass) < 0)
                return -ENOMEM;
        if (row->permissions) {
                r = permissions_to_json(row->permissions, &v);
                if (r < 0)
                        return r;
        }
        if (json_add_nullable(o, "permissions", v) < 0 ||
            json_add_string(o, "image", row->image) < 0)
                return -ENOMEM;
        r = container_to_json_nullable(row->has_container, &row->container, &v);
        if (r < 0)
                return r;
        if (json_add_nullable(o, "container", v) < 0 || json_add_string(o, "mcs", row->mcs) < 0 ||
            json_add_uint64(o, "count", row->count) < 0 ||
            json_add_time(o, "first", row->first_ms) < 0 ||
            json_add_time(o, "last", row->last_ms) < 0 ||
            json_add_uint64(o, "containers", row->containers) < 0 ||
            json_add_uint64(o, "signatures", row->signatures) < 0 ||
            json_add_string(o, "pod", row->pod) < 0 ||
            json_add_string(o, "namespace", row->pod_namespace) < 0)
                return -ENOMEM;
        /* Only for those groupings: older clients see no new keys otherwise. */
        if ((row->verdict && json_add_string(o, "verdict", row->verdict) < 0) ||
            (row->reason && json_add_string(o, "reason", row->reason) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int histogram_bin_to_json(int64_t start_ms, uint64_t count, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o || json_add_time(o, "start", start_ms) < 0 || json_add_uint64(o, "count", count) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int import_counts_to_json(const ImportCounts *k, json_object **ret) {
        const JsonCounter fields[] = {
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
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o || json_add_counters(o, fields, ELEMENTSOF(fields)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int container_info_to_json(const ContainerInfo *c, int64_t denials, int64_t ambiguous,
                           json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        char mcs[REPLY_MCS_TEXT_MAX];
        const struct {
                const char *key;
                const char *value;
        } strings[] = {
                {"id", c->id},
                {"name", c->name},
                {"image", c->image},
                {"engine", c->engine},
                {"pod", c->pod},
                {"namespace", c->pod_namespace},
                {"compose_project", c->compose_project},
                {"compose_service", c->compose_service},
                {"label", c->label},
                {"pod_uid", c->pod_uid},
                {"sandbox_id", c->sandbox_id},
        };
        const struct {
                const char *key;
                int64_t ms;
        } times[] = {
                {"created", c->created_ms},
                {"started", c->started_ms},
                {"finished", c->finished_ms},
                {"removed", c->removed_ms},
        };

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (json_add_string(o, strings[i].key, strings[i].value) < 0)
                        return -ENOMEM;
        /* A set too long to write out is not left out silently: the reply fails. */
        if (c->has_mcs && mcs_set_format(&c->mcs, mcs, sizeof(mcs)) < 0)
                return -ENOMEM;
        if (json_add_string(o, "mcs", c->has_mcs ? mcs : NULL) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                if (json_add_time_or_null(o, times[i].key, times[i].ms) < 0)
                        return -ENOMEM;
        if (json_add_bool(o, "sandbox", c->sandbox) < 0 ||
            json_add_bool(o, "running", c->state == CONTAINER_STATE_RUNNING) < 0 ||
            json_add_int64(o, "denials", denials) < 0 ||
            json_add_int64(o, "ambiguous", ambiguous) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

typedef struct ContainersReply {
        json_object *list;
        size_t n, bytes;
} ContainersReply;

static int containers_reply_add(const ContainerInfo *c, int64_t denials, int64_t ambiguous,
                                void *userdata) {
        ContainersReply *reply = userdata;
        json_object *o;
        size_t len = 0;

        int r = container_info_to_json(c, denials, ambiguous, &o);
        if (r < 0)
                return r;
        if (!json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len)) {
                json_object_put(o);
                return -ENOMEM;
        }
        if (len + 1 > REGISTRY_REPLY_BYTES_MAX - reply->bytes) {
                json_object_put(o); /* the newest ones fill the reply; truncated says so */
                return 1;
        }
        reply->bytes += len + 1;
        if (json_append(reply->list, o) < 0)
                return -ENOMEM;
        reply->n++;
        return 0;
}

int containers_reply_to_json(Registry *registry, json_object **ret) {
        _cleanup_(json_object_putp) json_object *p = json_object_new_object();
        ContainersReply reply = {.list = json_object_new_array()};

        if (!p || !reply.list) {
                json_object_put(reply.list);
                return -ENOMEM;
        }
        if (registry) {
                int r = registry_list(registry, containers_reply_add, &reply);
                if (r < 0) {
                        json_object_put(reply.list);
                        return r;
                }
        }
        if (json_add(p, "containers", reply.list) < 0 ||
            json_add_bool(p, "truncated", registry_size(registry) > reply.n) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}
