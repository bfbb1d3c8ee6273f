/* SPDX-License-Identifier: MIT */
/* Store, the triage pass: gives the denials stored before triage existed (reason NULL) their
 * reason, booleans and verdict, in bounded steps (store_triage_step), driven from the daemon's
 * loop like retention.
 *
 * Decisions:
 * - NULL and -1 mean different things (store_migrate_triage): NULL is a row stored before
 *   triage (or by an older avcwatchd), -1 a row triage looked at and had no answer for (no
 *   policy then). Only NULL rows are the pass's: a row stored while no policy was loaded keeps
 *   saying so, rather than taking an answer from a policy that was not the one in force. A row
 *   the pass cannot answer (no contexts) gets -1, so that it is not asked again.
 * - The pass walks ids upwards from a marker in meta (STORE_META_TRIAGE_PASS), at most `rows`
 *   rows read per step whatever they hold, so a step costs the same on a store of triaged rows
 *   as on one of untriaged rows, and a restart goes on from where it got to. Rows stored after
 *   the pass began are triaged on the way in; ids below the marker are never read again.
 * - Each step is one transaction of the writer's (inside the open batch when there is one). */

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "macro.h"
#include "store-private.h"
#include "store.h"

#define STORE_META_TRIAGE_PASS "triage_pass_id"        /* the last id the pass has read */
#define STORE_META_TRIAGE_PASS_DONE "triage_pass_done" /* 1 once it reached the end */
#define STORE_META_TRIAGE_PASS_ROWS "triage_pass_rows" /* rows it gave a reason, all runs */

enum {
        TP_ID,
        TP_REASON,
        TP_TIME_ID = TP_ID,
        TP_PERMISSIONS = 2,
        TP_TCLASS,
        TP_SOURCE_TYPE,
        TP_TARGET_TYPE,
        TP_SCONTEXT,
        TP_TCONTEXT,
        TP_MCS,
        TP_TARGET_MCS,
};

static const char pass_sql[] = "SELECT d.id, d.reason, "
                               "(SELECT text FROM strings WHERE id = g.permissions), "
                               "(SELECT text FROM strings WHERE id = g.tclass), "
                               "(SELECT text FROM strings WHERE id = g.source_type), "
                               "(SELECT text FROM strings WHERE id = g.target_type), "
                               "(SELECT text FROM strings WHERE id = d.scontext), "
                               "(SELECT text FROM strings WHERE id = d.tcontext), "
                               "(SELECT text FROM strings WHERE id = d.mcs), "
                               "(SELECT text FROM strings WHERE id = d.target_mcs) "
                               "FROM denials d LEFT JOIN signatures g ON g.id = d.signature "
                               "WHERE d.id > ?1 ORDER BY d.id LIMIT ?2";

static int meta_get(Store *s, const char *key, int64_t *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        return store_step_int64(s, st, ret);
}

int store_triage_progress(Store *s, StoreTriageProgress *ret) {
        int64_t v;
        int r;

        if (!s || !ret)
                return -EINVAL;
        *ret = (StoreTriageProgress){};
        r = meta_get(s, STORE_META_TRIAGE_PASS, &v);
        if (r < 0)
                return r;
        if (r > 0) {
                ret->started = true;
                ret->until_ms = store_id_time(v);
        }
        r = meta_get(s, STORE_META_TRIAGE_PASS_DONE, &v);
        if (r < 0)
                return r;
        ret->done = r > 0 && v > 0;
        r = meta_get(s, STORE_META_TRIAGE_PASS_ROWS, &v);
        if (r < 0)
                return r;
        ret->triaged = r > 0 && v > 0 ? (uint64_t) v : 0;
        return 0;
}

static char *column_dup(sqlite3_stmt *st, int i, bool *failed) {
        if (sqlite3_column_type(st, i) == SQLITE_NULL)
                return NULL;
        char *t = store_column_strdup(st, i);
        if (!t)
                *failed = true;
        return t;
}

