/* SPDX-License-Identifier: MIT */
/* Importer (importer.h).
 *
 * Decisions:
 * - Its own record parser and assembler, in position mode like the file input: an event is
 *   complete when its EOE arrives or ASSEMBLER_WINDOW_RECORDS later, whatever the import's speed,
 *   and imports running side by side never mix their events.
 * - The counts are the import's own (what this file held and what became of it), not the
 *   daemon's input counters, which describe its live input. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "assembler.h"
#include "importer.h"
#include "line-splitter.h"
#include "macro.h"
#include "record.h"

struct Importer {
        const ImporterOps *ops;
        void *userdata;
        RecordParser *parser;
        Assembler *assembler;
        LineSplitter lines;
        ImportCounts counts;
        uint64_t store_errors_before;
        int error; /* the first failure of keep: the import stops */
};

static int importer_on_denial(Denial *d, void *userdata) {
        Importer *i = userdata;
        int r = i->ops->keep(d, i->userdata);

        if (r < 0) {
                i->error = r;
                return r;
        }
        if (r < _IMPORT_OUTCOME_MAX)
                i->counts.outcomes[r]++;
        return 0;
}

static int importer_on_line(const char *line, size_t len, void *userdata) {
        Importer *i = userdata;
        Record rec;
        int r;

        if (!line) {
                i->counts.records++;
                i->counts.malformed++;
                return 0;
        }
        if (line_is_blank(line, len))
                return 0;
        i->counts.records++;
        r = record_parse(i->parser, line, len, &rec);
        if (r == -ENODATA)
                return 0;
        if (r < 0) {
                i->counts.malformed++;
                return 0;
        }
        if (!rec.has_stamp && rec.kind != RECORD_SEPARATOR) {
                if (rec.kind == RECORD_DENIAL)
                        i->counts.unstamped++;
                record_done(&rec);
                return 0;
        }
        r = assembler_add(i->assembler, &rec, line, len, 0);
        record_done(&rec);
        if (i->error < 0)
                return i->error;
        return r;
}

int importer_new(const ImporterOps *ops, void *userdata, Importer **ret) {
        _cleanup_(freep) Importer *i = NULL;
        int r;

        if (!ops || !ops->keep || !ops->commit || !ret)
                return -EINVAL;
        i = calloc(1, sizeof(Importer));
        if (!i)
                return -ENOMEM;
        i->ops = ops;
        i->userdata = userdata;
        r = line_splitter_init(&i->lines, IMPORTER_LINE_MAX);
        if (r >= 0)
                r = record_parser_new(&i->parser);
        if (r >= 0)
                r = assembler_new(ASSEMBLER_POSITION, importer_on_denial, i, &i->assembler);
        if (r < 0) {
                line_splitter_done(&i->lines);
                record_parser_free(i->parser);
                return r;
        }
        if (ops->store_errors)
                i->store_errors_before = ops->store_errors(userdata);
        *ret = TAKE_PTR(i);
        return 0;
}

Importer *importer_free(Importer *i) {
        if (!i)
                return NULL;
        /* A client that went away mid-file: the events it completed are stored, the open ones
         * are released as they are (the assembler's flush). */
        if (i->error >= 0)
                (void) assembler_flush(i->assembler);
        assembler_free(i->assembler);
        record_parser_free(i->parser);
        line_splitter_done(&i->lines);
        free(i);
        return NULL;
}

int importer_feed(Importer *i, const void *data, size_t len) {
        if (!i || (!data && len > 0))
                return -EINVAL;
        if (i->error < 0)
                return i->error;
        i->counts.bytes += len;
        return line_splitter_feed(&i->lines, data, len, importer_on_line, i);
}

int importer_finish(Importer *i) {
        int r;

        if (!i)
                return -EINVAL;
        if (i->error < 0)
                return i->error;
        r = line_splitter_finish(&i->lines, importer_on_line, i);
        if (r >= 0)
                r = assembler_flush(i->assembler);
        if (r >= 0 && i->error < 0)
                r = i->error;
        if (r >= 0)
                r = i->ops->commit(i->userdata);
        return r;
}

void importer_counts(const Importer *i, ImportCounts *ret) {
        *ret = i->counts;
        if (i->ops->store_errors) {
                uint64_t now = i->ops->store_errors(i->userdata);
                ret->store_errors = now > i->store_errors_before ? now - i->store_errors_before : 0;
        }
}
