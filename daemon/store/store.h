/* SPDX-License-Identifier: MIT */
#pragma once

/* Store: the SQLite database of denials (docs/architecture.md "Store"; the schema is described at
 * the top of store.c). One writer connection in the daemon, WAL mode, inserts batched into
 * transactions; queries on a separate read connection, paged and bounded in time. Repeated
 * strings are interned, each event's raw text is kept compressed (raw-codec.h), and aggregate
 * tables (totals and hourly buckets per signature, container and MCS label) answer `top` and
 * histograms without reading denial rows. It also keeps the container registry's rows
 * (store_container_*). Opaque handle. Errors are negative errno, SQLite's mapped the same way
 * wherever they happen (-ENOSPC full, -EBADMSG damaged, -EIO I/O error, ...), with SQLite's
 * message in store_last_error(). */

#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "denial.h"
#include "filter.h"

typedef struct Store Store;

/* A denial's row id is time_ms * 2^STORE_SLOT_BITS + slot, so the times a store can hold are
 * bounded: |time_ms| < STORE_TIME_MAX (years 1831 .. 2109), which keeps every id within 63 bits.
 * The parsers refuse stamps beyond it as malformed (line-form.c): such a record cannot be
 * stored, and it is bad input, not a failure of the store. */
#define STORE_SLOT_BITS 20
#define STORE_TIME_MAX (INT64_C(1) << (62 - STORE_SLOT_BITS))

#define STORE_BATCH_ROWS 4096   /* live input: commit after this many pending rows ... */
#define STORE_BATCH_USEC 100000 /* ... or this long after the first pending row */
#define STORE_BATCH_ROWS_IMPORT                                                                    \
        32768 /* file input: nobody waits on a row, bigger batches                                 \
                halve the index work per row */
#define STORE_QUERY_LIMIT_MAX 10000

/* Opens (creating when missing) the database at path. Refuses a file that is not an SQLite
 * database or is one of another application (-EBADMSG), one that fails PRAGMA quick_check
 * (-EUCLEAN: damaged), a newer schema (-EPROTONOSUPPORT), or
 * an older one this version cannot convert (-EMEDIUMTYPE: schema 1 of avcwatch 0.1 kept events
 * uncompressed; move it aside and import the audit logs again). Nothing is written to a file
 * that is refused. */
int store_open(const char *path, Store **ret);
/* The same, calling progress(userdata, elapsed_usec) every period_usec or so while it checks an
 * existing file (PRAGMA quick_check reads every page: about 5 s per GB here when the pages are in
 * the page cache, 25 s per GB when they are not), so that a service manager can be told that
 * start-up goes on (EXTEND_TIMEOUT_USEC). */
typedef void (*store_progress_cb)(void *userdata, uint64_t elapsed_usec);
#define STORE_PROGRESS_USEC (1000 * 1000)
/* On failure, error (size n_error; may be NULL) says why in words that name the file and the real
 * cause ("cannot create files in the directory '/var/lib/avcwatch' (...): Read-only file
 * system"), or SQLite's message; empty when there is nothing to add to the errno. */
#define STORE_OPEN_ERROR_MAX 512
/* The part of store_open()'s checks that needs no file of its own: the directory of path exists
 * and this process may create files in it. The message into error (size n_error; may be NULL),
 * as store_open_with_progress() gives it. */
int store_check_directory(const char *path, char *error, size_t n_error);
int store_open_with_progress(const char *path, uint64_t period_usec, store_progress_cb progress,
                             void *userdata, char *error, size_t n_error, Store **ret);

/* When store_open reads every page (PRAGMA quick_check) before writing. SQLite's WAL keeps the
 * file consistent through a crash by itself (a commit is whole or absent); what the check finds
 * is damage from outside SQLite (disk, file system, another program writing the file, a disk
 * that lies about fsync at a power loss). A clean stop leaves a mark in meta ('clean_stop'),
 * cleared at the next open before anything else is written; AUTO checks when the mark is
 * missing (a kill -9, a crash, a power loss) or cannot be read, ALWAYS every time ([Daemon]
 * CheckDatabase=always, avcwatchd --check-db), NEVER never. */
