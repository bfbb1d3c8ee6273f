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
#include "triage-names.h"
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

static void free_all(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
}

void store_plan_done(Plan *p) {
        char **lists[] = {
                p->container_hi,       p->target_container_hi, p->type_lo,     p->type_hi,
                p->target_type_lo,     p->target_type_hi,      p->not_type_lo, p->not_type_hi,
                p->not_target_type_lo, p->not_target_type_hi,  p->perm_padded, p->not_perm_padded,
        };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                free_all(lists[i], FILTER_VALUES_MAX);
        for (size_t i = 0; i < p->n_paths; i++) {
                free(p->paths[i].lo);
                free(p->paths[i].hi);
        }
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

/* " OR "-joined matches of container c against every value of a container field (param: the
 * parameter stem, :container0 ..). */
static void containers_match(SqlBuf *b, const FilterValues *l, const char *param,
                             char *const *his) {
        store_sql_add(b, "(0");
        for (size_t i = 0; i < l->n; i++) {
                if (container_value_kind(l->v[i]) == CONTAINER_VALUE_ID) {
                        store_sql_addf(b, " OR c.container_id = :%s%zu", param, i); /* no name */
                        continue;
                }
                store_sql_addf(b,
                               " OR c.name = :%s%zu OR c.id IN (SELECT container FROM "
                               "container_names WHERE name = :%s%zu)",
                               param, i, param, i);
                if (his[i])
                        store_sql_addf(b,
                                       " OR (c.container_id >= :%s%zu AND c.container_id < "
                                       ":%s_hi%zu)",
                                       param, i, param, i);
        }
        store_sql_add(b, ")");
}

/* The WHERE conditions on containers c (no leading AND). */
void store_plan_containers_where(SqlBuf *b, const Plan *p) {
        const DenialFilter *f = p->f;
        store_sql_add(b, "1");
        if (f->container.n > 0) {
                store_sql_add(b, " AND ");
                containers_match(b, &f->container, "container", p->container_hi);
        }
        if (f->image.n > 0) {
                /* "nginx" names nginx:1.25 and docker.io/library/nginx too (filter.h) */
                store_sql_add(b, " AND (0");
                for (size_t i = 0; i < f->image.n; i++)
                        store_sql_addf(b, " OR avcwatch_image_matches(:image%zu, c.image)", i);
                store_sql_add(b, ")");
        }
        if (f->pod.n > 0) {
                store_sql_add(b, " AND c.pod IN (");
                for (size_t i = 0; i < f->pod.n; i++)
                        store_sql_addf(b, "%s:pod%zu", i > 0 ? ", " : "", i);
                store_sql_add(b, ")");
        }
        if (f->pod_namespace.n > 0) {
                store_sql_add(b, " AND c.pod_namespace IN (");
                for (size_t i = 0; i < f->pod_namespace.n; i++)
                        store_sql_addf(b, "%s:namespace%zu", i > 0 ? ", " : "", i);
                store_sql_add(b, ")");
        }
}

/* (g.COLUMN matches one of the values): exact, or a prefix where lo[i] is set. IN, not =, so
 * that a value the store lacks is false, never NULL (NOT NULL would refuse every row). */
static void signature_strings(SqlBuf *b, const char *column, const FilterValues *l,
                              const char *param, char *const *lo, char *const *hi) {
        store_sql_add(b, "(0");
        for (size_t i = 0; i < l->n; i++) {
                if (!lo || !lo[i]) {
                        store_sql_addf(b,
                                       " OR g.%s IN (SELECT id FROM strings WHERE text = :%s%zu)",
                                       column, param, i);
                        continue;
                }
                store_sql_addf(b, " OR g.%s IN (SELECT id FROM strings WHERE text >= :%s_lo%zu",
                               column, param, i);
                if (hi[i])
                        store_sql_addf(b, " AND text < :%s_hi%zu", param, i);
                store_sql_add(b, ")");
        }
        store_sql_add(b, ")");
}

static void signature_perms(SqlBuf *b, size_t n, const char *param) {
        /* Permission sets are interned whole ("read write"): look for the word. */
        store_sql_add(b, "(0");
        for (size_t i = 0; i < n; i++)
                store_sql_addf(b,
                               " OR instr(' ' || (SELECT text FROM strings WHERE id = "
                               "g.permissions) || ' ', :%s%zu) > 0",
                               param, i);
        store_sql_add(b, ")");
}

/* The WHERE conditions on signatures g (no leading AND). */
void store_plan_signatures_where(SqlBuf *b, const Plan *p) {
        const DenialFilter *f = p->f;
        const struct {
                const char *column, *param;
                const FilterValues *l;
                char *const *lo, *const *hi;
                bool negate;
        } strings[] = {
                {"source_type", "type", &f->source_type, p->type_lo, p->type_hi, false},
                {"target_type", "target_type", &f->target_type, p->target_type_lo,
                 p->target_type_hi, false},
                {"tclass", "tclass", &f->tclass, NULL, NULL, false},
                {"source_type", "not_type", &f->not_source_type, p->not_type_lo, p->not_type_hi,
                 true},
                {"target_type", "not_target_type", &f->not_target_type, p->not_target_type_lo,
                 p->not_target_type_hi, true},
                {"tclass", "not_tclass", &f->not_tclass, NULL, NULL, true},
        };

        store_sql_add(b, "1");
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                if (strings[i].l->n == 0)
                        continue;
                store_sql_add(b, strings[i].negate ? " AND NOT " : " AND ");
                signature_strings(b, strings[i].column, strings[i].l, strings[i].param,
                                  strings[i].lo, strings[i].hi);
        }
        if (f->perm.n > 0) {
                store_sql_add(b, " AND ");
                signature_perms(b, f->perm.n, "perm");
        }
        if (f->not_perm.n > 0) {
                store_sql_add(b, " AND NOT ");
                signature_perms(b, f->not_perm.n, "not_perm");
        }
}

