/* SPDX-License-Identifier: MIT */
/* store_top() and store_histogram() on a real database against a brute-force oracle computed
 * here from the very denials that were stored: every grouping, filters alone and combined, time
 * ranges that cut hours in the middle (aggregates for the whole hours, rows for the rest),
 * filters only rows can answer (comm, path), "new since", re-attribution after the fact, storm
 * summaries (a row with a count), and the bounds (limit, bins). */

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "fixtures.h"
#include "macro.h"
#include "store-private.h" /* the writer connection, to change rows behind the store's back */
#include "store.h"
#include "tests/unit/test.h"
#include "triage-names.h"

#define N 700
#define BASE_MS INT64_C(1700000000000) /* 2023-11-14T22:13:20Z: not on an hour */
#define STEP_MS INT64_C(397000)        /* 6 min 37 s: 77 hours in all, hours cut anywhere */

static const struct {
        const char *id, *name, *image, *pod, *ns;
} ctrs[] = {
        /* db and job are pods of one namespace: one row of top --by namespace, two by pod */
        /* web and job run one image, spelt by two engines: one row of top --by image */
        {"4dd9367681d8e3b2a6d19f1f5b52f6c8c2e8d2aa0d6c6f8d1f1e3a7b9c0d2e4f", "web",
         "docker.io/library/nginx:1", NULL, NULL},
        {"4dd9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e", "db", "postgres:16",
         "pod-a", "shop"},
        {"c0ffee00c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e", "job",
         "localhost/nginx:1", "pod-b", "shop"},
};

static Denial make(unsigned i) {
        Denial d = fixture_denial(BASE_MS + (int64_t) i * STEP_MS, 5000 + i);
        char buf[64];

        /* Later denials of new kinds appear: signatures that are "new since" a time. */
        unsigned kinds = i < N / 2 ? 2 : 4;
        set_string(&d.result, i % 17 == 0 ? "granted" : "denied");
        set_string(&d.permissions, fixture_perm_sets[(i / 2) % kinds]);
        set_string(&d.comm, fixture_comms[i % 4]);
        set_string(&d.source_type, fixture_types[i % 3]);
        set_string(&d.target_type, fixture_ttypes[i % kinds]);
        set_string(&d.tclass, fixture_classes[i % 3]);
        set_string(&d.mcs, fixture_mcss[(i / 3) % 3]);
        snprintf(buf, sizeof(buf), "system_u:system_r:%s:s0:%s", d.source_type, d.mcs);
        set_string(&d.scontext, buf);
        snprintf(buf, sizeof(buf), "/data/%u", i % 9);
        set_string(&d.path, buf);
        /* Triage: every reason and verdict, some untriaged (no policy at the time). */
        if (i % 6 != 5) {
                d.triaged = true;
                d.reason = (int) (i % 7);
                d.verdict = (int) ((i / 2) % 5);
        }
        /* Some are storm summaries: they stand for several denials, in every count. */
        if (i % 7 == 3)
                d.count = 2 + i % 5;
        if (i % 4 != 0) {
                unsigned k = (i / 4) % 3;
                d.has_container = true;
                fixture_container(&d.container, ctrs[k].id, ctrs[k].name, ctrs[k].image, "docker",
                                  ctrs[k].pod);
                set_string(&d.container.pod_namespace, ctrs[k].ns);
                d.attribution = ATTRIBUTION_PID;
        }
        return d;
}

/* ---- the oracle ---- */

typedef struct Group {
        char key[512];
        uint64_t count;
        int64_t first_ms, last_ms, all_first_ms;
        char containers[8][80];
        size_t n_containers;
        char signatures[64][200];
        size_t n_signatures;
} Group;

static Group groups[N];
static size_t n_groups;

static void add_distinct(char (*set)[80], size_t *n, size_t max, const char *v) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp(set[i], v) == 0)
                        return;
        CHECK(*n < max);
        snprintf(set[(*n)++], 80, "%s", v);
}

static void sig_of(const Denial *d, char *buf, size_t n) {
        snprintf(buf, n, "%s|%s|%s|%s|%s", d->result, d->source_type, d->target_type, d->tclass,
                 d->permissions);
}

