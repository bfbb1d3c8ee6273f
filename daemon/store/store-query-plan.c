/* SPDX-License-Identifier: MIT */
/* Store queries, the plan: a filter resolved to integer ids (container rows, string ids,
 * signature rows) and the driving index chosen, then written out as SQL conditions, time
 * windows and jumps; and the CPU time budget that bounds a call. The decisions are told at the
 * top of store-query.c. */

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

void store_sql_add(SqlBuf *b, const char *fragment) {
        size_t n = strlen(fragment);
        if (b->len + n >= sizeof(b->text)) {
                b->overflow = true;
                return;
        }
        memcpy(b->text + b->len, fragment, n + 1);
        b->len += n;
}

_printf_(2, 3) void store_sql_addf(SqlBuf *b, const char *format, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, format);
        int n = vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(buf)) {
                b->overflow = true;
                return;
        }
        store_sql_add(b, buf);
}

/* The smallest string greater than every string starting with prefix; NULL when there is none
 * (empty prefix or all 0xff). Byte order, as SQLite's BINARY collation. */
static char *prefix_upper_bound(const char *prefix) {
        size_t n = strlen(prefix);
        char *hi = strndup(prefix, n);
        if (!hi)
                return NULL;
        while (n > 0 && (unsigned char) hi[n - 1] == 0xff)
                n--;
        if (n == 0) {
                free(hi);
                return NULL;
        }
        hi[n - 1] = (char) ((unsigned char) hi[n - 1] + 1);
        hi[n] = 0;
        return hi;
}

void store_bind_named_text(sqlite3_stmt *st, const char *name, const char *value) {
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0)
                sqlite3_bind_text(st, i, value, -1, SQLITE_TRANSIENT);
}

void store_bind_named_int64(sqlite3_stmt *st, const char *name, int64_t value) {
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0)
                sqlite3_bind_int64(st, i, value);
}

/* ---- filter resolution ---- */

static const char *const drive_column[] = {
        [DRIVE_SCAN] = NULL,
        [DRIVE_CONTAINER] = "container",
        [DRIVE_MCS] = "mcs",
        [DRIVE_SIGNATURE] = "signature",
};

void store_plan_done(Plan *p) {
        free(p->container_hi);
        free(p->path_lo);
        free(p->path_hi);
        free(p->perm_padded);
}

/* The id of a string, 0 when it is not in the store. */
static int lookup_string(Store *s, const char *text, int64_t *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->ro, "SELECT id FROM strings WHERE text = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
                *ret = 0;
        else
                return store_error(s, s->ro, rc);
        return 0;
}

/* The WHERE conditions on containers c (no leading AND). */
void store_plan_containers_where(SqlBuf *b, const Plan *p) {
        const DenialFilter *f = p->f;
        store_sql_add(b, "1");
        if (f->container && p->container_kind == CONTAINER_VALUE_ID)
                store_sql_add(b, " AND c.container_id = :container"); /* never a name */
        else if (f->container) {
                store_sql_add(b, " AND (c.name = :container OR c.id IN (SELECT container FROM "
                                 "container_names WHERE name = :container)");
                if (p->container_hi)
                        store_sql_add(b, " OR (c.container_id >= :container AND c.container_id < "
                                         ":container_hi)");
                store_sql_add(b, ")");
        }
        if (f->image)
                /* "nginx" names nginx:1.25 and docker.io/library/nginx too (filter.h) */
                store_sql_add(b, " AND avcwatch_image_matches(:image, c.image)");
        if (f->pod)
                store_sql_add(b, " AND c.pod = :pod");
}

