/* SPDX-License-Identifier: MIT */
/* Store queries: denials page by page (store_query), rankings (store_top) and histograms
 * (store_histogram), all on the read-only connection.
 *
 * Decisions:
 * - A filter is resolved first (container names -> container rows, strings -> string ids,
 *   type/class/permission -> signature rows), so that the SQL compares integers, and so that a
 *   value that does not exist answers at once with nothing.
 * - Then one index drives: the containers' (container, rowid) index when the filter names
 *   containers, else (mcs, rowid), else (signature, rowid) for a few signatures, else the table
 *   itself (rowid = time). Several driving values (an image with many containers) become one
 *   ordered arm each, merged by UNION ALL under the same ORDER BY .. LIMIT, so that no arm reads
 *   more than a page. The other conditions filter the driven rows.
 * - Time windows: a page is read in windows of the id (= time) range, the first one second wide,
 *   each next one twice as wide; a window with nothing jumps to the next id the driving index
 *   has. Between windows the page may end on the time budget; inside a window SQLite's progress
 *   handler interrupts it (except the first window of a call, so that every call progresses).
 *   The cursor is then the position reached, not a row: a filter no index serves pages through
 *   the store in budget-sized steps and the daemon's loop keeps turning between them.
 * - Only the ids of a page are chosen by the filtering query; the full rows (strings, containers,
 *   raw text) are joined for those ids alone. */

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

static void sql_add(SqlBuf *b, const char *fragment) {
        size_t n = strlen(fragment);
        if (b->len + n >= sizeof(b->text)) {
                b->overflow = true;
                return;
        }
        memcpy(b->text + b->len, fragment, n + 1);
        b->len += n;
}

_printf_(2, 3) static void sql_addf(SqlBuf *b, const char *format, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, format);
        int n = vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof(buf)) {
                b->overflow = true;
                return;
        }
        sql_add(b, buf);
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

static void bind_named_text(sqlite3_stmt *st, const char *name, const char *value) {
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0)
                sqlite3_bind_text(st, i, value, -1, SQLITE_TRANSIENT);
}

static void bind_named_int64(sqlite3_stmt *st, const char *name, int64_t value) {
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0)
                sqlite3_bind_int64(st, i, value);
}

/* ---- filter resolution ---- */

typedef enum Drive {
        DRIVE_SCAN,
        DRIVE_CONTAINER,
        DRIVE_MCS,
        DRIVE_SIGNATURE,
} Drive;

static const char *const drive_column[] = {
        [DRIVE_SCAN] = NULL,
        [DRIVE_CONTAINER] = "container",
        [DRIVE_MCS] = "mcs",
        [DRIVE_SIGNATURE] = "signature",
};

