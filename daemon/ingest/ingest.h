/* SPDX-License-Identifier: MIT */
#pragma once

/* Ingest: the one parse-and-assemble path. Lines in (from a source, the backfill's files or an
 * import's bytes), each parsed into a Record, joined by the assembler into events, and every
 * released verdict handed forward to a DenialSink. One set of counters (IngestStats), the same
 * rules for the live input, the gap backfill and an import; the options say what really differs
 * between them: the assembler's clock (live deadlines or record positions), a time window (the
 * backfill reads only its gap) and what a failure means (origin). Each instance owns its record
 * parser and assembler, so inputs running side by side never mix their events. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "assembler.h"
#include "macro.h"
#include "sink.h"

typedef struct Ingest Ingest;

/* Clock mode: how often pending events are looked at for their deadline, while there are any. */
#define INGEST_TICK_USEC (50 * 1000)

/* Written by the Ingest only; the owner of the block reads it. */
typedef struct IngestStats {
        uint64_t records;   /* lines handed in, blank ones aside; an unreadable one too */
        uint64_t malformed; /* unreadable (over-long, not from the kernel) or in no accepted form */
        uint64_t unstamped; /* verdicts without an audit(...) stamp: parsed, not assembled */
        uint64_t ignored;   /* well-formed records not used (EXECVE, AppArmor, ...) */
        uint64_t outside;   /* stamped outside the time window: not assembled */
        uint64_t evicted;   /* events released early: the assembler's table was full */
        uint64_t denials;   /* verdicts handed to the sink */
        uint64_t outcomes[_IMPORT_OUTCOME_MAX]; /* what the sink did with them */
} IngestStats;

typedef struct IngestOptions {
        AssemblerMode mode; /* ASSEMBLER_CLOCK: live deadlines; ASSEMBLER_POSITION: files */
        /* Failures: DENIAL_LIVE stops the input (logged), DENIAL_BACKFILL logs and goes on,
         * DENIAL_IMPORT returns them (the import stops); also passed to the sink. */
        DenialOrigin origin;
        bool windowed; /* only records stamped in [since_ms, until_ms] (wall clock) */
        int64_t since_ms, until_ms;
        /* journalctl text lines carry no year: theirs is the one that puts them at or before
         * this time (syslog_time_resolve()): the input file's mtime, an import's start. 0: the
         * time the line is read (stdin, which is being written now). */
        int64_t year_ref_ms;
        /* Clock mode: the loop on which pending events are released at their deadline. NULL:
         * the caller calls ingest_expire(). */
        sd_event *event;
} IngestOptions;

/* stats: the block this instance counts into (the caller's; zeroed or running on). */
int ingest_new(const IngestOptions *o, const DenialSink *sink, IngestStats *stats, Ingest **ret);
Ingest *ingest_free(Ingest *i); /* releases nothing: ingest_flush() first */
DEFINE_TRIVIAL_CLEANUP_FUNC(Ingest *, ingest_free);

/* One line (without its terminator; not NUL-terminated), or NULL (len 0) for a record that could
 * not be read (over-long, truncated, not sent by the kernel): counted, malformed. Blank lines are
 * skipped, not counted. A source_line_cb / line_splitter_cb: userdata is the Ingest. Returns a
 * negative errno for a failure that stops this input (see IngestOptions.origin). */
int ingest_line(const char *line, size_t len, void *userdata);
/* Releases events past their deadline (clock mode). */
void ingest_expire(Ingest *i, uint64_t now_usec);
/* Releases everything pending (end of input, shutdown). */
int ingest_flush(Ingest *i);
size_t ingest_pending(const Ingest *i);
/* The first failure of the sink (< 0), or 0. */
int ingest_error(const Ingest *i);