static void bind_texts(sqlite3_stmt *st, const char *param, char *const *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char name[64];
                snprintf(name, sizeof(name), ":%s%zu", param, i);
                store_bind_named_text(st, name, v[i]);
        }
}

static void bind_ints(sqlite3_stmt *st, const char *param, const int64_t *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char name[64];
                snprintf(name, sizeof(name), ":%s%zu", param, i);
                store_bind_named_int64(st, name, v[i]);
        }
}

void store_plan_bind(const Plan *p, sqlite3_stmt *st) {
        const DenialFilter *f = p->f;
        const struct {
                const char *param;
                char *const *v;
                size_t n;
        } texts[] = {
                {"container", f->container.v, f->container.n},
                {"container_hi", p->container_hi, f->container.n},
                {"target_container", f->target_container.v, f->target_container.n},
                {"target_container_hi", p->target_container_hi, f->target_container.n},
                {"image", f->image.v, f->image.n},
                {"pod", f->pod.v, f->pod.n},
                {"namespace", f->pod_namespace.v, f->pod_namespace.n},
                {"type", f->source_type.v, f->source_type.n},
                {"type_lo", p->type_lo, f->source_type.n},
                {"type_hi", p->type_hi, f->source_type.n},
                {"target_type", f->target_type.v, f->target_type.n},
                {"target_type_lo", p->target_type_lo, f->target_type.n},
                {"target_type_hi", p->target_type_hi, f->target_type.n},
                {"tclass", f->tclass.v, f->tclass.n},
                {"not_type", f->not_source_type.v, f->not_source_type.n},
                {"not_type_lo", p->not_type_lo, f->not_source_type.n},
                {"not_type_hi", p->not_type_hi, f->not_source_type.n},
                {"not_target_type", f->not_target_type.v, f->not_target_type.n},
                {"not_target_type_lo", p->not_target_type_lo, f->not_target_type.n},
                {"not_target_type_hi", p->not_target_type_hi, f->not_target_type.n},
                {"not_tclass", f->not_tclass.v, f->not_tclass.n},
                {"perm", p->perm_padded, f->perm.n},
                {"not_perm", p->not_perm_padded, f->not_perm.n},
        };
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                bind_texts(st, texts[i].param, texts[i].v, texts[i].n);
        bind_ints(st, "mcs", p->mcs, p->n_mcs);
        store_bind_named_int64(st, ":selftest", p->selftest);
        bind_ints(st, "comm", p->comm, p->n_comm);
        bind_ints(st, "not_comm", p->not_comm, p->n_not_comm);
        for (size_t i = 0; i < p->n_paths; i++) {
                char name[64];
                snprintf(name, sizeof(name), ":path_id%zu", i);
                store_bind_named_int64(st, name, p->paths[i].id);
                snprintf(name, sizeof(name), ":path_lo%zu", i);
                store_bind_named_text(st, name, p->paths[i].lo);
                snprintf(name, sizeof(name), ":path_hi%zu", i);
                store_bind_named_text(st, name, p->paths[i].hi);
        }
        bind_ints(st, "c", p->containers.ids, p->containers.n);
        bind_ints(st, "tc", p->target_containers.ids, p->target_containers.n);
        bind_ints(st, "g", p->signatures, p->n_signatures);
        bind_ints(st, "v", p->drive_values, p->n_drive);
        store_bind_named_int64(st, ":ambiguous", ATTRIBUTION_AMBIGUOUS);
        store_bind_named_int64(st, ":pod", ATTRIBUTION_POD);
        store_bind_named_int64(st, ":namespace", ATTRIBUTION_NAMESPACE);
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

/* The id prefix bounds of a container field: for a value that may be a name or an id prefix
 * (container_value_kind()) and is no container's name (a name wins over an id prefix: "db" is
 * the container named db when there is one, not also every container whose id starts with
 * db). */
static int container_prefixes(Store *s, const FilterValues *l, uint32_t is_name, char **his) {
        for (size_t i = 0; i < l->n; i++) {
                if ((i < 32 && (is_name & (UINT32_C(1) << i))) ||
                    container_value_kind(l->v[i]) != CONTAINER_VALUE_NAME_OR_PREFIX)
                        continue;
                int r = store_container_name_known(s, l->v[i]);
                if (r < 0)
                        return r;
                if (r == 0) {
                        his[i] = prefix_upper_bound(l->v[i]);
                        if (!his[i])
                                return -ENOMEM;
                }
        }
        return 0;
}

/* The prefix bounds of the values with a trailing '*' (lo without it; hi NULL: no bound). */
static int value_prefixes(const FilterValues *l, char **lo, char **hi) {
        for (size_t i = 0; i < l->n; i++) {
                if (!filter_value_is_prefix(l->v[i]))
                        continue;
                lo[i] = strndup(l->v[i], strlen(l->v[i]) - 1);
                if (!lo[i])
                        return -ENOMEM;
                hi[i] = lo[i][0] ? prefix_upper_bound(lo[i]) : NULL;
                if (lo[i][0] && !hi[i])
                        return -ENOMEM;
        }
        return 0;
}

/* The string ids of the values the store has (unknown ones can match nothing). */
static int lookup_strings(Store *s, const FilterValues *l, int64_t *ids, size_t *ret_n) {
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++) {
                int64_t id;
                int r = lookup_string(s, l->v[i], &id);
                if (r < 0)
                        return r;
                if (id > 0)
                        ids[n++] = id;
        }
        *ret_n = n;
        return 0;
}

