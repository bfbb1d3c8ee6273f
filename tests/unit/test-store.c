/* SPDX-License-Identifier: MIT */
/* The SQLite store on real database files in a temp directory: round trip of every Denial field
 * (hostile bytes included), re-import dedupe, every filter (checked against
 * denial_filter_match() and against hand-counted expectations), keyset pagination, reopening,
 * signature counts, and refusal of files that belong to someone else. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter.h"
#include "fixtures.h"
#include "macro.h"
#include "store-private.h" /* the writer connection, to change rows behind the store's back */
#include "store.h"
#include "tests/unit/test.h"

#define ID_WEB "4dd9367681d8e3b2a6d19f1f5b52f6c8c2e8d2aa0d6c6f8d1f1e3a7b9c0d2e4f"
#define ID_DB "4dd9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e"
#define ID_SOLO "501050105010501050105010501050105010501050105010501050105010501a"
#define ID_JOB "c0ffee00c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e"

static char *tmpdir;

static char *db_path(const char *name) {
        return fixture_path(tmpdir, name);
}

/* The contract's example with every field known (node, the event's other records); callers
 * change what they need. */
static Denial make_denial(int64_t time_ms, uint64_t serial, unsigned seq) {
        Denial d = fixture_denial(time_ms, serial);
        char *raw = d.raw;

        d.seq = seq;
        d.node = xstrdup("node1");
        d.pid = 4242;
        d.target_mcs = xstrdup("");
        d.ppid = 1;
        d.uid = 0;
        d.syscall = 257;
        d.cwd = xstrdup("/");
        d.proctitle = xstrdup("bash -c echo");
        d.raw = xasprintf("%s for ...", raw);
        free(raw);
        return d;
}

static void check_container_equal(const ContainerRef *a, const ContainerRef *b) {
        CHECK_STREQ(a->id, b->id);
        CHECK_STREQ(a->name, b->name);
        CHECK_STREQ(a->image, b->image);
        CHECK_STREQ(a->engine, b->engine);
        CHECK_STREQ(a->pod, b->pod);
        CHECK_STREQ(a->pod_namespace, b->pod_namespace);
}

static void check_denial_equal(const Denial *a, const Denial *b) {
        CHECK_RC(a->time_ms, b->time_ms);
        CHECK(a->serial == b->serial);
        CHECK_STREQ(a->node, b->node);
        CHECK_RC(a->seq, b->seq);
        CHECK_RC(a->record_type, b->record_type);
        CHECK_STREQ(a->result, b->result);
        CHECK_STREQ(a->permissions, b->permissions);
        CHECK_RC(a->pid, b->pid);
        CHECK_STREQ(a->comm, b->comm);
        CHECK_STREQ(a->exe, b->exe);
        CHECK_STREQ(a->path, b->path);
        CHECK_STREQ(a->name, b->name);
        CHECK_STREQ(a->scontext, b->scontext);
        CHECK_STREQ(a->tcontext, b->tcontext);
        CHECK_STREQ(a->tclass, b->tclass);
        CHECK_RC(a->permissive, b->permissive);
        CHECK_STREQ(a->source_type, b->source_type);
        CHECK_STREQ(a->target_type, b->target_type);
        CHECK_STREQ(a->mcs, b->mcs);
        CHECK_STREQ(a->target_mcs, b->target_mcs);
        CHECK_RC(a->ppid, b->ppid);
        CHECK_RC(a->uid, b->uid);
        CHECK_RC(a->syscall, b->syscall);
        CHECK_STREQ(a->cwd, b->cwd);
        CHECK_STREQ(a->proctitle, b->proctitle);
        CHECK_RC(a->has_container, b->has_container);
        if (a->has_container)
                check_container_equal(&a->container, &b->container);
        CHECK_RC(a->attribution, b->attribution);
        CHECK_RC(a->has_target_container, b->has_target_container);
        if (a->has_target_container)
                check_container_equal(&a->target_container, &b->target_container);
        CHECK_STREQ(a->raw, b->raw);
}

/* Query results collected as deep copies. */
typedef struct Rows {
        Denial *d;
        size_t n, allocated;
} Rows;

static int collect(const Denial *d, void *userdata) {
        Rows *rows = userdata;
        if (rows->n == rows->allocated) {
                rows->allocated = rows->allocated ? rows->allocated * 2 : 64;
                rows->d = realloc(rows->d, rows->allocated * sizeof(Denial));
                CHECK(rows->d);
        }
        CHECK_RC(denial_copy(d, &rows->d[rows->n]), 0);
        CHECK(rows->d[rows->n].id != 0);
        rows->n++;
        return 0;
}

static void rows_done(Rows *rows) {
        for (size_t i = 0; i < rows->n; i++)
                denial_done(&rows->d[i]);
        free(rows->d);
        *rows = (Rows){};
}

static Rows query_after(Store *s, const DenialFilter *f, bool reverse, const int64_t *after,
                        unsigned limit, StorePage *ret_page) {
        Rows rows = {};
        /* Whole pages: the time budget has its own test. */
        store_set_query_budget(s, UINT64_MAX);
        int r = store_query(s, f, reverse, after, limit, collect, &rows, ret_page);
        if (r != 0) {
                fprintf(stderr, "store_query: %d (%s)\n", r, store_last_error(s));
                exit(1);
        }
        return rows;
}

static Rows query(Store *s, const DenialFilter *f, bool reverse, int64_t after, unsigned limit) {
        return query_after(s, f, reverse, after != 0 ? &after : NULL, limit, NULL);
}

static void free_denials(Denial *d, size_t n) {
        for (size_t i = 0; i < n; i++)
                denial_done(&d[i]);
}

/* ---- round trip ---- */

#define N_VARIED 9

static void make_varied(Denial d[N_VARIED]) {
        /* 0: everything known, hostile bytes, container by pid */
        d[0] = make_denial(1713603292240, 1088, 0);
        free(d[0].comm);
        d[0].comm = xstrdup("\x1b[31mevil\"'\\ \x7f\xff\xfe");
        d[0].path = xstrdup("/tmp/a \"quoted\" 'path'\n\x1b]0;title\x07");
        d[0].permissive = 1;
        d[0].has_container = true;
        fixture_container(&d[0].container, ID_WEB, "web", "centos:latest", "docker", NULL);
        d[0].attribution = ATTRIBUTION_PID;
        free(d[0].raw);
        d[0].raw = xstrdup("type=AVC msg=audit(1713603292.240:1088): avc:  denied  { write }\n"
                           "type=SYSCALL msg=audit(1713603292.240:1088): arch=c000003e\n"
                           "type=PROCTITLE msg=audit(1713603292.240:1088): proctitle=62617368");

        /* 1, 2: one event with two verdicts sharing the raw text */
        d[1] = make_denial(1713603293000, 1090, 0);
        d[2] = make_denial(1713603293000, 1090, 1);
        free(d[2].permissions);
        d[2].permissions = xstrdup("read open");
        free(d[2].tclass);
        d[2].tclass = xstrdup("file");
        free(d[2].raw);
        d[2].raw = xstrdup(d[1].raw);
        for (int i = 1; i <= 2; i++) {
                d[i].has_container = true;
                fixture_container(&d[i].container, ID_DB, "db", "postgres:16", "podman", "pod-a");
                set_string(&d[i].container.pod_namespace, "shop"); /* the registry's, below */
                d[i].attribution = ATTRIBUTION_MCS;
        }

        /* 3: no node, unknown everything that may be unknown */
        d[3] = DENIAL_NULL;
        d[3].time_ms = 1713603294000;
        d[3].serial = 1091;
        d[3].record_type = 1400;
        d[3].scontext = xstrdup("system_u:system_r:spc_t:s0");
        d[3].source_type = xstrdup("spc_t");

        /* 4: same time and serial as 3 but node "" is not "no node" */
        d[4] = make_denial(1713603294000, 1091, 0);
        free(d[4].node);
        d[4].node = xstrdup("");

        /* 5: target container, ambiguous */
        d[5] = make_denial(1713603295000, 1092, 0);
        d[5].has_container = true;
        fixture_container(&d[5].container, ID_WEB, "web", "centos:latest", "docker", NULL);
        d[5].attribution = ATTRIBUTION_AMBIGUOUS;
        d[5].has_target_container = true;
        fixture_container(&d[5].target_container, ID_JOB, "job", NULL, "cri-o", "batch/job-1");

        /* 6: USER_AVC */
        d[6] = make_denial(1713603296000, 1093, 0);
        d[6].record_type = 1107;
        d[6].permissive = -1;

        /* 7: SELINUX_ERR, no permissions nor tclass */
        d[7] = make_denial(1713603297000, 1094, 0);
        d[7].record_type = 1401;
        free(d[7].result);
        d[7].result = xstrdup("error");
        free(d[7].permissions);
        d[7].permissions = NULL;
        free(d[7].tclass);
        d[7].tclass = NULL;

        /* 8: a serial beyond INT64_MAX and a negative time survive the int64 columns */
        d[8] = make_denial(-5, UINT64_C(0x8000000000000005), 0);
}

