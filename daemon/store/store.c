/* SPDX-License-Identifier: MIT */
/* Store: the SQLite database of denials. This file opens it (the checks before anything is
 * written, the schema) and counts; the write path is store-write.c, retention
 * store-retention.c, queries store-query.c / store-query-plan.c, top and histograms
 * store-top.c, the registry's tables store-containers.c, the SQLite helpers and the errno
 * mapping store-sql.c. The schema and the decisions of the whole store are told here.
 *
 * Schema (version 2: PRAGMA user_version = 2, PRAGMA application_id = 'AVCW'):
 *
 *   meta(key TEXT PRIMARY KEY, value INTEGER)   -- 'denials', 'events', 'pruned': counts kept
 *                                                  at commit so that `stats` is O(1);
 *                                                  'live_position_ms', 'backfill_from_ms': the
 *                                                  gap backfill's (store-position.c);
 *                                                  'clean_stop': 1 from a clean close to the
 *                                                  next open (StoreCheckMode)
 *   strings(id INTEGER PRIMARY KEY, text UNIQUE) -- every repeated string, interned
 *   containers(id INTEGER PRIMARY KEY, container_id TEXT UNIQUE, name, image, engine, pod, ...)
 *                                                -- + the registry's columns (store-containers.c)
 *   signatures(id INTEGER PRIMARY KEY, result, source_type, target_type, tclass, permissions)
 *                                                -- string refs, UNIQUE: what a denial was
 *   dictionaries(id INTEGER PRIMARY KEY, created_ms, data BLOB)
 *                                                -- zstd dictionaries of the raw codec, kept
 *                                                   forever (old rows refer to them)
 *   denials(id INTEGER PRIMARY KEY,              -- time_ms * 2^20 + slot (below)
 *           serial, node, seq, record_type, signature, scontext, tcontext, mcs, target_mcs,
 *           comm, exe, path, name, cwd, proctitle,  -- string refs (NULL: unknown)
 *           pid, ppid, uid, syscall, permissive,
 *           container, attribution, target_container,  -- updatable: re-attribution
 *           count,                               -- identical verdicts this row stands for
 *                                                   (NULL = 1; for storm coalescing)
 *           raw BLOB,                            -- the event's text, raw-codec.h
 *           time_ms GENERATED ALWAYS AS (id >> 20) VIRTUAL,
 *           reason, verdict, booleans)           -- triage, added at open (store_migrate_triage)
 *     indexes: (container) WHERE NOT NULL, (mcs) WHERE NOT NULL, (signature); each ends in the
 *     rowid, so each is in (key, time) order
 *   totals(signature, container, mcs, count, first_ms, last_ms)         -- all time
 *   buckets(hour, signature, container, mcs, count, first_ms, last_ms)  -- per hour (UTC)
 *     (container and mcs 0 when none; both WITHOUT ROWID on their key) -- `top` and histograms
 *     read these, never the denial rows, except for the partial hours at the ends of a range
 *   triggers: an UPDATE of denials.container or denials.count moves/adjusts the row's share of
 *     totals and buckets, so that re-attribution (store-containers.c) keeps them right
 *   baseline(scope, key, signature, first_ms, last_ms, count, accepted_ms)
 *                                                -- signatures per image: store-baseline.c
 *   triage_totals(verdict, reason, count)        -- denials by triage, for the metrics:
 *                                                   store-metrics.c (both added at open)
 *
 * Decisions:
 * - The id is the time: denials.id = time_ms * 2^20 + slot. The table is then clustered in time
 *   order and needs no time index; a time range is an id range; every index (key, rowid) is
 *   already in (key, time) order, so a filtered query walks one index in order and stops at its
 *   limit; and the id is the query cursor. slot = (serial mod 1024) * 1024 + seq mod 1024,
 *   linearly probed (STORE_PROBE_MAX) when taken by another verdict of the same millisecond.
 * - Dedupe without an index: a verdict is (node, time, serial, seq); its probe sequence starts
 *   at a slot derived from (serial, seq), so finding it again is one short range read; and
 *   verdicts newer than everything stored (live input, new logs) skip even that. Retention
 *   deletes whole milliseconds, so a probe sequence never has holes.
 * - Size (docs/benchmarks.md): the raw text is compressed per event with a trained dictionary
 *   (raw-codec.h: ~10x); source/target type, class, permissions and result are one signature
 *   ref; NULL costs one header byte; indexes are partial where most rows would be NULL; there is
 *   no events table (every verdict carries its event's raw text; events with several verdicts
 *   are rare). events in meta counts verdicts with seq 0.
 * - "No value" is 0, not NULL, in the columns of a UNIQUE or primary key (signatures, totals,
 *   buckets), because NULLs are all distinct in a UNIQUE index. Everywhere else NULL means
 *   unknown, exactly like NULL in a Denial.
 * - Writes are batched: store_add opens a transaction (BEGIN IMMEDIATE), answers at once
 *   (stored or duplicate: the probe) and holds the row, inserted with others by one multi-row
 *   INSERT (SQLite's cost per statement is then paid once per STORE_INSERT_ROWS rows), before
 *   anything else reads or writes the denials table on the writer's connection
 *   (store_writer_flush; the dedupe probe merges them with SQLite's rows instead) and at the
 *   latest by store_commit, which commits. A batch is all or
 *   nothing: if SQLite loses the transaction (disk full, I/O error), or an insert of held rows
 *   fails, the whole batch is rolled back, and store_take_lost() says how many rows went.
 * - A damaged file (PRAGMA quick_check) is refused at open, before anything is written to it;
 *   the check (every page) runs when the last stop left no clean-stop mark in meta, or on
 *   request (StoreCheckMode): after a clean stop the file is as SQLite left it.
 * - What SQLite will need to write (the directory, an existing database, -wal, -shm) is checked
 *   before it opens anything, and a failure is told with the file and the system's reason: SQLite
 *   itself reports SQLITE_CANTOPEN with the errno of its last system call, whichever that was.
 *   One daemon per database is the manager's business (store-lock.h), taken before store_open.
 * - Speed: statements are prepared once; strings, containers and signatures are looked up in
 *   bounded in-memory caches (dropped whole when full, and after any rollback since the ids
 *   they hold may have vanished). A held row's new strings wait with it and are inserted many
 *   per statement before it, with the ids one INSERT each would have given them
 *   (store-write.c, store_resolve_strings). Aggregate deltas are summed in memory per (hour,
 * signature, container, mcs) during a batch and written with one upsert each at commit.
 * - Dictionaries are trained between batches (about 0.1 s, rarely: raw-codec.c) and committed
 *   before any row uses them, so a rolled-back batch never loses one.
 * - Queries run on a separate read-only connection (query_only) and so see committed data
 *   only; their SQL is made of constant fragments with bound parameters, never of values.
 * - Foreign keys are declared for documentation but not enforced: every reference is written
 *   by the store in the same transaction, and enforcement costs a lookup per reference.
 * - A file that is not ours is never written: before anything is changed we check the SQLite
 *   magic, the application_id and, for an id-less database, that it has no tables. Schema 1
 *   (avcwatch 0.1: an events table with the raw text uncompressed) is refused, not converted. */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "macro.h"
