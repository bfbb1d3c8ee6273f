/* SPDX-License-Identifier: MIT */
/* The container registry's tables: every SQL statement of daemon/attribution/registry.c, which
 * keeps its containers in memory and asks this module to keep them (store.h "the container
 * registry's tables").
 *
 * Schema (an additive, idempotent migration run at every open, in its own transaction): the
 * containers table gains the registry's columns (what the engines told us and when the
 * container lived); denial_candidates lists every container an ambiguous denial may have come
 * from, keyed by the denial's (time_ms, serial, seq) so that it can be written before the denial
 * has a row id; container_names keeps the names a container had before a rename.
 *
 * Decisions:
 * - The statements run on the writer connection: a second writer connection would wait on the
 *   store's own open batch in the same thread. Inside the open batch they join it.
 * - A failed write is mapped like every other store error (store-sql.c) and kept for
 *   store_take_failure(): the registry's callers (engine events, the /proc scan) cannot act on
 *   a full disk or a damaged file, the manager can. When SQLite gave the open batch up, its rows
 *   are counted lost exactly as for a failed store_add.
 * - The candidates of a denial attributed as ambiguous are queued in memory and written with the
 *   batch (store_commit), not one INSERT per denial from the attribution path. The queue is
 *   written before any re-attribution (which rewrites candidates) and any retention step (which
 *   deletes them by time), so that the rows end as if written at once. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-private.h"
#include "store.h"

#define STORE_MCS_TEXT_MAX 4096 /* canonical text of a category set */
#define STORE_CANDIDATES_QUEUED_MAX                                                                \
        65536 /* queued candidate rows: written at once beyond this (a long batch of ambiguous     \
                 denials) */

static const char *const schema_columns[] = {
        "pod_namespace TEXT",
        "compose_project TEXT",
        "compose_service TEXT",
        "label TEXT",
        "mcs TEXT",
        "created_ms INTEGER",
        "started_ms INTEGER",
        "finished_ms INTEGER",
        "removed_ms INTEGER",
        "running INTEGER",
        /* Kubernetes (issue 13): the pod's uid, its sandbox's id, 1 for the sandbox itself. */
        "pod_uid TEXT",
        "sandbox_id TEXT",
        "sandbox INTEGER",
};

static const char schema_sql[] =
        "CREATE TABLE IF NOT EXISTS denial_candidates (\n"
        "  time_ms INTEGER NOT NULL,\n"
        "  serial INTEGER NOT NULL,\n"
        "  seq INTEGER NOT NULL,\n"
        "  container INTEGER NOT NULL REFERENCES containers(id),\n"
        "  PRIMARY KEY (time_ms, serial, seq, container)\n"
        ") WITHOUT ROWID;\n"
        "CREATE INDEX IF NOT EXISTS denial_candidates_container ON denial_candidates(container);\n"
        "CREATE INDEX IF NOT EXISTS containers_mcs ON containers(mcs);\n"
        /* Names a container had before a rename (docker rename, podman rename): queries by an
         * old name still find its denials. At most STORE_OLD_NAMES_MAX per container, so that a
         * rename loop cannot grow the table without bound. */
        "CREATE TABLE IF NOT EXISTS container_names (\n"
        "  container INTEGER NOT NULL REFERENCES containers(id),\n"
        "  name TEXT NOT NULL,\n"
        "  PRIMARY KEY (container, name)\n"
        ") WITHOUT ROWID;\n"
        "CREATE INDEX IF NOT EXISTS container_names_name ON container_names(name);\n"
        "CREATE TRIGGER IF NOT EXISTS containers_renamed AFTER UPDATE OF name ON containers\n"
        "  WHEN old.name IS NOT NULL AND old.name != '' AND new.name IS NOT NULL\n"
        "    AND old.name != new.name\n"
        "    AND (SELECT count(*) FROM container_names WHERE container = old.id) < " STRINGIFY(
                STORE_OLD_NAMES_MAX) "\n"
                                     "BEGIN\n"
                                     "  INSERT OR IGNORE INTO container_names (container, name) "
                                     "VALUES (old.id, old.name);\n"
                                     "END;\n";

enum {
        CSTMT_UPSERT,
        CSTMT_ROW,
        CSTMT_REATTRIBUTE_SELECT,
        CSTMT_DENIAL_UPDATE,
        CSTMT_TARGET_SELECT,
        CSTMT_TARGET_UPDATE,
        CSTMT_CANDIDATE_INSERT,
        CSTMT_CANDIDATE_CLEAR,
        CSTMT_COUNT_DENIALS,
        CSTMT_COUNT_CANDIDATES,
        _CSTMT_MAX,
};

