/* SPDX-License-Identifier: MIT */
/* Store, the write path: the batch (store_add, store_commit), interning of strings, containers
 * and signatures behind bounded in-memory caches, the dedupe probe, the aggregate deltas summed
 * per batch, and the raw codec's dictionaries trained between batches. The decisions are told at
 * the top of store.c (schema, "writes are batched", "speed"). */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "macro.h"
#include "store-map.h"
#include "store-private.h"
#include "store.h"

#define STORE_CACHE_STRINGS_MAX 65536    /* interned string -> id entries kept in memory */
#define STORE_CACHE_CONTAINERS_MAX 4096  /* container id -> row entries */
#define STORE_CACHE_SIGNATURES_MAX 16384 /* signature key -> row entries */
#define STORE_AGGREGATES_MAX 16384       /* (hour, signature, container, mcs) deltas of a batch */
#define STORE_CACHE_KEY_MAX 1024         /* longer strings are interned but not cached */
#define STORE_PROBE_MAX 64               /* slots tried for one verdict in its millisecond */
#define STORE_NEWEST_MAX 1024            /* rows of the newest millisecond the writer remembers */
#define STORE_NEWEST_SLOTS 2048          /* their table: a power of 2, at most half full */
#ifndef STORE_INSERT_ROWS
#define STORE_INSERT_ROWS 32 /* denial rows per INSERT statement: a power of 2 */
#endif
#ifndef STORE_INSERT_SIZES
#define STORE_INSERT_SIZES 6 /* statements of 32, 16, 8, 4, 2, 1 rows */
#endif
_Static_assert(STORE_INSERT_ROWS == 1 << (STORE_INSERT_SIZES - 1), "one statement per power of 2");
/* Bytes of raw text held for them; a row whose raw text is larger is inserted at once. */
#define STORE_INSERT_RAW_MAX (128 * 1024)
/* New strings of the held rows waiting for their INSERT (store_resolve_strings): a power of 2,
 * inserted up to STORE_INSERT_ROWS per statement. */
#define STORE_PENDING_STRINGS_MAX 64

/* The strings of a denial row, in the order of its columns scontext .. proctitle. */
#define DENIAL_STRINGS(d)                                                                          \
        {                                                                                          \
                (d)->scontext, (d)->tcontext, (d)->mcs, (d)->target_mcs, (d)->comm, (d)->exe,      \
                        (d)->path, (d)->name, (d)->cwd, (d)->proctitle                             \
        }

/* Positions in DENIAL_STRINGS(): the mcs (a key of the aggregates, needed at once), the first of
 * the ones that vary most between denials (comm .. proctitle: store_prefetch). */
enum {
        ROW_STRING_MCS = 2,
        ROW_STRING_COMM = 4,
        ROW_STRINGS = 10,
};

/* The strings that make a signature: result, source and target type, class, permissions. */
#define SIGNATURE_STRINGS 5

/* The last string interned for one Denial field. */
typedef struct StringMemo {
        const char *key; /* the strings cache's copy */
        int64_t id;
        uint64_t generation;
} StringMemo;

enum {
        MEMO_NODE,
        MEMO_IMAGE,
        /* the ROW_STRINGS of DENIAL_STRINGS(), then a signature's SIGNATURE_STRINGS */
        MEMO_STRINGS,
        MEMO_BOOLEANS = MEMO_STRINGS + ROW_STRINGS + SIGNATURE_STRINGS,
        _MEMO_MAX,
};

/* A new string of a held row, in the strings cache, not yet inserted: its id there is
 * -(index + 1) until store_resolve_strings() inserts it. key is the cache's copy. */
typedef struct PendingString {
        const char *key;
        size_t len;
        uint64_t hash;
} PendingString;

typedef struct CachedContainer {
        int64_t row;
        ContainerRef known; /* what the row holds */
} CachedContainer;

/* A row of the newest millisecond, as the dedupe probe compares it; a slot of the table is
 * empty unless its generation is the writer's. */
typedef struct NewestRow {
        int64_t id, node;
        uint64_t serial;
        unsigned seq;
        uint32_t generation;
} NewestRow;

typedef struct AggregateKey {
        int64_t hour, signature, container, mcs;
} AggregateKey;

typedef struct AggregateDelta {
        AggregateKey key;
        int64_t count, first_ms, last_ms;
} AggregateDelta;

enum {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_STRING_INSERT,
        STMT_STRING_SELECT,
        STMT_SLOT_PROBE,
        STMT_CONTAINER_SELECT,
        STMT_CONTAINER_INSERT,
        STMT_CONTAINER_UPDATE,
        STMT_SIGNATURE_SELECT,
        STMT_SIGNATURE_INSERT,
        STMT_TOTALS_ADD,
        STMT_BUCKET_ADD,
        STMT_META_ADD,
        STMT_META_MAX,
        STMT_DICTIONARY_INSERT,
        STMT_DICTIONARY_LATEST,
        STMT_MAX_ID,
        STMT_DATA_VERSION,
        _STMT_MAX,
};

/* Columns of a row of the denial insert, in order (?1 .. of its first row, ?30 .. of the
 * second: INS_COLUMNS per row). */
enum {
        INS_ID = 1,
        INS_SERIAL,
        INS_NODE,
        INS_SEQ,
        INS_RECORD_TYPE,
        INS_SIGNATURE,
        INS_STRINGS, /* scontext .. proctitle: the ROW_STRINGS entries of DENIAL_STRINGS() */
        INS_PID = INS_STRINGS + ROW_STRINGS,
        INS_PPID,
        INS_UID,
        INS_SYSCALL,
        INS_PERMISSIVE,
        INS_CONTAINER,
        INS_ATTRIBUTION,
        INS_TARGET_CONTAINER,
        INS_RAW,
        INS_COUNT,
        INS_REASON,
        INS_VERDICT,
        INS_BOOLEANS,
        INS_COLUMNS = INS_BOOLEANS,
};

/* OR FAIL, not the default ABORT: a failed statement of many rows is not undone, so SQLite keeps
 * no statement journal for it (a copy of every page the statement touches, taken before it
 * changes it: more than the statement saves on an import). A failure gives the whole batch up
 * anyway (store_flush_rows). */
#define DENIAL_INSERT_SQL                                                                          \
        "INSERT OR FAIL INTO denials(id, serial, node, seq, record_type, signature, scontext, "    \
        "tcontext, "                                                                               \
        "mcs, target_mcs, comm, exe, path, name, cwd, proctitle, pid, ppid, uid, syscall, "        \
        "permissive, container, attribution, target_container, raw, count, reason, verdict, "      \
        "booleans) VALUES "

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_STRING_INSERT] = "INSERT OR IGNORE INTO strings(text) VALUES (?1)",
        [STMT_STRING_SELECT] = "SELECT id FROM strings WHERE text = ?1",
        [STMT_SLOT_PROBE] =
                "SELECT id, serial, node, seq FROM denials WHERE id >= ?1 AND id <= ?2 ORDER BY id",
        [STMT_CONTAINER_SELECT] =
                "SELECT id, name, image, engine, pod, pod_namespace FROM containers WHERE "
                "container_id = ?1",
        [STMT_CONTAINER_INSERT] = "INSERT INTO containers(container_id, name, image, engine, pod, "
                                  "pod_namespace) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [STMT_CONTAINER_UPDATE] =
                "UPDATE containers SET name = coalesce(?2, name), image = coalesce(?3, image), "
                "engine = coalesce(?4, engine), pod = coalesce(?5, pod), pod_namespace = "
                "coalesce(?6, pod_namespace) WHERE id = ?1",
        [STMT_SIGNATURE_SELECT] = "SELECT id FROM signatures WHERE result = ?1 AND source_type = "
                                  "?2 AND target_type = ?3 AND tclass = ?4 AND permissions = ?5",
        [STMT_SIGNATURE_INSERT] = "INSERT INTO signatures(result, source_type, target_type, "
                                  "tclass, permissions) VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_TOTALS_ADD] =
                "INSERT INTO totals(signature, container, mcs, count, first_ms, last_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET count = count + "
                "excluded.count, first_ms = min(first_ms, excluded.first_ms), last_ms = "
                "max(last_ms, excluded.last_ms)",
        [STMT_BUCKET_ADD] =
                "INSERT INTO buckets(hour, signature, container, mcs, count, first_ms, last_ms) "
                "VALUES (?7, ?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET count = count + "
                "excluded.count, first_ms = min(first_ms, excluded.first_ms), last_ms = "
                "max(last_ms, excluded.last_ms)",
        [STMT_META_ADD] = "UPDATE meta SET value = value + ?2 WHERE key = ?1",
        [STMT_META_MAX] = "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE "
                          "SET value = max(value, excluded.value)",
        [STMT_DICTIONARY_INSERT] = "INSERT INTO dictionaries(created_ms, data) VALUES (?1, ?2)",
        [STMT_DICTIONARY_LATEST] = "SELECT id, data FROM dictionaries ORDER BY id DESC LIMIT 1",
        [STMT_MAX_ID] = "SELECT max(id) FROM denials",
        [STMT_DATA_VERSION] = "PRAGMA data_version",
};

