/* SPDX-License-Identifier: MIT */
/* Store, the gap backfill's positions (store.h, StorePosition): where a restart's backfill
 * starts, kept in meta next to the counts. The live position is written by store_commit() with
 * the batch it describes (store-write.c); this file reads it, keeps the mark of a backfill under
 * way, and finds the newest stored denial below a bound for a database that has no live
 * position yet (written by a version before it existed). */

#include <errno.h>
#include <sqlite3.h>

#include "macro.h"
#include "store-private.h"
#include "store.h"

int store_position(Store *s, StorePosition *ret) {
        StorePosition p = {};
        int r;

        if (!s || !ret)
                return -EINVAL;
        r = store_sql_int64(s, s->ro,
                            "SELECT value FROM meta WHERE key = '" STORE_META_LIVE_POSITION "'",
                            &p.live_ms);
        if (r < 0)
                return r;
        r = store_sql_int64(s, s->ro,
                            "SELECT value FROM meta WHERE key = '" STORE_META_BACKFILL_FROM "'",
                            &p.backfill_from_ms);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

static int store_meta_set(Store *s, const char *key, int64_t value) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc;

        /* Rare (twice a start): prepared when needed. Inside the open batch when there is one
         * (committed with it, within STORE_BATCH_USEC), else a transaction of its own. */
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO "
                                "UPDATE SET value = excluded.value",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, value);
        return store_batch_failed(s, store_step_done(s, st));
}

int store_backfill_begin(Store *s, int64_t since_ms) {
        if (!s || since_ms <= 0)
                return -EINVAL;
        return store_meta_set(s, STORE_META_BACKFILL_FROM, since_ms);
}

int store_backfill_end(Store *s, int64_t until_ms) {
        int r;

        if (!s || until_ms <= 0)
                return -EINVAL;
        r = store_meta_max(s, STORE_META_LIVE_POSITION, until_ms);
        if (r < 0)
                return store_batch_failed(s, r);
        return store_meta_set(s, STORE_META_BACKFILL_FROM, 0);
}

int store_newest_before(Store *s, int64_t before_ms, int64_t *ret_newest_ms, uint64_t *ret_after) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int64_t newest = 0, after = 0;
        int rc;

        if (!s || !ret_newest_ms || !ret_after)
                return -EINVAL;
        /* Two id range reads on the table itself (the id is the time): no index needed. */
        rc = sqlite3_prepare_v2(s->ro,
                                "SELECT (SELECT max(id) FROM denials WHERE id < ?1), "
                                "(SELECT count(*) FROM denials WHERE id >= ?1)",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_int64(st, 1, store_time_id(before_ms));
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return store_error(s, s->ro, rc);
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
                newest = store_id_time(sqlite3_column_int64(st, 0));
        after = sqlite3_column_int64(st, 1);
        *ret_newest_ms = newest;
        *ret_after = after > 0 ? (uint64_t) after : 0;
        return 0;
}
