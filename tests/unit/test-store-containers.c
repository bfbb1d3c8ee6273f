/* SPDX-License-Identifier: MIT */
/* The registry's writes through the store (daemon/store/store-containers.c): a registry update
 * that meets a full database or one that refuses writes returns the store's errno (-ENOSPC,
 * -EROFS, not a blanket -EIO), the store keeps it for the manager's failing state
 * (store_take_failure) with SQLite's message, and the candidates of an ambiguous denial are
 * written with the store's batch, not by the attribution of each denial. */

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "container.h"
#include "fixtures.h"
#include "macro.h"
#include "registry.h"
#include "store-private.h" /* the writer connection: PRAGMAs that make writes fail */
#include "store.h"
#include "tests/unit/test.h"

#define T0 INT64_C(1713600000000) /* ms */
#define LONG_STRING_BYTES 1000    /* a few of them do not fit in the page that is left */

static char *tmpdir;

static void exec(Store *s, const char *sql) {
        char *error = NULL;
        if (sqlite3_exec(s->db, sql, NULL, NULL, &error) != SQLITE_OK) {
                fprintf(stderr, "%s: %s\n", sql, error ? error : "?");
                exit(1);
        }
}

static int64_t count(Store *s, const char *sql) {
        sqlite3_stmt *st;
        int64_t n;
        CHECK_RC(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
        CHECK_RC(sqlite3_step(st), SQLITE_ROW);
        n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}

/* A container whose row takes several pages: name, image, label ... of LONG_STRING_BYTES. */
static int add_big(Registry *r, unsigned i) {
        char id[65], text[LONG_STRING_BYTES + 1];

        snprintf(id, sizeof(id), "%064x", i + 1);
        memset(text, 'a' + (char) (i % 26), LONG_STRING_BYTES);
        text[LONG_STRING_BYTES] = 0;
        ContainerInfo c = fixture_container_info(id, text, T0 + i);
        return registry_update(r, &c);
}

static char *db_path(const char *name) {
        return fixture_path(tmpdir, name);
}

/* Of categories c5,c6, which test_candidates_batched gives to several containers. */
static Denial ambiguous_denial(uint64_t serial) {
        Denial d = fixture_denial(T0 + 60 * 1000, serial);
        set_string(&d.scontext, "system_u:system_r:container_t:s0:c5,c6");
        set_string(&d.mcs, "c5,c6");
        return d;
}

/* SQLite's "database or disk is full", forced with max_page_count: -ENOSPC, kept for the
 * manager; room again: the next update goes through and nothing is reported. */
static void test_full(void) {
        _cleanup_(freep) char *path = db_path("full.db");
        Store *s;
        Registry *r;
        char sql[64];
        int k = 0;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(registry_new(s, &r), 0);
        CHECK_RC(add_big(r, 0), 1);
        CHECK_RC(store_take_failure(s), 0);

        snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRIi64,
                 count(s, "PRAGMA page_count"));
        exec(s, sql);
        unsigned i;
        for (i = 1; i < 16 && (k = add_big(r, i)) > 0; i++)
                ;
        CHECK_RC(k, -ENOSPC);
        CHECK_RC(store_take_failure(s), -ENOSPC);
        CHECK_RC(store_take_failure(s), 0); /* reported once */
        CHECK(strstr(store_last_error(s), "full"));

        /* Inside an open batch: the denial it holds is either committed or counted lost, as
         * when a store_add fails. */
        exec(s, "PRAGMA max_page_count = 1073741823");
        Denial d = ambiguous_denial(1);
        CHECK_RC(store_add(s, &d), 1);
        denial_done(&d);
        snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRIi64,
                 count(s, "PRAGMA page_count"));
        exec(s, sql);
        for (i += 1, k = 1; i < 32 && (k = add_big(r, i)) > 0; i++)
                ;
        CHECK_RC(k, -ENOSPC);
        CHECK_RC(store_take_failure(s), -ENOSPC);
        uint64_t lost = store_take_lost(s);
        exec(s, "PRAGMA max_page_count = 1073741823");
        int committed = store_commit(s, NULL);
        CHECK_RC((uint64_t) MAX(committed, 0) + lost, 1);

        CHECK_RC(add_big(r, i + 1), 1);
        CHECK_RC(store_take_failure(s), 0);
        registry_free(r);
        store_free(s);
}

/* A database that refuses writes (query_only, as a read-only file would): -EROFS. */
static void test_readonly(void) {
        _cleanup_(freep) char *path = db_path("readonly.db");
        Store *s;
        Registry *r;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(registry_new(s, &r), 0);
        exec(s, "PRAGMA query_only = ON");
        CHECK_RC(add_big(r, 0), -EROFS);
        CHECK_RC(store_take_failure(s), -EROFS);
        CHECK_RC(registry_mark_removed(r,
                                       "0000000000000000000000000000000000000000000000000000000"
                                       "000000001",
                                       T0 + 1000),
                 -EROFS);
        CHECK_RC(store_take_failure(s), -EROFS);
        exec(s, "PRAGMA query_only = OFF");
        registry_free(r);
        store_free(s);
}

/* Two containers with the same categories: a denial of theirs is ambiguous. Its candidates are
 * queued by the attribution and written with the batch that stores the denial. */
static void test_candidates_batched(void) {
        _cleanup_(freep) char *path = db_path("candidates.db");
        Store *s;
        Registry *r;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(registry_new(s, &r), 0);
        for (unsigned i = 0; i < 2; i++) {
                char id[65];
                snprintf(id, sizeof(id), "%064x", 0xc0 + i);
                ContainerInfo c = {.id = id, .engine = (char *) "docker", .created_ms = T0};
                CHECK_RC(container_label_mcs("s0:c5,c6", &c.mcs), 1);
                c.has_mcs = true;
                CHECK_RC(registry_update(r, &c), 1);
        }

        Denial d = ambiguous_denial(7);
        CHECK_RC(registry_resolve_denial(r, &d), 0);
        CHECK_RC(d.attribution, ATTRIBUTION_AMBIGUOUS);
        CHECK_RC(d.n_candidates, 2);
        /* Attribution wrote nothing ... */
        CHECK_RC(count(s, "SELECT count(*) FROM denial_candidates"), 0);
        CHECK_RC(store_add(s, &d), 1);
        CHECK_RC(count(s, "SELECT count(*) FROM denial_candidates"), 0);
        /* ... the batch did. */
        CHECK_RC(store_commit(s, NULL), 1);
        CHECK_RC(count(s, "SELECT count(*) FROM denial_candidates"), 2);
        denial_done(&d);

        /* A denial that gets no row of its own (folded into a storm) keeps its candidates, as
         * before: they are written at the next commit, or when the store closes. */
        d = ambiguous_denial(8);
        CHECK_RC(registry_resolve_denial(r, &d), 0);
        denial_done(&d);
        CHECK_RC(count(s, "SELECT count(*) FROM denial_candidates"), 2);
        registry_free(r);
        store_free(s);
        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(count(s, "SELECT count(*) FROM denial_candidates"), 4);
        store_free(s);
}

int main(void) {
        tmpdir = fixture_tmpdir("store-containers");
        test_full();
        test_readonly();
        test_candidates_batched();
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