#include "store-private.h"
#include "store.h"

#define STORE_APPLICATION_ID 0x41564357 /* 'AVCW' in the SQLite header */
#define STORE_SCHEMA_VERSION 2
#define STORE_PROGRESS_MIN_USEC 1000                    /* progress reported at most this often */
#define STORE_PROGRESS_MAX_USEC (3600ULL * 1000 * 1000) /* a longer period: none reported */
#define STORE_BUSY_TIMEOUT_MS 5000 /* another writer (a second daemon, sqlite3 CLI) */
#define STORE_PAGE_CACHE_KIB 16384 /* hot index pages of a busy store stay in memory */
#define STORE_JOURNAL_SIZE_LIMIT (64 * 1024 * 1024) /* the WAL is truncated back to this */
#define SQLITE_MAGIC "SQLite format 3"              /* first 16 bytes of every database */

/* floor(t / 1 h) in SQL, as store_time_hour() */
#define SQL_HOUR(t) "((" t ") - ((" t ") < 0) * 3599999) / 3600000"

/* One row's share of the aggregates, added (sign +1) or taken away (-1). */
#define SQL_AGGREGATE(row, sign)                                                                   \
        "INSERT INTO totals(signature, container, mcs, count, first_ms, last_ms) VALUES "          \
        "(" row ".signature, coalesce(" row ".container, 0), coalesce(" row ".mcs, 0), " sign      \
        " * coalesce(" row ".count, 1), " row ".id >> 20, " row ".id >> 20) ON CONFLICT DO "       \
        "UPDATE SET count = count + excluded.count, first_ms = min(first_ms, excluded.first_ms), " \
        "last_ms = max(last_ms, excluded.last_ms);\n"                                              \
        "  INSERT INTO buckets(hour, signature, container, mcs, count, first_ms, last_ms) VALUES " \
        "(" SQL_HOUR(row ".id >> 20") ", " row ".signature, coalesce(" row                         \
                                      ".container, 0), coalesce(" row ".mcs, 0), " sign            \
                                      " * coalesce(" row ".count, 1), " row ".id >> 20, " row      \
                                      ".id >> 20) ON CONFLICT DO UPDATE SET count = count + "      \
                                      "excluded.count, "                                           \
                                      "first_ms = min(first_ms, excluded.first_ms), last_ms = "    \
                                      "max(last_ms, "                                              \
                                      "excluded.last_ms);\n"

