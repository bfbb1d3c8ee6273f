/* SPDX-License-Identifier: MIT */
/* Store queries: denials page by page (store_query), on the read-only connection. The filter's
 * plan is built by store-query-plan.c; rankings and histograms are in store-top.c.
 *
 * Decisions:
 * - A filter is resolved first (container names -> container rows, strings -> string ids,
 *   type/class/permission -> signature rows), so that the SQL compares integers, and so that a
 *   value that does not exist answers at once with nothing.
 * - Then one index drives: the containers' (container, rowid) index when the filter names
 *   containers, else (mcs, rowid), else (signature, rowid) for a few signatures, else the table
 *   itself (rowid = time). Several driving values (an image with many containers) become one
 *   ordered arm each, merged by UNION ALL under the same ORDER BY .. LIMIT, so that no arm reads
 *   more than a page. The other conditions filter the driven rows. Filter lists (--container
 *   web,db; several MCS values) are several driving values too, and --container adds one arm per
 *   container over the candidates of ambiguous denials (UNION: a denial two of them may have
 *   caused is one row).
 * - Time windows: a page is read in windows of the id (= time) range, the first one second wide,
 *   each next one twice as wide; a window with nothing jumps to the next id the driving index
 *   has. Between windows the page may end on the time budget; inside a window SQLite's progress
 *   handler interrupts it (except the first window of a call, so that every call progresses).
 *   The cursor is then the position reached, not a row: a filter no index serves pages through
 *   the store in budget-sized steps and the daemon's loop keeps turning between them.
 * - When one arm drives, the window's statement reads the full rows it picks; with several arms
 *   only the ids are chosen by the merged query, and the full rows are read for those ids alone.
 *   A row's strings, signature and containers are ids, resolved through caches of the call. */

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strutil.h"
#include "store-private.h"
#include "store-query-plan.h"
#include "store.h"

/* ---- rows ---- */

/* The full rows: of the window itself when one arm drives it (store_plan_window_where), else of
 * the ids the inner query picked (several arms merged by UNION). */
static const char query_columns[] =
        "SELECT d.id, d.serial, d.seq, d.record_type, d.pid, %s, %s, %s, "
        "d.permissive, d.attribution, %s, d.count, d.reason, d.verdict, "
        /* ids all: strings through StringCache, the signature and the containers through
         * RowCache, not a join or a subquery per row */
        "d.booleans, d.signature, d.container, d.target_container, %s, d.scontext, "
        "d.tcontext, d.mcs, d.target_mcs, d.comm, d.exe, d.path, d.name, %s, %s ";

/* query_columns, with NULL for what flags leave out. */
static void add_query_columns(SqlBuf *b, StoreQueryFlags flags) {
        bool all = !(flags & STORE_QUERY_JSON_FIELDS);
        store_sql_addf(b, query_columns, all ? "d.ppid" : "NULL", all ? "d.uid" : "NULL",
                       all ? "d.syscall" : "NULL",
                       /* Without raw, its blob (often on overflow pages) is not read and
                        * nothing is decompressed. */
                       flags & STORE_QUERY_NO_RAW ? "NULL" : "d.raw", all ? "d.node" : "NULL",
                       all ? "d.cwd" : "NULL", all ? "d.proctitle" : "NULL");
}

enum {
        COL_ID,
        COL_SERIAL,
        COL_SEQ,
        COL_RECORD_TYPE,
        COL_PID,
        COL_PPID,
        COL_UID,
        COL_SYSCALL,
        COL_PERMISSIVE,
        COL_ATTRIBUTION,
        COL_RAW,
        COL_COUNT,
        COL_REASON,
        COL_VERDICT,
        COL_BOOLEANS,
        COL_SIGNATURE,
        COL_CONTAINER,
        COL_TARGET_CONTAINER,
        COL_NODE, /* then the strings of ROW_STRINGS() after the signature's five */
};

/* The signature's five strings in the order of ROW_STRINGS() (result .. target_type). */
#define SIGNATURE_STRINGS 5