typedef enum StoreCheckMode {
        STORE_CHECK_AUTO,
        STORE_CHECK_ALWAYS,
        STORE_CHECK_NEVER,
        _STORE_CHECK_MODE_MAX,
} StoreCheckMode;
const char *store_check_mode_to_string(StoreCheckMode m);
int store_check_mode_from_string(const char *s); /* -EINVAL when unknown */

/* What store_open did about the check, for the log. */
typedef enum StoreChecked {
        STORE_CHECKED_NEW,        /* a new file: nothing to check */
        STORE_CHECKED_UNCLEAN,    /* checked: the last stop left no clean-stop mark */
        STORE_CHECKED_UNREADABLE, /* checked: the mark could not be read */
        STORE_CHECKED_REQUESTED,  /* checked: CheckDatabase=always / --check-db */
        STORE_SKIPPED_CLEAN,      /* not checked: the last stop was clean */
        STORE_SKIPPED_NEVER,      /* not checked: CheckDatabase=never */
        _STORE_CHECKED_MAX,
} StoreChecked;
const char *store_checked_to_string(StoreChecked c); /* "not checked: the last stop was clean" */
static inline bool store_checked_ran(StoreChecked c) {
        return c == STORE_CHECKED_UNCLEAN || c == STORE_CHECKED_UNREADABLE ||
               c == STORE_CHECKED_REQUESTED;
}
/* After an open that did not check (a clean stop before): the same check, on a read-only
 * connection and a thread of its own while the daemon writes. Returns a file descriptor that
 * becomes readable when it is done (owned by the store), then store_check_background_result()
 * says: 0 sound, -EUCLEAN damaged (store_last_error() says how; the store is then marked so that
 * its close leaves no clean-stop mark), another errno when it could not check, -EAGAIN while it
 * runs. store_free() interrupts a check that still runs. */
int store_check_background_start(Store *s);
int store_check_background_result(Store *s);

/* store_open_with_progress() with a check mode; *ret_checked (may be NULL) says what was done,
 * also when the open fails. */
int store_open_checked(const char *path, StoreCheckMode mode, uint64_t period_usec,
                       store_progress_cb progress, void *userdata, char *error, size_t n_error,
                       StoreChecked *ret_checked, Store **ret);
/* Commits what is pending first; then, unless SQLite reported the file damaged or it is gone,
 * marks the stop clean (meta 'clean_stop'), so that the next open need not check every page. */
Store *store_free(Store *s);

/* Queues a denial for the current batch (opening one when needed). A denial with the same
 * (node, time, serial, seq) as a stored one is ignored (returns 0; 1 when added); store_commit
 * reports how many. -ERANGE for a time beyond +-STORE_TIME_MAX ms (year 1831 .. 2109), -E2BIG
 * when its millisecond is too crowded to find a slot (STORE_PROBE_MAX) or its raw text too long. */
int store_add(Store *s, const Denial *d);
/* Optional, before store_add(d) (the pipeline calls it before attributing d): has the CPU fetch
 * the cache slots where d's strings that differ from the last denial's will be looked up. On a
 * busy host each names a file, a path, a process of its own: a lookup in a table of up to
 * 65,536 strings that, by the next denial, the rest of the work has pushed out of the CPU's
 * caches. No effect on what is stored. */
void store_prefetch(Store *s, const Denial *d);
size_t store_pending(const Store *s);
/* The denials the pending rows stand for (a storm's summary row stands for Denial.count). */
uint64_t store_pending_denials(const Store *s);
/* Of the denials committed since the last call, how many had no row of their own (the sum of
 * count - 1 over the rows committed). */
uint64_t store_take_committed_folded(Store *s);
/* The raw codec's dictionaries for an encoder of another thread (raw-codec.h), which packs
 * each denial's raw text before store_add() (Denial.raw_packed) so that the writer's thread does
 * not. The newest stored dictionary, for such an encoder to begin with: *ret_id 0 (and *ret NULL)
 * when there is none, else *ret malloc'd. */
