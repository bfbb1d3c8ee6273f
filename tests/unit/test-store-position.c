/* SPDX-License-Identifier: MIT */
/* The store's positions for the gap backfill (store-position.c) and its check of the files under
 * it (store_check_files): the live position moves only with committed live denials, never with
 * imported ones, and survives a reopen; a backfill's mark is kept until it ends; the newest
 * denial before a bound leaves the future out; a database or -wal deleted under the store makes
 * the commit fail (-ESTALE) and refuses every later write, with a reason. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "macro.h"
#include "store.h"
#include "tests/unit/test.h"

static char *tmpdir;

static void add(Store *s, int64_t time_ms, uint64_t serial, bool live) {
        Denial d = fixture_denial(time_ms, serial);
        CHECK(store_add(s, &d) == 1);
        if (live)
                store_note_live(s, time_ms);
        denial_done(&d);
}

static void test_positions(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "position.db");
        StorePosition p;
        int64_t newest;
        uint64_t later;
        Store *s;

        CHECK(store_open(path, &s) == 0);
        CHECK(store_position(s, &p) == 0 && p.live_ms == 0 && p.backfill_from_ms == 0);

        /* live, then an import stamped 2100: only the live one moves the position */
        add(s, 1700000000000, 1, true);
        add(s, 1700000001000, 2, true);
        CHECK(store_commit(s, NULL) == 2);
        add(s, INT64_C(4102444800000), 3, false);
        CHECK(store_commit(s, NULL) == 1);
        CHECK(store_position(s, &p) == 0 && p.live_ms == 1700000001000);
        /* a rolled back (failed) batch does not move it: nothing noted outside a batch */
        store_note_live(s, 1800000000000);
        CHECK(store_position(s, &p) == 0 && p.live_ms == 1700000001000);

        /* what is stored after it, and the newest before a bound */
        CHECK(store_newest_before(s, 1700000001000 + 1, &newest, &later) == 0);
        CHECK(newest == 1700000001000 && later == 1);
        CHECK(store_newest_before(s, 1, &newest, &later) == 0 && newest == 0 && later == 3);

        /* a backfill's mark until its end, which moves the live position to the gap's end */
        CHECK(store_backfill_begin(s, 1700000001000) == 0);
        CHECK(store_position(s, &p) == 0 && p.backfill_from_ms == 1700000001000);
        CHECK(store_backfill_end(s, 1700000005000) == 0);
        CHECK(store_position(s, &p) == 0 && p.backfill_from_ms == 0);
        CHECK(p.live_ms == 1700000005000);
        CHECK(store_backfill_end(s, 1600000000000) == 0); /* never backwards */
        CHECK(store_position(s, &p) == 0 && p.live_ms == 1700000005000);
        store_free(s);

        CHECK(store_open(path, &s) == 0);
        CHECK(store_position(s, &p) == 0 && p.live_ms == 1700000005000);
        store_free(s);
}

static void test_deleted(const char *suffix) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "deleted.db");
        _cleanup_(freep) char *victim = xasprintf("%s%s", path, suffix);
        Store *s;

        CHECK(store_open(path, &s) == 0);
        add(s, 1700000000000, 1, true);
        CHECK(store_commit(s, NULL) == 1);
        CHECK(unlink(victim) == 0);
        add(s, 1700000001000, 2, true);
        CHECK(store_commit(s, NULL) == -ESTALE);
        CHECK(strstr(store_last_error(s), suffix[0] ? "-wal" : "database file") != NULL);
        Denial d = fixture_denial(1700000002000, 3);
        CHECK(store_add(s, &d) == -ESTALE); /* refused from now on */
        denial_done(&d);
        store_free(s);
        if (suffix[0]) {
                /* what the -wal held was saved into the database file */
                StoreCounts c;
                CHECK(store_open(path, &s) == 0);
                CHECK(store_counts(s, &c) == 0 && c.denials == 1);
                store_free(s);
        }
        (void) unlink(path);
        _cleanup_(freep) char *wal = xasprintf("%s-wal", path);
        _cleanup_(freep) char *shm = xasprintf("%s-shm", path);
        (void) unlink(wal);
        (void) unlink(shm);
}

int main(void) {
        tmpdir = fixture_tmpdir("store-position");
        test_positions();
        test_deleted("");
        test_deleted("-wal");
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
