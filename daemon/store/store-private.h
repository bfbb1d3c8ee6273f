/* SPDX-License-Identifier: MIT */
#pragma once

/* What store.c (schema, writing, retention) and store-query.c (queries, top, histogram) share.
 * Not for other modules: they use store.h. */

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "raw-codec.h"
#include "store.h"

/* denials.id = time_ms * 2^20 + slot: the table itself is in time order, and every index on it
 * (which ends in the rowid) is in (key, time) order. */
#define STORE_SLOT_BITS 20
#define STORE_SLOTS (INT64_C(1) << STORE_SLOT_BITS)
#define STORE_TIME_MAX (INT64_C(1) << 42) /* |time_ms| below this: ids fit in 63 bits */
#define STORE_HOUR_MS INT64_C(3600000)    /* the aggregate buckets' width */
#define STORE_ERROR_MAX 256

static inline int64_t store_id_time(int64_t id) {
        return id >= 0 ? id / STORE_SLOTS : -((-id + STORE_SLOTS - 1) / STORE_SLOTS);
}

static inline int64_t store_time_id(int64_t time_ms) {
        if (time_ms >= STORE_TIME_MAX)
                return INT64_MAX;
        if (time_ms <= -STORE_TIME_MAX)
                return INT64_MIN;
        return time_ms * STORE_SLOTS;
}

/* floor(time_ms / 1 h), the same in C and in the SQL of the triggers */
static inline int64_t store_time_hour(int64_t time_ms) {
        return time_ms >= 0 ? time_ms / STORE_HOUR_MS
                            : -((-time_ms + STORE_HOUR_MS - 1) / STORE_HOUR_MS);
}

struct StoreWriter;

struct Store {
        char *path;
        sqlite3 *db; /* writer */
        sqlite3 *ro; /* reader, SQLITE_OPEN_READONLY + query_only */
        struct StoreWriter *w;
        RawDecoder *decoder; /* on ro */
        uint64_t query_budget_usec;
        char last_error[STORE_ERROR_MAX];
};

int store_error(Store *s, sqlite3 *db, int rc);
int store_exec(Store *s, sqlite3 *db, const char *sql);
int store_sql_int64(Store *s, sqlite3 *db, const char *sql, int64_t *ret);
/* The CPU time this thread has used: query budgets count work, not time spent waiting for a
 * core on a busy machine (which would make page sizes depend on the load). */
uint64_t store_cpu_usec(void);
