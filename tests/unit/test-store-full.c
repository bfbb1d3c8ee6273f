/* SPDX-License-Identifier: MIT */
/* The store on a full disk: a real, tiny tmpfs is filled up so that a commit fails with
 * -ENOSPC. The failed batch must be rolled back whole, what was committed before must be
 * intact, and once there is room again the same Store must commit the next batch. Needs root
 * (to mount); SKIPs otherwise. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fixtures.h"
#include "macro.h"
#include "store-private.h" /* the writer connection, to change rows behind the store's back */
#include "store.h"
#include "tests/unit/test.h"

#define TMPFS_SIZE "2m"
#define RAW_BYTES 2048 /* per event: a batch of BATCH rows needs far more than what is left */
#define BATCH 400

static char *tmpdir;
static bool mounted;

/* Also at exit: the tmpfs must not outlive a test that failed. */
static void unmount(void) {
        if (mounted) {
                (void) umount2(tmpdir, MNT_DETACH);
                mounted = false;
        }
}

static Denial make(int64_t time_ms, uint64_t serial, size_t raw_bytes) {
        Denial d = fixture_denial(time_ms, serial);
        char *raw = malloc(raw_bytes + 1);

        CHECK(raw);
        /* Pseudo-random letters, so that the store's compression cannot make them small. */
        uint64_t x = serial * 0x9e3779b97f4a7c15ULL + 1;
        for (size_t i = 0; i < raw_bytes; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                raw[i] = (char) ('a' + x % 26);
        }
        raw[raw_bytes] = 0;
        free(d.raw);
        d.raw = raw;
        return d;
}

/* Adds n denials; on failure returns it and, in *ret_added, how many were added before. */
static int add_batch_n(Store *s, uint64_t first_serial, size_t n, size_t raw_bytes,
                       size_t *ret_added) {
        for (size_t i = 0; i < n; i++) {
                Denial d = make((int64_t) (first_serial + i) * 10, first_serial + i, raw_bytes);
                int r = store_add(s, &d);
                denial_done(&d);
                if (r < 0) {
                        if (ret_added)
                                *ret_added = i;
                        return r;
                }
                CHECK_RC(r, 1);
        }
        if (ret_added)
                *ret_added = n;
        return 0;
}

static int add_batch(Store *s, uint64_t first_serial, size_t n, size_t raw_bytes) {
        return add_batch_n(s, first_serial, n, raw_bytes, NULL);
}

static int count_cb(const Denial *d, void *userdata) {
        uint64_t *serials = userdata;
        /* serials[0] counts, the rest records which batches the rows came from */
        serials[0]++;
        if (d->serial >= 1000 && d->serial < 2000)
                serials[1]++;
        else if (d->serial >= 2000 && d->serial < 3000)
                serials[2]++;
        else if (d->serial >= 3000 && d->serial < 4000)
                serials[3]++;
        return 0;
}

/* Writes until the file system is full; returns the filler's path. */
static char *fill(void) {
        char *path;
        char block[4096];
        _cleanup_(closep) int fd = -EBADF;

        path = fixture_path(tmpdir, "filler");
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        memset(block, 'x', sizeof(block));
        for (;;) {
                ssize_t n = write(fd, block, sizeof(block));
                if (n < 0) {
                        CHECK(errno == ENOSPC);
                        break;
                }
                if (n == 0)
                        break;
        }
        return path;
}

