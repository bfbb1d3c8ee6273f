/* SPDX-License-Identifier: MIT */
/* The store's counts for the metrics (store-metrics.c): denials by (verdict, reason) are written
 * with the batch's commit (a storm's summary counts its count), follow an update of a row's
 * triage or count (the trigger), and a store of a version before them is seeded from its rows,
 * with what retention removed before in the untriaged cell. */

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "fixtures.h"
#include "macro.h"
#include "store.h"
#include "tests/unit/test.h"
#include "verdict.h"

static char *tmpdir;

typedef struct Cells {
        uint64_t none, boolean_boolean, te_escape, sum;
        size_t n;
} Cells;

static int cell_add(const char *verdict, const char *reason, uint64_t count, void *userdata) {
        Cells *c = userdata;
        c->n++;
        c->sum += count;
        if (!verdict && !reason)
                c->none += count;
        else if (verdict && reason && strcmp(verdict, "boolean") == 0 &&
                 strcmp(reason, "boolean") == 0)
                c->boolean_boolean += count;
        else if (verdict && reason && strcmp(verdict, "escape") == 0 && strcmp(reason, "te") == 0)
                c->te_escape += count;
        return 0;
}

static Cells cells(Store *s) {
        Cells c = {};
        CHECK(store_triage_counts(s, cell_add, &c) == 0);
        return c;
}

static void add(Store *s, uint64_t serial, int verdict, int reason, uint64_t count) {
        Denial d = fixture_denial(FIXTURE_TIME_MS + (int64_t) serial, serial);
        if (verdict >= 0) {
                d.triaged = true;
                d.verdict = verdict;
                d.reason = reason;
        }
        d.count = count;
        CHECK(store_add(s, &d) == 1);
        denial_done(&d);
}

static void sql(const char *path, const char *statement) {
        sqlite3 *db;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, statement, NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);
}

static void test_counts(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "metrics.db");
        Cells c;
        Store *s;

        CHECK(store_open(path, &s) == 0);
        c = cells(s);
        CHECK(c.n == 0 && c.sum == 0);
        add(s, 1, TRIAGE_VERDICT_BOOLEAN, TRIAGE_REASON_BOOLEAN, 1);
        add(s, 2, TRIAGE_VERDICT_BOOLEAN, TRIAGE_REASON_BOOLEAN, 5); /* a storm's summary */
        add(s, 3, TRIAGE_VERDICT_ESCAPE, TRIAGE_REASON_TE, 1);
        add(s, 4, -1, -1, 1);
        c = cells(s);
        CHECK(c.sum == 0); /* not before the commit */
        CHECK(store_commit(s, NULL) == 4);
        c = cells(s);
        CHECK(c.n == 3 && c.sum == 8 && c.boolean_boolean == 6 && c.te_escape == 1 && c.none == 1);
        store_free(s);

        /* a row re-triaged and a row recounted afterwards: the trigger moves their shares */
        sql(path, "UPDATE denials SET verdict = NULL, reason = NULL WHERE serial = 3; "
                  "UPDATE denials SET count = 7 WHERE serial = 2");
        CHECK(store_open(path, &s) == 0);
        c = cells(s);
        CHECK(c.sum == 10 && c.boolean_boolean == 8 && c.te_escape == 0 && c.none == 2);
        store_free(s);

        /* a store from before the table: seeded from the rows; what retention removed before
         * (the totals' count beyond the rows') in the untriaged cell */
        sql(path, "DROP TRIGGER denials_retriaged; DROP TABLE triage_totals; "
                  "DELETE FROM denials WHERE serial = 1");
        CHECK(store_open(path, &s) == 0);
        c = cells(s);
        CHECK(c.sum == 10 && c.boolean_boolean == 7 && c.none == 3);
        store_free(s);
}

int main(void) {
        tmpdir = fixture_tmpdir("store-metrics");
        test_counts();
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