static void key_of(const Denial *d, StoreTopBy by, char *buf, size_t n) {
        char sig[200], image_key[200];
        const char *image = d->has_container ? d->container.image : NULL;

        /* images are grouped by their one spelling, not by the engine's */
        if (image) {
                CHECK(image_ref_key(image, image_key, sizeof(image_key)) > 0);
                image = image_key;
        }
        switch (by) {
        case STORE_TOP_SIGNATURE:
                sig_of(d, sig, sizeof(sig));
                snprintf(buf, n, "%s|%s", sig, image ? image : "-");
                break;
        case STORE_TOP_CONTAINER:
                snprintf(buf, n, "%s", d->has_container ? d->container.id : d->mcs);
                break;
        case STORE_TOP_IMAGE:
                snprintf(buf, n, "%s", image ? image : "-");
                break;
        case STORE_TOP_TCLASS:
                snprintf(buf, n, "%s", d->tclass);
                break;
        case STORE_TOP_VERDICT:
                snprintf(buf, n, "%s", d->triaged ? triage_verdict_names[d->verdict] : "none");
                break;
        case STORE_TOP_REASON:
                snprintf(buf, n, "%s", d->triaged ? triage_reason_names[d->reason] : "none");
                break;
        case STORE_TOP_POD:
                snprintf(buf, n, "%s/%s",
                         d->has_container && d->container.pod_namespace ? d->container.pod_namespace
                                                                        : "-",
                         d->has_container && d->container.pod ? d->container.pod : "-");
                break;
        case STORE_TOP_NAMESPACE:
                snprintf(buf, n, "%s",
                         d->has_container && d->container.pod_namespace ? d->container.pod_namespace
                                                                        : "-");
                break;
        default:
                CHECK(false);
        }
}

static Group *group_of(const char *key) {
        for (size_t i = 0; i < n_groups; i++)
                if (strcmp(groups[i].key, key) == 0)
                        return &groups[i];
        CHECK(n_groups < N);
        Group *g = &groups[n_groups++];
        memset(g, 0, sizeof(*g));
        snprintf(g->key, sizeof(g->key), "%s", key);
        g->first_ms = g->all_first_ms = INT64_MAX;
        g->last_ms = INT64_MIN;
        return g;
}

static int cmp_groups(const void *a, const void *b) {
        const Group *x = a, *y = b;
        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        return x->first_ms < y->first_ms ? -1 : x->first_ms > y->first_ms;
}

/* The expected ranking: matches of f, grouped; new_only keeps groups whose first match of f
 * without its time range is at or after f->since_ms. */
static void oracle(const Denial *all, const DenialFilter *f, StoreTopBy by, bool new_only) {
        DenialFilter timeless = *f;
        char key[512], sig[200];

        timeless.has_since = timeless.has_until = false;
        n_groups = 0;
        for (size_t i = 0; i < N; i++) {
                if (!denial_filter_match(&timeless, &all[i]))
                        continue;
                key_of(&all[i], by, key, sizeof(key));
                Group *g = group_of(key);
                g->all_first_ms = MIN(g->all_first_ms, all[i].time_ms);
                if (!denial_filter_match(f, &all[i]))
                        continue;
                g->count += MAX(all[i].count, (uint64_t) 1);
                g->first_ms = MIN(g->first_ms, all[i].time_ms);
                g->last_ms = MAX(g->last_ms, all[i].time_ms);
                if (all[i].has_container)
                        add_distinct(g->containers, &g->n_containers, 8, all[i].container.id);
                sig_of(&all[i], sig, sizeof(sig));
                size_t k = 0;
                for (; k < g->n_signatures; k++)
                        if (strcmp(g->signatures[k], sig) == 0)
                                break;
                if (k == g->n_signatures) {
                        CHECK(k < 64);
                        snprintf(g->signatures[g->n_signatures++], 200, "%s", sig);
                }
        }
        size_t kept = 0;
        for (size_t i = 0; i < n_groups; i++)
                if (groups[i].count > 0 && (!new_only || groups[i].all_first_ms >= f->since_ms))
                        groups[kept++] = groups[i];
        n_groups = kept;
        qsort(groups, n_groups, sizeof(Group), cmp_groups);
}