/* A denial row waiting for its INSERT: the values of its parameters, by INS_* (INS_RAW: the
 * offset of its raw text in StoreWriter.raw_held). */
typedef struct HeldRow {
        int64_t value[INS_COLUMNS + 1];
        uint32_t null; /* bit INS_*: NULL */
        uint32_t raw_len;
} HeldRow;

/* A prepared INSERT of `rows` denial rows, and what its parameters hold. */
typedef struct RowsInsert {
        sqlite3_stmt *st;
        size_t rows;
        /* By row: the values its parameters hold (SQLite keeps bindings across a reset), not
         * the raw text's; none before the first. */
        HeldRow *bound;
        bool *bound_known;
} RowsInsert;

/* The writer's state: only the daemon's single thread touches it. */
typedef struct StoreWriter {
        sqlite3_stmt *stmt[_STMT_MAX];

        bool in_txn;
        uint64_t lost;  /* denials of batches SQLite rolled back with a failed store_add */
        size_t pending; /* store_add calls in the open batch */
        uint64_t pending_denials;  /* the denials they stand for (a storm's summary: many) */
        uint64_t batch_folded;     /* sum of (count - 1) of the rows the batch added */
        uint64_t committed_folded; /* the same, committed, until store_take_committed_folded() */
        uint64_t batch_added, batch_duplicates, batch_events;
        int64_t batch_live_ms; /* store_note_live(): the newest live time in the batch, 0 none */

        Map strings;
        Map containers;
        CachedContainer *container_cache;
        Map signatures;
        Map aggregates;
        AggregateDelta *aggregate_deltas;

        StringMemo memo[_MEMO_MAX];
        uint64_t strings_generation; /* bumped whenever the strings cache is dropped */

        bool has_max;
        int64_t max_time_ms; /* of every row stored or pending: newer ones need no dedupe probe */
        /* Every row of millisecond newest_ms, when the writer added them all: its first came
         * when it was newer than anything stored. A probe of that millisecond (a log has a few
         * events per millisecond: half of an import's denials) is then answered here, without
         * SQL. Forgotten with the caches, on a rollback, when rows are deleted, and past
         * STORE_NEWEST_MAX rows. The kernel stamps events by the jiffy, so a busy host has
         * hundreds in one millisecond: the rows are an open-addressing table by id, emptied by
         * a new generation (not a memset per millisecond: an import has about two rows in
         * each). */
        bool has_newest;
        int64_t newest_ms;
        size_t n_newest;
        uint32_t newest_generation;
        NewestRow newest[STORE_NEWEST_SLOTS];

        /* The rows store_add() said were stored, not yet inserted: one INSERT of
         * STORE_INSERT_ROWS rows costs SQLite's fixed cost per statement once (store_flush_rows,
         * the top of store.c). Their raw text is copied (the encoder reuses its buffer). */
        HeldRow held[STORE_INSERT_ROWS];
        size_t n_held;
        uint8_t *raw_held; /* STORE_INSERT_RAW_MAX bytes */
        size_t raw_held_used;
        RowsInsert insert[STORE_INSERT_SIZES]; /* STORE_INSERT_ROWS rows, half of that, .. 1 */
        /* The new strings of held rows (their fields that nothing reads before the INSERT: not
         * node, mcs, nor a signature's), in the order they came: one INSERT of many costs
         * SQLite's fixed cost per statement once, as the rows' (store_resolve_strings). */
        PendingString pending_strings[STORE_PENDING_STRINGS_MAX];
        size_t n_pending_strings;
        sqlite3_stmt *strings_insert[STORE_INSERT_SIZES]; /* STORE_INSERT_ROWS strings, .. 1 */
        HeldRow *building;    /* the row store_add_one() builds, NULL outside it */
        int64_t data_version; /* PRAGMA data_version: changes when another connection commits */

        RawEncoder *encoder;
        /* The newest dictionary committed: a row packed elsewhere (Denial.raw_packed) may refer
         * to it or an older one (ids only grow, none is ever deleted). */
        int64_t dictionary_max;
} StoreWriter;

/* ---- caches ---- */

static void writer_drop_caches(StoreWriter *w) {
        map_clear(&w->strings);
        w->strings_generation++;
        for (size_t i = 0; i < w->containers.n_entries; i++)
                container_ref_done(&w->container_cache[i].known);
        map_clear(&w->containers);
        map_clear(&w->signatures);
        map_clear(&w->aggregates);
        w->has_max = false;
        w->has_newest = false;
}

void store_writer_rows_deleted(Store *s) {
        if (s && s->w)
                s->w->has_newest = false;
}

/* After a rollback nothing of the batch exists any more, including ids the caches learned. */
void store_forget_batch(Store *s) {
        StoreWriter *w = s->w;
        writer_drop_caches(w);
        store_containers_forget(s);
        store_baseline_forget(s);
        store_metrics_forget(s);
        w->in_txn = false;
        w->pending = 0;
        w->pending_denials = 0;
        w->batch_folded = 0;
        w->batch_added = w->batch_duplicates = w->batch_events = 0;
        w->batch_live_ms = 0;
        w->n_held = 0; /* rolled back with the rest */
        w->n_pending_strings = 0;
        w->raw_held_used = 0;
}

static int store_resolve_strings(Store *s);
static void store_give_up_batch(Store *s);

/* The waiting strings inserted now; on failure the batch is given up, as by store_flush_held. */
static int store_settle_strings(Store *s) {
        if (s->w->n_pending_strings == 0)
                return 0;
        int r = store_resolve_strings(s);
        if (r < 0)
                store_give_up_batch(s);
        return r;
}

/* The id of text (len bytes), which the strings table holds: one an INSERT OR IGNORE left as it
 * was. */
static int store_string_id(Store *s, const char *text, size_t len, int64_t *ret_id) {
        sqlite3_stmt *sel = s->w->stmt[STMT_STRING_SELECT];
        int r;

        sqlite3_bind_text(sel, 1, text, (int) len, SQLITE_STATIC);
        r = store_step_int64(s, sel, ret_id);
        if (r == 0) {
                snprintf(s->last_error, sizeof(s->last_error), "interned string vanished");
                return -EIO;
        }
        return r < 0 ? r : 0;
}

/* Interns text (NULL gives 0). *ret_key, when given, is the cached copy of text (NULL when not
 * cached), valid until the strings cache is dropped. defer: text may wait with the held rows for
 * its INSERT (a new one is then given the id -(index + 1) of its PendingString, which
 * store_resolve_strings() turns into its own in the held rows and the memos). Otherwise any
 * waiting string is inserted first: the ids follow the order in which the strings came. A
 * failure of that gives the batch up (the held rows name them): the caller returns at once. */
