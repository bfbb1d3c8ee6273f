/* SPDX-License-Identifier: MIT */
#pragma once

/* What the store's files share: store.c (open, schema, writing, retention), store-query.c
 * (queries, top, histogram), store-containers.c (the container registry's tables) and
 * store-sql.c (SQLite helpers, the errno mapping). Not for other modules: they use store.h. */

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "raw-codec.h"
#include "store.h"

/* denials.id = time_ms * 2^20 + slot (STORE_SLOT_BITS, STORE_TIME_MAX: store.h): the table
 * itself is in time order, and every index on it (which ends in the rowid) is in (key, time)
 * order. */
#define STORE_SLOTS (INT64_C(1) << STORE_SLOT_BITS)
#define STORE_HOUR_MS INT64_C(3600000) /* the aggregate buckets' width */
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
struct StoreContainers;
typedef struct StoreCheckpointer StoreCheckpointer;
typedef struct StoreBaseline StoreBaseline;
typedef struct StoreMetrics StoreMetrics;

/* The files SQLite writes (store-files.c): what was at the paths when they were opened. */
typedef struct StoreFile {
        bool known;
        dev_t dev;
        ino_t ino;
} StoreFile;

typedef struct StoreFiles {
        StoreFile db, wal;
        bool gone; /* deleted or replaced: nothing more is written (sticky) */
} StoreFiles;

struct Store {
        char *path;
        sqlite3 *db; /* writer */
        sqlite3 *ro; /* reader, SQLITE_OPEN_READONLY + query_only */
        struct StoreWriter *w;
        StoreFiles files;
        struct StoreContainers *containers; /* the registry's statements, store-containers.c */
        struct StoreBackgroundCheck *background_check; /* store_check_background_start() */
        StoreCheckpointer *checkpointer; /* WAL checkpoints off this thread, store-checkpoint.c */
        RawDecoder *decoder;             /* on ro */
        StoreBaseline *baseline;         /* signatures per image, store-baseline.c */
        StoreMetrics *metrics;           /* triage_totals' deltas, store-metrics.c */
        uint64_t query_budget_usec;
        int failure;  /* of a registry write, until store_take_failure() */
        bool damaged; /* SQLite said SQLITE_CORRUPT/NOTADB once: no clean-stop mark at close */
        StoreChecked checked; /* what store_open did about PRAGMA quick_check, and why */
        char last_error[STORE_ERROR_MAX];
};

/* ---- store-checkpoint.c ---- */

/* The writer's WAL is checkpointed by a thread of its own once it holds
 * STORE_WAL_AUTOCHECKPOINT_PAGES; by the writer itself at STORE_WAL_CHECKPOINT_INLINE_PAGES (or at
 * the former without the thread). Replaces SQLite's automatic checkpoint on s->db. */
#define STORE_WAL_AUTOCHECKPOINT_PAGES 8192     /* fewer checkpoints; ~32 MiB of WAL */
#define STORE_WAL_CHECKPOINT_INLINE_PAGES 32768 /* the thread fell behind: ~128 MiB */
int store_checkpointer_start(Store *s);
void store_checkpointer_stop(Store *s); /* before s->db is closed */

/* ---- store-sql.c ---- */

/* SQLite's result code as negative errno (0 for OK, ROW, DONE): the one mapping. */
int store_errno(int rc);
/* The same for a failed call on db, keeping SQLite's message for store_last_error(). */
int store_error(Store *s, sqlite3 *db, int rc);
int store_exec(Store *s, sqlite3 *db, const char *sql);
/* Runs a prepared statement that returns no row (or whose rows do not matter); resets it. */
int store_step_done(Store *s, sqlite3_stmt *st);
/* Runs a single-value query: 1 with *ret set, 0 when there is no row (or NULL). */
int store_step_int64(Store *s, sqlite3_stmt *st, int64_t *ret);
int store_sql_int64(Store *s, sqlite3 *db, const char *sql, int64_t *ret);
/* The additive part of a migration: adds each column ("name TYPE ...") table lacks. Inside the
 * caller's transaction. */
