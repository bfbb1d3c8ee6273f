/* SPDX-License-Identifier: MIT */
/* Gap backfill: finding the audit log files of a downtime, reading them in order, and (started
 * with backfill_start) handing their lines of the gap to an Ingest of its own.
 *
 * Direction: started by the manager; calls forward only: its file sources, its Ingest (which
 * hands the denials to the DenialSink it was given: the daemon's pipeline) and, once done, the
 * sink's commit. Its counters are its own block (BackfillStats).
 *
 * Decisions:
 * - auditd rotates by renaming: audit.log -> audit.log.1 -> audit.log.2 ..., so the oldest
 *   records are in the highest number. The files are listed from the first missing number down,
 *   then audit.log itself. Compressed rotations (logrotate's .gz) are not read.
 * - A rotated file is never written again: its mtime is the time of its last record (give or
 *   take auditd's buffering), so one last written before the gap began holds nothing of it and
 *   is not read at all. Only audit.log may be written while we read; what it gains after start-up
 *   came to us through the netlink socket anyway.
 * - Every file is opened at once: auditd may rotate while we read, and an open fd keeps meaning
 *   the same file whatever it is renamed to.
 * - One file source at a time; the switch to the next file happens from a defer event, not from
 *   inside the finished source's own callback.
 * - Without an audit.log (a host without auditd) the journal's audit records are read instead
 *   (BackfillSources), rebuilt into the audit.log lines they were (journal-audit.c, the same
 *   code as avcctl import --journal): the same ingest, window and dedupe, their time and serial
 *   the kernel's. BACKFILL_JOURNAL_BATCH entries per turn of the same idle defer event, so live
 *   input and queries still go first. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backfill.h"
#include "clock.h"
#include "log.h"
#include "macro.h"
#include "timeparse.h"
#include "journal-audit.h"

struct Backfill {
        sd_event *event;
        SourceStats *stats;
        source_line_cb cb;
        void (*done)(void *userdata);
        void *userdata;
        int *fds;
        char **names;
        size_t n, next, opened;
        Source *source;
        sd_event_source *step; /* starts the next file; reads the next batch of the journal */
        bool finished;
        JournalAudit *journal; /* reading the journal instead of files */

        /* backfill_start(): the gap's own ingest, counters and log */
        Ingest *ingest;
        DenialSink sink;
        Store *store;                 /* its positions: where the next start's backfill begins */
        uint64_t store_errors_before; /* the sink's, when it started */
        BackfillStats *gap;
        SourceStats
                source_stats; /* its file sources' counters (lines, over-long ones): not shown */
        char *audit_log;
};

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
        return NULL;
}

int backfill_find_files(const char *log_path, int64_t since_ms, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0, top = 0;
        struct stat st;

        if (!log_path || !ret)
                return -EINVAL;
        l = calloc(BACKFILL_ROTATIONS_MAX + 2, sizeof(char *));
        if (!l)
                return -ENOMEM;

        /* the highest rotation that exists */
        for (size_t i = 1; i <= BACKFILL_ROTATIONS_MAX; i++) {
                char path[PATH_MAX];
                if (snprintf(path, sizeof(path), "%s.%zu", log_path, i) >= (int) sizeof(path))
                        return -ENAMETOOLONG;
                if (stat(path, &st) < 0)
                        break;
                top = i;
        }
        for (size_t i = top + 1; i-- > 0;) {
                char path[PATH_MAX];
                if (i == 0)
                        snprintf(path, sizeof(path), "%s", log_path);
                else
                        snprintf(path, sizeof(path), "%s.%zu", log_path, i);
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                int64_t mtime_ms =
                        (int64_t) st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
                if (mtime_ms < since_ms - BACKFILL_MTIME_SLACK_MS)
                        continue; /* its last record is older than the gap */
                l[n] = strdup(path);
                if (!l[n])
                        return -ENOMEM;
                n++;
        }
        *ret = TAKE_PTR(l);
        return (int) n;
}

Backfill *backfill_free(Backfill *b) {
        if (!b)
                return NULL;
        b->source = source_free(b->source);
        sd_event_source_disable_unref(b->step);
        journal_audit_free(b->journal);
        for (size_t i = 0; i < b->n; i++)
                if (b->fds[i] >= 0)
                        close(b->fds[i]);
        free(b->fds);
        strv_free(b->names);
        if (b->ingest && b->finished == false)
                (void) ingest_flush(b->ingest); /* shutdown mid-way: what was read is kept */
        ingest_free(b->ingest);
        free(b->audit_log);
        sd_event_unref(b->event);
        free(b);
        return NULL;
}

