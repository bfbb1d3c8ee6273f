/* SPDX-License-Identifier: MIT */
/* Manager: the daemon's event loop and the wiring between the stages.
 *
 *   source --line--> record parser --Record--> assembler --Denial--> scope filter
 *          --> attributor --> store (batched) --after commit--> tail subscribers
 *
 * Decisions:
 * - One thread, one sd-event loop. Sources drain in bounded batches, so a flood of records
 *   cannot starve the API server; SQLite writes are batched (STORE_BATCH_ROWS rows or
 *   STORE_BATCH_USEC) so that one fsync covers hundreds of denials.
 * - Tail subscribers see a denial once it is committed: what `tail -f` shows is exactly what a
 *   later `query` returns.
 * - A single one-shot "tick" timer runs only while something is pending (an event in the
 *   assembler or rows in the batch), so an idle daemon does not wake up.
 * - Nothing is dropped silently: every way to lose a record has a counter in Stats.
 * - A service manager's citizen (docs/systemd.md): sockets may be handed over (the API socket,
 *   the audit netlink socket); READY=1 once both are live and the store is open; STATUS= with
 *   the counters; RELOADING=1 / STOPPING=1; the watchdog is sd-event's. Every capability is
 *   dropped once start-up is done (privileges.h).
 * - Journal forwarding ([Journal] ForwardDenials=) sends each committed denial as one entry,
 *   never blocking: the writer queues what journald cannot take at once, within bounds, and
 *   counts what it drops (journal.h). */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "attributor.h"
#include "backfill.h"
#include "coalescer.h"
#include "denial-json.h"
#include "engine.h"
#include "proc-scan.h"
#include "log.h"
#include "importer.h"
#include "ingest.h"
#include "macro.h"
#include "journal.h"
#include "manager.h"
#include "privileges.h"
#include "registry.h"
#include "server.h"
#include "source.h"
#include "stats.h"
#include "status.h"
#include "store.h"

#define TICK_USEC (50 * 1000)
#define RETENTION_FIRST_USEC (2 * 1000 * 1000)     /* after start-up or a reload */
#define RETENTION_BUSY_USEC (20 * 1000)            /* between two steps while pruning */
#define RETENTION_STEP_USEC (10 * 1000)            /* what one step is meant to take */
#define STORE_CHECK_EXTEND_USEC (30 * 1000 * 1000) /* asked of the service manager per progress */
#define RETENTION_INTERVAL_USEC (60 * 1000 * 1000) /* checks when there was nothing to do */
#define PENDING_DENIALS_MAX (STORE_BATCH_ROWS * 2)
/* At exit, how long journald may take to accept what is still queued. */
#define JOURNAL_EXIT_FLUSH_USEC (2ULL * 1000000)

struct Manager {
        Config config;
        char *config_path;
        char *override_database, *override_socket, *override_input; /* from the command line */
        sd_event *event;
        Ingest *ingest;  /* the input's lines -> denials -> the sink */
        DenialSink sink; /* where every ingest hands its denials: filter, attribute, store */
        Attributor *attributor;
        Registry *registry;
        Engine *engines[STATS_ENGINES_MAX];
        ProcScan *proc_scan;
        Store *store;
        Server *server;
        Source *source;
        Backfill *backfill; /* the downtime's records from auditd's log, at start-up */
        Ingest *backfill_ingest;
        Coalescer *coalescer;        /* live storms of identical denials folded, counted exactly */
        Stats backfill_source_stats; /* the backfill's file sources' own counters */
        StatusNotifier *status;
        char api_path[sizeof(((struct sockaddr_un *) NULL)->sun_path) + 1]; /* what we serve */
        JournalWriter *journal; /* NULL unless [Journal] ForwardDenials=yes */
        Stats stats;
        sd_event_source *tick;
        sd_event_source *loss_timer; /* closes the loss window once it is quiet */
        sd_event_source *retention;  /* [Retention]: the next pruning step */
        unsigned retention_rows;     /* per step, adapted so that a step takes about its target */
        uint64_t retention_removed, retention_steps, retention_longest_usec; /* this run */
        sd_event_source *sigterm, *sigint, *sighup;
        Denial *pending; /* stored in the open batch, broadcast after commit */
        size_t n_pending;
        uint64_t batch_started_usec;
        int64_t batch_started_ms;           /* wall clock: the loss window of a batch that fails */
        uint64_t store_unstored_at_failure; /* denials_unstored when the store started failing */
        bool store_damaged;                 /* SQLite said the file is corrupt: no more writes */
        bool live; /* netlink or stdin: clock deadlines and pid attribution */
        bool exit_on_eof;
};

/* store_open() reads every page of an existing database before writing to it (a damaged file is
 * refused, not written over): on a store of many GB that takes minutes when the pages are not
 * cached. The service manager hears that start-up goes on, so that TimeoutStartSec= does not
 * kill a daemon that is only checking (Type=notify, EXTEND_TIMEOUT_USEC=). */
static void on_store_check_progress(void *userdata, uint64_t elapsed_usec) {
        Manager *m = userdata;

        if (elapsed_usec < 2 * STORE_PROGRESS_USEC)
                log_info("Checking the database '%s' before writing to it (every page: a large "
                         "store takes a while).",
                         m->config.database);
        (void) sd_notifyf(false,
                          "EXTEND_TIMEOUT_USEC=%" PRIu64 "\nSTATUS=Checking the database (%" PRIu64
                          " s so far).",
                          (uint64_t) STORE_CHECK_EXTEND_USEC, elapsed_usec / 1000000);
}