static void test_round_trip(void) {
        _cleanup_(freep) char *path = db_path("roundtrip.db");
        Denial d[N_VARIED];
        Store *s;
        uint64_t dups = 0;
        StoreCounts c;

        make_varied(d);
        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(store_pending(s), 0);
        /* db as the registry knows it, in a Kubernetes namespace: every field of a container row
         * comes back (the query borrows the row's strings, whatever fields a row gains). */
        ContainerInfo db_info = {.id = (char *) ID_DB,
                                 .name = (char *) "db",
                                 .image = (char *) "postgres:16",
                                 .engine = (char *) "podman",
                                 .pod = (char *) "pod-a",
                                 .pod_namespace = (char *) "shop",
                                 .state = CONTAINER_STATE_RUNNING};
        int64_t db_row;
        CHECK_RC(store_container_begin(s), 0);
        CHECK_RC(store_container_end(s, store_container_save(s, &db_info, &db_row)), 0);
        for (size_t i = 0; i < N_VARIED; i++)
                CHECK_RC(store_add(s, &d[i]), 1);
        CHECK_RC(store_pending(s), N_VARIED);

        /* Not committed: the read connection sees nothing yet. */
        Rows none = query(s, NULL, false, 0, 0);
        CHECK_RC(none.n, 0);
        rows_done(&none);

        CHECK_RC(store_commit(s, &dups), N_VARIED);
        CHECK_RC(dups, 0);
        CHECK_RC(store_pending(s), 0);

        Rows rows = query(s, NULL, false, 0, 0);
        CHECK_RC(rows.n, N_VARIED);
        /* Ordered by time: d[8] (time -5) first, then the others in insertion order. */
        check_denial_equal(&rows.d[0], &d[8]);
        for (size_t i = 0; i + 1 < N_VARIED; i++)
                check_denial_equal(&rows.d[i + 1], &d[i]);
        for (size_t i = 1; i < rows.n; i++)
                CHECK(rows.d[i].id != rows.d[i - 1].id);
        rows_done(&rows);

        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, N_VARIED);
        CHECK_RC(c.events, N_VARIED - 1); /* d[1] and d[2] share their event */
        CHECK_RC(c.containers, 3);        /* web, db, job */
        CHECK_RC(c.oldest_ms, -5);
        CHECK_RC(c.newest_ms, 1713603297000);
        CHECK(c.db_bytes > 4096);

        /* ---- dedupe: the same records again add nothing ---- */
        for (size_t i = 0; i < N_VARIED; i++)
                CHECK_RC(store_add(s, &d[i]), 0);
        CHECK_RC(store_pending(s), N_VARIED);
        dups = 0;
        CHECK_RC(store_commit(s, &dups), 0);
        CHECK_RC(dups, N_VARIED);

        /* ... also inside one batch, and next to a new verdict of an existing event */
        Denial extra = make_denial(1713603293000, 1090, 2);
        CHECK_RC(store_add(s, &extra), 1);
        CHECK_RC(store_add(s, &extra), 0);
        CHECK_RC(store_add(s, &d[1]), 0);
        dups = 0;
        CHECK_RC(store_commit(s, &dups), 1);
        CHECK_RC(dups, 2);
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, N_VARIED + 1);
        CHECK_RC(c.events, N_VARIED - 1);

        /* commit without a batch */
        CHECK_RC(store_commit(s, NULL), 0);

        /* An invalid attribution is refused, not stored. */
        extra.attribution = _ATTRIBUTION_MAX;
        extra.seq = 3;
        CHECK_RC(store_add(s, &extra), -EINVAL);
        denial_done(&extra);

        /* A container that later is known better: its name is filled in. */
        Denial later = make_denial(1713603298000, 2000, 0);
        later.has_container = true;
        fixture_container(&later.container, ID_JOB, "job", "busybox:latest", "cri-o",
                          "batch/job-1");
        CHECK_RC(store_add(s, &later), 1);
        CHECK_RC(store_commit(s, NULL), 1);
        DenialFilter f = {.container = FILTER_ONE("job")};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 1);
        CHECK_STREQ(rows.d[0].container.image, "busybox:latest");
        rows_done(&rows);
        denial_done(&later);

        /* A cursor is a position, not necessarily a row: after the time of d[0] minus one
         * millisecond, d[0] comes first. */
        int64_t between = (1713603292240 - 1) * (INT64_C(1) << 20);
        rows = query_after(s, NULL, false, &between, 1, NULL);
        CHECK_RC(rows.n, 1);
        check_denial_equal(&rows.d[0], &d[0]);
        rows_done(&rows);

        /* ---- reopen: everything is still there ---- */
        s = store_free(s);
        CHECK(!s);
        CHECK_RC(store_open(path, &s), 0);
        rows = query(s, NULL, false, 0, 0);
        CHECK_RC(rows.n, N_VARIED + 2);
        check_denial_equal(&rows.d[0], &d[8]);
        check_denial_equal(&rows.d[1], &d[0]);
        rows_done(&rows);
        for (size_t i = 0; i < N_VARIED; i++)
                CHECK_RC(store_add(s, &d[i]), 0);
        dups = 0;
        CHECK_RC(store_commit(s, &dups), 0);
        CHECK_RC(dups, N_VARIED);
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, N_VARIED + 2);
        s = store_free(s);

        /* Signatures, read straight from the file. */
        sqlite3 *db;
        sqlite3_stmt *st;
        CHECK_RC(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_prepare_v2(db, "SELECT sum(count), count(*) FROM totals", -1, &st, NULL),
                 SQLITE_OK);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        CHECK_RC(sqlite3_column_int64(st, 0), N_VARIED + 2);
        sqlite3_finalize(st);
        CHECK_RC(sqlite3_prepare_v2(db, "SELECT sum(count) FROM buckets", -1, &st, NULL),
                 SQLITE_OK);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        CHECK_RC(sqlite3_column_int64(st, 0), N_VARIED + 2);
        sqlite3_finalize(st);
        /* container_t admin_home_t dir write, no container: d[4], d[6], d[8] and the later
         * extra (seq 2 of event 1090 has no container) */
        CHECK_RC(sqlite3_prepare_v2(
                         db,
                         "SELECT sum(a.count), min(a.first_ms), max(a.last_ms) FROM totals a "
                         "JOIN signatures g ON g.id = a.signature "
                         "JOIN strings s ON s.id = g.source_type JOIN strings t ON t.id = "
                         "g.target_type JOIN strings c ON c.id = g.tclass JOIN strings p ON p.id "
                         "= g.permissions WHERE s.text = 'container_t' AND t.text = "
                         "'admin_home_t' AND c.text = 'dir' AND p.text = 'write' AND a.container "
                         "= 0",
                         -1, &st, NULL),
                 SQLITE_OK);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        CHECK_RC(sqlite3_column_int64(st, 0), 4);
        CHECK_RC(sqlite3_column_int64(st, 1), -5);
        CHECK_RC(sqlite3_column_int64(st, 2), 1713603296000);
        sqlite3_finalize(st);
        CHECK_RC(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        CHECK_STREQ((const char *) sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        sqlite3_close(db);

        free_denials(d, N_VARIED);
}

/* ---- filters ---- */

#define N_FILTER 600

static Denial make_filter_denial(unsigned i) {
        Denial d = make_denial(1700000000000 + (int64_t) i * 1000, 10000 + i, 0);
        char buf[64];

        set_string(&d.comm, fixture_comms[i % ELEMENTSOF(fixture_comms)]);
        set_string(&d.source_type, fixture_types[i % ELEMENTSOF(fixture_types)]);
        set_string(&d.target_type, fixture_ttypes[i % ELEMENTSOF(fixture_ttypes)]);
        set_string(&d.tclass, fixture_classes[i % ELEMENTSOF(fixture_classes)]);
        set_string(&d.permissions, fixture_perm_sets[(i / 2) % ELEMENTSOF(fixture_perm_sets)]);
        set_string(&d.mcs, fixture_mcss[i % ELEMENTSOF(fixture_mcss)]);
        snprintf(buf, sizeof(buf), "/var/lib/data/%u/file", i % 7);
        set_string(&d.path, i % 11 == 0 ? NULL : buf);
        set_string(&d.name, i % 13 == 0 ? "shadow" : "file");
        /* triage: every reason and verdict; every fourth untriaged (no policy) */
        if (i % 4 != 3) {
                d.triaged = true;
                d.reason = (int) (i % 7);
                d.verdict = (int) ((i / 3) % 5);
        }
        switch (i % 5) {
        case 0:
                break; /* unattributed */
        case 1:
        case 2:
                d.has_container = true;
                fixture_container(&d.container, ID_WEB, "web", "nginx:1", "docker", NULL);
                d.attribution = ATTRIBUTION_PID;
                break;
        case 3:
                d.has_container = true;
                fixture_container(&d.container, ID_DB, "db", "postgres:16", "podman", "pod-a");
                d.attribution = ATTRIBUTION_MCS;
                break;
        case 4:
                d.has_container = true;
                fixture_container(&d.container, ID_JOB, "job", "busybox", "cri-o", "pod-b");
                d.attribution = ATTRIBUTION_MCS;
                break;
        }
        return d;
}

/* store_query must return exactly the denials denial_filter_match accepts, in time order;
 * returns how many. */
static size_t check_filter(Store *s, const Denial *all, size_t n, const DenialFilter *f) {
        Rows rows = query(s, f, false, 0, 0);
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                if (!denial_filter_match(f, &all[i]))
                        continue;
                if (k >= rows.n) {
                        fprintf(stderr, "query returned %zu rows, match accepts more\n", rows.n);
                        exit(1);
                }
                check_denial_equal(&rows.d[k], &all[i]);
                k++;
        }
        CHECK_RC(rows.n, k);
        rows_done(&rows);
        return k;
}

static size_t count_where(const Denial *all, size_t n, bool (*pred)(const Denial *)) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                k += pred(&all[i]);
        return k;
}

static bool is_web(const Denial *d) {
        return d->has_container && strcmp(d->container.id, ID_WEB) == 0;
}
static bool is_db(const Denial *d) {
        return d->has_container && strcmp(d->container.id, ID_DB) == 0;
}
static bool is_job(const Denial *d) {
        return d->has_container && strcmp(d->container.id, ID_JOB) == 0;
}
static bool is_4dd(const Denial *d) {
        return d->has_container && strncmp(d->container.id, "4dd", 3) == 0;
}
static bool has_read(const Denial *d) {
        return d->permissions && (strcmp(d->permissions, "read open") == 0 ||
                                  strcmp(d->permissions, "getattr read") == 0);
}
static bool path_dir3(const Denial *d) {
        return d->path && strcmp(d->path, "/var/lib/data/3/file") == 0;
}
static bool named_shadow(const Denial *d) {
        return d->name && strcmp(d->name, "shadow") == 0;
}
static bool pod_b(const Denial *d) {
        return d->has_container && d->container.pod && strcmp(d->container.pod, "pod-b") == 0;
}