size_t backfill_files_opened(const Backfill *b) {
        return b ? b->opened : 0;
}

static int backfill_on_line(const char *line, size_t len, void *userdata) {
        Backfill *b = userdata;
        return b->cb(line, len, b->userdata);
}

/* A rebuilt journal record, without its newline, like a file's line. */
static int backfill_on_journal_line(const char *line, size_t len, void *userdata) {
        if (len > 0 && line[len - 1] == '\n')
                len--;
        return backfill_on_line(line, len, userdata);
}

static void backfill_on_eof(void *userdata) {
        Backfill *b = userdata;

        /* The source is freed, and the next one started, outside of its own callback. */
        (void) sd_event_source_set_enabled(b->step, SD_EVENT_ONESHOT);
}

static int backfill_on_step(sd_event_source *es, void *userdata) {
        Backfill *b = userdata;
        int r;

        b->source = source_free(b->source);
        if (b->journal) {
                r = journal_audit_read(b->journal, BACKFILL_JOURNAL_BATCH, backfill_on_journal_line,
                                       b);
                if (r > 0) {
                        (void) sd_event_source_set_enabled(b->step, SD_EVENT_ONESHOT);
                        return 0;
                }
                if (r < 0)
                        log_warning_errno(r, "Backfill: cannot read the journal any further: %m");
                b->journal = journal_audit_free(b->journal);
        }
        while (b->next < b->n) {
                size_t i = b->next++;
                if (b->fds[i] < 0)
                        continue;
                r = source_new_file_fd(b->event, b->fds[i], b->stats, backfill_on_line, b,
                                       backfill_on_eof, b, &b->source);
                if (r < 0) {
                        log_warning_errno(r, "Backfill: cannot read '%s', skipping it: %m",
                                          b->names[i]);
                        continue;
                }
                b->fds[i] = -EBADF; /* the source's now */
                log_debug("Backfill: reading '%s'.", b->names[i]);
                return 0;
        }
        if (!b->finished) {
                b->finished = true;
                b->done(b->userdata);
        }
        return 0;
}