typedef struct Plan {
        const DenialFilter *f;
        bool empty;     /* nothing can match */
        int64_t lo, hi; /* id bounds, inclusive */
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

static void plan_done(Plan *p) {
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

/* The WHERE conditions on containers c (no leading AND). */
static void containers_where(SqlBuf *b, const Plan *p) {
        const DenialFilter *f = p->f;
        sql_add(b, "1");
        if (f->container) {
                sql_add(b, " AND (c.name = :container OR c.id IN (SELECT container FROM "
                           "container_names WHERE name = :container)");
                if (p->container_hi)
                        sql_add(b, " OR (c.container_id >= :container AND c.container_id < "
                                   ":container_hi)");
                sql_add(b, ")");
        }
        if (f->image)
                /* "nginx" names nginx:1.25 and docker.io/library/nginx too (filter.h) */
                sql_add(b, " AND avcwatch_image_matches(:image, c.image)");
        if (f->pod)
                sql_add(b, " AND c.pod = :pod");
}

/* The WHERE conditions on signatures g (no leading AND). */
static void signatures_where(SqlBuf *b, const Plan *p) {
        const DenialFilter *f = p->f;
        sql_add(b, "1");
        if (f->source_type)
                sql_add(b, " AND g.source_type = (SELECT id FROM strings WHERE text = :type)");
        if (f->target_type)
                sql_add(b, " AND g.target_type = (SELECT id FROM strings WHERE text = "
                           ":target_type)");
        if (f->tclass)
                sql_add(b, " AND g.tclass = (SELECT id FROM strings WHERE text = :tclass)");
        if (f->perm)
                /* Permission sets are interned whole ("read write"): look for the word. */
                sql_add(b, " AND instr(' ' || (SELECT text FROM strings WHERE id = "
                           "g.permissions) || ' ', :perm) > 0");
}

static void plan_bind(const Plan *p, sqlite3_stmt *st) {
        const DenialFilter *f = p->f;
        bind_named_text(st, ":container", f->container);
        bind_named_text(st, ":container_hi", p->container_hi);
        bind_named_text(st, ":image", f->image);
        bind_named_text(st, ":pod", f->pod);
        bind_named_text(st, ":type", f->source_type);
        bind_named_text(st, ":target_type", f->target_type);
        bind_named_text(st, ":tclass", f->tclass);
        bind_named_text(st, ":perm", p->perm_padded);
        bind_named_int64(st, ":mcs", p->mcs);
        bind_named_int64(st, ":comm", p->comm);
        bind_named_int64(st, ":path_id", p->path);
        bind_named_text(st, ":path_lo", p->path_lo);
        bind_named_text(st, ":path_hi", p->path_hi);
        for (size_t i = 0; i < p->n_containers; i++) {
                char name[32];
                snprintf(name, sizeof(name), ":c%zu", i);
                bind_named_int64(st, name, p->containers[i]);
        }
        for (size_t i = 0; i < p->n_signatures; i++) {
                char name[32];
                snprintf(name, sizeof(name), ":g%zu", i);
                bind_named_int64(st, name, p->signatures[i]);
        }
        for (size_t i = 0; i < p->n_drive; i++) {
                char name[32];
                snprintf(name, sizeof(name), ":v%zu", i);
                bind_named_int64(st, name, p->drive_values[i]);
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
        plan_bind(p, st);
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

static int plan_resolve(Store *s, const DenialFilter *f, Plan *p) {
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

        if (f->container && !f->container_is_name && string_is_hex(f->container)) {
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
                sql_add(b, "SELECT c.id FROM containers c WHERE ");
                containers_where(b, p);
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
                sql_add(b, "SELECT g.id FROM signatures g WHERE ");
                signatures_where(b, p);
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
 * no comm or path (plan_needs_rows() says when those are asked for). */
static void plan_conditions(SqlBuf *b, const Plan *p, const char *t, Drive skip, bool aggregate) {
        if (p->has_containers && skip != DRIVE_CONTAINER) {
                if (p->containers_many) {
                        sql_addf(b, " AND %s.container IN (SELECT c.id FROM containers c WHERE ",
                                 t);
                        containers_where(b, p);
                        sql_add(b, ")");
                } else {
                        sql_addf(b, " AND %s.container IN (", t);
                        for (size_t i = 0; i < p->n_containers; i++)
                                sql_addf(b, "%s:c%zu", i > 0 ? ", " : "", i);
                        sql_add(b, ")");
                }
        }
        if (p->mcs > 0 && skip != DRIVE_MCS)
                sql_addf(b, " AND %s.mcs = :mcs", t);
        if (p->has_signatures && skip != DRIVE_SIGNATURE) {
                if (p->signatures_many) {
                        sql_addf(b, " AND %s.signature IN (SELECT g.id FROM signatures g WHERE ",
                                 t);
                        signatures_where(b, p);
                        sql_add(b, ")");
                } else {
                        sql_addf(b, " AND %s.signature IN (", t);
                        for (size_t i = 0; i < p->n_signatures; i++)
                                sql_addf(b, "%s:g%zu", i > 0 ? ", " : "", i);
                        sql_add(b, ")");
                }
        }
        if (aggregate)
                return;
        if (p->comm > 0)
                sql_addf(b, " AND %s.comm = :comm", t);
        if (p->path > 0)
                sql_addf(b, " AND (%s.path = :path_id OR %s.name = :path_id)", t, t);
        else if (p->path_any)
                sql_addf(b, " AND %s.path IS NOT NULL", t);
        else if (p->path_prefix) {
                sql_addf(b, " AND %s.path IN (SELECT id FROM strings WHERE text >= :path_lo", t);
                if (p->path_hi)
                        sql_add(b, " AND text < :path_hi");
                sql_add(b, ")");
        }
}

/* Whether the filter asks about something only the denial rows have. */
static bool plan_needs_rows(const Plan *p) {
        return p->comm > 0 || p->path > 0 || p->path_prefix;
}

static void plan_residual(SqlBuf *b, const Plan *p) {
        plan_conditions(b, p, "d", p->drive, false);
}

/* The ids of the window [:wlo, :whi] that match, ordered, at most :n. */
static void plan_window_ids(SqlBuf *b, const Plan *p, bool reverse) {
        const char *dir = reverse ? "DESC" : "ASC";

        if (p->drive == DRIVE_SCAN) {
                sql_add(b, "SELECT d.id AS id FROM denials d WHERE d.id BETWEEN :wlo AND :whi");
                plan_residual(b, p);
                sql_addf(b, " ORDER BY d.id %s LIMIT :n", dir);
                return;
        }
        for (size_t i = 0; i < p->n_drive; i++) {
                if (i > 0)
                        sql_add(b, " UNION ALL ");
                sql_addf(b,
                         "SELECT id FROM (SELECT d.id AS id FROM denials d WHERE d.%s = :v%zu AND "
                         "d.id BETWEEN :wlo AND :whi",
                         drive_column[p->drive], i);
                plan_residual(b, p);
                sql_addf(b, " ORDER BY d.id %s LIMIT :n)", dir);
        }
        if (p->n_drive > 1)
                sql_addf(b, " ORDER BY 1 %s LIMIT :n", dir);
}

/* The nearest id at or after (before, when reverse) :p that the driving index holds. */
static void plan_jump(SqlBuf *b, const Plan *p, bool reverse) {
        const char *agg = reverse ? "max" : "min", *cmp = reverse ? "<=" : ">=";

        if (p->drive == DRIVE_SCAN) {
                sql_addf(b, "SELECT %s(id) FROM denials WHERE id %s :p", agg, cmp);
                return;
        }
        sql_addf(b, "SELECT %s(m) FROM (", agg);
        for (size_t i = 0; i < p->n_drive; i++)
                sql_addf(b, "%sSELECT %s(id) AS m FROM denials WHERE %s = :v%zu AND id %s :p",
                         i > 0 ? " UNION ALL " : "", agg, drive_column[p->drive], i, cmp);
        sql_add(b, ")");
}

/* ---- rows ---- */

/* The outer query: the full rows of the ids the inner one picked. */
static const char query_head[] =
        "SELECT d.id, d.serial, d.seq, d.record_type, d.pid, d.ppid, d.uid, d.syscall, "
        "d.permissive, d.attribution, d.raw, d.count, "
        "(SELECT text FROM strings WHERE id = d.node), "
        "(SELECT text FROM strings WHERE id = g.result), "
        "(SELECT text FROM strings WHERE id = g.permissions), "
        "(SELECT text FROM strings WHERE id = g.tclass), "
        "(SELECT text FROM strings WHERE id = g.source_type), "
        "(SELECT text FROM strings WHERE id = g.target_type), "
        "(SELECT text FROM strings WHERE id = d.scontext), "
        "(SELECT text FROM strings WHERE id = d.tcontext), "
        "(SELECT text FROM strings WHERE id = d.mcs), "
        "(SELECT text FROM strings WHERE id = d.target_mcs), "
        "(SELECT text FROM strings WHERE id = d.comm), "
        "(SELECT text FROM strings WHERE id = d.exe), "
        "(SELECT text FROM strings WHERE id = d.path), "
        "(SELECT text FROM strings WHERE id = d.name), "
        "(SELECT text FROM strings WHERE id = d.cwd), "
        "(SELECT text FROM strings WHERE id = d.proctitle), "
        "c.container_id, c.name, c.image, c.engine, c.pod, "
        "t.container_id, t.name, t.image, t.engine, t.pod "
        "FROM (";

static const char query_tail[] = ") AS k CROSS JOIN denials d ON d.id = k.id "
                                 "LEFT JOIN signatures g ON g.id = d.signature "
                                 "LEFT JOIN containers c ON c.id = d.container "
                                 "LEFT JOIN containers t ON t.id = d.target_container";

enum {
        COL_ID,
        COL_SERIAL,
        COL_SEQ,
        COL_RECORD_TYPE,
        COL_PID,
        COL_PPID,
        COL_UID,
        COL_SYSCALL,
        COL_PERMISSIVE,
        COL_ATTRIBUTION,
        COL_RAW,
        COL_COUNT,
        COL_STRINGS, /* 16 strings in the order of row_to_denial() */
        COL_CONTAINER = COL_STRINGS + 16,
        COL_TARGET_CONTAINER = COL_CONTAINER + 5,
};

static int row_to_denial(Store *s, sqlite3_stmt *st, Denial *ret) {
        Denial d = DENIAL_NULL;
        bool failed = false;
        int r;

        d.id = sqlite3_column_int64(st, COL_ID);
        d.time_ms = store_id_time(d.id);
        d.serial = (uint64_t) sqlite3_column_int64(st, COL_SERIAL);
        d.seq = (unsigned) sqlite3_column_int64(st, COL_SEQ);
        d.record_type = sqlite3_column_int(st, COL_RECORD_TYPE);
        const int ints[] = {COL_PID, COL_PPID, COL_UID, COL_SYSCALL};
        int64_t *int_dst[] = {&d.pid, &d.ppid, &d.uid, &d.syscall};
        for (size_t i = 0; i < ELEMENTSOF(ints); i++)
                *int_dst[i] = sqlite3_column_type(st, ints[i]) == SQLITE_NULL
                                      ? -1
                                      : sqlite3_column_int64(st, ints[i]);
        d.permissive = sqlite3_column_type(st, COL_PERMISSIVE) == SQLITE_NULL
                               ? -1
                               : sqlite3_column_int(st, COL_PERMISSIVE);
        d.count = sqlite3_column_type(st, COL_COUNT) == SQLITE_NULL
                          ? 1
                          : (uint64_t) sqlite3_column_int64(st, COL_COUNT);
        int a = sqlite3_column_int(st, COL_ATTRIBUTION);
        d.attribution = a >= 0 && a < _ATTRIBUTION_MAX ? (Attribution) a : ATTRIBUTION_NONE;

        char **strings[] = {
                &d.node,        &d.result,      &d.permissions, &d.tclass,
                &d.source_type, &d.target_type, &d.scontext,    &d.tcontext,
                &d.mcs,         &d.target_mcs,  &d.comm,        &d.exe,
                &d.path,        &d.name,        &d.cwd,         &d.proctitle,
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (sqlite3_column_type(st, COL_STRINGS + (int) i) != SQLITE_NULL) {
                        *strings[i] = store_column_strdup(st, COL_STRINGS + (int) i);
                        if (!*strings[i])
                                failed = true;
                }

        struct {
                int col;
                bool *has;
                ContainerRef *ref;
        } containers[] = {
                {COL_CONTAINER, &d.has_container, &d.container},
                {COL_TARGET_CONTAINER, &d.has_target_container, &d.target_container},
        };
        for (size_t i = 0; i < ELEMENTSOF(containers); i++) {
                int col = containers[i].col;
                if (sqlite3_column_type(st, col) == SQLITE_NULL)
                        continue;
                ContainerRef *c = containers[i].ref;
                char **dst[] = {&c->id, &c->name, &c->image, &c->engine, &c->pod};
                *containers[i].has = true;
                for (size_t j = 0; j < ELEMENTSOF(dst); j++)
                        if (sqlite3_column_type(st, col + (int) j) != SQLITE_NULL) {
                                *dst[j] = store_column_strdup(st, col + (int) j);
                                if (!*dst[j])
                                        failed = true;
                        }
        }
        if (failed) {
                denial_done(&d);
                return -ENOMEM;
        }

        if (sqlite3_column_type(st, COL_RAW) != SQLITE_NULL) {
                r = raw_decode(s->decoder, sqlite3_column_blob(st, COL_RAW),
                               (size_t) sqlite3_column_bytes(st, COL_RAW), d.time_ms, d.serial,
                               &d.raw);
                if (r < 0) {
                        if (r != -ENOMEM)
                                snprintf(s->last_error, sizeof(s->last_error),
                                         "the raw text of denial %" PRIi64 " cannot be read: %s",
                                         d.id, strerror(-r));
                        denial_done(&d);
                        return r;
                }
        }
        *ret = d;
        return 0;
}

/* The containers an ambiguous denial may have come from (denial_candidates, written by the
 * registry), latest started first. */
static int load_candidates(Store *s, Denial *d) {
        static const char sql[] =
                "SELECT c.container_id, c.name, c.image, c.engine, c.pod FROM denial_candidates k "
                "JOIN containers c ON c.id = k.container WHERE k.time_ms = ?1 AND k.serial = ?2 "
                "AND k.seq = ?3 ORDER BY coalesce(c.started_ms, c.created_ms, 0) DESC, c.id DESC "
                "LIMIT ?4";
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(s->ro, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_int64(st, 1, d->time_ms);
        sqlite3_bind_int64(st, 2, (int64_t) d->serial);
        sqlite3_bind_int64(st, 3, d->seq);
        sqlite3_bind_int(st, 4, DENIAL_CANDIDATES_MAX);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ContainerRef c = {};
                char **dst[] = {&c.id, &c.name, &c.image, &c.engine, &c.pod};
                for (size_t i = 0; i < ELEMENTSOF(dst); i++)
                        *dst[i] = store_column_strdup(st, (int) i);
                r = c.id ? denial_add_candidate(d, &c) : -ENOMEM;
                container_ref_done(&c);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_error(s, s->ro, rc);
}

/* ---- the time budget ---- */

typedef struct Budget {
        uint64_t deadline_usec;
        bool armed; /* the current window may be interrupted */
        bool expired;
} Budget;

static int on_progress(void *userdata) {
        Budget *b = userdata;
        if (!b->armed || store_cpu_usec() < b->deadline_usec)
                return 0;
        b->expired = true;
        return 1;
}

static int64_t add_sat(int64_t a, int64_t b) {
        int64_t r;
        if (__builtin_add_overflow(a, b, &r))
                return b > 0 ? INT64_MAX : INT64_MIN;
        return r;
}

/* ---- store_query ---- */

int store_query(Store *s, const DenialFilter *f, bool reverse, const int64_t *after, unsigned limit,
                store_row_cb cb, void *userdata, StorePage *ret_page) {
        static const DenialFilter empty = {};
        _cleanup_(plan_done) Plan p = {};
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *rows = NULL, *jump = NULL;
        _cleanup_(freep) SqlBuf *b = NULL;
        StorePage page = {};
        Budget budget = {};
        int64_t pos, width = STORE_WINDOW_FIRST_MS * STORE_SLOTS;
        unsigned got = 0;
        int rc, r = 0;

        if (!s || !cb)
                return -EINVAL;
        if (!f)
                f = &empty;
        if (limit == 0 || limit > STORE_QUERY_LIMIT_MAX)
                limit = STORE_QUERY_LIMIT_MAX;
        if (ret_page)
                *ret_page = page;

        r = plan_resolve(s, f, &p);
        if (r < 0)
                return r;
        if (p.empty)
                return 0;
        if (!reverse) {
                if (after && *after == INT64_MAX)
                        return 0;
                pos = after ? MAX(*after + 1, p.lo) : p.lo;
        } else {
                if (after && *after == INT64_MIN)
                        return 0;
                pos = after ? MIN(*after - 1, p.hi) : p.hi;
        }

        b = calloc(1, sizeof(SqlBuf));
        if (!b)
                return -ENOMEM;
        sql_add(b, query_head);
        plan_window_ids(b, &p, reverse);
        sql_add(b, query_tail);
        sql_add(b, reverse ? " ORDER BY d.id DESC" : " ORDER BY d.id");
        if (b->overflow)
                return -E2BIG;
        rc = sqlite3_prepare_v2(s->ro, b->text, -1, &rows, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        plan_bind(&p, rows);

        *b = (SqlBuf){};
        plan_jump(b, &p, reverse);
        if (b->overflow)
                return -E2BIG;
        rc = sqlite3_prepare_v2(s->ro, b->text, -1, &jump, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        plan_bind(&p, jump);

        if (__builtin_add_overflow(store_cpu_usec(), s->query_budget_usec, &budget.deadline_usec))
                budget.deadline_usec = UINT64_MAX;
        sqlite3_progress_handler(s->ro, STORE_PROGRESS_OPS, on_progress, &budget);

        for (bool first = true;; first = false) {
                int64_t wlo, whi, last_id = 0;
                bool delivered = false;

                if (reverse ? pos < p.lo : pos > p.hi)
                        break; /* the whole range is done */

                /* Skip what the driving index does not have. */
                bind_named_int64(jump, ":p", pos);
                rc = sqlite3_step(jump);
                if (rc != SQLITE_ROW) {
                        r = store_error(s, s->ro, rc);
                        break;
                }
                bool none = sqlite3_column_type(jump, 0) == SQLITE_NULL;
                int64_t next_id = sqlite3_column_int64(jump, 0);
                sqlite3_reset(jump);
                if (none || (reverse ? next_id < p.lo : next_id > p.hi))
                        break;
                pos = next_id;

                if (!reverse) {
                        wlo = pos;
                        whi = MIN(add_sat(pos, width - 1), p.hi);
                } else {
                        whi = pos;
                        wlo = MAX(add_sat(pos, -(width - 1)), p.lo);
                }
                bind_named_int64(rows, ":wlo", wlo);
                bind_named_int64(rows, ":whi", whi);
                bind_named_int64(rows, ":n", limit - got);
                budget.armed = !first;
                while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
                        Denial d;
                        r = row_to_denial(s, rows, &d);
                        if (r < 0)
                                break;
                        if (d.attribution == ATTRIBUTION_AMBIGUOUS) {
                                r = load_candidates(s, &d);
                                if (r < 0) {
                                        denial_done(&d);
                                        break;
                                }
                        }
                        int64_t id = d.id;
                        r = cb(&d, userdata);
                        denial_done(&d);
                        if (r > 0) {
                                /* Refused: the next call starts with this row. */
                                last_id = add_sat(id, reverse ? 1 : -1);
                                break;
                        }
                        if (r < 0)
                                break;
                        last_id = id;
                        delivered = true;
                        got++;
                }
                sqlite3_reset(rows);
                budget.armed = false;
                if (r < 0)
                        break;
                if (r > 0 || got >= limit) {
                        /* Stopped by the caller or full: continue after the last row. */
                        page = (StorePage){.more = true, .next = last_id};
                        break;
                }
                if (rc == SQLITE_INTERRUPT) {
                        page = (StorePage){.more = true,
                                           .next = delivered ? last_id
                                                             : add_sat(pos, reverse ? 1 : -1)};
                        break;
                }
                if (rc != SQLITE_DONE) {
                        r = store_error(s, s->ro, rc);
                        break;
                }
                /* The window is done. */
                if (reverse ? wlo == INT64_MIN : whi == INT64_MAX)
                        break;
                pos = reverse ? wlo - 1 : whi + 1;
                width = add_sat(width, width);
                if (store_cpu_usec() >= budget.deadline_usec) {
                        if (reverse ? pos >= p.lo : pos <= p.hi)
                                page = (StorePage){.more = true,
                                                   .next = reverse ? pos + 1 : pos - 1};
                        break;
                }
        }
        sqlite3_progress_handler(s->ro, 0, NULL, NULL);
        if (r < 0)
                return r;
        if (ret_page)
                *ret_page = page;
        return r;
}

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
        bind_named_int64(st, ":h1", t->h1);
        bind_named_int64(st, ":h2", t->h2);
        for (unsigned i = 0; i < t->n_raw; i++) {
                char name[16];
                snprintf(name, sizeof(name), ":r%ulo", i);
                bind_named_int64(st, name, t->raw_lo[i]);
                snprintf(name, sizeof(name), ":r%uhi", i);
                bind_named_int64(st, name, t->raw_hi[i]);
        }
}

/* The parts as one UNION ALL of (signature, container, mcs, count, first_ms, last_ms, bin), bin
 * being the start of the histogram bin (:iv ms wide) a row belongs to. */
#define SQL_FLOOR(t) "((" t ") - ((" t ") < 0) * (:iv - 1)) / :iv * :iv"
static void time_parts_source(SqlBuf *b, const TimeParts *t, const Plan *p) {
        const char *sep = "";

        if (t->totals) {
                sql_add(b, "SELECT a.signature AS signature, a.container AS container, a.mcs AS "
                           "mcs, a.count AS count, a.first_ms AS first_ms, a.last_ms AS last_ms, "
                           "0 AS bin FROM totals a WHERE 1");
                plan_conditions(b, p, "a", DRIVE_SCAN, true);
                sep = " UNION ALL ";
        }
        if (t->buckets) {
                sql_addf(b,
                         "%sSELECT a.signature AS signature, a.container AS container, a.mcs "
                         "AS mcs, a.count AS count, a.first_ms AS first_ms, a.last_ms AS "
                         "last_ms, " SQL_FLOOR(
                                 "a.hour * 3600000") " AS bin FROM buckets a "
                                                     "WHERE a.hour BETWEEN :h1 AND :h2",
                         sep);
                plan_conditions(b, p, "a", DRIVE_SCAN, true);
                sep = " UNION ALL ";
        }
        for (unsigned i = 0; i < t->n_raw; i++) {
                sql_addf(b,
                         "%sSELECT d.signature AS signature, coalesce(d.container, 0) AS "
                         "container, coalesce(d.mcs, 0) AS mcs, coalesce(d.count, 1) AS count, "
                         "d.id >> 20 AS first_ms, d.id >> 20 AS last_ms, " SQL_FLOOR(
                                 "d.id >> 20") " AS bin FROM denials d WHERE d.id BETWEEN :r%ulo "
                                               "AND :r%uhi",
                         sep, i, i);
                plan_conditions(b, p, "d", DRIVE_SCAN, false);
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
        plan_bind(p, st);
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
        sqlite3_progress_handler(s->ro, STORE_PROGRESS_OPS, on_progress, &budget);
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
                                 "g.permissions, c.image",
                                 "tg.result = g.result AND tg.source_type = g.source_type AND "
                                 "tg.target_type = g.target_type AND tg.tclass = g.tclass AND "
                                 "tg.permissions = g.permissions AND tc.image IS c.image"},
        [STORE_TOP_CONTAINER] = {"a.container, CASE WHEN a.container = 0 THEN a.mcs END",
                                 "t.container = a.container AND (a.container <> 0 OR t.mcs = "
                                 "a.mcs)"},
        [STORE_TOP_IMAGE] = {"c.image", "tc.image IS c.image"},
        [STORE_TOP_TCLASS] = {"g.tclass", "tg.tclass = g.tclass"},
};

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
        _cleanup_(plan_done) Plan p = {};
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
        r = plan_resolve(s, f, &p);
        if (r < 0)
                return r;
        if (p.empty)
                return 0;
        /* With comm or path only rows can say when a group was first seen: read them from the
         * beginning, count only those in the range. */
        const bool rows_new = new_only && plan_needs_rows(&p);
        int64_t horizon;
        r = pruned_until(s, &horizon);
        if (r < 0)
                return r;
        time_parts(&p, plan_needs_rows(&p), true, horizon, &t);
        if (rows_new)
                t.raw_lo[0] = INT64_MIN;
        const char *inr = rows_new ? "a.first_ms >= :since" : "1";

        b = calloc(1, sizeof(SqlBuf));
        if (!b)
                return -ENOMEM;
        const bool sig = by == STORE_TOP_SIGNATURE, ctr = by == STORE_TOP_CONTAINER;
        sql_add(b, "SELECT ");
        const char *sig_columns[] = {"result", "source_type", "target_type", "tclass",
                                     "permissions"};
        for (size_t i = 0; i < ELEMENTSOF(sig_columns); i++)
                if (sig || (by == STORE_TOP_TCLASS && i == 3))
                        sql_addf(b, "(SELECT text FROM strings WHERE id = g.%s), ", sig_columns[i]);
                else
                        sql_add(b, "NULL, ");
        sql_add(b, by != STORE_TOP_TCLASS ? "c.image, " : "NULL, ");
        sql_add(b, ctr ? "c.container_id, c.name, c.engine, c.pod, CASE WHEN a.container = 0 "
                         "THEN (SELECT text FROM strings WHERE id = a.mcs) END, "
                       : "NULL, NULL, NULL, NULL, NULL, ");
        sql_addf(b,
                 "sum(CASE WHEN %s THEN a.count END) AS n, min(CASE WHEN %s THEN a.first_ms END) "
                 "AS first, max(CASE WHEN %s THEN a.last_ms END), count(DISTINCT CASE WHEN %s "
                 "THEN nullif(a.container, 0) END), count(DISTINCT CASE WHEN %s THEN a.signature "
                 "END) FROM (",
                 inr, inr, inr, inr, inr);
        time_parts_source(b, &t, &p);
        sql_addf(b,
                 ") AS a LEFT JOIN signatures g ON g.id = a.signature LEFT JOIN containers c "
                 "ON c.id = a.container GROUP BY %s HAVING n > 0",
                 top_groups[by].group);
        if (rows_new)
                sql_add(b, " AND min(a.first_ms) >= :since");
        else if (new_only) {
                sql_add(b, " AND (SELECT min(t.first_ms) FROM totals t LEFT JOIN signatures tg ON "
                           "tg.id = t.signature LEFT JOIN containers tc ON tc.id = t.container "
                           "WHERE ");
                sql_add(b, top_groups[by].same);
                plan_conditions(b, &p, "t", DRIVE_SCAN, true);
                sql_add(b, ") >= :since");
        }
        sql_add(b, " ORDER BY n DESC, first ASC LIMIT :limit");
        r = prepare_aggregate(s, b, &p, &t, &st);
        if (r < 0)
                return r;
        bind_named_int64(st, ":iv", 1);
        bind_named_int64(st, ":since", f->since_ms);
        bind_named_int64(st, ":limit", limit);
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
        static const DenialFilter empty = {};
        _cleanup_(plan_done) Plan p = {};
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_(freep) SqlBuf *b = NULL;
        TimeParts t;
        int r;

        if (!s || !cb || interval_ms <= 0 || interval_ms >= STORE_TIME_MAX)
                return -EINVAL;
        if (!f)
                f = &empty;
        r = plan_resolve(s, f, &p);
        if (r < 0)
                return r;
        if (p.empty)
                return 0;
        /* Hourly buckets fall into one bin each only when bins are whole hours. */
        int64_t horizon;
        r = pruned_until(s, &horizon);
        if (r < 0)
                return r;
        time_parts(&p, plan_needs_rows(&p) || interval_ms % STORE_HOUR_MS != 0, false, horizon, &t);

        b = calloc(1, sizeof(SqlBuf));
        if (!b)
                return -ENOMEM;
        sql_add(b, "SELECT a.bin, sum(a.count) AS n FROM (");
        time_parts_source(b, &t, &p);
        sql_add(b, ") AS a GROUP BY a.bin HAVING n > 0 ORDER BY a.bin");
        r = prepare_aggregate(s, b, &p, &t, &st);
        if (r < 0)
                return r;
        bind_named_int64(st, ":iv", interval_ms);
        HistogramCall call = {.cb = cb, .userdata = userdata, .s = s};
        return run_budgeted(s, st, histogram_row, &call);
}