static void test_filters(void) {
        _cleanup_(freep) char *path = db_path("filters.db");
        Denial all[N_FILTER];
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < N_FILTER; i++)
                all[i] = make_filter_denial(i);
        fixture_store_all(s, all, N_FILTER, 128);

        DenialFilter f = {};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER);

        /* Each field alone, with the expected count worked out independently. */
        f = (DenialFilter){.container = FILTER_ONE("web")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), count_where(all, N_FILTER, is_web));
        CHECK_RC(count_where(all, N_FILTER, is_web), N_FILTER * 2 / 5);
        f = (DenialFilter){.container = FILTER_ONE(ID_WEB)};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER * 2 / 5);
        f = (DenialFilter){.container = FILTER_ONE("4dd")}; /* web and db share the prefix */
        CHECK_RC(check_filter(s, all, N_FILTER, &f), count_where(all, N_FILTER, is_4dd));
        CHECK_RC(count_where(all, N_FILTER, is_4dd), N_FILTER * 3 / 5);
        f = (DenialFilter){.container = FILTER_ONE("c0ffee")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 5);
        f = (DenialFilter){.container = FILTER_ONE("C0FFEE")}; /* ids are lowercase */
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 0);
        f = (DenialFilter){.container = FILTER_ONE("we")}; /* names are not prefixes */
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 0);
        f = (DenialFilter){.image = FILTER_ONE("postgres:16")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 5);
        /* the repository alone names every tag, a registry-qualified name the same images */
        f = (DenialFilter){.image = FILTER_ONE("postgres")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 5);
        f = (DenialFilter){.image = FILTER_ONE("docker.io/library/postgres:16")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 5);
        f = (DenialFilter){.image = FILTER_ONE("nginx")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER * 2 / 5);
        f = (DenialFilter){.image = FILTER_ONE("busybox:latest")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 5);
        f = (DenialFilter){.image = FILTER_ONE("postgres:15")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 0);
        f = (DenialFilter){.image = FILTER_ONE("postgre")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 0);
        f = (DenialFilter){.pod = FILTER_ONE("pod-b")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), count_where(all, N_FILTER, pod_b));
        f = (DenialFilter){.mcs = FILTER_ONE("c0.c1023")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 3);
        f = (DenialFilter){.has_since = true, .since_ms = 1700000000000 + 100 * 1000};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER - 100);
        f = (DenialFilter){.has_until = true, .until_ms = 1700000000000 + 100 * 1000};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 100);
        f = (DenialFilter){.has_since = true,
                           .since_ms = 1700000000000 + 100 * 1000,
                           .has_until = true,
                           .until_ms = 1700000000000 + 150 * 1000};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 50);
        f = (DenialFilter){.source_type = FILTER_ONE("spc_t")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 3);
        f = (DenialFilter){.target_type = FILTER_ONE("shadow_t")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 4);
        f = (DenialFilter){.tclass = FILTER_ONE("sock_file")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 3);
        f = (DenialFilter){.comm = FILTER_ONE("nginx")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 4);
        f = (DenialFilter){.perm = FILTER_ONE("read")}; /* not "readdir" */
        CHECK_RC(check_filter(s, all, N_FILTER, &f), count_where(all, N_FILTER, has_read));
        CHECK_RC(count_where(all, N_FILTER, has_read), N_FILTER / 2);
        f = (DenialFilter){.perm = FILTER_ONE("open")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER / 4);
        f = (DenialFilter){.perm = FILTER_ONE("rea")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 0);
        f = (DenialFilter){.path = FILTER_ONE("/var/lib/data/3/file")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), count_where(all, N_FILTER, path_dir3));
        f = (DenialFilter){.path = FILTER_ONE("shadow")}; /* matches name= too */
        CHECK_RC(check_filter(s, all, N_FILTER, &f), count_where(all, N_FILTER, named_shadow));
        f = (DenialFilter){.path = FILTER_ONE("/var/lib/data/*")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER - (N_FILTER + 10) / 11);
        f = (DenialFilter){.path = FILTER_ONE("*")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), N_FILTER - (N_FILTER + 10) / 11);
        f = (DenialFilter){.path = FILTER_ONE("/var/lib/data/3*")};
        CHECK(check_filter(s, all, N_FILTER, &f) > 0);
        f = (DenialFilter){.path = FILTER_ONE("/var/lib/data/")}; /* no '*': exact only */
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 0);
        f = (DenialFilter){.comm = FILTER_ONE("no-such-comm")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 0);

        /* Combined: every field must match. */
        f = (DenialFilter){.container = FILTER_ONE("4dd"),
                           .source_type = FILTER_ONE("container_t"),
                           .perm = FILTER_ONE("read")};
        size_t k = check_filter(s, all, N_FILTER, &f);
        CHECK(k > 0 && k < N_FILTER / 5);
        f = (DenialFilter){.image = FILTER_ONE("nginx:1"),
                           .comm = FILTER_ONE("nginx"),
                           .mcs = FILTER_ONE("c1,c2"),
                           .has_since = true,
                           .since_ms = 1700000000000 + 200 * 1000,
                           .tclass = FILTER_ONE("file"),
                           .path = FILTER_ONE("/var/lib/*"),
                           .target_type = FILTER_ONE("etc_t")};
        k = check_filter(s, all, N_FILTER, &f);
        CHECK(k > 0 && k < 50);
        f = (DenialFilter){.pod = FILTER_ONE("pod-a"), .container = FILTER_ONE("web")};
        CHECK_RC(check_filter(s, all, N_FILTER, &f), 0);

        /* Reverse order is the exact reverse. */
        f = (DenialFilter){.container = FILTER_ONE("db")};
        Rows fwd = query(s, &f, false, 0, 0), rev = query(s, &f, true, 0, 0);
        CHECK_RC(fwd.n, rev.n);
        for (size_t i = 0; i < fwd.n; i++)
                CHECK_RC(fwd.d[i].id, rev.d[rev.n - 1 - i].id);
        rows_done(&fwd);
        rows_done(&rev);

        /* After a rename (the registry writes the new name over the old one), the old name still
         * finds the container's denials, as does the new one; the rows show the new name. */
        CHECK_RC(sqlite3_exec(s->db, "UPDATE containers SET name = 'web-old' WHERE name = 'web'",
                              NULL, NULL, NULL),
                 SQLITE_OK);
        for (int i = 0; i < 2; i++) {
                f = (DenialFilter){.container = FILTER_ONE((i ? "web-old" : "web"))};
                Rows renamed = query(s, &f, false, 0, 0);
                CHECK_RC(renamed.n, N_FILTER * 2 / 5);
                CHECK_STREQ(renamed.d[0].container.name, "web-old");
                rows_done(&renamed);
        }
        CHECK_RC(store_container_name_known(s, "web"), 1);
        /* A new container taking the old name: both are "web" to a query. */
        CHECK_RC(sqlite3_exec(s->db, "UPDATE containers SET name = 'web' WHERE name = 'db'", NULL,
                              NULL, NULL),
                 SQLITE_OK);
        f = (DenialFilter){.container = FILTER_ONE("web")};
        Rows both = query(s, &f, false, 0, 0);
        CHECK_RC(both.n, count_where(all, N_FILTER, is_web) + count_where(all, N_FILTER, is_db));
        rows_done(&both);

        s = store_free(s);
        free_denials(all, N_FILTER);
}

/* Lists ("any of"), prefixes and negations, the candidates of ambiguous denials and the target
 * container: store_query against denial_filter_match, which test-filter.c pins down. */
#define LIST(...)                                                                                  \
        ((FilterValues){.v = (char *[]){__VA_ARGS__},                                              \
                        .n = sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)})

static uint64_t top_total(Store *s, const DenialFilter *f);