/* A write to the store failed and took rows denials with it: counted and put in a loss window;
 * the first failure of a run of them is logged, with SQLite's reason. */
static void manager_store_failed(Manager *m, int r, uint64_t rows, int64_t since_ms) {
        const char *why = store_last_error(m->store);
        char detail[STATS_STORE_ERROR_MAX];

        m->stats.store_errors++;
        if (m->store_damaged)
                snprintf(detail, sizeof(detail), "the database is damaged; not writing to it");
        else
                snprintf(detail, sizeof(detail), "%s", why && why[0] ? why : strerror(-r));
        if (r == -EBADMSG && !m->store_damaged) {
                /* SQLite found the file corrupt: writing on would spread the damage. */
                m->store_damaged = true;
                log_error("The store '%s' is damaged (%s): no more writes to it. Reading and "
                          "counting go on; move the file aside and restart avcwatchd.",
                          m->config.database, detail);
        }
        if (!m->stats.store_failing) {
                m->stats.store_failing = true;
                m->stats.store_failing_since_ms = now_realtime_ms();
                m->store_unstored_at_failure = m->stats.denials_unstored;
                log_error("Failed to write to the store '%s': %s. Reading and counting go on; "
                          "writes are retried with every batch.",
                          m->config.database, detail);
        }
        memcpy(m->stats.store_error, detail, sizeof(detail));
        if (rows > 0)
                stats_add_loss(&m->stats, LOSS_UNSTORED, rows, since_ms, now_realtime_ms(),
                               now_monotonic_usec(), detail);
}

static void manager_store_ok(Manager *m) {
        if (!m->stats.store_failing)
                return;
        log_notice("The store '%s' takes writes again, after %.1f s; %" PRIu64
                   " denials could not be stored meanwhile.",
                   m->config.database,
                   (double) (now_realtime_ms() - m->stats.store_failing_since_ms) / 1000.0,
                   m->stats.denials_unstored - m->store_unstored_at_failure);
        m->stats.store_failing = false;
        m->stats.store_error[0] = 0;
}

static void drop_pending(Manager *m) {
        for (size_t i = 0; i < m->n_pending; i++)
                denial_done(&m->pending[i]);
        m->n_pending = 0;
}

/* [Journal] ForwardDenials= at start-up and on reload. */
static int manager_set_journal_forwarding(Manager *m, bool on) {
        int r;

        if (!on) {
                /* what journald has not taken yet is counted as failed, not waited for */
                journal_writer_flush(m->journal, 0);
                m->journal = journal_writer_free(m->journal);
                return 0;
        }
        if (m->journal)
                return 0;
        r = journal_writer_new(NULL, &m->journal);
        if (r >= 0)
                r = journal_writer_attach_event(m->journal, m->event, &m->stats);
        if (r < 0) {
                m->journal = journal_writer_free(m->journal);
                return log_error_errno(r, "Failed to set up journal forwarding: %m");
        }
        return 0;
}

static int manager_commit(Manager *m) {
        uint64_t duplicates = 0;
        int r;

        if (store_pending(m->store) == 0 && m->n_pending == 0)
                return 0;
        size_t rows = store_pending(m->store);
        uint64_t denials = store_pending_denials(m->store);
        r = store_commit(m->store, &duplicates);
        if (r < 0) {
                manager_store_failed(m, r, denials, m->batch_started_ms);
                drop_pending(m);
                return r;
        }
        if (rows > 0)
                manager_store_ok(m);
        m->stats.denials_stored += r;
        m->stats.denials_coalesced += store_take_committed_folded(m->store);
        m->stats.denials_duplicate += duplicates;
        for (size_t i = 0; i < m->n_pending; i++) {
                if (m->stats.tail_subscribers > 0)
                        server_broadcast(m->server, &m->pending[i]);
                if (m->journal)
                        (void) journal_writer_submit_denial(m->journal, &m->pending[i]);
        }
        drop_pending(m);
        return 0;
}