/* The row's facts triage needs, as a Denial (owned strings). */
static int pass_denial(sqlite3_stmt *st, Denial *ret) {
        Denial d = DENIAL_NULL;
        bool failed = false;
        char **dst[] = {&d.permissions, &d.tclass,   &d.source_type, &d.target_type,
                        &d.scontext,    &d.tcontext, &d.mcs,         &d.target_mcs};

        d.id = sqlite3_column_int64(st, TP_ID);
        d.time_ms = store_id_time(d.id);
        for (size_t i = 0; i < ELEMENTSOF(dst); i++)
                *dst[i] = column_dup(st, TP_PERMISSIONS + (int) i, &failed);
        if (failed) {
                denial_done(&d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

static int pass_update(Store *s, sqlite3_stmt *up, const Denial *d) {
        int64_t booleans = 0;
        int r;

        if (d->triaged && d->booleans) {
                r = store_intern_text(s, d->booleans, &booleans);
                if (r < 0)
                        return r;
        }
        sqlite3_bind_int64(up, 1, d->triaged ? d->reason : -1);
        sqlite3_bind_int64(up, 2, d->triaged ? d->verdict : -1);
        store_bind_ref(up, 3, booleans);
        sqlite3_bind_int64(up, 4, d->id);
        return store_step_done(s, up);
}

static int pass_step(Store *s, unsigned rows, uint64_t max_usec, store_triage_func triage,
                     void *userdata, StoreTriageStep *ret) {
        uint64_t t0 = now_monotonic_usec();
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL, *up = NULL;
        int64_t from = INT64_MIN, last = INT64_MIN;
        StoreTriageStep step = {};
        int rc = SQLITE_DONE, r;

        r = meta_get(s, STORE_META_TRIAGE_PASS, &from);
        if (r < 0)
                return r;
        if (r == 0)
                from = INT64_MIN;
        rc = sqlite3_prepare_v2(s->db, pass_sql, -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(s->db,
                                        "UPDATE denials SET reason = ?1, verdict = ?2, booleans = "
                                        "?3 WHERE id = ?4",
                                        -1, &up, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, rows);
        /* The first question of a kind costs up to a few hundred µs (the boolean search): the
         * clock ends a step too, whatever rows says. */
        while (!(step.read > 0 && now_monotonic_usec() - t0 > max_usec) &&
               (rc = sqlite3_step(st)) == SQLITE_ROW) {
                last = sqlite3_column_int64(st, TP_ID);
                step.read++;
                if (sqlite3_column_type(st, TP_REASON) != SQLITE_NULL)
                        continue;
                _cleanup_(denial_done) Denial d = DENIAL_NULL;
                r = pass_denial(st, &d);
                if (r < 0)
                        return r;
                r = triage(&d, userdata);
                if (r < 0)
                        return r;
                r = pass_update(s, up, &d);
                if (r < 0)
                        return r;
                if (d.triaged)
                        step.triaged++;
                else
                        step.untriageable++;
        }
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return store_error(s, s->db, rc);
        step.more = rc == SQLITE_ROW || step.read == rows; /* cut short: by the clock, by rows */
        if (last != INT64_MIN) {
                r = store_meta_max(s, STORE_META_TRIAGE_PASS, last);
                if (r < 0)
                        return r;
        }
        if (step.triaged > 0) {
                r = store_meta_max(s, STORE_META_TRIAGE_PASS_ROWS, 0);
                if (r >= 0)
                        r = store_meta_add(s, STORE_META_TRIAGE_PASS_ROWS, (int64_t) step.triaged);
                if (r < 0)
                        return r;
        }
        if (!step.more) {
                r = store_meta_max(s, STORE_META_TRIAGE_PASS_DONE, 1);
                if (r < 0)
                        return r;
        }
        *ret = step;
        return 0;
}

int store_triage_step(Store *s, unsigned rows, uint64_t max_usec, store_triage_func triage,
                      void *userdata, StoreTriageStep *ret) {
        bool own_txn;
        int r;

        if (!s || !triage || !ret || rows == 0)
                return -EINVAL;
        *ret = (StoreTriageStep){};
        r = store_writer_flush(s); /* the pass reads the table: the rows store_add() holds */
        if (r < 0)
                return r;
        own_txn = !store_in_batch(s);
        if (own_txn) {
                r = store_writer_begin(s);
                if (r < 0)
                        return r;
        }
        r = pass_step(s, rows, max_usec, triage, userdata, ret);
        if (r >= 0 && own_txn)
                r = store_writer_commit(s);
        if (r < 0) {
                if (own_txn && !sqlite3_get_autocommit(s->db))
                        (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                else if (!own_txn)
                        (void) store_batch_failed(s, r);
                *ret = (StoreTriageStep){};
        }
        return r;
}