static void test_filter_lists(void) {
        _cleanup_(freep) char *path = db_path("filter-lists.db");
        Denial all[N_FILTER];
        Store *s;
        char sql[512];

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < N_FILTER; i++) {
                all[i] = make_filter_denial(i);
                if (i % 10 == 0)
                        all[i].attribution = ATTRIBUTION_AMBIGUOUS; /* unattributed: i % 5 == 0 */
                if (i % 7 == 3) {
                        all[i].has_target_container = true;
                        fixture_container(&all[i].target_container, ID_JOB, "job", "busybox",
                                          "cri-o", "pod-b");
                }
        }
        fixture_store_all(s, all, N_FILTER, 128);
        /* The registry's candidates of the ambiguous ones: web and job. */
        snprintf(sql, sizeof(sql),
                 "INSERT INTO denial_candidates SELECT d.id >> 20, d.serial, d.seq, c.id FROM "
                 "denials d, containers c WHERE d.attribution = %d AND c.name IN ('web', 'job')",
                 ATTRIBUTION_AMBIGUOUS);
        CHECK_RC(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
        size_t n_ambiguous = 0;
        for (unsigned i = 0; i < N_FILTER; i += 10) {
                ContainerRef c = {};
                fixture_container(&c, ID_WEB, "web", "nginx:1", "docker", NULL);
                CHECK_RC(denial_add_candidate(&all[i], &c), 0);
                container_ref_done(&c);
                fixture_container(&c, ID_JOB, "job", "busybox", "cri-o", "pod-b");
                CHECK_RC(denial_add_candidate(&all[i], &c), 0);
                container_ref_done(&c);
                n_ambiguous++;
        }
        /* solo: a container with no denial of its own, a candidate of every other ambiguous one
         * (its denials are all found through the candidates' index) */
        snprintf(sql, sizeof(sql),
                 "INSERT INTO containers(container_id, name, image, engine) VALUES ('%s', 'solo', "
                 "'alpine', 'docker'); INSERT INTO denial_candidates SELECT d.id >> 20, d.serial, "
                 "d.seq, (SELECT id FROM containers WHERE name = 'solo') FROM denials d WHERE "
                 "d.attribution = %d AND (d.id >> 20) %% 20000 = 0",
                 ID_SOLO, ATTRIBUTION_AMBIGUOUS);
        CHECK_RC(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
        size_t n_solo = 0;
        for (unsigned i = 0; i < N_FILTER; i += 20) {
                ContainerRef c = {};
                fixture_container(&c, ID_SOLO, "solo", "alpine", "docker", NULL);
                CHECK_RC(denial_add_candidate(&all[i], &c), 0);
                container_ref_done(&c);
                n_solo++;
        }

        DenialFilter f;
        /* CHECK_LIST(MIN, fields): store_query and denial_filter_match agree on the filter, and
         * find at least MIN denials (0: none) */
#define CHECK_LIST(min, ...)                                                                       \
        do {                                                                                       \
                f = (DenialFilter){__VA_ARGS__};                                                   \
                size_t n_ = check_filter(s, all, N_FILTER, &f);                                    \
                CHECK((min) == 0 ? n_ == 0 : n_ + 1 > (size_t) (min));                             \
        } while (0)
        /* any of */
        CHECK_RC(check_filter(s, all, N_FILTER, &(DenialFilter){.container = LIST("web", "db")}),
                 count_where(all, N_FILTER, is_web) + count_where(all, N_FILTER, is_db) +
                         n_ambiguous);
        CHECK_LIST(1, .container = LIST("db", "4dd"));
        CHECK_LIST(1, .image = LIST("postgres", "busybox"));
        CHECK_LIST(1, .pod = LIST("pod-a", "pod-b"));
        CHECK_LIST(1, .mcs = LIST("c1,c2", "c0.c1023"));
        CHECK_LIST(1, .mcs = LIST("c1,c2", "c7"));
        CHECK_LIST(1, .comm = LIST("bash", "nginx", "no-such"));
        CHECK_LIST(1, .perm = LIST("write", "readdir"));
        CHECK_LIST(1, .tclass = LIST("dir", "sock_file"));
        CHECK_LIST(1, .path = LIST("/var/lib/data/3/file", "shadow", "/var/lib/data/5*"));
        CHECK_LIST(1, .path = LIST("no-such", "/var/lib/data/1/file"));
        CHECK_LIST(0, .path = LIST("no-such", "/nothing*"));
        CHECK_LIST(1, .source_type = LIST("container_*"));
        CHECK_LIST(1, .target_type = LIST("s*", "etc_t"));
        CHECK_LIST(N_FILTER, .target_type = LIST("*"));
        /* none of */
        CHECK_LIST(1, .not_source_type = LIST("spc_t"));
        CHECK_LIST(N_FILTER, .not_source_type = LIST("no-such_t"));
        CHECK_LIST(1, .not_target_type = LIST("shadow_t", "etc*"));
        CHECK_LIST(0, .not_target_type = LIST("*"));
        CHECK_LIST(1, .not_tclass = LIST("dir"));
        CHECK_LIST(1, .not_perm = LIST("read"));
        CHECK_LIST(1, .not_comm = LIST("bash", "nginx"));
        CHECK_LIST(N_FILTER, .not_comm = LIST("no-such"));
        /* triage: names, "none" (untriaged), any of, none of */
        CHECK_LIST(1, .verdict = LIST("escape"));
        CHECK_LIST(1, .reason = LIST("constraint", "boolean"), .container = LIST("web"));
        CHECK_RC(check_filter(s, all, N_FILTER, &(DenialFilter){.reason = LIST("none")}),
                 N_FILTER / 4);
        CHECK_RC(check_filter(s, all, N_FILTER, &(DenialFilter){.not_verdict = LIST("none")}),
                 N_FILTER - N_FILTER / 4);
        CHECK_LIST(1, .not_verdict = LIST("escape", "policy"), .verdict = LIST("volume", "none"));
        CHECK_LIST(1, .not_reason = LIST("te"), .tclass = LIST("dir"));
        /* FILTER_VALUES_MAX values */
        CHECK_LIST(1, .perm = LIST("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10",
                                   "p11", "p12", "p13", "p14", "p15", "read"));
        CHECK_RC(f.perm.n, FILTER_VALUES_MAX);
        /* candidates: job's own denials and the ambiguous ones it may have caused */
        CHECK_RC(check_filter(s, all, N_FILTER, &(DenialFilter){.container = LIST("job")}),
                 count_where(all, N_FILTER, is_job) + n_ambiguous);
        CHECK_RC(check_filter(s, all, N_FILTER, &(DenialFilter){.container = LIST("solo")}),
                 n_solo);
        CHECK_RC(check_filter(s, all, N_FILTER, &(DenialFilter){.container = LIST("solo", "job")}),
                 count_where(all, N_FILTER, is_job) + n_ambiguous);
        CHECK_LIST(1, .container = LIST("solo"), .has_until = true,
                   .until_ms = 1700000000000 + 300 * 1000);
        CHECK_LIST(1, .container = LIST("job", "web"), .perm = LIST("write"),
                   .not_comm = LIST("sh"));
        CHECK_LIST(1, .container = LIST("job"), .mcs = LIST("c1,c2"));
        CHECK_LIST(1, .container = LIST("job"), .has_since = true,
                   .since_ms = 1700000000000 + 300 * 1000);
        CHECK_RC(top_total(s, &(DenialFilter){.container = LIST("job")}),
                 count_where(all, N_FILTER, is_job) + n_ambiguous);
        for (int which = 0; which < 2; which++) {
                f = which == 0 ? (DenialFilter){.container = LIST("job", "web")}
                               : (DenialFilter){.container = LIST("solo")};
                Rows fwd = query(s, &f, false, 0, 0), rev = query(s, &f, true, 0, 0);
                CHECK_RC(fwd.n, rev.n);
                for (size_t i = 0; i < fwd.n; i++)
                        CHECK_RC(fwd.d[i].id, rev.d[rev.n - 1 - i].id);
                /* page by page (3 rows a call), both ways: the same rows, once each */
                for (int reverse = 0; reverse < 2; reverse++) {
                        size_t k = 0;
                        int64_t after = 0;
                        for (bool first = true;; first = false) {
                                StorePage page = {};
                                Rows part = query_after(s, &f, reverse, first ? NULL : &after, 3,
                                                        &page);
                                for (size_t i = 0; i < part.n; i++, k++) {
                                        CHECK(k < fwd.n);
                                        CHECK_RC(part.d[i].id, (reverse ? rev : fwd).d[k].id);
                                }
                                rows_done(&part);
                                if (!page.more)
                                        break;
                                after = page.next;
                        }
                        CHECK_RC(k, fwd.n);
                }
                rows_done(&fwd);
                rows_done(&rev);
        }
        /* the target container */
        CHECK_LIST(1, .target_container = LIST("job"));
        CHECK_LIST(1, .target_container = LIST("job"), .container = LIST("web"));
        CHECK_LIST(0, .target_container = LIST("web"));
#undef CHECK_LIST

        /* Unknown names, with the closest known ones. */
        StoreUnknown u = {};
        CHECK_RC(store_filter_unknown(s, &(DenialFilter){.container = LIST("web", "4dd", "job")},
                                      &u),
                 0);
        CHECK_RC(store_filter_unknown(s, &(DenialFilter){.container = LIST("web", "wbe")}, &u), 1);
        CHECK_STREQ(u.field, "container");
        CHECK_STREQ(u.value, "wbe");
        CHECK_RC(u.n_closest, 1);
        CHECK_STREQ(u.closest[0], "web");
        store_unknown_done(&u);
        CHECK_RC(store_filter_unknown(s, &(DenialFilter){.container = LIST("ffff")}, &u), 1);
        CHECK_RC(u.n_closest, 0);
        store_unknown_done(&u);
        CHECK_RC(store_filter_unknown(s, &(DenialFilter){.target_container = LIST("jbo")}, &u), 1);
        CHECK_STREQ(u.field, "target_container");
        CHECK_STREQ(u.closest[0], "job");
        store_unknown_done(&u);
        CHECK_RC(store_filter_unknown(s, &(DenialFilter){.image = LIST("nginx", "postgres")}, &u),
                 0);
        CHECK_RC(store_filter_unknown(s, &(DenialFilter){.image = LIST("ngnix:1")}, &u), 1);
        CHECK_STREQ(u.field, "image");
        CHECK_STREQ(u.closest[0], "nginx:1");
        store_unknown_done(&u);
        CHECK_RC(store_filter_unknown(s, &(DenialFilter){.pod = LIST("pod-c")}, &u), 1);
        CHECK_STREQ(u.field, "pod");
        CHECK_RC(u.n_closest, 2); /* pod-a, pod-b: one edit each */
        store_unknown_done(&u);

        s = store_free(s);
        free_denials(all, N_FILTER);
}

/* ---- pagination ---- */

#define N_PAGE 2500
#define PAGE 1000

static int stop_at_three(const Denial *d, void *userdata) {
        unsigned *n = userdata;
        return ++*n == 3 ? 42 : 0;
}

static void test_pagination(void) {
        _cleanup_(freep) char *path = db_path("pages.db");
        static bool seen[N_PAGE + 1];
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        /* Three denials per millisecond, inserted out of time order: the id alone is not the
         * order, (time, id) is. */
        for (unsigned i = 0; i < N_PAGE; i++) {
                unsigned j = (i * 7919) % N_PAGE;
                Denial d = make_denial(1000000 + j / 3, 500000 + j, 0);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        CHECK_RC(store_commit(s, NULL), N_PAGE);

        for (int reverse = 0; reverse <= 1; reverse++) {
                int64_t after = 0, last_time = reverse ? INT64_MAX : INT64_MIN, last_id = 0;
                size_t total = 0, pages = 0;

                memset(seen, 0, sizeof(seen));
                for (;;) {
                        Rows rows = query(s, NULL, reverse, after, PAGE);
                        if (rows.n == 0) {
                                rows_done(&rows);
                                break;
                        }
                        CHECK(rows.n <= PAGE);
                        pages++;
                        for (size_t i = 0; i < rows.n; i++) {
                                Denial *d = &rows.d[i];
                                /* rows are told apart by serial: 500000 + j */
                                CHECK(d->id != 0);
                                CHECK(d->serial >= 500000 && d->serial < 500000 + N_PAGE);
                                CHECK(!seen[d->serial - 500000]);
                                seen[d->serial - 500000] = true;
                                if (!reverse)
                                        CHECK(d->time_ms > last_time ||
                                              (d->time_ms == last_time && d->id > last_id));
                                else
                                        CHECK(d->time_ms < last_time ||
                                              (d->time_ms == last_time && d->id < last_id));
                                last_time = d->time_ms;
                                last_id = d->id;
                        }
                        total += rows.n;
                        after = rows.d[rows.n - 1].id;
                        rows_done(&rows);
                }
                CHECK_RC(total, N_PAGE);
                CHECK_RC(pages, (N_PAGE + PAGE - 1) / PAGE);
        }

        /* A filter and a cursor together. */
        DenialFilter f = {.has_since = true, .since_ms = 1000000 + 100};
        Rows first = query(s, &f, false, 0, 10);
        CHECK_RC(first.n, 10);
        CHECK_RC(first.d[0].time_ms, 1000000 + 100);
        Rows next = query(s, &f, false, first.d[9].id, 10);
        CHECK_RC(next.n, 10);
        CHECK(next.d[0].time_ms >= first.d[9].time_ms);
        rows_done(&first);
        rows_done(&next);

        /* The callback stops the query and its value is returned. */
        unsigned n = 0;
        CHECK_RC(store_query(s, NULL, false, NULL, 100, stop_at_three, &n, NULL), 42);
        CHECK_RC(n, 3);

        /* Limit clamp: more rows than STORE_QUERY_LIMIT_MAX. */
        for (unsigned i = 0; i < STORE_QUERY_LIMIT_MAX; i++) {
                Denial d = make_denial(2000000 + i, 900000 + i, 0);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        CHECK_RC(store_commit(s, NULL), STORE_QUERY_LIMIT_MAX);
        Rows big = query(s, NULL, false, 0, STORE_QUERY_LIMIT_MAX * 3);
        CHECK_RC(big.n, STORE_QUERY_LIMIT_MAX);
        rows_done(&big);
        big = query(s, NULL, false, 0, 0);
        CHECK_RC(big.n, STORE_QUERY_LIMIT_MAX);
        rows_done(&big);
        big = query(s, NULL, false, 0, 5);
        CHECK_RC(big.n, 5);
        rows_done(&big);

        s = store_free(s);
}

/* ---- more than the caches hold ---- */

#define N_BIG 70000      /* > strings cache (65536) with one new path per row */
#define N_BIG_SIGS 20000 /* > signature cache (16384) */
#define N_BIG_CTRS 5000  /* > container cache (4096) */

static void test_cache_overflow(void) {
        _cleanup_(freep) char *path = db_path("big.db");
        Store *s;
        char buf[128], id[65];

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < N_BIG; i++) {
                Denial d = make_denial(3000000 + i, 7000000 + i, 0);
                free(d.path);
                snprintf(buf, sizeof(buf), "/data/%u", i);
                d.path = xstrdup(buf);
                free(d.permissions);
                snprintf(buf, sizeof(buf), "p%u", i % N_BIG_SIGS);
                d.permissions = xstrdup(buf);
                d.has_container = true;
                snprintf(id, sizeof(id), "%064x", i % N_BIG_CTRS);
                /* the name becomes known in the second half only */
                snprintf(buf, sizeof(buf), "ctr-%u", i % N_BIG_CTRS);
                fixture_container(&d.container, id, i < N_BIG / 2 ? NULL : buf, "img", "docker",
                                  NULL);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
                /* An odd first batch, so that the caches fill up in the middle of a batch. */
                if (store_pending(s) >= STORE_BATCH_ROWS || i == 100)
                        CHECK_RC(store_commit(s, NULL), i == 100 ? 101 : STORE_BATCH_ROWS);
        }
        CHECK(store_commit(s, NULL) > 0);

        StoreCounts c;
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, N_BIG);
        CHECK_RC(c.events, N_BIG);
        CHECK_RC(c.signatures, N_BIG_SIGS);
        CHECK_RC(c.containers, N_BIG_CTRS);

        /* Rows from before and after every cache was dropped read back right. */
        DenialFilter f = {.path = FILTER_ONE("/data/5")};
        Rows rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 1);
        CHECK_STREQ(rows.d[0].permissions, "p5");
        CHECK_STREQ(rows.d[0].container.name, "ctr-5"); /* filled in later */
        rows_done(&rows);
        f = (DenialFilter){.path = FILTER_ONE("/data/69999")};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 1);
        snprintf(buf, sizeof(buf), "p%u", 69999 % N_BIG_SIGS);
        CHECK_STREQ(rows.d[0].permissions, buf);
        snprintf(id, sizeof(id), "%064x", 69999 % N_BIG_CTRS);
        CHECK_STREQ(rows.d[0].container.id, id);
        rows_done(&rows);
        f = (DenialFilter){.container = FILTER_ONE("ctr-4999")};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, N_BIG / N_BIG_CTRS);
        rows_done(&rows);
        s = store_free(s);

        /* Signature counts survived the flush when their cache was dropped mid-batch. */
        sqlite3 *db;
        sqlite3_stmt *st;
        CHECK_RC(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_prepare_v2(db,
                                    "SELECT sum(n), min(n), max(n), sum(n = 4) FROM "
                                    "(SELECT sum(count) AS n FROM totals GROUP BY signature)",
                                    -1, &st, NULL),
                 SQLITE_OK);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        CHECK_RC(sqlite3_column_int64(st, 0), N_BIG);
        CHECK_RC(sqlite3_column_int64(st, 1), N_BIG / N_BIG_SIGS);
        CHECK_RC(sqlite3_column_int64(st, 2), N_BIG / N_BIG_SIGS + 1);
        CHECK_RC(sqlite3_column_int64(st, 3), N_BIG % N_BIG_SIGS);
        sqlite3_finalize(st);
        sqlite3_close(db);
}