static int backfill_open(sd_event *e, char *const *paths, Backfill **ret) {
        Backfill *b;
        size_t n = 0;
        int r;

        while (paths[n])
                n++;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->event = sd_event_ref(e);
        b->n = n;
        b->fds = calloc(n ? n : 1, sizeof(int));
        b->names = calloc(n + 1, sizeof(char *));
        if (!b->fds || !b->names) {
                backfill_free(b);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                b->fds[i] = -EBADF;
        for (size_t i = 0; i < n; i++) {
                b->names[i] = strdup(paths[i]);
                if (!b->names[i]) {
                        backfill_free(b);
                        return -ENOMEM;
                }
                b->fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (b->fds[i] < 0)
                        log_warning_errno(negative_errno(), "Backfill: cannot open '%s': %m",
                                          paths[i]);
                else
                        b->opened++;
        }

        r = sd_event_add_defer(e, &b->step, backfill_on_step, b);
        if (r < 0) {
                backfill_free(b);
                return r;
        }
        /* after everything else, like the file input */
        (void) sd_event_source_set_priority(b->step, SD_EVENT_PRIORITY_IDLE + 10);
        (void) sd_event_source_set_description(b->step, "backfill");
        (void) sd_event_source_set_enabled(b->step, SD_EVENT_ONESHOT);
        *ret = b;
        return 0;
}

int backfill_new(sd_event *e, char *const *paths, SourceStats *stats, source_line_cb cb,
                 void (*done)(void *userdata), void *userdata, Backfill **ret) {
        Backfill *b;
        int r;

        if (!e || !paths || !stats || !cb || !done || !ret)
                return -EINVAL;
        r = backfill_open(e, paths, &b);
        if (r < 0)
                return r;
        b->stats = stats;
        b->cb = cb;
        b->done = done;
        b->userdata = userdata;
        *ret = b;
        return 0;
}

/* ---- the gap of a restart (backfill_start) ---- */

static int backfill_gap_line(const char *line, size_t len, void *userdata) {
        Backfill *b = userdata;
        return ingest_line(line, len, b->ingest);
}

static void backfill_gap_done(void *userdata) {
        Backfill *b = userdata;
        BackfillStats *g = b->gap;
        char since[32], until[32];

        (void) ingest_flush(b->ingest);
        /* Only a gap whose denials are all stored is over: else the next start reads it again
         * (what failed is counted as unstored by the pipeline meanwhile). */
        if (b->sink.commit(b->sink.userdata) >= 0 &&
            (!b->sink.store_errors ||
             b->sink.store_errors(b->sink.userdata) == b->store_errors_before))
                (void) store_backfill_end(b->store, g->until_ms);
        snprintf(g->state, sizeof(g->state), "done");
        format_time_iso8601_ms(g->since_ms, since, sizeof(since));
        format_time_iso8601_ms(g->until_ms, until, sizeof(until));
        if (b->audit_log)
                log_info("Gap backfill done: %" PRIu64 " denials added from %" PRIu64 " file(s) "
                         "of '%s' (%" PRIu64 " records read) for the downtime between %s and %s.",
                         g->ingest.outcomes[IMPORT_STORED], g->files, b->audit_log,
                         g->ingest.records, since, until);
        else
                log_info("Gap backfill done: %" PRIu64 " denials added from the journal (%" PRIu64
                         " records read) for the downtime between %s and %s.",
                         g->ingest.outcomes[IMPORT_STORED], g->ingest.records, since, until);
}

/* Where the gap begins: what this daemon last stored from the live netlink input (the store's
 * live position), never imported data, whose dates may be anything (a log from a host whose
 * clock was set to 2100 would otherwise make every later restart read nothing). A backfill cut
 * short by a restart is read again from where it started. A database without a live position
 * (written by a version before it existed) falls back to the newest stored denial, leaving out
 * those dated more than BACKFILL_FUTURE_SLACK_MS after now. Sets stats->since_ms, ->from and
 * ->ignored (stored denials after the start that did not move it); 0 when nothing is stored. */
static int backfill_find_since(Store *store, int64_t now_ms, BackfillStats *stats) {
        StorePosition pos = {};
        int64_t bound = now_ms + BACKFILL_FUTURE_SLACK_MS, newest = 0;
        uint64_t later = 0;
        char when[32];
        int r;

        r = store_position(store, &pos);
        if (r < 0)
                return r;
        if (pos.live_ms > bound) {
                format_time_iso8601_ms(pos.live_ms, when, sizeof(when));
                log_warning("Gap backfill: the live position %s is in the future (the clock was "
                            "wrong, or is now); ignoring it.",
                            when);
                pos.live_ms = 0;
        }
        if (pos.live_ms > 0) {
                stats->since_ms = pos.live_ms;
                snprintf(stats->from, sizeof(stats->from), "live");
                r = store_newest_before(store, pos.live_ms + 1, &newest, &later);
        } else {
                /* No live position yet: the old rule, without what cannot have been seen yet. */
                r = store_newest_before(store, bound, &newest, &later);
                if (r >= 0 && newest > 0) {
                        stats->since_ms = newest;
                        snprintf(stats->from, sizeof(stats->from), "stored");
                        log_notice("Gap backfill: no live position recorded yet (a database of "
                                   "an older version): starting after the newest stored denial "
                                   "dated before now + %d min.",
                                   BACKFILL_FUTURE_SLACK_MS / 60000);
                }
        }
        if (r < 0)
                return r;
        if (pos.backfill_from_ms > 0 &&
            (stats->since_ms == 0 || pos.backfill_from_ms < stats->since_ms)) {
                stats->since_ms = pos.backfill_from_ms;
                snprintf(stats->from, sizeof(stats->from), "unfinished");
                format_time_iso8601_ms(pos.backfill_from_ms, when, sizeof(when));
                log_notice("Gap backfill: the last one, from %s, did not finish; reading again "
                           "from there.",
                           when);
                r = store_newest_before(store, stats->since_ms + 1, &newest, &later);
                if (r < 0)
                        return r;
        }
        stats->ignored = later;
        if (later > 0 && stats->since_ms > 0) {
                format_time_iso8601_ms(stats->since_ms, when, sizeof(when));
                log_notice("Gap backfill: %" PRIu64 " stored denial(s) dated after %s were not "
                           "seen live (imported, or from a clock ahead): they do not move the "
                           "start of the gap.",
                           later, when);
        }
        return 0;
}

/* Whether the gap is read from the audit log (else the journal), as `from` says. */
static bool backfill_use_audit_log(const BackfillSources *from) {
        struct stat st;

        if (!from->audit_log)
                return false;
        return !from->journal || stat(from->audit_log, &st) >= 0;
}

int backfill_start(sd_event *e, const BackfillSources *from, Store *store, int64_t until_ms,
                   const DenialSink *sink, BackfillStats *stats, Backfill **ret) {
        _cleanup_(strv_freep) char **files = NULL;
        _cleanup_(journal_audit_freep) JournalAudit *journal = NULL;
        const char *audit_log;
        Backfill *b;
        char since[32];
        int r, n = 0;

        if (!e || !from || !store || !sink || !sink->commit || !stats || !ret)
                return -EINVAL;
        *ret = NULL;
        snprintf(stats->state, sizeof(stats->state), "off");
        if (!from->audit_log && !from->journal)
                return 0; /* Backfill=no, or AuditLog= is empty */
        audit_log = backfill_use_audit_log(from) ? from->audit_log : NULL;
        r = backfill_find_since(store, until_ms, stats);
        if (r < 0)
                return log_warning_errno(r, "Gap backfill: cannot read the store: %m");
        snprintf(stats->state, sizeof(stats->state), "none");
        if (stats->since_ms <= 0) {
                log_info("Gap backfill: nothing stored yet, no gap to fill (older audit logs can "
                         "be imported with --input FILE).");
                return 0;
        }
        stats->until_ms = until_ms;
        format_time_iso8601_ms(stats->since_ms, since, sizeof(since));
        if (audit_log) {
                n = backfill_find_files(audit_log, stats->since_ms, &files);
                if (n < 0)
                        return log_warning_errno(n, "Gap backfill: cannot list '%s': %m",
                                                 audit_log);
                if (n == 0) {
                        log_info("Gap backfill: no audit log at '%s' written since %s.", audit_log,
                                 since);
                        (void) store_backfill_end(store, until_ms);
                        return 0;
                }
        } else {
                r = journal_audit_open(&(JournalAuditRange){.directory = from->journal_directory,
                                                            .has_since = true,
                                                            .since_ms = stats->since_ms,
                                                            .has_until = true,
                                                            .until_ms = until_ms},
                                       &journal);
                if (r < 0)
                        return log_warning_errno(r, "Gap backfill: cannot open the journal%s%s: %m",
                                                 from->journal_directory ? " in " : "",
                                                 from->journal_directory ? from->journal_directory
                                                                         : "");
        }

        r = backfill_open(e, files ? files : (char *[]){NULL}, &b);
        if (r < 0)
                return log_error_errno(r, "Gap backfill: failed to set up: %m");
        b->journal = TAKE_PTR(journal);
        b->stats = &b->source_stats;
        b->cb = backfill_gap_line;
        b->done = backfill_gap_done;
        b->userdata = b;
        b->sink = *sink;
        b->gap = stats;
        if (audit_log) {
                b->audit_log = strdup(audit_log);
                if (!b->audit_log) {
                        backfill_free(b);
                        return log_error_errno(-ENOMEM, "Gap backfill: failed to set up: %m");
                }
        }
        /* Only the records of the gap: the rest was stored already or comes from the socket. */
        r = ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION,
                                        .origin = DENIAL_BACKFILL,
                                        .windowed = true,
                                        .since_ms = stats->since_ms,
                                        .until_ms = stats->until_ms},
                       &b->sink, &stats->ingest, &b->ingest);
        if (r < 0) {
                backfill_free(b);
                return log_error_errno(r, "Gap backfill: failed to set up: %m");
        }
        stats->files = b->opened;
        b->store = store;
        b->store_errors_before = sink->store_errors ? sink->store_errors(sink->userdata) : 0;
        /* A restart before the end reads the gap again from here. */
        r = store_backfill_begin(store, stats->since_ms);
        if (r < 0)
                log_warning_errno(r, "Gap backfill: cannot mark its start in the store: %m");
        snprintf(stats->state, sizeof(stats->state), "running");
        if (audit_log)
                log_info("Gap backfill: reading %d file(s) of '%s' for the records since %s.", n,
                         audit_log, since);
        else
                log_info("Gap backfill: no audit log%s%s%s; reading the journal%s%s for the "
                         "records since %s.",
                         from->audit_log ? " at '" : "", from->audit_log ? from->audit_log : "",
                         from->audit_log ? "'" : "", from->journal_directory ? " in " : "",
                         from->journal_directory ? from->journal_directory : "", since);
        *ret = b;
        return 0;
}