/* ---- strings by id ----
 *
 * A page's rows repeat a few strings many times (contexts, types, classes, commands): resolving
 * each of a row's 17 string ids with a subquery cost more than everything else a row needs. They
 * are looked up through a direct-mapped cache of the call instead (a new call starts empty, so
 * an id that retention freed and a writer reused is never read stale across calls), with one
 * prepared point query for the misses. A row points into the slots of its hits, which are
 * looked up first and pinned: a miss of the same row is read into the row's arena and is not
 * cached over a pinned slot, so that no lookup of the row changes a string it already holds. */
#define STRING_CACHE_SLOTS 1024
#define STRING_CACHE_TEXT_MAX 119 /* longer strings are looked up each time, never cached */

typedef struct StringSlot {
        int64_t id; /* 0: empty (ids start at 1) */
        uint32_t len;
        char text[STRING_CACHE_TEXT_MAX + 1];
} StringSlot;

typedef struct StringCache {
        sqlite3_stmt *lookup;
        Budget *budget; /* disarmed around lookups: the budget interrupts the window's statement */
        char *arena;    /* the current row's strings, NUL-terminated */
        size_t arena_size, arena_used;
        StringSlot slots[STRING_CACHE_SLOTS];
} StringCache;

static void string_cache_free(StringCache *k) {
        if (!k)
                return;
        sqlite3_finalize(k->lookup);
        free(k->arena);
        free(k);
}

static void string_cache_freep(StringCache **k) {
        string_cache_free(*k);
}

static int string_cache_new(Store *s, Budget *budget, StringCache **ret) {
        StringCache *k = calloc(1, sizeof(StringCache));
        if (!k)
                return -ENOMEM;
        int rc = sqlite3_prepare_v2(s->ro, "SELECT text FROM strings WHERE id = ?1", -1, &k->lookup,
                                    NULL);
        if (rc != SQLITE_OK) {
                string_cache_free(k);
                return store_error(s, s->ro, rc);
        }
        k->budget = budget;
        *ret = k;
        return 0;
}

static int arena_add(StringCache *k, const char *text, size_t len, size_t *ret_offset) {
        if (k->arena_used + len + 1 > k->arena_size) {
                size_t n = MAX(k->arena_size * 2, k->arena_used + len + 1);
                n = MAX(n, (size_t) 4096);
                char *a = realloc(k->arena, n);
                if (!a)
                        return -ENOMEM;
                k->arena = a;
                k->arena_size = n;
        }
        memcpy(k->arena + k->arena_used, text, len);
        k->arena[k->arena_used + len] = 0;
        *ret_offset = k->arena_used;
        k->arena_used += len + 1;
        return 0;
}

static StringSlot *string_slot(StringCache *k, int64_t id) {
        return &k->slots[((uint64_t) id * UINT64_C(0x9E3779B97F4A7C15)) >> 54];
}

/* The string of id, a miss of the slots: read into the row's arena (1 and its offset), and
 * cached unless its slot is one of the n pinned ones; 0 for none (an id without a string, as the
 * subquery it replaces gave NULL). */
static int string_fetch(Store *s, StringCache *k, int64_t id, StringSlot *const *pinned, size_t n,
                        size_t *ret_offset) {
        StringSlot *slot = string_slot(k, id);
        bool armed = k->budget->armed;
        k->budget->armed = false;
        sqlite3_bind_int64(k->lookup, 1, id);
        int rc = sqlite3_step(k->lookup), r = 0;
        if (rc == SQLITE_ROW && sqlite3_column_type(k->lookup, 0) != SQLITE_NULL) {
                const char *text = (const char *) sqlite3_column_text(k->lookup, 0);
                size_t len = (size_t) sqlite3_column_bytes(k->lookup, 0);
                if (!text)
                        r = -ENOMEM;
                else if (arena_add(k, text, len, ret_offset) < 0)
                        r = -ENOMEM;
                else {
                        r = 1;
                        bool pin = false;
                        for (size_t i = 0; i < n; i++)
                                pin |= pinned[i] == slot;
                        if (len <= STRING_CACHE_TEXT_MAX && !pin) {
                                slot->id = id;
                                slot->len = (uint32_t) len;
                                memcpy(slot->text, text, len);
                                slot->text[len] = 0;
                        }
                }
        } else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                r = store_error(s, s->ro, rc);
        sqlite3_reset(k->lookup);
        k->budget->armed = armed;
        return r;
}