/* ---- the strings of one row sharing a slot of the query's string cache ---- */

#define N_SLOTS_ROWS 3000

/* Rows of strings some shared (hits once seen) and some new (misses), six thousand distinct ones
 * through the query's 1,024 slots in one call: rows whose hit and miss share a slot, and whose
 * two misses do, read back each string as written. */
static void test_string_slots(void) {
        _cleanup_(freep) char *path = db_path("slots.db");
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < N_SLOTS_ROWS; i++) {
                Denial d = make_denial(4000000 + i, 9000000 + i, 0);
                char *const fields[] = {
                        xasprintf("c%u", i % 97),     xasprintf("/e/%u", i % 89),
                        xasprintf("/p/%u", i),        xasprintf("n%u", i),
                        xasprintf("/cwd/%u", i % 83), xasprintf("title %u", i),
                };
                char **dst[] = {&d.comm, &d.exe, &d.path, &d.name, &d.cwd, &d.proctitle};
                for (size_t j = 0; j < ELEMENTSOF(dst); j++) {
                        free(*dst[j]);
                        *dst[j] = fields[j];
                }
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
                if (store_pending(s) >= STORE_BATCH_ROWS)
                        CHECK_RC(store_commit(s, NULL), STORE_BATCH_ROWS);
        }
        CHECK(store_commit(s, NULL) > 0);

        Rows rows = query(s, NULL, false, 0, N_SLOTS_ROWS);
        CHECK_RC(rows.n, N_SLOTS_ROWS);
        for (unsigned i = 0; i < N_SLOTS_ROWS; i++) {
                const Denial *d = &rows.d[i];
                char buf[64];
#define CHECK_FIELD(field, ...)                                                                    \
        do {                                                                                       \
                snprintf(buf, sizeof(buf), __VA_ARGS__);                                           \
                CHECK_STREQ(d->field, buf);                                                        \
        } while (0)
                CHECK_FIELD(comm, "c%u", i % 97);
                CHECK_FIELD(exe, "/e/%u", i % 89);
                CHECK_FIELD(path, "/p/%u", i);
                CHECK_FIELD(name, "n%u", i);
                CHECK_FIELD(cwd, "/cwd/%u", i % 83);
                CHECK_FIELD(proctitle, "title %u", i);
#undef CHECK_FIELD
                CHECK_STREQ(d->node, "node1");
        }
        rows_done(&rows);
        store_free(s);
}

/* ---- raw text: compressed with trained dictionaries, exact ---- */

#define N_RAW 6000

static char *make_raw(unsigned i, int64_t time_ms, uint64_t serial) {
        static const char *const raw_comms[] = {"nginx", "bash", "postgres", "python3", "java"};
        char stamp[64], *raw;
        snprintf(stamp, sizeof(stamp), "audit(%lld.%03lld:%llu)", (long long) (time_ms / 1000),
                 (long long) (time_ms % 1000), (unsigned long long) serial);
        CHECK(asprintf(&raw,
                       "type=AVC msg=%s: avc:  denied  { read } for  pid=%u comm=\"%s\" "
                       "name=\"f%u\" dev=\"overlay\" ino=%u "
                       "scontext=system_u:system_r:container_t:s0:c%u,c%u "
                       "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n"
                       "type=SYSCALL msg=%s: arch=c000003e syscall=257 success=no exit=-13 "
                       "a0=ffffff9c a1=7ffd%08x items=1 ppid=1 pid=%u comm=\"%s\" "
                       "exe=\"/usr/bin/%s\" key=(null)\ntype=EOE msg=%s: ",
                       stamp, 100 + i % 40, raw_comms[i % 5], i % 301, 1000 + i * 7919 % 999983,
                       i % 40, 500 + i % 40, stamp, i * 2654435761u, 100 + i % 40, raw_comms[i % 5],
                       raw_comms[i % 5], stamp) > 0);
        return raw;
}

static int count_raw(const Denial *d, void *userdata) {
        size_t *n = userdata;
        char *want = make_raw((unsigned) (d->serial - 100000), d->time_ms, d->serial);
        CHECK_STREQ(d->raw, want);
        free(want);
        (*n)++;
        return 0;
}