/* The WHERE conditions on signatures g (no leading AND). */
void store_plan_signatures_where(SqlBuf *b, const Plan *p) {
        const DenialFilter *f = p->f;
        store_sql_add(b, "1");
        if (f->source_type)
                store_sql_add(b,
                              " AND g.source_type = (SELECT id FROM strings WHERE text = :type)");
        if (f->target_type)
                store_sql_add(b, " AND g.target_type = (SELECT id FROM strings WHERE text = "
                                 ":target_type)");
        if (f->tclass)
                store_sql_add(b, " AND g.tclass = (SELECT id FROM strings WHERE text = :tclass)");
        if (f->perm)
                /* Permission sets are interned whole ("read write"): look for the word. */
                store_sql_add(b, " AND instr(' ' || (SELECT text FROM strings WHERE id = "
                                 "g.permissions) || ' ', :perm) > 0");
}

void store_plan_bind(const Plan *p, sqlite3_stmt *st) {
        const DenialFilter *f = p->f;
        store_bind_named_text(st, ":container", f->container);
        store_bind_named_text(st, ":container_hi", p->container_hi);
        store_bind_named_text(st, ":image", f->image);
        store_bind_named_text(st, ":pod", f->pod);
        store_bind_named_text(st, ":type", f->source_type);
        store_bind_named_text(st, ":target_type", f->target_type);
        store_bind_named_text(st, ":tclass", f->tclass);
        store_bind_named_text(st, ":perm", p->perm_padded);
        store_bind_named_int64(st, ":mcs", p->mcs);
        store_bind_named_int64(st, ":comm", p->comm);
        store_bind_named_int64(st, ":path_id", p->path);
        store_bind_named_text(st, ":path_lo", p->path_lo);
        store_bind_named_text(st, ":path_hi", p->path_hi);
        for (size_t i = 0; i < p->n_containers; i++) {
                char name[32];
                snprintf(name, sizeof(name), ":c%zu", i);
                store_bind_named_int64(st, name, p->containers[i]);
        }
        for (size_t i = 0; i < p->n_signatures; i++) {
                char name[32];
                snprintf(name, sizeof(name), ":g%zu", i);
                store_bind_named_int64(st, name, p->signatures[i]);
        }
        for (size_t i = 0; i < p->n_drive; i++) {
                char name[32];
                snprintf(name, sizeof(name), ":v%zu", i);
                store_bind_named_int64(st, name, p->drive_values[i]);
        }
}

/* Runs a query listing ids into list (up to max, *ret_many when there were more). */
static int collect_ids(Store *s, const Plan *p, const char *sql, int64_t *list, size_t max,
                       size_t *ret_n, bool *ret_many) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        size_t n = 0;
        int rc;

        rc = sqlite3_prepare_v2(s->ro, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        store_plan_bind(p, st);
        *ret_many = false;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n == max) {
                        *ret_many = true;
                        break;
                }
                list[n++] = sqlite3_column_int64(st, 0);
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return store_error(s, s->ro, rc);
        *ret_n = n;
        return 0;
}