int store_raw_dictionary(Store *s, int64_t *ret_id, void **ret, size_t *ret_len);
/* Stores a dictionary trained by such an encoder in a transaction of its own, so that it is
 * committed before any row packed with it can be: its id in *ret_id, for the encoder to use from
 * then on. -EBUSY while a batch is open (commit it first). A packed row whose dictionary the store
 * does not hold is packed again from its raw text; a row that arrives unpacked is packed with the
 * dictionary stored last, this one once it is stored. */
int store_add_raw_dictionary(Store *s, const void *dict, size_t len, int64_t *ret_id);

/* Commits the current batch. Returns the number of rows newly stored (>= 0) and adds the
 * number of ignored duplicates to *ret_duplicates (may be NULL). On failure the batch is rolled
 * back and lost; returns negative errno. */
int store_commit(Store *s, uint64_t *ret_duplicates);
/* When a store_add() fails, SQLite may have rolled the whole open batch back (full disk, I/O
 * error): the rows added to it before are lost too. Returns how many denials they stood for,
 * since the last call. */
uint64_t store_take_lost(Store *s);

/* Baseline (store-baseline.c, docs/fleet.md "New denials"): the signatures each image (its
 * repository; else the namespace, the container: signature.h) has shown, each new until
 * accepted. The pipeline notes every live denial it stores; imports do not (history is not
 * news). In memory, bounded by STORE_BASELINE_MAX (signature, key) pairs; written with the
 * batch. */
#define STORE_BASELINE_MAX 65536
#define STORE_BASELINE_LIST_MAX 10000
/* Notes d, added to the open batch by store_add(), in its baseline: 1 when its signature was
 * never seen there before (a new denial), 0 when it was. -ENOSPC when the set is full and does
 * not hold it (not judged, not added), -ENODATA when d has no signature, another negative errno
 * when the baseline could not be read. */
int store_baseline_note(Store *s, const Denial *d);
/* How many signatures first noted in batches committed since the last call. */
uint64_t store_take_committed_new(Store *s);
/* Accepts every new signature (of the image's baseline only, when image is not NULL: any
 * spelling, tag or digest of its repository) at now_ms: they are no longer listed as new. Inside
 * the open batch when there is one (written with it), else at once. *ret_accepted: how many. */
int store_baseline_accept(Store *s, const char *image, int64_t now_ms, uint64_t *ret_accepted);
typedef struct StoreBaselineRow {
        int scope;                   /* BaselineScope */
        const char *key, *signature; /* borrowed */
        int64_t first_ms, last_ms;
        int64_t accepted_ms; /* 0: new */
        uint64_t count;      /* live denials since the entry was made (seeded: all stored) */
} StoreBaselineRow;
typedef int (*store_baseline_cb)(const StoreBaselineRow *row, void *userdata);
/* The entries (of image's baseline, or all; only the new ones when new_only), the most
 * recently first seen first, at most limit (0 or more than STORE_BASELINE_LIST_MAX: that);
 * *ret_more (may be NULL) says whether some were left out. cb stops the walk with != 0. */
int store_baseline_list(Store *s, const char *image, bool new_only, unsigned limit,
                        store_baseline_cb cb, void *userdata, bool *ret_more);
/* Entries in memory (0 before the first live denial). */
size_t store_baseline_size(const Store *s);

/* Metrics (store-metrics.c): counts `top` does not keep. By triage: every denial counted (as
 * the totals: kept across retention) per (verdict, reason), NULL strings for those not triaged;
 * their sum is the total of the denials. By namespace: the top limit namespaces of the pods of
 * the attributed containers, by count, highest first. cb stops the walk with != 0. */
typedef int (*store_triage_count_cb)(const char *verdict, const char *reason, uint64_t count,
                                     void *userdata);
int store_triage_counts(Store *s, store_triage_count_cb cb, void *userdata);
/* all: the denials of every namespace, also those beyond the limit. */
typedef int (*store_namespace_count_cb)(const char *name, uint64_t count, uint64_t all,
                                        void *userdata);
int store_namespace_counts(Store *s, unsigned limit, store_namespace_count_cb cb, void *userdata);

