/* SPDX-License-Identifier: MIT */
/* Store: the SQLite database of denials: schema, writing, counts and retention. Queries, top and
 * histograms are in store-query.c.
 *
 * Schema (version 2: PRAGMA user_version = 2, PRAGMA application_id = 'AVCW'):
 *
 *   meta(key TEXT PRIMARY KEY, value INTEGER)   -- 'denials', 'events', 'pruned': counts kept
 *                                                  at commit so that `stats` is O(1)
 *   strings(id INTEGER PRIMARY KEY, text UNIQUE) -- every repeated string, interned
 *   containers(id INTEGER PRIMARY KEY, container_id TEXT UNIQUE, name, image, engine, pod, ...)
 *                                                -- + the registry's columns (store-containers.c)
 *   signatures(id INTEGER PRIMARY KEY, result, source_type, target_type, tclass, permissions)
 *                                                -- string refs, UNIQUE: what a denial was
 *   dictionaries(id INTEGER PRIMARY KEY, created_ms, data BLOB)
 *                                                -- zstd dictionaries of the raw codec, kept
 *                                                   forever (old rows refer to them)
 *   denials(id INTEGER PRIMARY KEY,              -- time_ms * 2^20 + slot (below)
 *           serial, node, seq, record_type, signature, scontext, tcontext, mcs, target_mcs,
 *           comm, exe, path, name, cwd, proctitle,  -- string refs (NULL: unknown)
 *           pid, ppid, uid, syscall, permissive,
 *           container, attribution, target_container,  -- updatable: re-attribution
 *           count,                               -- identical verdicts this row stands for
 *                                                   (NULL = 1; for storm coalescing)
 *           raw BLOB,                            -- the event's text, raw-codec.h
 *           time_ms GENERATED ALWAYS AS (id >> 20) VIRTUAL)
 *     indexes: (container) WHERE NOT NULL, (mcs) WHERE NOT NULL, (signature); each ends in the
 *     rowid, so each is in (key, time) order
 *   totals(signature, container, mcs, count, first_ms, last_ms)         -- all time
 *   buckets(hour, signature, container, mcs, count, first_ms, last_ms)  -- per hour (UTC)
 *     (container and mcs 0 when none; both WITHOUT ROWID on their key) -- `top` and histograms
 *     read these, never the denial rows, except for the partial hours at the ends of a range
 *   triggers: an UPDATE of denials.container or denials.count moves/adjusts the row's share of
 *     totals and buckets, so that re-attribution (store-containers.c) keeps them right
 *
 * Decisions:
 * - The id is the time: denials.id = time_ms * 2^20 + slot. The table is then clustered in time
 *   order and needs no time index; a time range is an id range; every index (key, rowid) is
 *   already in (key, time) order, so a filtered query walks one index in order and stops at its
 *   limit; and the id is the query cursor. slot = (serial mod 1024) * 1024 + seq mod 1024,
 *   linearly probed (STORE_PROBE_MAX) when taken by another verdict of the same millisecond.
 * - Dedupe without an index: a verdict is (node, time, serial, seq); its probe sequence starts
 *   at a slot derived from (serial, seq), so finding it again is one short range read; and
 *   verdicts newer than everything stored (live input, new logs) skip even that. Retention
 *   deletes whole milliseconds, so a probe sequence never has holes.
 * - Size (docs/benchmarks.md): the raw text is compressed per event with a trained dictionary
 *   (raw-codec.h: ~10x); source/target type, class, permissions and result are one signature
 *   ref; NULL costs one header byte; indexes are partial where most rows would be NULL; there is
 *   no events table (every verdict carries its event's raw text; events with several verdicts
 *   are rare). events in meta counts verdicts with seq 0.
 * - "No value" is 0, not NULL, in the columns of a UNIQUE or primary key (signatures, totals,
 *   buckets), because NULLs are all distinct in a UNIQUE index. Everywhere else NULL means
 *   unknown, exactly like NULL in a Denial.
 * - Writes are batched: store_add opens a transaction (BEGIN IMMEDIATE) and inserts at once,
 *   store_commit commits. A batch is all or nothing: if SQLite loses the transaction (disk full,
 *   I/O error) the whole batch is rolled back, and store_take_lost() says how many rows went.
 * - A damaged file (PRAGMA quick_check) is refused at open, before anything is written to it.
 * - Speed: statements are prepared once; strings, containers and signatures are looked up in
 *   bounded in-memory caches (dropped whole when full, and after any rollback since the ids
 *   they hold may have vanished). Aggregate deltas are summed in memory per (hour, signature,
 *   container, mcs) during a batch and written with one upsert each at commit.
 * - Dictionaries are trained between batches (about 0.1 s, rarely: raw-codec.c) and committed
 *   before any row uses them, so a rolled-back batch never loses one.
 * - Queries run on a separate read-only connection (query_only) and so see committed data
 *   only; their SQL is made of constant fragments with bound parameters, never of values.
 * - Foreign keys are declared for documentation but not enforced: every reference is written
 *   by this file in the same transaction, and enforcement costs a lookup per reference.
 * - A file that is not ours is never written: before anything is changed we check the SQLite
 *   magic, the application_id and, for an id-less database, that it has no tables. Schema 1
 *   (avcwatch 0.1: an events table with the raw text uncompressed) is refused, not converted. */

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "macro.h"
#include "store-private.h"
#include "store.h"

#define STORE_APPLICATION_ID 0x41564357 /* 'AVCW' in the SQLite header */
#define STORE_SCHEMA_VERSION 2
#define STORE_PROGRESS_MIN_USEC 1000                    /* progress reported at most this often */
#define STORE_PROGRESS_MAX_USEC (3600ULL * 1000 * 1000) /* a longer period: none reported */
#define STORE_BUSY_TIMEOUT_MS 5000       /* another writer (a second daemon, sqlite3 CLI) */
#define STORE_PAGE_CACHE_KIB 16384       /* hot index pages of a busy store stay in memory */
#define STORE_CACHE_STRINGS_MAX 65536    /* interned string -> id entries kept in memory */
#define STORE_CACHE_CONTAINERS_MAX 4096  /* container id -> row entries */
#define STORE_CACHE_SIGNATURES_MAX 16384 /* signature key -> row entries */
#define STORE_AGGREGATES_MAX 16384       /* (hour, signature, container, mcs) deltas of a batch */
#define MAP_SLOTS_MIN 1024               /* a cache's first table; doubles as it fills */
#define STORE_CACHE_KEY_MAX 1024         /* longer strings are interned but not cached */
#define STORE_PROBE_MAX 64               /* slots tried for one verdict in its millisecond */
#define STORE_WAL_AUTOCHECKPOINT_PAGES 8192 /* fewer checkpoints; bounds the WAL to ~32 MiB */
#define STORE_JOURNAL_SIZE_LIMIT (64 * 1024 * 1024) /* the WAL is truncated back to this */
#define SQLITE_MAGIC "SQLite format 3"              /* first 16 bytes of every database */

