/* SPDX-License-Identifier: MIT */
/* The rows store_add() holds for a multi-row INSERT (store-write.c, store_flush_rows): answered
 * "stored" before they are inserted. Each check fails on a bug that holding rows can bring:
 * - a probe by SQLite (an older millisecond, or past what the writer remembers of the newest)
 *   that does not see the held rows: a second row for one verdict, or two verdicts given one id;
 * - a held row whose values or raw text are another row's (bindings kept from an earlier
 *   statement, the encoder's reused buffer), or a row left out when the buffer fills;
 * - a failure at the INSERT that loses rows without counting them;
 * - rows another connection committed between two batches, taken for free ids;
 * - a new string of a held row (inserted with the others: store_resolve_strings) given another
 *   id than one INSERT per string, in the order the fields came, would give it, or another
 *   string's id. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fixtures.h"
#include "macro.h"
#include "store-private.h" /* the writer connection, to change rows behind the store's back */
#include "store.h"
#include "tests/unit/test.h"

static char *tmpdir;

static int64_t sql_int(Store *s, const char *sql) {
        sqlite3_stmt *st;
        int64_t v = -1;

        CHECK_RC(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

static int add(Store *s, int64_t time_ms, uint64_t serial, unsigned seq) {
        Denial d = fixture_denial(time_ms, serial);
        d.seq = seq;
        int r = store_add(s, &d);
        denial_done(&d);
        return r;
}

/* The id the probe gives a verdict whose home slot is free. */
static int64_t home_id(int64_t time_ms, uint64_t serial, unsigned seq) {
        return time_ms * (INT64_C(1) << STORE_SLOT_BITS) +
               (int64_t) ((serial & 0x3ff) << 10 | (seq & 0x3ff));
}

/* Verdicts probed by SQLite while earlier ones of their millisecond are held. */
static void test_probe_sees_held_rows(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "probe.db");
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        /* One batch throughout: nothing is committed before the end. */
        CHECK_RC(add(s, 2000000, 1, 0), 1); /* the newest: the rest is older, probed by SQL */
        CHECK_RC(add(s, 1000000, 7, 0), 1);
        CHECK_RC(add(s, 1000000, 7 + 1024, 0), 1); /* the same home slot: the next one */
        CHECK_RC(add(s, 1000000, 7, 0), 0);        /* the first again */
        CHECK_RC(add(s, 1000000, 7 + 1024, 0), 0);
        CHECK_RC(add(s, 1000000, 7 + 2048, 0), 1);
        /* A kernel's millisecond past what the writer remembers (1,024 rows): the rest is
         * probed by SQLite, twice in the same batch. */
        for (int pass = 0; pass < 2; pass++)
                for (unsigned k = 0; k < 1500; k++)
                        CHECK_RC(add(s, 3000000, 100 + k + (k % 3 == 0 ? 4096 : 0), k % 5 == 0),
                                 pass == 0 ? 1 : 0);
        /* And one older again, between them. */
        CHECK_RC(add(s, 1000000, 7 + 2048, 0), 0);
        uint64_t dups = 0;
        CHECK_RC(store_commit(s, &dups), 1504);
        CHECK_RC(dups, 1503);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials"), 1504);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials WHERE time_ms = 1000000"), 3);
        /* home, home + 1, home + 2: in the order they came */
        CHECK_RC(sql_int(s, "SELECT serial FROM denials WHERE time_ms = 1000000 ORDER BY id"), 7);
        CHECK_RC(sql_int(s, "SELECT serial FROM denials WHERE time_ms = 1000000 ORDER BY id "
                            "DESC"),
                 7 + 2048);
        CHECK_RC(sql_int(s, "SELECT count(DISTINCT serial * 2 + seq) FROM denials WHERE time_ms "
                            "= 3000000"),
                 1500);
        StoreCounts c;
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, 1504);

        /* A probe chain through stored rows (home, home + 1), then held ones (home + 2, + 3). */
        CHECK_RC(add(s, 4000000, 9, 0), 1);
        CHECK_RC(add(s, 4000000, 9 + 2 * 1024, 0), 1);
        CHECK_RC(store_commit(s, NULL), 2);
        CHECK_RC(add(s, 5000000, 1, 0), 1); /* 4000000 is older now: SQLite is asked */
        CHECK_RC(add(s, 4000000, 9 + 1024, 0), 1);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials WHERE time_ms = 4000000"), 2);
        CHECK_RC(add(s, 4000000, 9 + 3 * 1024, 0), 1);
        for (unsigned k = 0; k < 4; k++)
                CHECK_RC(add(s, 4000000, 9 + k * 1024, 0), 0);
        CHECK_RC(store_commit(s, NULL), 3);
        for (unsigned k = 0; k < 4; k++) {
                char sql[128];
                snprintf(sql, sizeof(sql), "SELECT serial FROM denials WHERE id = %" PRIi64,
                         home_id(4000000, 9, 0) + k);
                CHECK_RC(sql_int(s, sql), 9 + (k == 1 ? 2 : k == 2 ? 1 : k) * 1024);
        }
        s = store_free(s);
}