static int store_intern(Store *s, const char *text, bool defer, int64_t *ret_id,
                        const char **ret_key) {
        StoreWriter *w = s->w;
        MapSlot *slot = NULL;
        uint64_t hash = 0;
        size_t len;
        int64_t id;
        int r;

        if (ret_key)
                *ret_key = NULL;
        if (!text) {
                *ret_id = 0;
                return 0;
        }
        len = strlen(text);
        if (len <= STORE_CACHE_KEY_MAX) {
                hash = store_hash_bytes(text, len);
                slot = map_find(&w->strings, text, len, hash);
                if (slot->key) {
                        if (slot->value < 0 && !defer) {
                                /* a new string that waits: its id is known once inserted (the
                                 * slot stays where it is) */
                                r = store_settle_strings(s);
                                if (r < 0)
                                        return r;
                        }
                        *ret_id = slot->value;
                        if (ret_key)
                                *ret_key = slot->key;
                        return 0;
                }
                if (defer) {
                        if (w->n_pending_strings == STORE_PENDING_STRINGS_MAX) {
                                r = store_settle_strings(s);
                                if (r < 0)
                                        return r;
                        }
                        r = map_reserve(&w->strings);
                        if (r == -ENOSPC) {
                                /* the waiting strings' copies go with the cache */
                                r = store_settle_strings(s);
                                if (r < 0)
                                        return r;
                                map_clear(&w->strings);
                                w->strings_generation++;
                                r = 1;
                        }
                        if (r != 0)
                                slot = map_find(&w->strings, text, len, hash);
                        id = -(int64_t) (w->n_pending_strings + 1);
                        r = map_fill(&w->strings, slot, text, len, hash, id, ret_key);
                        if (r < 0)
                                return r;
                        w->pending_strings[w->n_pending_strings++] =
                                (PendingString){.key = slot->key, .len = len, .hash = hash};
                        *ret_id = id;
                        return 0;
                }
        }

        r = store_settle_strings(s);
        if (r < 0)
                return r;
        sqlite3_stmt *ins = w->stmt[STMT_STRING_INSERT];
        sqlite3_bind_text(ins, 1, text, (int) len, SQLITE_STATIC);
        r = store_step_done(s, ins);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) > 0)
                id = sqlite3_last_insert_rowid(s->db);
        else {
                r = store_string_id(s, text, len, &id);
                if (r < 0)
                        return r;
        }

        if (slot) {
                r = map_reserve(&w->strings);
                if (r == -ENOSPC) {
                        map_clear(&w->strings);
                        w->strings_generation++;
                }
                if (r != 0)
                        slot = map_find(&w->strings, text, len, hash);
                r = map_fill(&w->strings, slot, text, len, hash, id, ret_key);
                if (r < 0)
                        return r;
        }
        *ret_id = id;
        return 0;
}

int store_intern_text(Store *s, const char *text, int64_t *ret_id) {
        return store_intern(s, text, false, ret_id, NULL);
}

/* store_intern() behind a one-entry memo per Denial field: consecutive denials mostly repeat
 * node, result, contexts, exe, cwd ..., and a strcmp on a hot string beats a hash lookup. */
static int store_intern_field(Store *s, size_t field, const char *text, bool defer,
                              int64_t *ret_id) {
        StringMemo *m = s->w->memo + field;
        const char *key;
        int r;

        if (!text) {
                *ret_id = 0;
                return 0;
        }
        if (m->key && m->generation == s->w->strings_generation && strcmp(m->key, text) == 0 &&
            (defer || m->id > 0)) {
                *ret_id = m->id;
                return 0;
        }
        r = store_intern(s, text, defer, ret_id, &key);
        if (r < 0)
                return r;
        *m = (StringMemo){.key = key, .id = *ret_id, .generation = s->w->strings_generation};
        return 0;
}

void store_prefetch(Store *s, const Denial *d) {
        StoreWriter *w = s ? s->w : NULL;
        const char *strings[] = DENIAL_STRINGS(d);

        if (!w)
                return;
        for (size_t i = ROW_STRING_COMM; i < ROW_STRINGS; i++) {
                const StringMemo *m = w->memo + MEMO_STRINGS + i;
                if (!strings[i] || (m->key && m->generation == w->strings_generation &&
                                    strcmp(m->key, strings[i]) == 0))
                        continue; /* NULL, or the memo answers */
                size_t len = strlen(strings[i]);
                if (len <= STORE_CACHE_KEY_MAX)
                        __builtin_prefetch(w->strings.slots +
                                           (store_hash_bytes(strings[i], len) & w->strings.mask));
        }
}