/* The string fields of COL_STRINGS.., in column order: one list for filling and for releasing. */
#define ROW_STRINGS(d)                                                                             \
        {                                                                                          \
                &(d)->node, &(d)->result, &(d)->permissions, &(d)->tclass, &(d)->source_type,      \
                        &(d)->target_type, &(d)->scontext, &(d)->tcontext, &(d)->mcs,              \
                        &(d)->target_mcs, &(d)->comm, &(d)->exe, &(d)->path, &(d)->name,           \
                        &(d)->cwd, &(d)->proctitle,                                                \
        }

/* ---- signatures and containers by id ----
 *
 * A page's rows share a few signatures and containers: they are looked up through direct-mapped
 * caches of the call as the strings are, instead of a join per row. A container's strings are
 * the cache's: a row lends them until its callback returns (the container and the target
 * container have caches of their own, so that one never evicts the other's strings mid-row). */
#define ROW_CACHE_SLOTS 256

typedef struct SignatureSlot {
        int64_t id; /* 0: empty */
        bool found;
        int64_t strings[SIGNATURE_STRINGS]; /* string ids, in the order of ROW_STRINGS() */
} SignatureSlot;

typedef struct ContainerSlot {
        int64_t id; /* 0: empty */
        bool found;
        ContainerRef ref; /* owned */
} ContainerSlot;

typedef struct RowCache {
        sqlite3_stmt *signature, *container;
        SignatureSlot signatures[ROW_CACHE_SLOTS];
        ContainerSlot containers[2][ROW_CACHE_SLOTS]; /* [0] the container, [1] the target */
} RowCache;

static void row_cache_free(RowCache *k) {
        if (!k)
                return;
        sqlite3_finalize(k->signature);
        sqlite3_finalize(k->container);
        for (size_t i = 0; i < 2; i++)
                for (size_t j = 0; j < ROW_CACHE_SLOTS; j++)
                        container_ref_done(&k->containers[i][j].ref);
        free(k);
}

static void row_cache_freep(RowCache **k) {
        row_cache_free(*k);
}

static int row_cache_new(Store *s, RowCache **ret) {
        RowCache *k = calloc(1, sizeof(RowCache));
        int rc;

        if (!k)
                return -ENOMEM;
        rc = sqlite3_prepare_v2(s->ro,
                                "SELECT result, permissions, tclass, source_type, target_type "
                                "FROM signatures WHERE id = ?1",
                                -1, &k->signature, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(s->ro,
                                        "SELECT container_id, name, image, engine, pod, "
                                        "pod_namespace FROM containers WHERE id = ?1",
                                        -1, &k->container, NULL);
        if (rc != SQLITE_OK) {
                row_cache_free(k);
                return store_error(s, s->ro, rc);
        }
        *ret = k;
        return 0;
}

static size_t row_cache_slot(int64_t id) {
        return (size_t) (((uint64_t) id * UINT64_C(0x9E3779B97F4A7C15)) >> 56);
}

/* The signature id's string ids (0 each for none): the slot, or NULL on failure (a negative errno
 * in *ret_r). */
static const SignatureSlot *signature_lookup(Store *s, RowCache *k, Budget *budget, int64_t id,
                                             int *ret_r) {
        SignatureSlot *slot = &k->signatures[row_cache_slot(id)];
        if (slot->id == id)
                return slot;

        bool armed = budget->armed;
        budget->armed = false;
        *slot = (SignatureSlot){.id = id};
        sqlite3_bind_int64(k->signature, 1, id);
        int rc = sqlite3_step(k->signature);
        if (rc == SQLITE_ROW) {
                slot->found = true;
                for (int i = 0; i < SIGNATURE_STRINGS; i++)
                        slot->strings[i] = sqlite3_column_int64(k->signature, i);
        }
        sqlite3_reset(k->signature);
        budget->armed = armed;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                slot->id = 0;
                *ret_r = store_error(s, s->ro, rc);
                return NULL;
        }
        return slot;
}