static int resolve_containers(Store *s, Plan *p, const char *where, PlanContainers *ret) {
        _cleanup_(freep) SqlBuf *b = calloc(1, sizeof(SqlBuf));
        int r;

        if (!b)
                return -ENOMEM;
        ret->set = true;
        store_sql_add(b, "SELECT c.id FROM containers c WHERE ");
        store_sql_add(b, where);
        if (b->overflow)
                return -E2BIG;
        r = collect_ids(s, p, b->text, ret->ids, ELEMENTSOF(ret->ids), &ret->n, &ret->many);
        if (r < 0)
                return r;
        if (ret->n == 0)
                p->empty = true;
        if (ret->many)
                ret->n = 0; /* bound as a subquery instead */
        return 0;
}

/* Whether any of the filter's containers is a candidate of an ambiguous denial. */
static int resolve_candidates(Store *s, Plan *p) {
        _cleanup_(freep) SqlBuf *b = calloc(1, sizeof(SqlBuf));
        int64_t one;
        size_t n = 0;
        bool many;
        int r;

        if (!b)
                return -ENOMEM;
        store_sql_add(b, "SELECT k.container FROM denial_candidates k WHERE ");
        store_plan_container_ids(b, p, "k.container", &p->containers, "c");
        store_sql_add(b, " LIMIT 1");
        if (b->overflow)
                return -E2BIG;
        r = collect_ids(s, p, b->text, &one, 1, &n, &many);
        if (r < 0)
                return r;
        p->candidates = n > 0;
        return 0;
}