static const char *const cstmt_sql[_CSTMT_MAX] = {
        [CSTMT_UPSERT] =
                "INSERT INTO containers(container_id, name, image, engine, pod, "
                "pod_namespace, compose_project, compose_service, label, mcs, created_ms, "
                "started_ms, finished_ms, removed_ms, running, pod_uid, sandbox_id, sandbox) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17, ?18) ON CONFLICT(container_id) DO "
                "UPDATE SET name = excluded.name, image = excluded.image, engine = "
                "excluded.engine, pod = excluded.pod, pod_namespace = "
                "excluded.pod_namespace, compose_project = excluded.compose_project, "
                "compose_service = excluded.compose_service, label = excluded.label, mcs = "
                "excluded.mcs, created_ms = excluded.created_ms, started_ms = "
                "excluded.started_ms, finished_ms = excluded.finished_ms, removed_ms = "
                "excluded.removed_ms, running = excluded.running, pod_uid = excluded.pod_uid, "
                "sandbox_id = excluded.sandbox_id, sandbox = excluded.sandbox",
        [CSTMT_ROW] = "SELECT id FROM containers WHERE container_id = ?1",
        [CSTMT_REATTRIBUTE_SELECT] =
                "SELECT d.id, d.time_ms, d.serial, d.seq, d.attribution, d.container FROM denials "
                "d WHERE d.mcs = (SELECT id FROM strings WHERE text = ?1) AND d.id >= ?2 * "
                "1048576 AND d.id < ?3 * 1048576 AND d.attribution IN (?4, ?5, ?6, ?8, ?9) ORDER "
                "BY "
                "d.id DESC LIMIT ?7",
        [CSTMT_DENIAL_UPDATE] = "UPDATE denials SET container = ?2, attribution = ?3 WHERE id = ?1",
        [CSTMT_TARGET_SELECT] =
                "SELECT d.id, d.time_ms, d.container, d.target_container FROM denials d WHERE "
                "d.target_mcs = (SELECT id FROM strings WHERE text = ?1) AND d.id >= ?2 * 1048576 "
                "AND d.id < ?3 * 1048576 AND d.attribution != ?5 ORDER BY d.id DESC LIMIT ?4",
        [CSTMT_TARGET_UPDATE] = "UPDATE denials SET target_container = ?2 WHERE id = ?1",
        [CSTMT_CANDIDATE_INSERT] = "INSERT OR IGNORE INTO denial_candidates(time_ms, serial, seq, "
                                   "container) VALUES (?1, ?2, ?3, ?4)",
        [CSTMT_CANDIDATE_CLEAR] =
                "DELETE FROM denial_candidates WHERE time_ms = ?1 AND serial = ?2 AND seq = ?3",
        [CSTMT_COUNT_DENIALS] = "SELECT count(*) FROM denials WHERE container = ?1",
        [CSTMT_COUNT_CANDIDATES] = "SELECT count(*) FROM denial_candidates WHERE container = ?1",
};

typedef struct QueuedCandidate {
        int64_t time_ms, serial, seq, container;
} QueuedCandidate;

typedef struct StoreContainers {
        sqlite3_stmt *stmt[_CSTMT_MAX];
        QueuedCandidate *queue;
        size_t n_queued, n_allocated;
} StoreContainers;

/* A stored denial met by re-attribution. */
typedef struct StoredDenial {
        int64_t id, time_ms, serial, seq, attribution, container, target_container;
} StoredDenial;

/* ---- schema ---- */

static int migrate(Store *s) {
        int r = store_add_columns(s, "containers", schema_columns, ELEMENTSOF(schema_columns));
        if (r < 0)
                return r;
        return store_exec(s, s->db, schema_sql);
}