/* Query: denials matching f, ordered by id (= by time), ascending unless reverse. Keyset
 * pagination: after (NULL at first) is the cursor; rows with a greater id are returned (smaller
 * when reverse). Calls cb for each row; cb may refuse a row and stop the query by returning a
 * positive value (returned by store_query; the cursor then points before that row, so the next
 * call starts with it), or fail with a negative one. At most `limit` rows (clamped to
 * STORE_QUERY_LIMIT_MAX; 0 = the maximum).
 *
 * A call also stops after the store's query budget of CPU time (store_set_query_budget(),
 * default STORE_QUERY_BUDGET_USEC) so that a filter no index serves cannot hold the daemon's
 * loop: the page is then short. Whenever the page may not be the last one (limit reached, budget
 * spent, cb stopped it), *ret_more is set and *ret_next is the cursor for the next call: the id
 * of the last row delivered, or the position the scan reached (which need not be a row).
 * The denial cb gets, strings included, is valid during the call only. */
typedef int (*store_row_cb)(const Denial *d, void *userdata);
typedef struct StorePage {
        bool more;
        int64_t next;
} StorePage;
int store_query(Store *s, const DenialFilter *f, bool reverse, const int64_t *after, unsigned limit,
                store_row_cb cb, void *userdata, StorePage *ret_page);
/* What store_query_flags() may leave out of the rows it hands over. */
typedef enum StoreQueryFlags {
        /* No raw text (d->raw NULL): neither read nor decompressed, for answers that do not
         * print it. */
        STORE_QUERY_NO_RAW = 1 << 0,
        /* Only what the denial's JSON carries (denial_write_json()): ppid, uid, syscall, node,
         * cwd and proctitle are neither read nor looked up (-1 and NULL), for answers that are
         * that JSON. */
        STORE_QUERY_JSON_FIELDS = 1 << 1,
} StoreQueryFlags;
/* store_query() with flags (store_query() is this with none). */
int store_query_flags(Store *s, const DenialFilter *f, bool reverse, const int64_t *after,
                      unsigned limit, StoreQueryFlags flags, store_row_cb cb, void *userdata,
                      StorePage *ret_page);

/* Whether the registry holds a container of that name, now or before a rename (then a
 * --container value that also looks like an id prefix is the name only): 1, 0, or a negative
 * errno. A query by --container NAME finds the containers that have that name and those that had
 * it before a rename (at most STORE_OLD_NAMES_MAX old names are kept per container). */
#define STORE_OLD_NAMES_MAX 64
int store_container_name_known(Store *s, const char *name);

/* A filter value no container the registry ever saw can match (store-names.c). */
#define STORE_UNKNOWN_CLOSEST_MAX 3
typedef struct StoreUnknown {
        const char *field; /* "container", "target_container", "image", "pod", "namespace" */
        const char *value; /* points into the filter */
        char *closest[STORE_UNKNOWN_CLOSEST_MAX]; /* the known values closest to it, closest first
                                                   */
        size_t n_closest;
} StoreUnknown;
void store_unknown_done(StoreUnknown *u);
/* 1 and *ret filled when a --container, --target-container, --image or --pod value matches no
 * container of the registry's tables, 0 when every one does, or a negative errno. */
int store_filter_unknown(Store *s, const DenialFilter *f, StoreUnknown *ret);

#define STORE_QUERY_BUDGET_USEC (100 * 1000)
void store_set_query_budget(Store *s, uint64_t usec);

/* Rankings from the aggregate tables (never from denial rows, except for the partial hours at
 * the ends of a --since/--until range, and when the filter names a comm or path, which only
 * rows have). Rows are grouped by:
 *   STORE_TOP_SIGNATURE  result, source type, target type, class, permissions, image
 *   STORE_TOP_CONTAINER  container (unattributed denials: per MCS label)
 *   STORE_TOP_IMAGE      the container's image
 *   STORE_TOP_TCLASS     class
 *   STORE_TOP_VERDICT    triage verdict ("none": untriaged)  } from denial rows only (the
 *   STORE_TOP_REASON     triage reason ("none": untriaged)   } aggregates have no triage)
 * ordered by count (highest first), at most limit rows (0: STORE_TOP_DEFAULT, clamped to
 * STORE_TOP_MAX). new_only keeps the groups first seen (ever, under the same filter but time)
 * at or after f->since_ms. Strings in a row are NULL when unknown or not part of the grouping.
 * A scan of denial rows that would exceed STORE_SCAN_BUDGET_USEC of CPU is abandoned: -ETIME. */
