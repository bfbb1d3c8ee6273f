/* SPDX-License-Identifier: MIT */
/* Store, WAL checkpoints off the writer's thread.
 *
 * SQLite's automatic checkpoint runs inside the commit that takes the WAL over its limit, on the
 * thread that commits: the daemon's loop. Measured on a copy of the 1-million-denial store
 * (docs/benchmarks.md), the retention steps that took over 100 ms were exactly those whose commit
 * ran it (150-180 ms of 160-186 ms; every other step took at most 39 ms); ingest batches run into
 * it the same way.
 *
 * Decisions:
 * - The writer's WAL hook (called after each commit with the WAL's frame count) only wakes a
 *   thread of our own, which runs a PASSIVE checkpoint on a connection of its own: PASSIVE takes
 *   no lock a writer or reader waits for, so commits go on while it copies pages.
 * - Should the thread fall behind (a writer faster than the disk), the writer checkpoints itself
 *   once the WAL holds STORE_WAL_CHECKPOINT_INLINE_PAGES: the WAL stays bounded as before, only
 *   at a larger size. Without the thread (it could not be started) the writer checkpoints at
 *   STORE_WAL_AUTOCHECKPOINT_PAGES, as SQLite's automatic checkpoint did.
 * - A failed checkpoint loses nothing (the WAL keeps the commits; the next one tries again), so
 *   it is not reported; a full disk or a damaged file shows in the writer's own commits.
 * - The thread blocks every signal: they are the event loop's (signalfd).
 * - The thread's connection is closed before the writer's, so that the writer's close is the
 *   last one and checkpoints and removes the WAL as before. */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "store-private.h"

struct StoreCheckpointer {
        sqlite3 *db;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool wanted; /* under lock: a checkpoint is asked for */
        bool stop;   /* under lock */
        uint64_t runs;
};

static void *checkpointer_run(void *userdata) {
        StoreCheckpointer *c = userdata;

        pthread_mutex_lock(&c->lock);
        for (;;) {
                while (!c->wanted && !c->stop)
                        pthread_cond_wait(&c->wake, &c->lock);
                if (c->stop)
                        break;
                c->wanted = false;
                pthread_mutex_unlock(&c->lock);
                (void) sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                                 NULL);
                c->runs++;
                pthread_mutex_lock(&c->lock);
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

/* On the writer's thread, after each commit. */
static int store_wal_hook(void *userdata, sqlite3 *db, const char *name, int frames) {
        StoreCheckpointer *c = userdata;

        if (c && frames >= STORE_WAL_CHECKPOINT_INLINE_PAGES)
                c = NULL; /* the thread fell behind: bound the WAL here */
        if (!c) {
                if (frames >= STORE_WAL_AUTOCHECKPOINT_PAGES)
                        (void) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                                         NULL);
                return SQLITE_OK;
        }
        if (frames >= STORE_WAL_AUTOCHECKPOINT_PAGES) {
                pthread_mutex_lock(&c->lock);
                c->wanted = true;
                pthread_cond_signal(&c->wake);
                pthread_mutex_unlock(&c->lock);
        }
        return SQLITE_OK;
}

static StoreCheckpointer *checkpointer_free(StoreCheckpointer *c) {
        if (!c)
                return NULL;
        sqlite3_close(c->db);
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

int store_checkpointer_start(Store *s) {
        StoreCheckpointer *c;
        int rc;

        /* Until the thread runs (or if it cannot), the writer checkpoints as SQLite would. */
        sqlite3_wal_hook(s->db, store_wal_hook, NULL);
        c = calloc(1, sizeof(StoreCheckpointer));
        if (!c)
                return -ENOMEM;
        if (pthread_mutex_init(&c->lock, NULL) != 0) {
                free(c);
                return -ENOMEM;
        }
        if (pthread_cond_init(&c->wake, NULL) != 0) {
                pthread_mutex_destroy(&c->lock);
                free(c);
                return -ENOMEM;
        }
        rc = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                int r = c->db ? store_error(s, c->db, rc) : -ENOMEM;
                checkpointer_free(c);
                return r;
        }
        sqlite3_busy_timeout(c->db, 0); /* PASSIVE: never waits anyway */
        /* No signal is ever delivered to the thread (it inherits this mask): the daemon takes
         * SIGTERM and the others through its event loop, and a thread with them unblocked would
         * die of them. */
        sigset_t all, saved;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        int k = pthread_create(&c->thread, NULL, checkpointer_run, c);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (k != 0) {
                checkpointer_free(c);
                return -EAGAIN;
        }
        s->checkpointer = c;
        sqlite3_wal_hook(s->db, store_wal_hook, c);
        return 0;
}

void store_checkpointer_stop(Store *s) {
        StoreCheckpointer *c = s->checkpointer;

        if (!c)
                return;
        sqlite3_wal_hook(s->db, store_wal_hook, NULL);
        pthread_mutex_lock(&c->lock);
        c->stop = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        (void) pthread_join(c->thread, NULL);
        s->checkpointer = checkpointer_free(c);
}