/* A bounded open-addressing hash map of byte strings to int64. */
typedef struct MapSlot {
        char *key; /* NULL: free slot */
        size_t len;
        uint64_t hash;
        int64_t value;
} MapSlot;

typedef struct Map {
        MapSlot *slots;
        size_t mask; /* slots - 1, a power of two; grows up to max_slots */
        size_t n_entries, max_entries, max_slots;
} Map;

/* The last string interned for one Denial field. */
typedef struct StringMemo {
        const char *key; /* the strings cache's copy */
        int64_t id;
        uint64_t generation;
} StringMemo;

enum {
        MEMO_NODE,
        MEMO_IMAGE,
        MEMO_STRINGS, /* + the denial strings below */
        _MEMO_MAX = MEMO_STRINGS + 15,
};

typedef struct CachedContainer {
        int64_t row;
        ContainerRef known; /* what the row holds */
} CachedContainer;

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
        STMT_DENIAL_INSERT,
        STMT_CONTAINER_SELECT,
        STMT_CONTAINER_INSERT,
        STMT_CONTAINER_UPDATE,
        STMT_SIGNATURE_SELECT,
        STMT_SIGNATURE_INSERT,
        STMT_TOTALS_ADD,
        STMT_BUCKET_ADD,
        STMT_META_ADD,
        STMT_DICTIONARY_INSERT,
        STMT_DICTIONARY_LATEST,
        STMT_MAX_ID,
        _STMT_MAX,
};

/* Columns of STMT_DENIAL_INSERT, in order (?1 ..). */
enum {
        INS_ID = 1,
        INS_SERIAL,
        INS_NODE,
        INS_SEQ,
        INS_RECORD_TYPE,
        INS_SIGNATURE,
        INS_STRINGS, /* scontext .. proctitle: the 10 entries of denial_strings[] */
        INS_PID = INS_STRINGS + 10,
        INS_PPID,
        INS_UID,
        INS_SYSCALL,
        INS_PERMISSIVE,
        INS_CONTAINER,
        INS_ATTRIBUTION,
        INS_TARGET_CONTAINER,
        INS_RAW,
        INS_COUNT,
};

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_STRING_INSERT] = "INSERT OR IGNORE INTO strings(text) VALUES (?1)",
        [STMT_STRING_SELECT] = "SELECT id FROM strings WHERE text = ?1",
        [STMT_SLOT_PROBE] =
                "SELECT id, serial, node, seq FROM denials WHERE id >= ?1 AND id <= ?2 ORDER BY id",
        [STMT_DENIAL_INSERT] =
                "INSERT OR IGNORE INTO denials(id, serial, node, seq, record_type, signature, "
                "scontext, tcontext, mcs, target_mcs, comm, exe, path, name, cwd, proctitle, "
                "pid, ppid, uid, syscall, permissive, container, attribution, target_container, "
                "raw, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
        [STMT_CONTAINER_SELECT] =
                "SELECT id, name, image, engine, pod FROM containers WHERE container_id = ?1",
        [STMT_CONTAINER_INSERT] = "INSERT INTO containers(container_id, name, image, engine, pod) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_CONTAINER_UPDATE] =
                "UPDATE containers SET name = coalesce(?2, name), image = coalesce(?3, image), "
                "engine = coalesce(?4, engine), pod = coalesce(?5, pod) WHERE id = ?1",
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
        [STMT_DICTIONARY_INSERT] = "INSERT INTO dictionaries(created_ms, data) VALUES (?1, ?2)",
        [STMT_DICTIONARY_LATEST] = "SELECT id, data FROM dictionaries ORDER BY id DESC LIMIT 1",
        [STMT_MAX_ID] = "SELECT max(id) FROM denials",
};

/* floor(t / 1 h) in SQL, as store_time_hour() */
#define SQL_HOUR(t) "((" t ") - ((" t ") < 0) * 3599999) / 3600000"

/* One row's share of the aggregates, added (sign +1) or taken away (-1). */
#define SQL_AGGREGATE(row, sign)                                                                   \
        "INSERT INTO totals(signature, container, mcs, count, first_ms, last_ms) VALUES "          \
        "(" row ".signature, coalesce(" row ".container, 0), coalesce(" row ".mcs, 0), " sign      \
        " * coalesce(" row ".count, 1), " row ".id >> 20, " row ".id >> 20) ON CONFLICT DO "       \
        "UPDATE SET count = count + excluded.count, first_ms = min(first_ms, excluded.first_ms), " \
        "last_ms = max(last_ms, excluded.last_ms);\n"                                              \
        "  INSERT INTO buckets(hour, signature, container, mcs, count, first_ms, last_ms) VALUES " \
        "(" SQL_HOUR(row ".id >> 20") ", " row ".signature, coalesce(" row                         \
                                      ".container, 0), coalesce(" row ".mcs, 0), " sign            \
                                      " * coalesce(" row ".count, 1), " row ".id >> 20, " row      \
                                      ".id >> 20) ON CONFLICT DO UPDATE SET count = count + "      \
                                      "excluded.count, "                                           \
                                      "first_ms = min(first_ms, excluded.first_ms), last_ms = "    \
                                      "max(last_ms, "                                              \
                                      "excluded.last_ms);\n"

