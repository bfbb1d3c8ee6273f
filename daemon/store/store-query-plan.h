/* SPDX-License-Identifier: MIT */
#pragma once

/* What the query files share (store-query.c: store_query; store-top.c: store_top and
 * store_histogram): the SQL text buffer, the filter resolved into a plan (store-query-plan.c)
 * and the CPU time budget. Not for other modules. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "store-private.h"
#include "store.h"

#define STORE_SQL_MAX 65536           /* a generated query (lists of values make it long) */
#define STORE_QUERY_CONTAINERS_MAX 64 /* containers a filter may name and be driven by */
#define STORE_QUERY_SIGNATURES_MAX 64 /* signatures bound one by one (else a subquery) */
#define STORE_DRIVE_SIGNATURES_MAX 16 /* signatures that may drive a query (else scan) */
#define STORE_WINDOW_FIRST_MS 1000    /* the first time window of a query call */
#define STORE_PROGRESS_OPS 1000       /* VM steps between two looks at the clock */

typedef struct SqlBuf {
        char text[STORE_SQL_MAX];
        size_t len;
        bool overflow;
} SqlBuf;

typedef enum Drive {
        DRIVE_SCAN,
        DRIVE_CONTAINER,
        DRIVE_MCS,
        DRIVE_SIGNATURE,
} Drive;

/* A list of container rows: bound one by one, or (many) a subquery. */
typedef struct PlanContainers {
        int64_t ids[STORE_QUERY_CONTAINERS_MAX];
        size_t n;
        bool many; /* more than fit: a subquery */
        bool set;  /* the filter asks for it */
} PlanContainers;

/* One --path value: a string id (exact), or a prefix (lo, hi; any: every path). */
typedef struct PlanPath {
        int64_t id;
        bool prefix, any;
        char *lo, *hi;
} PlanPath;

typedef struct Plan {
        const DenialFilter *f;
        bool empty;     /* nothing can match */
        int64_t lo, hi; /* id bounds, inclusive */
        /* Upper bounds of the id prefixes (container values) and of the type prefixes (values
         * with a trailing '*'), NULL where there is none; the permissions padded with blanks. */
        char *container_hi[FILTER_VALUES_MAX], *target_container_hi[FILTER_VALUES_MAX];
        char *type_lo[FILTER_VALUES_MAX], *type_hi[FILTER_VALUES_MAX];
        char *target_type_lo[FILTER_VALUES_MAX], *target_type_hi[FILTER_VALUES_MAX];
        char *not_type_lo[FILTER_VALUES_MAX], *not_type_hi[FILTER_VALUES_MAX];
        char *not_target_type_lo[FILTER_VALUES_MAX], *not_target_type_hi[FILTER_VALUES_MAX];
        char *perm_padded[FILTER_VALUES_MAX], *not_perm_padded[FILTER_VALUES_MAX];

        PlanContainers containers;
        bool candidates; /* some of containers are candidates of ambiguous denials */
        /* ... and which of their denials count: ATTRIBUTION_AMBIGUOUS all (--container),
         * ATTRIBUTION_POD those named at their pod (--pod), ATTRIBUTION_NAMESPACE those named
         * at their pod or namespace (--namespace) */
        Attribution candidates_level;
        PlanContainers target_containers;

        int64_t signatures[STORE_QUERY_SIGNATURES_MAX];
        size_t n_signatures;
        bool signatures_many;
        bool has_signatures;

        /* string ids of the values that are in the store (0 values: none is) */
        int64_t mcs[FILTER_VALUES_MAX], comm[FILTER_VALUES_MAX], not_comm[FILTER_VALUES_MAX];
        size_t n_mcs, n_comm, n_not_comm;
        PlanPath paths[FILTER_VALUES_MAX];
        size_t n_paths;
        /* Triage: the reason / verdict values (indexes, -1 for "none") of each triage field,
         * compared with coalesce(column, -1): NULL (stored before triage) and -1 (no policy) are
         * both "none". Only denial rows have them. */
        int reasons[FILTER_VALUES_MAX], verdicts[FILTER_VALUES_MAX];
        int not_reasons[FILTER_VALUES_MAX], not_verdicts[FILTER_VALUES_MAX];
        size_t n_reasons, n_verdicts, n_not_reasons, n_not_verdicts;
        /* the string id of DENIAL_RESULT_SELFTEST when such denials are left out, else 0 */
        int64_t selftest;

        Drive drive;
        const int64_t *drive_values;
        size_t n_drive;
} Plan;

typedef struct Budget {
        uint64_t deadline_usec;
        bool armed; /* the current window may be interrupted */
        bool expired;
} Budget;

void store_sql_add(SqlBuf *b, const char *fragment);
_printf_(2, 3) void store_sql_addf(SqlBuf *b, const char *format, ...);
void store_bind_named_text(sqlite3_stmt *st, const char *name, const char *value);
void store_bind_named_int64(sqlite3_stmt *st, const char *name, int64_t value);

/* Resolves f to ids (containers, strings, signatures) and picks the driving index; p->empty:
 * nothing can match. */
int store_plan_resolve(Store *s, const DenialFilter *f, Plan *p);
void store_plan_done(Plan *p);
void store_plan_bind(const Plan *p, sqlite3_stmt *st);
void store_plan_containers_where(SqlBuf *b, const Plan *p);
void store_plan_container_ids(SqlBuf *b, const Plan *p, const char *column, const PlanContainers *l,
                              const char *param);
void store_plan_signatures_where(SqlBuf *b, const Plan *p);
void store_plan_conditions(SqlBuf *b, const Plan *p, const char *t, Drive skip, bool aggregate);
bool store_plan_needs_rows(const Plan *p);
void store_plan_residual(SqlBuf *b, const Plan *p);
void store_plan_window_ids(SqlBuf *b, const Plan *p, bool reverse);
/* When one arm drives (no UNION): true, and the window's WHERE .. ORDER BY .. LIMIT over
 * `denials d`, for a query that reads the full rows in the same statement. */
bool store_plan_window_where(SqlBuf *b, const Plan *p, bool reverse);
void store_plan_jump(SqlBuf *b, const Plan *p, bool reverse);

/* SQLite's progress handler under a Budget (userdata). */
int store_budget_progress(void *userdata);
int64_t store_add_sat(int64_t a, int64_t b); /* saturating */
