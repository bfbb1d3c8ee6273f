/* SPDX-License-Identifier: MIT */
#pragma once

/* Importer: one offline import (`avcctl import FILE…`), fed by its client over the API in chunks
 * of the file's bytes. The client reads the file with its own rights and sends what it read: the
 * daemon never opens a path a client names. The importer splits lines and hands them to its own
 * Ingest (ingest.h: records joined into events by position, like the file input), which hands
 * each verdict forward to the DenialSink it was given (the daemon's pipeline: filter, attribute,
 * store, like any other); records it already holds (same node, time, serial, verdict) are counted
 * as duplicates, so importing a file twice adds nothing. Opaque handle; one per client
 * connection. */

#include <stddef.h>
#include <stdint.h>

#include "denial.h"
#include "sink.h"

typedef struct Importer Importer;

#define IMPORTER_LINE_MAX (64 * 1024) /* longer lines are malformed (as in the file input) */

typedef struct ImportCounts {
        uint64_t bytes, records, malformed, unstamped;
        uint64_t outcomes[_IMPORT_OUTCOME_MAX];
        uint64_t store_errors; /* during this import */
} ImportCounts;

/* sink: copied; its commit is required. */
int importer_new(const DenialSink *sink, Importer **ret);
Importer *importer_free(Importer *i); /* what was fed stays stored */

/* Consumes the next bytes of the file (any split: lines are carried over). */
int importer_feed(Importer *i, const void *data, size_t len);
/* The end of the file: the last line, the events still open, and a commit. */
int importer_finish(Importer *i);
void importer_counts(const Importer *i, ImportCounts *ret);
