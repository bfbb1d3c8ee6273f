/* SPDX-License-Identifier: MIT */
/* Store: the SQLite database of denials.
 *
 * Schema (version 1, PRAGMA user_version = 1, PRAGMA application_id = 'AVCW'):
 *
 *   meta(key TEXT PRIMARY KEY, value INTEGER)      -- 'denials', 'events': row counts kept at
 *                                                     commit so that `stats` is O(1)
 *   strings(id INTEGER PRIMARY KEY, text UNIQUE)   -- every repeated string, interned
 *   events(id INTEGER PRIMARY KEY, node, time_ms, serial, raw,
 *          UNIQUE(node, time_ms, serial))          -- one audit event, its raw text kept once
 *                                                     however many verdicts it holds
 *   containers(id INTEGER PRIMARY KEY, container_id TEXT UNIQUE, name, image, engine, pod)
 *   signatures(id INTEGER PRIMARY KEY, source_type, target_type, tclass, permissions, image,
 *              count, first_ms, last_ms, UNIQUE(source_type, ..., image))
 *   denials(id INTEGER PRIMARY KEY = events.id << 10 | seq, event, time_ms, serial, seq,
 *           record_type, result .. proctitle (string refs), pid, ppid, uid, syscall,
 *           permissive, container, attribution, target_container, signature)
 *   indexes: denials(time_ms) (+ rowid: the (time, id) order), and (container, time_ms),
 *            (mcs, time_ms), (source_type, time_ms) so that a filtered query walks its rows in
 *            (time, id) order and stops at the limit; containers(name)
 *
 * Decisions:
 * - "No value" is 0, not NULL, in the columns that are part of a UNIQUE key (events.node, the
 *   signature key), because NULLs are all distinct in a UNIQUE index and a node-less record
 *   would then never be recognised as a re-import. Everywhere else NULL means unknown, exactly
 *   like NULL in a Denial.
 * - The dedupe key (node, time, serial, seq) costs no index of its own on the hot table: events
 *   are unique on (node, time_ms, serial), and a denial's rowid is its event's id shifted left
 *   by 10 bits plus its seq, so the rowid itself is unique on (event, seq). Events with 1024
 *   verdicts or more do not exist in practice and are refused (-E2BIG).
 * - denials.id is the query cursor: queries are ordered by (time_ms, id) and paginated by
 *   keyset on that pair, which the (time_ms) index (rowid included) serves directly.
 * - Writes are batched: store_add opens a transaction (BEGIN IMMEDIATE) and inserts at once,
 *   store_commit commits. A batch is all or nothing: if SQLite loses the transaction (disk full,
 *   I/O error) the whole batch is rolled back and reported lost by the next commit.
 * - Speed: statements are prepared once; strings, containers and signatures are looked up in
 *   bounded in-memory caches (dropped whole when full, and after any rollback since the ids
 *   they hold may have vanished). Signature counts are accumulated in memory during a batch
 *   and written with one UPDATE per touched signature at commit.
 * - Queries run on a separate read-only connection (query_only) and so see committed data
 *   only; their SQL is made of constant fragments with bound parameters, never of values.
 * - Foreign keys are declared for documentation but not enforced: every reference is written
 *   by this file in the same transaction, and enforcement costs a lookup per reference.
 * - A file that is not ours is never written: before anything is changed we check the SQLite
 *   magic, the application_id and, for an id-less database, that it has no tables. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "store.h"

#define STORE_APPLICATION_ID 0x41564357 /* 'AVCW' in the SQLite header */
#define STORE_SCHEMA_VERSION 1
#define STORE_BUSY_TIMEOUT_MS 5000       /* another writer (a second daemon, sqlite3 CLI) */
#define STORE_PAGE_CACHE_KIB 16384       /* hot index pages of a busy store stay in memory */
#define STORE_CACHE_STRINGS_MAX 65536    /* interned string -> id entries kept in memory */
#define STORE_CACHE_CONTAINERS_MAX 4096  /* container id -> row entries */
#define STORE_CACHE_SIGNATURES_MAX 16384 /* signature key -> row entries */
#define MAP_SLOTS_MIN 1024               /* a cache's first table; doubles as it fills */
#define STORE_CACHE_KEY_MAX 1024         /* longer strings are interned but not cached */
#define STORE_ERROR_MAX 256              /* store_last_error() text */
#define STORE_SQL_MAX 8192               /* a generated query */
#define STORE_QUERY_CONTAINERS_MAX 64    /* containers a filter names, bound one by one */
#define STORE_EVENT_SEQ_BITS 64          /* verdicts per event tracked without a lookup */
#define STORE_EVENT_VERDICT_BITS 10      /* denials.id = events.id << 10 | seq */
#define STORE_EVENT_VERDICTS_MAX (1u << STORE_EVENT_VERDICT_BITS) /* far above real events */
#define STORE_WAL_AUTOCHECKPOINT_PAGES 8192 /* fewer checkpoints; bounds the WAL to ~32 MiB */
#define SQLITE_MAGIC "SQLite format 3"      /* first 16 bytes of every database, NUL included */

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
        MEMO_STRINGS, /* + 15 Denial strings */
        _MEMO_MAX = MEMO_STRINGS + 15,
};

typedef struct CachedContainer {
        int64_t row;
        ContainerRef known; /* what the row holds */
} CachedContainer;

typedef struct CachedSignature {
        int64_t row;
        int64_t count, first_ms, last_ms; /* deltas of the open batch; count 0: clean */
} CachedSignature;

enum {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_STRING_INSERT,
        STMT_STRING_SELECT,
        STMT_EVENT_SELECT,
        STMT_EVENT_INSERT,
        STMT_EVENT_DELETE,
        STMT_DENIAL_EXISTS,
        STMT_DENIAL_INSERT,
        STMT_CONTAINER_SELECT,
        STMT_CONTAINER_INSERT,
        STMT_CONTAINER_UPDATE,
        STMT_SIGNATURE_SELECT,
        STMT_SIGNATURE_INSERT,
        STMT_SIGNATURE_UPDATE,
        STMT_META_ADD,
        _STMT_MAX,
};

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_STRING_INSERT] = "INSERT OR IGNORE INTO strings(text) VALUES (?1)",
        [STMT_STRING_SELECT] = "SELECT id FROM strings WHERE text = ?1",
        [STMT_EVENT_SELECT] =
                "SELECT id FROM events WHERE node = ?1 AND time_ms = ?2 AND serial = ?3",
        [STMT_EVENT_INSERT] =
                "INSERT OR IGNORE INTO events(node, time_ms, serial, raw) VALUES (?1, ?2, ?3, ?4)",
        [STMT_EVENT_DELETE] = "DELETE FROM events WHERE id = ?1",
        [STMT_DENIAL_EXISTS] = "SELECT 1 FROM denials WHERE id = ?1",
        [STMT_DENIAL_INSERT] =
                "INSERT OR IGNORE INTO denials(id, event, time_ms, serial, seq, record_type, "
                "result, "
                "permissions, comm, exe, path, name, scontext, tcontext, tclass, source_type, "
                "target_type, mcs, target_mcs, cwd, proctitle, pid, ppid, uid, syscall, "
                "permissive, container, attribution, target_container, signature) VALUES (?30, ?1, "
                "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)",
        [STMT_CONTAINER_SELECT] =
                "SELECT id, name, image, engine, pod FROM containers WHERE container_id = ?1",
        [STMT_CONTAINER_INSERT] = "INSERT INTO containers(container_id, name, image, engine, pod) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_CONTAINER_UPDATE] =
                "UPDATE containers SET name = coalesce(?2, name), image = coalesce(?3, image), "
                "engine = coalesce(?4, engine), pod = coalesce(?5, pod) WHERE id = ?1",
        [STMT_SIGNATURE_SELECT] = "SELECT id FROM signatures WHERE source_type = ?1 AND "
                                  "target_type = ?2 AND tclass = ?3 AND permissions = ?4 AND "
                                  "image = ?5",
        [STMT_SIGNATURE_INSERT] = "INSERT INTO signatures(source_type, target_type, tclass, "
                                  "permissions, image, count, first_ms, last_ms) VALUES (?1, ?2, "
                                  "?3, ?4, ?5, 0, ?6, ?6)",
        [STMT_SIGNATURE_UPDATE] = "UPDATE signatures SET count = count + ?2, first_ms = "
                                  "min(first_ms, ?3), last_ms = max(last_ms, ?4) WHERE id = ?1",
        [STMT_META_ADD] = "UPDATE meta SET value = value + ?2 WHERE key = ?1",
};