static int64_t sql_int(const char *path, const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *st;
        CHECK_RC(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        int64_t v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static void test_raw(void) {
        _cleanup_(freep) char *path = db_path("raw.db");
        size_t text = 0, n = 0;
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < N_RAW; i++) {
                if (i == N_RAW / 2)
                        text = 0; /* measured on the second half, after the first dictionary */
                Denial d = make_denial(1700000000000 + (int64_t) i * 250, 100000 + i, 0);
                free(d.raw);
                d.raw = make_raw(i, d.time_ms, d.serial);
                text += strlen(d.raw);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
                if (i % 500 == 499)
                        CHECK_RC(store_commit(s, NULL), 500);
                if (i == N_RAW / 2 - 1) {
                        /* Reopened half way: the newest dictionary goes on being used. */
                        s = store_free(s);
                        CHECK_RC(store_open(path, &s), 0);
                }
        }
        CHECK(store_commit(s, NULL) >= 0);
        store_set_query_budget(s, UINT64_MAX);
        StorePage page;
        CHECK_RC(store_query(s, NULL, false, NULL, 0, count_raw, &n, &page), 0);
        CHECK_RC(n, N_RAW);
        CHECK(!page.more);
        s = store_free(s);

        /* Trained dictionaries were made and used, and the text shrank by far. */
        CHECK(sql_int(path, "SELECT count(*) FROM dictionaries") >= 1);
        int64_t blobs =
                sql_int(path, "SELECT sum(length(raw)) FROM denials WHERE serial >= 103000");
        printf("raw text: %zu bytes, stored: %" PRIi64 " bytes (%.1f%%)\n", text, blobs,
               100.0 * (double) blobs / (double) text);
        CHECK(blobs * 5 < (int64_t) text);
}

/* The stored blob of the row with this serial, malloc'd. */
static void *sql_raw(const char *path, uint64_t serial, size_t *ret_len) {
        sqlite3 *db;
        sqlite3_stmt *st;
        CHECK_RC(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_prepare_v2(db, "SELECT raw FROM denials WHERE serial = ?1", -1, &st, NULL),
                 SQLITE_OK);
        sqlite3_bind_int64(st, 1, (int64_t) serial);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        *ret_len = (size_t) sqlite3_column_bytes(st, 0);
        void *blob = malloc(*ret_len);
        CHECK(blob);
        memcpy(blob, sqlite3_column_blob(st, 0), *ret_len);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return blob;
}

/* d's raw text packed by e, as the reader thread hands it on (Denial.raw_packed). */
static void pack(RawEncoder *e, Denial *d) {
        const void *blob;
        size_t len;
        CHECK_RC(raw_encode(e, d->raw, strlen(d->raw), d->time_ms, d->serial, &blob, &len), 0);
        d->raw_packed = malloc(len);
        CHECK(d->raw_packed);
        memcpy(d->raw_packed, blob, len);
        d->raw_packed_size = len;
}

/* Raw text packed on another thread with the store's dictionaries: stored as it is when the
 * store committed its dictionary, packed again by the store when it did not (a row must never
 * refer to a dictionary the file lacks), and a dictionary is never added inside a batch (a
 * rollback would take it from the rows packed with it later). */
static void test_raw_packed(void) {
        _cleanup_(freep) char *path = db_path("raw-packed.db");
        _cleanup_(freep) void *dict = NULL, *newest = NULL;
        RawEncoder *e, *stranger;
        size_t len, newest_len;
        int64_t id, newest_id;
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(store_raw_dictionary(s, &newest_id, &newest, &newest_len), 0);
        CHECK_RC(newest_id, 0);
        CHECK(!newest);

        /* a dictionary trained away from the store, on the events it will see */
        CHECK_RC(raw_encoder_new(&e), 0);
        for (unsigned i = 0; i < RAW_TRAIN_FIRST; i++) {
                char *raw = make_raw(i, 1700000000000 + i, 100000 + i);
                const void *blob;
                size_t n;
                CHECK_RC(raw_encode(e, raw, strlen(raw), 1700000000000 + i, 100000 + i, &blob, &n),
                         0);
                free(raw);
        }
        CHECK(raw_encoder_wants_dictionary(e));
        CHECK_RC(raw_encoder_train(e, &dict, &len), 0);

        Denial d = make_denial(1700000000000, 100000, 0);
        free(d.raw);
        d.raw = make_raw(0, d.time_ms, d.serial);
        CHECK_RC(store_add(s, &d), 1);
        denial_done(&d);
        CHECK_RC(store_add_raw_dictionary(s, dict, len, &id), -EBUSY);
        CHECK_RC(store_commit(s, NULL), 1);
        CHECK_RC(store_add_raw_dictionary(s, dict, len, &id), 0);
        CHECK(id > 0);
        CHECK_RC(raw_encoder_use_dictionary(e, id, dict, len), 0);

        /* packed with the stored dictionary: kept byte for byte */
        d = make_denial(1700000000001, 100001, 0);
        free(d.raw);
        d.raw = make_raw(1, d.time_ms, d.serial);
        pack(e, &d);
        size_t packed_len = d.raw_packed_size;
        void *packed = malloc(packed_len);
        CHECK(packed);
        memcpy(packed, d.raw_packed, packed_len);
        CHECK_RC(store_add(s, &d), 1);
        denial_done(&d);

        /* packed with a dictionary the store never got: packed again from its text */
        CHECK_RC(raw_encoder_new(&stranger), 0);
        CHECK_RC(raw_encoder_use_dictionary(stranger, id + 1, dict, len), 0);
        d = make_denial(1700000000002, 100002, 0);
        free(d.raw);
        d.raw = make_raw(2, d.time_ms, d.serial);
        pack(stranger, &d);
        CHECK(raw_blob_dictionary(d.raw_packed, d.raw_packed_size) == id + 1);
        CHECK_RC(store_add(s, &d), 1);
        denial_done(&d);

        /* left unpacked (the reader thread leaves some to the store): packed by the store with
         * the dictionary it stored last, the other encoder's */
        d = make_denial(1700000000003, 100003, 0);
        free(d.raw);
        d.raw = make_raw(3, d.time_ms, d.serial);
        CHECK_RC(store_add(s, &d), 1);
        denial_done(&d);
        CHECK_RC(store_commit(s, NULL), 3);

        store_set_query_budget(s, UINT64_MAX);
        size_t n = 0;
        StorePage page;
        CHECK_RC(store_query(s, NULL, false, NULL, 0, count_raw, &n, &page), 0);
        CHECK_RC(n, 4);
        s = store_free(s);

        size_t got_len;
        void *got = sql_raw(path, 100001, &got_len);
        CHECK(got_len == packed_len && memcmp(got, packed, got_len) == 0);
        free(got);
        free(packed);
        got = sql_raw(path, 100002, &got_len);
        CHECK(raw_blob_dictionary(got, got_len) >= 0 && raw_blob_dictionary(got, got_len) <= id);
        free(got);
        got = sql_raw(path, 100003, &got_len);
        CHECK(raw_blob_dictionary(got, got_len) == id);
        free(got);

        /* reopened: the newest dictionary is handed out to begin with */
        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(store_raw_dictionary(s, &newest_id, &newest, &newest_len), 0);
        CHECK_RC(newest_id, id);
        CHECK(newest_len == len && memcmp(newest, dict, len) == 0);
        s = store_free(s);
        raw_encoder_free(stranger);
        raw_encoder_free(e);
}

/* ---- many verdicts of one millisecond ---- */

static void test_crowded(void) {
        _cleanup_(freep) char *path = db_path("crowded.db");
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        /* Serials 1024 apart share a home slot: they are probed into the next ones. */
        for (int pass = 0; pass < 2; pass++) {
                for (unsigned k = 0; k < 64; k++) {
                        Denial d = make_denial(1700000000000, 7 + k * 1024, 0);
                        CHECK_RC(store_add(s, &d), pass == 0 ? 1 : 0);
                        denial_done(&d);
                }
                CHECK_RC(store_commit(s, NULL), pass == 0 ? 64 : 0);
        }
        /* One more that would need a 65th probe is refused, the batch goes on. */
        Denial d = make_denial(1700000000000, 7 + 64 * 1024, 0);
        CHECK_RC(store_add(s, &d), -E2BIG);
        denial_done(&d);
        d = make_denial(1700000000000, 8, 0); /* another home slot: fine */
        CHECK_RC(store_add(s, &d), 1);
        denial_done(&d);
        CHECK_RC(store_commit(s, NULL), 1);

        Rows rows = query(s, NULL, false, 0, 0);
        CHECK_RC(rows.n, 65);
        for (size_t i = 0; i < rows.n; i++) {
                CHECK_RC(rows.d[i].time_ms, 1700000000000);
                if (i > 0)
                        CHECK(rows.d[i].id > rows.d[i - 1].id);
        }
        rows_done(&rows);
        s = store_free(s);
}

/* ---- re-attribution keeps the aggregates right ---- */

/* The verdicts of the newest millisecond are probed in memory (the writer added them all): the
 * same answers as SQLite's probe, and none for rows retention deleted. */
static void test_newest_millisecond(void) {
        _cleanup_(freep) char *path = db_path("newest.db");
        bool more;
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (int pass = 0; pass < 2; pass++) {
                /* two in one home slot, a third elsewhere, and a second verdict of the first */
                const uint64_t serials[] = {5, 5 + 1024, 6, 5};
                const unsigned seqs[] = {0, 0, 0, 1};
                for (size_t i = 0; i < ELEMENTSOF(serials); i++) {
                        Denial d = make_denial(1700000000000, serials[i], seqs[i]);
                        CHECK_RC(store_add(s, &d), pass == 0 ? 1 : 0);
                        denial_done(&d);
                }
                /* another node: the same stamp is another verdict */
                Denial d = make_denial(1700000000000, 5, 0);
                free(d.node);
                d.node = xstrdup("node2");
                CHECK_RC(store_add(s, &d), pass == 0 ? 1 : 0);
                denial_done(&d);
                CHECK_RC(store_commit(s, NULL), pass == 0 ? 5 : 0);
        }
        /* all of it is old: removed, and then stored again */
        CHECK_RC(store_prune(s, 1700000000000 + 3600 * 1000, 1000, 0, 100, &more), 5);
        Denial d = make_denial(1700000000000, 5 + 1024, 0);
        CHECK_RC(store_add(s, &d), 1);
        denial_done(&d);
        CHECK_RC(store_commit(s, NULL), 1);
        Rows rows = query(s, NULL, false, 0, 0);
        CHECK_RC(rows.n, 1);
        CHECK(rows.d[0].serial == 5 + 1024);
        rows_done(&rows);

        /* A kernel's millisecond (it stamps by the jiffy): hundreds of verdicts, some sharing
         * home slots, each stored once: within what the writer remembers (1,024 rows: the
         * second pass is answered in memory) and past it (by SQLite's probe). */
        const unsigned counts[] = {800, 1500};
        for (size_t c = 0; c < ELEMENTSOF(counts); c++) {
                int64_t ms = 1700000001000 + (int64_t) c;
                for (int pass = 0; pass < 2; pass++) {
                        for (unsigned k = 0; k < counts[c]; k++) {
                                Denial dd = make_denial(ms, 100 + k + (k % 3 == 0 ? 4096 : 0),
                                                        k % 5 == 0);
                                CHECK_RC(store_add(s, &dd), pass == 0 ? 1 : 0);
                                denial_done(&dd);
                        }
                        CHECK_RC(store_commit(s, NULL), pass == 0 ? (int) counts[c] : 0);
                }
        }
        CHECK_RC(sql_int(path, "SELECT count(*) FROM denials WHERE time_ms > 1700000000000"), 2300);
        s = store_free(s);
}

static void test_reattribution(void) {
        _cleanup_(freep) char *path = db_path("reattr.db");
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < 300; i++) {
                Denial d = make_filter_denial(i);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        CHECK_RC(store_commit(s, NULL), 300);

        /* What the registry does: name the container of unattributed rows, later. */
        sqlite3 *db = s->db;
        CHECK_RC(sqlite3_exec(db,
                              "UPDATE denials SET container = (SELECT id FROM containers WHERE "
                              "name = 'db'), attribution = 2 WHERE container IS NULL AND id % 2 "
                              "= 0;"
                              "UPDATE denials SET count = 5 WHERE id = (SELECT max(id) FROM "
                              "denials);",
                              NULL, NULL, NULL),
                 SQLITE_OK);
        s = store_free(s);

        /* Every aggregate agrees with the rows again, per container and per hour. */
        CHECK_RC(sql_int(path, "SELECT sum(count) FROM totals"), 304);
        CHECK_RC(sql_int(path, "SELECT sum(count) FROM buckets"), 304);
        CHECK_RC(sql_int(path, "SELECT count(*) FROM (SELECT coalesce(container, 0) AS c, "
                               "sum(coalesce(count, 1)) AS n FROM denials GROUP BY 1) d LEFT JOIN "
                               "(SELECT container AS c, sum(count) AS n FROM totals GROUP BY 1) t "
                               "USING (c) WHERE t.n IS NOT d.n"),
                 0);
        CHECK_RC(sql_int(path,
                         "SELECT count(*) FROM (SELECT time_ms / 3600000 AS h, coalesce(container, "
                         "0) AS c, sum(coalesce(count, 1)) AS n FROM denials GROUP BY 1, 2) d "
                         "LEFT JOIN (SELECT hour AS h, container AS c, sum(count) AS n FROM "
                         "buckets GROUP BY 1, 2) b USING (h, c) WHERE b.n IS NOT d.n"),
                 0);
        CHECK(sql_int(path, "SELECT count(*) FROM denials WHERE container IS NULL") < 60);
}

/* A store holding 3 denials of container a and 2 of container b. */
static Store *store_two_containers(const char *path, const char *id_a, const char *name_a,
                                   const char *id_b, const char *name_b) {
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < 5; i++) {
                Denial d = make_denial(1700000000000 + i * 1000, 500 + i, 0);
                d.has_container = true;
                fixture_container(&d.container, i < 3 ? id_a : id_b, i < 3 ? name_a : name_b,
                                  "nginx:1", "docker", NULL);
                d.attribution = ATTRIBUTION_PID;
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        CHECK_RC(store_commit(s, NULL), 5);
        return s;
}

/* A --container value that is both a container's name and a prefix of another's id is the
 * name (docker's own lookup order): "abc" must not also find the container abc1... */
static void test_name_over_prefix(void) {
        _cleanup_(freep) char *path = db_path("names.db");
        static const char *const id_web =
                "abc1000000000000000000000000000000000000000000000000000000000000";
        static const char *const id_abc =
                "ff00000000000000000000000000000000000000000000000000000000000000";
        Store *s = store_two_containers(path, id_web, "web", id_abc, "abc");
        Rows rows;

        CHECK_RC(store_container_name_known(s, "abc"), 1);
        CHECK_RC(store_container_name_known(s, "abc1"), 0);

        DenialFilter f = {.container = FILTER_ONE("abc")};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 2);
        for (size_t i = 0; i < rows.n; i++)
                CHECK_STREQ(rows.d[i].container.name, "abc");
        rows_done(&rows);
        f = (DenialFilter){.container = FILTER_ONE("abc1")}; /* no such name: the id prefix */
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 3);
        rows_done(&rows);
        f = (DenialFilter){.container = FILTER_ONE("ff0")};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 2);
        rows_done(&rows);
        f = (DenialFilter){.container = FILTER_ONE("abc1"), .container_is_name = true};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 0);
        rows_done(&rows);
        s = store_free(s);
}

/* A full 64-hex id is always the id, also when another container is named with it (docker run
 * --name <victim's id>): the impostor must not take the victim's denials away from --container. */
static void test_full_id_over_name(void) {
        _cleanup_(freep) char *path = db_path("fullid.db");
        static const char *const id_victim =
                "5a1e000000000000000000000000000000000000000000000000000000000001";
        static const char *const id_impostor =
                "0bad000000000000000000000000000000000000000000000000000000000002";
        Store *s = store_two_containers(path, id_victim, "victim", id_impostor, id_victim);
        Rows rows;

        DenialFilter f = {.container = FILTER_ONE(id_victim)};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 3);
        for (size_t i = 0; i < rows.n; i++)
                CHECK_STREQ(rows.d[i].container.id, id_victim);
        rows_done(&rows);
        /* Whoever set container_is_name (the live tail on seeing the impostor): still the id. */
        f = (DenialFilter){.container = FILTER_ONE(id_victim), .container_is_name = true};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 3);
        rows_done(&rows);
        /* A shorter prefix of it is no full id: the name known to the registry wins, as before. */
        f = (DenialFilter){.container = FILTER_ONE("5a1e0000")};
        rows = query(s, &f, false, 0, 0);
        CHECK_RC(rows.n, 3);
        rows_done(&rows);
        s = store_free(s);
}

/* ---- the time budget: short pages, each row exactly once ---- */

#define N_BUDGET 400

