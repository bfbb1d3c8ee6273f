/* SPDX-License-Identifier: MIT */
/* Store, retention: removes the oldest denials in bounded steps (store_prune), whole milliseconds
 * at a time so that dedupe probe chains keep no holes. The freed pages are reused by the next
 * denials; a store created with auto_vacuum=INCREMENTAL (before the fifth session) also gives
 * them back to the file system (incremental vacuum, a no-op in the others). The aggregates keep
 * their counts. How often a step runs is the
 * caller's business (the daemon paces it from its loop). */

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>

#include "macro.h"
#include "store-private.h"
#include "store.h"

/* ---- retention ---- */

bool store_is_expired(int64_t time_ms, int64_t now_ms, int64_t max_age_ms) {
        return max_age_ms > 0 && now_ms - max_age_ms > time_ms;
}

/* The pages the database uses: what MaxSize= bounds. Not the WAL: it is reset at every
 * checkpoint and bounded on its own (STORE_JOURNAL_SIZE_LIMIT); counting it would make a small
 * MaxSize= prune everything while a checkpoint is pending. */
static int store_used_bytes(Store *s, uint64_t *ret) {
        int64_t pages, free_pages, page_size;
        int r;

        r = store_sql_int64(s, s->db, "PRAGMA page_count", &pages);
        if (r >= 0)
                r = store_sql_int64(s, s->db, "PRAGMA freelist_count", &free_pages);
        if (r >= 0)
                r = store_sql_int64(s, s->db, "PRAGMA page_size", &page_size);
        if (r < 0)
                return r;
        *ret = (uint64_t) MAX(pages - free_pages, 0) * (uint64_t) page_size;
        return 0;
}

/* Deletes the denials below id `end` (a millisecond boundary), counting them in meta. */
static int store_delete_below(Store *s, int64_t end, int64_t *ret_n) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int64_t n = 0, events = 0;
        char sql[256];
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT count(*), coalesce(sum(seq = 0), 0) FROM denials WHERE "
                                "id < ?1",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        sqlite3_bind_int64(st, 1, end);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return store_error(s, s->db, rc);
        n = sqlite3_column_int64(st, 0);
        events = sqlite3_column_int64(st, 1);
        if (n == 0) {
                *ret_n = 0;
                return 0;
        }
        snprintf(sql, sizeof(sql), "DELETE FROM denials WHERE id < %" PRIi64, end);
        store_writer_rows_deleted(s);
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        /* The registry's candidates of the rows that went (keyed by time). */
        snprintf(sql, sizeof(sql),
                 "DELETE FROM denial_candidates WHERE time_ms < %" PRIi64
                 "; UPDATE meta SET value = max(value, %" PRIi64 ") WHERE key = 'pruned_until_ms'",
                 store_id_time(end), store_id_time(end));
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        r = store_meta_add(s, "denials", -n);
        if (r >= 0)
                r = store_meta_add(s, "events", -events);
        if (r >= 0)
                r = store_meta_add(s, "pruned", n);
        if (r < 0)
                return r;
        *ret_n = n;
        return 0;
}

/* Where a step of at most max_rows rows below `limit` ends (returns 1), or limit when fewer are
 * left (returns 0). Steps end on millisecond boundaries, so that probe chains keep no holes: at
 * the start of the millisecond of the row max_rows in, or, when that is the very first one (more
 * than max_rows denials in one millisecond), at its end. */
static int store_prune_end(Store *s, int64_t limit, unsigned max_rows, int64_t *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int64_t first, cut;
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT (SELECT min(id) FROM denials), id FROM denials WHERE "
                                    "id < ?1 ORDER BY id LIMIT 1 OFFSET ?2",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        sqlite3_bind_int64(st, 1, limit);
        sqlite3_bind_int64(st, 2, MAX(max_rows, 1u));
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                *ret = limit;
                return 0;
        }
        if (rc != SQLITE_ROW)
                return store_error(s, s->db, rc);
        first = store_id_time(sqlite3_column_int64(st, 0));
        cut = store_id_time(sqlite3_column_int64(st, 1));
        *ret = MIN(store_time_id(cut == first ? cut + 1 : cut), limit);
        return *ret < limit;
}

int store_prune(Store *s, int64_t now_ms, int64_t max_age_ms, uint64_t max_bytes, unsigned max_rows,
                bool *ret_more) {
        int64_t end, n = 0, n_age = 0;
        uint64_t used;
        bool own_txn, more = false;
        int r;

        if (!s || !ret_more)
                return -EINVAL;
        *ret_more = false;
        if (max_age_ms <= 0 && max_bytes == 0)
                return 0;
        r = store_writer_flush(s); /* the rows store_add() holds are removed too, if old */
        if (r < 0)
                return r;
        own_txn = !store_in_batch(s);
        if (own_txn) {
                r = store_writer_begin(s);
                if (r < 0)
                        return r;
        }

        /* Queued candidates first: the step deletes those of the rows it removes. */
        r = store_containers_flush(s);
        if (r < 0)
                goto fail;
        if (max_age_ms > 0 && now_ms - max_age_ms > -STORE_TIME_MAX) {
                r = store_prune_end(s, store_time_id(now_ms - max_age_ms), max_rows, &end);
                if (r >= 0) {
                        more = r > 0;
                        r = store_delete_below(s, end, &n_age);
                }
                if (r < 0)
                        goto fail;
                n += n_age;
        }
        if (max_bytes > 0 && (unsigned) n < max_rows) {
                r = store_used_bytes(s, &used);
                if (r < 0)
                        goto fail;
                if (used > max_bytes) {
                        int64_t n_size;
                        r = store_prune_end(s, INT64_MAX, max_rows - (unsigned) n, &end);
                        if (r >= 0)
                                r = store_delete_below(s, end, &n_size);
                        if (r < 0)
                                goto fail;
                        n += n_size;
                        /* More to do while rows went (the size is looked at again next time). */
                        more = more || n_size > 0;
                }
        }
        if (n > 0) {
                char sql[64];
                snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)",
                         STORE_PRUNE_VACUUM_PAGES);
                r = store_exec(s, s->db, sql);
                if (r < 0)
                        goto fail;
        }
        if (own_txn) {
                r = store_writer_commit(s);
                if (r < 0)
                        goto fail;
        }
        *ret_more = more;
        return (int) MIN(n, (int64_t) INT32_MAX);

fail:
        if (own_txn && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        else if (!own_txn)
                (void) store_batch_failed(s, r);
        return r;
}