static const char schema_sql[] =
        "CREATE TABLE IF NOT EXISTS meta (\n"
        "  key TEXT PRIMARY KEY,\n"
        "  value INTEGER NOT NULL\n"
        ") WITHOUT ROWID;\n"
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('denials', 0), ('events', 0);\n"
        "CREATE TABLE IF NOT EXISTS strings (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  text TEXT NOT NULL UNIQUE\n"
        ");\n"
        "CREATE TABLE IF NOT EXISTS events (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  node INTEGER NOT NULL,\n" /* strings.id, 0 when the record had no node= */
        "  time_ms INTEGER NOT NULL,\n"
        "  serial INTEGER NOT NULL,\n"
        "  raw TEXT,\n"
        "  UNIQUE (node, time_ms, serial)\n"
        ");\n"
        "CREATE TABLE IF NOT EXISTS containers (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  container_id TEXT NOT NULL UNIQUE,\n"
        "  name TEXT,\n"
        "  image TEXT,\n"
        "  engine TEXT,\n"
        "  pod TEXT\n"
        ");\n"
        "CREATE INDEX IF NOT EXISTS containers_name ON containers(name);\n"
        "CREATE TABLE IF NOT EXISTS signatures (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  source_type INTEGER NOT NULL,\n" /* strings.id, 0 when unknown */
        "  target_type INTEGER NOT NULL,\n"
        "  tclass INTEGER NOT NULL,\n"
        "  permissions INTEGER NOT NULL,\n"
        "  image INTEGER NOT NULL,\n"
        "  count INTEGER NOT NULL,\n"
        "  first_ms INTEGER NOT NULL,\n"
        "  last_ms INTEGER NOT NULL,\n"
        "  UNIQUE (source_type, target_type, tclass, permissions, image)\n"
        ");\n"
        "CREATE TABLE IF NOT EXISTS denials (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  event INTEGER NOT NULL REFERENCES events(id),\n"
        "  time_ms INTEGER NOT NULL,\n"
        "  serial INTEGER NOT NULL,\n"
        "  seq INTEGER NOT NULL,\n"
        "  record_type INTEGER NOT NULL,\n"
        "  result INTEGER REFERENCES strings(id),\n"
        "  permissions INTEGER REFERENCES strings(id),\n"
        "  comm INTEGER REFERENCES strings(id),\n"
        "  exe INTEGER REFERENCES strings(id),\n"
        "  path INTEGER REFERENCES strings(id),\n"
        "  name INTEGER REFERENCES strings(id),\n"
        "  scontext INTEGER REFERENCES strings(id),\n"
        "  tcontext INTEGER REFERENCES strings(id),\n"
        "  tclass INTEGER REFERENCES strings(id),\n"
        "  source_type INTEGER REFERENCES strings(id),\n"
        "  target_type INTEGER REFERENCES strings(id),\n"
        "  mcs INTEGER REFERENCES strings(id),\n"
        "  target_mcs INTEGER REFERENCES strings(id),\n"
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
        "  signature INTEGER REFERENCES signatures(id)\n"
        ");\n"
        "CREATE INDEX IF NOT EXISTS denials_time ON denials(time_ms);\n" /* + rowid = (time, id) */
        "CREATE INDEX IF NOT EXISTS denials_container ON denials(container, time_ms);\n"
        "CREATE INDEX IF NOT EXISTS denials_mcs ON denials(mcs, time_ms);\n"
        "CREATE INDEX IF NOT EXISTS denials_source_type ON denials(source_type, time_ms);\n";

static void sqlite3_finalizep(sqlite3_stmt **p) {
        if (*p)
                sqlite3_finalize(*p);
}

struct Store {
        char *path;
        sqlite3 *db; /* writer */
        sqlite3 *ro; /* reader, SQLITE_OPEN_READONLY + query_only */
        sqlite3_stmt *stmt[_STMT_MAX];

        bool in_txn;
        int batch_error; /* the open batch was lost; the next commit reports this */
        size_t pending;  /* store_add calls in the open batch */
        uint64_t batch_added, batch_duplicates, batch_events;

        Map strings;
        Map containers;
        CachedContainer *container_cache;
        Map signatures;
        CachedSignature *signature_cache;
        size_t *dirty_signatures; /* indexes into signature_cache with deltas */
        size_t n_dirty_signatures;

        StringMemo memo[_MEMO_MAX];
        uint64_t strings_generation; /* bumped whenever the strings cache is dropped */

        /* The last event seen: the verdicts of one event arrive back to back. */
        bool has_event;
        int64_t event_node, event_time_ms, event_row;
        uint64_t event_serial;
        bool event_fresh;    /* created by this Store: its verdicts are all in event_seqs */
        uint64_t event_seqs; /* bit per seq < STORE_EVENT_SEQ_BITS stored for it */

        char last_error[STORE_ERROR_MAX];
};

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

/* ---- errors ---- */

static int store_error(Store *s, sqlite3 *db, int rc) {
        snprintf(s->last_error, sizeof(s->last_error), "%s", sqlite3_errmsg(db));
        switch (rc & 0xff) {
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
                return -EBADMSG;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        default:
                return -EIO;
        }
}

static int store_exec(Store *s, sqlite3 *db, const char *sql) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : store_error(s, db, rc);
}

/* Runs a prepared statement that returns no row. */
static int store_step_done(Store *s, sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                return 0;
        return store_error(s, sqlite3_db_handle(st), rc);
}

