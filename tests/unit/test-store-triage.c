/* SPDX-License-Identifier: MIT */
/* The triage pass in the store (store_triage_step, store-triage.c): a store written before
 * triage (reason NULL) next to rows triaged without a policy (-1); steps give only the NULL rows
 * a reason, verdict and booleans, mark those triage cannot answer -1, never read a row twice
 * across a close and a reopen, keep to their row and time bounds, and report progress. A store
 * created now needs no pass. */

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "macro.h"
#include "store-private.h" /* the writer connection, to make an old store */
#include "store.h"
#include "tests/unit/test.h"

#define N 300
#define BASE_MS INT64_C(1700000000000)

static unsigned calls;
static int64_t seen[N + 1];
static size_t n_seen;

/* A stand-in for triage: a reason from the row's id, booleans for reason 1, no answer for a
 * denial without a target context. */
static int fake_triage(Denial *d, void *userdata) {
        (void) userdata;
        calls++;
        for (size_t i = 0; i < n_seen; i++)
                CHECK(seen[i] != d->id); /* never asked twice */
        CHECK(n_seen < N);
        seen[n_seen++] = d->id;
        CHECK(d->scontext && d->tclass && d->permissions && d->source_type);
        if (!d->tcontext)
                return 0;
        d->triaged = true;
        d->reason = (int) (d->time_ms / 1000 % 7);
        d->verdict = (int) (d->time_ms / 1000 % 5);
        if (d->reason == 1)
                d->booleans = xstrdup("container_manage_cgroup virt_use_nfs");
        return 0;
}

typedef struct Rows {
        size_t n, triaged, with_booleans;
} Rows;

static int count_row(const Denial *d, void *userdata) {
        Rows *r = userdata;
        r->n++;
        if (d->triaged) {
                r->triaged++;
                CHECK_RC(d->reason, (int) (d->time_ms / 1000 % 7));
                CHECK_RC(d->verdict, (int) (d->time_ms / 1000 % 5));
                if (d->reason == 1) {
                        CHECK_STREQ(d->booleans, "container_manage_cgroup virt_use_nfs");
                        r->with_booleans++;
                } else
                        CHECK(!d->booleans);
        }
        return 0;
}

static Rows query_all(Store *s, const DenialFilter *f) {
        Rows r = {};
        StorePage page = {};
        int64_t after = 0;
        bool has_after = false;
        do {
                CHECK_RC(store_query(s, f, false, has_after ? &after : NULL, 1000, count_row, &r,
                                     &page),
                         0);
                after = page.next;
                has_after = true;
        } while (page.more);
        return r;
}

static int64_t sql_int(Store *s, const char *sql) {
        sqlite3_stmt *st;
        CHECK_RC(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        int64_t v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

int main(void) {
        static Denial all[N];
        char *tmpdir = fixture_tmpdir("store-triage");
        _cleanup_(freep) char *path = fixture_path(tmpdir, "t.db");
        StoreTriageProgress progress;
        StoreTriageStep step;
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        /* A store created with triage needs no pass. */
        CHECK_RC(store_triage_progress(s, &progress), 0);
        CHECK(progress.done && !progress.started);

        for (unsigned i = 0; i < N; i++) {
                all[i] = fixture_denial(BASE_MS + (int64_t) i * 1000, 100 + i);
                if (i % 10 == 9)
                        set_string(&all[i].tcontext, NULL); /* triage has no answer */
        }
        fixture_store_all(s, all, N, 64);
        /* Make it a store of before triage: every row NULL but every sixth, which a triage
         * without a policy stored (-1) and the pass leaves alone; no pass done. */
        CHECK_RC(sqlite3_exec(s->db,
                              "UPDATE denials SET reason = NULL, verdict = NULL, booleans = "
                              "NULL; UPDATE denials SET reason = -1, verdict = -1 WHERE (id >> "
                              "20) / 1000 % 6 = 0; DELETE FROM meta WHERE key LIKE 'triage_pass%'",
                              NULL, NULL, NULL),
                 SQLITE_OK);
        size_t n_null = (size_t) sql_int(s, "SELECT count(*) FROM denials WHERE reason IS NULL");
        size_t n_minus = (size_t) sql_int(s, "SELECT count(*) FROM denials WHERE reason = -1");
        CHECK_RC(n_null + n_minus, N);
        CHECK(n_minus > 0 && n_null > 0);
        CHECK_RC(store_triage_progress(s, &progress), 0);
        CHECK(!progress.done && !progress.started);
        /* Before the pass, both are "none" to a filter. */
        Rows r = query_all(s, &(DenialFilter){.reason = FILTER_ONE("none")});
        CHECK_RC(r.n, N);

        /* Bad arguments. */
        CHECK_RC(store_triage_step(s, 0, 1000, fake_triage, NULL, &step), -EINVAL);
        CHECK_RC(store_triage_step(s, 10, 1000, NULL, NULL, &step), -EINVAL);

        /* A step reads at most its rows; with no time at all, still one row. */
        CHECK_RC(store_triage_step(s, 7, 10 * 1000 * 1000, fake_triage, NULL, &step), 0);
        CHECK_RC(step.read, 7);
        CHECK(step.more);
        CHECK_RC(step.triaged + step.untriageable, calls);
        CHECK_RC(store_triage_step(s, 50, 0, fake_triage, NULL, &step), 0);
        CHECK_RC(step.read, 1);
        CHECK(step.more);
        CHECK_RC(store_triage_progress(s, &progress), 0);
        CHECK(progress.started && !progress.done);
        CHECK_RC(progress.until_ms, BASE_MS + 7 * 1000);

        /* Restartable: closed and opened again, it goes on from there. */
        store_free(s);
        CHECK_RC(store_open(path, &s), 0);
        unsigned steps = 0;
        do {
                CHECK_RC(store_triage_step(s, 13, 10 * 1000 * 1000, fake_triage, NULL, &step), 0);
                CHECK(step.read <= 13);
                steps++;
                CHECK(steps < N);
        } while (step.more);
        CHECK_RC(calls, n_null); /* every NULL row once, no -1 row */
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials WHERE reason IS NULL"), 0);
        size_t n_unanswered = 0;
        for (unsigned i = 0; i < N; i++)
                if (i % 10 == 9 && (BASE_MS / 1000 + i) % 6 != 0)
                        n_unanswered++;
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials WHERE reason = -1"),
                 (int64_t) (n_minus + n_unanswered));
        CHECK_RC(store_triage_progress(s, &progress), 0);
        CHECK(progress.done);
        CHECK_RC(progress.triaged, n_null - n_unanswered);
        CHECK_RC(progress.until_ms, BASE_MS + (N - 1) * 1000);

        /* What queries read now: the reasons, booleans; "none" are the -1 rows only. */
        r = query_all(s, NULL);
        CHECK_RC(r.n, N);
        CHECK_RC(r.triaged, n_null - n_unanswered);
        CHECK(r.with_booleans > 0);
        r = query_all(s, &(DenialFilter){.reason = FILTER_ONE("none")});
        CHECK_RC(r.n, n_minus + n_unanswered);

        /* Done: a further step reads nothing and calls nothing. */
        unsigned before = calls;
        CHECK_RC(store_triage_step(s, 100, 1000 * 1000, fake_triage, NULL, &step), 0);
        CHECK_RC(step.read, 0);
        CHECK(!step.more);
        CHECK_RC(calls, before);

        store_free(s);
        for (unsigned i = 0; i < N; i++)
                denial_done(&all[i]);
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