typedef struct Expect {
        size_t n, seen, mismatches;
        char **raw;
        int64_t *pid;
        uint64_t *count;
        char **path;
} Expect;

static int check_row(const Denial *d, void *userdata) {
        Expect *e = userdata;
        size_t i = (size_t) (d->serial - 1);

        CHECK(d->serial >= 1 && i < e->n);
        e->seen++;
        if (!d->raw || strcmp(d->raw, e->raw[i]) != 0 || d->pid != e->pid[i] ||
            MAX(d->count, 1) != e->count[i] || (d->path == NULL) != (e->path[i] == NULL) ||
            (d->path && strcmp(d->path, e->path[i]) != 0)) {
                fprintf(stderr, "row of serial %" PRIu64 " holds another row's values\n",
                        d->serial);
                e->mismatches++;
        }
        return 0;
}

/* Every row as it was added, across several statements, with raw texts of every size: small
 * (held), one past what the buffer holds (inserted at once), and enough to fill the buffer's
 * bytes before its rows. */
static void test_rows_as_added(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "rows.db");
        const size_t n = 300;
        Expect e = {.n = n};
        Store *s;

        e.raw = calloc(n, sizeof(char *));
        e.pid = calloc(n, sizeof(int64_t));
        e.count = calloc(n, sizeof(uint64_t));
        e.path = calloc(n, sizeof(char *));
        CHECK(e.raw && e.pid && e.count && e.path);
        CHECK_RC(store_open(path, &s), 0);
        uint64_t x = 88172645463325252ULL;
        for (size_t i = 0; i < n; i++) {
                Denial d = fixture_denial(1700000000000 + (int64_t) i / 3, i + 1);
                /* Incompressible letters: 200 KiB (one row), 40 KiB (a few fill the buffer's
                 * bytes) or the fixture's line with a random tail. */
                size_t len = i == 77 ? 200 * 1024 : i % 50 >= 40 ? 40 * 1024 : 60 + i % 17;
                char *raw = malloc(len + 64);
                CHECK(raw);
                int k = snprintf(raw, 64, "type=AVC msg=audit(%zu): ", i);
                for (size_t j = (size_t) k; j < len; j++) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        raw[j] = (char) ('a' + x % 26);
                }
                raw[MAX(len, (size_t) k)] = 0;
                free(d.raw);
                d.raw = raw;
                d.pid = i % 4 == 1 ? -1 : (int64_t) (1000 + i % 7);
                d.count = i % 9 == 4 ? 5 + i : 0;
                free(d.path);
                d.path = i % 5 == 2 ? NULL : xasprintf("/srv/%zu", i % 11);
                e.raw[i] = xstrdup(d.raw);
                e.pid[i] = d.pid;
                e.count[i] = MAX(d.count, 1);
                e.path[i] = xstrdup(d.path);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
                if (i == 150)
                        CHECK_RC(store_commit(s, NULL), 151);
        }
        CHECK_RC(store_commit(s, NULL), (int) n - 151);
        CHECK_RC(store_query(s, NULL, false, NULL, 0, check_row, &e, NULL), 0);
        CHECK_RC(e.seen, n);
        CHECK_RC(e.mismatches, 0);
        /* in time order, and within a millisecond in the order they came */
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials a JOIN denials b ON b.id > a.id WHERE "
                            "b.serial < a.serial"),
                 0);
        for (size_t i = 0; i < n; i++) {
                free(e.raw[i]);
                free(e.path[i]);
        }
        free(e.raw);
        free(e.pid);
        free(e.count);
        free(e.path);
        s = store_free(s);
}