int store_containers_migrate(Store *s) {
        int r = store_exec(s, s->db, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = migrate(s);
        if (r >= 0)
                r = store_exec(s, s->db, "COMMIT");
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

int store_containers_prepare(Store *s) {
        StoreContainers *c = calloc(1, sizeof(StoreContainers));
        if (!c)
                return -ENOMEM;
        s->containers = c;
        for (size_t i = 0; i < _CSTMT_MAX; i++) {
                int rc = sqlite3_prepare_v3(s->db, cstmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                            &c->stmt[i], NULL);
                if (rc != SQLITE_OK)
                        return store_error(s, s->db, rc);
        }
        return 0;
}

void store_containers_free(Store *s) {
        StoreContainers *c = s->containers;
        if (!c)
                return;
        for (size_t i = 0; i < _CSTMT_MAX; i++)
                sqlite3_finalize(c->stmt[i]);
        free(c->queue);
        free(c);
        s->containers = NULL;
}

/* ---- failures ---- */

/* A registry write failed: kept for store_take_failure(), and the open batch forgotten when
 * SQLite gave it up. */
static int containers_failed(Store *s, int r) {
        s->failure = r;
        return store_batch_failed(s, r);
}

int store_take_failure(Store *s) {
        if (!s)
                return 0;
        int r = s->failure;
        s->failure = 0;
        return r;
}

/* Runs a statement of this module that returns no row, and forgets its bindings (strings are
 * bound SQLITE_STATIC). */
static int step_done(Store *s, sqlite3_stmt *st) {
        int r = store_step_done(s, st);
        sqlite3_clear_bindings(st);
        return r < 0 ? containers_failed(s, r) : 0;
}

/* ---- transactions ---- */

int store_container_begin(Store *s) {
        if (!s)
                return -EINVAL;
        /* The rows store_add() holds first: a re-attribution finds them (before the savepoint,
         * which a failure of theirs would roll back with the whole batch). */
        int r = store_writer_flush(s);
        if (r < 0)
                return r;
        r = store_exec(s, s->db, "SAVEPOINT registry");
        if (r < 0)
                return containers_failed(s, r);
        /* Candidates queued before: written first, so that a re-attribution finds them. */
        r = store_containers_flush(s);
        if (r < 0) {
                (void) store_container_end(s, r);
                return r;
        }
        return 0;
}

int store_container_end(Store *s, int r) {
        if (!s)
                return r;
        if (r < 0) {
                (void) sqlite3_exec(s->db, "ROLLBACK TO registry", NULL, NULL, NULL);
                (void) sqlite3_exec(s->db, "RELEASE registry", NULL, NULL, NULL);
                return r;
        }
        int k = store_exec(s, s->db, "RELEASE registry");
        return k < 0 ? containers_failed(s, k) : r;
}

/* ---- rows ---- */

static void bind_time(sqlite3_stmt *st, int i, int64_t ms) {
        if (ms > 0)
                sqlite3_bind_int64(st, i, ms);
        else
                sqlite3_bind_null(st, i);
}

int store_container_save(Store *s, const ContainerInfo *c, int64_t *ret_row) {
        char mcs[STORE_MCS_TEXT_MAX] = "";
        sqlite3_stmt *st;
        int64_t row = 0;
        int r;

        if (!s || !c || !c->id || !ret_row)
                return -EINVAL;
        if (c->has_mcs && mcs_set_format(&c->mcs, mcs, sizeof(mcs)) < 0)
                mcs[0] = 0;
        st = s->containers->stmt[CSTMT_UPSERT];
        const char *text[] = {c->id,
                              c->name,
                              c->image,
                              c->engine,
                              c->pod,
                              c->pod_namespace,
                              c->compose_project,
                              c->compose_service,
                              c->label,
                              c->has_mcs ? mcs : NULL};
        for (size_t i = 0; i < ELEMENTSOF(text); i++)
                store_bind_text_or_null(st, (int) i + 1, text[i]);
        bind_time(st, 11, c->created_ms);
        bind_time(st, 12, c->started_ms);
        bind_time(st, 13, c->finished_ms);
        bind_time(st, 14, c->removed_ms);
        if (c->state == CONTAINER_STATE_UNKNOWN)
                sqlite3_bind_null(st, 15);
        else
                sqlite3_bind_int(st, 15, c->state == CONTAINER_STATE_RUNNING);
        store_bind_text_or_null(st, 16, c->pod_uid);
        store_bind_text_or_null(st, 17, c->sandbox_id);
        if (c->sandbox)
                sqlite3_bind_int(st, 18, 1);
        else
                sqlite3_bind_null(st, 18);
        r = step_done(s, st);
        if (r < 0)
                return r;

        st = s->containers->stmt[CSTMT_ROW];
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        r = store_step_int64(s, st, &row);
        sqlite3_clear_bindings(st);
        if (r < 0)
                return containers_failed(s, r);
        if (r == 0 || row <= 0) {
                snprintf(s->last_error, sizeof(s->last_error), "container row vanished");
                return -EIO;
        }
        *ret_row = row;
        return 0;
}

int store_container_load_all(Store *s, size_t max, store_container_load_cb cb, void *userdata) {
        static const char sql[] =
                "SELECT id, container_id, name, image, engine, pod, pod_namespace, "
                "compose_project, compose_service, label, mcs, created_ms, started_ms, "
                "finished_ms, removed_ms, running, pod_uid, sandbox_id, sandbox FROM containers "
                "ORDER BY "
                "coalesce(started_ms, created_ms, 0) DESC, id DESC LIMIT ?1";
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc, r = 0;

        if (!s || !cb)
                return -EINVAL;
        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        sqlite3_bind_int64(st, 1, (int64_t) MIN(max, (size_t) INT64_MAX));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (sqlite3_column_type(st, 1) == SQLITE_NULL)
                        continue;
                ContainerInfo c = {};
                char **dst[] = {&c.id,   &c.name,          &c.image,           &c.engine,
                                &c.pod,  &c.pod_namespace, &c.compose_project, &c.compose_service,
                                &c.label};
                for (size_t i = 0; i < ELEMENTSOF(dst); i++)
                        *dst[i] = store_column_strdup(st, (int) i + 1);
                if (!c.id) {
                        container_info_done(&c);
                        return -ENOMEM;
                }
                const char *mcs = (const char *) sqlite3_column_text(st, 10);
                if (mcs && mcs[0] && mcs_set_parse(mcs, &c.mcs) >= 0 && !mcs_set_is_empty(&c.mcs))
                        c.has_mcs = true;
                else
                        c.mcs = (McsSet){};
                c.created_ms = sqlite3_column_int64(st, 11);
                c.started_ms = sqlite3_column_int64(st, 12);
                c.finished_ms = sqlite3_column_int64(st, 13);
                c.removed_ms = sqlite3_column_int64(st, 14);
                c.state = sqlite3_column_type(st, 15) == SQLITE_NULL ? CONTAINER_STATE_UNKNOWN
                          : sqlite3_column_int(st, 15) != 0          ? CONTAINER_STATE_RUNNING
                                                                     : CONTAINER_STATE_EXITED;
                c.pod_uid = store_column_strdup(st, 16);
                c.sandbox_id = store_column_strdup(st, 17);
                c.sandbox = sqlite3_column_int(st, 18) != 0;
                r = cb(sqlite3_column_int64(st, 0), &c, userdata);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return store_error(s, s->db, rc);
        return 0;
}

/* ---- candidates ---- */

static int write_candidate(Store *s, const QueuedCandidate *q) {
        sqlite3_stmt *st = s->containers->stmt[CSTMT_CANDIDATE_INSERT];
        sqlite3_bind_int64(st, 1, q->time_ms);
        sqlite3_bind_int64(st, 2, q->serial);
        sqlite3_bind_int64(st, 3, q->seq);
        sqlite3_bind_int64(st, 4, q->container);
        return step_done(s, st);
}

static int write_queue(Store *s) {
        StoreContainers *c = s->containers;
        for (size_t i = 0; i < c->n_queued; i++) {
                int r = write_candidate(s, &c->queue[i]);
                if (r < 0)
                        return r;
        }
        c->n_queued = 0;
        return 0;
}

int store_containers_flush(Store *s) {
        int r;

        if (!s->containers || s->containers->n_queued == 0)
                return 0;
        if (!sqlite3_get_autocommit(s->db))
                return write_queue(s); /* the open batch, or a registry update */
        r = store_exec(s, s->db, "BEGIN IMMEDIATE");
        if (r < 0)
                return containers_failed(s, r);
        r = write_queue(s);
        if (r >= 0) {
                r = store_exec(s, s->db, "COMMIT");
                if (r < 0)
                        r = containers_failed(s, r);
        }
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

void store_containers_forget(Store *s) {
        if (s->containers)
                s->containers->n_queued = 0;
}

int store_container_queue_candidates(Store *s, int64_t time_ms, uint64_t serial, unsigned seq,
                                     const int64_t *rows, size_t n) {
        StoreContainers *c;

        if (!s || (!rows && n > 0) || n > DENIAL_CANDIDATES_MAX)
                return -EINVAL;
        c = s->containers;
        if (c->n_queued + n > STORE_CANDIDATES_QUEUED_MAX) {
                int r = store_containers_flush(s);
                if (r < 0)
                        return r;
        }
        if (c->n_queued + n > c->n_allocated) {
                size_t want = MAX(c->n_allocated * 2, (size_t) 64);
                want = MAX(want, c->n_queued + n);
                QueuedCandidate *q = realloc(c->queue, want * sizeof(QueuedCandidate));
                if (!q)
                        return -ENOMEM;
                c->queue = q;
                c->n_allocated = want;
        }
        for (size_t i = 0; i < n; i++)
                if (rows[i] > 0)
                        c->queue[c->n_queued++] = (QueuedCandidate){
                                .time_ms = time_ms,
                                .serial = (int64_t) serial,
                                .seq = seq,
                                .container = rows[i],
                        };
        return 0;
}

/* ---- re-attribution ---- */

/* Reads the stored denials of [begin_ms, end_ms) with categories mcs (as source, not attributed
 * by pid; or as target) whole, before anything is updated: at most max_rows, newest first.
 * *ret_rows stays NULL for a set without text. */
static int select_rows(Store *s, bool target, const McsSet *mcs, int64_t begin_ms, int64_t end_ms,
                       size_t max_rows, StoredDenial **ret_rows, size_t *ret_n) {
        _cleanup_(freep) StoredDenial *rows = NULL;
        char text[STORE_MCS_TEXT_MAX];
        int64_t limit = (int64_t) MIN(max_rows, (size_t) INT64_MAX);
        size_t n = 0;
        int rc;

        *ret_rows = NULL;
        *ret_n = 0;
        if (mcs_set_format(mcs, text, sizeof(text)) < 0)
                return 0;
        rows = calloc(MAX(max_rows, (size_t) 1), sizeof(StoredDenial));
        if (!rows)
                return -ENOMEM;
        sqlite3_stmt *st =
                s->containers->stmt[target ? CSTMT_TARGET_SELECT : CSTMT_REATTRIBUTE_SELECT];
        sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, begin_ms);
        sqlite3_bind_int64(st, 3, end_ms);
        if (target) {
                sqlite3_bind_int64(st, 4, limit);
                /* a container's claim (a USER_AVC it sent) names no target either */
                sqlite3_bind_int(st, 5, ATTRIBUTION_SENDER);
        } else {
                sqlite3_bind_int(st, 4, ATTRIBUTION_NONE);
                sqlite3_bind_int(st, 5, ATTRIBUTION_MCS);
                sqlite3_bind_int(st, 6, ATTRIBUTION_AMBIGUOUS);
                sqlite3_bind_int64(st, 7, limit);
                sqlite3_bind_int(st, 8, ATTRIBUTION_POD);
                sqlite3_bind_int(st, 9, ATTRIBUTION_NAMESPACE);
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max_rows) {
                StoredDenial *row = &rows[n++];
                row->id = sqlite3_column_int64(st, 0);
                row->time_ms = sqlite3_column_int64(st, 1);
                if (target) {
                        row->container = sqlite3_column_type(st, 2) == SQLITE_NULL
                                                 ? 0
                                                 : sqlite3_column_int64(st, 2);
                        row->target_container = sqlite3_column_type(st, 3) == SQLITE_NULL
                                                        ? 0
                                                        : sqlite3_column_int64(st, 3);
                } else {
                        row->serial = sqlite3_column_int64(st, 2);
                        row->seq = sqlite3_column_int64(st, 3);
                        row->attribution = sqlite3_column_int64(st, 4);
                        row->container = sqlite3_column_type(st, 5) == SQLITE_NULL
                                                 ? 0
                                                 : sqlite3_column_int64(st, 5);
                }
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return containers_failed(s, store_error(s, s->db, rc));
        *ret_rows = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

static int reattribute_row(Store *s, const StoredDenial *row, const StoreReattribution *a) {
        StoreContainers *c = s->containers;
        sqlite3_stmt *st;
        int r;

        st = c->stmt[CSTMT_DENIAL_UPDATE];
        sqlite3_bind_int64(st, 1, row->id);
        store_bind_ref(st, 2, a->container);
        sqlite3_bind_int(st, 3, a->attribution);
        r = step_done(s, st);
        if (r < 0)
                return r;
        st = c->stmt[CSTMT_CANDIDATE_CLEAR];
        sqlite3_bind_int64(st, 1, row->time_ms);
        sqlite3_bind_int64(st, 2, row->serial);
        sqlite3_bind_int64(st, 3, row->seq);
        r = step_done(s, st);
        if (r < 0)
                return r;
        if (!attribution_has_candidates(a->attribution))
                return 0;
        for (size_t i = 0; i < MIN(a->n_candidates, ELEMENTSOF(a->candidates)); i++) {
                if (a->candidates[i] <= 0)
                        continue;
                r = write_candidate(s, &(QueuedCandidate){row->time_ms, row->serial, row->seq,
                                                          a->candidates[i]});
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Both sides of re-attribution: reads the rows of the window, then asks the registry about each
 * (source: reattribute; target: retarget) and rewrites those that changed. */
static int rewrite_rows(Store *s, bool target, const McsSet *mcs, int64_t begin_ms, int64_t end_ms,
                        size_t max_rows, store_reattribute_cb reattribute,
                        store_retarget_cb retarget, void *userdata) {
        _cleanup_(freep) StoredDenial *rows = NULL;
        size_t n;
        int r;

        if (!s || !mcs || (target ? !retarget : !reattribute))
                return -EINVAL;
        r = store_writer_flush(s); /* the rows store_add() holds are rewritten too */
        if (r < 0)
                return r;
        r = select_rows(s, target, mcs, begin_ms, end_ms, max_rows, &rows, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (target) {
                        int64_t t = retarget(rows[i].time_ms, rows[i].container, userdata);
                        if (t == rows[i].target_container)
                                continue;
                        sqlite3_stmt *st = s->containers->stmt[CSTMT_TARGET_UPDATE];
                        sqlite3_bind_int64(st, 1, rows[i].id);
                        store_bind_ref(st, 2, t);
                        r = step_done(s, st);
                        continue;
                }
                StoreReattribution a = {.attribution = ATTRIBUTION_NONE};
                r = reattribute(rows[i].time_ms, &a, userdata);
                if (r < 0 || ((int64_t) a.attribution == rows[i].attribution &&
                              a.container == rows[i].container &&
                              !attribution_has_candidates(a.attribution)))
                        continue;
                r = reattribute_row(s, &rows[i], &a);
        }
        return MIN(r, 0);
}

int store_container_reattribute(Store *s, const McsSet *mcs, int64_t begin_ms, int64_t end_ms,
                                size_t max_rows, store_reattribute_cb cb, void *userdata) {
        return rewrite_rows(s, false, mcs, begin_ms, end_ms, max_rows, cb, NULL, userdata);
}

int store_container_retarget(Store *s, const McsSet *mcs, int64_t begin_ms, int64_t end_ms,
                             size_t max_rows, store_retarget_cb cb, void *userdata) {
        return rewrite_rows(s, true, mcs, begin_ms, end_ms, max_rows, NULL, cb, userdata);
}

/* ---- names ---- */

int store_container_name_known(Store *s, const char *name) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc;

        if (!s || !name)
                return -EINVAL;
        rc = sqlite3_prepare_v2(s->ro,
                                "SELECT 1 FROM containers WHERE name = ?1 UNION ALL SELECT 1 FROM "
                                "container_names WHERE name = ?1 LIMIT 1",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return store_error(s, s->ro, rc);
}

/* ---- counts ---- */

static int count_rows(Store *s, sqlite3_stmt *st, int64_t row, uint64_t *ret) {
        int64_t n = 0;
        sqlite3_bind_int64(st, 1, row);
        int r = store_step_int64(s, st, &n);
        sqlite3_clear_bindings(st);
        if (r < 0)
                return r;
        *ret = n > 0 ? (uint64_t) n : 0;
        return 0;
}

int store_container_counts(Store *s, int64_t row, uint64_t *ret_denials, uint64_t *ret_ambiguous) {
        uint64_t denials = 0, ambiguous = 0;
        int r;

        if (!s || !ret_denials || !ret_ambiguous)
                return -EINVAL;
        r = store_writer_flush(s); /* counted on the writer's connection: the batch's rows too */
        if (r < 0)
                return r;
        if (row > 0) {
                r = count_rows(s, s->containers->stmt[CSTMT_COUNT_DENIALS], row, &denials);
                if (r < 0)
                        return r;
                r = count_rows(s, s->containers->stmt[CSTMT_COUNT_CANDIDATES], row, &ambiguous);
                if (r < 0)
                        return r;
        }
        *ret_denials = denials;
        *ret_ambiguous = ambiguous;
        return 0;
}