/* Runs a single-value query: 1 with *ret set, 0 when there is no row. */
static int store_step_int64(Store *s, sqlite3_stmt *st, int64_t *ret) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret = sqlite3_column_int64(st, 0);
                sqlite3_reset(st);
                return 1;
        }
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
                return 0;
        return store_error(s, sqlite3_db_handle(st), rc);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *text) {
        if (text)
                sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

static void bind_ref(sqlite3_stmt *st, int i, int64_t ref) {
        if (ref > 0)
                sqlite3_bind_int64(st, i, ref);
        else
                sqlite3_bind_null(st, i);
}

static void bind_known(sqlite3_stmt *st, int i, int64_t v) {
        if (v >= 0)
                sqlite3_bind_int64(st, i, v);
        else
                sqlite3_bind_null(st, i);
}

/* ---- caches ---- */

static void store_drop_caches(Store *s) {
        map_clear(&s->strings);
        s->strings_generation++;
        for (size_t i = 0; i < s->containers.n_entries; i++)
                container_ref_done(&s->container_cache[i].known);
        map_clear(&s->containers);
        map_clear(&s->signatures);
        s->n_dirty_signatures = 0;
        s->has_event = false;
}

/* After a rollback nothing of the batch exists any more, including ids the caches learned. */
static void store_forget_batch(Store *s) {
        store_drop_caches(s);
        s->in_txn = false;
        s->pending = 0;
        s->batch_added = s->batch_duplicates = s->batch_events = 0;
}

/* Interns text (NULL gives 0). *ret_key, when given, is the cached copy of text (NULL when not
 * cached), valid until the strings cache is dropped. */
static int store_intern(Store *s, const char *text, int64_t *ret_id, const char **ret_key) {
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
                slot = map_find(&s->strings, text, len, hash);
                if (slot->key) {
                        *ret_id = slot->value;
                        if (ret_key)
                                *ret_key = slot->key;
                        return 0;
                }
        }

        sqlite3_stmt *ins = s->stmt[STMT_STRING_INSERT];
        sqlite3_bind_text(ins, 1, text, (int) len, SQLITE_STATIC);
        r = store_step_done(s, ins);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) > 0)
                id = sqlite3_last_insert_rowid(s->db);
        else {
                sqlite3_stmt *sel = s->stmt[STMT_STRING_SELECT];
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
                r = map_reserve(&s->strings);
                if (r == -ENOSPC) {
                        map_clear(&s->strings);
                        s->strings_generation++;
                }
                if (r != 0)
                        slot = map_find(&s->strings, text, len, hash);
                r = map_fill(&s->strings, slot, text, len, hash, id, ret_key);
                if (r < 0)
                        return r;
        }
        *ret_id = id;
        return 0;
}

/* store_intern() behind a one-entry memo per Denial field: consecutive denials mostly repeat
 * node, result, contexts, exe, cwd ..., and a strcmp on a hot string beats a hash lookup. */
static int store_intern_field(Store *s, size_t field, const char *text, int64_t *ret_id) {
        StringMemo *m = s->memo + field;
        const char *key;
        int r;

        if (!text) {
                *ret_id = 0;
                return 0;
        }
        if (m->key && m->generation == s->strings_generation && strcmp(m->key, text) == 0) {
                *ret_id = m->id;
                return 0;
        }
        r = store_intern(s, text, ret_id, &key);
        if (r < 0)
                return r;
        *m = (StringMemo){.key = key, .id = *ret_id, .generation = s->strings_generation};
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

static char *column_strdup(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);
        if (!t)
                return NULL;
        return strndup((const char *) t, (size_t) sqlite3_column_bytes(st, i));
}

/* Upserts a container by its id; fills name, image, engine, pod when c knows them. */
static int store_container(Store *s, const ContainerRef *c, int64_t *ret_row) {
        _cleanup_(container_ref_done) ContainerRef known = {};
        size_t len;
        uint64_t hash;
        MapSlot *slot;
        CachedContainer *cc;
        bool changed;
        int64_t row;
        int r;

        if (!c->id || !c->id[0]) {
                snprintf(s->last_error, sizeof(s->last_error), "container without an id");
                return -EINVAL;
        }
        len = strlen(c->id);
        hash = hash_bytes(c->id, len);
        slot = map_find(&s->containers, c->id, len, hash);
        if (slot->key) {
                cc = s->container_cache + slot->value;
                r = container_merge(&cc->known, c, &changed);
                if (r < 0)
                        return r;
                if (changed) {
                        sqlite3_stmt *up = s->stmt[STMT_CONTAINER_UPDATE];
                        sqlite3_bind_int64(up, 1, cc->row);
                        bind_text_or_null(up, 2, c->name);
                        bind_text_or_null(up, 3, c->image);
                        bind_text_or_null(up, 4, c->engine);
                        bind_text_or_null(up, 5, c->pod);
                        r = store_step_done(s, up);
                        if (r < 0)
                                return r;
                }
                *ret_row = cc->row;
                return 0;
        }

        sqlite3_stmt *sel = s->stmt[STMT_CONTAINER_SELECT];
        sqlite3_bind_text(sel, 1, c->id, (int) len, SQLITE_STATIC);
        int rc = sqlite3_step(sel);
        if (rc == SQLITE_ROW) {
                row = sqlite3_column_int64(sel, 0);
                known.name = column_strdup(sel, 1);
                known.image = column_strdup(sel, 2);
                known.engine = column_strdup(sel, 3);
                known.pod = column_strdup(sel, 4);
                sqlite3_reset(sel);
                r = container_merge(&known, c, &changed);
                if (r < 0)
                        return r;
                if (changed) {
                        sqlite3_stmt *up = s->stmt[STMT_CONTAINER_UPDATE];
                        sqlite3_bind_int64(up, 1, row);
                        bind_text_or_null(up, 2, c->name);
                        bind_text_or_null(up, 3, c->image);
                        bind_text_or_null(up, 4, c->engine);
                        bind_text_or_null(up, 5, c->pod);
                        r = store_step_done(s, up);
                        if (r < 0)
                                return r;
                }
        } else {
                sqlite3_reset(sel);
                if (rc != SQLITE_DONE)
                        return store_error(s, s->db, rc);
                sqlite3_stmt *ins = s->stmt[STMT_CONTAINER_INSERT];
                sqlite3_bind_text(ins, 1, c->id, (int) len, SQLITE_STATIC);
                bind_text_or_null(ins, 2, c->name);
                bind_text_or_null(ins, 3, c->image);
                bind_text_or_null(ins, 4, c->engine);
                bind_text_or_null(ins, 5, c->pod);
                r = store_step_done(s, ins);
                if (r < 0)
                        return r;
                row = sqlite3_last_insert_rowid(s->db);
                r = container_merge(&known, c, &changed);
                if (r < 0)
                        return r;
        }

        r = map_reserve(&s->containers);
        if (r == -ENOSPC) {
                for (size_t i = 0; i < s->containers.n_entries; i++)
                        container_ref_done(&s->container_cache[i].known);
                map_clear(&s->containers);
        }
        if (r != 0)
                slot = map_find(&s->containers, c->id, len, hash);
        size_t idx = s->containers.n_entries;
        r = map_fill(&s->containers, slot, c->id, len, hash, (int64_t) idx, NULL);
        if (r < 0)
                return r;
        s->container_cache[idx] = (CachedContainer){.row = row, .known = known};
        known = (ContainerRef){};
        *ret_row = row;
        return 0;
}

/* Writes the signature counts accumulated in the open batch. */
static int store_flush_signatures(Store *s) {
        sqlite3_stmt *up = s->stmt[STMT_SIGNATURE_UPDATE];
        int r;

        for (size_t i = 0; i < s->n_dirty_signatures; i++) {
                CachedSignature *cs = s->signature_cache + s->dirty_signatures[i];
                sqlite3_bind_int64(up, 1, cs->row);
                sqlite3_bind_int64(up, 2, cs->count);
                sqlite3_bind_int64(up, 3, cs->first_ms);
                sqlite3_bind_int64(up, 4, cs->last_ms);
                r = store_step_done(s, up);
                if (r < 0)
                        return r;
                cs->count = 0;
        }
        s->n_dirty_signatures = 0;
        return 0;
}