static bool streq_null(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Replaces the known fields that c knows better (a later denial may know more). */
static int container_merge(ContainerRef *known, const ContainerRef *c, bool *ret_changed) {
        const char *src[] = {c->name, c->image, c->engine, c->pod, c->pod_namespace};
        char **dst[] = {&known->name, &known->image, &known->engine, &known->pod,
                        &known->pod_namespace};
        bool changed = false;

        for (size_t i = 0; i < ELEMENTSOF(src); i++) {
                if (!src[i] || streq_null(src[i], *dst[i]))
                        continue;
                char *copy = strdup(src[i]);
                if (!copy)
                        return -ENOMEM;
                free(*dst[i]);
                *dst[i] = copy;
                changed = true;
        }
        *ret_changed = changed;
        return 0;
}

static int store_container_update(Store *s, int64_t row, const ContainerRef *c) {
        sqlite3_stmt *up = s->w->stmt[STMT_CONTAINER_UPDATE];
        sqlite3_bind_int64(up, 1, row);
        store_bind_text_or_null(up, 2, c->name);
        store_bind_text_or_null(up, 3, c->image);
        store_bind_text_or_null(up, 4, c->engine);
        store_bind_text_or_null(up, 5, c->pod);
        store_bind_text_or_null(up, 6, c->pod_namespace);
        return store_step_done(s, up);
}

/* Upserts a container by its id; fills name, image, engine, pod, namespace when c knows them. */
static int store_container(Store *s, const ContainerRef *c, int64_t *ret_row) {
        _cleanup_(container_ref_done) ContainerRef known = {};
        StoreWriter *w = s->w;
        size_t len;
        uint64_t hash;
        MapSlot *slot;
        bool changed;
        int64_t row;
        int r;

        if (!c->id || !c->id[0]) {
                snprintf(s->last_error, sizeof(s->last_error), "container without an id");
                return -EINVAL;
        }
        len = strlen(c->id);
        hash = store_hash_bytes(c->id, len);
        slot = map_find(&w->containers, c->id, len, hash);
        if (slot->key) {
                CachedContainer *cc = w->container_cache + slot->value;
                r = container_merge(&cc->known, c, &changed);
                if (r < 0)
                        return r;
                if (changed) {
                        r = store_container_update(s, cc->row, c);
                        if (r < 0)
                                return r;
                }
                *ret_row = cc->row;
                return 0;
        }

        sqlite3_stmt *sel = w->stmt[STMT_CONTAINER_SELECT];
        sqlite3_bind_text(sel, 1, c->id, (int) len, SQLITE_STATIC);
        int rc = sqlite3_step(sel);
        if (rc == SQLITE_ROW) {
                row = sqlite3_column_int64(sel, 0);
                known.name = store_column_strdup(sel, 1);
                known.image = store_column_strdup(sel, 2);
                known.engine = store_column_strdup(sel, 3);
                known.pod = store_column_strdup(sel, 4);
                known.pod_namespace = store_column_strdup(sel, 5);
                sqlite3_reset(sel);
                r = container_merge(&known, c, &changed);
                if (r < 0)
                        return r;
                if (changed) {
                        r = store_container_update(s, row, c);
                        if (r < 0)
                                return r;
                }
        } else {
                sqlite3_reset(sel);
                if (rc != SQLITE_DONE)
                        return store_error(s, s->db, rc);
                sqlite3_stmt *ins = w->stmt[STMT_CONTAINER_INSERT];
                sqlite3_bind_text(ins, 1, c->id, (int) len, SQLITE_STATIC);
                store_bind_text_or_null(ins, 2, c->name);
                store_bind_text_or_null(ins, 3, c->image);
                store_bind_text_or_null(ins, 4, c->engine);
                store_bind_text_or_null(ins, 5, c->pod);
                store_bind_text_or_null(ins, 6, c->pod_namespace);
                r = store_step_done(s, ins);
                if (r < 0)
                        return r;
                row = sqlite3_last_insert_rowid(s->db);
                r = container_merge(&known, c, &changed);
                if (r < 0)
                        return r;
        }

        r = map_reserve(&w->containers);
        if (r == -ENOSPC) {
                for (size_t i = 0; i < w->containers.n_entries; i++)
                        container_ref_done(&w->container_cache[i].known);
                map_clear(&w->containers);
        }
        if (r != 0)
                slot = map_find(&w->containers, c->id, len, hash);
        size_t idx = w->containers.n_entries;
        r = map_fill(&w->containers, slot, c->id, len, hash, (int64_t) idx, NULL);
        if (r < 0)
                return r;
        w->container_cache[idx] = (CachedContainer){.row = row, .known = known};
        known = (ContainerRef){};
        *ret_row = row;
        return 0;
}

/* The signatures row of (result, source type, target type, tclass, permissions), string ids. */
static int store_signature(Store *s, const int64_t key[5], int64_t *ret_row) {
        StoreWriter *w = s->w;
        uint64_t hash = store_hash_bytes(key, 5 * sizeof(int64_t));
        MapSlot *slot = map_find(&w->signatures, key, 5 * sizeof(int64_t), hash);
        int64_t row;
        int r;

        if (slot->key) {
                *ret_row = slot->value;
                return 0;
        }

        sqlite3_stmt *sel = w->stmt[STMT_SIGNATURE_SELECT];
        for (int i = 0; i < 5; i++)
                sqlite3_bind_int64(sel, i + 1, key[i]);
        r = store_step_int64(s, sel, &row);
        if (r < 0)
                return r;
        if (r == 0) {
                sqlite3_stmt *ins = w->stmt[STMT_SIGNATURE_INSERT];
                for (int i = 0; i < 5; i++)
                        sqlite3_bind_int64(ins, i + 1, key[i]);
                r = store_step_done(s, ins);
                if (r < 0)
                        return r;
                row = sqlite3_last_insert_rowid(s->db);
        }

        r = map_reserve(&w->signatures);
        if (r == -ENOSPC)
                map_clear(&w->signatures);
        if (r != 0)
                slot = map_find(&w->signatures, key, 5 * sizeof(int64_t), hash);
        r = map_fill(&w->signatures, slot, key, 5 * sizeof(int64_t), hash, row, NULL);
        if (r < 0)
                return r;
        *ret_row = row;
        return 0;
}

/* ---- aggregates ---- */

/* Writes the deltas summed in the open batch. */
static int store_flush_aggregates(Store *s) {
        StoreWriter *w = s->w;
        sqlite3_stmt *tot = w->stmt[STMT_TOTALS_ADD], *bkt = w->stmt[STMT_BUCKET_ADD];
        int r;

        for (size_t i = 0; i < w->aggregates.n_entries; i++) {
                const AggregateDelta *a = w->aggregate_deltas + i;
                sqlite3_stmt *both[] = {tot, bkt};
                for (size_t j = 0; j < ELEMENTSOF(both); j++) {
                        sqlite3_bind_int64(both[j], 1, a->key.signature);
                        sqlite3_bind_int64(both[j], 2, a->key.container);
                        sqlite3_bind_int64(both[j], 3, a->key.mcs);
                        sqlite3_bind_int64(both[j], 4, a->count);
                        sqlite3_bind_int64(both[j], 5, a->first_ms);
                        sqlite3_bind_int64(both[j], 6, a->last_ms);
                }
                sqlite3_bind_int64(bkt, 7, a->key.hour);
                r = store_step_done(s, tot);
                if (r < 0)
                        return r;
                r = store_step_done(s, bkt);
                if (r < 0)
                        return r;
        }
        map_clear(&w->aggregates);
        return 0;
}

static int store_aggregate(Store *s, int64_t time_ms, int64_t signature, int64_t container,
                           int64_t mcs, uint64_t count) {
        StoreWriter *w = s->w;
        AggregateKey key = {store_time_hour(time_ms), signature, container, mcs};
        uint64_t hash = store_hash_bytes(&key, sizeof(key));
        MapSlot *slot = map_find(&w->aggregates, &key, sizeof(key), hash);
        int r;

        if (!slot->key) {
                r = map_reserve(&w->aggregates);
                if (r == -ENOSPC) {
                        /* The deltas are in the entries being dropped: write them first. */
                        r = store_flush_aggregates(s);
                        if (r < 0)
                                return r;
                        r = 1;
                }
                if (r != 0)
                        slot = map_find(&w->aggregates, &key, sizeof(key), hash);
                size_t idx = w->aggregates.n_entries;
                r = map_fill(&w->aggregates, slot, &key, sizeof(key), hash, (int64_t) idx, NULL);
                if (r < 0)
                        return r;
                w->aggregate_deltas[idx] =
                        (AggregateDelta){.key = key, .first_ms = time_ms, .last_ms = time_ms};
        }
        AggregateDelta *a = w->aggregate_deltas + slot->value;
        a->count += (int64_t) count;
        a->first_ms = MIN(a->first_ms, time_ms);
        a->last_ms = MAX(a->last_ms, time_ms);
        return 0;
}

/* ---- raw codec dictionaries ---- */

/* Between batches: when the codec asks for a new dictionary, trains it, commits it, uses it. */
static void store_maybe_train(Store *s) {
        StoreWriter *w = s->w;
        _cleanup_(freep) void *dict = NULL;
        size_t len;
        int r;

        if (w->in_txn || !raw_encoder_wants_dictionary(w->encoder))
                return;
        r = raw_encoder_train(w->encoder, &dict, &len);
        if (r < 0)
                return; /* too little to train on: the codec asks again later */
        sqlite3_stmt *ins = w->stmt[STMT_DICTIONARY_INSERT];
        sqlite3_bind_int64(ins, 1, (int64_t) time(NULL) * 1000);
        sqlite3_bind_blob(ins, 2, dict, (int) len, SQLITE_STATIC);
        r = store_step_done(s, ins);
        if (r >= 0)
                w->dictionary_max = MAX(w->dictionary_max, sqlite3_last_insert_rowid(s->db));
        if (r < 0 ||
            raw_encoder_use_dictionary(w->encoder, sqlite3_last_insert_rowid(s->db), dict, len) < 0)
                raw_encoder_postpone(w->encoder); /* keep the current one, try again later */
}

int store_raw_dictionary(Store *s, int64_t *ret_id, void **ret, size_t *ret_len) {
        _cleanup_(freep) void *copy = NULL;
        sqlite3_stmt *st;
        int64_t id = 0;
        size_t len = 0;
        int rc, r = 0;

        if (!s || !ret_id || !ret || !ret_len)
                return -EINVAL;
        st = s->w->stmt[STMT_DICTIONARY_LATEST];
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                id = sqlite3_column_int64(st, 0);
                len = (size_t) sqlite3_column_bytes(st, 1);
                copy = len > 0 ? malloc(len) : NULL;
                if (!copy)
                        r = len > 0 ? -ENOMEM : -EBADMSG;
                else
                        memcpy(copy, sqlite3_column_blob(st, 1), len);
        } else if (rc != SQLITE_DONE)
                r = store_error(s, s->db, rc);
        sqlite3_reset(st);
        if (r < 0)
                return r;
        *ret_id = copy ? id : 0;
        *ret_len = copy ? len : 0;
        *ret = TAKE_PTR(copy);
        return 0;
}

