/* SPDX-License-Identifier: MIT */
/* Store: the baseline of signatures per image (store.h "Baseline", docs/fleet.md "New denials").
 *
 *   baseline(id INTEGER PRIMARY KEY, scope, key, signature, first_ms, last_ms, count,
 *            accepted_ms)                      -- UNIQUE (scope, key, signature)
 *
 * scope is a BaselineScope, key the image repository (or namespace, container name; '' for
 * none), signature the text of signature.h; accepted_ms NULL while the signature is new.
 *
 * Decisions:
 * - The whole table is in memory (a Map of "scope key\0signature" to an entry), loaded once at
 *   the first live denial after the open (or after a rollback), so that judging a denial is one
 *   hash lookup, never a read of the database on the hot path. It is bounded by
 *   STORE_BASELINE_MAX entries: past that, a signature the set does not hold cannot be judged
 *   and is not added; store_baseline_note() says -ENOSPC and the pipeline counts it
 *   (baseline_untracked) and logs it. Nothing is forgotten to make room: a forgotten signature
 *   would be reported new again.
 * - Written with the batch: the entries a batch touched (new ones, counts, acceptance) are
 *   written by store_commit inside its transaction, so a signature is in the baseline exactly
 *   when the denial that brought it is stored. After a rollback the set is read again from the
 *   table: what the lost batch added is new again, and is reported when it comes again.
 * - Created once, additively (CREATE TABLE at an open that finds none; user_version stays 2 and
 *   an older avcwatchd still opens the file). At that creation, what the store already holds
 *   (the totals table) is seeded as accepted: upgrading a daemon with months of history does
 *   not report all of it as new at once. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "macro.h"
#include "signature.h"
#include "store-map.h"
#include "store-private.h"

typedef struct BaselineEntry {
        const char *key; /* the map's copy: '0' + scope, the key, NUL, the signature */
        size_t key_len;
        int64_t row; /* baseline.id, 0 until written */
        int64_t first_ms, last_ms;
        int64_t accepted_ms; /* 0: new */
        uint64_t count;      /* in all */
        uint64_t unwritten;  /* of count, not yet in the table */
        bool dirty;          /* to be written with the open batch */
} BaselineEntry;

/* The inputs of the last note and its entry: consecutive live denials mostly share their
 * signature and their container's key, and comparing a few strings costs less than the
 * signature's text (its permissions sorted), the key and a lookup. */
#define MEMO_INPUTS 9
#define MEMO_TEXT 1024
typedef struct BaselineMemo {
        bool valid, has_container, ambiguous;
        size_t index;                   /* into entries */
        const char *input[MEMO_INPUTS]; /* into text; NULL where the denial's is */
        char text[MEMO_TEXT];
} BaselineMemo;

struct StoreBaseline {
        BaselineMemo memo;
        Map map; /* key -> index into entries */
        BaselineEntry *entries;
        uint32_t *dirty;
        size_t n_dirty;
        bool loaded;
        uint64_t batch_new, committed_new;
        sqlite3_stmt *insert, *update;
};

static const char baseline_table_sql[] = "CREATE TABLE baseline (\n"
                                         "  id INTEGER PRIMARY KEY,\n"
                                         "  scope INTEGER NOT NULL,\n" /* BaselineScope */
                                         "  key TEXT NOT NULL,\n"
                                         "  signature TEXT NOT NULL,\n"
                                         "  first_ms INTEGER NOT NULL,\n"
                                         "  last_ms INTEGER NOT NULL,\n"
                                         "  count INTEGER NOT NULL,\n"
                                         "  accepted_ms INTEGER,\n" /* NULL: new */
                                         "  UNIQUE (scope, key, signature)\n"
                                         ")";

/* What the store holds when the table is created: every (signature, container) of the totals
 * with the container's image, namespace and name, as signature.h needs them. */