static const char schema_sql[] =
        "CREATE TABLE meta (\n"
        "  key TEXT PRIMARY KEY,\n"
        "  value INTEGER NOT NULL\n"
        ") WITHOUT ROWID;\n"
        "INSERT INTO meta(key, value) VALUES ('denials', 0), ('events', 0), ('pruned', 0), "
        "('pruned_until_ms', 0);\n"
        "CREATE TABLE strings (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  text TEXT NOT NULL UNIQUE\n"
        ");\n"
        "CREATE TABLE containers (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  container_id TEXT NOT NULL UNIQUE,\n"
        "  name TEXT,\n"
        "  image TEXT,\n"
        "  engine TEXT,\n"
        "  pod TEXT\n"
        ");\n"
        "CREATE INDEX containers_name ON containers(name);\n"
        "CREATE TABLE signatures (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  result INTEGER NOT NULL,\n" /* strings.id, 0 when unknown */
        "  source_type INTEGER NOT NULL,\n"
        "  target_type INTEGER NOT NULL,\n"
        "  tclass INTEGER NOT NULL,\n"
        "  permissions INTEGER NOT NULL,\n"
        "  UNIQUE (source_type, target_type, tclass, permissions, result)\n"
        ");\n"
        "CREATE TABLE dictionaries (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  created_ms INTEGER NOT NULL,\n"
        "  data BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE denials (\n"
        "  id INTEGER PRIMARY KEY,\n" /* time_ms * 2^20 + slot */
        "  serial INTEGER NOT NULL,\n"
        "  node INTEGER REFERENCES strings(id),\n"
        "  seq INTEGER NOT NULL,\n"
        "  record_type INTEGER NOT NULL,\n"
        "  signature INTEGER NOT NULL REFERENCES signatures(id),\n"
        "  scontext INTEGER REFERENCES strings(id),\n"
        "  tcontext INTEGER REFERENCES strings(id),\n"
        "  mcs INTEGER REFERENCES strings(id),\n"
        "  target_mcs INTEGER REFERENCES strings(id),\n"
        "  comm INTEGER REFERENCES strings(id),\n"
        "  exe INTEGER REFERENCES strings(id),\n"
        "  path INTEGER REFERENCES strings(id),\n"
        "  name INTEGER REFERENCES strings(id),\n"
        "  cwd INTEGER REFERENCES strings(id),\n"
        "  proctitle INTEGER REFERENCES strings(id),\n"
        "  pid INTEGER,\n"
        "  ppid INTEGER,\n"
        "  uid INTEGER,\n"
        "  syscall INTEGER,\n"
        "  permissive INTEGER,\n" /* 0, 1, NULL when the record had no permissive= */
        "  container INTEGER REFERENCES containers(id),\n"
        "  attribution INTEGER NOT NULL,\n" /* enum Attribution */
        "  target_container INTEGER REFERENCES containers(id),\n"
        "  count INTEGER,\n" /* NULL = 1 */
        "  raw BLOB,\n"
        "  time_ms INTEGER GENERATED ALWAYS AS (id >> 20) VIRTUAL\n"
        ");\n"
        "CREATE INDEX denials_container ON denials(container) WHERE container IS NOT NULL;\n"
        "CREATE INDEX denials_mcs ON denials(mcs) WHERE mcs IS NOT NULL;\n"
        "CREATE INDEX denials_signature ON denials(signature);\n"
        "CREATE TABLE totals (\n"
        "  signature INTEGER NOT NULL,\n"
        "  container INTEGER NOT NULL,\n" /* 0: unattributed */
        "  mcs INTEGER NOT NULL,\n"       /* 0: none */
        "  count INTEGER NOT NULL,\n"
        "  first_ms INTEGER NOT NULL,\n"
        "  last_ms INTEGER NOT NULL,\n"
        "  PRIMARY KEY (signature, container, mcs)\n"
        ") WITHOUT ROWID;\n"
        "CREATE TABLE buckets (\n"
        "  hour INTEGER NOT NULL,\n" /* floor(time_ms / 3600000) */
        "  signature INTEGER NOT NULL,\n"
        "  container INTEGER NOT NULL,\n"
        "  mcs INTEGER NOT NULL,\n"
        "  count INTEGER NOT NULL,\n"
        "  first_ms INTEGER NOT NULL,\n"
        "  last_ms INTEGER NOT NULL,\n"
        "  PRIMARY KEY (hour, signature, container, mcs)\n"
        ") WITHOUT ROWID;\n"
        "CREATE TRIGGER denials_reattributed AFTER UPDATE OF container ON denials\n"
        "WHEN old.container IS NOT new.container BEGIN\n"
        "  " SQL_AGGREGATE("old", "-1") "  " SQL_AGGREGATE(
                "new",
                "1") "END;\n"
                     "CREATE TRIGGER denials_recounted AFTER UPDATE OF count ON denials\n"
                     "WHEN old.count IS NOT new.count AND old.container IS new.container BEGIN\n"
                     "  " SQL_AGGREGATE("old", "-1") "  " SQL_AGGREGATE("new", "1") "END;\n";

DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

/* An open failure of ours, not SQLite's, in a caller's buffer: the message names the file and
 * the system's reason. */
_printf_(4, 5) static int open_failed(char *error, size_t n_error, int r, const char *fmt, ...) {
        va_list ap;
        int n;

        if (!error || n_error == 0)
                return r;
        va_start(ap, fmt);
        n = vsnprintf(error, n_error, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t) n < n_error)
                snprintf(error + n, n_error - n, ": %s", strerror(-r));
        return r;
}

/* ---- open / close ---- */

static int store_load_dictionary(int64_t id, void **ret, size_t *ret_len, void *userdata) {
        Store *s = userdata;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(s->ro, "SELECT data FROM dictionaries WHERE id = ?1", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                snprintf(s->last_error, sizeof(s->last_error), "no dictionary %" PRIi64, id);
                return -ENOENT;
        }
        if (rc != SQLITE_ROW)
                return store_error(s, s->ro, rc);
        size_t len = (size_t) sqlite3_column_bytes(st, 0);
        const void *data = sqlite3_column_blob(st, 0);
        if (!data || len == 0)
                return -EBADMSG;
        void *copy = malloc(len);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, len);
        *ret = copy;
        *ret_len = len;
        return 0;
}