static void manager_arm_tick(Manager *m) {
        int enabled = SD_EVENT_OFF;

        sd_event_source_get_enabled(m->tick, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        sd_event_source_set_time_relative(m->tick, TICK_USEC);
        sd_event_source_set_enabled(m->tick, SD_EVENT_ONESHOT);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t now = now_monotonic_usec();

        if (m->live) /* storms that stopped: their last summaries */
                (void) coalescer_expire(m->coalescer, now_realtime_ms());
        if (store_pending(m->store) > 0 && now - m->batch_started_usec >= STORE_BATCH_USEC)
                (void) manager_commit(m);
        if ((m->live && coalescer_keys(m->coalescer) > 0) || store_pending(m->store) > 0)
                manager_arm_tick(m);
        return 0;
}

/* ---- retention ([Retention] MaxAge=, MaxSize=) ---- */

/* Rows per step, from how long the last step took: a step is meant to take about
 * RETENTION_STEP_USEC, whatever the machine and the indexes cost per row, so that the loop (and
 * the netlink socket behind it) never waits long. Halved when a step took longer than twice the
 * target, doubled when it took less than half, within [STORE_PRUNE_ROWS_MIN, STORE_PRUNE_ROWS]. */
static unsigned retention_next_rows(unsigned rows, uint64_t took_usec) {
        if (took_usec > 2 * RETENTION_STEP_USEC)
                rows /= 2;
        else if (took_usec < RETENTION_STEP_USEC / 2)
                rows *= 2;
        return MIN(MAX(rows, (unsigned) STORE_PRUNE_ROWS_MIN), (unsigned) STORE_PRUNE_ROWS);
}

/* One step of retention_rows denials at most, then the loop serves everyone else: the next
 * step follows soon while there is more to remove, else in a minute. */
static int on_retention(sd_event_source *es, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        bool more = false;
        uint64_t next = RETENTION_INTERVAL_USEC;

        if (m->config.max_age_ms <= 0 && m->config.max_bytes == 0)
                return 0;
        if (!m->store_damaged) {
                uint64_t t0 = now_monotonic_usec();
                int r = store_prune(m->store, now_realtime_ms(), m->config.max_age_ms,
                                    m->config.max_bytes, m->retention_rows, &more);
                uint64_t took = now_monotonic_usec() - t0;
                if (r > 0)
                        m->retention_rows = retention_next_rows(m->retention_rows, took);
                if (r < 0)
                        log_warning_errno(r, "Retention: failed to remove old denials: %s",
                                          store_last_error(m->store));
                if (r > 0) {
                        m->retention_removed += (uint64_t) r;
                        m->retention_steps++;
                        m->retention_longest_usec = MAX(m->retention_longest_usec, took);
                }
                if (more && r >= 0)
                        next = RETENTION_BUSY_USEC;
                else if (m->retention_removed > 0) {
                        /* One line per run of steps, with what it cost the loop at most. */
                        log_info("Retention: removed %" PRIu64 " old denials in %" PRIu64
                                 " steps (the longest %.1f ms); their counts stay in the "
                                 "aggregates.",
                                 m->retention_removed, m->retention_steps,
                                 (double) m->retention_longest_usec / 1000);
                        m->retention_removed = m->retention_steps = 0;
                        m->retention_longest_usec = 0;
                }
        }
        (void) sd_event_source_set_time_relative(m->retention, next);
        (void) sd_event_source_set_enabled(m->retention, SD_EVENT_ONESHOT);
        return 0;
}

static void manager_arm_retention(Manager *m, uint64_t usec) {
        if (!m->retention)
                return;
        if (m->config.max_age_ms <= 0 && m->config.max_bytes == 0) {
                (void) sd_event_source_set_enabled(m->retention, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(m->retention, usec);
        (void) sd_event_source_set_enabled(m->retention, SD_EVENT_ONESHOT);
}

/* Stores d as a row of its own (a storm's summary too). imported: from `avcctl import` (history:
 * not for tail subscribers nor the journal). Returns > 0 when it was added to the store;
 * *outcome says what became of it. */
static int manager_store_row(Manager *m, Denial *d, bool imported, ImportOutcome *outcome) {
        int r, added;

        if (store_pending(m->store) == 0) {
                m->batch_started_usec = now_monotonic_usec();
                m->batch_started_ms = now_realtime_ms();
        }
        if (m->store_damaged) {
                manager_store_failed(m, -EUCLEAN, MAX(d->count, 1), now_realtime_ms());
                *outcome = IMPORT_LOST;
                return 0;
        }
        r = added = store_add(m->store, d);
        if (r < 0) {
                /* This denial is lost; when SQLite gave the transaction up, the rows already in
                 * the batch are too (and their copies for the subscribers go). */
                uint64_t lost = store_take_lost(m->store);
                if (lost > 0)
                        drop_pending(m);
                manager_store_failed(m, r, MAX(d->count, 1) + lost, now_realtime_ms());
                *outcome = IMPORT_LOST;
                return 0;
        }
        *outcome = added > 0 ? IMPORT_STORED : IMPORT_DUPLICATE;
        if (r > 0 && !imported && (m->stats.tail_subscribers > 0 || m->journal) &&
            m->n_pending < PENDING_DENIALS_MAX) {
                r = denial_copy(d, &m->pending[m->n_pending]);
                if (r < 0)
                        return log_error_errno(r, "Out of memory.");
                m->n_pending++;
        }
        if (store_pending(m->store) >= (m->live ? STORE_BATCH_ROWS : STORE_BATCH_ROWS_IMPORT) ||
            m->n_pending >= PENDING_DENIALS_MAX)
                (void) manager_commit(m);
        manager_arm_tick(m);
        return added;
}

/* A storm's summary from the coalescer: the last folded denial, standing for d->count. */
static int on_coalesced(Denial *d, void *userdata) {
        ImportOutcome outcome;
        int r = manager_store_row(userdata, d, false, &outcome);
        return r < 0 ? r : 0;
}

/* A released verdict: keep it if it is a container denial, name its container, fold it into a
 * storm or store it. A copy is kept for the tail subscribers only when there are any: imports
 * and quiet hosts pay nothing for the live tail. by_pid: recent enough for its pid to be asked
 * first. imported: from `avcctl import`. Returns > 0 when it was added to the store as a row of
 * its own; *ret_outcome (may be NULL) says what became of it. */
static int manager_keep_denial_full(Manager *m, Denial *d, bool by_pid, bool imported,
                                    ImportOutcome *ret_outcome) {
        ImportOutcome outcome_buf;
        ImportOutcome *outcome = ret_outcome ? ret_outcome : &outcome_buf;
        int r;

        m->stats.denials_seen++;
        if (!domain_filter_wants(&m->config.domains, d->source_type, d->target_mcs)) {
                m->stats.denials_filtered++;
                *outcome = IMPORT_FILTERED;
                return 0;
        }
        /* Older than the retention keeps (an old log): it would be removed at once. */
        if (store_is_expired(d->time_ms, now_realtime_ms(), m->config.max_age_ms)) {
                m->stats.denials_expired++;
                *outcome = IMPORT_EXPIRED;
                return 0;
        }

        /* Live input: the pid first, then the registry. An imported file's pids are long gone
         * (or reused): only the registry's history of categories and lifetimes can name those. */
        r = by_pid ? attributor_resolve(m->attributor, d) : registry_resolve_denial(m->registry, d);
        if (r < 0)
                log_warning_errno(r, "Failed to attribute a denial, storing it unattributed: %m");

        /* Storms are folded on live input, where they could make the daemon fall behind; an
         * import keeps every row, at its own pace. */
        if (m->live && !imported) {
                r = coalescer_add(m->coalescer, d);
                if (r == 0) {
                        *outcome = IMPORT_FOLDED; /* counted; its window's summary is stored */
                        manager_arm_tick(m);
                        return 0;
                }
                if (r < 0)
                        log_warning_errno(r,
                                          "Failed to coalesce a denial, storing it as it is: %m");
        }
        return manager_store_row(m, d, imported, outcome);
}

/* The DenialSink every ingest (live, backfill, import) hands its denials to. The live input's
 * pids are asked first; the backfill's too (the attributor does not trust a process younger
 * than the denial); an import's never. */
static int sink_keep(void *userdata, Denial *d, DenialOrigin origin) {
        Manager *m = userdata;
        ImportOutcome outcome;
        bool by_pid = origin == DENIAL_BACKFILL || (origin == DENIAL_LIVE && m->live);
        int r = manager_keep_denial_full(m, d, by_pid, origin == DENIAL_IMPORT, &outcome);
        return r < 0 ? r : (int) outcome;
}

static int sink_commit(void *userdata) {
        return manager_commit(userdata);
}

static uint64_t sink_store_errors(void *userdata) {
        Manager *m = userdata;
        return m->stats.store_errors;
}

static int manager_new_importer(void *userdata, Importer **ret) {
        Manager *m = userdata;
        return importer_new(&m->sink, ret);
}

/* ---- gap backfill ---- */

static int on_backfill_line(const char *line, size_t len, void *userdata) {
        Manager *m = userdata;
        return ingest_line(line, len, m->backfill_ingest);
}

static void on_backfill_done(void *userdata) {
        Manager *m = userdata;
        char since[32], until[32];

        (void) ingest_flush(m->backfill_ingest);
        (void) coalescer_expire(m->coalescer, now_realtime_ms());
        (void) manager_commit(m);
        snprintf(m->stats.backfill, sizeof(m->stats.backfill), "done");
        format_time_iso8601_ms(m->stats.backfill_since_ms, since, sizeof(since));
        format_time_iso8601_ms(m->stats.backfill_until_ms, until, sizeof(until));
        log_info("Gap backfill done: %" PRIu64 " denials added from %" PRIu64 " file(s) of '%s' "
                 "(%" PRIu64 " records read) for the downtime between %s and %s.",
                 m->stats.backfill_ingest.outcomes[IMPORT_STORED], m->stats.backfill_files,
                 m->config.audit_log, m->stats.backfill_ingest.records, since, until);
}

/* With netlink input and an auditd log: reads back what auditd logged since the newest stored
 * denial up to now (the socket is bound: from now on the kernel sends us everything). The store
 * ignores what it has already, so the overlap costs nothing but time. */
static int manager_start_backfill(Manager *m, int64_t until_ms) {
        _cleanup_(strv_freep) char **files = NULL;
        StoreCounts counts = {};
        char since[32];
        int r, n;

        snprintf(m->stats.backfill, sizeof(m->stats.backfill), "off");
        if (!m->config.audit_log || strcmp(m->config.input, "netlink") != 0)
                return 0;
        r = store_counts(m->store, &counts);
        if (r < 0)
                return log_warning_errno(r, "Gap backfill: cannot read the store: %m");
        snprintf(m->stats.backfill, sizeof(m->stats.backfill), "none");
        if (counts.newest_ms <= 0) {
                log_info("Gap backfill: nothing stored yet, no gap to fill (older audit logs can "
                         "be imported with --input FILE).");
                return 0;
        }
        m->stats.backfill_since_ms = counts.newest_ms;
        m->stats.backfill_until_ms = until_ms;
        format_time_iso8601_ms(counts.newest_ms, since, sizeof(since));
        n = backfill_find_files(m->config.audit_log, counts.newest_ms, &files);
        if (n < 0)
                return log_warning_errno(n, "Gap backfill: cannot list '%s': %m",
                                         m->config.audit_log);
        if (n == 0) {
                log_info("Gap backfill: no audit log at '%s' written since %s.",
                         m->config.audit_log, since);
                return 0;
        }
        /* Only the records of the gap: the rest was stored already or comes from the socket. */
        r = ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION,
                                        .origin = DENIAL_BACKFILL,
                                        .windowed = true,
                                        .since_ms = m->stats.backfill_since_ms,
                                        .until_ms = m->stats.backfill_until_ms},
                       &m->sink, &m->stats.backfill_ingest, &m->backfill_ingest);
        if (r < 0)
                return r;
        r = backfill_new(m->event, files, &m->backfill_source_stats, on_backfill_line,
                         on_backfill_done, m, &m->backfill);
        if (r < 0)
                return log_error_errno(r, "Gap backfill: failed to set up: %m");
        m->stats.backfill_files = backfill_files_opened(m->backfill);
        snprintf(m->stats.backfill, sizeof(m->stats.backfill), "running");
        log_info("Gap backfill: reading %d file(s) of '%s' for the records since %s.", n,
                 m->config.audit_log, since);
        return 0;
}

static int on_loss_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t next = stats_close_loss_window(&m->stats, now_monotonic_usec());

        if (next != UINT64_MAX) {
                (void) sd_event_source_set_time(s, next);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

/* A loss was counted: make sure its window gets closed (and summarised) once it is quiet. */
static void on_loss(void *userdata) {
        Manager *m = userdata;
        int enabled = SD_EVENT_OFF;

        if (!m->loss_timer)
                return;
        (void) sd_event_source_get_enabled(m->loss_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time(m->loss_timer,
                                        now_monotonic_usec() + STATS_LOSS_QUIET_USEC);
        (void) sd_event_source_set_enabled(m->loss_timer, SD_EVENT_ONESHOT);
}

static void on_eof(void *userdata) {
        Manager *m = userdata;

        (void) ingest_flush(m->ingest);
        coalescer_flush(m->coalescer);
        (void) manager_commit(m);
        m->stats.input_eof = true;
        log_info("Input reached its end: %" PRIu64 " records, %" PRIu64 " denials stored, %" PRIu64
                 " malformed.",
                 m->stats.records_received, m->stats.denials_stored,
                 m->stats.records_malformed + m->stats.ingest.malformed);
        if (m->exit_on_eof)
                sd_event_exit(m->event, 0);
        else {
                char text[STATUS_TEXT_MAX];
                status_format(&m->stats, text, sizeof(text));
                (void) sd_notifyf(false, "STATUS=Input complete, serving queries: %s", text);
        }
}

static int load_config_file(const char *path, Config *c) {
        char err[256] = "";
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0;
        int r;

        r = config_init_default(c);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0; /* no file: defaults */
                return log_error_errno(negative_errno(), "Failed to open '%s': %m", path);
        }
        buf = malloc(CONFIG_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
                if (n < 0)
                        return log_error_errno(negative_errno(), "Failed to read '%s': %m", path);
                if (n == 0)
                        break;
                len += n;
                if (len > CONFIG_FILE_MAX)
                        break;
        }
        r = config_parse(c, buf, len, err, sizeof(err));
        if (r < 0) {
                log_error("%s: %s", path, err);
                config_done(c);
                return r;
        }
        return 0;
}

static int override(char **field, const char *value) {
        if (!value)
                return 0;
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

int manager_load_config(const char *path, const ConfigOverrides *o, Config *ret) {
        Config c;
        int r;

        r = load_config_file(path, &c);
        if (r < 0)
                return r;
        if (o && (override(&c.database, o->database) < 0 || override(&c.socket, o->socket) < 0 ||
                  override(&c.input, o->input) < 0)) {
                config_done(&c);
                return log_error_errno(-ENOMEM, "Out of memory.");
        }
        *ret = c;
        return 0;
}

static bool string_differs(const char *a, const char *b) {
        if (!a || !b)
                return a != b;
        return strcmp(a, b) != 0;
}

/* The settings a reload does not apply: those that differ in the new file are logged by name. */
static void log_restart_only_changes(const Config *running, const Config *loaded) {
        const struct {
                const char *name;
                bool differs;
        } settings[] = {
                {"Database=", string_differs(running->database, loaded->database)},
                {"Socket=", string_differs(running->socket, loaded->socket)},
                {"AccessGroup=", string_differs(running->access_group, loaded->access_group)},
                {"Input=", string_differs(running->input, loaded->input)},
                {"AuditLog=", string_differs(running->audit_log, loaded->audit_log)},
                {"Docker=", string_differs(running->docker_socket, loaded->docker_socket)},
                {"Podman=", string_differs(running->podman_socket, loaded->podman_socket)},
                {"ProcScan=", running->proc_scan != loaded->proc_scan},
        };
        char names[256] = "";
        size_t len = 0;

        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (settings[i].differs && len < sizeof(names))
                        len += snprintf(names + len, sizeof(names) - len, "%s%s", len ? " " : "",
                                        settings[i].name);
        if (len > 0)
                log_notice("Changed settings take effect at the next restart: %s", names);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        Config c;

        /* MONOTONIC_USEC: systemd >= 253 matches the reload to this notification */
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_monotonic_usec());
        ConfigOverrides o = {m->override_database, m->override_socket, m->override_input};
        if (!m->config_path || manager_load_config(m->config_path, &o, &c) < 0) {
                log_warning("Reload failed, keeping the running configuration.");
        } else {
                /* What can change at run time: the scope filter, journal forwarding and
                 * retention. The rest needs a restart; every such setting that changed is named
                 * rather than silently ignored (docs/configuration.md). */
                log_restart_only_changes(&m->config, &c);
                domain_filter_done(&m->config.domains);
                m->config.domains = c.domains;
                c.domains = (DomainFilter){};
                if (c.max_age_ms != m->config.max_age_ms || c.max_bytes != m->config.max_bytes) {
                        m->config.max_age_ms = c.max_age_ms;
                        m->config.max_bytes = c.max_bytes;
                        manager_arm_retention(m, RETENTION_FIRST_USEC);
                        log_info("Retention: MaxAge=%" PRIi64 " s, MaxSize=%" PRIu64
                                 " bytes (0: none).",
                                 m->config.max_age_ms / 1000, m->config.max_bytes);
                }
                if (c.journal_forward != m->config.journal_forward &&
                    manager_set_journal_forwarding(m, c.journal_forward) >= 0) {
                        m->config.journal_forward = c.journal_forward;
                        log_info("Forwarding denials to the journal: %s.",
                                 c.journal_forward ? "on" : "off");
                }
                config_done(&c);
                log_info("Configuration reloaded from %s.", m->config_path);
        }
        (void) sd_notify(false, "READY=1");
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        sd_event_exit(m->event, 0);
        return 0;
}

/* The /proc scan leaves the end of these containers to their engine's events. */
static bool engine_followed(const char *engine, void *userdata) {
        Manager *m = userdata;
        for (size_t i = 0; i < ELEMENTSOF(m->engines); i++)
                if (m->engines[i] && strcmp(engine_name(m->engines[i]), engine) == 0)
                        return engine_is_connected(m->engines[i]);
        return false;
}

static gid_t lookup_access_gid(const char *group) {
        struct group *g;

        if (!group || !group[0])
                return (gid_t) -1;
        g = getgrnam(group);
        if (!g) {
                log_notice("Access group '%s' does not exist; only root may use the API.", group);
                return (gid_t) -1;
        }
        return g->gr_gid;
}

/* Sockets handed over by the service manager (avcwatchd.socket, or systemd-socket-activate): the
 * API's listening AF_UNIX stream socket and, optionally, the audit netlink socket (ListenNetlink=
 * audit 1). They are told apart by type, not by name: FileDescriptorName= names all the sockets
 * of one unit alike. Anything else is closed rather than kept open for the daemon's lifetime. */
static void take_listen_fds(int *ret_api, int *ret_netlink) {
        char **names = NULL;
        int n;

        *ret_api = *ret_netlink = -EBADF;
        n = sd_listen_fds_with_names(true, &names);
        if (n < 0) {
                log_warning_errno(n, "Ignoring the sockets passed by the service manager: %m");
                return;
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "unnamed";

                if (*ret_api < 0 && sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) > 0) {
                        *ret_api = fd;
                        log_info("Using the API socket passed by the service manager (fd %d, %s).",
                                 fd, name);
                } else if (*ret_netlink < 0 && sd_is_socket(fd, AF_NETLINK, SOCK_RAW, -1) > 0) {
                        *ret_netlink = fd;
                        log_info("Using the audit socket passed by the service manager (fd %d, "
                                 "%s).",
                                 fd, name);
                } else {
                        log_warning("Closing unexpected file descriptor %d (%s) passed by the "
                                    "service manager.",
                                    fd, name);
                        (void) close(fd);
                }
        }
        if (names)
                for (char **p = names; *p; p++)
                        free(*p);
        free(names);
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_(freep) char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = 0;
                struct stat st;
                if (mkdir(copy, mode) >= 0)
                        (void) chmod(copy, mode); /* exactly this mode, whatever the umask */
                else if (errno != EEXIST && !(stat(copy, &st) >= 0 && S_ISDIR(st.st_mode)))
                        return negative_errno(); /* EACCES on a parent that exists is fine */
                *p = '/';
        }
        return 0;
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

int manager_new(Config *config, const char *config_path, const ConfigOverrides *overrides,
                Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config taken = *config;
        int api_fd, netlink_fd, r;

        *config = (Config){};
        m = calloc(1, sizeof(Manager));
        if (!m) {
                config_done(&taken);
                return -ENOMEM;
        }
        m->config = taken;
        m->pending = calloc(PENDING_DENIALS_MAX, sizeof(Denial));
        if (!m->pending)
                return -ENOMEM;
        if (strdup_or_null(config_path, &m->config_path) < 0 ||
            (overrides && (strdup_or_null(overrides->database, &m->override_database) < 0 ||
                           strdup_or_null(overrides->socket, &m->override_socket) < 0 ||
                           strdup_or_null(overrides->input, &m->override_input) < 0)))
                return -ENOMEM;
        m->stats.started_ms = (int64_t) time(NULL) * 1000;
        m->stats.on_loss = on_loss;
        m->stats.on_loss_userdata = m;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");
        (void) sd_event_set_watchdog(m->event, true);

        m->sink = (DenialSink){
                .keep = sink_keep,
                .commit = sink_commit,
                .store_errors = sink_store_errors,
                .userdata = m,
        };
        r = coalescer_new(on_coalesced, m, &m->coalescer);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the coalescer: %m");
        r = attributor_new("/proc", &m->attributor);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the attributor: %m");

        r = mkdir_parents(m->config.database, 0750);
        if (r < 0)
                return log_error_errno(r, "Failed to create the directory of '%s': %m",
                                       m->config.database);
        uint64_t check_start = now_monotonic_usec();
        r = store_open_with_progress(m->config.database, STORE_PROGRESS_USEC,
                                     on_store_check_progress, m, &m->store);
        if (r >= 0 && now_monotonic_usec() - check_start >= STORE_PROGRESS_USEC)
                log_info("Checked the database '%s' in %.1f s.", m->config.database,
                         (double) (now_monotonic_usec() - check_start) / 1000000);
        if (r == -EBADMSG)
                return log_error_errno(r,
                                       "Refusing '%s': it is not an avcwatch database "
                                       "(left untouched).",
                                       m->config.database);
        if (r == -EMEDIUMTYPE)
                return log_error_errno(r,
                                       "Refusing '%s': it is an avcwatch database of an older "
                                       "schema (avcwatch 0.1), left untouched. Move it aside and "
                                       "import the audit logs again (avcctl import).",
                                       m->config.database);
        if (r == -EPROTONOSUPPORT)
                return log_error_errno(r,
                                       "Refusing '%s': it was written by a newer avcwatch "
                                       "(left untouched).",
                                       m->config.database);
        if (r == -EUCLEAN)
                return log_error_errno(r,
                                       "Refusing '%s': the database is damaged (PRAGMA "
                                       "quick_check fails), left untouched. Move it aside; "
                                       "sqlite3's .recover may save its rows.",
                                       m->config.database);
        if (r < 0)
                return log_error_errno(r, "Failed to open the store '%s': %m", m->config.database);
        r = registry_new(m->store, &m->registry);
        if (r < 0)
                return log_error_errno(r, "Failed to load the container registry from '%s': %m",
                                       m->config.database);
        attributor_set_registry(m->attributor, m->registry);

        take_listen_fds(&api_fd, &netlink_fd);
        if (netlink_fd >= 0 && strcmp(m->config.input, "netlink") != 0) {
                log_notice("Input is '%s': closing the audit socket passed by the service "
                           "manager.",
                           m->config.input);
                (void) close(netlink_fd);
                netlink_fd = -EBADF;
        }
        snprintf(m->api_path, sizeof(m->api_path), "%s", m->config.socket);
        if (api_fd >= 0) {
                struct sockaddr_un sa = {};
                socklen_t l = sizeof(sa);
                if (getsockname(api_fd, (struct sockaddr *) &sa, &l) >= 0 &&
                    l > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0] != 0) {
                        snprintf(m->api_path, sizeof(m->api_path), "%.*s",
                                 (int) (l - offsetof(struct sockaddr_un, sun_path)), sa.sun_path);
                        if (strcmp(m->api_path, m->config.socket) != 0)
                                log_notice("The service manager passed the API socket %s; "
                                           "Socket=%s is not used.",
                                           m->api_path, m->config.socket);
                }
        } else {
                r = mkdir_parents(m->config.socket, 0755);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the directory of '%s': %m",
                                               m->config.socket);
        }
        r = server_new(m->event, api_fd, m->config.socket,
                       lookup_access_gid(m->config.access_group), m->store, &m->stats, &m->server);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on '%s': %m", m->config.socket);
        server_set_registry(m->server, m->registry);
        server_set_importer(m->server, manager_new_importer, m);

        /* The container engines' APIs, each optional: absent ones are retried in the background. */
        const struct {
                const char *name, *socket;
        } engines[STATS_ENGINES_MAX] = {
                {"docker", m->config.docker_socket},
                {"podman", m->config.podman_socket},
        };
        for (size_t i = 0; i < ELEMENTSOF(engines); i++) {
                EngineStats *es = &m->stats.engines[m->stats.n_engines++];
                if (!engines[i].socket) {
                        snprintf(es->name, sizeof(es->name), "%s", engines[i].name);
                        es->state = "disabled";
                        continue;
                }
                r = engine_new(m->event, engines[i].name, engines[i].socket, m->registry, es,
                               &m->engines[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the %s client: %m",
                                               engines[i].name);
        }
        if (m->config.proc_scan) {
                r = proc_scan_new(m->event, "/proc", m->registry, &m->stats, engine_followed, m,
                                  &m->proc_scan);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the /proc scan: %m");
        }

        /* netlink or stdin: clock deadlines and pid attribution */
        m->live = strcmp(m->config.input, "netlink") == 0 || strcmp(m->config.input, "-") == 0;
        r = ingest_new(&(IngestOptions){.mode = m->live ? ASSEMBLER_CLOCK : ASSEMBLER_POSITION,
                                        .origin = DENIAL_LIVE,
                                        .event = m->event},
                       &m->sink, &m->stats.ingest, &m->ingest);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the input's assembly: %m");
        if (strcmp(m->config.input, "netlink") == 0) {
                r = source_new_netlink(m->event, netlink_fd, &m->stats, ingest_line, m->ingest,
                                       &m->source);
                if (r == -EPERM)
                        return log_error_errno(r, "Failed to bind the audit multicast group: "
                                                  "CAP_AUDIT_READ is needed, or the socket "
                                                  "passed by the service manager "
                                                  "(avcwatchd.socket: ListenNetlink=audit 1).");
                if (r < 0)
                        return log_error_errno(r, "Failed to open the audit netlink socket: %m");
                /* From here on the kernel sends us every record: the gap ends now. */
                r = manager_start_backfill(m, now_realtime_ms());
                if (r < 0)
                        return r;
        } else {
                m->exit_on_eof = strcmp(m->config.input, "-") == 0;
                r = source_new_file(m->event, m->config.input, &m->stats, ingest_line, m->ingest,
                                    on_eof, m, &m->source);
                if (r < 0)
                        return log_error_errno(r, "Failed to open input '%s': %m", m->config.input);
        }

        r = manager_set_journal_forwarding(m, m->config.journal_forward);
        if (r < 0)
                return r;

        r = sd_event_add_time_relative(m->event, &m->tick, CLOCK_MONOTONIC, TICK_USEC, 10 * 1000,
                                       on_tick, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the timer: %m");
        (void) sd_event_source_set_enabled(m->tick, SD_EVENT_OFF);
        r = sd_event_add_time(m->event, &m->loss_timer, CLOCK_MONOTONIC, 0, 100 * 1000,
                              on_loss_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the timer: %m");
        (void) sd_event_source_set_enabled(m->loss_timer, SD_EVENT_OFF);
        m->retention_rows = STORE_PRUNE_ROWS_MIN * 4;
        r = sd_event_add_time_relative(m->event, &m->retention, CLOCK_MONOTONIC,
                                       RETENTION_FIRST_USEC, 100 * 1000, on_retention, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the timer: %m");
        /* Below the input and the API: a step waits until they have been served. */
        (void) sd_event_source_set_priority(m->retention, SD_EVENT_PRIORITY_IDLE);
        manager_arm_retention(m, RETENTION_FIRST_USEC);

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (sd_event_add_signal(m->event, &m->sigterm, SIGTERM, on_exit_signal, m) < 0 ||
            sd_event_add_signal(m->event, &m->sigint, SIGINT, on_exit_signal, m) < 0 ||
            sd_event_add_signal(m->event, &m->sighup, SIGHUP, on_sighup, m) < 0)
                return log_error_errno(-EIO, "Failed to set up signal handling.");

        r = status_notifier_new(m->event, &m->stats, &m->status);
        if (r < 0)
                return log_error_errno(r, "Failed to set up status notifications: %m");

        /* Everything that needed privilege is done: sockets bound, store open. */
        uint64_t had = 0;
        (void) privileges_get(&had, NULL, NULL);
        r = privileges_drop(PRIVILEGES_KEEP, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to drop capabilities: %m");
        if (had != 0)
                log_info("Start-up done; dropped all capabilities.");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->source = source_free(m->source);
        m->backfill = backfill_free(m->backfill);
        m->stats.on_loss = NULL;
        m->status = status_notifier_free(m->status);
        if (m->store) {
                (void) ingest_flush(m->ingest);
                (void) ingest_flush(m->backfill_ingest);
        }
        if (m->store)
                coalescer_flush(m->coalescer);
        if (m->store)
                (void) manager_commit(m);
        m->coalescer = coalescer_free(m->coalescer);
        m->ingest = ingest_free(m->ingest);
        m->backfill_ingest = ingest_free(m->backfill_ingest);
        m->server = server_free(m->server);
        m->proc_scan = proc_scan_free(m->proc_scan);
        for (size_t i = 0; i < ELEMENTSOF(m->engines); i++)
                m->engines[i] = engine_free(m->engines[i]);
        m->registry = registry_free(m->registry);
        m->store = store_free(m->store);
        m->journal = journal_writer_free(m->journal);
        m->attributor = attributor_free(m->attributor);
        drop_pending(m);
        free(m->pending);
        sd_event_source_unref(m->tick);
        sd_event_source_unref(m->loss_timer);
        sd_event_source_unref(m->retention);
        sd_event_source_unref(m->sigterm);
        sd_event_source_unref(m->sigint);
        sd_event_source_unref(m->sighup);
        sd_event_unref(m->event);
        config_done(&m->config);
        free(m->config_path);
        free(m->override_database);
        free(m->override_socket);
        free(m->override_input);
        free(m);
        return NULL;
}

int manager_run(Manager *m) {
        int r;

        (void) sd_notifyf(false, "READY=1\nSTATUS=Reading %s; API on %s.", m->config.input,
                          m->api_path);
        log_info("Reading %s, storing in %s, serving %s.", m->config.input, m->config.database,
                 m->api_path);
        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping: storing what is pending.");
        (void) ingest_flush(m->ingest);
        coalescer_flush(m->coalescer);
        (void) manager_commit(m);
        journal_writer_flush(m->journal, JOURNAL_EXIT_FLUSH_USEC);
        log_info("Stopped: %" PRIu64 " records received, %" PRIu64 " denials stored, %" PRIu64
                 " lost.",
                 m->stats.records_received, m->stats.denials_stored, stats_events_lost(&m->stats));
        return r;
}