static int store_signature(Store *s, const int64_t key[5], int64_t time_ms, size_t *ret_idx) {
        uint64_t hash = hash_bytes(key, 5 * sizeof(int64_t));
        MapSlot *slot = map_find(&s->signatures, key, 5 * sizeof(int64_t), hash);
        int64_t row;
        int r;

        if (slot->key) {
                *ret_idx = (size_t) slot->value;
                return 0;
        }

        sqlite3_stmt *sel = s->stmt[STMT_SIGNATURE_SELECT];
        for (int i = 0; i < 5; i++)
                sqlite3_bind_int64(sel, i + 1, key[i]);
        r = store_step_int64(s, sel, &row);
        if (r < 0)
                return r;
        if (r == 0) {
                sqlite3_stmt *ins = s->stmt[STMT_SIGNATURE_INSERT];
                for (int i = 0; i < 5; i++)
                        sqlite3_bind_int64(ins, i + 1, key[i]);
                sqlite3_bind_int64(ins, 6, time_ms);
                r = store_step_done(s, ins);
                if (r < 0)
                        return r;
                row = sqlite3_last_insert_rowid(s->db);
        }

        r = map_reserve(&s->signatures);
        if (r == -ENOSPC) {
                /* The deltas live in the entries being dropped: write them first. */
                r = store_flush_signatures(s);
                if (r < 0)
                        return r;
                map_clear(&s->signatures);
                r = 1;
        }
        if (r != 0)
                slot = map_find(&s->signatures, key, 5 * sizeof(int64_t), hash);
        size_t idx = s->signatures.n_entries;
        r = map_fill(&s->signatures, slot, key, 5 * sizeof(int64_t), hash, (int64_t) idx, NULL);
        if (r < 0)
                return r;
        s->signature_cache[idx] = (CachedSignature){.row = row};
        *ret_idx = idx;
        return 0;
}

static void signature_count(Store *s, size_t idx, int64_t time_ms) {
        CachedSignature *cs = s->signature_cache + idx;

        if (cs->count == 0) {
                s->dirty_signatures[s->n_dirty_signatures++] = idx;
                cs->first_ms = cs->last_ms = time_ms;
        }
        cs->count++;
        cs->first_ms = MIN(cs->first_ms, time_ms);
        cs->last_ms = MAX(cs->last_ms, time_ms);
}

/* ---- open / close ---- */

static int store_prepare(Store *s) {
        for (size_t i = 0; i < _STMT_MAX; i++) {
                int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                            &s->stmt[i], NULL);
                if (rc != SQLITE_OK)
                        return store_error(s, s->db, rc);
        }
        return 0;
}

static int pragma_int64(Store *s, sqlite3 *db, const char *sql, int64_t *ret) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
                *ret = 0;
        else {
                int r = store_error(s, db, rc);
                sqlite3_finalize(st);
                return r;
        }
        sqlite3_finalize(st);
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

        r = pragma_int64(s, s->db, "PRAGMA application_id", &app_id);
        if (r < 0)
                return r;
        r = pragma_int64(s, s->db, "PRAGMA user_version", &version);
        if (r < 0)
                return r;
        r = pragma_int64(s, s->db, "SELECT count(*) FROM sqlite_master", &tables);
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
        return version < STORE_SCHEMA_VERSION;
}

static int store_create_schema(Store *s) {
        char sql[sizeof(schema_sql) + 128];
        int r;

        snprintf(sql, sizeof(sql),
                 "BEGIN IMMEDIATE;\n%sPRAGMA application_id = %d;\n"
                 "PRAGMA user_version = %d;\nCOMMIT;",
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

static int store_open_reader(Store *s) {
        char sql[64];
        int rc, r;

        rc = sqlite3_open_v2(s->path, &s->ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
                return s->ro ? store_error(s, s->ro, rc) : -ENOMEM;
        sqlite3_busy_timeout(s->ro, STORE_BUSY_TIMEOUT_MS);
        r = store_exec(s, s->ro, "PRAGMA query_only = ON");
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", STORE_PAGE_CACHE_KIB);
        return store_exec(s, s->ro, sql);
}

static int store_migrate_registry(Store *s);

int store_open(const char *path, Store **ret) {
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
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        if (map_init(&s->strings, STORE_CACHE_STRINGS_MAX) < 0 ||
            map_init(&s->containers, STORE_CACHE_CONTAINERS_MAX) < 0 ||
            map_init(&s->signatures, STORE_CACHE_SIGNATURES_MAX) < 0)
                return -ENOMEM;
        s->container_cache = calloc(STORE_CACHE_CONTAINERS_MAX, sizeof(CachedContainer));
        s->signature_cache = calloc(STORE_CACHE_SIGNATURES_MAX, sizeof(CachedSignature));
        s->dirty_signatures = calloc(STORE_CACHE_SIGNATURES_MAX, sizeof(size_t));
        if (!s->container_cache || !s->signature_cache || !s->dirty_signatures)
                return -ENOMEM;

        rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (rc != SQLITE_OK)
                return s->db ? store_error(s, s->db, rc) : -ENOMEM;
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

        /* Nothing is written before we know the file is ours. */
        r = store_check_owner(s);
        if (r < 0)
                return r;
        bool create = r > 0;

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
        r = store_migrate_registry(s);
        if (r < 0)
                return r;
        r = store_prepare(s);
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
        if (s->db && (s->in_txn || s->batch_error))
                (void) store_commit(s, NULL);
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmt[i]);
        sqlite3_close(s->ro);
        sqlite3_close(s->db);
        if (s->container_cache)
                for (size_t i = 0; i < s->containers.n_entries; i++)
                        container_ref_done(&s->container_cache[i].known);
        map_done(&s->strings);
        map_done(&s->containers);
        map_done(&s->signatures);
        free(s->container_cache);
        free(s->signature_cache);
        free(s->dirty_signatures);
        free(s->path);
        free(s);
        return NULL;
}

/* ---- writing ---- */

/* A statement of the batch failed: if SQLite gave the transaction up, so do we. */
static int store_add_failed(Store *s, int r) {
        if (s->in_txn && sqlite3_get_autocommit(s->db)) {
                store_forget_batch(s);
                s->batch_error = r;
        }
        return r;
}

static int store_denial_exists(Store *s, int64_t id) {
        sqlite3_stmt *sel = s->stmt[STMT_DENIAL_EXISTS];
        int64_t one;
        sqlite3_bind_int64(sel, 1, id);
        return store_step_int64(s, sel, &one);
}

static void store_remember_event(Store *s, int64_t node, const Denial *d, int64_t row, bool fresh) {
        s->has_event = true;
        s->event_node = node;
        s->event_time_ms = d->time_ms;
        s->event_serial = d->serial;
        s->event_row = row;
        s->event_fresh = fresh;
        s->event_seqs = 0;
}

/* The event of d, inserted when new (*ret_fresh). */
static int store_event(Store *s, int64_t node, const Denial *d, int64_t *ret_row, bool *ret_fresh) {
        int r;

        if (s->has_event && s->event_node == node && s->event_time_ms == d->time_ms &&
            s->event_serial == d->serial) {
                *ret_row = s->event_row;
                *ret_fresh = false;
                return 0;
        }

        sqlite3_stmt *ins = s->stmt[STMT_EVENT_INSERT];
        sqlite3_bind_int64(ins, 1, node);
        sqlite3_bind_int64(ins, 2, d->time_ms);
        sqlite3_bind_int64(ins, 3, (int64_t) d->serial);
        bind_text_or_null(ins, 4, d->raw);
        r = store_step_done(s, ins);
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) > 0) {
                *ret_row = sqlite3_last_insert_rowid(s->db);
                *ret_fresh = true;
                s->batch_events++;
                store_remember_event(s, node, d, *ret_row, true);
                return 0;
        }

        sqlite3_stmt *sel = s->stmt[STMT_EVENT_SELECT];
        sqlite3_bind_int64(sel, 1, node);
        sqlite3_bind_int64(sel, 2, d->time_ms);
        sqlite3_bind_int64(sel, 3, (int64_t) d->serial);
        r = store_step_int64(s, sel, ret_row);
        if (r < 0)
                return r;
        if (r == 0) {
                snprintf(s->last_error, sizeof(s->last_error), "event row vanished");
                return -EIO;
        }
        *ret_fresh = false;
        store_remember_event(s, node, d, *ret_row, false);
        return 0;
}