typedef enum StoreTopBy {
        STORE_TOP_SIGNATURE,
        STORE_TOP_CONTAINER,
        STORE_TOP_IMAGE,
        STORE_TOP_TCLASS,
        STORE_TOP_VERDICT,
        STORE_TOP_REASON,
        STORE_TOP_POD,       /* Kubernetes: namespace and pod of the attributed container */
        STORE_TOP_NAMESPACE, /* Kubernetes: the pod's namespace */
        _STORE_TOP_BY_MAX,
} StoreTopBy;

#define STORE_TOP_DEFAULT 20
#define STORE_TOP_MAX 1000
#define STORE_SCAN_BUDGET_USEC (1000 * 1000)

typedef struct StoreTopRow {
        const char *result, *source_type, *target_type, *tclass, *permissions, *image;
        bool has_container;
        ContainerRef container;          /* borrowed strings; image as above */
        const char *mcs;                 /* STORE_TOP_CONTAINER, unattributed: the MCS label */
        const char *verdict, *reason;    /* STORE_TOP_VERDICT / _REASON: a name or "none" */
        const char *pod, *pod_namespace; /* STORE_TOP_POD, STORE_TOP_NAMESPACE (NULL: none) */
        uint64_t count;
        int64_t first_ms, last_ms;
        uint64_t containers; /* distinct attributed containers */
        uint64_t signatures; /* distinct signatures (without image) */
} StoreTopRow;

typedef int (*store_top_cb)(const StoreTopRow *row, void *userdata);
int store_top(Store *s, const DenialFilter *f, StoreTopBy by, bool new_only, unsigned limit,
              store_top_cb cb, void *userdata);
const char *store_top_by_to_string(StoreTopBy by);
int store_top_by_from_string(const char *s); /* -EINVAL when unknown */

/* Counts per time bin: bins of interval_ms, aligned to multiples of it since the epoch (UTC),
 * from the hourly aggregates when interval_ms is a whole number of hours and the filter names no
 * comm or path, else from the denial rows (bounded like store_top: -ETIME). Only bins with
 * denials are reported, oldest first; more than STORE_HISTOGRAM_BINS_MAX of them: -E2BIG. */
#define STORE_HISTOGRAM_BINS_MAX 10000
typedef int (*store_histogram_cb)(int64_t start_ms, uint64_t count, void *userdata);
int store_histogram(Store *s, const DenialFilter *f, int64_t interval_ms, store_histogram_cb cb,
                    void *userdata);
/* The same with bins aligned in a clock offset_ms east of UTC (|offset_ms| < 1 day): bins of a
 * day start at that clock's midnight. The hourly aggregates serve when offset_ms is a whole
 * number of hours too. */
int store_histogram_offset(Store *s, const DenialFilter *f, int64_t interval_ms, int64_t offset_ms,
                           store_histogram_cb cb, void *userdata);

/* Retention: removes the oldest denials, whole milliseconds at a time and at most about max_rows
 * per call (the daemon calls it again and again from its loop, so that ingest never waits long):
 * those older than now_ms - max_age_ms (when max_age_ms > 0), and, while the database's pages in
 * use take more than max_bytes (when > 0; the WAL, reset at each checkpoint, comes on top, up to
 * 64 MiB), the oldest whatever their age. Freed pages go back to
 * the file system (incremental vacuum). The aggregates keep their counts: top and histograms
 * still count what was pruned. Runs inside the open batch when there is one, else in its own
 * transaction. Returns the number of denials removed; *ret_more: call again soon. */
#define STORE_PRUNE_ROWS 4096 /* at most, per call; the daemon adapts it between these */
#define STORE_PRUNE_ROWS_MIN 64
#define STORE_PRUNE_VACUUM_PAGES 256
int store_prune(Store *s, int64_t now_ms, int64_t max_age_ms, uint64_t max_bytes, unsigned max_rows,
                bool *ret_more);

