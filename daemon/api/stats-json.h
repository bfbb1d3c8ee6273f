/* SPDX-License-Identifier: MIT */
#pragma once

/* The io.avcwatch.Stats reply, made from the daemon's counters (stats.h) and the store's
 * totals. */

#include <json-c/json.h>

#include "stats.h"
#include "store.h"

/* The daemon's counters, keys in the order of io.avcwatch.varlink. */
int stats_to_json(const Stats *s, json_object **ret);
/* The whole reply: the counters, then the store's totals (store_denials ... store_pruned). */
int stats_reply_to_json(const Stats *s, const StoreCounts *counts, json_object **ret);
