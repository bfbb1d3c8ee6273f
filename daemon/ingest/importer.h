/* SPDX-License-Identifier: MIT */
#pragma once

/* Importer: one offline import (`avcctl import FILE…`), fed by its client over the API in chunks
 * of the file's bytes. The client reads the file with its own rights and sends what it read: the
 * daemon never opens a path a client names. The importer splits lines, parses records, joins
 * them into events by position (like the file input) and hands each verdict to the manager
 * (ImporterOps.keep), which filters, attributes and stores it like any other; records it already
 * holds (same node, time, serial, verdict) are counted as duplicates, so importing a file twice
 * adds nothing. Opaque handle; one per client connection. */

#include <stddef.h>
#include <stdint.h>

#include "denial.h"

typedef struct Importer Importer;

#define IMPORTER_LINE_MAX (64 * 1024) /* longer lines are malformed (as in the file input) */

/* What ImporterOps.keep did with a verdict. */
typedef enum ImportOutcome {
        IMPORT_STORED,
        IMPORT_DUPLICATE, /* held already */
        IMPORT_FILTERED,  /* not a container denial */
        IMPORT_EXPIRED,   /* older than the retention keeps */
        IMPORT_LOST,      /* the store refused it (counted in the daemon's losses too) */
        _IMPORT_OUTCOME_MAX,
} ImportOutcome;

typedef struct ImporterOps {
        /* Filters, attributes and stores d: an ImportOutcome, or < 0 to stop the import. */
        int (*keep)(Denial *d, void *userdata);
        /* Commits what is pending (end of an import). */
        int (*commit)(void *userdata);
        /* The daemon's count of failed writes so far: a rise during an import means some of its
         * stored denials may have been lost with a batch. */
        uint64_t (*store_errors)(void *userdata);
} ImporterOps;

typedef struct ImportCounts {
        uint64_t bytes, records, malformed, unstamped;
        uint64_t outcomes[_IMPORT_OUTCOME_MAX];
        uint64_t store_errors; /* during this import */
} ImportCounts;

int importer_new(const ImporterOps *ops, void *userdata, Importer **ret);
Importer *importer_free(Importer *i); /* what was fed stays stored */

/* Consumes the next bytes of the file (any split: lines are carried over). */
int importer_feed(Importer *i, const void *data, size_t len);
/* The end of the file: the last line, the events still open, and a commit. */
int importer_finish(Importer *i);
void importer_counts(const Importer *i, ImportCounts *ret);
