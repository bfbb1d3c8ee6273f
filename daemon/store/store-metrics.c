/* SPDX-License-Identifier: MIT */
/* Store: the counts the metrics endpoint needs that `top` does not keep (store.h "Metrics"):
 * denials by triage (verdict, reason), and by the pod's namespace.
 *
 *   triage_totals(verdict, reason, count)   -- -1 for "not triaged"; WITHOUT ROWID on both
 *
 * Decisions:
 * - An aggregate of its own, not a scan: a scrape must not read the denial rows. Its cells are
 *   the closed sets of TriageVerdict x TriageReason (plus "none"), so it has at most 48 rows.
 *   The batch adds its deltas at commit (in its transaction, as the totals), and a trigger
 *   moves a row's share when its triage or its count is updated afterwards (a re-triage, a
 *   storm's summary recounted), so the table stays the sum of what was stored. Retention does
 *   not lower it, as it does not lower the totals: the sum is the total of
 *   avcwatch_denials_total.
 * - Created additively at the first open that lacks it (user_version stays 2), seeded from the
 *   denial rows in the same transaction (one scan, once), and what retention removed before it
 *   existed (the totals' count beyond the rows') is put in the "none" cell, so that the sums
 *   still agree.
 * - Namespaces come from the registry's containers joined to the totals: bounded to the top N
 *   like containers and images (metrics.c). */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "store-private.h"
#include "verdict.h"

#define TRIAGE_CELLS_V (_TRIAGE_VERDICT_MAX + 1) /* the last: not triaged */
#define TRIAGE_CELLS_R (_TRIAGE_REASON_MAX + 1)

struct StoreMetrics {
        uint64_t delta[TRIAGE_CELLS_V][TRIAGE_CELLS_R];
        bool dirty;
        sqlite3_stmt *add;
};

/* One row's share of triage_totals, added (sign 1) or taken away (-1). */
#define SQL_TRIAGE_SHARE(row, sign)                                                                \
        "INSERT INTO triage_totals(verdict, reason, count) VALUES (coalesce(" row                  \
        ".verdict, -1), coalesce(" row ".reason, -1), " sign " * coalesce(" row                    \
        ".count, 1)) ON CONFLICT DO UPDATE SET count = count + excluded.count;\n"

static const char triage_table_sql[] =
        "CREATE TABLE triage_totals (\n"
        "  verdict INTEGER NOT NULL,\n" /* TriageVerdict, -1: not triaged */
        "  reason INTEGER NOT NULL,\n"  /* TriageReason, -1: not triaged */
        "  count INTEGER NOT NULL,\n"
        "  PRIMARY KEY (verdict, reason)\n"
        ") WITHOUT ROWID;\n"
        "INSERT INTO triage_totals(verdict, reason, count) SELECT coalesce(verdict, -1), "
        "coalesce(reason, -1), sum(coalesce(count, 1)) FROM denials GROUP BY 1, 2;\n"
        /* what retention removed before: not known, "none" */
        "INSERT INTO triage_totals(verdict, reason, count) SELECT -1, -1, "
        "(SELECT coalesce(sum(count), 0) FROM totals) - (SELECT coalesce(sum(count), 0) FROM "
        "triage_totals) WHERE (SELECT coalesce(sum(count), 0) FROM totals) > (SELECT "
        "coalesce(sum(count), 0) FROM triage_totals) ON CONFLICT DO UPDATE SET count = count + "
        "excluded.count;\n"
        "CREATE TRIGGER denials_retriaged AFTER UPDATE OF verdict, reason, count ON denials\n"
        "WHEN old.verdict IS NOT new.verdict OR old.reason IS NOT new.reason OR old.count IS NOT "
        "new.count BEGIN\n"
        "  " SQL_TRIAGE_SHARE("old", "-1") "  " SQL_TRIAGE_SHARE("new", "1") "END;\n";