int store_plan_resolve(Store *s, const DenialFilter *f, Plan *p) {
        _cleanup_(freep) SqlBuf *b = calloc(1, sizeof(SqlBuf));
        int r;

        if (!b)
                return -ENOMEM;
        *p = (Plan){.f = f, .lo = INT64_MIN, .hi = INT64_MAX};
        if (f->has_since)
                p->lo = store_time_id(f->since_ms);
        if (f->has_until) {
                int64_t id = store_time_id(f->until_ms);
                p->hi = id == INT64_MIN ? INT64_MIN : id - 1;
                if (id == INT64_MIN)
                        p->empty = true;
        }
        if (p->lo > p->hi)
                p->empty = true;

        if (f->container)
                p->container_kind = container_value_kind(f->container);
        if (p->container_kind == CONTAINER_VALUE_NAME_OR_PREFIX && !f->container_is_name) {
                /* A name wins over an id prefix: "db" is the container named db when there is
                 * one, not also every container whose id starts with db. */
                r = store_container_name_known(s, f->container);
                if (r < 0)
                        return r;
                if (r == 0) {
                        p->container_hi = prefix_upper_bound(f->container);
                        if (!p->container_hi)
                                return -ENOMEM;
                }
        }
        if (f->perm && asprintf(&p->perm_padded, " %s ", f->perm) < 0)
                return -ENOMEM;
        if (f->path) {
                size_t n = strlen(f->path);
                if (n > 0 && f->path[n - 1] == '*') {
                        p->path_prefix = true;
                        p->path_lo = strndup(f->path, n - 1);
                        if (!p->path_lo)
                                return -ENOMEM;
                        p->path_any = p->path_lo[0] == 0;
                        if (!p->path_any)
                                p->path_hi = prefix_upper_bound(p->path_lo);
                }
        }

        if (f->container || f->image || f->pod) {
                p->has_containers = true;
                store_sql_add(b, "SELECT c.id FROM containers c WHERE ");
                store_plan_containers_where(b, p);
                if (b->overflow)
                        return -E2BIG;
                r = collect_ids(s, p, b->text, p->containers, ELEMENTSOF(p->containers),
                                &p->n_containers, &p->containers_many);
                if (r < 0)
                        return r;
                if (p->n_containers == 0)
                        p->empty = true;
                if (p->containers_many)
                        p->n_containers = 0; /* bound as a subquery instead */
        }
        if (f->source_type || f->target_type || f->tclass || f->perm) {
                p->has_signatures = true;
                *b = (SqlBuf){};
                store_sql_add(b, "SELECT g.id FROM signatures g WHERE ");
                store_plan_signatures_where(b, p);
                if (b->overflow)
                        return -E2BIG;
                r = collect_ids(s, p, b->text, p->signatures, ELEMENTSOF(p->signatures),
                                &p->n_signatures, &p->signatures_many);
                if (r < 0)
                        return r;
                if (p->n_signatures == 0)
                        p->empty = true;
                if (p->signatures_many)
                        p->n_signatures = 0;
        }
        const struct {
                const char *text;
                int64_t *id;
        } strings[] = {
                {f->mcs, &p->mcs},
                {f->comm, &p->comm},
                {f->path && !p->path_prefix ? f->path : NULL, &p->path},
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                if (!strings[i].text)
                        continue;
                r = lookup_string(s, strings[i].text, strings[i].id);
                if (r < 0)
                        return r;
                if (*strings[i].id == 0)
                        p->empty = true;
        }

        /* The driving index. */
        if (p->n_containers > 0) {
                p->drive = DRIVE_CONTAINER;
                p->drive_values = p->containers;
                p->n_drive = p->n_containers;
        } else if (p->mcs > 0) {
                p->drive = DRIVE_MCS;
                p->drive_values = &p->mcs;
                p->n_drive = 1;
        } else if (p->n_signatures > 0 && p->n_signatures <= STORE_DRIVE_SIGNATURES_MAX) {
                p->drive = DRIVE_SIGNATURE;
                p->drive_values = p->signatures;
                p->n_drive = p->n_signatures;
        } else
                p->drive = DRIVE_SCAN;
        return 0;
}

/* " AND ..." for every condition but the one `skip` drives, on the table aliased `t`: denials,
 * or (aggregate) totals / buckets, whose container and mcs are 0 rather than NULL and which have
 * no comm or path (store_plan_needs_rows() says when those are asked for). */