/* The container row of id, from cache which (0 or 1): the slot, or NULL on failure (a negative
 * errno in *ret_r). */
static const ContainerSlot *container_lookup(Store *s, RowCache *k, Budget *budget, int which,
                                             int64_t id, int *ret_r) {
        ContainerSlot *slot = &k->containers[which][row_cache_slot(id)];
        if (slot->id == id)
                return slot;

        container_ref_done(&slot->ref);
        *slot = (ContainerSlot){};
        bool armed = budget->armed;
        budget->armed = false;
        sqlite3_bind_int64(k->container, 1, id);
        int rc = sqlite3_step(k->container), r = 0;
        if (rc == SQLITE_ROW) {
                ContainerRef *c = &slot->ref;
                char **dst[] = {&c->id,     &c->name, &c->image,
                                &c->engine, &c->pod,  &c->pod_namespace};
                for (size_t j = 0; j < ELEMENTSOF(dst); j++)
                        if (sqlite3_column_type(k->container, (int) j) != SQLITE_NULL) {
                                *dst[j] = store_column_strdup(k->container, (int) j);
                                if (!*dst[j])
                                        r = -ENOMEM;
                        }
                slot->found = true;
        } else if (rc != SQLITE_DONE)
                r = store_error(s, s->ro, rc);
        sqlite3_reset(k->container);
        budget->armed = armed;
        if (r < 0) {
                container_ref_done(&slot->ref);
                *slot = (ContainerSlot){};
                *ret_r = r;
                return NULL;
        }
        slot->id = id;
        return slot;
}

/* A row owns only its candidates: its strings are the arena's, its containers the caches', its
 * raw text the decoder's (denial_done() freeing some twenty NULL pointers per row showed in the
 * profile of a bulk export). */
static void row_release(Denial *d) {
        denial_clear_candidates(d);
        *d = DENIAL_NULL;
}

/* NULL reads as 0 (sqlite3_column_int64() says so), which is no id: one call, not two. */
static int64_t column_id(sqlite3_stmt *st, int i) {
        return sqlite3_column_int64(st, i);
}

/* The integer at i, or null_value for NULL: the type is asked only when the value is 0, which a
 * NULL reads as. */
static int64_t column_int64_or(sqlite3_stmt *st, int i, int64_t null_value) {
        int64_t v = sqlite3_column_int64(st, i);
        return v == 0 && sqlite3_column_type(st, i) == SQLITE_NULL ? null_value : v;
}