static const char schema_sql[] =
        "CREATE TABLE meta (\n"
        "  key TEXT PRIMARY KEY,\n"
        "  value INTEGER NOT NULL\n"
        ") WITHOUT ROWID;\n"
        "INSERT INTO meta(key, value) VALUES ('denials', 0), ('events', 0), ('pruned', 0), "
        "('pruned_until_ms', 0);\n"
        "CREATE TABLE strings (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  text TEXT NOT NULL UNIQUE\n"
        ");\n"
        "CREATE TABLE containers (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  container_id TEXT NOT NULL UNIQUE,\n"
        "  name TEXT,\n"
        "  image TEXT,\n"
        "  engine TEXT,\n"
        "  pod TEXT\n"
        ");\n"
        "CREATE INDEX containers_name ON containers(name);\n"
        "CREATE TABLE signatures (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  result INTEGER NOT NULL,\n" /* strings.id, 0 when unknown */
        "  source_type INTEGER NOT NULL,\n"
        "  target_type INTEGER NOT NULL,\n"
        "  tclass INTEGER NOT NULL,\n"
        "  permissions INTEGER NOT NULL,\n"
        "  UNIQUE (source_type, target_type, tclass, permissions, result)\n"
        ");\n"
        "CREATE TABLE dictionaries (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  created_ms INTEGER NOT NULL,\n"
        "  data BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE denials (\n"
        "  id INTEGER PRIMARY KEY,\n" /* time_ms * 2^20 + slot */
        "  serial INTEGER NOT NULL,\n"
        "  node INTEGER REFERENCES strings(id),\n"
        "  seq INTEGER NOT NULL,\n"
        "  record_type INTEGER NOT NULL,\n"
        "  signature INTEGER NOT NULL REFERENCES signatures(id),\n"
        "  scontext INTEGER REFERENCES strings(id),\n"
        "  tcontext INTEGER REFERENCES strings(id),\n"
        "  mcs INTEGER REFERENCES strings(id),\n"
        "  target_mcs INTEGER REFERENCES strings(id),\n"
        "  comm INTEGER REFERENCES strings(id),\n"
        "  exe INTEGER REFERENCES strings(id),\n"
        "  path INTEGER REFERENCES strings(id),\n"
        "  name INTEGER REFERENCES strings(id),\n"
        "  cwd INTEGER REFERENCES strings(id),\n"
        "  proctitle INTEGER REFERENCES strings(id),\n"
        "  pid INTEGER,\n"
        "  ppid INTEGER,\n"
        "  uid INTEGER,\n"
        "  syscall INTEGER,\n"
        "  permissive INTEGER,\n" /* 0, 1, NULL when the record had no permissive= */
        "  container INTEGER REFERENCES containers(id),\n"
        "  attribution INTEGER NOT NULL,\n" /* enum Attribution */
        "  target_container INTEGER REFERENCES containers(id),\n"
        "  count INTEGER,\n" /* NULL = 1 */
        "  raw BLOB,\n"
        "  time_ms INTEGER GENERATED ALWAYS AS (id >> 20) VIRTUAL\n"
        ");\n"
        "CREATE INDEX denials_container ON denials(container) WHERE container IS NOT NULL;\n"
        "CREATE INDEX denials_mcs ON denials(mcs) WHERE mcs IS NOT NULL;\n"
        "CREATE INDEX denials_signature ON denials(signature);\n"
        "CREATE TABLE totals (\n"
        "  signature INTEGER NOT NULL,\n"
        "  container INTEGER NOT NULL,\n" /* 0: unattributed */
        "  mcs INTEGER NOT NULL,\n"       /* 0: none */
        "  count INTEGER NOT NULL,\n"
        "  first_ms INTEGER NOT NULL,\n"
        "  last_ms INTEGER NOT NULL,\n"
        "  PRIMARY KEY (signature, container, mcs)\n"
        ") WITHOUT ROWID;\n"
        "CREATE TABLE buckets (\n"
        "  hour INTEGER NOT NULL,\n" /* floor(time_ms / 3600000) */
        "  signature INTEGER NOT NULL,\n"
        "  container INTEGER NOT NULL,\n"
        "  mcs INTEGER NOT NULL,\n"
        "  count INTEGER NOT NULL,\n"
        "  first_ms INTEGER NOT NULL,\n"
        "  last_ms INTEGER NOT NULL,\n"
        "  PRIMARY KEY (hour, signature, container, mcs)\n"
        ") WITHOUT ROWID;\n"
        "CREATE TRIGGER denials_reattributed AFTER UPDATE OF container ON denials\n"
        "WHEN old.container IS NOT new.container BEGIN\n"
        "  " SQL_AGGREGATE("old", "-1") "  " SQL_AGGREGATE(
                "new",
                "1") "END;\n"
                     "CREATE TRIGGER denials_recounted AFTER UPDATE OF count ON denials\n"
                     "WHEN old.count IS NOT new.count AND old.container IS new.container BEGIN\n"
                     "  " SQL_AGGREGATE("old", "-1") "  " SQL_AGGREGATE("new", "1") "END;\n";

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

        RawEncoder *encoder;
} StoreWriter;

DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

/* ---- hash map ---- */

static uint64_t hash_bytes(const void *p, size_t len) {
        /* 8 bytes per step, a multiply-xorshift mix: fast on the short strings we intern. */
        const unsigned char *b = p;
        uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL);

        while (len >= 8) {
                uint64_t k;
                memcpy(&k, b, 8);
                h = (h ^ k) * 0xbf58476d1ce4e5b9ULL;
                h ^= h >> 31;
                b += 8;
                len -= 8;
        }
        uint64_t k = 0;
        memcpy(&k, b, len);
        h = (h ^ k) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        return h;
}

static int map_init(Map *m, size_t max_entries) {
        size_t max_slots = MAP_SLOTS_MIN;

        while (max_slots < max_entries * 2)
                max_slots <<= 1;
        /* Start small: a small table stays in the CPU caches, a sparse big one does not. */
        m->slots = calloc(MAP_SLOTS_MIN, sizeof(MapSlot));
        if (!m->slots)
                return -ENOMEM;
        m->mask = MAP_SLOTS_MIN - 1;
        m->n_entries = 0;
        m->max_entries = max_entries;
        m->max_slots = max_slots;
        return 0;
}

static void map_clear(Map *m) {
        if (!m->slots || m->n_entries == 0)
                return;
        for (size_t i = 0; i <= m->mask; i++)
                free(m->slots[i].key);
        memset(m->slots, 0, (m->mask + 1) * sizeof(MapSlot));
        m->n_entries = 0;
}

static void map_done(Map *m) {
        map_clear(m);
        free(m->slots);
        *m = (Map){};
}