static void test_budget(void) {
        _cleanup_(freep) char *path = db_path("budget.db");
        static bool seen[N_BUDGET];
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (unsigned i = 0; i < N_BUDGET; i++) {
                Denial d = make_denial(1700000000000 + (int64_t) i * 1500, 300000 + i, 0);
                free(d.comm);
                d.comm = xstrdup(i % 3 == 0 ? "needle" : "hay");
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        CHECK_RC(store_commit(s, NULL), N_BUDGET);

        /* No budget at all: every call still reads its first window (one second: at most one
         * row here), and the cursor carries on where it stopped. comm has no index. */
        DenialFilter f = {.comm = FILTER_ONE("needle")};
        for (int reverse = 0; reverse <= 1; reverse++) {
                int64_t after = 0;
                bool has_after = false;
                size_t total = 0, calls = 0, short_pages = 0;
                int64_t last = reverse ? INT64_MAX : INT64_MIN;

                memset(seen, 0, sizeof(seen));
                for (;;) {
                        Rows rows = {};
                        StorePage page;
                        store_set_query_budget(s, 0);
                        CHECK_RC(store_query(s, &f, reverse, has_after ? &after : NULL, 50, collect,
                                             &rows, &page),
                                 0);
                        calls++;
                        CHECK(calls < 10 * N_BUDGET);
                        short_pages += rows.n < 50 && page.more;
                        for (size_t i = 0; i < rows.n; i++) {
                                unsigned k = (unsigned) (rows.d[i].serial - 300000);
                                CHECK(k < N_BUDGET && k % 3 == 0 && !seen[k]);
                                seen[k] = true;
                                CHECK(reverse ? rows.d[i].id < last : rows.d[i].id > last);
                                last = rows.d[i].id;
                        }
                        total += rows.n;
                        rows_done(&rows);
                        if (!page.more)
                                break;
                        after = page.next;
                        has_after = true;
                }
                CHECK_RC(total, (N_BUDGET + 2) / 3);
                CHECK(short_pages > 0);
        }
        s = store_free(s);
}

/* ---- retention ---- */

#define N_RET 6000
#define RET_T0 INT64_C(1700000000000)

static int count_top(const StoreTopRow *row, void *userdata) {
        *(uint64_t *) userdata += row->count;
        return 0;
}

static uint64_t top_total(Store *s, const DenialFilter *f) {
        uint64_t n = 0;
        CHECK_RC(store_top(s, f, STORE_TOP_SIGNATURE, false, STORE_TOP_MAX, count_top, &n), 0);
        return n;
}

static void make_sqlite(const char *path, const char *sql);

/* incremental: the store is created in a file set to auto_vacuum=INCREMENTAL, as stores created
 * before the fifth session were: its freed pages go back to the file system. A store created now
 * (auto_vacuum=NONE) reuses them instead. */
static void test_retention(bool incremental) {
        _cleanup_(freep) char *path = db_path(incremental ? "retention-incr.db" : "retention.db");
        Store *s;
        StoreCounts c;
        bool more;
        int r;

        if (incremental) {
                CHECK_RC(store_open(path, &s), 0);
                s = store_free(s);
                make_sqlite(path, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM;");
        }
        /* One denial a second for 100 minutes, and 30 in one crowded millisecond at the start. */
        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(sql_int(path, "PRAGMA auto_vacuum"), incremental ? 2 : 0);
        for (unsigned i = 0; i < 30; i++) {
                Denial d = make_denial(RET_T0 - 1, 800000 + i, 0);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        for (unsigned i = 0; i < N_RET; i++) {
                Denial d = make_filter_denial(i);
                d.time_ms = RET_T0 + (int64_t) i * 1000;
                d.serial = 900000 + i;
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
                if (store_pending(s) >= 1000)
                        CHECK(store_commit(s, NULL) > 0);
        }
        CHECK(store_commit(s, NULL) > 0);
        const uint64_t all = N_RET + 30;
        CHECK_RC(top_total(s, NULL), all);

        /* Nothing asked, nothing done. */
        CHECK_RC(store_prune(s, RET_T0, 0, 0, 10, &more), 0);
        CHECK(!more);

        /* MaxAge = 60 min at t0 + 100 min: the first 40 min go (2400 + the crowded ms), in
         * steps of at most 500 rows, whole milliseconds. */
        const int64_t now = RET_T0 + (int64_t) N_RET * 1000, age = 3600 * 1000;
        uint64_t removed = 0;
        unsigned steps = 0;
        do {
                r = store_prune(s, now, age, 0, 500, &more);
                CHECK(r >= 0);
                CHECK(r <= 500);
                removed += (uint64_t) r;
                steps++;
                CHECK(steps < 100);
        } while (more);
        CHECK_RC(removed, 2400 + 30);
        CHECK(steps >= 5);
        CHECK_RC(store_prune(s, now, age, 0, 500, &more), 0); /* done */
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, all - removed);
        CHECK_RC(c.pruned, removed);
        CHECK_RC(c.oldest_ms, now - age);

        /* The rows are gone; the aggregates keep them. A range whose start lies in the pruned
         * past is rounded out to whole hours there: counted from the buckets. */
        Rows rows = query(s, NULL, false, 0, 0);
        CHECK_RC(rows.n,
                 STORE_QUERY_LIMIT_MAX < all - removed ? STORE_QUERY_LIMIT_MAX : all - removed);
        CHECK_RC(rows.d[0].time_ms, now - age);
        rows_done(&rows);
        CHECK_RC(top_total(s, NULL), all);
        int64_t hour0 = RET_T0 / 3600000 * 3600000;
        DenialFilter f = {.has_since = true, .since_ms = RET_T0 + 1000 * 1000};
        uint64_t expect = 0;
        for (unsigned i = 0; i < N_RET; i++)
                expect += RET_T0 + (int64_t) i * 1000 >= (RET_T0 + 1000 * 1000) / 3600000 * 3600000;
        expect += hour0 == (RET_T0 + 1000 * 1000) / 3600000 * 3600000 ? 30 : 0;
        CHECK_RC(top_total(s, &f), expect);

        /* MaxSize: the oldest go until the used pages fit. */
        s = store_free(s);
        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(store_counts(s, &c), 0);
        uint64_t before = c.db_bytes;
        uint64_t budget = before / 3;
        removed = 0;
        steps = 0;
        do {
                r = store_prune(s, now, 0, budget, 400, &more);
                CHECK(r >= 0 && r <= 400);
                removed += (uint64_t) r;
                CHECK(++steps < 200);
        } while (more);
        CHECK(removed > 0);
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, all - 2430 - removed);
        CHECK_RC(top_total(s, NULL), all);
        s = store_free(s); /* checkpoints: the WAL goes */
        struct stat st;
        CHECK(stat(path, &st) == 0);
        printf("retention: %" PRIu64 " -> %lld bytes (budget %" PRIu64 ")\n", before,
               (long long) st.st_size, budget);
        if (incremental) {
                /* The file gives the freed pages back. */
                CHECK((uint64_t) st.st_size < before);
                CHECK((uint64_t) st.st_size <= budget + 256 * 4096 + 64 * 1024);
        } else {
                /* The file keeps its pages; as many new denials as half of those removed fill
                 * freed pages: the file does not grow. */
                CHECK((uint64_t) st.st_size <= before);
                CHECK_RC(store_open(path, &s), 0);
                for (unsigned i = 0; i < removed / 2; i++) {
                        Denial d = make_filter_denial(i % N_RET);
                        d.time_ms = RET_T0 + (int64_t) (N_RET + i) * 1000;
                        d.serial = 960000 + i;
                        CHECK_RC(store_add(s, &d), 1);
                        denial_done(&d);
                        if (store_pending(s) >= 1000)
                                CHECK(store_commit(s, NULL) > 0);
                }
                CHECK(store_commit(s, NULL) > 0);
                s = store_free(s);
                struct stat again;
                CHECK(stat(path, &again) == 0);
                printf("retention: %" PRIu64 " more denials, %lld -> %lld bytes\n", removed / 2,
                       (long long) st.st_size, (long long) again.st_size);
                CHECK(again.st_size <= st.st_size);
        }

        /* More denials in one millisecond than a step takes: that millisecond goes whole. */
        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(store_counts(s, &c), 0);
        int64_t first_ms = c.oldest_ms;
        for (unsigned i = 0; i < 50; i++) {
                Denial d = make_denial(first_ms - 10, 700000 + i, 0);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        CHECK_RC(store_commit(s, NULL), 50);
        CHECK_RC(store_prune(s, first_ms - 10 + age + 1, age, 0, 20, &more), 50);
        CHECK(!more);
        s = store_free(s);

        CHECK(store_is_expired(0, 10, 5));
        CHECK(!store_is_expired(6, 10, 5));
        CHECK(!store_is_expired(0, 10, 0));
}

/* ---- foreign files ---- */

static char *read_all(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        CHECK(f);
        CHECK(fseek(f, 0, SEEK_END) == 0);
        long n = ftell(f);
        CHECK(n >= 0);
        rewind(f);
        char *buf = malloc((size_t) n + 1);
        CHECK(buf);
        CHECK(fread(buf, 1, (size_t) n, f) == (size_t) n);
        fclose(f);
        *ret_len = (size_t) n;
        return buf;
}

static void make_sqlite(const char *path, const char *sql) {
        sqlite3 *db;
        CHECK_RC(sqlite3_open(path, &db), SQLITE_OK);
        CHECK_RC(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_close(db), SQLITE_OK);
}

static void expect_refused(const char *path, int expected) {
        size_t before_len, after_len;
        _cleanup_(freep) char *before = read_all(path, &before_len);
        Store *s = NULL;
        struct stat st;

        CHECK_RC(store_open(path, &s), expected);
        CHECK(!s);
        _cleanup_(freep) char *after = read_all(path, &after_len);
        CHECK_RC(after_len, before_len);
        CHECK(memcmp(before, after, before_len) == 0);
        _cleanup_(freep) char *wal = NULL;
        CHECK(asprintf(&wal, "%s-wal", path) > 0);
        CHECK(stat(wal, &st) < 0 && errno == ENOENT);
}

static void test_foreign(void) {
        _cleanup_(freep) char *text = db_path("notes.txt");
        _cleanup_(freep) char *other = db_path("other-app.db");
        _cleanup_(freep) char *other_id = db_path("other-id.db");
        _cleanup_(freep) char *newer = db_path("newer.db");
        _cleanup_(freep) char *older = db_path("older.db");
        _cleanup_(freep) char *blank = db_path("blank.db");
        _cleanup_(freep) char *empty = db_path("empty.db");
        Store *s;

        FILE *f = fopen(text, "we");
        CHECK(f);
        fputs("These are my notes. Not a database.\n", f);
        fclose(f);
        expect_refused(text, -EBADMSG);

        make_sqlite(other, "CREATE TABLE foo(x); INSERT INTO foo VALUES (1);");
        expect_refused(other, -EBADMSG);

        make_sqlite(other_id, "PRAGMA application_id = 305419896;"); /* 0x12345678 */
        expect_refused(other_id, -EBADMSG);

        make_sqlite(newer, "PRAGMA application_id = 1096172375; PRAGMA user_version = 3; "
                           "CREATE TABLE future(x);");
        expect_refused(newer, -EPROTONOSUPPORT);
        /* Schema 1 (avcwatch 0.1) is refused, not converted, and left as it was. */
        make_sqlite(older, "PRAGMA application_id = 1096172375; PRAGMA user_version = 1; "
                           "CREATE TABLE events(id INTEGER PRIMARY KEY, raw TEXT);");
        expect_refused(older, -EMEDIUMTYPE);

        /* An SQLite file with nothing in it, and an empty file, may become ours. */
        make_sqlite(blank, "PRAGMA user_version = 0;");
        CHECK_RC(store_open(blank, &s), 0);
        s = store_free(s);
        f = fopen(empty, "we");
        CHECK(f);
        fclose(f);
        CHECK_RC(store_open(empty, &s), 0);
        Denial d = make_denial(1, 1, 0);
        CHECK_RC(store_add(s, &d), 1);
        CHECK_RC(store_commit(s, NULL), 1);
        denial_done(&d);
        s = store_free(s);
        CHECK_RC(store_open(empty, &s), 0); /* ... and is then recognised */
        s = store_free(s);

        /* A missing directory is an error, not a crash. */
        _cleanup_(freep) char *missing = db_path("no/such/dir.db");
        CHECK(store_open(missing, &s) < 0);

        /* Each error names the file and the real cause, not what SQLite's last system call met
         * (a read-only directory was "No such file or directory", from the stat of a -wal). */
        char error[STORE_OPEN_ERROR_MAX];
        CHECK_RC(store_open_with_progress(missing, 0, NULL, NULL, error, sizeof(error), &s),
                 -ENOENT);
        CHECK(strstr(error, "the directory '") && strstr(error, "/no/such' does not exist"));
        _cleanup_(freep) char *dir = db_path("a-directory.db");
        CHECK(mkdir(dir, 0700) == 0);
        CHECK_RC(store_open_with_progress(dir, 0, NULL, NULL, error, sizeof(error), &s), -EISDIR);
        CHECK(strstr(error, "a-directory.db' is a directory, not a database file"));
        _cleanup_(freep) char *in_file = db_path("empty.db/x.db"); /* empty.db is a file */
        CHECK_RC(store_open_with_progress(in_file, 0, NULL, NULL, error, sizeof(error), &s),
                 -ENOTDIR);
        CHECK(strstr(error, "empty.db' is not a directory"));
        /* a leftover -wal that cannot be written: named, before SQLite tries */
        _cleanup_(freep) char *wal = db_path("empty.db-wal");
        CHECK(mkdir(wal, 0700) == 0);
        CHECK_RC(store_open_with_progress(empty, 0, NULL, NULL, error, sizeof(error), &s), -EISDIR);
        CHECK(strstr(error, "empty.db-wal' is a directory"));
        CHECK(rmdir(wal) == 0);
        CHECK_RC(store_open_with_progress(empty, 0, NULL, NULL, error, sizeof(error), &s), 0);
        CHECK_STREQ(error, "");
        s = store_free(s);
}

/* ---- the check at open, and its progress ---- */

static void count_progress(void *userdata, uint64_t elapsed_usec) {
        unsigned *n = userdata;
        (*n)++;
}

static void test_open_progress(void) {
        _cleanup_(freep) char *path = db_path("progress.db");
        Store *s;
        unsigned calls = 0;

        /* A new file is not checked: nothing to report. */
        CHECK_RC(store_open_with_progress(path, 0, count_progress, &calls, NULL, 0, &s), 0);
        CHECK_RC(calls, 0);
        /* Progress is reported once the check has run for a millisecond: the file must be big
         * enough for that on any machine (20,000 small rows were 3 MB, checked in under a
         * millisecond when nothing else ran). 4 KiB of text that does not compress per row: about
         * 30 MB, tens of milliseconds to check. */
        uint64_t x = 88172645463325252u;
        for (unsigned i = 0; i < 8000; i++) {
                Denial d = make_denial(1700000000000 + i, 1000 + i, 0);
                free(d.raw);
                d.raw = malloc(4097);
                CHECK(d.raw);
                for (size_t k = 0; k < 4096; k++) {
                        x ^= x << 13; /* xorshift64 */
                        x ^= x >> 7;
                        x ^= x << 17;
                        d.raw[k] = (char) (' ' + 1 + x % 94);
                }
                d.raw[4096] = 0;
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        CHECK(store_commit(s, NULL) > 0);
        s = store_free(s);
        /* An existing one is read page by page before anything is written: the caller hears of
         * it as it goes (every time here; the daemon asks for once a second). */
        CHECK_RC(store_open_checked(path, STORE_CHECK_ALWAYS, 0, count_progress, &calls, NULL, 0,
                                    NULL, &s),
                 0);
        CHECK(calls > 0);
        s = store_free(s);
        unsigned before = calls;
        CHECK_RC(store_open_checked(path, STORE_CHECK_ALWAYS, UINT64_MAX, count_progress, &calls,
                                    NULL, 0, NULL, &s),
                 0);
        CHECK_RC(calls, before);
        s = store_free(s);
}

/* The check runs after a stop that left no clean-stop mark, on request, never with never. */
static void test_open_check_modes(void) {
        _cleanup_(freep) char *path = db_path("check-modes.db");
        StoreChecked checked;
        Store *s, *crashed;
        unsigned calls = 0;

        CHECK_RC(store_open_checked(path, STORE_CHECK_AUTO, 0, count_progress, &calls, NULL, 0,
                                    &checked, &s),
                 0);
        CHECK_RC(checked, STORE_CHECKED_NEW);
        s = store_free(s);
        /* closed cleanly: not read again */
        CHECK_RC(store_open_checked(path, STORE_CHECK_AUTO, 0, count_progress, &calls, NULL, 0,
                                    &checked, &s),
                 0);
        CHECK_RC(checked, STORE_SKIPPED_CLEAN);
        CHECK_RC(calls, 0);
        /* s is still open (a daemon that will be killed): the mark is gone already */
        CHECK_RC(store_open_checked(path, STORE_CHECK_AUTO, 0, count_progress, &calls, NULL, 0,
                                    &checked, &crashed),
                 0);
        CHECK_RC(checked, STORE_CHECKED_UNCLEAN);
        crashed = store_free(crashed);
        s = store_free(s);
        calls = 0;
        CHECK_RC(store_open_checked(path, STORE_CHECK_ALWAYS, 0, count_progress, &calls, NULL, 0,
                                    &checked, &s),
                 0);
        CHECK_RC(checked, STORE_CHECKED_REQUESTED);
        s = store_free(s);
        calls = 0;
        CHECK_RC(store_open_checked(path, STORE_CHECK_NEVER, 0, count_progress, &calls, NULL, 0,
                                    &checked, &s),
                 0);
        CHECK_RC(checked, STORE_SKIPPED_NEVER);
        CHECK_RC(calls, 0);
        s = store_free(s);
        CHECK_RC(store_check_mode_from_string("always"), STORE_CHECK_ALWAYS);
        CHECK_RC(store_check_mode_from_string("sometimes"), -EINVAL);
}

/* Triage: reason, verdict and booleans round-trip, an untriaged denial stays untriaged (NULL, not
 * te), and a store from before the triage columns gets them at open, its rows untriaged. */
static void test_triage(void) {
        _cleanup_(freep) char *path = db_path("triage.db");
        Denial d[3];
        Store *s;
        sqlite3 *db;
        uint64_t dups = 0;

        for (size_t i = 0; i < ELEMENTSOF(d); i++)
                d[i] = fixture_denial(FIXTURE_TIME_MS + (int64_t) i, FIXTURE_SERIAL + i);
        d[0].triaged = true;
        d[0].reason = 1; /* boolean */
        d[0].verdict = 3;
        d[0].booleans = strdup("container_manage_cgroup virt_use_nfs");
        d[1].triaged = true; /* te, escape: reason 0 is a value, not "none" */
        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(store_add(s, &d[0]), 1);
        CHECK_RC(store_add(s, &d[1]), 1);
        CHECK_RC(store_commit(s, &dups), 2);
        s = store_free(s);

        /* The file as an older avcwatchd left it: without the columns (nor the triage
         * aggregate of the metrics, which came later and refers to them). */
        CHECK_RC(sqlite3_open(path, &db), SQLITE_OK);
        CHECK_RC(sqlite3_exec(db,
                              "DROP TRIGGER denials_retriaged; DROP TABLE triage_totals; "
                              "ALTER TABLE denials DROP COLUMN booleans; ALTER TABLE denials DROP "
                              "COLUMN verdict; ALTER TABLE denials DROP COLUMN reason;",
                              NULL, NULL, NULL),
                 SQLITE_OK);
        sqlite3_close(db);
        CHECK_RC(store_open(path, &s), 0);
        Rows rows = query(s, NULL, false, 0, 0);
        CHECK_RC(rows.n, 2);
        CHECK(!rows.d[0].triaged && !rows.d[1].triaged);
        rows_done(&rows);

        /* Written again (a new row) and read back. */
        d[2].triaged = true;
        d[2].reason = 1;
        d[2].verdict = 3;
        d[2].booleans = strdup("container_use_nfs");
        CHECK_RC(store_add(s, &d[2]), 1);
        CHECK_RC(store_add(s, &d[0]), 0); /* held already */
        CHECK_RC(store_commit(s, &dups), 1);
        rows = query(s, NULL, false, 0, 0);
        CHECK_RC(rows.n, 3);
        CHECK(rows.d[2].triaged && rows.d[2].reason == 1 && rows.d[2].verdict == 3);
        CHECK_STREQ(rows.d[2].booleans, "container_use_nfs");
        rows_done(&rows);
        s = store_free(s);
        unlink(path);

        /* A new store: every case. */
        CHECK_RC(store_open(path, &s), 0);
        for (size_t i = 0; i < ELEMENTSOF(d); i++)
                CHECK_RC(store_add(s, &d[i]), 1);
        CHECK_RC(store_commit(s, &dups), 3);
        rows = query(s, NULL, false, 0, 0);
        CHECK_RC(rows.n, 3);
        CHECK(rows.d[0].triaged && rows.d[0].reason == 1 && rows.d[0].verdict == 3);
        CHECK_STREQ(rows.d[0].booleans, "container_manage_cgroup virt_use_nfs");
        CHECK(rows.d[1].triaged && rows.d[1].reason == 0 && rows.d[1].verdict == 0);
        CHECK(rows.d[1].booleans == NULL);
        CHECK(rows.d[2].triaged);
        rows_done(&rows);
        s = store_free(s);
        free_denials(d, ELEMENTSOF(d));
}

int main(void) {
        tmpdir = fixture_tmpdir("store");
        test_triage();
        test_open_progress();
        test_open_check_modes();
        test_round_trip();
        test_filters();
        test_filter_lists();
        test_pagination();
        test_cache_overflow();
        test_string_slots();
        test_raw();
        test_raw_packed();
        test_newest_millisecond();
        test_crowded();
        test_reattribution();
        test_name_over_prefix();
        test_full_id_over_name();
        test_budget();
        test_retention(false);
        test_retention(true);
        test_foreign();
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