int store_add_raw_dictionary(Store *s, const void *dict, size_t len, int64_t *ret_id) {
        StoreWriter *w;
        int64_t id;
        int r;

        if (!s || !dict || len == 0 || len > INT_MAX || !ret_id)
                return -EINVAL;
        w = s->w;
        if (w->in_txn)
                return -EBUSY;
        if (s->files.gone)
                return -ESTALE;
        /* Outside a batch the writer is in autocommit: the row is committed when this returns,
         * and a batch rolled back later cannot take it with it. */
        sqlite3_stmt *ins = w->stmt[STMT_DICTIONARY_INSERT];
        sqlite3_bind_int64(ins, 1, (int64_t) time(NULL) * 1000);
        sqlite3_bind_blob(ins, 2, dict, (int) len, SQLITE_STATIC);
        r = store_step_done(s, ins);
        if (r < 0)
                return r;
        id = sqlite3_last_insert_rowid(s->db);
        w->dictionary_max = MAX(w->dictionary_max, id);
        /* The store packs what arrives unpacked with it too (the reader thread leaves some
         * denials to it): the newest dictionary, and no training of its own on the loop until
         * as many events as the one who trained it has seen. Committed: rows may name it. */
        (void) raw_encoder_use_dictionary(w->encoder, id, dict, len); /* else: the current one */
        *ret_id = id;
        return 0;
}

static int store_resume_dictionary(Store *s) {
        sqlite3_stmt *st = s->w->stmt[STMT_DICTIONARY_LATEST];
        int rc = sqlite3_step(st), r = 0;

        if (rc == SQLITE_ROW) {
                s->w->dictionary_max = sqlite3_column_int64(st, 0);
                r = raw_encoder_use_dictionary(s->w->encoder, sqlite3_column_int64(st, 0),
                                               sqlite3_column_blob(st, 1),
                                               (size_t) sqlite3_column_bytes(st, 1));
        } else if (rc != SQLITE_DONE)
                r = store_error(s, s->db, rc);
        sqlite3_reset(st);
        return r;
}

/* ---- the writer ---- */