/* The slot holding key, or the free slot where it would go (slot->key == NULL). */
static MapSlot *map_find(Map *m, const void *key, size_t len, uint64_t hash) {
        for (size_t i = hash & m->mask;; i = (i + 1) & m->mask) {
                MapSlot *slot = m->slots + i;
                if (!slot->key)
                        return slot;
                if (slot->hash == hash && slot->len == len && memcmp(slot->key, key, len) == 0)
                        return slot;
        }
}

/* Makes room for one more entry before map_fill(). Returns 0 when the slot map_find() gave is
 * still good, 1 when the table grew (find the slot again), -ENOSPC when max_entries are in
 * (the caller drops them all, then finds the slot again). The load stays <= 1/2, or 3/4 when
 * growing failed, so map_find() always ends on a free slot. */
static int map_reserve(Map *m) {
        size_t n_slots = m->mask + 1;
        MapSlot *slots;

        if (m->n_entries >= m->max_entries)
                return -ENOSPC;
        if ((m->n_entries + 1) * 2 <= n_slots || n_slots >= m->max_slots)
                return 0;
        slots = calloc(n_slots * 2, sizeof(MapSlot));
        if (!slots)
                return (m->n_entries + 1) * 4 <= n_slots * 3 ? 0 : -ENOSPC;
        for (size_t i = 0; i < n_slots; i++) {
                if (!m->slots[i].key)
                        continue;
                size_t j = m->slots[i].hash & (n_slots * 2 - 1);
                while (slots[j].key)
                        j = (j + 1) & (n_slots * 2 - 1);
                slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->mask = n_slots * 2 - 1;
        return 1;
}

/* Fills a free slot from map_find(), after map_reserve(). *ret_key (may be NULL) is the map's
 * copy of the key, stable until the map is cleared. */
static int map_fill(Map *m, MapSlot *slot, const void *key, size_t len, uint64_t hash,
                    int64_t value, const char **ret_key) {
        char *copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, key, len);
        copy[len] = 0;
        *slot = (MapSlot){.key = copy, .len = len, .hash = hash, .value = value};
        m->n_entries++;
        if (ret_key)
                *ret_key = copy;
        return 0;
}

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
}

/* After a rollback nothing of the batch exists any more, including ids the caches learned. */
static void store_forget_batch(Store *s) {
        StoreWriter *w = s->w;
        writer_drop_caches(w);
        store_containers_forget(s);
        w->in_txn = false;
        w->pending = 0;
        w->pending_denials = 0;
        w->batch_folded = 0;
        w->batch_added = w->batch_duplicates = w->batch_events = 0;
}

/* Interns text (NULL gives 0). *ret_key, when given, is the cached copy of text (NULL when not
 * cached), valid until the strings cache is dropped. */
static int store_intern(Store *s, const char *text, int64_t *ret_id, const char **ret_key) {
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
                hash = hash_bytes(text, len);
                slot = map_find(&w->strings, text, len, hash);
                if (slot->key) {
                        *ret_id = slot->value;
                        if (ret_key)
                                *ret_key = slot->key;
                        return 0;
                }
        }

        sqlite3_stmt *ins = w->stmt[STMT_STRING_INSERT];
        sqlite3_bind_text(ins, 1, text, (int) len, SQLITE_STATIC);
        r = store_step_done(s, ins);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) > 0)
                id = sqlite3_last_insert_rowid(s->db);
        else {
                sqlite3_stmt *sel = w->stmt[STMT_STRING_SELECT];
                sqlite3_bind_text(sel, 1, text, (int) len, SQLITE_STATIC);
                r = store_step_int64(s, sel, &id);
                if (r < 0)
                        return r;
                if (r == 0) {
                        snprintf(s->last_error, sizeof(s->last_error), "interned string vanished");
                        return -EIO;
                }
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

/* store_intern() behind a one-entry memo per Denial field: consecutive denials mostly repeat
 * node, result, contexts, exe, cwd ..., and a strcmp on a hot string beats a hash lookup. */
static int store_intern_field(Store *s, size_t field, const char *text, int64_t *ret_id) {
        StringMemo *m = s->w->memo + field;
        const char *key;
        int r;

        if (!text) {
                *ret_id = 0;
                return 0;
        }
        if (m->key && m->generation == s->w->strings_generation && strcmp(m->key, text) == 0) {
                *ret_id = m->id;
                return 0;
        }
        r = store_intern(s, text, ret_id, &key);
        if (r < 0)
                return r;
        *m = (StringMemo){.key = key, .id = *ret_id, .generation = s->w->strings_generation};
        return 0;
}

static bool streq_null(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Replaces the known fields that c knows better (a later denial may know more). */
static int container_merge(ContainerRef *known, const ContainerRef *c, bool *ret_changed) {
        const char *src[] = {c->name, c->image, c->engine, c->pod};
        char **dst[] = {&known->name, &known->image, &known->engine, &known->pod};
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
        return store_step_done(s, up);
}

/* Upserts a container by its id; fills name, image, engine, pod when c knows them. */
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
        hash = hash_bytes(c->id, len);
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
        uint64_t hash = hash_bytes(key, 5 * sizeof(int64_t));
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
        uint64_t hash = hash_bytes(&key, sizeof(key));
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

static int store_load_dictionary(int64_t id, void **ret, size_t *ret_len, void *userdata) {
        Store *s = userdata;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(s->ro, "SELECT data FROM dictionaries WHERE id = ?1", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                snprintf(s->last_error, sizeof(s->last_error), "no dictionary %" PRIi64, id);
                return -ENOENT;
        }
        if (rc != SQLITE_ROW)
                return store_error(s, s->ro, rc);
        size_t len = (size_t) sqlite3_column_bytes(st, 0);
        const void *data = sqlite3_column_blob(st, 0);
        if (!data || len == 0)
                return -EBADMSG;
        void *copy = malloc(len);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, len);
        *ret = copy;
        *ret_len = len;
        return 0;
}

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
        if (r < 0 ||
            raw_encoder_use_dictionary(w->encoder, sqlite3_last_insert_rowid(s->db), dict, len) < 0)
                raw_encoder_postpone(w->encoder); /* keep the current one, try again later */
}

/* ---- open / close ---- */

static int store_prepare(Store *s) {
        for (size_t i = 0; i < _STMT_MAX; i++) {
                int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                            &s->w->stmt[i], NULL);
                if (rc != SQLITE_OK)
                        return store_error(s, s->db, rc);
        }
        return 0;
}