/* Takes the id of the verdict (time_ms, serial, seq 0) behind the writer's back, on its own
 * connection, inside its batch. */
static void take_id(Store *s, int64_t time_ms, uint64_t serial) {
        char sql[256];

        snprintf(sql, sizeof(sql),
                 "INSERT INTO denials(id, serial, seq, record_type, signature, attribution) "
                 "VALUES (%" PRIi64 ", %" PRIu64 ", 0, 1400, 1, 0)",
                 home_id(time_ms, serial, 0), serial);
        CHECK_RC(sqlite3_exec(s->db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* A held row whose INSERT fails (its id taken behind the writer's back, on its own connection:
 * what a wrong probe would do): the batch is rolled back and every row of it counted, whichever
 * call inserts the held rows. */
static void test_failed_insert_counted(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "failed.db");
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(add(s, 500000, 1, 0), 1);
        CHECK_RC(store_commit(s, NULL), 1);

        /* 1. store_add() that finds the buffer full, or the commit */
        CHECK_RC(add(s, 1000000, 1, 0), 1);
        take_id(s, 1000000, 1);
        size_t added = 1;
        int r = 0;
        for (uint64_t serial = 2; serial < 200 && r >= 0; serial++) {
                r = add(s, 1000000 + (int64_t) serial, serial, 0);
                if (r >= 0) {
                        CHECK_RC(r, 1);
                        added++;
                }
        }
        if (r < 0) {
                /* every row added before this one; this one is its caller's to count */
                CHECK_RC(store_take_lost(s), added);
                CHECK_RC(store_pending(s), 0);
                CHECK_RC(store_commit(s, NULL), 0);
        } else {
                size_t pending = store_pending(s);
                CHECK_RC(pending, added);
                CHECK(store_commit(s, NULL) < 0);
                CHECK_RC(store_take_lost(s), 0); /* the commit's caller counts what was pending */
        }
        CHECK(strstr(store_last_error(s), "UNIQUE") != NULL);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials"), 1);

        /* 2. another user of the writer's connection (retention): the failure is kept for the
         * pipeline, with the rows */
        CHECK_RC(add(s, 2000000, 1, 0), 1);
        CHECK_RC(add(s, 2000000, 2, 0), 1);
        take_id(s, 2000000, 2);
        bool more;
        CHECK(store_prune(s, 2000000 + 1000, 1000000000, 0, 100, &more) < 0);
        CHECK(store_take_failure(s) < 0);
        CHECK_RC(store_take_lost(s), 2);
        CHECK_RC(store_pending(s), 0);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials"), 1);

        /* The next batch is whole. */
        for (uint64_t serial = 1; serial <= 100; serial++)
                CHECK_RC(add(s, 3000000 + (int64_t) serial, serial, 0), 1);
        CHECK_RC(store_commit(s, NULL), 100);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials"), 101);
        StoreCounts c;
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, 101);
        s = store_free(s);
}

/* Another connection commits rows between two batches (the sqlite3 shell): the writer's memory
 * of the newest rows is then stale, and SQLite is asked. */
static void test_other_writer(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "other.db");
        char sql[512];
        sqlite3 *db;
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(add(s, 1000000, 1, 0), 1);
        CHECK_RC(store_commit(s, NULL), 1);
        CHECK_RC(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        /* At the home slots of two verdicts the writer has not seen, newer than all it stored:
         * one is that same verdict (no node, like the fixture's), one another (node 'x'). */
        snprintf(sql, sizeof(sql),
                 "INSERT OR IGNORE INTO strings(text) VALUES ('x'); "
                 "INSERT INTO denials(id, serial, node, seq, record_type, signature, attribution) "
                 "VALUES (%" PRIi64 ", 5, NULL, 0, 1400, 1, 0), (%" PRIi64
                 ", 6, (SELECT id FROM strings WHERE text = 'x'), 0, 1400, 1, 0)",
                 home_id(2000000, 5, 0), home_id(2000000, 6, 0));
        CHECK_RC(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);

        CHECK_RC(add(s, 2000000, 5, 0), 0); /* stored already */
        CHECK_RC(add(s, 2000000, 6, 0), 1); /* another verdict holds its home slot */
        CHECK_RC(add(s, 2000000, 7, 0), 1);
        uint64_t dups = 0;
        CHECK_RC(store_commit(s, &dups), 2);
        CHECK_RC(dups, 1);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials WHERE time_ms = 2000000"), 4);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials WHERE time_ms = 2000000 AND serial = 6"),
                 2);
        s = store_free(s);
}