int store_add_columns(Store *s, const char *table, const char *const *columns, size_t n);
void store_bind_text_or_null(sqlite3_stmt *st, int i, const char *text); /* SQLITE_STATIC */
void store_bind_ref(sqlite3_stmt *st, int i, int64_t ref);               /* <= 0: NULL */
void store_bind_known(sqlite3_stmt *st, int i, int64_t v);               /* < 0: NULL */
char *store_column_strdup(sqlite3_stmt *st, int i);                      /* NULL: NULL */
void sqlite3_finalizep(sqlite3_stmt **p);
/* The CPU time this thread has used: query budgets count work, not time spent waiting for a
 * core on a busy machine (which would make page sizes depend on the load). */
uint64_t store_cpu_usec(void);

/* ---- store-write.c ---- */

int store_writer_new(Store *s); /* s->w, before the database is opened */
/* Its statements, once the schema is there, and the newest raw codec dictionary. */
int store_writer_prepare(Store *s);
void store_writer_free(Store *s);
/* A transaction of the writer's own (BEGIN IMMEDIATE ... COMMIT), outside a batch. */
int store_writer_begin(Store *s);
int store_writer_commit(Store *s);
/* Rows of the denials table were deleted (retention): the writer forgets what it knew of the
 * newest millisecond's rows. */
void store_writer_rows_deleted(Store *s);
/* Interns text into strings (the triage pass's booleans): its id in *ret_id. */
int store_intern_text(Store *s, const char *text, int64_t *ret_id);
/* Adds delta to a count in meta ('denials', 'events', 'pruned'). */
int store_meta_add(Store *s, const char *key, int64_t delta);
/* Forgets the open batch's rows and deltas after a rollback that was not store_commit()'s. */
void store_forget_batch(Store *s);
/* Inserts the denial rows the writer holds (store_add() answers before its row is inserted:
 * several are inserted with one statement). Before anything else reads or writes the denials
 * table on the writer's connection. On failure the batch is rolled back and counted lost, and
 * the failure kept for store_take_failure(). */
int store_writer_flush(Store *s);

/* ---- store-files.c ---- */

/* Notes the device and inode of the database and its -wal as opened (store_check_files()). */
void store_remember_files(Store *s);

/* ---- store-position.c ---- */

/* meta keys of the gap backfill's positions (store.h, StorePosition); absent in a database
 * written before they existed. */
#define STORE_META_LIVE_POSITION "live_position_ms"
#define STORE_META_BACKFILL_FROM "backfill_from_ms"
/* Sets meta key to max(its value, value), creating it; inside the open batch when there is one,
 * else as one statement (its own transaction). */
int store_meta_max(Store *s, const char *key, int64_t value);
/* A write of the open batch failed: if SQLite gave the transaction up (full disk, I/O error),
 * the batch is forgotten and its rows counted lost (store_take_lost()). Returns r. */
int store_batch_failed(Store *s, int r);
/* Whether a batch (BEGIN IMMEDIATE of store_add) is open. */
bool store_in_batch(const Store *s);

/* ---- store-containers.c ---- */

/* At every open, in its own transaction: the registry's columns and tables (additive,
 * idempotent). */
int store_containers_migrate(Store *s);
int store_containers_prepare(Store *s);
void store_containers_free(Store *s);
/* Writes the candidates queued by store_container_queue_candidates(), inside the open batch
 * (store_commit, store_prune) or in a transaction of their own. */
int store_containers_flush(Store *s);
/* After a rollback of the batch: the queued candidates went with it. */
void store_containers_forget(Store *s);

/* ---- store-baseline.c ---- */

/* At every open: the baseline table, created (and seeded from the totals, as accepted) when the
 * file has none. In its own transaction. */
int store_baseline_migrate(Store *s);
int store_baseline_prepare(Store *s);
void store_baseline_free(Store *s);
/* Writes the entries the open batch touched (store_commit, inside its transaction). */
int store_baseline_flush(Store *s);
/* The batch's entries are written: clean again. */
void store_baseline_committed(Store *s);
/* After a rollback: the set is read again from the table when next needed. */
void store_baseline_forget(Store *s);

/* ---- store-metrics.c ---- */

/* At every open: triage_totals, created (and seeded from the rows) when the file has none. */
int store_metrics_migrate(Store *s);
int store_metrics_prepare(Store *s);
void store_metrics_free(Store *s);
/* A row added to the open batch: its share of triage_totals, written by store_metrics_flush()
 * (store_commit) and forgotten with a rollback (store_metrics_forget()). */
void store_metrics_note(Store *s, const Denial *d);
int store_metrics_flush(Store *s);
void store_metrics_forget(Store *s);