/* Before SQLite opens it: a non-empty file must at least carry the SQLite magic. */
static int check_magic(const char *path) {
        _cleanup_(closep) int fd = -EBADF;
        char header[sizeof(SQLITE_MAGIC)];
        struct stat st;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        if (st.st_size == 0)
                return 0;
        n = pread(fd, header, sizeof(header), 0);
        if (n < 0)
                return negative_errno();
        if ((size_t) n < sizeof(header) || memcmp(header, SQLITE_MAGIC, sizeof(header)) != 0)
                return -EBADMSG;
        return 0;
}

/* Decides, reading only, whether the database is ours; 1 when it needs the schema created. */
static int store_check_owner(Store *s) {
        int64_t app_id, version, tables;
        int r;

        r = store_sql_int64(s, s->db, "PRAGMA application_id", &app_id);
        if (r < 0)
                return r;
        r = store_sql_int64(s, s->db, "PRAGMA user_version", &version);
        if (r < 0)
                return r;
        r = store_sql_int64(s, s->db, "SELECT count(*) FROM sqlite_master", &tables);
        if (r < 0)
                return r;

        if (app_id == 0) {
                if (tables > 0 || version != 0) {
                        snprintf(s->last_error, sizeof(s->last_error),
                                 "database belongs to another application (no application_id)");
                        return -EBADMSG;
                }
                return 1;
        }
        if ((uint32_t) app_id != STORE_APPLICATION_ID) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "database belongs to another application (application_id 0x%08" PRIx32 ")",
                         (uint32_t) app_id);
                return -EBADMSG;
        }
        if (version > STORE_SCHEMA_VERSION) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "schema version %" PRIi64 " is newer than this program's (%d)", version,
                         STORE_SCHEMA_VERSION);
                return -EPROTONOSUPPORT;
        }
        if (version < STORE_SCHEMA_VERSION && tables > 0) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "schema version %" PRIi64 " is older than this program's (%d)", version,
                         STORE_SCHEMA_VERSION);
                return -EMEDIUMTYPE;
        }
        return version < STORE_SCHEMA_VERSION;
}

static int store_create_schema(Store *s) {
        char sql[sizeof(schema_sql) + 256];
        int r;

        snprintf(sql, sizeof(sql),
                 "BEGIN IMMEDIATE;\n%sPRAGMA application_id = %d;\nPRAGMA user_version = "
                 "%d;\nCOMMIT;",
                 schema_sql, STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
        r = store_exec(s, s->db, sql);
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

static int store_set_wal(Store *s) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                r = store_error(s, s->db, rc);
        else if (strcmp((const char *) sqlite3_column_text(st, 0), "wal") != 0) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "the file system does not support WAL mode");
                r = -EOPNOTSUPP;
        }
        sqlite3_finalize(st);
        return r;
}

/* avcwatch_image_matches(want, image): a --image filter, as image_ref_matches() says. */
static void sql_image_matches(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        const char *want = (const char *) sqlite3_value_text(argv[0]),
                   *image = argc > 1 ? (const char *) sqlite3_value_text(argv[1]) : NULL;

        sqlite3_result_int(ctx, image_ref_matches(want, image));
}