static int row_to_denial(Store *s, StringCache *k, RowCache *rows, sqlite3_stmt *st,
                         StoreQueryFlags flags, Denial *ret) {
        Denial d = DENIAL_NULL;
        bool has_booleans = false, all = !(flags & STORE_QUERY_JSON_FIELDS);
        int r;

        d.id = sqlite3_column_int64(st, COL_ID);
        d.time_ms = store_id_time(d.id);
        d.serial = (uint64_t) sqlite3_column_int64(st, COL_SERIAL);
        d.seq = (unsigned) sqlite3_column_int64(st, COL_SEQ);
        d.record_type = sqlite3_column_int(st, COL_RECORD_TYPE);
        d.pid = column_int64_or(st, COL_PID, -1);
        if (all) { /* else NULL (add_query_columns()): -1 as DENIAL_NULL has it */
                const int ints[] = {COL_PPID, COL_UID, COL_SYSCALL};
                int64_t *int_dst[] = {&d.ppid, &d.uid, &d.syscall};
                for (size_t i = 0; i < ELEMENTSOF(ints); i++)
                        *int_dst[i] = column_int64_or(st, ints[i], -1);
        }
        d.permissive = (int) column_int64_or(st, COL_PERMISSIVE, -1);
        d.count = (uint64_t) column_int64_or(st, COL_COUNT, 1);
        /* triage: NULL (stored before triage) and -1 (no policy at the time) are untriaged */
        if (column_int64_or(st, COL_REASON, -1) >= 0) {
                d.triaged = true;
                d.reason = sqlite3_column_int(st, COL_REASON);
                d.verdict = sqlite3_column_int(st, COL_VERDICT);
                has_booleans = true;
        }
        int a = sqlite3_column_int(st, COL_ATTRIBUTION);
        d.attribution = a >= 0 && a < _ATTRIBUTION_MAX ? (Attribution) a : ATTRIBUTION_NONE;

        /* The string ids: node, the signature's five, the rest of the row's, booleans. */
        char **strings[] = ROW_STRINGS(&d);
        int64_t ids[ELEMENTSOF(strings) + 1] = {};
        ids[0] = all ? column_id(st, COL_NODE) : 0;
        int64_t signature = column_id(st, COL_SIGNATURE);
        if (signature > 0) {
                const SignatureSlot *g = signature_lookup(s, rows, k->budget, signature, &r);
                if (!g)
                        return r; /* nothing of d is allocated yet */
                if (g->found)
                        for (size_t i = 0; i < SIGNATURE_STRINGS; i++)
                                ids[1 + i] = g->strings[i];
        }
        /* without all, the last two (cwd and proctitle) are NULL (add_query_columns()) */
        for (size_t i = 1 + SIGNATURE_STRINGS; i < ELEMENTSOF(strings) - (all ? 0 : 2); i++)
                ids[i] = column_id(st, COL_NODE + (int) (i - SIGNATURE_STRINGS));
        if (has_booleans)
                ids[ELEMENTSOF(strings)] = column_id(st, COL_BOOLEANS);

        /* The hits first, pinned; then the misses into the arena (it may move), a miss that
         * an earlier miss of the row cached being a hit; then the pointers. */
        const char *texts[ELEMENTSOF(strings) + 1] = {};
        StringSlot *pinned[ELEMENTSOF(strings) + 1];
        size_t offsets[ELEMENTSOF(strings) + 1], n_pinned = 0;
        bool in_arena[ELEMENTSOF(strings) + 1] = {};
        for (size_t i = 0; i < ELEMENTSOF(strings) + 1; i++) {
                StringSlot *slot = string_slot(k, ids[i]);
                if (ids[i] > 0 && slot->id == ids[i]) {
                        texts[i] = slot->text;
                        pinned[n_pinned++] = slot;
                }
        }
        k->arena_used = 0;
        for (size_t i = 0; i < ELEMENTSOF(strings) + 1; i++) {
                if (ids[i] <= 0 || texts[i])
                        continue;
                StringSlot *slot = string_slot(k, ids[i]);
                if (slot->id == ids[i]) {
                        texts[i] = slot->text;
                        pinned[n_pinned++] = slot;
                        continue;
                }
                r = string_fetch(s, k, ids[i], pinned, n_pinned, &offsets[i]);
                if (r < 0)
                        return r; /* nothing of d is allocated yet */
                in_arena[i] = r > 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(strings) + 1; i++)
                if (in_arena[i])
                        texts[i] = k->arena + offsets[i];
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                *strings[i] = (char *) texts[i];
        d.booleans = (char *) texts[ELEMENTSOF(strings)];

        struct {
                int col;
                bool *has;
                ContainerRef *ref;
        } containers[] = {
                {COL_CONTAINER, &d.has_container, &d.container},
                {COL_TARGET_CONTAINER, &d.has_target_container, &d.target_container},
        };
        for (size_t i = 0; i < ELEMENTSOF(containers); i++) {
                int64_t id = column_id(st, containers[i].col);
                if (id == 0)
                        continue;
                const ContainerSlot *c = container_lookup(s, rows, k->budget, (int) i, id, &r);
                if (!c) {
                        row_release(&d);
                        return r;
                }
                if (!c->found) /* as the LEFT JOIN it replaces: no such row, no container */
                        continue;
                *containers[i].has = true;
                *containers[i].ref = c->ref; /* lent: row_release() forgets it */
        }

        if (sqlite3_column_type(st, COL_RAW) != SQLITE_NULL) {
                const char *raw;
                r = raw_decode(s->decoder, sqlite3_column_blob(st, COL_RAW),
                               (size_t) sqlite3_column_bytes(st, COL_RAW), d.time_ms, d.serial,
                               &raw, NULL);
                if (r < 0) {
                        if (r != -ENOMEM)
                                snprintf(s->last_error, sizeof(s->last_error),
                                         "the raw text of denial %" PRIi64 " cannot be read: %s",
                                         d.id, strerror(-r));
                        row_release(&d);
                        return r;
                }
                d.raw = (char *) raw; /* the decoder's, lent: row_release() forgets it */
        }
        *ret = d;
        return 0;
}