/* Whether a denial of time_ms would be pruned at once (older than now_ms - max_age_ms). */
bool store_is_expired(int64_t time_ms, int64_t now_ms, int64_t max_age_ms);

typedef struct StoreCounts {
        uint64_t denials, events, signatures, containers;
        uint64_t pruned; /* denials removed by retention (their totals stay) */
        uint64_t db_bytes;
        int64_t oldest_ms, newest_ms; /* 0 when empty */
} StoreCounts;
int store_counts(Store *s, StoreCounts *ret);

const char *store_last_error(const Store *s);

/* Whether the database file and its -wal are still those opened (device, inode). SQLite keeps
 * its files open: one deleted or replaced under the daemon would go on taking commits into an
 * inode nobody opens again. When either is gone, the open batch is rolled back (its
 * store_pending_denials() are lost: the caller counts them; store_commit() checks first and
 * fails), what a lost -wal held is saved into the database file when that is still ours, and
 * every later write is refused: -ESTALE, with store_last_error() saying which file. 0: fine. */
int store_check_files(Store *s);

/* ---- the gap backfill's positions (store-position.c; daemon/ingest/backfill.c) ----
 *
 * Where a restart's backfill starts must not depend on imported data (a log from a host with a
 * wrong clock, dated 2100, would make it read nothing): the store keeps what this daemon itself
 * saw live. store_note_live() marks the open batch as holding a denial of the live netlink input
 * at time_ms; the newest such time is written with the batch's commit, in its transaction, so it
 * never runs ahead of what is stored. A backfill that starts records where it starts, and clears
 * it when done: one cut short by a restart is started again from there. */
typedef struct StorePosition {
        int64_t live_ms;          /* newest live denial committed; 0: none yet (older database) */
        int64_t backfill_from_ms; /* a backfill that did not finish started here; 0: none */
} StorePosition;
void store_note_live(Store *s, int64_t time_ms);
int store_position(Store *s, StorePosition *ret);
/* A backfill of the records after since_ms starts; it ended, every record up to until_ms (when
 * the netlink socket was bound) stored: the live position moves there. Inside the open batch
 * when there is one (committed with it), else committed at once. */
int store_backfill_begin(Store *s, int64_t since_ms);
int store_backfill_end(Store *s, int64_t until_ms);
/* The newest stored denial older than before_ms (0: none), and how many are at or after it. */
int store_newest_before(Store *s, int64_t before_ms, int64_t *ret_newest_ms, uint64_t *ret_after);

/* A write the caller did not make through store_add/store_commit/store_prune failed: one of the
 * container registry's (store_container_*, below; the registry writes from engine events, the
 * /proc scan and attribution, where nobody handles a store failure). Returns its negative errno
 * once (0: none since the last call), so that it reaches the same failing state as a failed
 * batch; the rows of the open batch it took with it are counted by store_take_lost(). */
int store_take_failure(Store *s);

/* ---- the container registry's tables (store-containers.c; daemon/attribution/registry.c) ----
 *
 * The registry keeps its containers in memory and asks the store to keep them: a container's
 * row (containers, with the registry's columns), the candidates of ambiguous denials
 * (denial_candidates), and the re-attribution of stored denials when a container appears or
 * changes. Rows are containers.id (> 0). Every write runs inside the open batch when there is
 * one. Errors are negative errno as everywhere in the store (-ENOSPC, -EBADMSG, ...); a failed
 * write is also kept for store_take_failure(). */

/* One update of the registry (a row and the denials it re-attributes) is a SAVEPOINT: inside the
 * open batch it joins it, outside it is one transaction instead of one per statement. end
 * releases it when r >= 0, else rolls it back; returns r, or the release's error. */
int store_container_begin(Store *s);
int store_container_end(Store *s, int r);

/* Writes every column of c's row (NULL, 0 and CONTAINER_STATE_UNKNOWN are stored as NULL),
 * creating it when missing; *ret_row: its containers.id (asked every time: a rolled-back batch
 * may have taken a row the caller knew). */
int store_container_save(Store *s, const ContainerInfo *c, int64_t *ret_row);