static int store_open_reader(Store *s) {
        char sql[64];
        int rc, r;

        rc = sqlite3_open_v2(s->path, &s->ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
                return s->ro ? store_error(s, s->ro, rc) : -ENOMEM;
        sqlite3_busy_timeout(s->ro, STORE_BUSY_TIMEOUT_MS);
        rc = sqlite3_create_function(s->ro, "avcwatch_image_matches", 2,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                     sql_image_matches, NULL, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        r = store_exec(s, s->ro, "PRAGMA query_only = ON");
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", STORE_PAGE_CACHE_KIB);
        r = store_exec(s, s->ro, sql);
        if (r < 0)
                return r;
        return raw_decoder_new(store_load_dictionary, s, &s->decoder);
}

/* The newest dictionary goes on being used after a restart. */
static int store_resume_dictionary(Store *s) {
        sqlite3_stmt *st = s->w->stmt[STMT_DICTIONARY_LATEST];
        int rc = sqlite3_step(st), r = 0;

        if (rc == SQLITE_ROW)
                r = raw_encoder_use_dictionary(s->w->encoder, sqlite3_column_int64(st, 0),
                                               sqlite3_column_blob(st, 1),
                                               (size_t) sqlite3_column_bytes(st, 1));
        else if (rc != SQLITE_DONE)
                r = store_error(s, s->db, rc);
        sqlite3_reset(st);
        return r;
}

static StoreWriter *writer_free(StoreWriter *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(w->stmt[i]);
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

static int writer_new(StoreWriter **ret) {
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
        if (!w->container_cache || !w->aggregate_deltas || raw_encoder_new(&w->encoder) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(w);
        return 0;
}

/* PRAGMA quick_check: every page, in one pass (about 1 s per GB, read-only). A damaged file is
 * refused before anything is written to it: writing would spread the damage. */
/* PRAGMA quick_check is one long step inside SQLite (no progress handler is called during it), so
 * it runs in a thread of its own while the caller's thread reports progress. The connection is
 * used by one thread at a time: the checker until it is joined, then the caller. */
typedef struct {
        sqlite3_stmt *st;
        int rc;
        char verdict[STORE_ERROR_MAX];
} SoundCheck;

static void *sound_check_run(void *userdata) {
        SoundCheck *c = userdata;

        c->rc = sqlite3_step(c->st);
        if (c->rc == SQLITE_ROW) {
                const char *v = (const char *) sqlite3_column_text(c->st, 0);
                snprintf(c->verdict, sizeof(c->verdict), "%s", v ? v : "?");
        }
        return NULL;
}

static void sound_check_with_progress(SoundCheck *c, uint64_t period_usec,
                                      store_progress_cb progress, void *userdata) {
        uint64_t start = clock_usec(CLOCK_MONOTONIC);
        uint64_t period = MAX(period_usec, (uint64_t) STORE_PROGRESS_MIN_USEC);
        pthread_t t;

        if (!progress || period > STORE_PROGRESS_MAX_USEC ||
            pthread_create(&t, NULL, sound_check_run, c) != 0) {
                sound_check_run(c);
                return;
        }
        for (;;) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                uint64_t ns = (uint64_t) until.tv_nsec + period * 1000;
                until.tv_sec += (time_t) (ns / 1000000000);
                until.tv_nsec = (long) (ns % 1000000000);
                int k = pthread_timedjoin_np(t, NULL, &until);
                if (k == 0)
                        return;
                if (k != ETIMEDOUT) {
                        (void) pthread_join(t, NULL);
                        return;
                }
                progress(userdata, clock_usec(CLOCK_MONOTONIC) - start);
        }
}

static int store_check_sound(Store *s, uint64_t period_usec, store_progress_cb progress,
                             void *userdata) {
        SoundCheck c = {};
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &c.st, NULL);
        if (rc != SQLITE_OK) {
                r = store_error(s, s->db, rc);
                return r == -EBADMSG ? -EUCLEAN : r;
        }
        sound_check_with_progress(&c, period_usec, progress, userdata);
        if (c.rc == SQLITE_ROW) {
                if (strcmp(c.verdict, "ok") != 0) {
                        snprintf(s->last_error, sizeof(s->last_error), "damaged: %.200s",
                                 c.verdict);
                        r = -EUCLEAN;
                }
        } else {
                r = store_error(s, s->db, c.rc);
                if (r == -EBADMSG)
                        r = -EUCLEAN;
        }
        sqlite3_finalize(c.st);
        return r;
}

int store_open(const char *path, Store **ret) {
        return store_open_with_progress(path, 0, NULL, NULL, ret);
}

int store_open_with_progress(const char *path, uint64_t period_usec, store_progress_cb progress,
                             void *userdata, Store **ret) {
        _cleanup_(store_freep) Store *s = NULL;
        char sql[64];
        int rc, r;

        if (!path || !ret)
                return -EINVAL;
        r = check_magic(path);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        s->query_budget_usec = STORE_QUERY_BUDGET_USEC;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        r = writer_new(&s->w);
        if (r < 0)
                return r;

        rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (rc != SQLITE_OK)
                return s->db ? store_error(s, s->db, rc) : -ENOMEM;
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

        /* Nothing is written before we know the file is ours, and sound. */
        r = store_check_owner(s);
        if (r < 0)
                return r;
        bool create = r > 0;
        if (!create) {
                r = store_check_sound(s, period_usec, progress, userdata);
                if (r < 0)
                        return r;
        }

        if (create) {
                /* Before the first table: retention gives pages back to the file system in
                 * small steps (PRAGMA incremental_vacuum). */
                r = store_exec(s, s->db, "PRAGMA auto_vacuum = INCREMENTAL");
                if (r < 0)
                        return r;
        }
        r = store_set_wal(s);
        if (r < 0)
                return r;
        r = store_exec(s, s->db, "PRAGMA synchronous = NORMAL");
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "PRAGMA wal_autocheckpoint = %d",
                 STORE_WAL_AUTOCHECKPOINT_PAGES);
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %d", STORE_JOURNAL_SIZE_LIMIT);
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        r = store_exec(s, s->db, "PRAGMA foreign_keys = OFF");
        if (r < 0)
                return r;
        r = store_exec(s, s->db, "PRAGMA temp_store = MEMORY");
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", STORE_PAGE_CACHE_KIB);
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        if (create) {
                r = store_create_schema(s);
                if (r < 0)
                        return r;
        }
        r = store_containers_migrate(s);
        if (r < 0)
                return r;
        r = store_prepare(s);
        if (r < 0)
                return r;
        r = store_containers_prepare(s);
        if (r < 0)
                return r;
        r = store_resume_dictionary(s);
        if (r < 0)
                return r;
        r = store_open_reader(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        if (s->db && s->w && s->containers)
                (void) store_commit(s, NULL); /* the open batch and the queued candidates */
        store_containers_free(s);
        writer_free(s->w);
        raw_decoder_free(s->decoder);
        sqlite3_close(s->ro);
        sqlite3_close(s->db);
        free(s->path);
        free(s);
        return NULL;
}

void store_set_query_budget(Store *s, uint64_t usec) {
        if (s)
                s->query_budget_usec = usec;
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

static int store_load_max(Store *s) {
        StoreWriter *w = s->w;
        int64_t id;
        int r;

        if (w->has_max)
                return 0;
        r = store_step_int64(s, w->stmt[STMT_MAX_ID], &id);
        if (r < 0)
                return r;
        w->max_time_ms = r > 0 ? store_id_time(id) : INT64_MIN;
        w->has_max = true;
        return 0;
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
                return 1;
        }

        sqlite3_stmt *st = w->stmt[STMT_SLOT_PROBE];
        sqlite3_bind_int64(st, 1, base + home);
        sqlite3_bind_int64(st, 2, base + last);
        int64_t expect = base + home;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                int64_t id = sqlite3_column_int64(st, 0);
                if (id != expect)
                        break; /* a free slot before this row: the verdict is not stored */
                if ((uint64_t) sqlite3_column_int64(st, 1) == serial &&
                    sqlite3_column_int64(st, 2) == node &&
                    sqlite3_column_int64(st, 3) == (int64_t) seq) {
                        sqlite3_reset(st);
                        return 0;
                }
                expect++;
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

/* The strings of a denial row, in the order of its columns scontext .. proctitle. */
#define DENIAL_STRINGS(d)                                                                          \
        {                                                                                          \
                (d)->scontext, (d)->tcontext, (d)->mcs, (d)->target_mcs, (d)->comm, (d)->exe,      \
                        (d)->path, (d)->name, (d)->cwd, (d)->proctitle                             \
        }

static int store_add_one(Store *s, const Denial *d) {
        StoreWriter *w = s->w;
        int64_t node, id = 0, ref[10], sig_ref[5], signature, container = 0, target_container = 0;
        const void *raw = NULL;
        size_t raw_len = 0;
        int r;

        /* Strings and containers first: writing them is harmless even for a duplicate. */
        r = store_intern_field(s, MEMO_NODE, d->node, &node);
        if (r < 0)
                return r;
        const char *strings[] = DENIAL_STRINGS(d);
        for (size_t i = 0; i < ELEMENTSOF(ref); i++) {
                r = store_intern_field(s, MEMO_STRINGS + i, strings[i], &ref[i]);
                if (r < 0)
                        return r;
        }
        const char *sig_strings[] = {d->result, d->source_type, d->target_type, d->tclass,
                                     d->permissions};
        for (size_t i = 0; i < ELEMENTSOF(sig_ref); i++) {
                r = store_intern_field(s, MEMO_STRINGS + ELEMENTSOF(ref) + i, sig_strings[i],
                                       &sig_ref[i]);
                if (r < 0)
                        return r;
        }
        r = store_signature(s, sig_ref, &signature);
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

        if (d->raw) {
                r = raw_encode(w->encoder, d->raw, strlen(d->raw), d->time_ms, d->serial, &raw,
                               &raw_len);
                if (r < 0) {
                        snprintf(s->last_error, sizeof(s->last_error),
                                 "cannot pack the event's raw text: %s", strerror(-r));
                        return r;
                }
        }

        sqlite3_stmt *ins = w->stmt[STMT_DENIAL_INSERT];
        sqlite3_bind_int64(ins, INS_ID, id);
        sqlite3_bind_int64(ins, INS_SERIAL, (int64_t) d->serial);
        store_bind_ref(ins, INS_NODE, node);
        sqlite3_bind_int64(ins, INS_SEQ, d->seq);
        sqlite3_bind_int64(ins, INS_RECORD_TYPE, d->record_type);
        sqlite3_bind_int64(ins, INS_SIGNATURE, signature);
        for (size_t i = 0; i < ELEMENTSOF(ref); i++)
                store_bind_ref(ins, INS_STRINGS + (int) i, ref[i]);
        store_bind_known(ins, INS_PID, d->pid);
        store_bind_known(ins, INS_PPID, d->ppid);
        store_bind_known(ins, INS_UID, d->uid);
        store_bind_known(ins, INS_SYSCALL, d->syscall);
        store_bind_known(ins, INS_PERMISSIVE, d->permissive < 0 ? -1 : !!d->permissive);
        store_bind_ref(ins, INS_CONTAINER, container);
        sqlite3_bind_int64(ins, INS_ATTRIBUTION, d->attribution);
        store_bind_ref(ins, INS_TARGET_CONTAINER, target_container);
        if (raw)
                sqlite3_bind_blob(ins, INS_RAW, raw, (int) raw_len, SQLITE_STATIC);
        else
                sqlite3_bind_null(ins, INS_RAW);
        if (d->count > 1) /* a storm's summary: NULL is 1 */
                sqlite3_bind_int64(ins, INS_COUNT, (int64_t) MIN(d->count, (uint64_t) INT64_MAX));
        else
                sqlite3_bind_null(ins, INS_COUNT);
        r = store_step_done(s, ins);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return 0; /* raced with another writer */
        w->max_time_ms = MAX(w->max_time_ms, d->time_ms);
        if (d->seq == 0)
                w->batch_events++;
        r = store_aggregate(s, d->time_ms, signature, container, ref[2], MAX(d->count, 1));
        if (r < 0)
                return r;
        return 1;
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
        if (!w->in_txn) {
                store_maybe_train(s);
                r = store_step_done(s, w->stmt[STMT_BEGIN]);
                if (r < 0)
                        return r;
                w->in_txn = true;
        }

        r = store_add_one(s, d);
        if (r < 0)
                return store_batch_failed(s, r);
        w->pending++;
        w->pending_denials += MAX(d->count, 1);
        if (r > 0) {
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

static int store_meta_add(Store *s, const char *key, int64_t delta) {
        if (delta == 0)
                return 0;
        sqlite3_stmt *up = s->w->stmt[STMT_META_ADD];
        sqlite3_bind_text(up, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, delta);
        return store_step_done(s, up);
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

        r = store_containers_flush(s);
        if (r >= 0)
                r = store_flush_aggregates(s);
        if (r >= 0)
                r = store_meta_add(s, "denials", (int64_t) w->batch_added);
        if (r >= 0)
                r = store_meta_add(s, "events", (int64_t) w->batch_events);
        if (r >= 0)
                r = store_step_done(s, w->stmt[STMT_COMMIT]);
        if (r < 0) {
                /* Keep the message of the failure, not of the rollback. */
                if (!sqlite3_get_autocommit(s->db))
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                store_forget_batch(s);
                return r;
        }

        added = w->batch_added;
        duplicates = w->batch_duplicates;
        w->in_txn = false;
        w->pending = 0;
        w->pending_denials = 0;
        w->committed_folded += w->batch_folded;
        w->batch_folded = 0;
        w->batch_added = w->batch_duplicates = w->batch_events = 0;
        if (ret_duplicates)
                *ret_duplicates += duplicates;
        return (int) MIN(added, (uint64_t) INT32_MAX);
}

/* ---- retention ---- */

bool store_is_expired(int64_t time_ms, int64_t now_ms, int64_t max_age_ms) {
        return max_age_ms > 0 && now_ms - max_age_ms > time_ms;
}

/* The pages the database uses: what MaxSize= bounds. Not the WAL: it is reset at every
 * checkpoint and bounded on its own (STORE_JOURNAL_SIZE_LIMIT); counting it would make a small
 * MaxSize= prune everything while a checkpoint is pending. */
static int store_used_bytes(Store *s, uint64_t *ret) {
        int64_t pages, free_pages, page_size;
        int r;

        r = store_sql_int64(s, s->db, "PRAGMA page_count", &pages);
        if (r >= 0)
                r = store_sql_int64(s, s->db, "PRAGMA freelist_count", &free_pages);
        if (r >= 0)
                r = store_sql_int64(s, s->db, "PRAGMA page_size", &page_size);
        if (r < 0)
                return r;
        *ret = (uint64_t) MAX(pages - free_pages, 0) * (uint64_t) page_size;
        return 0;
}

/* Deletes the denials below id `end` (a millisecond boundary), counting them in meta. */
static int store_delete_below(Store *s, int64_t end, int64_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int64_t n = 0, events = 0;
        char sql[256];
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT count(*), coalesce(sum(seq = 0), 0) FROM denials WHERE "
                                "id < ?1",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        sqlite3_bind_int64(st, 1, end);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return store_error(s, s->db, rc);
        n = sqlite3_column_int64(st, 0);
        events = sqlite3_column_int64(st, 1);
        if (n == 0) {
                *ret_n = 0;
                return 0;
        }
        snprintf(sql, sizeof(sql), "DELETE FROM denials WHERE id < %" PRIi64, end);
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        /* The registry's candidates of the rows that went (keyed by time). */
        snprintf(sql, sizeof(sql),
                 "DELETE FROM denial_candidates WHERE time_ms < %" PRIi64
                 "; UPDATE meta SET value = max(value, %" PRIi64 ") WHERE key = 'pruned_until_ms'",
                 store_id_time(end), store_id_time(end));
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        r = store_meta_add(s, "denials", -n);
        if (r >= 0)
                r = store_meta_add(s, "events", -events);
        if (r >= 0)
                r = store_meta_add(s, "pruned", n);
        if (r < 0)
                return r;
        *ret_n = n;
        return 0;
}

/* Where a step of at most max_rows rows below `limit` ends (returns 1), or limit when fewer are
 * left (returns 0). Steps end on millisecond boundaries, so that probe chains keep no holes: at
 * the start of the millisecond of the row max_rows in, or, when that is the very first one (more
 * than max_rows denials in one millisecond), at its end. */
static int store_prune_end(Store *s, int64_t limit, unsigned max_rows, int64_t *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int64_t first, cut;
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT (SELECT min(id) FROM denials), id FROM denials WHERE "
                                    "id < ?1 ORDER BY id LIMIT 1 OFFSET ?2",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        sqlite3_bind_int64(st, 1, limit);
        sqlite3_bind_int64(st, 2, MAX(max_rows, 1u));
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                *ret = limit;
                return 0;
        }
        if (rc != SQLITE_ROW)
                return store_error(s, s->db, rc);
        first = store_id_time(sqlite3_column_int64(st, 0));
        cut = store_id_time(sqlite3_column_int64(st, 1));
        *ret = MIN(store_time_id(cut == first ? cut + 1 : cut), limit);
        return *ret < limit;
}

int store_prune(Store *s, int64_t now_ms, int64_t max_age_ms, uint64_t max_bytes, unsigned max_rows,
                bool *ret_more) {
        StoreWriter *w;
        int64_t end, n = 0, n_age = 0;
        uint64_t used;
        bool own_txn, more = false;
        int r;

        if (!s || !ret_more)
                return -EINVAL;
        w = s->w;
        *ret_more = false;
        if (max_age_ms <= 0 && max_bytes == 0)
                return 0;
        own_txn = !w->in_txn;
        if (own_txn) {
                r = store_step_done(s, w->stmt[STMT_BEGIN]);
                if (r < 0)
                        return r;
        }

        /* Queued candidates first: the step deletes those of the rows it removes. */
        r = store_containers_flush(s);
        if (r < 0)
                goto fail;
        if (max_age_ms > 0 && now_ms - max_age_ms > -STORE_TIME_MAX) {
                r = store_prune_end(s, store_time_id(now_ms - max_age_ms), max_rows, &end);
                if (r >= 0) {
                        more = r > 0;
                        r = store_delete_below(s, end, &n_age);
                }
                if (r < 0)
                        goto fail;
                n += n_age;
        }
        if (max_bytes > 0 && (unsigned) n < max_rows) {
                r = store_used_bytes(s, &used);
                if (r < 0)
                        goto fail;
                if (used > max_bytes) {
                        int64_t n_size;
                        r = store_prune_end(s, INT64_MAX, max_rows - (unsigned) n, &end);
                        if (r >= 0)
                                r = store_delete_below(s, end, &n_size);
                        if (r < 0)
                                goto fail;
                        n += n_size;
                        /* More to do while rows went (the size is looked at again next time). */
                        more = more || n_size > 0;
                }
        }
        if (n > 0) {
                char sql[64];
                snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)",
                         STORE_PRUNE_VACUUM_PAGES);
                r = store_exec(s, s->db, sql);
                if (r < 0)
                        goto fail;
        }
        if (own_txn) {
                r = store_step_done(s, w->stmt[STMT_COMMIT]);
                if (r < 0)
                        goto fail;
        }
        *ret_more = more;
        return (int) MIN(n, (int64_t) INT32_MAX);

fail:
        if (own_txn && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        else if (!own_txn)
                (void) store_batch_failed(s, r);
        return r;
}

/* ---- counts ---- */

int store_counts(Store *s, StoreCounts *ret) {
        static const struct {
                const char *sql;
                size_t offset;
        } queries[] = {
                {"SELECT value FROM meta WHERE key = 'denials'", offsetof(StoreCounts, denials)},
                {"SELECT value FROM meta WHERE key = 'events'", offsetof(StoreCounts, events)},
                {"SELECT value FROM meta WHERE key = 'pruned'", offsetof(StoreCounts, pruned)},
                {"SELECT count(*) FROM signatures", offsetof(StoreCounts, signatures)},
                {"SELECT count(*) FROM containers", offsetof(StoreCounts, containers)},
        };
        StoreCounts c = {};
        int64_t v, page_count, page_size;
        _cleanup_(freep) char *wal = NULL;
        struct stat st;
        int r;

        if (!s || !ret)
                return -EINVAL;
        /* One read transaction, so that the numbers belong together. */
        r = store_exec(s, s->ro, "BEGIN");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(queries); i++) {
                r = store_sql_int64(s, s->ro, queries[i].sql, &v);
                if (r < 0)
                        goto finish;
                *(uint64_t *) ((char *) &c + queries[i].offset) = v > 0 ? (uint64_t) v : 0;
        }
        if (c.denials > 0) {
                r = store_sql_int64(s, s->ro, "SELECT min(id) FROM denials", &v);
                if (r < 0)
                        goto finish;
                c.oldest_ms = store_id_time(v);
                r = store_sql_int64(s, s->ro, "SELECT max(id) FROM denials", &v);
                if (r < 0)
                        goto finish;
                c.newest_ms = store_id_time(v);
        }
        r = store_sql_int64(s, s->ro, "PRAGMA page_count", &page_count);
        if (r < 0)
                goto finish;
        r = store_sql_int64(s, s->ro, "PRAGMA page_size", &page_size);
        if (r < 0)
                goto finish;
        c.db_bytes = (uint64_t) page_count * (uint64_t) page_size;
finish:
        (void) sqlite3_exec(s->ro, "COMMIT", NULL, NULL, NULL);
        if (r < 0)
                return r;

        if (asprintf(&wal, "%s-wal", s->path) < 0)
                return -ENOMEM;
        if (stat(wal, &st) >= 0)
                c.db_bytes += (uint64_t) st.st_size;
        *ret = c;
        return 0;
}

const char *store_last_error(const Store *s) {
        if (!s || !s->last_error[0])
                return "no error";
        return s->last_error;
}