static int store_add_one(Store *s, const Denial *d) {
        int64_t node, event, id, ref[15], image = 0, container = 0, target_container = 0;
        bool event_is_new;
        size_t sig;
        int r;

        /* Strings and containers first: writing them is harmless even for a duplicate. */
        r = store_intern_field(s, MEMO_NODE, d->node, &node);
        if (r < 0)
                return r;
        const char *strings[ELEMENTSOF(ref)] = {
                d->result,      d->permissions, d->comm,       d->exe,    d->path,
                d->name,        d->scontext,    d->tcontext,   d->tclass, d->source_type,
                d->target_type, d->mcs,         d->target_mcs, d->cwd,    d->proctitle,
        };
        for (size_t i = 0; i < ELEMENTSOF(ref); i++) {
                r = store_intern_field(s, MEMO_STRINGS + i, strings[i], &ref[i]);
                if (r < 0)
                        return r;
        }
        if (d->has_container) {
                r = store_container(s, &d->container, &container);
                if (r < 0)
                        return r;
                r = store_intern_field(s, MEMO_IMAGE, d->container.image, &image);
                if (r < 0)
                        return r;
        }
        if (d->has_target_container) {
                r = store_container(s, &d->target_container, &target_container);
                if (r < 0)
                        return r;
        }

        /* Duplicate? Decided before the signature is touched, so a re-import counts nothing.
         * A verdict of a new event cannot be a duplicate; others are looked up by rowid. */
        r = store_event(s, node, d, &event, &event_is_new);
        if (r < 0)
                return r;
        id = (event << STORE_EVENT_VERDICT_BITS) | d->seq;
        if (!(s->event_fresh && d->seq < STORE_EVENT_SEQ_BITS &&
              !(s->event_seqs & (UINT64_C(1) << d->seq)))) {
                r = store_denial_exists(s, id);
                if (r != 0)
                        return r < 0 ? r : 0;
        }

        /* source_type, target_type, tclass, permissions, image */
        int64_t key[5] = {ref[9], ref[10], ref[8], ref[1], image};
        r = store_signature(s, key, d->time_ms, &sig);
        if (r < 0)
                goto fail;

        sqlite3_stmt *ins = s->stmt[STMT_DENIAL_INSERT];
        sqlite3_bind_int64(ins, 1, event);
        sqlite3_bind_int64(ins, 2, d->time_ms);
        sqlite3_bind_int64(ins, 3, (int64_t) d->serial);
        sqlite3_bind_int64(ins, 4, d->seq);
        sqlite3_bind_int64(ins, 5, d->record_type);
        for (size_t i = 0; i < ELEMENTSOF(ref); i++)
                bind_ref(ins, 6 + (int) i, ref[i]);
        bind_known(ins, 21, d->pid);
        bind_known(ins, 22, d->ppid);
        bind_known(ins, 23, d->uid);
        bind_known(ins, 24, d->syscall);
        bind_known(ins, 25, d->permissive < 0 ? -1 : !!d->permissive);
        bind_ref(ins, 26, container);
        sqlite3_bind_int64(ins, 27, d->attribution);
        bind_ref(ins, 28, target_container);
        sqlite3_bind_int64(ins, 29, s->signature_cache[sig].row);
        sqlite3_bind_int64(ins, 30, id);
        r = store_step_done(s, ins);
        if (r < 0)
                goto fail;
        if (sqlite3_changes(s->db) == 0)
                return 0; /* raced with another writer */
        if (d->seq < STORE_EVENT_SEQ_BITS)
                s->event_seqs |= UINT64_C(1) << d->seq;
        signature_count(s, sig, d->time_ms);
        return 1;

fail:
        if (event_is_new && !sqlite3_get_autocommit(s->db)) {
                /* Best effort: no event without a verdict. Keep the first error's message. */
                char saved[STORE_ERROR_MAX];
                memcpy(saved, s->last_error, sizeof(saved));
                sqlite3_bind_int64(s->stmt[STMT_EVENT_DELETE], 1, event);
                if (store_step_done(s, s->stmt[STMT_EVENT_DELETE]) >= 0)
                        s->batch_events--;
                memcpy(s->last_error, saved, sizeof(saved));
        }
        s->has_event = false;
        return r;
}

int store_add(Store *s, const Denial *d) {
        int r;

        if (!s || !d)
                return -EINVAL;
        if (d->seq >= STORE_EVENT_VERDICTS_MAX) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "verdict %u of one event is beyond the supported %u", d->seq,
                         STORE_EVENT_VERDICTS_MAX);
                return -E2BIG;
        }
        if ((int) d->attribution < 0 || d->attribution >= _ATTRIBUTION_MAX) {
                snprintf(s->last_error, sizeof(s->last_error), "invalid attribution %d",
                         (int) d->attribution);
                return -EINVAL;
        }
        if (!s->in_txn) {
                r = store_step_done(s, s->stmt[STMT_BEGIN]);
                if (r < 0)
                        return r;
                s->in_txn = true;
        }

        r = store_add_one(s, d);
        if (r < 0)
                return store_add_failed(s, r);
        s->pending++;
        if (r > 0)
                s->batch_added++;
        else
                s->batch_duplicates++;
        return r;
}

size_t store_pending(const Store *s) {
        return s ? s->pending : 0;
}

static int store_meta_add(Store *s, const char *key, uint64_t delta) {
        if (delta == 0)
                return 0;
        sqlite3_stmt *up = s->stmt[STMT_META_ADD];
        sqlite3_bind_text(up, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, (int64_t) delta);
        return store_step_done(s, up);
}

int store_commit(Store *s, uint64_t *ret_duplicates) {
        uint64_t added, duplicates;
        int r;

        if (!s)
                return -EINVAL;
        if (s->batch_error) {
                r = s->batch_error;
                s->batch_error = 0;
                if (s->in_txn)
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                store_forget_batch(s);
                return r;
        }
        if (!s->in_txn)
                return 0;

        r = store_flush_signatures(s);
        if (r >= 0)
                r = store_meta_add(s, "denials", s->batch_added);
        if (r >= 0)
                r = store_meta_add(s, "events", s->batch_events);
        if (r >= 0)
                r = store_step_done(s, s->stmt[STMT_COMMIT]);
        if (r < 0) {
                /* Keep the message of the failure, not of the rollback. */
                if (!sqlite3_get_autocommit(s->db))
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                store_forget_batch(s);
                return r;
        }

        added = s->batch_added;
        duplicates = s->batch_duplicates;
        s->in_txn = false;
        s->pending = 0;
        s->batch_added = s->batch_duplicates = s->batch_events = 0;
        if (ret_duplicates)
                *ret_duplicates += duplicates;
        return (int) MIN(added, (uint64_t) INT32_MAX);
}