/* ---- what the store says ---- */

typedef struct Got {
        StoreTopBy by;
        size_t n;
} Got;

static int check_row(const StoreTopRow *r, void *userdata) {
        Got *got = userdata;
        char key[512];

        switch (got->by) {
        case STORE_TOP_SIGNATURE:
                CHECK(!r->has_container && !r->mcs);
                snprintf(key, sizeof(key), "%s|%s|%s|%s|%s|%s", r->result, r->source_type,
                         r->target_type, r->tclass, r->permissions, r->image ? r->image : "-");
                break;
        case STORE_TOP_CONTAINER:
                CHECK(r->has_container != !!r->mcs);
                CHECK(!r->source_type && !r->tclass);
                snprintf(key, sizeof(key), "%s", r->has_container ? r->container.id : r->mcs);
                if (r->has_container)
                        CHECK_STREQ(r->image, r->container.image);
                break;
        case STORE_TOP_IMAGE:
                snprintf(key, sizeof(key), "%s", r->image ? r->image : "-");
                break;
        case STORE_TOP_TCLASS:
                CHECK(!r->source_type && !r->image);
                snprintf(key, sizeof(key), "%s", r->tclass);
                break;
        case STORE_TOP_VERDICT:
        case STORE_TOP_REASON:
                CHECK(!r->source_type && !r->tclass && !r->image && !r->has_container);
                CHECK((got->by == STORE_TOP_VERDICT) == !!r->verdict);
                CHECK((got->by == STORE_TOP_REASON) == !!r->reason);
                snprintf(key, sizeof(key), "%s", r->verdict ?: r->reason);
                break;
        case STORE_TOP_POD:
                CHECK(!r->source_type && !r->image && !r->has_container);
                snprintf(key, sizeof(key), "%s/%s", r->pod_namespace ? r->pod_namespace : "-",
                         r->pod ? r->pod : "-");
                break;
        case STORE_TOP_NAMESPACE:
                CHECK(!r->source_type && !r->image && !r->has_container && !r->pod);
                snprintf(key, sizeof(key), "%s", r->pod_namespace ? r->pod_namespace : "-");
                break;
        default:
                CHECK(false);
        }
        CHECK(got->n < n_groups);
        const Group *g = &groups[got->n++];
        if (strcmp(key, g->key) != 0 || r->count != g->count) {
                fprintf(stderr, "row %zu: got %s x%" PRIu64 ", expected %s x%" PRIu64 "\n",
                        got->n - 1, key, r->count, g->key, g->count);
                exit(1);
        }
        CHECK_RC(r->first_ms, g->first_ms);
        CHECK_RC(r->last_ms, g->last_ms);
        CHECK_RC(r->containers, g->n_containers);
        CHECK_RC(r->signatures, g->n_signatures);
        return 0;
}

static void check_top(Store *s, const Denial *all, const DenialFilter *f, bool new_only) {
        for (int by = 0; by < _STORE_TOP_BY_MAX; by++) {
                oracle(all, f, by, new_only);
                Got got = {.by = by};
                int r = store_top(s, f, by, new_only, STORE_TOP_MAX, check_row, &got);
                if (r < 0) {
                        fprintf(stderr, "store_top: %d (%s)\n", r, store_last_error(s));
                        exit(1);
                }
                if (got.n != n_groups)
                        fprintf(stderr, "by %d new %d since %d %lld until %d %lld\n", by, new_only,
                                f->has_since, (long long) f->since_ms, f->has_until,
                                (long long) f->until_ms);
                CHECK_RC(got.n, n_groups);
        }
}

typedef struct Bins {
        int64_t start[N];
        uint64_t count[N];
        size_t n;
} Bins;

static int collect_bin(int64_t start_ms, uint64_t count, void *userdata) {
        Bins *b = userdata;
        CHECK(b->n < N);
        b->start[b->n] = start_ms;
        b->count[b->n] = count;
        b->n++;
        return 0;
}