static const char baseline_seed_sql[] =
        "SELECT r.text, st.text, tt.text, c.text, p.text, k.container_id, k.name, k.image, "
        "k.pod_namespace, t.container, t.count, t.first_ms, t.last_ms FROM totals t "
        "JOIN signatures g ON g.id = t.signature "
        "LEFT JOIN strings r ON r.id = g.result "
        "LEFT JOIN strings st ON st.id = g.source_type "
        "LEFT JOIN strings tt ON tt.id = g.target_type "
        "LEFT JOIN strings c ON c.id = g.tclass "
        "LEFT JOIN strings p ON p.id = g.permissions "
        "LEFT JOIN containers k ON k.id = t.container";

static const char baseline_seed_insert_sql[] =
        "INSERT INTO baseline(scope, key, signature, first_ms, last_ms, count, accepted_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (scope, key, signature) DO UPDATE SET "
        "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms), "
        "count = count + excluded.count";

static const char baseline_insert_sql[] =
        "INSERT INTO baseline(scope, key, signature, first_ms, last_ms, count, accepted_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (scope, key, signature) DO UPDATE SET "
        "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms), "
        "count = count + excluded.count, accepted_ms = coalesce(accepted_ms, "
        "excluded.accepted_ms) RETURNING id";

static const char baseline_update_sql[] =
        "UPDATE baseline SET count = count + ?2, last_ms = max(last_ms, ?3), accepted_ms = "
        "coalesce(accepted_ms, ?4) WHERE id = ?1";

static const char *column_text(sqlite3_stmt *st, int i) {
        return (const char *) sqlite3_column_text(st, i);
}

/* The map key of (scope, key, signature) into buf (BASELINE_KEY_MAX + SIGNATURE_MAX + 2). */
static size_t entry_key(BaselineScope scope, const char *key, const char *signature, char *buf) {
        size_t k = strlen(key), g = strlen(signature);

        buf[0] = (char) ('0' + scope);
        memcpy(buf + 1, key, k + 1);
        memcpy(buf + 2 + k, signature, g);
        return 2 + k + g;
}

static BaselineScope entry_scope(const BaselineEntry *e) {
        return (BaselineScope) (e->key[0] - '0');
}

static const char *entry_name(const BaselineEntry *e) {
        return e->key + 1;
}

static const char *entry_signature(const BaselineEntry *e) {
        return e->key + 2 + strlen(e->key + 1);
}

/* ---- creation ---- */

/* Each (signature, baseline key) of what is stored, accepted at now_ms. */
static int baseline_seed(Store *s, int64_t now_ms, uint64_t *ret_seeded) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *sel = NULL, *ins = NULL;
        char signature[SIGNATURE_MAX], key[BASELINE_KEY_MAX];
        uint64_t seeded = 0;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db, baseline_seed_sql, -1, &sel, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(s->db, baseline_seed_insert_sql, -1, &ins, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
                Denial d = {
                        .result = (char *) column_text(sel, 0),
                        .source_type = (char *) column_text(sel, 1),
                        .target_type = (char *) column_text(sel, 2),
                        .tclass = (char *) column_text(sel, 3),
                        .permissions = (char *) column_text(sel, 4),
                        .has_container = sqlite3_column_int64(sel, 9) != 0,
                        .container = {.id = (char *) column_text(sel, 5),
                                      .name = (char *) column_text(sel, 6),
                                      .image = (char *) column_text(sel, 7),
                                      .pod_namespace = (char *) column_text(sel, 8)},
                        .attribution = ATTRIBUTION_PID,
                };
                if (denial_signature(&d, signature, sizeof(signature)) <= 0)
                        continue;
                BaselineScope scope = denial_baseline_key(&d, key, sizeof(key));
                sqlite3_bind_int(ins, 1, (int) scope);
                sqlite3_bind_text(ins, 2, key, -1, SQLITE_STATIC);
                sqlite3_bind_text(ins, 3, signature, -1, SQLITE_STATIC);
                sqlite3_bind_int64(ins, 4, sqlite3_column_int64(sel, 11));
                sqlite3_bind_int64(ins, 5, sqlite3_column_int64(sel, 12));
                sqlite3_bind_int64(ins, 6, sqlite3_column_int64(sel, 10));
                sqlite3_bind_int64(ins, 7, now_ms);
                r = store_step_done(s, ins);
                if (r < 0)
                        return r;
                seeded++;
        }
        if (rc != SQLITE_DONE)
                return store_error(s, s->db, rc);
        *ret_seeded = seeded;
        return 0;
}

