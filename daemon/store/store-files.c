/* SPDX-License-Identifier: MIT */
/* Store, the files under it: the database and its -wal checked against what was opened, before
 * each commit and when the directory watch says something went (store.h store_check_files). */

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store-private.h"
#include "store.h"

/* SQLite keeps its files open: when the database or its -wal is deleted (or replaced by a rename)
 * under the running daemon, every commit still succeeds, into an inode nobody will ever open
 * again, and a restart finds an empty store (or loses what the -wal held). So before each commit
 * the paths are compared with what was opened (device and inode; one stat() each per batch, at
 * most every STORE_BATCH_USEC). When either is gone the store refuses every later write
 * (-ESTALE): the caller counts each denial as not stored, and says so.
 *
 * Refusing, not recreating the database at the path: what was stored is evidence, and a fresh
 * empty file created under the same name would look like a complete store that never lost
 * anything, and split one history into two files without a word; a restart (which the log asks
 * for) creates the new file in plain sight, the gap is counted until then. When only the -wal is
 * gone, the database file still is the one we opened: the commits the -wal held are copied into
 * it at once (a checkpoint), so that what was stored stays stored. */

static void store_remember_file(const char *path, StoreFile *f) {
        struct stat st;

        if (stat(path, &st) < 0)
                return;
        *f = (StoreFile){.known = true, .dev = st.st_dev, .ino = st.st_ino};
}

/* 1: the path names the file that was opened; 0: deleted or replaced; < 0: cannot tell. */
static int store_same_file(const char *path, const StoreFile *f) {
        struct stat st;

        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return st.st_dev == f->dev && st.st_ino == f->ino && st.st_nlink > 0;
}

static int store_wal_path(const Store *s, char *buf, size_t size) {
        if (snprintf(buf, size, "%s-wal", s->path) >= (int) size)
                return -ENAMETOOLONG;
        return 0;
}

void store_remember_files(Store *s) {
        char wal[PATH_MAX];

        store_remember_file(s->path, &s->files.db);
        if (store_wal_path(s, wal, sizeof(wal)) >= 0)
                store_remember_file(wal, &s->files.wal);
}

int store_check_files(Store *s) {
        char wal[PATH_MAX];
        int db = 1, log = 1;

        if (s->files.gone)
                return -ESTALE;
        if (s->files.db.known)
                db = store_same_file(s->path, &s->files.db);
        if (db > 0 && store_wal_path(s, wal, sizeof(wal)) >= 0) {
                if (!s->files.wal.known) /* SQLite creates it with the first write */
                        store_remember_file(wal, &s->files.wal);
                else
                        log = store_same_file(wal, &s->files.wal);
        }
        if (db != 0 && log != 0)
                return 0; /* there, or a stat() that failed otherwise: SQLite will tell */

        s->files.gone = true;
        if (store_in_batch(s)) {
                /* store_commit()'s caller counts the batch as lost */
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                store_forget_batch(s);
        }
        if (db == 0) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "the database file was deleted or replaced under the running daemon "
                         "(what it held is gone with it); not writing into it: restart avcwatchd");
                return -ESTALE;
        }
        /* The -wal only: its commits into the database file, which is still ours. */
        int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL);
        snprintf(s->last_error, sizeof(s->last_error),
                 "the database's write-ahead log (-wal) was deleted or replaced under the running "
                 "daemon; %s; not writing further: restart avcwatchd",
                 rc == SQLITE_OK ? "what it held was saved into the database file"
                                 : "what it held could NOT be saved into the database file");
        return -ESTALE;
}