static int64_t floor_to(int64_t t, int64_t iv) {
        return (t >= 0 ? t / iv : -((-t + iv - 1) / iv)) * iv;
}

/* Bins of iv aligned in a clock off ms east of UTC (store_histogram_offset()). */
static void check_histogram_offset(Store *s, const Denial *all, const DenialFilter *f, int64_t iv,
                                   int64_t off) {
        Bins got = {}, want = {};

        for (size_t i = 0; i < N; i++) {
                if (!denial_filter_match(f, &all[i]))
                        continue;
                int64_t bin = floor_to(all[i].time_ms + off, iv) - off;
                if (want.n == 0 || want.start[want.n - 1] != bin) {
                        CHECK(want.n == 0 || want.start[want.n - 1] < bin);
                        want.start[want.n] = bin;
                        want.count[want.n++] = 0;
                }
                want.count[want.n - 1] += MAX(all[i].count, (uint64_t) 1);
        }
        int r = off == 0 ? store_histogram(s, f, iv, collect_bin, &got)
                         : store_histogram_offset(s, f, iv, off, collect_bin, &got);
        if (r < 0) {
                fprintf(stderr, "store_histogram: %d (%s)\n", r, store_last_error(s));
                exit(1);
        }
        CHECK_RC(got.n, want.n);
        for (size_t i = 0; i < got.n; i++) {
                CHECK_RC(got.start[i], want.start[i]);
                CHECK_RC(got.count[i], want.count[i]);
        }
}

static void check_histogram(Store *s, const Denial *all, const DenialFilter *f, int64_t iv) {
        check_histogram_offset(s, all, f, iv, 0);
}

static DenialFilter range(int64_t since, int64_t until) {
        return (DenialFilter){.has_since = since != 0,
                              .since_ms = since,
                              .has_until = until != 0,
                              .until_ms = until};
}

static int count_rows(const StoreTopRow *r, void *userdata) {
        (*(size_t *) userdata)++;
        return 0;
}

