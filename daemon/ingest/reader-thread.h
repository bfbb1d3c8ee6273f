/* SPDX-License-Identifier: MIT */
#pragma once

/* ReaderThread: a regular file given as the daemon's input (`--input FILE`, also gzip) read,
 * split into lines, parsed and assembled into denials on a thread of its own, while the loop
 * thread runs the rest of the walk: the assembled denials cross a Handoff (handoff.h) in batches,
 * in the order they were assembled, and on the loop they go to the DenialSink (the pipeline:
 * filter, attribution, triage, store) exactly as a Source feeding an Ingest hands them on. The
 * two halves of the work (text to denials; denials to rows) then run on two cores.
 *
 * Only for inputs that can wait: a full queue blocks the reader (backpressure), nothing is ever
 * dropped. The counters (SourceStats, IngestStats) are written on the loop only, from a copy each
 * batch carries of the reader's own, so they always describe what the sink was handed. */

#include <systemd/sd-event.h>

#include "ingest.h"
#include "macro.h"
#include "sink.h"
#include "source.h"
#include "stats.h"

typedef struct ReaderThread ReaderThread;

/* Batches queued between the reader and the loop at most: each holds one chunk's denials. */
#define READER_THREAD_QUEUE 4

/* Whether the reader packs the raw text of the denials of its next chunk (the store packs those
 * it leaves), from the batches queued for the loop when the chunk starts. A batch waiting means
 * the loop is the busier thread: the reader takes the packing on. None waiting means the loop
 * waits for the reader: the store packs, on the idle loop. Until the reader has a dictionary it
 * always packs, as the first dictionary is trained from what it packed (and waited for). */
bool reader_thread_should_pack(size_t queued, bool has_dictionary);

/* fd: the open regular file (read from its current offset; ours on success, gzip read through
 * zlib). o: position mode, no event loop (the thread has none). Denials go to sink on e's loop,
 * counted into stats and source_stats; eof (may be NULL) is called on the loop once the last
 * denial was handed to the sink. */
int reader_thread_new(sd_event *e, int fd, const IngestOptions *o, const DenialSink *sink,
                      IngestStats *stats, SourceStats *source_stats, source_eof_cb eof,
                      void *eof_userdata, ReaderThread **ret);
/* Stops reading, then hands the sink what was already read (the events still open too, as
 * ingest_flush() does): nothing read is dropped. Idempotent. */
void reader_thread_stop(ReaderThread *t);
/* reader_thread_stop(), then frees. */
ReaderThread *reader_thread_free(ReaderThread *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReaderThread *, reader_thread_free);