int store_metrics_migrate(Store *s) {
        int64_t have;
        int r;

        r = store_sql_int64(s, s->db,
                            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                            "'triage_totals'",
                            &have);
        if (r < 0 || have > 0)
                return r;
        r = store_exec(s, s->db, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = store_exec(s, s->db, triage_table_sql);
        if (r >= 0)
                r = store_exec(s, s->db, "COMMIT");
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

int store_metrics_prepare(Store *s) {
        StoreMetrics *m = calloc(1, sizeof(StoreMetrics));
        int rc;

        if (!m)
                return -ENOMEM;
        s->metrics = m;
        rc = sqlite3_prepare_v3(s->db,
                                "INSERT INTO triage_totals(verdict, reason, count) VALUES (?1, "
                                "?2, ?3) ON CONFLICT DO UPDATE SET count = count + excluded.count",
                                -1, SQLITE_PREPARE_PERSISTENT, &m->add, NULL);
        return rc == SQLITE_OK ? 0 : store_error(s, s->db, rc);
}

void store_metrics_free(Store *s) {
        if (!s->metrics)
                return;
        sqlite3_finalize(s->metrics->add);
        free(s->metrics);
        s->metrics = NULL;
}

void store_metrics_note(Store *s, const Denial *d) {
        StoreMetrics *m = s->metrics;
        size_t v = _TRIAGE_VERDICT_MAX, r = _TRIAGE_REASON_MAX;

        if (!m)
                return;
        if (d->triaged && d->verdict >= 0 && d->verdict < _TRIAGE_VERDICT_MAX && d->reason >= 0 &&
            d->reason < _TRIAGE_REASON_MAX) {
                v = (size_t) d->verdict;
                r = (size_t) d->reason;
        }
        m->delta[v][r] += MAX(d->count, 1);
        m->dirty = true;
}

int store_metrics_flush(Store *s) {
        StoreMetrics *m = s->metrics;
        int r;

        if (!m || !m->dirty)
                return 0;
        for (size_t v = 0; v < TRIAGE_CELLS_V; v++)
                for (size_t c = 0; c < TRIAGE_CELLS_R; c++) {
                        if (m->delta[v][c] == 0)
                                continue;
                        sqlite3_bind_int(m->add, 1, v == _TRIAGE_VERDICT_MAX ? -1 : (int) v);
                        sqlite3_bind_int(m->add, 2, c == _TRIAGE_REASON_MAX ? -1 : (int) c);
                        sqlite3_bind_int64(m->add, 3, (int64_t) m->delta[v][c]);
                        r = store_step_done(s, m->add);
                        if (r < 0)
                                return r;
                }
        return 0;
}

void store_metrics_forget(Store *s) {
        if (!s->metrics)
                return;
        memset(s->metrics->delta, 0, sizeof(s->metrics->delta));
        s->metrics->dirty = false;
}

int store_triage_counts(Store *s, store_triage_count_cb cb, void *userdata) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc, r;

        if (!s || !cb)
                return -EINVAL;
        rc = sqlite3_prepare_v2(s->ro,
                                "SELECT verdict, reason, count FROM triage_totals WHERE count > 0 "
                                "ORDER BY verdict, reason",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                int v = sqlite3_column_int(st, 0), c = sqlite3_column_int(st, 1);
                r = cb(v >= 0 && v < _TRIAGE_VERDICT_MAX ? triage_verdict_to_string(v) : NULL,
                       c >= 0 && c < _TRIAGE_REASON_MAX ? triage_reason_to_string(c) : NULL,
                       (uint64_t) sqlite3_column_int64(st, 2), userdata);
                if (r != 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_error(s, s->ro, rc);
}

int store_namespace_counts(Store *s, unsigned limit, store_namespace_count_cb cb, void *userdata) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc, r;

        if (!s || !cb)
                return -EINVAL;
        rc = sqlite3_prepare_v2(s->ro,
                                "SELECT c.pod_namespace, sum(t.count) AS n, sum(sum(t.count)) "
                                "OVER () FROM totals t JOIN "
                                "containers c ON c.id = t.container WHERE c.pod_namespace IS NOT "
                                "NULL AND c.pod_namespace != '' GROUP BY c.pod_namespace HAVING "
                                "n > 0 ORDER BY n DESC, c.pod_namespace LIMIT ?1",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_int64(st, 1, limit);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = cb((const char *) sqlite3_column_text(st, 0),
                       (uint64_t) sqlite3_column_int64(st, 1),
                       (uint64_t) sqlite3_column_int64(st, 2), userdata);
                if (r != 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_error(s, s->ro, rc);
}