/* Before SQLite opens it: a non-empty file must at least carry the SQLite magic. */
static int check_magic(Store *s, const char *path) {
        _cleanup_(closep) int fd = -EBADF;
        char header[sizeof(SQLITE_MAGIC)];
        struct stat st;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        /* a missing file, or a path through a file: check_writable() says which */
        if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
                return 0;
        if (fd < 0)
                return open_failed(s->last_error, sizeof(s->last_error), negative_errno(),
                                   "cannot open '%s'", path);
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode)) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "'%s' is a directory, not a database file", path);
                return -EISDIR;
        }
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        if (st.st_size == 0)
                return 0;
        n = pread(fd, header, sizeof(header), 0);
        if (n < 0)
                return open_failed(s->last_error, sizeof(s->last_error), negative_errno(),
                                   "cannot read '%s'", path);
        if ((size_t) n < sizeof(header) || memcmp(header, SQLITE_MAGIC, sizeof(header)) != 0)
                return -EBADMSG;
        return 0;
}

int store_check_directory(const char *path, char *error, size_t n_error) {
        _cleanup_(freep) char *dir = NULL;
        struct stat st;
        char *slash;

        if (error && n_error > 0)
                error[0] = 0;
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                dir[1] = 0;
        else
                *slash = 0;
        if (stat(dir, &st) < 0) {
                if (errno == ENOENT)
                        return open_failed(error, n_error, -ENOENT,
                                           "the directory '%s' does not exist", dir);
                return open_failed(error, n_error, negative_errno(),
                                   "cannot reach the directory '%s'", dir);
        }
        if (!S_ISDIR(st.st_mode)) {
                if (error && n_error > 0)
                        snprintf(error, n_error, "'%s' is not a directory", dir);
                return -ENOTDIR;
        }
        if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
                return open_failed(error, n_error, negative_errno(),
                                   "cannot create files in the directory '%s' (the database "
                                   "and its -wal and -shm files live there)",
                                   dir);
        return 0;
}

/* What SQLite would need to write, checked before it tries: when it cannot, SQLite's own report
 * is SQLITE_CANTOPEN with the errno of whichever system call it made last (the stat of a
 * leftover -wal gives "No such file or directory" for a read-only directory). The database, its
 * -wal and -shm files are all created and written beside it, so the directory must be writable
 * too, even for an existing database. */
static int check_writable(Store *s, const char *path) {
        struct stat st;
        int r;

        r = store_check_directory(path, s->last_error, sizeof(s->last_error));
        if (r < 0)
                return r;

        for (size_t i = 0; i < 3; i++) {
                static const char *const suffix[] = {"", "-wal", "-shm"};
                _cleanup_(freep) char *file = NULL;
                _cleanup_(closep) int fd = -EBADF;

                if (asprintf(&file, "%s%s", path, suffix[i]) < 0)
                        return -ENOMEM;
                if (lstat(file, &st) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return open_failed(s->last_error, sizeof(s->last_error), negative_errno(),
                                           "cannot reach '%s'", file);
                }
                if (S_ISDIR(st.st_mode)) {
                        snprintf(s->last_error, sizeof(s->last_error),
                                 "'%s' is a directory, not a database file", file);
                        return -EISDIR;
                }
                fd = open(file, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (fd < 0)
                        return open_failed(s->last_error, sizeof(s->last_error), negative_errno(),
                                           "cannot open '%s' for writing", file);
        }
        return 0;
}

/* Decides, reading only, whether the database is ours; 1 when it needs the schema created. */
static int store_check_owner(Store *s) {
        int64_t app_id, version, tables;
        int r;

        r = store_sql_int64(s, s->db, "PRAGMA application_id", &app_id);
        if (r < 0)
                return r;
        r = store_sql_int64(s, s->db, "PRAGMA user_version", &version);
        if (r < 0)
                return r;
        r = store_sql_int64(s, s->db, "SELECT count(*) FROM sqlite_master", &tables);
        if (r < 0)
                return r;

        if (app_id == 0) {
                if (tables > 0 || version != 0) {
                        snprintf(s->last_error, sizeof(s->last_error),
                                 "database belongs to another application (no application_id)");
                        return -EBADMSG;
                }
                return 1;
        }
        if ((uint32_t) app_id != STORE_APPLICATION_ID) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "database belongs to another application (application_id 0x%08" PRIx32 ")",
                         (uint32_t) app_id);
                return -EBADMSG;
        }
        if (version > STORE_SCHEMA_VERSION) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "schema version %" PRIi64 " is newer than this program's (%d)", version,
                         STORE_SCHEMA_VERSION);
                return -EPROTONOSUPPORT;
        }
        if (version < STORE_SCHEMA_VERSION && tables > 0) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "schema version %" PRIi64 " is older than this program's (%d)", version,
                         STORE_SCHEMA_VERSION);
                return -EMEDIUMTYPE;
        }
        return version < STORE_SCHEMA_VERSION;
}

