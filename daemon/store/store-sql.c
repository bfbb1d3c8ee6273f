/* SPDX-License-Identifier: MIT */
/* The SQLite helpers every part of the store uses, and the one mapping of SQLite's result codes
 * to negative errno.
 *
 * Decisions:
 * - One mapping (store_error): whichever statement meets a full disk or a damaged file (a denial
 *   insert, a commit, retention, or a write of the container registry's tables), the caller
 *   gets the same errno, -ENOSPC or -EBADMSG, and the manager's failing state sees the same
 *   thing. SQLite's message is kept for store_last_error().
 * - SQLITE_CORRUPT and SQLITE_NOTADB are -EBADMSG, what the manager takes for "damaged: stop
 *   writing" (store_open turns it into -EUCLEAN for the check at open, which refuses the file). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "store-private.h"

int store_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
                return -EBADMSG;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_INTERRUPT:
                return -EINTR;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        default: /* SQLITE_IOERR and the rest */
                return -EIO;
        }
}

int store_error(Store *s, sqlite3 *db, int rc) {
        snprintf(s->last_error, sizeof(s->last_error), "%s", sqlite3_errmsg(db));
        int r = store_errno(rc);
        if (r == -EBADMSG)
                s->damaged = true;
        return r < 0 ? r : -EIO; /* a caller that saw a failure says so */
}

int store_exec(Store *s, sqlite3 *db, const char *sql) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : store_error(s, db, rc);
}

int store_add_columns(Store *s, const char *table, const char *const *columns, size_t n) {
        char sql[256];
        int64_t have;
        int r;

        for (size_t i = 0; i < n; i++) {
                size_t len = strcspn(columns[i], " ");
                snprintf(sql, sizeof(sql),
                         "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%.*s'", table,
                         (int) len, columns[i]);
                r = store_sql_int64(s, s->db, sql, &have);
                if (r < 0)
                        return r;
                if (have > 0)
                        continue;
                snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s", table, columns[i]);
                r = store_exec(s, s->db, sql);
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_step_done(Store *s, sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                return 0;
        return store_error(s, sqlite3_db_handle(st), rc);
}

int store_step_int64(Store *s, sqlite3_stmt *st, int64_t *ret) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
                *ret = sqlite3_column_int64(st, 0);
                sqlite3_reset(st);
                return 1;
        }
        sqlite3_reset(st);
        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                return 0;
        return store_error(s, sqlite3_db_handle(st), rc);
}

int store_sql_int64(Store *s, sqlite3 *db, const char *sql, int64_t *ret) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
                *ret = 0;
        else {
                int r = store_error(s, db, rc);
                sqlite3_finalize(st);
                return r;
        }
        sqlite3_finalize(st);
        return 0;
}

void store_bind_text_or_null(sqlite3_stmt *st, int i, const char *text) {
        if (text)
                sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

void store_bind_ref(sqlite3_stmt *st, int i, int64_t ref) {
        if (ref > 0)
                sqlite3_bind_int64(st, i, ref);
        else
                sqlite3_bind_null(st, i);
}

void store_bind_known(sqlite3_stmt *st, int i, int64_t v) {
        if (v >= 0)
                sqlite3_bind_int64(st, i, v);
        else
                sqlite3_bind_null(st, i);
}

char *store_column_strdup(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);
        if (!t)
                return NULL;
        return strndup((const char *) t, (size_t) sqlite3_column_bytes(st, i));
}

void sqlite3_finalizep(sqlite3_stmt **p) {
        if (*p)
                sqlite3_finalize(*p);
}

uint64_t store_cpu_usec(void) {
        return clock_usec(CLOCK_THREAD_CPUTIME_ID);
}