/* The indexes of a triage field's names ("none": -1); the filter was validated on decoding. */
static size_t triage_values(const FilterValues *l, const char *const *names, size_t n, int *ret) {
        size_t k = 0;
        for (size_t i = 0; i < l->n; i++) {
                int v = strcmp(l->v[i], TRIAGE_NONE) == 0 ? -1
                                                          : triage_name_index(names, n, l->v[i]);
                if (v >= -1)
                        ret[k++] = v;
        }
        return k;
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

        r = container_prefixes(s, &f->container, f->container_is_name, p->container_hi);
        if (r < 0)
                return r;
        r = container_prefixes(s, &f->target_container, f->target_container_is_name,
                               p->target_container_hi);
        if (r < 0)
                return r;
        const struct {
                const FilterValues *l;
                char **lo, **hi;
        } prefixes[] = {
                {&f->source_type, p->type_lo, p->type_hi},
                {&f->target_type, p->target_type_lo, p->target_type_hi},
                {&f->not_source_type, p->not_type_lo, p->not_type_hi},
                {&f->not_target_type, p->not_target_type_lo, p->not_target_type_hi},
        };
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                r = value_prefixes(prefixes[i].l, prefixes[i].lo, prefixes[i].hi);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < f->perm.n; i++)
                if (asprintf(&p->perm_padded[i], " %s ", f->perm.v[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < f->not_perm.n; i++)
                if (asprintf(&p->not_perm_padded[i], " %s ", f->not_perm.v[i]) < 0)
                        return -ENOMEM;

        /* Paths: the values the store can have. */
        for (size_t i = 0; i < f->path.n; i++) {
                PlanPath *pp = &p->paths[p->n_paths];
                if (filter_value_is_prefix(f->path.v[i])) {
                        pp->prefix = true;
                        pp->lo = strndup(f->path.v[i], strlen(f->path.v[i]) - 1);
                        if (!pp->lo)
                                return -ENOMEM;
                        pp->any = pp->lo[0] == 0;
                        if (!pp->any && !(pp->hi = prefix_upper_bound(pp->lo))) {
                                free(pp->lo);
                                pp->lo = NULL;
                                return -ENOMEM;
                        }
                        p->n_paths++;
                        continue;
                }
                r = lookup_string(s, f->path.v[i], &pp->id);
                if (r < 0)
                        return r;
                if (pp->id > 0)
                        p->n_paths++;
        }
        if (f->path.n > 0 && p->n_paths == 0)
                p->empty = true;

        if (f->container.n > 0 || f->image.n > 0 || f->pod.n > 0 || f->pod_namespace.n > 0) {
                store_plan_containers_where(b, p);
                if (b->overflow)
                        return -E2BIG;
                r = resolve_containers(s, p, b->text, &p->containers);
                if (r < 0)
                        return r;
                /* --container NAME also finds the ambiguous denials NAME may have caused (and
                 * those named at its pod or namespace); --pod POD those named at POD, and
                 * --namespace NS those named at NS or at a pod of it. */
                bool by_pod = f->pod.n > 0 && f->container.n == 0;
                bool by_ns = f->pod_namespace.n > 0 && f->container.n == 0;
                if ((f->container.n > 0 || by_pod || by_ns) && f->image.n == 0 &&
                    (f->pod.n == 0 || by_pod) && (f->pod_namespace.n == 0 || by_ns) && !p->empty) {
                        r = resolve_candidates(s, p);
                        if (r < 0)
                                return r;
                        p->candidates_level = by_pod  ? ATTRIBUTION_POD
                                              : by_ns ? ATTRIBUTION_NAMESPACE
                                                      : ATTRIBUTION_AMBIGUOUS;
                }
        }
        if (f->target_container.n > 0) {
                *b = (SqlBuf){};
                containers_match(b, &f->target_container, "target_container",
                                 p->target_container_hi);
                if (b->overflow)
                        return -E2BIG;
                r = resolve_containers(s, p, b->text, &p->target_containers);
                if (r < 0)
                        return r;
        }
        if (f->source_type.n > 0 || f->target_type.n > 0 || f->tclass.n > 0 || f->perm.n > 0 ||
            f->not_source_type.n > 0 || f->not_target_type.n > 0 || f->not_tclass.n > 0 ||
            f->not_perm.n > 0) {
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
        /* Self-test denials are left out by their signature's result, which rows and aggregates
         * share: both answer alike. Never stored, nothing to leave out. */
        if (!f->include_selftest) {
                r = lookup_string(s, DENIAL_RESULT_SELFTEST, &p->selftest);
                if (r < 0)
                        return r;
        }
        const struct {
                const FilterValues *l;
                int64_t *ids;
                size_t *n;
                bool negate;
        } strings[] = {
                {&f->mcs, p->mcs, &p->n_mcs, false},
                {&f->comm, p->comm, &p->n_comm, false},
                {&f->not_comm, p->not_comm, &p->n_not_comm, true},
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                r = lookup_strings(s, strings[i].l, strings[i].ids, strings[i].n);
                if (r < 0)
                        return r;
                if (!strings[i].negate && strings[i].l->n > 0 && *strings[i].n == 0)
                        p->empty = true;
        }

        p->n_reasons = triage_values(&f->reason, triage_reason_names, TRIAGE_REASONS_N, p->reasons);
        p->n_not_reasons = triage_values(&f->not_reason, triage_reason_names, TRIAGE_REASONS_N,
                                         p->not_reasons);
        p->n_verdicts =
                triage_values(&f->verdict, triage_verdict_names, TRIAGE_VERDICTS_N, p->verdicts);
        p->n_not_verdicts = triage_values(&f->not_verdict, triage_verdict_names, TRIAGE_VERDICTS_N,
                                          p->not_verdicts);
        if ((f->reason.n > 0 && p->n_reasons == 0) || (f->verdict.n > 0 && p->n_verdicts == 0))
                p->empty = true;

        /* The driving index. */
        if (p->containers.n > 0) {
                p->drive = DRIVE_CONTAINER;
                p->drive_values = p->containers.ids;
                p->n_drive = p->containers.n;
        } else if (p->n_mcs > 0) {
                p->drive = DRIVE_MCS;
                p->drive_values = p->mcs;
                p->n_drive = p->n_mcs;
        } else if (p->n_signatures > 0 && p->n_signatures <= STORE_DRIVE_SIGNATURES_MAX) {
                p->drive = DRIVE_SIGNATURE;
                p->drive_values = p->signatures;
                p->n_drive = p->n_signatures;
        } else
                p->drive = DRIVE_SCAN;
        return 0;
}

/* " COLUMN IN (...)" for a list of container rows (param: :c0 .., or the subquery). */
void store_plan_container_ids(SqlBuf *b, const Plan *p, const char *column, const PlanContainers *l,
                              const char *param) {
        if (l->many) {
                store_sql_addf(b, "%s IN (SELECT c.id FROM containers c WHERE ", column);
                if (l == &p->containers)
                        store_plan_containers_where(b, p);
                else
                        containers_match(b, &p->f->target_container, "target_container",
                                         p->target_container_hi);
                store_sql_add(b, ")");
                return;
        }
        store_sql_addf(b, "%s IN (", column);
        for (size_t i = 0; i < l->n; i++)
                store_sql_addf(b, "%s:%s%zu", i > 0 ? ", " : "", param, i);
        store_sql_add(b, ")");
}

static void int_list(SqlBuf *b, const char *param, size_t n) {
        store_sql_add(b, "(");
        for (size_t i = 0; i < n; i++)
                store_sql_addf(b, "%s:%s%zu", i > 0 ? ", " : "", param, i);
        store_sql_add(b, ")");
}

/* " AND coalesce(t.column, -1) [NOT] IN (values)": the values are validated indexes, written
 * as they are. */
static void triage_condition(SqlBuf *b, const char *t, const char *column, const int *v, size_t n,
                             bool negate) {
        if (n == 0)
                return;
        store_sql_addf(b, " AND coalesce(%s.%s, -1) %sIN (", t, column, negate ? "NOT " : "");
        for (size_t i = 0; i < n; i++)
                store_sql_addf(b, "%s%d", i > 0 ? ", " : "", v[i]);
        store_sql_add(b, ")");
}

/* The attributions of the denials that the candidates of the plan's containers stand for. */
static const char *candidate_attributions(const Plan *p) {
        switch (p->candidates_level) {
        case ATTRIBUTION_POD:
                return "(:pod)";
        case ATTRIBUTION_NAMESPACE:
                return "(:pod, :namespace)";
        default:
                return "(:ambiguous, :pod, :namespace)";
        }
}

/* " AND ..." for every condition but the one `skip` drives, on the table aliased `t`: denials,
 * or (aggregate) totals / buckets, whose container and mcs are 0 rather than NULL and which have
 * no comm, path, target container or candidates (store_plan_needs_rows() says when those are
 * asked for). */
void store_plan_conditions(SqlBuf *b, const Plan *p, const char *t, Drive skip, bool aggregate) {
        char column[64];

        if (p->containers.set && skip != DRIVE_CONTAINER) {
                snprintf(column, sizeof(column), "%s.container", t);
                store_sql_add(b, " AND (");
                store_plan_container_ids(b, p, column, &p->containers, "c");
                if (p->candidates && !aggregate) {
                        /* an ambiguous denial one of the containers may have caused */
                        store_sql_addf(b,
                                       " OR (%s.attribution IN %s AND EXISTS (SELECT 1 FROM "
                                       "denial_candidates k WHERE k.time_ms = (%s.id >> 20) AND "
                                       "k.serial = %s.serial AND k.seq = %s.seq AND ",
                                       t, candidate_attributions(p), t, t, t);
                        store_plan_container_ids(b, p, "k.container", &p->containers, "c");
                        store_sql_add(b, "))");
                }
                store_sql_add(b, ")");
        }
        if (p->n_mcs > 0 && skip != DRIVE_MCS) {
                store_sql_addf(b, " AND %s.mcs IN ", t);
                int_list(b, "mcs", p->n_mcs);
        }
        if (p->has_signatures && skip != DRIVE_SIGNATURE) {
                if (p->signatures_many) {
                        store_sql_addf(
                                b, " AND %s.signature IN (SELECT g.id FROM signatures g WHERE ", t);
                        store_plan_signatures_where(b, p);
                        store_sql_add(b, ")");
                } else {
                        store_sql_addf(b, " AND %s.signature IN ", t);
                        int_list(b, "g", p->n_signatures);
                }
        }
        if (p->selftest > 0)
                store_sql_addf(b,
                               " AND %s.signature NOT IN (SELECT g.id FROM signatures g WHERE "
                               "g.result = :selftest)",
                               t);
        if (aggregate)
                return;
        if (p->target_containers.set) {
                snprintf(column, sizeof(column), " AND %s.target_container", t);
                store_plan_container_ids(b, p, column, &p->target_containers, "tc");
        }
        if (p->n_comm > 0) {
                store_sql_addf(b, " AND %s.comm IN ", t);
                int_list(b, "comm", p->n_comm);
        }
        if (p->n_not_comm > 0) {
                store_sql_addf(b, " AND (%s.comm IS NULL OR %s.comm NOT IN ", t, t);
                int_list(b, "not_comm", p->n_not_comm);
                store_sql_add(b, ")");
        }
        if (p->f->has_serial)
                store_sql_addf(b, " AND %s.serial = %" PRIu64, t, p->f->serial);
        triage_condition(b, t, "reason", p->reasons, p->n_reasons, false);
        triage_condition(b, t, "verdict", p->verdicts, p->n_verdicts, false);
        triage_condition(b, t, "reason", p->not_reasons, p->n_not_reasons, true);
        triage_condition(b, t, "verdict", p->not_verdicts, p->n_not_verdicts, true);
        if (p->n_paths > 0) {
                store_sql_add(b, " AND (0");
                for (size_t i = 0; i < p->n_paths; i++) {
                        const PlanPath *pp = &p->paths[i];
                        if (!pp->prefix)
                                store_sql_addf(b,
                                               " OR %s.path = :path_id%zu OR %s.name = :path_id%zu",
                                               t, i, t, i);
                        else if (pp->any)
                                store_sql_addf(b, " OR %s.path IS NOT NULL", t);
                        else
                                store_sql_addf(b,
                                               " OR %s.path IN (SELECT id FROM strings WHERE text "
                                               ">= :path_lo%zu AND text < :path_hi%zu)",
                                               t, i, i);
                }
                store_sql_add(b, ")");
        }
}

/* Whether the filter asks about something only the denial rows have. */
bool store_plan_needs_rows(const Plan *p) {
        return p->n_comm > 0 || p->n_not_comm > 0 || p->n_paths > 0 || p->target_containers.set ||
               p->candidates || p->n_reasons > 0 || p->n_verdicts > 0 || p->n_not_reasons > 0 ||
               p->n_not_verdicts > 0 || p->f->has_serial;
}

void store_plan_residual(SqlBuf *b, const Plan *p) {
        store_plan_conditions(b, p, "d", p->drive, false);
}

/* Whether the driving containers also drive the ambiguous denials they are candidates of. */
static bool drive_candidates(const Plan *p) {
        return p->drive == DRIVE_CONTAINER && p->candidates;
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
        /* One arm more per container: the ambiguous denials it is a candidate of, found by the
         * candidates' (container, time) index. A denial with several of them as candidates is
         * in several arms: UNION keeps it once. */
        for (size_t i = 0; drive_candidates(p) && i < p->n_drive; i++) {
                store_sql_addf(
                        b,
                        " UNION SELECT id FROM (SELECT d.id AS id FROM denial_candidates k CROSS "
                        "JOIN denials d ON d.id BETWEEN (k.time_ms << 20) AND (k.time_ms << 20) + "
                        "1048575 AND d.serial = k.serial AND d.seq = k.seq WHERE k.container = "
                        ":v%zu AND k.time_ms BETWEEN (:wlo >> 20) AND (:whi >> 20) AND d.id "
                        "BETWEEN :wlo AND :whi AND d.attribution IN %s",
                        i, candidate_attributions(p));
                store_plan_residual(b, p);
                store_sql_addf(b, " ORDER BY d.id %s LIMIT :n)", dir);
        }
        if (p->n_drive > 1 || drive_candidates(p))
                store_sql_addf(b, " ORDER BY 1 %s LIMIT :n", dir);
}

bool store_plan_window_where(SqlBuf *b, const Plan *p, bool reverse) {
        if (p->drive != DRIVE_SCAN && (p->n_drive != 1 || drive_candidates(p)))
                return false;
        store_sql_add(b, " WHERE d.id BETWEEN :wlo AND :whi");
        if (p->drive != DRIVE_SCAN)
                store_sql_addf(b, " AND d.%s = :v0", drive_column[p->drive]);
        store_plan_residual(b, p);
        store_sql_addf(b, " ORDER BY d.id %s LIMIT :n", reverse ? "DESC" : "ASC");
        return true;
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
        /* A candidate's millisecond, as an id bound that never passes :p. */
        for (size_t i = 0; drive_candidates(p) && i < p->n_drive; i++)
                store_sql_addf(b,
                               " UNION ALL SELECT %s(:p, (%s(time_ms) << 20)%s) FROM "
                               "denial_candidates WHERE container = :v%zu AND time_ms %s (:p >> "
                               "20)",
                               reverse ? "min" : "max", agg, reverse ? " + 1048575" : "", i, cmp);
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
