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

#define STORE_SQL_MAX 16384           /* a generated query */
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

typedef struct Plan {
        const DenialFilter *f;
        bool empty;                    /* nothing can match */
        int64_t lo, hi;                /* id bounds, inclusive */
        ContainerValue container_kind; /* of f->container */
        char *container_hi, *path_lo, *path_hi, *perm_padded;

        int64_t containers[STORE_QUERY_CONTAINERS_MAX];
        size_t n_containers;
        bool containers_many; /* more than fit: a subquery */
        bool has_containers;

        int64_t signatures[STORE_QUERY_SIGNATURES_MAX];
        size_t n_signatures;
        bool signatures_many;
        bool has_signatures;

        int64_t mcs, comm, path; /* string ids, 0 when not filtered on */
        bool path_prefix, path_any;

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
void store_plan_signatures_where(SqlBuf *b, const Plan *p);
void store_plan_conditions(SqlBuf *b, const Plan *p, const char *t, Drive skip, bool aggregate);
bool store_plan_needs_rows(const Plan *p);
void store_plan_residual(SqlBuf *b, const Plan *p);
void store_plan_window_ids(SqlBuf *b, const Plan *p, bool reverse);
void store_plan_jump(SqlBuf *b, const Plan *p, bool reverse);

/* SQLite's progress handler under a Budget (userdata). */
int store_budget_progress(void *userdata);
int64_t store_add_sat(int64_t a, int64_t b); /* saturating */