/* ---- reading ---- */

/* The outer query of store_query(): the inner one, between the two, picks the ids (filters,
 * order, limit) so that only the rows returned are ever expanded into their strings. */
static const char query_head[] =
        "SELECT d.id, d.time_ms, d.serial, d.seq, d.record_type, d.pid, d.ppid, d.uid, "
        "d.syscall, d.permissive, d.attribution, "
        "(SELECT s.text FROM events e JOIN strings s ON s.id = e.node WHERE e.id = d.event), "
        "(SELECT raw FROM events WHERE id = d.event), "
        "(SELECT text FROM strings WHERE id = d.result), "
        "(SELECT text FROM strings WHERE id = d.permissions), "
        "(SELECT text FROM strings WHERE id = d.comm), "
        "(SELECT text FROM strings WHERE id = d.exe), "
        "(SELECT text FROM strings WHERE id = d.path), "
        "(SELECT text FROM strings WHERE id = d.name), "
        "(SELECT text FROM strings WHERE id = d.scontext), "
        "(SELECT text FROM strings WHERE id = d.tcontext), "
        "(SELECT text FROM strings WHERE id = d.tclass), "
        "(SELECT text FROM strings WHERE id = d.source_type), "
        "(SELECT text FROM strings WHERE id = d.target_type), "
        "(SELECT text FROM strings WHERE id = d.mcs), "
        "(SELECT text FROM strings WHERE id = d.target_mcs), "
        "(SELECT text FROM strings WHERE id = d.cwd), "
        "(SELECT text FROM strings WHERE id = d.proctitle), "
        "c.container_id, c.name, c.image, c.engine, c.pod, "
        "t.container_id, t.name, t.image, t.engine, t.pod "
        "FROM (SELECT d.id AS id FROM denials d WHERE 1";

static const char query_tail[] = ") AS k CROSS JOIN denials d ON d.id = k.id "
                                 "LEFT JOIN containers c ON c.id = d.container "
                                 "LEFT JOIN containers t ON t.id = d.target_container";

enum {
        COL_ID,
        COL_TIME,
        COL_SERIAL,
        COL_SEQ,
        COL_RECORD_TYPE,
        COL_PID,
        COL_PPID,
        COL_UID,
        COL_SYSCALL,
        COL_PERMISSIVE,
        COL_ATTRIBUTION,
        COL_NODE,
        COL_RAW,
        COL_STRINGS, /* 15 strings in the Denial order below */
        COL_CONTAINER = COL_STRINGS + 15,
        COL_TARGET_CONTAINER = COL_CONTAINER + 5,
};

typedef struct SqlBuf {
        char text[STORE_SQL_MAX];
        size_t len;
        bool overflow;
} SqlBuf;

static void sql_add(SqlBuf *b, const char *fragment) {
        size_t n = strlen(fragment);
        if (b->len + n >= sizeof(b->text)) {
                b->overflow = true;
                return;
        }
        memcpy(b->text + b->len, fragment, n + 1);
        b->len += n;
}

static bool is_hex_string(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
                      (*s >= 'A' && *s <= 'F')))
                        return false;
        return true;
}

/* The smallest string greater than every string starting with prefix; NULL when there is none
 * (empty prefix or all 0xff). Byte order, as SQLite's BINARY collation. */
static char *prefix_upper_bound(const char *prefix) {
        size_t n = strlen(prefix);
        char *hi = strndup(prefix, n);
        if (!hi)
                return NULL;
        while (n > 0 && (unsigned char) hi[n - 1] == 0xff)
                n--;
        if (n == 0) {
                free(hi);
                return NULL;
        }
        hi[n - 1] = (char) ((unsigned char) hi[n - 1] + 1);
        hi[n] = 0;
        return hi;
}

static void bind_named_text(sqlite3_stmt *st, const char *name, const char *value) {
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0)
                sqlite3_bind_text(st, i, value, -1, SQLITE_TRANSIENT);
}

static void bind_named_int64(sqlite3_stmt *st, const char *name, int64_t value) {
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0)
                sqlite3_bind_int64(st, i, value);
}

