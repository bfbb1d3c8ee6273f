/* SPDX-License-Identifier: MIT */
/* Ingest (ingest.h): line -> Record -> assembled Denial -> the sink.
 *
 * Direction: called by its input (a source's line callback, the backfill, an importer), it
 * calls forward only: into the record parser, the assembler and the DenialSink it was given.
 *
 * Decisions:
 * - One counting rule for every input. A line is counted as a record unless it is blank; one
 *   that could not be read at all (NULL: over-long, truncated, not from the kernel) is a record
 *   and malformed. A record that does not parse is malformed, a well-formed one we do not use is
 *   ignored, a verdict without a stamp is unstamped; none of them reaches the assembler. The
 *   live input's records_received is the source's own count of what it read.
 * - A stamp-less record has nothing to key or date it by; only an ausearch separator gets
 *   through, and not into a time window (a separator has no time to be inside it).
 * - Except a verdict in journalctl's text form ("Jul 20 20:55:38 host audit[7568]: AVC ..."):
 *   its time of day is dated here, with the year of options.year_ref_ms, and it gets a synthetic
 *   serial from its text (synthetic_serial()), so the store's dedupe key (node, time, serial,
 *   seq) dedups it by content and second: a re-import adds nothing. Only verdicts: the SYSCALL
 *   and PROCTITLE lines next to it would get other serials and not join it anyway.
 * - Clock mode owns its deadline timer: a one-shot timer runs only while events are pending, so
 *   an idle daemon does not wake up, and nothing above has to tick for the assembler. */

#include <errno.h>

#include "clock.h"
#include "ingest.h"
#include "line-splitter.h"
#include "log.h"
#include "record.h"

struct Ingest {
        IngestOptions options;
        DenialSink sink;
        IngestStats *stats;
        RecordParser *parser;
        Assembler *assembler;
        sd_event_source *tick; /* clock mode with a loop: the assembler's deadlines */
        int error;             /* the first failure of the sink */
};

static int ingest_on_denial(Denial *d, void *userdata) {
        Ingest *i = userdata;
        int r;

        i->stats->denials++;
        r = i->sink.keep(i->sink.userdata, d, i->options.origin);
        if (r < 0) {
                if (i->error == 0)
                        i->error = r;
                return r;
        }
        if (r < _IMPORT_OUTCOME_MAX)
                i->stats->outcomes[r]++;
        return 0;
}

static void ingest_arm(Ingest *i) {
        int enabled = SD_EVENT_OFF;

        if (!i->tick || assembler_pending(i->assembler) == 0)
                return;
        (void) sd_event_source_get_enabled(i->tick, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time_relative(i->tick, INGEST_TICK_USEC);
        (void) sd_event_source_set_enabled(i->tick, SD_EVENT_ONESHOT);
}

static int ingest_on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Ingest *i = userdata;

        ingest_expire(i, now_monotonic_usec());
        ingest_arm(i);
        return 0;
}

int ingest_new(const IngestOptions *o, const DenialSink *sink, IngestStats *stats, Ingest **ret) {
        _cleanup_(ingest_freep) Ingest *i = NULL;
        int r;

        if (!o || !sink || !sink->keep || !stats || !ret)
                return -EINVAL;
        i = calloc(1, sizeof(Ingest));
        if (!i)
                return -ENOMEM;
        i->options = *o;
        i->options.event = NULL; /* not kept: only its timer is */
        i->sink = *sink;
        i->stats = stats;
        r = record_parser_new(&i->parser);
        if (r < 0)
                return r;
        r = assembler_new(o->mode, ingest_on_denial, i, &i->assembler);
        if (r < 0)
                return r;
        if (o->mode == ASSEMBLER_CLOCK && o->event) {
                r = sd_event_add_time_relative(o->event, &i->tick, CLOCK_MONOTONIC,
                                               INGEST_TICK_USEC, 10 * 1000, ingest_on_tick, i);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(i->tick, "ingest-deadlines");
                (void) sd_event_source_set_enabled(i->tick, SD_EVENT_OFF);
        }
        *ret = TAKE_PTR(i);
        return 0;
}

Ingest *ingest_free(Ingest *i) {
        if (!i)
                return NULL;
        sd_event_source_disable_unref(i->tick);
        assembler_free(i->assembler);
        record_parser_free(i->parser);
        free(i);
        return NULL;
}

/* A failure to assemble: what it means depends on the input. */
static int ingest_failed(Ingest *i, int r) {
        switch (i->options.origin) {
        case DENIAL_LIVE:
                return log_error_errno(r, "Failed to assemble audit records: %m");
        case DENIAL_BACKFILL:
                log_warning_errno(r, "Backfill: failed to assemble a record: %m");
                return 0;
        default:
                return r;
        }
}

int ingest_line(const char *line, size_t len, void *userdata) {
        Ingest *i = userdata;
        Record rec;
        int r;

        if (!line_count(line, len, &i->stats->records, &i->stats->malformed))
                return 0;
        r = record_parse(i->parser, line, len, &rec);
        if (r == -ENODATA)
                return 0;
        if (r < 0) {
                i->stats->malformed++;
                return 0;
        }
        if (rec.kind == RECORD_IGNORED)
                i->stats->ignored++;
        if (!rec.has_stamp && rec.has_syslog_time && rec.kind == RECORD_DENIAL &&
            syslog_time_resolve(&rec.syslog_time,
                                i->options.year_ref_ms > 0 ? i->options.year_ref_ms
                                                           : now_realtime_ms(),
                                &rec.stamp.time_ms) >= 0) {
                rec.stamp.serial = rec.content_serial;
                rec.has_stamp = true;
        }
        /* Only the live input speaks of the running kernel; history does not. */
        if (record_type_changes_policy(rec.type) && i->options.origin == DENIAL_LIVE &&
            i->sink.policy_changed)
                i->sink.policy_changed(i->sink.userdata);
        if (!rec.has_stamp && (rec.kind != RECORD_SEPARATOR || i->options.windowed)) {
                /* A journald / bare "avc:" line: nothing to key or date it by. */
                if (rec.kind == RECORD_DENIAL)
                        i->stats->unstamped++;
                record_done(&rec);
                return 0;
        }
        if (i->options.windowed && rec.has_stamp &&
            (rec.stamp.time_ms < i->options.since_ms || rec.stamp.time_ms > i->options.until_ms)) {
                i->stats->outside++;
                record_done(&rec);
                return 0;
        }

        r = assembler_add(i->assembler, &rec, line, len,
                          i->options.mode == ASSEMBLER_CLOCK ? now_monotonic_coarse_usec() : 0);
        record_done(&rec);
        i->stats->evicted = assembler_evicted(i->assembler);
        if (r >= 0 && i->error < 0 && i->options.origin == DENIAL_IMPORT)
                r = i->error; /* the import stops at its first failure */
        if (r < 0)
                return ingest_failed(i, r);
        ingest_arm(i);
        return 0;
}

void ingest_expire(Ingest *i, uint64_t now_usec) {
        if (i)
                (void) assembler_expire(i->assembler, now_usec);
}

int ingest_flush(Ingest *i) {
        int r;

        if (!i)
                return 0;
        r = assembler_flush(i->assembler);
        if (r >= 0 && i->error < 0)
                r = i->error;
        return r;
}

size_t ingest_pending(const Ingest *i) {
        return i ? assembler_pending(i->assembler) : 0;
}

int ingest_error(const Ingest *i) {
        return i ? i->error : 0;
}