/* The containers an ambiguous denial may have come from (denial_candidates, written by the
 * registry), latest started first. */
static int load_candidates(Store *s, Denial *d) {
        static const char sql[] =
                "SELECT c.container_id, c.name, c.image, c.engine, c.pod, c.pod_namespace FROM "
                "denial_candidates k "
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
                char **dst[] = {&c.id, &c.name, &c.image, &c.engine, &c.pod, &c.pod_namespace};
                for (size_t i = 0; i < ELEMENTSOF(dst); i++)
                        *dst[i] = store_column_strdup(st, (int) i);
                r = c.id ? denial_add_candidate(d, &c) : -ENOMEM;
                container_ref_done(&c);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_error(s, s->ro, rc);
}

/* ---- store_query ---- */

int store_query(Store *s, const DenialFilter *f, bool reverse, const int64_t *after, unsigned limit,
                store_row_cb cb, void *userdata, StorePage *ret_page) {
        return store_query_flags(s, f, reverse, after, limit, 0, cb, userdata, ret_page);
}

int store_query_flags(Store *s, const DenialFilter *f, bool reverse, const int64_t *after,
                      unsigned limit, StoreQueryFlags flags, store_row_cb cb, void *userdata,
                      StorePage *ret_page) {
        static const DenialFilter empty = {};
        _cleanup_(store_plan_done) Plan p = {};
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *rows = NULL, *jump = NULL;
        _cleanup_(freep) SqlBuf *b = NULL;
        _cleanup_(string_cache_freep) StringCache *strings = NULL;
        _cleanup_(row_cache_freep) RowCache *cache = NULL;
        StorePage page = {};
        Budget budget = {};
        int64_t pos, width = STORE_WINDOW_FIRST_MS * STORE_SLOTS;
        unsigned got = 0;
        int rc, r = 0;

        if (!s || !cb)
                return -EINVAL;
        if (!f)
                f = &empty;
        if (limit == 0 || limit > STORE_QUERY_LIMIT_MAX)
                limit = STORE_QUERY_LIMIT_MAX;
        if (ret_page)
                *ret_page = page;

        r = store_plan_resolve(s, f, &p);
        if (r < 0)
                return r;
        if (p.empty)
                return 0;
        if (!reverse) {
                if (after && *after == INT64_MAX)
                        return 0;
                pos = after ? MAX(*after + 1, p.lo) : p.lo;
        } else {
                if (after && *after == INT64_MIN)
                        return 0;
                pos = after ? MIN(*after - 1, p.hi) : p.hi;
        }

        b = calloc(1, sizeof(SqlBuf));
        if (!b)
                return -ENOMEM;
        for (;;) {
                add_query_columns(b, flags);
                /* One arm: the window's statement reads the rows it picks, instead of picking
                 * ids and then seeking each row again by id. */
                store_sql_add(b, "FROM denials d");
                if (!store_plan_window_where(b, &p, reverse)) {
                        *b = (SqlBuf){};
                        add_query_columns(b, flags);
                        store_sql_add(b, "FROM (");
                        store_plan_window_ids(b, &p, reverse);
                        store_sql_add(b, ") AS k CROSS JOIN denials d ON d.id = k.id");
                        store_sql_add(b, reverse ? " ORDER BY d.id DESC" : " ORDER BY d.id");
                }
                if (!b->overflow || p.drive == DRIVE_SCAN)
                        break;
                /* Too many arms (64 containers and their candidates, each with long lists of
                 * values): the table in time order drives, under the same budget. */
                *b = (SqlBuf){};
                p.drive = DRIVE_SCAN;
                p.drive_values = NULL;
                p.n_drive = 0;
        }
        if (b->overflow)
                return -E2BIG;
        rc = sqlite3_prepare_v2(s->ro, b->text, -1, &rows, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        store_plan_bind(&p, rows);

        *b = (SqlBuf){};
        store_plan_jump(b, &p, reverse);
        if (b->overflow)
                return -E2BIG;
        rc = sqlite3_prepare_v2(s->ro, b->text, -1, &jump, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        store_plan_bind(&p, jump);

        r = string_cache_new(s, &budget, &strings);
        if (r < 0)
                return r;
        r = row_cache_new(s, &cache);
        if (r < 0)
                return r;

        if (__builtin_add_overflow(store_cpu_usec(), s->query_budget_usec, &budget.deadline_usec))
                budget.deadline_usec = UINT64_MAX;
        sqlite3_progress_handler(s->ro, STORE_PROGRESS_OPS, store_budget_progress, &budget);

        for (bool first = true;; first = false) {
                int64_t wlo, whi, last_id = 0;
                bool delivered = false;

                if (reverse ? pos < p.lo : pos > p.hi)
                        break; /* the whole range is done */

                /* Skip what the driving index does not have. */
                store_bind_named_int64(jump, ":p", pos);
                rc = sqlite3_step(jump);
                if (rc != SQLITE_ROW) {
                        r = store_error(s, s->ro, rc);
                        break;
                }
                bool none = sqlite3_column_type(jump, 0) == SQLITE_NULL;
                int64_t next_id = sqlite3_column_int64(jump, 0);
                sqlite3_reset(jump);
                if (none || (reverse ? next_id < p.lo : next_id > p.hi))
                        break;
                pos = next_id;

                if (!reverse) {
                        wlo = pos;
                        whi = MIN(store_add_sat(pos, width - 1), p.hi);
                } else {
                        whi = pos;
                        wlo = MAX(store_add_sat(pos, -(width - 1)), p.lo);
                }
                store_bind_named_int64(rows, ":wlo", wlo);
                store_bind_named_int64(rows, ":whi", whi);
                store_bind_named_int64(rows, ":n", limit - got);
                budget.armed = !first;
                while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
                        Denial d;
                        r = row_to_denial(s, strings, cache, rows, flags, &d);
                        if (r < 0)
                                break;
                        if (attribution_has_candidates(d.attribution)) {
                                r = load_candidates(s, &d);
                                if (r < 0) {
                                        row_release(&d);
                                        break;
                                }
                        }
                        int64_t id = d.id;
                        r = cb(&d, userdata);
                        row_release(&d);
                        if (r > 0) {
                                /* Refused: the next call starts with this row. */
                                last_id = store_add_sat(id, reverse ? 1 : -1);
                                break;
                        }
                        if (r < 0)
                                break;
                        last_id = id;
                        delivered = true;
                        got++;
                }
                sqlite3_reset(rows);
                budget.armed = false;
                if (r < 0)
                        break;
                if (r > 0 || got >= limit) {
                        /* Stopped by the caller or full: continue after the last row. */
                        page = (StorePage){.more = true, .next = last_id};
                        break;
                }
                if (rc == SQLITE_INTERRUPT) {
                        page = (StorePage){
                                .more = true,
                                .next = delivered ? last_id : store_add_sat(pos, reverse ? 1 : -1)};
                        break;
                }
                if (rc != SQLITE_DONE) {
                        r = store_error(s, s->ro, rc);
                        break;
                }
                /* The window is done. */
                if (reverse ? wlo == INT64_MIN : whi == INT64_MAX)
                        break;
                pos = reverse ? wlo - 1 : whi + 1;
                width = store_add_sat(width, width);
                if (store_cpu_usec() >= budget.deadline_usec) {
                        if (reverse ? pos >= p.lo : pos <= p.hi)
                                page = (StorePage){.more = true,
                                                   .next = reverse ? pos + 1 : pos - 1};
                        break;
                }
        }
        sqlite3_progress_handler(s->ro, 0, NULL, NULL);
        raw_decoder_trim(s->decoder); /* a long event's text is not kept between calls */
        if (r < 0)
                return r;
        if (ret_page)
                *ret_page = page;
        return r;
}