int main(void) {
        _cleanup_(freep) char *db = NULL;
        uint64_t rows[4] = {};
        Store *s;
        int r;

        if (geteuid() != 0)
                SKIP("mounting a tmpfs needs root");
        tmpdir = fixture_tmpdir("store-full");
        atexit(unmount);
        /* A private mount namespace where we can have one, so that nothing leaks if we die. */
        (void) unshare(CLONE_NEWNS);
        (void) mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        if (mount("tmpfs", tmpdir, "tmpfs", 0, "size=" TMPFS_SIZE ",mode=0700") < 0)
                SKIP("cannot mount a tmpfs on %s: %s", tmpdir, strerror(errno));
        mounted = true;
        db = fixture_path(tmpdir, "store.db");

        /* Batch 1 fits. */
        CHECK_RC(store_open(db, &s), 0);
        CHECK_RC(add_batch(s, 1000, 50, 100), 0);
        CHECK_RC(store_commit(s, NULL), 50);

        /* Batch 2 cannot be written: the disk is full. Every row of it is either committed
         * or accounted lost: the failed add, the rows SQLite rolled back with it
         * (store_take_lost), or the rows of a commit that failed (what was pending). */
        _cleanup_(freep) char *filler = fill();
        size_t added = 0;
        uint64_t lost = 0, committed = 0;
        r = add_batch_n(s, 2000, BATCH, RAW_BYTES, &added);
        if (r < 0) {
                lost = 1 + store_take_lost(s);
                CHECK_RC(store_take_lost(s), 0); /* taken once */
        }
        size_t pending = store_pending(s);
        int c2 = store_commit(s, NULL);
        if (c2 < 0) {
                lost += pending;
                if (r >= 0)
                        r = c2;
        } else
                committed = (uint64_t) c2;
        if (r != -ENOSPC) {
                fprintf(stderr, "expected -ENOSPC, got %d (%s)\n", r, store_last_error(s));
                return 1;
        }
        fprintf(stderr,
                "full disk: %zu added before the failure, %" PRIu64 " lost, %" PRIu64
                " committed\n",
                added, lost, committed);
        CHECK_RC(committed + lost, added + (added < BATCH ? 1 : 0));
        CHECK(lost > 0);
        CHECK(strlen(store_last_error(s)) > 0);
        CHECK_RC(store_pending(s), 0);

        /* Batch 1 is intact; of batch 2 exactly what was reported committed is visible. */
        CHECK_RC(store_query(s, NULL, false, NULL, 0, count_cb, rows, NULL), 0);
        CHECK_RC(rows[0], 50 + committed);
        CHECK_RC(rows[2], committed);

        /* Room again: the same Store commits the next batch. */
        CHECK_RC(unlink(filler), 0);
        CHECK_RC(add_batch(s, 3000, 60, 100), 0);
        uint64_t dups = 0;
        CHECK_RC(store_commit(s, &dups), 60);
        CHECK_RC(dups, 0);
        memset(rows, 0, sizeof(rows));
        CHECK_RC(store_query(s, NULL, false, NULL, 0, count_cb, rows, NULL), 0);
        CHECK_RC(rows[0], 110 + committed);
        CHECK_RC(rows[1], 50);
        CHECK_RC(rows[2], committed);
        CHECK_RC(rows[3], 60);
        StoreCounts c;
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, 110 + committed);
        CHECK_RC(c.events, 110 + committed);

        /* Again with a tiny page cache: SQLite must write while the batch is being added, so
         * an add fails in the middle of it, and SQLite may give the whole transaction up. */
        CHECK(sqlite3_exec(s->db, "PRAGMA cache_size = 8", NULL, NULL, NULL) == 0);
        free(filler);
        filler = fill();
        added = 0;
        r = add_batch_n(s, 4000, BATCH, RAW_BYTES, &added);
        CHECK(r == -ENOSPC);
        CHECK(added < BATCH);
        uint64_t lost2 = 1 + store_take_lost(s);
        pending = store_pending(s);
        c2 = store_commit(s, NULL);
        if (c2 < 0)
                lost2 += pending;
        fprintf(stderr,
                "full disk, small cache: %zu added, then a failed add; %" PRIu64
                " lost, %d committed\n",
                added, lost2, c2);
        CHECK_RC((c2 > 0 ? (uint64_t) c2 : 0) + lost2, added + 1);
        CHECK_RC(unlink(filler), 0);
        CHECK(sqlite3_exec(s->db, "PRAGMA cache_size = -16384", NULL, NULL, NULL) == 0);
        memset(rows, 0, sizeof(rows));
        CHECK_RC(store_query(s, NULL, false, NULL, 0, count_cb, rows, NULL), 0);
        CHECK_RC(rows[0], 110 + (c2 > 0 ? (uint64_t) c2 : 0));

        /* The lost rows can be stored later: they were never half-stored. */
        CHECK_RC(committed, 0); /* (the batch needed far more room than there was) */
        CHECK_RC(add_batch(s, 2000, 20, 100), 0);
        CHECK_RC(store_commit(s, NULL), 20);
        s = store_free(s);

        /* And the file is sound after all that (store_open runs quick_check). */
        CHECK_RC(store_open(db, &s), 0);
        CHECK_RC(store_counts(s, &c), 0);
        CHECK_RC(c.denials, 130 + (c2 > 0 ? (uint64_t) c2 : 0));
        s = store_free(s);

        unmount();
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
