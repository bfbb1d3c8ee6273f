/* SPDX-License-Identifier: MIT */
/* Whether the names, images and pods a filter gives are known to the registry's tables, and the
 * known ones closest to one that is not ("did you mean 'web'?").
 *
 * Decisions:
 * - A value nothing in the containers table can match is the user's typo far more often than a
 *   question with an empty answer, so the API answers it with an error and the closest names
 *   (io.avcwatch.UnknownContainer) instead of an empty page.
 * - "Close" is the optimal string alignment distance (a swap of two neighbours is one edit:
 *   "wbe" is one from "web"), at most 1 for values up to 4 bytes, 2 up to 8, 3 beyond. It is
 *   computed against the STORE_HINT_NAMES_MAX most recently seen distinct values only, and only
 *   for values up to STORE_HINT_LEN_MAX bytes, so that a hint costs a bounded amount of work
 *   whatever the size of the registry. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-private.h"
#include "store.h"

#define STORE_HINT_NAMES_MAX 1000 /* known values compared against an unknown one */
#define STORE_HINT_LEN_MAX 64     /* longer values (known or not) get no hint */

void store_unknown_done(StoreUnknown *u) {
        if (!u)
                return;
        for (size_t i = 0; i < u->n_closest; i++)
                free(u->closest[i]);
        *u = (StoreUnknown){};
}

/* Optimal string alignment distance of a and b (both <= STORE_HINT_LEN_MAX bytes). */
static unsigned edit_distance(const char *a, size_t n, const char *b, size_t m) {
        unsigned d[STORE_HINT_LEN_MAX + 1][STORE_HINT_LEN_MAX + 1];

        for (size_t i = 0; i <= n; i++)
                d[i][0] = (unsigned) i;
        for (size_t j = 0; j <= m; j++)
                d[0][j] = (unsigned) j;
        for (size_t i = 1; i <= n; i++)
                for (size_t j = 1; j <= m; j++) {
                        unsigned cost = a[i - 1] != b[j - 1];
                        unsigned v = MIN(d[i - 1][j] + 1, d[i][j - 1] + 1);
                        v = MIN(v, d[i - 1][j - 1] + cost);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                v = MIN(v, d[i - 2][j - 2] + 1);
                        d[i][j] = v;
                }
        return d[n][m];
}

static unsigned hint_max_distance(size_t len) {
        return len <= 4 ? 1 : len <= 8 ? 2 : 3;
}

/* Fills u->closest with the known values of `column` closest to value. */
static int find_closest(Store *s, const char *column, const char *value, StoreUnknown *u) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        unsigned best[STORE_UNKNOWN_CLOSEST_MAX];
        size_t n = strlen(value);
        char sql[256];
        int rc;

        if (n > STORE_HINT_LEN_MAX)
                return 0;
        /* The most recently registered first: ties go to what the user more likely means. */
        snprintf(sql, sizeof(sql),
                 "SELECT %s FROM containers WHERE %s IS NOT NULL GROUP BY %s ORDER BY max(id) "
                 "DESC LIMIT %d",
                 column, column, column, STORE_HINT_NAMES_MAX);
        rc = sqlite3_prepare_v2(s->ro, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *name = (const char *) sqlite3_column_text(st, 0);
                size_t m = (size_t) sqlite3_column_bytes(st, 0);
                if (!name || m == 0 || m > STORE_HINT_LEN_MAX)
                        continue;
                unsigned dist = edit_distance(value, n, name, m);
                if (dist > hint_max_distance(n))
                        continue;
                /* Insert in order of distance, keeping the first STORE_UNKNOWN_CLOSEST_MAX. */
                size_t at = u->n_closest;
                while (at > 0 && best[at - 1] > dist)
                        at--;
                if (at >= STORE_UNKNOWN_CLOSEST_MAX)
                        continue;
                char *copy = strndup(name, m);
                if (!copy)
                        return -ENOMEM;
                if (u->n_closest == STORE_UNKNOWN_CLOSEST_MAX)
                        free(u->closest[--u->n_closest]);
                memmove(u->closest + at + 1, u->closest + at, (u->n_closest - at) * sizeof(char *));
                memmove(best + at + 1, best + at, (u->n_closest - at) * sizeof(unsigned));
                u->closest[at] = copy;
                best[at] = dist;
                u->n_closest++;
        }
        return rc == SQLITE_DONE ? 0 : store_error(s, s->ro, rc);
}

static int exists(Store *s, const char *sql, const char *value) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->ro, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                return 1;
        return rc == SQLITE_DONE ? 0 : store_error(s, s->ro, rc);
}

/* A full id, a name (now or before a rename), or an id prefix of a known container, as
 * container_value_kind() reads the value. */
static int container_known(Store *s, const char *value) {
        ContainerValue kind = container_value_kind(value);
        if (kind == CONTAINER_VALUE_ID)
                return exists(s, "SELECT 1 FROM containers WHERE container_id = ?1", value);
        int r = store_container_name_known(s, value);
        if (r != 0 || kind != CONTAINER_VALUE_NAME_OR_PREFIX)
                return r;
        /* ids are lowercase hex: the prefix's range in byte order */
        return exists(s,
                      "SELECT 1 FROM containers WHERE substr(container_id, 1, length(?1)) = ?1 "
                      "LIMIT 1",
                      value);
}

int store_filter_unknown(Store *s, const DenialFilter *f, StoreUnknown *ret) {
        static const char *const image_sql =
                "SELECT 1 FROM containers WHERE avcwatch_image_matches(?1, image) LIMIT 1";
        static const char *const pod_sql = "SELECT 1 FROM containers WHERE pod = ?1 LIMIT 1";
        static const char *const namespace_sql =
                "SELECT 1 FROM containers WHERE pod_namespace = ?1 LIMIT 1";
        const struct {
                const char *field, *column;
                const FilterValues *l;
                const char *sql; /* NULL: a container name or id prefix */
        } checks[] = {
                {"container", "name", &f->container, NULL},
                {"target_container", "name", &f->target_container, NULL},
                {"image", "image", &f->image, image_sql},
                {"pod", "pod", &f->pod, pod_sql},
                {"namespace", "pod_namespace", &f->pod_namespace, namespace_sql},
        };
        int r;

        if (!s || !f || !ret)
                return -EINVAL;
        *ret = (StoreUnknown){};
        for (size_t i = 0; i < ELEMENTSOF(checks); i++)
                for (size_t j = 0; j < checks[i].l->n; j++) {
                        const char *v = checks[i].l->v[j];
                        r = checks[i].sql ? exists(s, checks[i].sql, v) : container_known(s, v);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                        *ret = (StoreUnknown){.field = checks[i].field, .value = v};
                        r = find_closest(s, checks[i].column, v, ret);
                        if (r < 0) {
                                store_unknown_done(ret);
                                return r;
                        }
                        return 1;
                }
        return 0;
}