static int row_to_denial(sqlite3_stmt *st, Denial *ret) {
        Denial d = DENIAL_NULL;
        bool failed = false;

        d.id = sqlite3_column_int64(st, COL_ID);
        d.time_ms = sqlite3_column_int64(st, COL_TIME);
        d.serial = (uint64_t) sqlite3_column_int64(st, COL_SERIAL);
        d.seq = (unsigned) sqlite3_column_int64(st, COL_SEQ);
        d.record_type = sqlite3_column_int(st, COL_RECORD_TYPE);
        const int ints[] = {COL_PID, COL_PPID, COL_UID, COL_SYSCALL};
        int64_t *int_dst[] = {&d.pid, &d.ppid, &d.uid, &d.syscall};
        for (size_t i = 0; i < ELEMENTSOF(ints); i++)
                *int_dst[i] = sqlite3_column_type(st, ints[i]) == SQLITE_NULL
                                      ? -1
                                      : sqlite3_column_int64(st, ints[i]);
        d.permissive = sqlite3_column_type(st, COL_PERMISSIVE) == SQLITE_NULL
                               ? -1
                               : sqlite3_column_int(st, COL_PERMISSIVE);
        int a = sqlite3_column_int(st, COL_ATTRIBUTION);
        d.attribution = a >= 0 && a < _ATTRIBUTION_MAX ? (Attribution) a : ATTRIBUTION_NONE;

        struct {
                int col;
                char **dst;
        } strings[] = {
                {COL_NODE, &d.node},
                {COL_RAW, &d.raw},
                {COL_STRINGS + 0, &d.result},
                {COL_STRINGS + 1, &d.permissions},
                {COL_STRINGS + 2, &d.comm},
                {COL_STRINGS + 3, &d.exe},
                {COL_STRINGS + 4, &d.path},
                {COL_STRINGS + 5, &d.name},
                {COL_STRINGS + 6, &d.scontext},
                {COL_STRINGS + 7, &d.tcontext},
                {COL_STRINGS + 8, &d.tclass},
                {COL_STRINGS + 9, &d.source_type},
                {COL_STRINGS + 10, &d.target_type},
                {COL_STRINGS + 11, &d.mcs},
                {COL_STRINGS + 12, &d.target_mcs},
                {COL_STRINGS + 13, &d.cwd},
                {COL_STRINGS + 14, &d.proctitle},
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (sqlite3_column_type(st, strings[i].col) != SQLITE_NULL) {
                        *strings[i].dst = column_strdup(st, strings[i].col);
                        if (!*strings[i].dst)
                                failed = true;
                }

        struct {
                int col;
                bool *has;
                ContainerRef *ref;
        } containers[] = {
                {COL_CONTAINER, &d.has_container, &d.container},
                {COL_TARGET_CONTAINER, &d.has_target_container, &d.target_container},
        };
        for (size_t i = 0; i < ELEMENTSOF(containers); i++) {
                int col = containers[i].col;
                if (sqlite3_column_type(st, col) == SQLITE_NULL)
                        continue;
                ContainerRef *c = containers[i].ref;
                char **dst[] = {&c->id, &c->name, &c->image, &c->engine, &c->pod};
                *containers[i].has = true;
                for (size_t j = 0; j < ELEMENTSOF(dst); j++)
                        if (sqlite3_column_type(st, col + (int) j) != SQLITE_NULL) {
                                *dst[j] = column_strdup(st, col + (int) j);
                                if (!*dst[j])
                                        failed = true;
                        }
        }

        if (failed) {
                denial_done(&d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

/* The containers an ambiguous denial may have come from (denial_candidates, written by the
 * registry), latest started first. */
static int store_load_candidates(Store *s, Denial *d) {
        static const char sql[] =
                "SELECT c.container_id, c.name, c.image, c.engine, c.pod FROM denial_candidates k "
                "JOIN containers c ON c.id = k.container WHERE k.time_ms = ?1 AND k.serial = ?2 "
                "AND k.seq = ?3 ORDER BY coalesce(c.started_ms, c.created_ms, 0) DESC, c.id DESC "
                "LIMIT ?4";
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(s->ro, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_int64(st, 1, d->time_ms);
        sqlite3_bind_int64(st, 2, (int64_t) d->serial);
        sqlite3_bind_int64(st, 3, d->seq);
        sqlite3_bind_int(st, 4, DENIAL_CANDIDATES_MAX);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ContainerRef c = {};
                char **dst[] = {&c.id, &c.name, &c.image, &c.engine, &c.pod};
                for (size_t i = 0; i < ELEMENTSOF(dst); i++)
                        *dst[i] = column_strdup(st, (int) i);
                r = c.id ? denial_add_candidate(d, &c) : -ENOMEM;
                container_ref_done(&c);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_error(s, s->ro, rc);
}

int store_query(Store *s, const DenialFilter *f, bool reverse, int64_t after_id, unsigned limit,
                store_row_cb cb, void *userdata) {
        static const DenialFilter empty = {};
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_(freep) char *container_hi = NULL, *path_hi = NULL, *perm_padded = NULL;
        _cleanup_(freep) SqlBuf *b = NULL;
        int64_t after_time = 0, containers[STORE_QUERY_CONTAINERS_MAX];
        size_t n_containers = 0;
        int rc, r;

        if (!s || !cb || after_id < 0)
                return -EINVAL;
        if (!f)
                f = &empty;
        if (limit == 0 || limit > STORE_QUERY_LIMIT_MAX)
                limit = STORE_QUERY_LIMIT_MAX;

        if (after_id > 0) {
                sqlite3_stmt *t;
                rc = sqlite3_prepare_v2(s->ro, "SELECT time_ms FROM denials WHERE id = ?1", -1, &t,
                                        NULL);
                if (rc != SQLITE_OK)
                        return store_error(s, s->ro, rc);
                sqlite3_bind_int64(t, 1, after_id);
                r = store_step_int64(s, t, &after_time);
                sqlite3_finalize(t);
                if (r < 0)
                        return r;
                if (r == 0) {
                        snprintf(s->last_error, sizeof(s->last_error),
                                 "no denial with id %" PRIi64 " to continue after", after_id);
                        return -ENOENT;
                }
        }

        b = calloc(1, sizeof(SqlBuf));
        if (!b)
                return -ENOMEM;
        if (f->container || f->image || f->pod) {
                /* Which containers? Asked first, so that the common case, one container, is
                 * an ordered walk of the (container, time_ms) index that stops at the limit. */
                SqlBuf *cb_sql = b; /* the query buffer, reused: reset below */
                sql_add(cb_sql, "SELECT id FROM containers WHERE 1");
                if (f->container) {
                        sql_add(cb_sql, " AND (name = :container");
                        if (is_hex_string(f->container)) {
                                container_hi = prefix_upper_bound(f->container);
                                if (!container_hi)
                                        return -ENOMEM;
                                sql_add(cb_sql, " OR (container_id >= :container AND "
                                                "container_id < :container_hi)");
                        }
                        sql_add(cb_sql, ")");
                }
                if (f->image)
                        sql_add(cb_sql, " AND image = :image");
                if (f->pod)
                        sql_add(cb_sql, " AND pod = :pod");
                if (cb_sql->overflow)
                        return -E2BIG;
                rc = sqlite3_prepare_v2(s->ro, cb_sql->text, -1, &st, NULL);
                if (rc != SQLITE_OK)
                        return store_error(s, s->ro, rc);
                bind_named_text(st, ":container", f->container);
                bind_named_text(st, ":container_hi", container_hi);
                bind_named_text(st, ":image", f->image);
                bind_named_text(st, ":pod", f->pod);
                while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
                       n_containers <= ELEMENTSOF(containers)) {
                        if (n_containers < ELEMENTSOF(containers))
                                containers[n_containers] = sqlite3_column_int64(st, 0);
                        n_containers++;
                }
                if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                        return store_error(s, s->ro, rc);
                sqlite3_finalize(TAKE_PTR(st));
                if (n_containers == 0)
                        return 0; /* nothing can match */
                *b = (SqlBuf){};
        }
        sql_add(b, query_head);
        if (n_containers > ELEMENTSOF(containers)) {
                /* Many: let SQLite join (same conditions as above). */
                if (f->container) {
                        sql_add(b, " AND d.container IN (SELECT id FROM containers WHERE name = "
                                   ":container");
                        if (container_hi)
                                sql_add(b, " OR (container_id >= :container AND container_id < "
                                           ":container_hi)");
                        sql_add(b, ")");
                }
                if (f->image)
                        sql_add(b, " AND d.container IN (SELECT id FROM containers WHERE image = "
                                   ":image)");
                if (f->pod)
                        sql_add(b, " AND d.container IN (SELECT id FROM containers WHERE pod = "
                                   ":pod)");
        } else if (n_containers == 1)
                sql_add(b, " AND d.container = :c0");
        else if (n_containers > 1) {
                char name[32];
                sql_add(b, " AND d.container IN (");
                for (size_t i = 0; i < n_containers; i++) {
                        snprintf(name, sizeof(name), "%s:c%zu", i > 0 ? ", " : "", i);
                        sql_add(b, name);
                }
                sql_add(b, ")");
        }
        if (f->mcs)
                sql_add(b, " AND d.mcs = (SELECT id FROM strings WHERE text = :mcs)");
        if (f->has_since)
                sql_add(b, " AND d.time_ms >= :since");
        if (f->has_until)
                sql_add(b, " AND d.time_ms < :until");
        if (f->source_type)
                sql_add(b, " AND d.source_type = (SELECT id FROM strings WHERE text = :type)");
        if (f->target_type)
                sql_add(b, " AND d.target_type = (SELECT id FROM strings WHERE text = "
                           ":target_type)");
        if (f->tclass)
                sql_add(b, " AND d.tclass = (SELECT id FROM strings WHERE text = :tclass)");
        if (f->comm)
                sql_add(b, " AND d.comm = (SELECT id FROM strings WHERE text = :comm)");
        if (f->perm) {
                /* Permission sets are interned whole ("read write"): find the sets holding it. */
                if (asprintf(&perm_padded, " %s ", f->perm) < 0)
                        return -ENOMEM;
                sql_add(b, " AND d.permissions IN (SELECT id FROM strings WHERE instr(' ' || "
                           "text || ' ', :perm) > 0)");
        }
        size_t path_len = f->path ? strlen(f->path) : 0;
        bool path_prefix = path_len > 0 && f->path[path_len - 1] == '*';
        _cleanup_(freep) char *path_lo = NULL;
        if (path_prefix) {
                path_lo = strndup(f->path, path_len - 1);
                if (!path_lo)
                        return -ENOMEM;
                if (path_lo[0] == 0)
                        sql_add(b, " AND d.path IS NOT NULL");
                else {
                        path_hi = prefix_upper_bound(path_lo);
                        sql_add(b, " AND d.path IN (SELECT id FROM strings WHERE text >= :path");
                        if (path_hi)
                                sql_add(b, " AND text < :path_hi");
                        sql_add(b, ")");
                }
        } else if (f->path)
                sql_add(b, " AND (d.path = (SELECT id FROM strings WHERE text = :path) OR d.name "
                           "= (SELECT id FROM strings WHERE text = :path))");
        if (after_id > 0)
                sql_add(b, reverse ? " AND (d.time_ms, d.id) < (:after_time, :after_id)"
                                   : " AND (d.time_ms, d.id) > (:after_time, :after_id)");
        sql_add(b, reverse ? " ORDER BY d.time_ms DESC, d.id DESC LIMIT :limit"
                           : " ORDER BY d.time_ms, d.id LIMIT :limit");
        sql_add(b, query_tail);
        sql_add(b, reverse ? " ORDER BY d.time_ms DESC, d.id DESC" : " ORDER BY d.time_ms, d.id");
        if (b->overflow)
                return -E2BIG;

        rc = sqlite3_prepare_v2(s->ro, b->text, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        bind_named_text(st, ":container", f->container);
        bind_named_text(st, ":container_hi", container_hi);
        bind_named_text(st, ":image", f->image);
        bind_named_text(st, ":pod", f->pod);
        for (size_t i = 0; i < n_containers && i < ELEMENTSOF(containers); i++) {
                char name[32];
                snprintf(name, sizeof(name), ":c%zu", i);
                bind_named_int64(st, name, containers[i]);
        }
        bind_named_text(st, ":mcs", f->mcs);
        bind_named_int64(st, ":since", f->since_ms);
        bind_named_int64(st, ":until", f->until_ms);
        bind_named_text(st, ":type", f->source_type);
        bind_named_text(st, ":target_type", f->target_type);
        bind_named_text(st, ":tclass", f->tclass);
        bind_named_text(st, ":comm", f->comm);
        bind_named_text(st, ":perm", perm_padded);
        bind_named_text(st, ":path", path_prefix ? path_lo : f->path);
        if (path_hi)
                bind_named_text(st, ":path_hi", path_hi);
        bind_named_int64(st, ":after_time", after_time);
        bind_named_int64(st, ":after_id", after_id);
        bind_named_int64(st, ":limit", limit);

        for (;;) {
                Denial d;

                rc = sqlite3_step(st);
                if (rc == SQLITE_DONE)
                        return 0;
                if (rc != SQLITE_ROW)
                        return store_error(s, s->ro, rc);
                r = row_to_denial(st, &d);
                if (r < 0)
                        return r;
                if (d.attribution == ATTRIBUTION_AMBIGUOUS) {
                        r = store_load_candidates(s, &d);
                        if (r < 0) {
                                denial_done(&d);
                                return r;
                        }
                }
                r = cb(&d, userdata);
                denial_done(&d);
                if (r != 0)
                        return r;
        }
}

int store_counts(Store *s, StoreCounts *ret) {
        static const struct {
                const char *sql;
                size_t offset;
        } queries[] = {
                {"SELECT value FROM meta WHERE key = 'denials'", offsetof(StoreCounts, denials)},
                {"SELECT value FROM meta WHERE key = 'events'", offsetof(StoreCounts, events)},
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
                r = pragma_int64(s, s->ro, queries[i].sql, &v);
                if (r < 0)
                        goto finish;
                *(uint64_t *) ((char *) &c + queries[i].offset) = v > 0 ? (uint64_t) v : 0;
        }
        r = pragma_int64(s, s->ro, "SELECT coalesce(min(time_ms), 0) FROM denials", &c.oldest_ms);
        if (r < 0)
                goto finish;
        r = pragma_int64(s, s->ro, "SELECT coalesce(max(time_ms), 0) FROM denials", &c.newest_ms);
        if (r < 0)
                goto finish;
        r = pragma_int64(s, s->ro, "PRAGMA page_count", &page_count);
        if (r < 0)
                goto finish;
        r = pragma_int64(s, s->ro, "PRAGMA page_size", &page_size);
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

/* ---- the container registry's columns and table (daemon/registry.c) ----
 *
 * An additive, idempotent migration run at every open, in its own transaction: the containers
 * table gains the registry's columns (what the engines told us and when the container lived),
 * and denial_candidates lists every container an ambiguous denial may have come from, keyed by
 * the denial's (time_ms, serial, seq) so that the attributor can write it before the denial has
 * a row id. The registry does its own SQL on the writer connection (store_get_db()). */

static const char *const schema_v2_columns[] = {
        "pod_namespace TEXT", "compose_project TEXT", "compose_service TEXT", "label TEXT",
        "mcs TEXT",           "created_ms INTEGER",   "started_ms INTEGER",   "finished_ms INTEGER",
        "removed_ms INTEGER", "running INTEGER",
};

static const char schema_v2_sql[] =
        "CREATE TABLE IF NOT EXISTS denial_candidates (\n"
        "  time_ms INTEGER NOT NULL,\n"
        "  serial INTEGER NOT NULL,\n"
        "  seq INTEGER NOT NULL,\n"
        "  container INTEGER NOT NULL REFERENCES containers(id),\n"
        "  PRIMARY KEY (time_ms, serial, seq, container)\n"
        ") WITHOUT ROWID;\n"
        "CREATE INDEX IF NOT EXISTS denial_candidates_container ON denial_candidates(container);\n"
        "CREATE INDEX IF NOT EXISTS containers_mcs ON containers(mcs);\n";

static int store_migrate_v2(Store *s) {
        char sql[256];
        int64_t have;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(schema_v2_columns); i++) {
                const char *col = schema_v2_columns[i];
                size_t n = strcspn(col, " ");
                snprintf(sql, sizeof(sql),
                         "SELECT count(*) FROM pragma_table_info('containers') WHERE name = '%.*s'",
                         (int) n, col);
                r = pragma_int64(s, s->db, sql, &have);
                if (r < 0)
                        return r;
                if (have > 0)
                        continue;
                snprintf(sql, sizeof(sql), "ALTER TABLE containers ADD COLUMN %s", col);
                r = store_exec(s, s->db, sql);
                if (r < 0)
                        return r;
        }
        return store_exec(s, s->db, schema_v2_sql);
}

/* Additive: a database migrated here still opens with an older avcwatchd (which ignores the new
 * columns), so user_version stays 1. */
static int store_migrate_registry(Store *s) {
        int r = store_exec(s, s->db, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = store_migrate_v2(s);
        if (r >= 0)
                r = store_exec(s, s->db, "COMMIT");
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

struct sqlite3 *store_get_db(Store *s) {
        return s ? s->db : NULL;
}