int store_baseline_migrate(Store *s) {
        uint64_t seeded = 0;
        int64_t have, entries = 0;
        int r;

        r = store_sql_int64(s, s->db,
                            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                            "'baseline'",
                            &have);
        if (r < 0)
                return r;
        if (have > 0)
                return 0;
        r = store_exec(s, s->db, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = store_exec(s, s->db, baseline_table_sql);
        if (r >= 0)
                r = baseline_seed(s, now_realtime_ms(), &seeded);
        if (r >= 0)
                r = store_sql_int64(s, s->db, "SELECT count(*) FROM baseline", &entries);
        if (r >= 0)
                r = store_exec(s, s->db, "COMMIT");
        if (r < 0) {
                if (!sqlite3_get_autocommit(s->db))
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                return r;
        }
        if (entries > 0)
                log_info("The baseline of signatures per image was created from what the store "
                         "holds: %" PRIi64 " signature%s, accepted as known.",
                         entries, entries == 1 ? "" : "s");
        if (entries > STORE_BASELINE_MAX)
                log_warning("The store holds %" PRIi64 " signatures per image, more than the "
                            "baseline keeps in memory (%d): those beyond are not judged, and "
                            "counted in baseline_untracked.",
                            entries, STORE_BASELINE_MAX);
        return 0;
}

/* ---- the set in memory ---- */

static void baseline_clear(StoreBaseline *b) {
        b->memo.valid = false;
        map_clear(&b->map);
        b->n_dirty = 0;
        b->batch_new = 0;
        b->loaded = false;
}

int store_baseline_prepare(Store *s) {
        _cleanup_(freep) StoreBaseline *b = NULL;
        int rc;

        b = calloc(1, sizeof(StoreBaseline));
        if (!b)
                return -ENOMEM;
        /* untouched pages cost nothing: the arrays are as large as the bound */
        b->entries = calloc(STORE_BASELINE_MAX, sizeof(BaselineEntry));
        b->dirty = calloc(STORE_BASELINE_MAX, sizeof(uint32_t));
        if (!b->entries || !b->dirty || map_init(&b->map, STORE_BASELINE_MAX) < 0) {
                free(b->entries);
                free(b->dirty);
                map_done(&b->map);
                return -ENOMEM;
        }
        s->baseline = TAKE_PTR(b);
        rc = sqlite3_prepare_v3(s->db, baseline_insert_sql, -1, SQLITE_PREPARE_PERSISTENT,
                                &s->baseline->insert, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v3(s->db, baseline_update_sql, -1, SQLITE_PREPARE_PERSISTENT,
                                        &s->baseline->update, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        return 0;
}

void store_baseline_free(Store *s) {
        StoreBaseline *b = s->baseline;

        if (!b)
                return;
        sqlite3_finalize(b->insert);
        sqlite3_finalize(b->update);
        map_done(&b->map);
        free(b->entries);
        free(b->dirty);
        free(b);
        s->baseline = NULL;
}

/* A new entry for key; -ENOSPC at the bound. */
static int baseline_add(StoreBaseline *b, const char *key, size_t len, BaselineEntry **ret) {
        uint64_t hash = store_hash_bytes(key, len);
        MapSlot *slot = map_find(&b->map, key, len, hash);
        const char *copy;
        int r;

        if (slot->key) {
                *ret = &b->entries[slot->value];
                return 0;
        }
        r = map_reserve(&b->map);
        if (r < 0)
                return r;
        if (r > 0)
                slot = map_find(&b->map, key, len, hash);
        size_t i = b->map.n_entries;
        r = map_fill(&b->map, slot, key, len, hash, (int64_t) i, &copy);
        if (r < 0)
                return r;
        b->entries[i] = (BaselineEntry){.key = copy, .key_len = len};
        *ret = &b->entries[i];
        return 1;
}

static int baseline_load(Store *s) {
        StoreBaseline *b = s->baseline;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *sel = NULL;
        char key[BASELINE_KEY_MAX + SIGNATURE_MAX + 2];
        int rc, r;

        if (b->loaded)
                return 0;
        baseline_clear(b);
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, scope, key, signature, first_ms, last_ms, count, "
                                "accepted_ms FROM baseline ORDER BY id",
                                -1, &sel, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
                const char *name = column_text(sel, 2), *signature = column_text(sel, 3);
                int scope = sqlite3_column_int(sel, 1);
                BaselineEntry *e;

                if (!name || !signature || scope < 0 || scope >= _BASELINE_SCOPE_MAX ||
                    strlen(name) >= BASELINE_KEY_MAX || strlen(signature) >= SIGNATURE_MAX)
                        continue; /* not one of ours */
                r = baseline_add(b, key, entry_key(scope, name, signature, key), &e);
                if (r == -ENOSPC)
                        break; /* said at creation; judged "untracked" from now on */
                if (r < 0)
                        return r;
                e->row = sqlite3_column_int64(sel, 0);
                e->first_ms = sqlite3_column_int64(sel, 4);
                e->last_ms = sqlite3_column_int64(sel, 5);
                e->count = (uint64_t) sqlite3_column_int64(sel, 6);
                e->accepted_ms = sqlite3_column_int64(sel, 7);
        }
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return store_error(s, s->db, rc);
        b->loaded = true;
        return 0;
}

static void baseline_touch(StoreBaseline *b, BaselineEntry *e) {
        if (e->dirty)
                return;
        e->dirty = true;
        b->dirty[b->n_dirty++] = (uint32_t) (e - b->entries);
}

/* What denial_signature() and denial_baseline_key() read of d. */
static void memo_inputs(const Denial *d, const char *in[MEMO_INPUTS]) {
        const char *v[MEMO_INPUTS] = {d->result,
                                      d->source_type,
                                      d->target_type,
                                      d->tclass,
                                      d->permissions,
                                      d->container.image,
                                      d->container.pod_namespace,
                                      d->container.name,
                                      d->container.id};
        memcpy(in, v, sizeof(v));
}

static bool memo_matches(const BaselineMemo *m, const Denial *d) {
        const char *in[MEMO_INPUTS];

        if (!m->valid || m->has_container != d->has_container ||
            m->ambiguous != (d->attribution == ATTRIBUTION_AMBIGUOUS))
                return false;
        memo_inputs(d, in);
        for (size_t i = 0; i < MEMO_INPUTS; i++)
                if (!m->input[i] != !in[i] || (in[i] && strcmp(m->input[i], in[i]) != 0))
                        return false;
        return true;
}

static void memo_set(BaselineMemo *m, const Denial *d, size_t index) {
        const char *in[MEMO_INPUTS];
        size_t used = 0;

        m->valid = false;
        memo_inputs(d, in);
        for (size_t i = 0; i < MEMO_INPUTS; i++) {
                m->input[i] = NULL;
                if (!in[i])
                        continue;
                size_t l = strlen(in[i]) + 1;
                if (l > MEMO_TEXT - used)
                        return; /* too long to remember: not kept */
                m->input[i] = memcpy(m->text + used, in[i], l);
                used += l;
        }
        m->has_container = d->has_container;
        m->ambiguous = d->attribution == ATTRIBUTION_AMBIGUOUS;
        m->index = index;
        m->valid = true;
}

int store_baseline_note(Store *s, const Denial *d) {
        char signature[SIGNATURE_MAX], name[BASELINE_KEY_MAX],
                key[BASELINE_KEY_MAX + SIGNATURE_MAX + 2];
        BaselineEntry *e;
        int r;

        if (!s || !d)
                return -EINVAL;
        r = baseline_load(s);
        if (r < 0)
                return r;
        if (memo_matches(&s->baseline->memo, d)) {
                e = &s->baseline->entries[s->baseline->memo.index];
                r = 0;
        } else {
                r = denial_signature(d, signature, sizeof(signature));
                if (r <= 0)
                        return r == 0 ? -ENODATA : r;
                BaselineScope scope = denial_baseline_key(d, name, sizeof(name));
                r = baseline_add(s->baseline, key, entry_key(scope, name, signature, key), &e);
                if (r < 0)
                        return r;
                memo_set(&s->baseline->memo, d, (size_t) (e - s->baseline->entries));
        }
        if (r > 0) {
                e->first_ms = e->last_ms = d->time_ms;
                s->baseline->batch_new++;
        }
        e->first_ms = MIN(e->first_ms, d->time_ms);
        e->last_ms = MAX(e->last_ms, d->time_ms);
        e->count += MAX(d->count, 1);
        e->unwritten += MAX(d->count, 1);
        baseline_touch(s->baseline, e);
        return r;
}

/* ---- with the batch ---- */

int store_baseline_flush(Store *s) {
        StoreBaseline *b = s->baseline;
        int rc, r;

        if (!b)
                return 0;
        for (size_t i = 0; i < b->n_dirty; i++) {
                BaselineEntry *e = &b->entries[b->dirty[i]];
                sqlite3_stmt *st = e->row > 0 ? b->update : b->insert;

                if (e->row > 0) {
                        sqlite3_bind_int64(st, 1, e->row);
                        sqlite3_bind_int64(st, 2, (int64_t) e->unwritten);
                        sqlite3_bind_int64(st, 3, e->last_ms);
                        store_bind_ref(st, 4, e->accepted_ms);
                        r = store_step_done(s, st);
                        if (r < 0)
                                return r;
                        continue;
                }
                sqlite3_bind_int(st, 1, (int) entry_scope(e));
                sqlite3_bind_text(st, 2, entry_name(e), -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, entry_signature(e), -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, e->first_ms);
                sqlite3_bind_int64(st, 5, e->last_ms);
                sqlite3_bind_int64(st, 6, (int64_t) e->unwritten);
                store_bind_ref(st, 7, e->accepted_ms);
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW)
                        e->row = sqlite3_column_int64(st, 0);
                sqlite3_reset(st);
                if (rc != SQLITE_ROW)
                        return store_error(s, s->db, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
        }
        return 0;
}

void store_baseline_committed(Store *s) {
        StoreBaseline *b = s->baseline;

        if (!b)
                return;
        for (size_t i = 0; i < b->n_dirty; i++) {
                BaselineEntry *e = &b->entries[b->dirty[i]];
                e->dirty = false;
                e->unwritten = 0;
        }
        b->n_dirty = 0;
        b->committed_new += b->batch_new;
        b->batch_new = 0;
}

void store_baseline_forget(Store *s) {
        if (s->baseline)
                baseline_clear(s->baseline); /* read again from the table when next needed */
}

uint64_t store_take_committed_new(Store *s) {
        uint64_t n;

        if (!s || !s->baseline)
                return 0;
        n = s->baseline->committed_new;
        s->baseline->committed_new = 0;
        return n;
}

/* ---- accept, list ---- */

static bool entry_matches(const BaselineEntry *e, const char *image_key) {
        return !image_key ||
               (entry_scope(e) == BASELINE_IMAGE && strcmp(entry_name(e), image_key) == 0);
}

/* The set, read when needed, and the baseline key of image into key (BASELINE_KEY_MAX): *ret_key
 * is key, or NULL for every baseline when image is NULL. */
static int baseline_for_image(Store *s, const char *image, char *key, const char **ret_key) {
        if (image && baseline_image_key(image, key, BASELINE_KEY_MAX) < 0)
                return -EINVAL;
        *ret_key = image ? key : NULL;
        return baseline_load(s);
}

int store_baseline_accept(Store *s, const char *image, int64_t now_ms, uint64_t *ret_accepted) {
        char key[BASELINE_KEY_MAX];
        const char *image_key;
        uint64_t n = 0;
        bool own;
        int r;

        if (!s || !ret_accepted || now_ms <= 0)
                return -EINVAL;
        r = baseline_for_image(s, image, key, &image_key);
        if (r < 0)
                return r;
        StoreBaseline *b = s->baseline;
        for (size_t i = 0; i < b->map.n_entries; i++) {
                BaselineEntry *e = &b->entries[i];
                if (e->accepted_ms != 0 || !entry_matches(e, image_key))
                        continue;
                e->accepted_ms = now_ms;
                baseline_touch(b, e);
                n++;
        }
        /* Inside the open batch, written with its rows (within STORE_BATCH_USEC); else now. */
        own = !store_in_batch(s) && b->n_dirty > 0;
        if (own) {
                r = store_writer_begin(s);
                if (r >= 0)
                        r = store_baseline_flush(s);
                if (r >= 0)
                        r = store_writer_commit(s);
                if (r < 0) {
                        if (!sqlite3_get_autocommit(s->db))
                                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                        store_baseline_forget(s);
                        return r;
                }
                store_baseline_committed(s);
        }
        *ret_accepted = n;
        return 0;
}

static int compare_newest_first(const void *a, const void *b, void *userdata) {
        const BaselineEntry *entries = userdata;
        const BaselineEntry *x = &entries[*(const uint32_t *) a],
                            *y = &entries[*(const uint32_t *) b];

        if (x->first_ms != y->first_ms)
                return x->first_ms > y->first_ms ? -1 : 1;
        return strcmp(x->key, y->key);
}

int store_baseline_list(Store *s, const char *image, bool new_only, unsigned limit,
                        store_baseline_cb cb, void *userdata, bool *ret_more) {
        char key[BASELINE_KEY_MAX];
        const char *image_key;
        _cleanup_(freep) uint32_t *order = NULL;
        size_t n = 0;
        int r;

        if (!s || !cb)
                return -EINVAL;
        r = baseline_for_image(s, image, key, &image_key);
        if (r < 0)
                return r;
        StoreBaseline *b = s->baseline;
        if (limit == 0 || limit > STORE_BASELINE_LIST_MAX)
                limit = STORE_BASELINE_LIST_MAX;
        order = malloc(MAX(b->map.n_entries, (size_t) 1) * sizeof(uint32_t));
        if (!order)
                return -ENOMEM;
        for (size_t i = 0; i < b->map.n_entries; i++) {
                const BaselineEntry *e = &b->entries[i];
                if ((new_only && e->accepted_ms != 0) || !entry_matches(e, image_key))
                        continue;
                order[n++] = (uint32_t) i;
        }
        qsort_r(order, n, sizeof(uint32_t), compare_newest_first, b->entries);
        if (ret_more)
                *ret_more = n > limit;
        for (size_t i = 0; i < MIN(n, (size_t) limit); i++) {
                const BaselineEntry *e = &b->entries[order[i]];
                StoreBaselineRow row = {
                        .scope = entry_scope(e),
                        .key = entry_name(e),
                        .signature = entry_signature(e),
                        .first_ms = e->first_ms,
                        .last_ms = e->last_ms,
                        .accepted_ms = e->accepted_ms,
                        .count = e->count,
                };
                r = cb(&row, userdata);
                if (r != 0)
                        return r;
        }
        return 0;
}

size_t store_baseline_size(const Store *s) {
        return s && s->baseline && s->baseline->loaded ? s->baseline->map.n_entries : 0;
}
