/* SPDX-License-Identifier: MIT */
#pragma once

/* Gap backfill: while avcwatchd was not running, auditd (if any) went on writing audit.log, and
 * journald (on a host without auditd) kept the audit records. At start-up the daemon reads the
 * records of its downtime back from that log and its rotations, or from the journal, so that a
 * restart, an upgrade or a crash leaves no hole in the store. This module finds and
 * reads the files and (backfill_start) hands the lines of the gap to an Ingest of its own, whose
 * denials go forward to the DenialSink it is given.
 *
 * The files are read one after the other, oldest first, at idle priority on the daemon's loop:
 * live input and queries go first. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "ingest.h"
#include "macro.h"
#include "source.h"
#include "stats.h"
#include "store.h"

typedef struct Backfill Backfill;

#define BACKFILL_ROTATIONS_MAX 99 /* auditd's num_logs is at most 999; 99 rotations is plenty */
/* A file last written this long before the start of the gap may still hold records of it
 * (auditd's writes are buffered): only older ones are left out. */
#define BACKFILL_MTIME_SLACK_MS (60 * 1000)
/* Without a live position (a database of an older version), stored denials dated later than
 * now plus this are not taken as the start of the gap: nobody saw them happen yet. Clocks of one
 * host agree; an hour leaves room for a step of NTP. */
#define BACKFILL_FUTURE_SLACK_MS (60 * 60 * 1000)

/* The audit log at log_path and its rotations (log_path.1 = the newest rotated one .. log_path.N),
 * oldest first, leaving out those last written before since_ms (nothing newer in them). *ret is
 * a NULL-terminated array of malloc'd paths (free with strv_free()); returns how many, 0 when
 * there is nothing to read. */
int backfill_find_files(const char *log_path, int64_t since_ms, char ***ret);
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);

/* Opens every file now (a rotation while reading must not shift what is read), then reads them
 * in order, handing each line to cb; done is called once after the last one (also when none
 * could be opened). Files that cannot be opened are skipped and logged. stats: the lines and
 * over-long lines of the backfill itself (not the daemon's input counters). */
int backfill_new(sd_event *e, char *const *paths, SourceStats *stats, source_line_cb cb,
                 void (*done)(void *userdata), void *userdata, Backfill **ret);
Backfill *backfill_free(Backfill *b);

/* Where backfill_start() reads: audit_log (and its rotations) when set and audit_log exists, else
 * the journal when `journal` (journal_directory: as journalctl -D; NULL: this host's). Neither:
 * no backfill ("off"). */
typedef struct BackfillSources {
        const char *audit_log;
        bool journal;
        const char *journal_directory;
} BackfillSources;

/* Journal entries read per turn of the loop (at idle priority, like the files' lines). */
#define BACKFILL_JOURNAL_BATCH 256

/* The gap of a restart: the records auditd logged (or journald kept) since this daemon's live
 * position in store (store.h, StorePosition: never imported data), up to until_ms (when the
 * netlink socket was bound: from then on the kernel sends us everything), through an Ingest in
 * position mode into sink. The store ignores what it has already, so the overlap costs nothing
 * but time. At the end the sink commits and the log says what was added. *ret is NULL when there
 * is nothing to read (stats says why); errors are logged. stats: this backfill's own block. */
int backfill_start(sd_event *e, const BackfillSources *from, Store *store, int64_t until_ms,
                   const DenialSink *sink, BackfillStats *stats, Backfill **ret);
size_t backfill_files_opened(const Backfill *b);