int main(void) {
        static Denial all[N];
        char *tmpdir = fixture_tmpdir("store-aggregates");
        _cleanup_(freep) char *path = fixture_path(tmpdir, "agg.db");
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < N; i++)
                all[i] = make(i);
        fixture_store_all(s, all, N, 97);

        const int64_t h = INT64_C(3600000), mid = BASE_MS + 30 * h + 1234;
        DenialFilter filters[] = {
                {},
                range(mid, 0),
                range(0, mid),
                range(mid, mid + 17 * h + 777),          /* both ends inside hours */
                range(mid, mid + 20 * 60 * 1000),        /* inside one hour and the next */
                range(mid + 1000, mid + 2000),           /* nothing */
                range(BASE_MS + 3 * h, BASE_MS + 9 * h), /* whole hours (base is :13:20) */
                {.container = FILTER_ONE("web")},
                {.container = FILTER_ONE("4dd")},
                {.image = FILTER_ONE("nginx:1"), .has_since = true, .since_ms = mid},
                {.pod = FILTER_ONE("pod-a")},
                {.pod_namespace = FILTER_ONE("shop"), .has_since = true, .since_ms = mid},
                {.mcs = FILTER_ONE("c1,c2"), .has_until = true, .until_ms = mid},
                {.source_type = FILTER_ONE("spc_t")},
                {.target_type = FILTER_ONE("shadow_t"), .tclass = FILTER_ONE("file")},
                {.perm = FILTER_ONE("read")},
                {.comm = FILTER_ONE("nginx")},                                       /* rows only */
                {.path = FILTER_ONE("/data/3"), .has_since = true, .since_ms = mid}, /* rows only */
                {.path = FILTER_ONE("/data/*"), .container = FILTER_ONE("db")},
                {.comm = FILTER_ONE("no-such")},
                /* triage: rows only; "none" is untriaged; any-of and negations */
                {.verdict = FILTER_ONE("escape")},
                {.reason = FILTER_ONE("none"), .has_since = true, .since_ms = mid},
                {.verdict = {.v = (char *[]){"volume", "none"}, .n = 2},
                 .not_reason = FILTER_ONE("te")},
                {.not_verdict = {.v = (char *[]){"policy", "isolation"}, .n = 2},
                 .container = FILTER_ONE("web")},
                {.not_reason = FILTER_ONE("none"), .tclass = FILTER_ONE("file")},
                {.container = FILTER_ONE("db"),
                 .perm = FILTER_ONE("open"),
                 .has_since = true,
                 .since_ms = mid - 5 * h,
                 .has_until = true,
                 .until_ms = mid + 5 * h},
        };
        for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
                check_top(s, all, &filters[i], false);
                check_histogram(s, all, &filters[i], h);
                check_histogram(s, all, &filters[i], 24 * h);
                check_histogram(s, all, &filters[i], 7 * 60 * 1000); /* rows, not hours */
                /* days at a local midnight: CEST (hours, from the aggregates), India (rows) */
                check_histogram_offset(s, all, &filters[i], 24 * h, 2 * h);
                check_histogram_offset(s, all, &filters[i], 24 * h, 5 * h + 30 * 60 * 1000);
                check_histogram_offset(s, all, &filters[i], h, -9 * h);
                if (filters[i].has_since)
                        check_top(s, all, &filters[i], true);
        }
        /* "New since": the kinds that only the second half has. */
        DenialFilter since_half = range(BASE_MS + (N / 2) * STEP_MS, 0);
        oracle(all, &since_half, STORE_TOP_SIGNATURE, true);
        CHECK(n_groups > 0);
        check_top(s, all, &since_half, true);

        /* Re-attribution after the fact (what the registry does) moves the counts. */
        CHECK_RC(sqlite3_exec(s->db,
                              "UPDATE denials SET container = (SELECT id FROM containers WHERE "
                              "name = 'job') WHERE container IS NULL AND (id >> 20) % 2 = 0",
                              NULL, NULL, NULL),
                 SQLITE_OK);
        for (size_t i = 0; i < N; i++)
                if (!all[i].has_container && all[i].time_ms % 2 == 0) {
                        all[i].has_container = true;
                        fixture_container(&all[i].container, ctrs[2].id, "job", ctrs[2].image,
                                          "docker", "pod-b");
                        set_string(&all[i].container.pod_namespace, ctrs[2].ns);
                }
        check_top(s, all, &filters[0], false);
        check_top(s, all, &filters[3], false);
        check_top(s, all, &filters[9], true);

        /* Bounds: limit, bins, new without since, unknown grouping. */
        size_t n = 0;
        CHECK_RC(store_top(s, NULL, STORE_TOP_SIGNATURE, false, 3, count_rows, &n), 0);
        CHECK_RC(n, 3);
        n = 0;
        CHECK_RC(store_top(s, NULL, STORE_TOP_SIGNATURE, false, 0, count_rows, &n), 0);
        CHECK_RC(n, STORE_TOP_DEFAULT);
        CHECK_RC(store_top(s, NULL, STORE_TOP_SIGNATURE, true, 0, count_rows, &n), -EINVAL);
        CHECK_RC(store_top(s, NULL, _STORE_TOP_BY_MAX, false, 0, count_rows, &n), -EINVAL);
        Bins b = {};
        CHECK_RC(store_histogram(s, NULL, 1000, collect_bin, &b), 0); /* 700 bins: fine */
        CHECK_RC(b.n, N);
        CHECK_RC(store_histogram(s, NULL, 0, collect_bin, &b), -EINVAL);
        CHECK_RC(store_histogram_offset(s, NULL, h, 24 * h, collect_bin, &b), -EINVAL);
        CHECK_RC(store_top_by_from_string("image"), STORE_TOP_IMAGE);
        CHECK_RC(store_top_by_from_string("nope"), -EINVAL);
        CHECK_STREQ(store_top_by_to_string(STORE_TOP_TCLASS), "tclass");

        s = store_free(s);
        for (size_t i = 0; i < N; i++)
                denial_done(&all[i]);
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