/* The users of the writer's connection that read or write the denials table see the held rows:
 * the count per container, retention (which removes them when old). */
static void test_other_readers(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "readers.db");
        const char *id = "1111111111111111111111111111111111111111111111111111111111111111";
        uint64_t denials = 0, ambiguous = 0;
        bool more;
        Store *s;

        CHECK_RC(store_open(path, &s), 0);
        for (uint64_t serial = 1; serial <= 5; serial++) {
                Denial d = fixture_denial(1000000 + (int64_t) serial, serial);
                d.has_container = true;
                fixture_container(&d.container, id, "web", "centos:latest", "docker", NULL);
                CHECK_RC(store_add(s, &d), 1);
                denial_done(&d);
        }
        int64_t row = sql_int(s, "SELECT id FROM containers WHERE container_id = '1111111111111111"
                                 "111111111111111111111111111111111111111111111111'");
        CHECK(row > 0);
        CHECK_RC(store_container_counts(s, row, &denials, &ambiguous), 0);
        CHECK_RC(denials, 5);
        CHECK_RC(ambiguous, 0);

        /* Retention inside the batch: the held rows are old, removed with the rest. */
        for (uint64_t serial = 6; serial <= 8; serial++)
                CHECK_RC(add(s, 1000000 + (int64_t) serial, serial, 0), 1);
        CHECK_RC(store_prune(s, 1000000 + 3600 * 1000, 1000, 0, 100, &more), 8);
        CHECK_RC(store_commit(s, NULL), 8);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials"), 0);
        StoreCounts c;
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, 0);
        /* and stored again, as new */
        CHECK_RC(add(s, 1000000 + 6, 6, 0), 1);
        CHECK_RC(store_commit(s, NULL), 1);
        CHECK_RC(sql_int(s, "SELECT count(*) FROM denials"), 1);
        s = store_free(s);
}

/* The strings interned by one test_string_ids step, in the order store_add() meets them. */
typedef struct Interned {
        char *text[4096];
        size_t n;
} Interned;

static void intern_expect(Interned *in, const char *text) {
        if (!text)
                return;
        for (size_t i = 0; i < in->n; i++)
                if (strcmp(in->text[i], text) == 0)
                        return;
        CHECK(in->n < ELEMENTSOF(in->text));
        in->text[in->n++] = xstrdup(text);
}

/* Fields new and old, the ones needed at once (node, mcs, a signature's) among those that wait
 * for the held rows' INSERT, duplicates, rows too large to hold, commits, and a reopened store
 * (its cache empty: the strings are there already): every string has the id one INSERT per
 * string in the order of the fields gives (strings(id) in order of first appearance), and every
 * row names its own strings. */