/* The INSERT of `rows` denial rows: ?1 .. ?29 are the first row's columns, ?30 .. the second's. */
static int store_prepare_insert(Store *s, RowsInsert *ins, size_t rows) {
        _cleanup_(freep) char *sql = NULL;
        size_t size = sizeof(DENIAL_INSERT_SQL) + rows * INS_COLUMNS * 8, len;
        int rc;

        sql = malloc(size);
        ins->bound = calloc(rows, sizeof(HeldRow));
        ins->bound_known = calloc(rows, sizeof(bool));
        if (!sql || !ins->bound || !ins->bound_known)
                return -ENOMEM;
        ins->rows = rows;
        len = (size_t) snprintf(sql, size, "%s", DENIAL_INSERT_SQL);
        for (size_t i = 0; i < rows * INS_COLUMNS; i++)
                len += (size_t) snprintf(sql + len, size - len, "%s?%zu%s",
                                         i % INS_COLUMNS == 0 ? (i > 0 ? ", (" : "(") : ", ", i + 1,
                                         i % INS_COLUMNS == INS_COLUMNS - 1 ? ")" : "");
        assert(len < size);
        rc = sqlite3_prepare_v3(s->db, sql, (int) len, SQLITE_PREPARE_PERSISTENT, &ins->st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        return 0;
}

/* The INSERT of `rows` new strings: ?1 .. ?rows. OR IGNORE, as the one of a single string: one
 * someone stored before is left as it is (store_resolve_strings looks it up). */
static int store_prepare_strings_insert(Store *s, sqlite3_stmt **ret, size_t rows) {
        static const char head[] = "INSERT OR IGNORE INTO strings(text) VALUES ";
        _cleanup_(freep) char *sql = NULL;
        size_t size = sizeof(head) + rows * 12, len;
        int rc;

        sql = malloc(size);
        if (!sql)
                return -ENOMEM;
        len = (size_t) snprintf(sql, size, "%s", head);
        for (size_t i = 0; i < rows; i++)
                len += (size_t) snprintf(sql + len, size - len, "%s(?%zu)", i > 0 ? ", " : "",
                                         i + 1);
        assert(len < size);
        rc = sqlite3_prepare_v3(s->db, sql, (int) len, SQLITE_PREPARE_PERSISTENT, ret, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        return 0;
}

/* The statements, and the newest dictionary, which goes on being used after a restart. */
int store_writer_prepare(Store *s) {
        store_remember_files(s);
        for (size_t i = 0; i < _STMT_MAX; i++) {
                int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                            &s->w->stmt[i], NULL);
                if (rc != SQLITE_OK)
                        return store_error(s, s->db, rc);
        }
        for (size_t k = 0; k < STORE_INSERT_SIZES; k++) {
                int r = store_prepare_insert(s, s->w->insert + k, STORE_INSERT_ROWS >> k);
                if (r < 0)
                        return r;
                r = store_prepare_strings_insert(s, s->w->strings_insert + k,
                                                 STORE_INSERT_ROWS >> k);
                if (r < 0)
                        return r;
        }
        int r = store_step_int64(s, s->w->stmt[STMT_DATA_VERSION], &s->w->data_version);
        if (r < 0)
                return r;
        return store_resume_dictionary(s);
}

static StoreWriter *writer_free(StoreWriter *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(w->stmt[i]);
        for (size_t k = 0; k < STORE_INSERT_SIZES; k++) {
                sqlite3_finalize(w->insert[k].st);
                free(w->insert[k].bound);
                free(w->insert[k].bound_known);
                sqlite3_finalize(w->strings_insert[k]);
        }
        free(w->raw_held);
        if (w->container_cache)
                for (size_t i = 0; i < w->containers.n_entries; i++)
                        container_ref_done(&w->container_cache[i].known);
        map_done(&w->strings);
        map_done(&w->containers);
        map_done(&w->signatures);
        map_done(&w->aggregates);
        free(w->container_cache);
        free(w->aggregate_deltas);
        raw_encoder_free(w->encoder);
        free(w);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(StoreWriter *, writer_free);

int store_writer_new(Store *s) {
        _cleanup_(writer_freep) StoreWriter *w = calloc(1, sizeof(StoreWriter));
        if (!w)
                return -ENOMEM;
        if (map_init(&w->strings, STORE_CACHE_STRINGS_MAX) < 0 ||
            map_init(&w->containers, STORE_CACHE_CONTAINERS_MAX) < 0 ||
            map_init(&w->signatures, STORE_CACHE_SIGNATURES_MAX) < 0 ||
            map_init(&w->aggregates, STORE_AGGREGATES_MAX) < 0)
                return -ENOMEM;
        w->container_cache = calloc(STORE_CACHE_CONTAINERS_MAX, sizeof(CachedContainer));
        w->aggregate_deltas = calloc(STORE_AGGREGATES_MAX, sizeof(AggregateDelta));
        w->raw_held = malloc(STORE_INSERT_RAW_MAX);
        if (!w->container_cache || !w->aggregate_deltas || !w->raw_held ||
            raw_encoder_new(&w->encoder) < 0)
                return -ENOMEM;
        /* The store packs on the loop thread (live input, and imports while the loop keeps up):
         * the fast level, whose frames cost less than the default's. */
        if (raw_encoder_set_level(w->encoder, RAW_LEVEL_FAST) < 0)
                return -EINVAL;
        s->w = TAKE_PTR(w);
        return 0;
}

void store_writer_free(Store *s) {
        s->w = writer_free(s->w);
}

int store_writer_begin(Store *s) {
        if (s->files.gone)
                return -ESTALE;
        return store_step_done(s, s->w->stmt[STMT_BEGIN]);
}

int store_writer_commit(Store *s) {
        return store_step_done(s, s->w->stmt[STMT_COMMIT]);
}

/* ---- writing ---- */

/* A statement of the batch failed: if SQLite gave the transaction up (it may, on a full disk or
 * an I/O error), so do we, and the rows already in it are lost: store_take_lost() says how many.
 * The next store_add() begins a new batch. */
int store_batch_failed(Store *s, int r) {
        if (!s->w)
                return r;
        if (s->w->in_txn && sqlite3_get_autocommit(s->db)) {
                s->w->lost += s->w->pending_denials;
                store_forget_batch(s);
        }
        return r;
}

bool store_in_batch(const Store *s) {
        return s->w && s->w->in_txn;
}

uint64_t store_take_lost(Store *s) {
        uint64_t n = s ? s->w->lost : 0;
        if (s)
                s->w->lost = 0;
        return n;
}

/* Binds row as row `k` of ins; raw is its raw text. SQLite keeps bindings across a reset: only
 * the parameters whose value differs from the one bound before are bound again (a few of 29 a
 * row), found by comparing the rows whole (no branch per parameter). */
static void bind_row(RowsInsert *ins, size_t k, const HeldRow *row, const void *raw) {
        HeldRow *bound = ins->bound + k;
        int base = (int) (k * INS_COLUMNS);
        uint32_t differ = 0;

        for (int i = 1; i <= INS_COLUMNS; i++)
                differ |= (uint32_t) (bound->value[i] != row->value[i]) << i;
        /* a NULL's value is not bound; NULL or not is */
        differ = (differ & ~(bound->null & row->null)) | (bound->null ^ row->null);
        if (!ins->bound_known[k]) {
                differ = ~UINT32_C(0);
                ins->bound_known[k] = true;
        }
        differ &= ((UINT32_C(1) << INS_COLUMNS) - 1) << 1 & ~(UINT32_C(1) << INS_RAW);
        for (; differ != 0; differ &= differ - 1) {
                int i = __builtin_ctz(differ);
                if (row->null >> i & 1)
                        sqlite3_bind_null(ins->st, base + i);
                else
                        sqlite3_bind_int64(ins->st, base + i, row->value[i]);
        }
        if (row->null >> INS_RAW & 1)
                sqlite3_bind_null(ins->st, base + INS_RAW);
        else
                sqlite3_bind_blob(ins->st, base + INS_RAW, raw, (int) row->raw_len, SQLITE_STATIC);
        *bound = *row;
}

/* The string columns of a held row that name a waiting string (< 0) get its id. */
static void patch_row(HeldRow *row, const int64_t *ids) {
        int64_t *v = row->value;

        for (int i = INS_STRINGS; i < INS_STRINGS + ROW_STRINGS; i++)
                if (v[i] < 0)
                        v[i] = ids[-v[i] - 1];
        if (v[INS_BOOLEANS] < 0)
                v[INS_BOOLEANS] = ids[-v[INS_BOOLEANS] - 1];
}

/* Inserts the waiting strings, STORE_INSERT_ROWS (or fewer: in powers of 2) per statement, in
 * the order they came, and gives the held rows (and the one store_add_one() builds), the memos
 * and the cache their ids. The ids are those one INSERT per string gives: SQLite gives a
 * new row max(id) + 1, so when every string of a statement is new (sqlite3_changes()), they are
 * the last one's and those before it; a string someone stored before (the cache was dropped) is
 * looked up. The caller gives the batch up on a failure. */
static int store_resolve_strings(Store *s) {
        StoreWriter *w = s->w;
        size_t n = w->n_pending_strings, done = 0;
        int64_t ids[STORE_PENDING_STRINGS_MAX];
        int r;

        if (n == 0)
                return 0;
        for (size_t k = 0; k < STORE_INSERT_SIZES && done < n; k++) {
                sqlite3_stmt *ins = w->strings_insert[k];
                size_t rows = STORE_INSERT_ROWS >> k;
                while (n - done >= rows) {
                        const PendingString *p = w->pending_strings + done;
                        for (size_t i = 0; i < rows; i++)
                                sqlite3_bind_text(ins, (int) i + 1, p[i].key, (int) p[i].len,
                                                  SQLITE_STATIC);
                        r = store_step_done(s, ins);
                        if (r < 0)
                                return r;
                        if ((size_t) sqlite3_changes(s->db) == rows) {
                                int64_t last = sqlite3_last_insert_rowid(s->db);
                                for (size_t i = 0; i < rows; i++)
                                        ids[done + i] = last - (int64_t) (rows - 1 - i);
                        } else
                                for (size_t i = 0; i < rows; i++) {
                                        r = store_string_id(s, p[i].key, p[i].len, &ids[done + i]);
                                        if (r < 0)
                                                return r;
                                }
                        done += rows;
                }
        }

        for (size_t i = 0; i < n; i++) {
                const PendingString *p = w->pending_strings + i;
                MapSlot *slot = map_find(&w->strings, p->key, p->len, p->hash);
                assert(slot->key && slot->value == -(int64_t) (i + 1));
                slot->value = ids[i];
        }
        for (size_t i = 0; i < _MEMO_MAX; i++)
                if (w->memo[i].id < 0 && w->memo[i].generation == w->strings_generation)
                        w->memo[i].id = ids[-w->memo[i].id - 1];
        for (size_t i = 0; i < w->n_held; i++)
                patch_row(w->held + i, ids);
        if (w->building)
                patch_row(w->building, ids);
        w->n_pending_strings = 0;
        return 0;
}

/* Inserts the held rows, STORE_INSERT_ROWS (or fewer: in powers of 2) per statement, in the
 * order they were added. No OR IGNORE: a row whose id is taken fails the statement (and the
 * batch, store_writer_flush), which cannot happen while the writer's probe is right (the ids
 * were free in this transaction, BEGIN IMMEDIATE, when store_add() chose them). The caller
 * gives the batch up on a failure: the rows were said to be stored. */
static int store_flush_rows(Store *s) {
        StoreWriter *w = s->w;
        size_t n = w->n_held, done = 0;
        int r;

        r = store_resolve_strings(s);
        if (r < 0)
                return r;
        w->n_held = 0;
        w->raw_held_used = 0;
        for (size_t k = 0; k < STORE_INSERT_SIZES && done < n && r >= 0; k++) {
                RowsInsert *ins = w->insert + k;
                while (n - done >= ins->rows && r >= 0) {
                        for (size_t i = 0; i < ins->rows; i++) {
                                const HeldRow *row = w->held + done + i;
                                bind_row(ins, i, row, w->raw_held + row->value[INS_RAW]);
                        }
                        r = store_step_done(s, ins->st);
                        done += ins->rows;
                }
        }
        return r;
}

/* A flush failed: the rows it held were answered "stored", and so cannot be left out of a batch
 * that goes on. The whole batch is rolled back and counted lost (store_take_lost()). */
static void store_give_up_batch(Store *s) {
        StoreWriter *w = s->w;

        if (!sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if (w->in_txn) {
                w->lost += w->pending_denials;
                store_forget_batch(s);
        }
}

/* The held rows inserted by a store_add() that finds the buffer full (or the newest id asked): on
 * failure the batch is given up (its rows lost, counted), and the caller's denial is not part of
 * it. */
static int store_flush_held(Store *s) {
        if (s->w->n_held == 0 && s->w->n_pending_strings == 0)
                return 0;
        int r = store_flush_rows(s);
        if (r < 0)
                store_give_up_batch(s);
        return r;
}

int store_writer_flush(Store *s) {
        if (!s->w || (s->w->n_held == 0 && s->w->n_pending_strings == 0))
                return 0;
        int r = store_flush_held(s);
        if (r < 0)
                s->failure = r; /* the pipeline counts the batch lost (store_take_failure) */
        return r;
}

/* The held row with this id, if any (the probe's slots: a few per verdict). */
static const HeldRow *held_find(const StoreWriter *w, int64_t id) {
        for (size_t i = 0; i < w->n_held; i++)
                if (w->held[i].value[INS_ID] == id)
                        return w->held + i;
        return NULL;
}

static int store_load_max(Store *s) {
        StoreWriter *w = s->w;
        int64_t id;
        int r;

        if (w->has_max)
                return 0;
        r = store_flush_held(s); /* rows the writer holds are counted */
        if (r < 0)
                return r;
        r = store_step_int64(s, w->stmt[STMT_MAX_ID], &id);
        if (r < 0)
                return r;
        w->max_time_ms = r > 0 ? store_id_time(id) : INT64_MIN;
        w->has_max = true;
        return 0;
}

static size_t newest_slot(int64_t id) {
        return (size_t) (((uint64_t) id * UINT64_C(0x9e3779b97f4a7c15)) >> 32) &
               (STORE_NEWEST_SLOTS - 1);
}

/* The remembered row of the newest millisecond with this id, or the empty slot for it. */
static NewestRow *newest_find(StoreWriter *w, int64_t id) {
        for (size_t i = newest_slot(id);; i = (i + 1) & (STORE_NEWEST_SLOTS - 1)) {
                NewestRow *row = w->newest + i;
                if (row->generation != w->newest_generation || row->id == id)
                        return row;
        }
}

static void newest_begin(StoreWriter *w, int64_t time_ms) {
        if (++w->newest_generation == 0) {
                /* wrapped: slots of an old generation 1 must not look filled */
                memset(w->newest, 0, sizeof(w->newest));
                w->newest_generation = 1;
        }
        w->has_newest = true;
        w->newest_ms = time_ms;
        w->n_newest = 0;
}

/* The id for the verdict (time, serial, node, seq): 1 with *ret_id free to use, 0 when the
 * verdict is stored already. */
static int store_find_slot(Store *s, int64_t time_ms, uint64_t serial, int64_t node, unsigned seq,
                           int64_t *ret_id) {
        StoreWriter *w = s->w;
        int64_t base = time_ms * STORE_SLOTS;
        int64_t home = (int64_t) ((serial & 0x3ff) << 10 | (seq & 0x3ff));
        int64_t last = MIN(home + STORE_PROBE_MAX - 1, STORE_SLOTS - 1);
        int r;

        r = store_load_max(s);
        if (r < 0)
                return r;
        if (time_ms > w->max_time_ms) {
                /* Newer than anything stored: nothing to compare with. */
                *ret_id = base + home;
                newest_begin(w, time_ms);
                return 1;
        }
        if (w->has_newest && time_ms == w->newest_ms)
                /* The rows of this millisecond are all known: the probe below, in memory. */
                for (int64_t expect = base + home;; expect++) {
                        const NewestRow *row = newest_find(w, expect);
                        if (row->generation != w->newest_generation) {
                                if (expect > base + last)
                                        break; /* crowded: said below */
                                *ret_id = expect;
                                return 1;
                        }
                        if (row->serial == serial && row->node == node && row->seq == seq)
                                return 0;
                }

        /* SQLite's rows and the rows the writer holds, not yet inserted, merged in id order. */
        sqlite3_stmt *st = w->stmt[STMT_SLOT_PROBE];
        sqlite3_bind_int64(st, 1, base + home);
        sqlite3_bind_int64(st, 2, base + last);
        int64_t expect = base + home;
        int rc = sqlite3_step(st);
        for (; expect <= base + last; expect++) {
                const HeldRow *held = held_find(w, expect);
                int64_t other[3]; /* serial, node, seq of the verdict in this slot */
                if (held) {
                        other[0] = held->value[INS_SERIAL];
                        other[1] = held->value[INS_NODE];
                        other[2] = held->value[INS_SEQ];
                } else if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == expect) {
                        for (int i = 0; i < 3; i++)
                                other[i] = sqlite3_column_int64(st, i + 1);
                        rc = sqlite3_step(st);
                } else
                        break; /* a free slot: the verdict is not stored */
                if ((uint64_t) other[0] == serial && other[1] == node &&
                    other[2] == (int64_t) seq) {
                        sqlite3_reset(st);
                        return 0;
                }
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return store_error(s, s->db, rc);
        if (expect > base + last) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "more than %d verdicts crowd one slot of millisecond %" PRIi64,
                         STORE_PROBE_MAX, time_ms);
                return -E2BIG;
        }
        *ret_id = expect;
        return 1;
}

/* Whether d's raw text packed elsewhere may be stored as it is: with its text (as the store
 * would pack it), and a dictionary the store has committed. */
static bool store_packed_known(const StoreWriter *w, const Denial *d) {
        int64_t dict;

        if (!d->raw || d->raw_packed_size == 0 || d->raw_packed_size > INT_MAX)
                return false;
        dict = raw_blob_dictionary(d->raw_packed, d->raw_packed_size);
        return dict >= 0 && dict <= w->dictionary_max;
}

/* store_add_one() with the row it builds, which any store_resolve_strings() on the way gives the
 * ids of its waiting strings (w->building). */
static int store_add_row(Store *s, const Denial *d, HeldRow *row) {
        StoreWriter *w = s->w;
        int64_t node, id = 0, mcs, sig_ref[SIGNATURE_STRINGS], signature, container = 0,
                      target_container = 0;
        int64_t *ref = row->value + INS_STRINGS; /* as DENIAL_STRINGS */
        const void *raw = NULL;
        size_t raw_len = 0;
        int r;

        /* Strings and containers first: writing them is harmless even for a duplicate. The node
         * (the probe compares it), mcs (a key of the aggregates) and a signature's strings are
         * needed now; the others may wait for their INSERT with the row (a new one is inserted
         * with the others held: store_resolve_strings, which gives the row their ids). */
        r = store_intern_field(s, MEMO_NODE, d->node, false, &node);
        if (r < 0)
                return r;
        const char *strings[] = DENIAL_STRINGS(d);
        for (size_t i = 0; i < ROW_STRINGS; i++) {
                r = store_intern_field(s, MEMO_STRINGS + i, strings[i], i != ROW_STRING_MCS,
                                       &ref[i]);
                if (r < 0)
                        return r;
        }
        mcs = ref[ROW_STRING_MCS];
        const char *sig_strings[] = {d->result, d->source_type, d->target_type, d->tclass,
                                     d->permissions};
        for (size_t i = 0; i < ELEMENTSOF(sig_ref); i++) {
                r = store_intern_field(s, MEMO_STRINGS + ROW_STRINGS + i, sig_strings[i], false,
                                       &sig_ref[i]);
                if (r < 0)
                        return r;
        }
        r = store_signature(s, sig_ref, &signature);
        if (r < 0)
                return r;
        r = store_intern_field(s, MEMO_BOOLEANS, d->triaged ? d->booleans : NULL, true,
                               &row->value[INS_BOOLEANS]);
        if (r < 0)
                return r;
        if (d->has_container) {
                r = store_container(s, &d->container, &container);
                if (r < 0)
                        return r;
        }
        if (d->has_target_container) {
                r = store_container(s, &d->target_container, &target_container);
                if (r < 0)
                        return r;
        }

        r = store_find_slot(s, d->time_ms, d->serial, node, d->seq, &id);
        if (r <= 0)
                return r;

        if (d->raw_packed && store_packed_known(w, d)) {
                raw = d->raw_packed;
                raw_len = d->raw_packed_size;
        } else if (d->raw) {
                r = raw_encode(w->encoder, d->raw, strlen(d->raw), d->time_ms, d->serial, &raw,
                               &raw_len);
                if (r < 0) {
                        snprintf(s->last_error, sizeof(s->last_error),
                                 "cannot pack the event's raw text: %s", strerror(-r));
                        return r;
                }
        }

        int64_t *v = row->value;
        v[INS_ID] = id;
        v[INS_SERIAL] = (int64_t) d->serial;
        v[INS_NODE] = node;
        v[INS_SEQ] = d->seq;
        v[INS_RECORD_TYPE] = d->record_type;
        v[INS_SIGNATURE] = signature;
        v[INS_PID] = d->pid;
        v[INS_PPID] = d->ppid;
        v[INS_UID] = d->uid;
        v[INS_SYSCALL] = d->syscall;
        v[INS_PERMISSIVE] = d->permissive < 0 ? -1 : !!d->permissive;
        v[INS_CONTAINER] = container;
        v[INS_ATTRIBUTION] = d->attribution;
        v[INS_TARGET_CONTAINER] = target_container;
        /* a storm's summary; NULL is 1 */
        v[INS_COUNT] = d->count > 1 ? (int64_t) MIN(d->count, (uint64_t) INT64_MAX) : 0;
        /* -1, not NULL, when triage had no answer: NULL is a row stored before triage, which
         * the triage pass (store_triage_step) still owes a reason. */
        v[INS_REASON] = d->triaged ? d->reason : -1;
        v[INS_VERDICT] = d->triaged ? d->verdict : -1;
        /* NULL: a string ref 0 (< 0: a string waiting for its id), an unknown number < 0 */
        uint32_t null = (uint32_t) (node <= 0) << INS_NODE |
                        (uint32_t) (container <= 0) << INS_CONTAINER |
                        (uint32_t) (target_container <= 0) << INS_TARGET_CONTAINER |
                        (uint32_t) (v[INS_BOOLEANS] == 0) << INS_BOOLEANS |
                        (uint32_t) (d->count <= 1) << INS_COUNT | (uint32_t) !raw << INS_RAW;
        for (int i = INS_STRINGS; i < INS_STRINGS + ROW_STRINGS; i++)
                null |= (uint32_t) (v[i] == 0) << i;
        for (int i = INS_PID; i <= INS_PERMISSIVE; i++)
                null |= (uint32_t) (v[i] < 0) << i;
        row->null = null;
        row->raw_len = (uint32_t) raw_len;

        if (raw_len > STORE_INSERT_RAW_MAX) {
                /* Too large to hold: inserted now, after the rows held before it. */
                r = store_flush_held(s);
                if (r < 0)
                        return r;
                RowsInsert *one = w->insert + STORE_INSERT_SIZES - 1;
                bind_row(one, 0, row, raw);
                r = store_step_done(s, one->st);
                if (r < 0)
                        return r;
        } else if (w->n_held == STORE_INSERT_ROWS ||
                   w->raw_held_used + raw_len > STORE_INSERT_RAW_MAX) {
                r = store_flush_held(s);
                if (r < 0)
                        return r;
        }
        r = store_aggregate(s, d->time_ms, signature, container, mcs, MAX(d->count, 1));
        if (r < 0)
                return r;
        if (raw_len <= STORE_INSERT_RAW_MAX) {
                if (raw_len > 0)
                        memcpy(w->raw_held + w->raw_held_used, raw, raw_len);
                row->value[INS_RAW] = (int64_t) w->raw_held_used;
                w->raw_held_used += raw_len;
                w->held[w->n_held++] = *row;
        }

        w->max_time_ms = MAX(w->max_time_ms, d->time_ms);
        if (w->has_newest && d->time_ms == w->newest_ms) {
                if (w->n_newest < STORE_NEWEST_MAX) {
                        *newest_find(w, id) = (NewestRow){.id = id,
                                                          .node = node,
                                                          .serial = d->serial,
                                                          .seq = d->seq,
                                                          .generation = w->newest_generation};
                        w->n_newest++;
                } else
                        w->has_newest = false; /* the probe asks SQLite */
        }
        if (d->seq == 0)
                w->batch_events++;
        return 1;
}

static int store_add_one(Store *s, const Denial *d) {
        HeldRow row = {}; /* no string waits for its id yet */

        s->w->building = &row;
        int r = store_add_row(s, d, &row);
        s->w->building = NULL;
        return r;
}

/* BEGIN IMMEDIATE: no other connection writes until the commit. What the writer remembers of
 * the stored rows (the newest id, the newest millisecond's rows, the ids of strings,
 * containers, signatures) is its own writes; if another connection committed since its last
 * batch (the sqlite3 shell, say: PRAGMA data_version), it is forgotten, so that the probe asks
 * SQLite and the ids it chooses are free for the rows it holds (store_flush_rows). */
static int store_begin_batch(Store *s) {
        StoreWriter *w = s->w;
        int64_t version;
        int r;

        r = store_step_done(s, w->stmt[STMT_BEGIN]);
        if (r < 0)
                return r;
        r = store_step_int64(s, w->stmt[STMT_DATA_VERSION], &version);
        if (r < 0) {
                if (!sqlite3_get_autocommit(s->db))
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                return r;
        }
        if (version != w->data_version) {
                writer_drop_caches(w);
                w->data_version = version;
        }
        w->in_txn = true;
        return 0;
}

int store_add(Store *s, const Denial *d) {
        StoreWriter *w;
        int r;

        if (!s || !d)
                return -EINVAL;
        w = s->w;
        if ((int) d->attribution < 0 || d->attribution >= _ATTRIBUTION_MAX) {
                snprintf(s->last_error, sizeof(s->last_error), "invalid attribution %d",
                         (int) d->attribution);
                return -EINVAL;
        }
        if (d->time_ms >= STORE_TIME_MAX || d->time_ms <= -STORE_TIME_MAX) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "time %" PRIi64 " ms is out of the stored range", d->time_ms);
                return -ERANGE;
        }
        if (s->files.gone)
                return -ESTALE; /* store_last_error() says why */
        if (!w->in_txn) {
                store_maybe_train(s);
                r = store_begin_batch(s);
                if (r < 0)
                        return r;
        }

        r = store_add_one(s, d);
        if (r < 0)
                return store_batch_failed(s, r);
        w->pending++;
        w->pending_denials += MAX(d->count, 1);
        if (r > 0) {
                store_metrics_note(s, d);
                w->batch_added++;
                w->batch_folded += MAX(d->count, 1) - 1;
        } else
                w->batch_duplicates++;
        return r;
}

