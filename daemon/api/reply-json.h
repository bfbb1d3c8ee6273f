/* SPDX-License-Identifier: MIT */
#pragma once

/* The reply objects of io.avcwatch other than the denial (denial-json.h) and Stats
 * (stats-json.h), as io.avcwatch.varlink describes them: keys in its order, unknown values
 * null. The modules that hold the data (store, registry, importer) hand plain values; the JSON
 * is made here. All return 0 or -ENOMEM. */

#include <json-c/json.h>
#include <stdint.h>

#include "container.h"
#include "importer.h"
#include "registry.h"
#include "store.h"

/* {key: value}: the parameters of a reply with one key (value consumed), NULL when out of
 * memory. */
json_object *reply_params_new(const char *key, json_object *value);

/* One TopRow. */
int top_row_to_json(const StoreTopRow *row, json_object **ret);
/* One HistogramBin: {start, count}. */
int histogram_bin_to_json(int64_t start_ms, uint64_t count, json_object **ret);
/* The Import reply: the import's counts so far. */
int import_counts_to_json(const ImportCounts *k, json_object **ret);

/* One Container of the Containers reply: what the registry knows, the number of denials
 * attributed to it and of ambiguous denials it is a candidate for. */
int container_info_to_json(const ContainerInfo *c, int64_t denials, int64_t ambiguous,
                           json_object **ret);
/* The Containers reply parameters {"containers": [...], "truncated": bool}: the registry's
 * containers newest first (registry_list(): at most REGISTRY_LIST_MAX) and at most
 * REGISTRY_REPLY_BYTES_MAX of JSON; truncated says whether some were left out. registry NULL:
 * an empty list. */
int containers_reply_to_json(Registry *registry, json_object **ret);