static void test_string_ids(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "strings.db");
        const size_t n = 700;
        Interned in = {};
        char **names = calloc(n, sizeof(char *)), **bools = calloc(n, sizeof(char *));
        Store *s;

        CHECK(names && bools);
        CHECK_RC(store_open(path, &s), 0);
        for (size_t i = 0; i < n; i++) {
                size_t k = i % 350; /* the second half repeats the strings of the first */
                Denial d = fixture_denial(1700000000000 + (int64_t) i, i + 1);
                if (k % 7 == 3)
                        d.node = xasprintf("node%zu", k / 7);
                free(d.scontext);
                d.scontext = xasprintf("system_u:system_r:container_t:s0:c%zu", k % 13);
                free(d.mcs);
                d.mcs = k % 11 == 5 ? xasprintf("c%zu,c%zu", k, k + 1) : xstrdup("c1,c2");
                free(d.comm);
                d.comm = xasprintf("comm%zu", k / 40);
                free(d.name);
                d.name = xasprintf("file%zu", k);
                d.path = k % 3 == 0 ? NULL : xasprintf("/srv/%zu", k % 90);
                free(d.permissions);
                d.permissions = k % 17 == 8 ? xasprintf("perm%zu", k) : xstrdup("write");
                d.triaged = k % 4 == 1;
                d.booleans = d.triaged && k % 8 != 1 ? xasprintf("bool_%zu", k % 60) : NULL;
                if (k == 77) {
                        free(d.raw); /* too large to hold: inserted at once */
                        d.raw = calloc(200 * 1024, 1);
                        CHECK(d.raw);
                        uint64_t x = 88172645463325252ULL; /* incompressible letters */
                        for (size_t j = 0; j < 200 * 1024 - 1; j++) {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                                d.raw[j] = (char) ('a' + x % 26);
                        }
                }
                const char *order[] = {d.node,        d.scontext,    d.tcontext,  d.mcs,
                                       d.target_mcs,  d.comm,        d.exe,       d.path,
                                       d.name,        d.cwd,         d.proctitle, d.result,
                                       d.source_type, d.target_type, d.tclass,    d.permissions,
                                       d.booleans};
                for (size_t f = 0; f < ELEMENTSOF(order); f++)
                        intern_expect(&in, order[f]);
                names[i] = xstrdup(d.name);
                bools[i] = d.booleans ? xstrdup(d.booleans) : NULL;
                CHECK_RC(store_add(s, &d), 1);
                if (i % 5 == 4) /* a duplicate: its strings are interned too */
                        CHECK_RC(store_add(s, &d), 0);
                denial_done(&d);
                if (i == 100 || i == 500)
                        CHECK_RC(store_commit(s, NULL), i == 100 ? 101 : 151);
                if (i == 349) {
                        CHECK_RC(store_commit(s, NULL), 249);
                        s = store_free(s);
                        CHECK_RC(store_open(path, &s), 0);
                }
        }
        CHECK_RC(store_commit(s, NULL), 199);

        sqlite3_stmt *st;
        size_t seen = 0;
        CHECK_RC(sqlite3_prepare_v2(s->db, "SELECT id, text FROM strings ORDER BY id", -1, &st,
                                    NULL),
                 SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
                CHECK(seen < in.n);
                CHECK_RC(sqlite3_column_int64(st, 0), (int64_t) seen + 1);
                CHECK_STREQ((const char *) sqlite3_column_text(st, 1), in.text[seen]);
                seen++;
        }
        sqlite3_finalize(st);
        CHECK_RC(seen, in.n);
        CHECK_RC(sqlite3_prepare_v2(s->db,
                                    "SELECT d.serial, n.text, b.text FROM denials d JOIN strings "
                                    "n ON n.id = d.name LEFT JOIN strings b ON b.id = d.booleans "
                                    "ORDER BY d.id",
                                    -1, &st, NULL),
                 SQLITE_OK);
        seen = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
                size_t i = (size_t) sqlite3_column_int64(st, 0) - 1;
                CHECK(i < n);
                CHECK_STREQ((const char *) sqlite3_column_text(st, 1), names[i]);
                CHECK_STREQ((const char *) sqlite3_column_text(st, 2), bools[i]);
                seen++;
        }
        sqlite3_finalize(st);
        CHECK_RC(seen, n);
        for (size_t i = 0; i < n; i++) {
                free(names[i]);
                free(bools[i]);
        }
        for (size_t i = 0; i < in.n; i++)
                free(in.text[i]);
        free(names);
        free(bools);
        s = store_free(s);
}

int main(void) {
        tmpdir = fixture_tmpdir("store-held");
        test_probe_sees_held_rows();
        test_rows_as_added();
        test_failed_insert_counted();
        test_other_writer();
        test_other_readers();
        test_string_ids();
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
