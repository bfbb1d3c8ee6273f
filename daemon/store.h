/* SPDX-License-Identifier: MIT */
#pragma once

/* Store: the SQLite database of denials (docs/architecture.md "Store"). One writer connection in
 * the daemon, WAL mode, inserts batched into transactions; queries on a separate read connection,
 * bounded in rows. Repeated strings are interned; each event's raw text is kept once; a
 * signatures table aggregates (source type, target type, tclass, permissions, image).
 * Opaque handle. Errors are negative errno (-EIO for SQLite errors, with store_last_error()). */

#include <stdbool.h>
#include <stdint.h>

#include "denial.h"
#include "filter.h"

typedef struct Store Store;

#define STORE_BATCH_ROWS 4096   /* live input: commit after this many pending rows ... */
#define STORE_BATCH_USEC 100000 /* ... or this long after the first pending row */
#define STORE_BATCH_ROWS_IMPORT                                                                    \
        8192 /* file input: nobody waits on a row, bigger batches                                  \
                halve the index work per row */
#define STORE_QUERY_LIMIT_MAX 10000

/* Opens (creating when missing) the database at path. Refuses a file that is not an SQLite
 * database or is one of another application (-EBADMSG), or a newer schema (-EPROTONOSUPPORT). */
int store_open(const char *path, Store **ret);
Store *store_free(Store *s); /* commits what is pending first */

/* Queues a denial for the current batch (opening one when needed). A denial with the same
 * (node, time, serial, seq) as a stored one is ignored; store_commit reports how many. */
int store_add(Store *s, const Denial *d);
size_t store_pending(const Store *s);
/* Commits the current batch. Returns the number of rows newly stored (>= 0) and adds the
 * number of ignored duplicates to *ret_duplicates (may be NULL). On failure the batch is rolled
 * back and lost; returns negative errno. */
int store_commit(Store *s, uint64_t *ret_duplicates);

/* Query: denials matching f, ordered by (time, id), ascending unless reverse. Keyset
 * pagination: pass after_id = 0 first, then the id of the last denial received.
 * Calls cb for each row (stop early by returning non-zero; that value is returned).
 * limit is clamped to STORE_QUERY_LIMIT_MAX. */
typedef int (*store_row_cb)(const Denial *d, void *userdata);
int store_query(Store *s, const DenialFilter *f, bool reverse, int64_t after_id, unsigned limit,
                store_row_cb cb, void *userdata);

typedef struct StoreCounts {
        uint64_t denials, events, signatures, containers;
        uint64_t db_bytes;
        int64_t oldest_ms, newest_ms; /* 0 when empty */
} StoreCounts;
int store_counts(Store *s, StoreCounts *ret);

const char *store_last_error(const Store *s);

/* The writer connection, for a module that keeps its own rows in the same database (the
 * registry; schema version 2). Its statements run inside the open batch when there is one, and
 * must be finalized before store_free(). */
struct sqlite3;
struct sqlite3 *store_get_db(Store *s);