/* The triage of each denial (daemon/triage/), added to the denials of every store, old ones
 * included: additive and idempotent, at every open in its own transaction, as the registry's
 * columns (store-containers.c), so that user_version stays 2 and an older avcwatchd still
 * opens the file. reason and verdict are TriageReason / TriageVerdict values; -1 when triage
 * had no answer (no policy, or a denial without contexts), NULL when the row was stored before
 * triage existed (or by an older avcwatchd): the triage pass gives those their reason later
 * (store_triage_step()); booleans the names that would allow it, space separated,
 * as one interned string. The hint is not stored: it is a pure function of these and the row's
 * own fields (triage_denial_hint()), so a better sentence reaches old rows too. */
static int store_migrate_triage(Store *s) {
        static const char *const columns[] = {"reason INTEGER", "verdict INTEGER",
                                              "booleans INTEGER REFERENCES strings(id)"};
        int r = store_exec(s, s->db, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = store_add_columns(s, "denials", columns, ELEMENTSOF(columns));
        if (r >= 0)
                r = store_exec(s, s->db, "COMMIT");
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

static int store_create_schema(Store *s) {
        char sql[sizeof(schema_sql) + 256];
        int r;

        snprintf(sql, sizeof(sql),
                 "BEGIN IMMEDIATE;\n%s"
                 /* a new store has no denial from before triage: no triage pass */
                 "INSERT INTO meta(key, value) VALUES ('triage_pass_done', 1);\n"
                 "PRAGMA application_id = %d;\nPRAGMA user_version = %d;\nCOMMIT;",
                 schema_sql, STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
        r = store_exec(s, s->db, sql);
        if (r < 0 && !sqlite3_get_autocommit(s->db))
                (void) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
}

static int store_set_wal(Store *s) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                r = store_error(s, s->db, rc);
        else if (strcmp((const char *) sqlite3_column_text(st, 0), "wal") != 0) {
                snprintf(s->last_error, sizeof(s->last_error),
                         "the file system does not support WAL mode");
                r = -EOPNOTSUPP;
        }
        sqlite3_finalize(st);
        return r;
}

/* avcwatch_image_matches(want, image): a --image filter, as image_ref_matches() says. */
static void sql_image_matches(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        const char *want = (const char *) sqlite3_value_text(argv[0]),
                   *image = argc > 1 ? (const char *) sqlite3_value_text(argv[1]) : NULL;

        sqlite3_result_int(ctx, image_ref_matches(want, image));
}

/* avcwatch_image_key(image): image_ref_key(), NULL for NULL. */
static void sql_image_key(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
        const char *image = argc > 0 ? (const char *) sqlite3_value_text(argv[0]) : NULL;
        size_t n = image ? strlen(image) + 8 : 0;
        char *buf;
        int len;

        if (!image) {
                sqlite3_result_null(ctx);
                return;
        }
        buf = malloc(n);
        if (!buf) {
                sqlite3_result_error_nomem(ctx);
                return;
        }
        len = image_ref_key(image, buf, n);
        if (len < 0)
                sqlite3_result_text(ctx, image, -1, SQLITE_TRANSIENT);
        else
                sqlite3_result_text(ctx, buf, len, SQLITE_TRANSIENT);
        free(buf);
}

static int store_open_reader(Store *s) {
        char sql[64];
        int rc, r;

        rc = sqlite3_open_v2(s->path, &s->ro, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
                return s->ro ? store_error(s, s->ro, rc) : -ENOMEM;
        sqlite3_busy_timeout(s->ro, STORE_BUSY_TIMEOUT_MS);
        rc = sqlite3_create_function(s->ro, "avcwatch_image_matches", 2,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                     sql_image_matches, NULL, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_create_function(s->ro, "avcwatch_image_key", 1,
                                             SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                             NULL, sql_image_key, NULL, NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->ro, rc);
        r = store_exec(s, s->ro, "PRAGMA query_only = ON");
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", STORE_PAGE_CACHE_KIB);
        r = store_exec(s, s->ro, sql);
        if (r < 0)
                return r;
        return raw_decoder_new(store_load_dictionary, s, &s->decoder);
}

/* PRAGMA quick_check: every page, in one pass (about 1 s per GB, read-only). A damaged file is
 * refused before anything is written to it: writing would spread the damage. */
/* PRAGMA quick_check is one long step inside SQLite (no progress handler is called during it), so
 * it runs in a thread of its own while the caller's thread reports progress. The connection is
 * used by one thread at a time: the checker until it is joined, then the caller. */
typedef struct {
        sqlite3_stmt *st;
        int rc;
        char verdict[STORE_ERROR_MAX];
} SoundCheck;

static void *sound_check_run(void *userdata) {
        SoundCheck *c = userdata;

        c->rc = sqlite3_step(c->st);
        if (c->rc == SQLITE_ROW) {
                const char *v = (const char *) sqlite3_column_text(c->st, 0);
                snprintf(c->verdict, sizeof(c->verdict), "%s", v ? v : "?");
        }
        return NULL;
}

static void sound_check_with_progress(SoundCheck *c, uint64_t period_usec,
                                      store_progress_cb progress, void *userdata) {
        uint64_t start = clock_usec(CLOCK_MONOTONIC);
        uint64_t period = MAX(period_usec, (uint64_t) STORE_PROGRESS_MIN_USEC);
        pthread_t t;

        if (!progress || period > STORE_PROGRESS_MAX_USEC ||
            pthread_create(&t, NULL, sound_check_run, c) != 0) {
                sound_check_run(c);
                return;
        }
        for (;;) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                uint64_t ns = (uint64_t) until.tv_nsec + period * 1000;
                until.tv_sec += (time_t) (ns / 1000000000);
                until.tv_nsec = (long) (ns % 1000000000);
                int k = pthread_timedjoin_np(t, NULL, &until);
                if (k == 0)
                        return;
                if (k != ETIMEDOUT) {
                        (void) pthread_join(t, NULL);
                        return;
                }
                progress(userdata, clock_usec(CLOCK_MONOTONIC) - start);
        }
}

/* What a finished check says: 0 sound, -EUCLEAN damaged (last_error says how), or the error. */
static int sound_check_verdict(Store *s, sqlite3 *db, const SoundCheck *c) {
        int r = 0;

        if (c->rc == SQLITE_ROW) {
                if (strcmp(c->verdict, "ok") != 0) {
                        snprintf(s->last_error, sizeof(s->last_error), "damaged: %.200s",
                                 c->verdict);
                        r = -EUCLEAN;
                }
        } else {
                r = store_error(s, db, c->rc);
                if (r == -EBADMSG)
                        r = -EUCLEAN;
        }
        return r;
}

/* ---- the same check in the background ---- */

struct StoreBackgroundCheck {
        sqlite3 *db; /* read-only, the thread's until it is joined */
        SoundCheck check;
        pthread_t thread;
        bool started, joined;
        int fd[2]; /* [1] written by the thread when it is done */
};

static void *background_check_run(void *userdata) {
        struct StoreBackgroundCheck *b = userdata;

        sound_check_run(&b->check);
        (void) !write(b->fd[1], "", 1);
        return NULL;
}

static void background_check_free(struct StoreBackgroundCheck *b) {
        if (!b)
                return;
        if (b->started && !b->joined) {
                sqlite3_interrupt(b->db);
                (void) pthread_join(b->thread, NULL);
        }
        sqlite3_finalize(b->check.st);
        sqlite3_close(b->db);
        if (b->fd[0] >= 0)
                close(b->fd[0]);
        if (b->fd[1] >= 0)
                close(b->fd[1]);
        free(b);
}

int store_check_background_start(Store *s) {
        struct StoreBackgroundCheck *b;
        sigset_t all, saved;
        int rc, r;

        if (!s || s->background_check)
                return -EINVAL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->fd[0] = b->fd[1] = -1;
        s->background_check = b;
        if (pipe2(b->fd, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        rc = sqlite3_open_v2(s->path, &b->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_prepare_v2(b->db, "PRAGMA quick_check(1)", -1, &b->check.st, NULL);
        if (rc != SQLITE_OK)
                return b->db ? store_error(s, b->db, rc) : -ENOMEM;
        /* signals are the event loop's (signalfd): none for this thread */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = pthread_create(&b->thread, NULL, background_check_run, b);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r != 0)
                return -r;
        b->started = true;
        return b->fd[0];
}

int store_check_background_result(Store *s) {
        struct StoreBackgroundCheck *b = s ? s->background_check : NULL;
        char c;
        int r = 0;

        if (!b || !b->started)
                return -EINVAL;
        if (!b->joined) {
                if (read(b->fd[0], &c, 1) != 1)
                        return -EAGAIN;
                (void) pthread_join(b->thread, NULL);
                b->joined = true;
        }
        r = sound_check_verdict(s, b->db, &b->check);
        if (r == -EUCLEAN)
                s->damaged = true;
        return r;
}

static int store_check_sound(Store *s, uint64_t period_usec, store_progress_cb progress,
                             void *userdata) {
        SoundCheck c = {};
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &c.st, NULL);
        if (rc != SQLITE_OK) {
                r = store_error(s, s->db, rc);
                return r == -EBADMSG ? -EUCLEAN : r;
        }
        sound_check_with_progress(&c, period_usec, progress, userdata);
        r = sound_check_verdict(s, s->db, &c);
        sqlite3_finalize(c.st);
        return r;
}

int store_open(const char *path, Store **ret) {
        return store_open_with_progress(path, 0, NULL, NULL, NULL, 0, ret);
}

static const char *const check_mode_names[_STORE_CHECK_MODE_MAX] = {
        [STORE_CHECK_AUTO] = "auto",
        [STORE_CHECK_ALWAYS] = "always",
        [STORE_CHECK_NEVER] = "never",
};

const char *store_check_mode_to_string(StoreCheckMode m) {
        return m >= 0 && m < _STORE_CHECK_MODE_MAX ? check_mode_names[m] : NULL;
}

int store_check_mode_from_string(const char *s) {
        for (int i = 0; s && i < _STORE_CHECK_MODE_MAX; i++)
                if (strcmp(s, check_mode_names[i]) == 0)
                        return i;
        return -EINVAL;
}

const char *store_checked_to_string(StoreChecked c) {
        static const char *const names[_STORE_CHECKED_MAX] = {
                [STORE_CHECKED_NEW] = "new database",
                [STORE_CHECKED_UNCLEAN] = "checked: the last stop was not clean",
                [STORE_CHECKED_UNREADABLE] = "checked: its clean-stop mark could not be read",
                [STORE_CHECKED_REQUESTED] = "checked: requested (CheckDatabase=always)",
                [STORE_SKIPPED_CLEAN] = "not checked: the last stop was clean",
                [STORE_SKIPPED_NEVER] = "not checked: CheckDatabase=never",
        };
        return c >= 0 && c < _STORE_CHECKED_MAX ? names[c] : "?";
}

/* The clean-stop mark: 1 when the last close marked the stop clean, 0 when not, <0 when it
 * cannot be read (a damaged meta page, an I/O error). */
static int store_read_clean_mark(Store *s) {
        sqlite3_stmt *st = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'clean_stop'", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                return store_error(s, s->db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = sqlite3_column_int64(st, 0) == 1;
        else if (rc == SQLITE_DONE)
                r = 0;
        else
                r = store_error(s, s->db, rc);
        sqlite3_finalize(st);
        /* the file is not known damaged because the mark could not be read: the check says */
        s->damaged = false;
        return r;
}

/* Whether to read every page now, and why (StoreCheckMode). */
static StoreChecked store_decide_check(Store *s, StoreCheckMode mode, bool *ret_mark) {
        int clean;

        *ret_mark = false;
        if (mode == STORE_CHECK_NEVER)
                return STORE_SKIPPED_NEVER;
        clean = store_read_clean_mark(s);
        *ret_mark = clean > 0;
        if (mode == STORE_CHECK_ALWAYS)
                return STORE_CHECKED_REQUESTED;
        if (clean < 0)
                return STORE_CHECKED_UNREADABLE;
        return clean ? STORE_SKIPPED_CLEAN : STORE_CHECKED_UNCLEAN;
}

/* At the start of a run, before anything else is written: from here on a crash must not look
 * like a clean stop. synchronous = FULL for this one commit, so that it is on the disk before
 * the first batch can be. */
static int store_clear_clean_mark(Store *s) {
        int r;

        r = store_exec(s, s->db, "PRAGMA synchronous = FULL");
        if (r < 0)
                return r;
        return store_exec(s, s->db, "DELETE FROM meta WHERE key = 'clean_stop'");
}

/* SQLite counts every allocation it makes in global statistics, under a mutex, unless told not
 * to before its first use; nothing here reads them (no soft heap limit either), and a row's
 * insert makes about ten allocations: a tenth of the insert's instructions. Once per process,
 * before the first connection; if SQLite was used already the call is refused, harmlessly. */
static void store_configure_sqlite(void) {
        (void) sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int store_open_steps(Store *s, const char *path, StoreCheckMode mode, uint64_t period_usec,
                            store_progress_cb progress, void *userdata) {
        bool clean_mark = false;
        char sql[64];
        int rc, r;
        static pthread_once_t configured = PTHREAD_ONCE_INIT;

        (void) pthread_once(&configured, store_configure_sqlite);

        s->query_budget_usec = STORE_QUERY_BUDGET_USEC;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        r = check_magic(s, path);
        if (r < 0)
                return r;
        r = check_writable(s, path);
        if (r < 0)
                return r;
        r = store_writer_new(s);
        if (r < 0)
                return r;

        rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (rc != SQLITE_OK)
                return s->db ? store_error(s, s->db, rc) : -ENOMEM;
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

        /* Nothing is written before we know the file is ours, and sound. */
        r = store_check_owner(s);
        if (r < 0)
                return r;
        bool create = r > 0;
        s->checked = STORE_CHECKED_NEW;
        if (!create) {
                s->checked = store_decide_check(s, mode, &clean_mark);
                if (store_checked_ran(s->checked)) {
                        r = store_check_sound(s, period_usec, progress, userdata);
                        if (r < 0)
                                return r;
                }
        }

        if (create) {
                /* Before the first table. Pages that retention frees are reused by the next
                 * denials: the file stays at its largest size, which MaxSize= bounds (it counts
                 * the pages in use). auto_vacuum=INCREMENTAL gave them back to the file system,
                 * but its pointer map costs every page split: about 6 % of the instructions
                 * the kernel path spends per denial (docs/benchmarks.md). Stores created with it
                 * still give pages back (store-retention.c). */
                r = store_exec(s, s->db, "PRAGMA auto_vacuum = NONE");
                if (r < 0)
                        return r;
        }
        r = store_set_wal(s);
        if (r < 0)
                return r;
        if (clean_mark) {
                r = store_clear_clean_mark(s);
                if (r < 0)
                        return r;
        }
        r = store_exec(s, s->db, "PRAGMA synchronous = NORMAL");
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %d", STORE_JOURNAL_SIZE_LIMIT);
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        r = store_exec(s, s->db, "PRAGMA foreign_keys = OFF");
        if (r < 0)
                return r;
        r = store_exec(s, s->db, "PRAGMA temp_store = MEMORY");
        if (r < 0)
                return r;
        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", STORE_PAGE_CACHE_KIB);
        r = store_exec(s, s->db, sql);
        if (r < 0)
                return r;
        if (create) {
                r = store_create_schema(s);
                if (r < 0)
                        return r;
        }
        r = store_containers_migrate(s);
        if (r < 0)
                return r;
        r = store_migrate_triage(s);
        if (r < 0)
                return r;
        r = store_baseline_migrate(s);
        if (r < 0)
                return r;
        r = store_metrics_migrate(s);
        if (r < 0)
                return r;
        r = store_writer_prepare(s);
        if (r < 0)
                return r;
        r = store_checkpointer_start(s);
        if (r < 0)
                return r;
        r = store_containers_prepare(s);
        if (r < 0)
                return r;
        r = store_baseline_prepare(s);
        if (r < 0)
                return r;
        r = store_metrics_prepare(s);
        if (r < 0)
                return r;
        return store_open_reader(s);
}

int store_open_with_progress(const char *path, uint64_t period_usec, store_progress_cb progress,
                             void *userdata, char *error, size_t n_error, Store **ret) {
        return store_open_checked(path, STORE_CHECK_AUTO, period_usec, progress, userdata, error,
                                  n_error, NULL, ret);
}

int store_open_checked(const char *path, StoreCheckMode mode, uint64_t period_usec,
                       store_progress_cb progress, void *userdata, char *error, size_t n_error,
                       StoreChecked *ret_checked, Store **ret) {
        _cleanup_(store_freep) Store *s = NULL;
        int r;

        if (error && n_error > 0)
                error[0] = 0;
        if (!path || !ret || mode < 0 || mode >= _STORE_CHECK_MODE_MAX)
                return -EINVAL;
        s = calloc(1, sizeof(Store));
        if (!s)
                return -ENOMEM;
        r = store_open_steps(s, path, mode, period_usec, progress, userdata);
        if (ret_checked)
                *ret_checked = s->checked;
        if (r < 0) {
                if (error && n_error > 0)
                        snprintf(error, n_error, "%s", s->last_error);
                return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        if (s->db && s->w && s->containers) {
                (void) store_commit(s, NULL); /* the open batch and the queued candidates */
                /* A file SQLite found damaged is checked again at the next start. */
                if (!s->damaged && !s->files.gone && !store_in_batch(s))
                        (void) store_exec(s, s->db,
                                          "INSERT INTO meta(key, value) VALUES ('clean_stop', 1) "
                                          "ON CONFLICT(key) DO UPDATE SET value = 1");
        }
        background_check_free(s->background_check);
        store_checkpointer_stop(s);
        store_containers_free(s);
        store_baseline_free(s);
        store_metrics_free(s);
        store_writer_free(s);
        raw_decoder_free(s->decoder);
        sqlite3_close(s->ro);
        sqlite3_close(s->db);
        free(s->path);
        free(s);
        return NULL;
}

void store_set_query_budget(Store *s, uint64_t usec) {
        if (s)
                s->query_budget_usec = usec;
}

/* ---- counts ---- */

int store_counts(Store *s, StoreCounts *ret) {
        static const struct {
                const char *sql;
                size_t offset;
        } queries[] = {
                {"SELECT value FROM meta WHERE key = 'denials'", offsetof(StoreCounts, denials)},
                {"SELECT value FROM meta WHERE key = 'events'", offsetof(StoreCounts, events)},
                {"SELECT value FROM meta WHERE key = 'pruned'", offsetof(StoreCounts, pruned)},
                {"SELECT count(*) FROM signatures", offsetof(StoreCounts, signatures)},
                {"SELECT count(*) FROM containers", offsetof(StoreCounts, containers)},
        };
        StoreCounts c = {};
        int64_t v, page_count, page_size;
        _cleanup_(freep) char *wal = NULL;
        struct stat st;
        int r;

        if (!s || !ret)
                return -EINVAL;
        /* One read transaction, so that the numbers belong together. */
        r = store_exec(s, s->ro, "BEGIN");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(queries); i++) {
                r = store_sql_int64(s, s->ro, queries[i].sql, &v);
                if (r < 0)
                        goto finish;
                *(uint64_t *) ((char *) &c + queries[i].offset) = v > 0 ? (uint64_t) v : 0;
        }
        if (c.denials > 0) {
                r = store_sql_int64(s, s->ro, "SELECT min(id) FROM denials", &v);
                if (r < 0)
                        goto finish;
                c.oldest_ms = store_id_time(v);
                r = store_sql_int64(s, s->ro, "SELECT max(id) FROM denials", &v);
                if (r < 0)
                        goto finish;
                c.newest_ms = store_id_time(v);
        }
        r = store_sql_int64(s, s->ro, "PRAGMA page_count", &page_count);
        if (r < 0)
                goto finish;
        r = store_sql_int64(s, s->ro, "PRAGMA page_size", &page_size);
        if (r < 0)
                goto finish;
        c.db_bytes = (uint64_t) page_count * (uint64_t) page_size;
finish:
        (void) sqlite3_exec(s->ro, "COMMIT", NULL, NULL, NULL);
        if (r < 0)
                return r;

        if (asprintf(&wal, "%s-wal", s->path) < 0)
                return -ENOMEM;
        if (stat(wal, &st) >= 0)
                c.db_bytes += (uint64_t) st.st_size;
        *ret = c;
        return 0;
}

const char *store_last_error(const Store *s) {
        if (!s || !s->last_error[0])
                return "no error";
        return s->last_error;
}
