/* SPDX-License-Identifier: MIT */
/* Store, rankings (store_top) and histograms (store_histogram) from the aggregate tables: whole
 * hours from buckets, all time from totals, and denial rows only for the partial hours at the
 * ends of a range or for a filter that only rows can answer (comm, path), bounded by
 * STORE_SCAN_BUDGET_USEC of CPU. Filters are planned as for store_query (store-query-plan.c). */

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strutil.h"
#include "triage-names.h"
#include "store-private.h"
#include "store-query-plan.h"
#include "store.h"

/* ---- aggregates: top and histograms ---- */

/* Where the counts of a time range come from: whole hours from buckets, the partial hours at the
 * ends from denial rows; all time from totals. */
typedef struct TimeParts {
        bool totals;
        bool buckets;
        int64_t h1, h2; /* hours, inclusive */
        unsigned n_raw;
        int64_t raw_lo[2], raw_hi[2]; /* id ranges, inclusive */
} TimeParts;

static int64_t floor_hour_ms(int64_t t) {
        return store_time_hour(t) * STORE_HOUR_MS;
}

static int64_t ceil_hour_ms(int64_t t) {
        int64_t f = floor_hour_ms(t);
        return f == t ? t : f + STORE_HOUR_MS;
}

static void raw_part(TimeParts *t, int64_t from_ms, int64_t to_ms) {
        int64_t to = store_time_id(to_ms);
        t->raw_lo[t->n_raw] = store_time_id(from_ms);
        t->raw_hi[t->n_raw] = to == INT64_MIN ? INT64_MIN : to - 1;
        t->n_raw++;
}

/* pruned_until_ms: retention removed the rows before it; partial hours there come from the
 * hourly buckets whole (rounded out), since their rows are gone. */
static void time_parts(const Plan *p, bool rows_only, bool allow_totals, int64_t pruned_until_ms,
                       TimeParts *ret) {
        const DenialFilter *f = p->f;
        TimeParts t = {};

        if (rows_only) {
                t.n_raw = 1;
                t.raw_lo[0] = p->lo;
                t.raw_hi[0] = p->hi;
        } else if (!f->has_since && !f->has_until && allow_totals)
                t.totals = true;
        else {
                int64_t first = !f->has_since                   ? INT64_MIN
                                : f->since_ms < pruned_until_ms ? floor_hour_ms(f->since_ms)
                                                                : ceil_hour_ms(f->since_ms);
                int64_t end = !f->has_until                   ? INT64_MAX
                              : f->until_ms < pruned_until_ms ? ceil_hour_ms(f->until_ms)
                                                              : floor_hour_ms(f->until_ms);
                if (!f->has_since || !f->has_until || first < end) {
                        t.buckets = true;
                        t.h1 = f->has_since ? store_time_hour(first) : INT64_MIN;
                        t.h2 = f->has_until ? store_time_hour(end) - 1 : INT64_MAX;
                        if (f->has_since && f->since_ms < first)
                                raw_part(&t, f->since_ms, first);
                        if (f->has_until && end < f->until_ms)
                                raw_part(&t, end, f->until_ms);
                } else
                        raw_part(&t, f->since_ms, f->until_ms);
        }
        *ret = t;
}

static void time_parts_bind(const TimeParts *t, sqlite3_stmt *st) {
        store_bind_named_int64(st, ":h1", t->h1);
        store_bind_named_int64(st, ":h2", t->h2);
        for (unsigned i = 0; i < t->n_raw; i++) {
                char name[16];
                snprintf(name, sizeof(name), ":r%ulo", i);
                store_bind_named_int64(st, name, t->raw_lo[i]);
                snprintf(name, sizeof(name), ":r%uhi", i);
                store_bind_named_int64(st, name, t->raw_hi[i]);
        }
}

/* The parts as one UNION ALL of (signature, container, mcs, count, first_ms, last_ms, bin,
 * reason, verdict), reason and verdict from rows only (-1: untriaged; NULL from the aggregates),
 * bin being the start of the histogram bin (:iv ms wide, aligned in a clock :off ms east of UTC) a
 * row belongs to. */