size_t store_pending(const Store *s) {
        return s ? s->w->pending : 0;
}

uint64_t store_pending_denials(const Store *s) {
        return s ? s->w->pending_denials : 0;
}

uint64_t store_take_committed_folded(Store *s) {
        uint64_t n = s ? s->w->committed_folded : 0;
        if (s)
                s->w->committed_folded = 0;
        return n;
}

int store_meta_add(Store *s, const char *key, int64_t delta) {
        if (delta == 0)
                return 0;
        sqlite3_stmt *up = s->w->stmt[STMT_META_ADD];
        sqlite3_bind_text(up, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, delta);
        return store_step_done(s, up);
}

int store_meta_max(Store *s, const char *key, int64_t value) {
        sqlite3_stmt *up = s->w->stmt[STMT_META_MAX];
        sqlite3_bind_text(up, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, value);
        return store_step_done(s, up);
}

void store_note_live(Store *s, int64_t time_ms) {
        if (s && s->w->in_txn)
                s->w->batch_live_ms = MAX(s->w->batch_live_ms, time_ms);
}

int store_commit(Store *s, uint64_t *ret_duplicates) {
        StoreWriter *w;
        uint64_t added, duplicates;
        int r;

        if (!s)
                return -EINVAL;
        w = s->w;
        if (!w->in_txn)
                /* Candidates queued without a batch (their denial was folded into a storm, or
                 * not stored): written on their own. */
                return store_containers_flush(s);

        /* Not into a file that is gone: the batch is then lost, and counted (store_check_files). */
        r = store_check_files(s);
        if (r < 0)
                return r;
        r = store_flush_rows(s);
        if (r >= 0)
                r = store_containers_flush(s);
        if (r >= 0)
                r = store_flush_aggregates(s);
        if (r >= 0)
                r = store_baseline_flush(s);
        if (r >= 0)
                r = store_metrics_flush(s);
        if (r >= 0)
                r = store_meta_add(s, "denials", (int64_t) w->batch_added);
        if (r >= 0)
                r = store_meta_add(s, "events", (int64_t) w->batch_events);
        if (r >= 0 && w->batch_live_ms > 0)
                /* with the rows it stands for: never ahead of what is durably stored */
                r = store_meta_max(s, STORE_META_LIVE_POSITION, w->batch_live_ms);
        if (r >= 0)
                r = store_step_done(s, w->stmt[STMT_COMMIT]);
        if (r < 0) {
                /* Keep the message of the failure, not of the rollback. */
                if (!sqlite3_get_autocommit(s->db))
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                store_forget_batch(s);
                return r;
        }

        store_baseline_committed(s);
        store_metrics_forget(s); /* written */
        added = w->batch_added;
        duplicates = w->batch_duplicates;
        w->in_txn = false;
        w->pending = 0;
        w->pending_denials = 0;
        w->committed_folded += w->batch_folded;
        w->batch_folded = 0;
        w->batch_added = w->batch_duplicates = w->batch_events = 0;
        w->batch_live_ms = 0;
        if (ret_duplicates)
                *ret_duplicates += duplicates;
        return (int) MIN(added, (uint64_t) INT32_MAX);
}