void store_plan_conditions(SqlBuf *b, const Plan *p, const char *t, Drive skip, bool aggregate) {
        if (p->has_containers && skip != DRIVE_CONTAINER) {
                if (p->containers_many) {
                        store_sql_addf(
                                b, " AND %s.container IN (SELECT c.id FROM containers c WHERE ", t);
                        store_plan_containers_where(b, p);
                        store_sql_add(b, ")");
                } else {
                        store_sql_addf(b, " AND %s.container IN (", t);
                        for (size_t i = 0; i < p->n_containers; i++)
                                store_sql_addf(b, "%s:c%zu", i > 0 ? ", " : "", i);
                        store_sql_add(b, ")");
                }
        }
        if (p->mcs > 0 && skip != DRIVE_MCS)
                store_sql_addf(b, " AND %s.mcs = :mcs", t);
        if (p->has_signatures && skip != DRIVE_SIGNATURE) {
                if (p->signatures_many) {
                        store_sql_addf(
                                b, " AND %s.signature IN (SELECT g.id FROM signatures g WHERE ", t);
                        store_plan_signatures_where(b, p);
                        store_sql_add(b, ")");
                } else {
                        store_sql_addf(b, " AND %s.signature IN (", t);
                        for (size_t i = 0; i < p->n_signatures; i++)
                                store_sql_addf(b, "%s:g%zu", i > 0 ? ", " : "", i);
                        store_sql_add(b, ")");
                }
        }
        if (aggregate)
                return;
        if (p->comm > 0)
                store_sql_addf(b, " AND %s.comm = :comm", t);
        if (p->path > 0)
                store_sql_addf(b, " AND (%s.path = :path_id OR %s.name = :path_id)", t, t);
        else if (p->path_any)
                store_sql_addf(b, " AND %s.path IS NOT NULL", t);
        else if (p->path_prefix) {
                store_sql_addf(b, " AND %s.path IN (SELECT id FROM strings WHERE text >= :path_lo",
                               t);
                if (p->path_hi)
                        store_sql_add(b, " AND text < :path_hi");
                store_sql_add(b, ")");
        }
}

/* Whether the filter asks about something only the denial rows have. */
bool store_plan_needs_rows(const Plan *p) {
        return p->comm > 0 || p->path > 0 || p->path_prefix;
}

void store_plan_residual(SqlBuf *b, const Plan *p) {
        store_plan_conditions(b, p, "d", p->drive, false);
}

/* The ids of the window [:wlo, :whi] that match, ordered, at most :n. */
void store_plan_window_ids(SqlBuf *b, const Plan *p, bool reverse) {
        const char *dir = reverse ? "DESC" : "ASC";

        if (p->drive == DRIVE_SCAN) {
                store_sql_add(b,
                              "SELECT d.id AS id FROM denials d WHERE d.id BETWEEN :wlo AND :whi");
                store_plan_residual(b, p);
                store_sql_addf(b, " ORDER BY d.id %s LIMIT :n", dir);
                return;
        }
        for (size_t i = 0; i < p->n_drive; i++) {
                if (i > 0)
                        store_sql_add(b, " UNION ALL ");
                store_sql_addf(
                        b,
                        "SELECT id FROM (SELECT d.id AS id FROM denials d WHERE d.%s = :v%zu AND "
                        "d.id BETWEEN :wlo AND :whi",
                        drive_column[p->drive], i);
                store_plan_residual(b, p);
                store_sql_addf(b, " ORDER BY d.id %s LIMIT :n)", dir);
        }
        if (p->n_drive > 1)
                store_sql_addf(b, " ORDER BY 1 %s LIMIT :n", dir);
}

/* The nearest id at or after (before, when reverse) :p that the driving index holds. */
void store_plan_jump(SqlBuf *b, const Plan *p, bool reverse) {
        const char *agg = reverse ? "max" : "min", *cmp = reverse ? "<=" : ">=";

        if (p->drive == DRIVE_SCAN) {
                store_sql_addf(b, "SELECT %s(id) FROM denials WHERE id %s :p", agg, cmp);
                return;
        }
        store_sql_addf(b, "SELECT %s(m) FROM (", agg);
        for (size_t i = 0; i < p->n_drive; i++)
                store_sql_addf(b, "%sSELECT %s(id) AS m FROM denials WHERE %s = :v%zu AND id %s :p",
                               i > 0 ? " UNION ALL " : "", agg, drive_column[p->drive], i, cmp);
        store_sql_add(b, ")");
}

/* ---- the time budget ---- */

int store_budget_progress(void *userdata) {
        Budget *b = userdata;
        if (!b->armed || store_cpu_usec() < b->deadline_usec)
                return 0;
        b->expired = true;
        return 1;
}

int64_t store_add_sat(int64_t a, int64_t b) {
        int64_t r;
        if (__builtin_add_overflow(a, b, &r))
                return b > 0 ? INT64_MAX : INT64_MIN;
        return r;
}