#define SQL_FLOOR_LOCAL(t) "((" t ") - ((" t ") < 0) * (:iv - 1)) / :iv * :iv"
#define SQL_FLOOR(t) SQL_FLOOR_LOCAL("(" t ") + :off") " - :off"
static void time_parts_source(SqlBuf *b, const TimeParts *t, const Plan *p) {
        const char *sep = "";

        if (t->totals) {
                store_sql_add(
                        b, "SELECT a.signature AS signature, a.container AS container, a.mcs AS "
                           "mcs, a.count AS count, a.first_ms AS first_ms, a.last_ms AS last_ms, "
                           "0 AS bin, NULL AS reason, NULL AS verdict FROM totals a WHERE 1");
                store_plan_conditions(b, p, "a", DRIVE_SCAN, true);
                sep = " UNION ALL ";
        }
        if (t->buckets) {
                store_sql_addf(b,
                               "%sSELECT a.signature AS signature, a.container AS container, a.mcs "
                               "AS mcs, a.count AS count, a.first_ms AS first_ms, a.last_ms AS "
                               "last_ms, " SQL_FLOOR(
                                       "a.hour * 3600000") " AS bin, NULL AS reason, NULL AS "
                                                           "verdict FROM buckets a "
                                                           "WHERE a.hour BETWEEN :h1 AND :h2",
                               sep);
                store_plan_conditions(b, p, "a", DRIVE_SCAN, true);
                sep = " UNION ALL ";
        }
        for (unsigned i = 0; i < t->n_raw; i++) {
                store_sql_addf(
                        b,
                        "%sSELECT d.signature AS signature, coalesce(d.container, 0) AS "
                        "container, coalesce(d.mcs, 0) AS mcs, coalesce(d.count, 1) AS count, "
                        "d.id >> 20 AS first_ms, d.id >> 20 AS last_ms, " SQL_FLOOR(
                                "d.id >> 20") " AS bin, coalesce(d.reason, -1) AS reason, "
                                              "coalesce(d.verdict, -1) AS verdict FROM "
                                              "denials d WHERE d.id BETWEEN :r%ulo AND :r%uhi",
                        sep, i, i);
                store_plan_conditions(b, p, "d", DRIVE_SCAN, false);
                sep = " UNION ALL ";
        }
}

/* The time before which retention removed rows (0 when it never did). */
static int pruned_until(Store *s, int64_t *ret) {
        return store_sql_int64(s, s->ro,
                               "SELECT coalesce(max(value), 0) FROM meta WHERE key = "
                               "'pruned_until_ms'",
                               ret);
}

/* Prepares the aggregate query in b with the plan's and the time parts' parameters bound. */
static int prepare_aggregate(Store *s, const SqlBuf *b, const Plan *p, const TimeParts *t,
                             sqlite3_stmt **ret) {
        sqlite3_stmt *st;
        int rc;

        if (b->overflow)
                return -E2BIG;
        rc = sqlite3_prepare_v2(s->ro, b->text, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        store_plan_bind(p, st);
        time_parts_bind(t, st);
        *ret = st;
        return 0;
}

/* Runs st under the scan budget, calling row() for each row. */
static int run_budgeted(Store *s, sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *userdata),
                        void *userdata) {
        Budget budget = {.armed = true};
        int rc, r = 0;

        if (__builtin_add_overflow(store_cpu_usec(), (uint64_t) STORE_SCAN_BUDGET_USEC,
                                   &budget.deadline_usec))
                budget.deadline_usec = UINT64_MAX;
        sqlite3_progress_handler(s->ro, STORE_PROGRESS_OPS, store_budget_progress, &budget);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                budget.armed = false; /* the answer is being delivered: let it finish */
                r = row(st, userdata);
                if (r != 0)
                        break;
        }
        sqlite3_progress_handler(s->ro, 0, NULL, NULL);
        if (r != 0)
                return r;
        if (rc == SQLITE_INTERRUPT) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "answering needs more than %d s of reading denial rows: narrow the time "
                         "range, or filter by container, image, MCS or type rather than by comm "
                         "or path",
                         STORE_SCAN_BUDGET_USEC / 1000000);
                return -ETIME;
        }
        if (rc != SQLITE_DONE)
                return store_error(s, s->ro, rc);
        return 0;
}

static const char *const top_by_names[_STORE_TOP_BY_MAX] = {
        [STORE_TOP_SIGNATURE] = "signature",
        [STORE_TOP_CONTAINER] = "container",
        [STORE_TOP_IMAGE] = "image",
        [STORE_TOP_TCLASS] = "tclass",
        [STORE_TOP_VERDICT] = "verdict",
        [STORE_TOP_REASON] = "reason",
        [STORE_TOP_POD] = "pod",
        [STORE_TOP_NAMESPACE] = "namespace",
};

const char *store_top_by_to_string(StoreTopBy by) {
        return by >= 0 && by < _STORE_TOP_BY_MAX ? top_by_names[by] : NULL;
}

