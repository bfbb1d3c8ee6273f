/* SPDX-License-Identifier: MIT */
/* Importer (importer.h).
 *
 * Direction: called by the API server with the client's bytes; calls forward only, into its
 * line splitter, its Ingest and (for the final commit) the sink.
 *
 * Decisions:
 * - Its own Ingest in position mode like the file input: an event is complete when its EOE
 *   arrives or ASSEMBLER_WINDOW_RECORDS later, whatever the import's speed, and imports running
 *   side by side never mix their events.
 * - The counts are the import's own (what this file held and what became of it), not the
 *   daemon's input counters, which describe its live input. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "importer.h"
#include "ingest.h"
#include "line-splitter.h"
#include "macro.h"

struct Importer {
        DenialSink sink;
        Ingest *ingest;
        IngestStats stats;
        LineSplitter lines;
        uint64_t bytes;
        uint64_t store_errors_before;
};

int importer_new(const DenialSink *sink, Importer **ret) {
        _cleanup_(freep) Importer *i = NULL;
        int r;

        if (!sink || !sink->keep || !sink->commit || !ret)
                return -EINVAL;
        i = calloc(1, sizeof(Importer));
        if (!i)
                return -ENOMEM;
        i->sink = *sink;
        r = line_splitter_init(&i->lines, IMPORTER_LINE_MAX);
        if (r < 0)
                return r;
        /* journalctl text lines are dated with the year of the import's start. */
        r = ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION,
                                        .origin = DENIAL_IMPORT,
                                        .year_ref_ms = now_realtime_ms()},
                       &i->sink, &i->stats, &i->ingest);
        if (r < 0) {
                line_splitter_done(&i->lines);
                return r;
        }
        if (sink->store_errors)
                i->store_errors_before = sink->store_errors(sink->userdata);
        *ret = TAKE_PTR(i);
        return 0;
}

Importer *importer_free(Importer *i) {
        if (!i)
                return NULL;
        /* A client that went away mid-file: the events it completed are stored, the open ones
         * are released as they are (the assembler's flush). */
        if (ingest_error(i->ingest) >= 0)
                (void) ingest_flush(i->ingest);
        ingest_free(i->ingest);
        line_splitter_done(&i->lines);
        free(i);
        return NULL;
}

int importer_feed(Importer *i, const void *data, size_t len) {
        if (!i || (!data && len > 0))
                return -EINVAL;
        if (ingest_error(i->ingest) < 0)
                return ingest_error(i->ingest);
        i->bytes += len;
        return line_splitter_feed(&i->lines, data, len, ingest_line, i->ingest);
}

int importer_finish(Importer *i) {
        int r;

        if (!i)
                return -EINVAL;
        if (ingest_error(i->ingest) < 0)
                return ingest_error(i->ingest);
        r = line_splitter_finish(&i->lines, ingest_line, i->ingest);
        if (r >= 0)
                r = ingest_flush(i->ingest);
        if (r >= 0)
                r = i->sink.commit(i->sink.userdata);
        return r;
}

void importer_counts(const Importer *i, ImportCounts *ret) {
        *ret = (ImportCounts){
                .bytes = i->bytes,
                .records = i->stats.records,
                .malformed = i->stats.malformed,
                .unstamped = i->stats.unstamped,
        };
        memcpy(ret->outcomes, i->stats.outcomes, sizeof(ret->outcomes));
        if (i->sink.store_errors) {
                uint64_t now = i->sink.store_errors(i->sink.userdata);
                ret->store_errors = now > i->store_errors_before ? now - i->store_errors_before : 0;
        }
}