/* The stored containers, newest first (by started, else created time), at most max: cb gets each
 * row and takes c (strings owned by it, to be released with container_info_done() when not
 * kept); a negative return stops the load and is returned. Rows without a container id are
 * left out. */
typedef int (*store_container_load_cb)(int64_t row, ContainerInfo *c, void *userdata);
int store_container_load_all(Store *s, size_t max, store_container_load_cb cb, void *userdata);

/* The rows an ambiguous denial (time_ms, serial, seq) may have come from: queued, written with
 * the open batch (at store_commit), so that attribution does no SQL per denial. At most
 * DENIAL_CANDIDATES_MAX rows; rows <= 0 are left out. */
int store_container_queue_candidates(Store *s, int64_t time_ms, uint64_t serial, unsigned seq,
                                     const int64_t *rows, size_t n);

/* What the registry says now about one stored denial: the container (row, 0 none), how it was
 * attributed (ATTRIBUTION_NONE, _MCS, _AMBIGUOUS, _POD or _NAMESPACE), and for the last three its
 * candidates. */
typedef struct StoreReattribution {
        Attribution attribution;
        int64_t container;
        int64_t candidates[DENIAL_CANDIDATES_MAX];
        size_t n_candidates;
} StoreReattribution;
typedef int (*store_reattribute_cb)(int64_t time_ms, StoreReattribution *ret, void *userdata);
/* Re-attribution after the fact: the stored denials of [begin_ms, end_ms) (ms; end_ms may be
 * INT64_MAX) whose categories are mcs and which were not attributed by pid (none, mcs,
 * ambiguous), newest first, at most max_rows: cb says what each is now; those that changed (and
 * every ambiguous one) get their container, attribution and candidates rewritten. */
int store_container_reattribute(Store *s, const McsSet *mcs, int64_t begin_ms, int64_t end_ms,
                                size_t max_rows, store_reattribute_cb cb, void *userdata);
/* The same for the target side: the stored denials whose target's categories are mcs; cb gets
 * a denial's time and its container (row, 0 none) and returns the target's row (0 none). */
typedef int64_t (*store_retarget_cb)(int64_t time_ms, int64_t container, void *userdata);
int store_container_retarget(Store *s, const McsSet *mcs, int64_t begin_ms, int64_t end_ms,
                             size_t max_rows, store_retarget_cb cb, void *userdata);

/* For the Containers reply: the denials attributed to row and the ambiguous ones it is a
 * candidate for (as the writer sees them, the open batch included); 0 for row 0. */
int store_container_counts(Store *s, int64_t row, uint64_t *ret_denials, uint64_t *ret_ambiguous);

/* ---- the triage pass (store-triage.c) ---- */

/* Gives the denials stored before triage existed (reason NULL; a row triaged without a policy
 * holds -1 and is left alone) their reason, verdict and booleans: reads at most `rows` rows from
 * where the last step stopped (a marker in meta, so a restart goes on from there), for at most
 * max_usec (at least one row), calling triage() with each untriaged one (a Denial with id, time,
 * permissions, tclass, source/target type and context, mcs, target_mcs), which fills its
 * triaged, reason, verdict and booleans; stores them (triaged false: -1, not asked again). One
 * transaction (inside the open batch when there is one). */
typedef int (*store_triage_func)(Denial *d, void *userdata);
typedef struct StoreTriageStep {
        unsigned read;         /* rows read */
        unsigned triaged;      /* given a reason */
        unsigned untriageable; /* triage had no answer: marked -1 */
        bool more;             /* rows are left after it */
} StoreTriageStep;
int store_triage_step(Store *s, unsigned rows, uint64_t max_usec, store_triage_func triage,
                      void *userdata, StoreTriageStep *ret);

/* Where the pass is: started (until_ms: the time of the last row it read), done (it reached the
 * end once; rows stored since are triaged on the way in), triaged (rows given a reason, all
 * runs). */
typedef struct StoreTriageProgress {
        bool started, done;
        int64_t until_ms;
        uint64_t triaged;
} StoreTriageProgress;
int store_triage_progress(Store *s, StoreTriageProgress *ret);