int store_top_by_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(top_by_names); i++)
                if (strcmp(s, top_by_names[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

/* Per grouping: the GROUP BY keys, and how a totals row t (with tg, tc) is in the same group as
 * the current one (for new_only). */
static const struct {
        const char *group, *same;
} top_groups[_STORE_TOP_BY_MAX] = {
        [STORE_TOP_SIGNATURE] = {"g.result, g.source_type, g.target_type, g.tclass, "
                                 "g.permissions, avcwatch_image_key(c.image)",
                                 "tg.result = g.result AND tg.source_type = g.source_type AND "
                                 "tg.target_type = g.target_type AND tg.tclass = g.tclass AND "
                                 "tg.permissions = g.permissions AND avcwatch_image_key(tc.image) "
                                 "IS avcwatch_image_key(c.image)"},
        [STORE_TOP_CONTAINER] = {"a.container, CASE WHEN a.container = 0 THEN a.mcs END",
                                 "t.container = a.container AND (a.container <> 0 OR t.mcs = "
                                 "a.mcs)"},
        [STORE_TOP_IMAGE] = {"avcwatch_image_key(c.image)",
                             "avcwatch_image_key(tc.image) IS avcwatch_image_key(c.image)"},
        [STORE_TOP_TCLASS] = {"g.tclass", "tg.tclass = g.tclass"},
        /* Rows only (top_by_triage()): new_only reads them from the beginning. */
        [STORE_TOP_VERDICT] = {"a.verdict", NULL},
        [STORE_TOP_REASON] = {"a.reason", NULL},
        /* A pod's name is unique within its namespace only. */
        [STORE_TOP_POD] = {"c.pod_namespace, c.pod",
                           "tc.pod_namespace IS c.pod_namespace AND tc.pod IS c.pod"},
        [STORE_TOP_NAMESPACE] = {"c.pod_namespace", "tc.pod_namespace IS c.pod_namespace"},
};

/* Triage groupings come from denial rows: the aggregates have no reason or verdict. */
static bool top_by_triage(StoreTopBy by) {
        return by == STORE_TOP_VERDICT || by == STORE_TOP_REASON;
}

/* A reason / verdict index as its name, "none" for -1 (untriaged). */
static const char *triage_column_name(sqlite3_stmt *st, int i, const char *const *names, size_t n) {
        if (sqlite3_column_type(st, i) == SQLITE_NULL)
                return NULL;
        int v = sqlite3_column_int(st, i);
        return v >= 0 && (size_t) v < n ? names[v] : TRIAGE_NONE;
}

enum {
        TOP_RESULT,
        TOP_SOURCE_TYPE,
        TOP_TARGET_TYPE,
        TOP_TCLASS,
        TOP_PERMISSIONS,
        TOP_IMAGE,
        TOP_CONTAINER_ID,
        TOP_NAME,
        TOP_ENGINE,
        TOP_POD,
        TOP_MCS,
        TOP_COUNT,
        TOP_FIRST,
        TOP_LAST,
        TOP_CONTAINERS,
        TOP_SIGNATURES,
        TOP_VERDICT,
        TOP_REASON,
        TOP_GROUP_POD,
        TOP_GROUP_NAMESPACE,
};

typedef struct TopCall {
        store_top_cb cb;
        void *userdata;
} TopCall;

static const char *column_text(sqlite3_stmt *st, int i) {
        return (const char *) sqlite3_column_text(st, i);
}

static int top_row(sqlite3_stmt *st, void *userdata) {
        TopCall *call = userdata;
        StoreTopRow row = {
                .result = column_text(st, TOP_RESULT),
                .source_type = column_text(st, TOP_SOURCE_TYPE),
                .target_type = column_text(st, TOP_TARGET_TYPE),
                .tclass = column_text(st, TOP_TCLASS),
                .permissions = column_text(st, TOP_PERMISSIONS),
                .image = column_text(st, TOP_IMAGE),
                .mcs = column_text(st, TOP_MCS),
                .count = (uint64_t) sqlite3_column_int64(st, TOP_COUNT),
                .first_ms = sqlite3_column_int64(st, TOP_FIRST),
                .last_ms = sqlite3_column_int64(st, TOP_LAST),
                .containers = (uint64_t) sqlite3_column_int64(st, TOP_CONTAINERS),
                .signatures = (uint64_t) sqlite3_column_int64(st, TOP_SIGNATURES),
                .verdict = triage_column_name(st, TOP_VERDICT, triage_verdict_names,
                                              TRIAGE_VERDICTS_N),
                .reason = triage_column_name(st, TOP_REASON, triage_reason_names, TRIAGE_REASONS_N),
                .pod = column_text(st, TOP_GROUP_POD),
                .pod_namespace = column_text(st, TOP_GROUP_NAMESPACE),
        };
        if (sqlite3_column_type(st, TOP_CONTAINER_ID) != SQLITE_NULL) {
                row.has_container = true;
                row.container = (ContainerRef){
                        .id = (char *) column_text(st, TOP_CONTAINER_ID),
                        .name = (char *) column_text(st, TOP_NAME),
                        .image = (char *) column_text(st, TOP_IMAGE),
                        .engine = (char *) column_text(st, TOP_ENGINE),
                        .pod = (char *) column_text(st, TOP_POD),
                };
        }
        return call->cb(&row, call->userdata);
}

int store_top(Store *s, const DenialFilter *f, StoreTopBy by, bool new_only, unsigned limit,
              store_top_cb cb, void *userdata) {
        static const DenialFilter empty = {};
        _cleanup_(store_plan_done) Plan p = {};
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_(freep) SqlBuf *b = NULL;
        TimeParts t;
        int r;

        if (!s || !cb || by < 0 || by >= _STORE_TOP_BY_MAX)
                return -EINVAL;
        if (!f)
                f = &empty;
        if (new_only && !f->has_since)
                return -EINVAL;
        if (limit == 0)
                limit = STORE_TOP_DEFAULT;
        limit = MIN(limit, (unsigned) STORE_TOP_MAX);
        r = store_plan_resolve(s, f, &p);
        if (r < 0)
                return r;
        if (p.empty)
                return 0;
        /* With comm or path only rows can say when a group was first seen: read them from the
         * beginning, count only those in the range. */
        const bool rows = store_plan_needs_rows(&p) || top_by_triage(by);
        const bool rows_new = new_only && rows;
        int64_t horizon;
        r = pruned_until(s, &horizon);
        if (r < 0)
                return r;
        time_parts(&p, rows, true, horizon, &t);
        if (rows_new)
                t.raw_lo[0] = INT64_MIN;
        /* A pod's group holds the rows of every container of it, and "no pod" holds the
         * unattributed ones too: totals rows that re-attribution emptied (count 0, their
         * first_ms left as it was) must not date such a group. */
        const bool pods = by == STORE_TOP_POD || by == STORE_TOP_NAMESPACE;
        const char *inr =
                rows_new ? (pods ? "a.first_ms >= :since AND a.count > 0" : "a.first_ms >= :since")
                : pods   ? "a.count > 0"
                         : "1";

        b = calloc(1, sizeof(SqlBuf));
        if (!b)
                return -ENOMEM;
        const bool sig = by == STORE_TOP_SIGNATURE, ctr = by == STORE_TOP_CONTAINER;
        store_sql_add(b, "SELECT ");
        const char *sig_columns[] = {"result", "source_type", "target_type", "tclass",
                                     "permissions"};
        for (size_t i = 0; i < ELEMENTSOF(sig_columns); i++)
                if (sig || (by == STORE_TOP_TCLASS && i == 3))
                        store_sql_addf(b, "(SELECT text FROM strings WHERE id = g.%s), ",
                                       sig_columns[i]);
                else
                        store_sql_add(b, "NULL, ");
        /* One image is one row however engines spell it (image_ref_key()); a container row
         * keeps its engine's own spelling. */
        store_sql_add(b, ctr                            ? "c.image, "
                         : sig || by == STORE_TOP_IMAGE ? "avcwatch_image_key(c.image), "
                                                        : "NULL, ");
        store_sql_add(b, ctr ? "c.container_id, c.name, c.engine, c.pod, CASE WHEN a.container = 0 "
                               "THEN (SELECT text FROM strings WHERE id = a.mcs) END, "
                             : "NULL, NULL, NULL, NULL, NULL, ");
        store_sql_addf(
                b,
                "sum(CASE WHEN %s THEN a.count END) AS n, min(CASE WHEN %s THEN a.first_ms END) "
                "AS first, max(CASE WHEN %s THEN a.last_ms END), count(DISTINCT CASE WHEN %s "
                "THEN nullif(a.container, 0) END), count(DISTINCT CASE WHEN %s THEN a.signature "
                "END), %s, %s, %s, %s FROM (",
                inr, inr, inr, inr, inr, by == STORE_TOP_VERDICT ? "a.verdict" : "NULL",
                by == STORE_TOP_REASON ? "a.reason" : "NULL",
                by == STORE_TOP_POD ? "c.pod" : "NULL",
                by == STORE_TOP_POD || by == STORE_TOP_NAMESPACE ? "c.pod_namespace" : "NULL");
        time_parts_source(b, &t, &p);
        store_sql_addf(b,
                       ") AS a LEFT JOIN signatures g ON g.id = a.signature LEFT JOIN containers c "
                       "ON c.id = a.container GROUP BY %s HAVING n > 0",
                       top_groups[by].group);
        if (rows_new)
                store_sql_add(b, " AND min(a.first_ms) >= :since");
        else if (new_only) {
                store_sql_add(
                        b, " AND (SELECT min(t.first_ms) FROM totals t LEFT JOIN signatures tg ON "
                           "tg.id = t.signature LEFT JOIN containers tc ON tc.id = t.container "
                           "WHERE ");
                store_sql_add(b, top_groups[by].same);
                store_plan_conditions(b, &p, "t", DRIVE_SCAN, true);
                store_sql_add(b, ") >= :since");
        }
        store_sql_add(b, " ORDER BY n DESC, first ASC LIMIT :limit");
        r = prepare_aggregate(s, b, &p, &t, &st);
        if (r < 0)
                return r;
        store_bind_named_int64(st, ":iv", 1);
        store_bind_named_int64(st, ":off", 0);
        store_bind_named_int64(st, ":since", f->since_ms);
        store_bind_named_int64(st, ":limit", limit);
        TopCall call = {.cb = cb, .userdata = userdata};
        return run_budgeted(s, st, top_row, &call);
}

typedef struct HistogramCall {
        store_histogram_cb cb;
        void *userdata;
        size_t bins;
        Store *s;
} HistogramCall;

static int histogram_row(sqlite3_stmt *st, void *userdata) {
        HistogramCall *call = userdata;
        if (++call->bins > STORE_HISTOGRAM_BINS_MAX) {
                snprintf(call->s->last_error, sizeof(call->s->last_error),
                         "more than %d bins: choose a longer interval or a shorter range",
                         STORE_HISTOGRAM_BINS_MAX);
                return -E2BIG;
        }
        return call->cb(sqlite3_column_int64(st, 0), (uint64_t) sqlite3_column_int64(st, 1),
                        call->userdata);
}

int store_histogram(Store *s, const DenialFilter *f, int64_t interval_ms, store_histogram_cb cb,
                    void *userdata) {
        return store_histogram_offset(s, f, interval_ms, 0, cb, userdata);
}

int store_histogram_offset(Store *s, const DenialFilter *f, int64_t interval_ms, int64_t offset_ms,
                           store_histogram_cb cb, void *userdata) {
        static const DenialFilter empty = {};
        _cleanup_(store_plan_done) Plan p = {};
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_(freep) SqlBuf *b = NULL;
        TimeParts t;
        int r;

        if (!s || !cb || interval_ms <= 0 || interval_ms >= STORE_TIME_MAX ||
            offset_ms <= -24 * STORE_HOUR_MS || offset_ms >= 24 * STORE_HOUR_MS)
                return -EINVAL;
        if (!f)
                f = &empty;
        r = store_plan_resolve(s, f, &p);
        if (r < 0)
                return r;
        if (p.empty)
                return 0;
        /* Hourly buckets fall into one bin each only when bins are whole hours. */
        int64_t horizon;
        r = pruned_until(s, &horizon);
        if (r < 0)
                return r;
        time_parts(&p,
                   store_plan_needs_rows(&p) || interval_ms % STORE_HOUR_MS != 0 ||
                           offset_ms % STORE_HOUR_MS != 0,
                   false, horizon, &t);

        b = calloc(1, sizeof(SqlBuf));
        if (!b)
                return -ENOMEM;
        store_sql_add(b, "SELECT a.bin, sum(a.count) AS n FROM (");
        time_parts_source(b, &t, &p);
        store_sql_add(b, ") AS a GROUP BY a.bin HAVING n > 0 ORDER BY a.bin");
        r = prepare_aggregate(s, b, &p, &t, &st);
        if (r < 0)
                return r;
        store_bind_named_int64(st, ":iv", interval_ms);
        store_bind_named_int64(st, ":off", offset_ms);
        HistogramCall call = {.cb = cb, .userdata = userdata, .s = s};
        return run_budgeted(s, st, histogram_row, &call);
}
