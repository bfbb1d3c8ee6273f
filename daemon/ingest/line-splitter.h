/* SPDX-License-Identifier: MIT */
#pragma once

/* LineSplitter: bytes in, in chunks of any size, lines out. A line cut between two chunks is
 * carried over (up to `max` bytes); a longer one is reported once as over-long and skipped up to
 * its newline. Shared by the daemon's file input and its imports. Pure: no I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct LineSplitter {
        char *carry; /* max bytes */
        size_t carry_len, max;
        bool skipping; /* inside an over-long line: drop bytes up to the next newline */
} LineSplitter;

/* line: the line without its '\n' (not NUL-terminated), or NULL (len 0) for an over-long line.
 * A negative return stops the splitting and is returned. */
typedef int (*line_splitter_cb)(const char *line, size_t len, void *userdata);

int line_splitter_init(LineSplitter *ls, size_t max); /* -ENOMEM */
void line_splitter_done(LineSplitter *ls);
int line_splitter_feed(LineSplitter *ls, const char *p, size_t n, line_splitter_cb cb,
                       void *userdata);
/* The end of the input: a last line without a newline is handed over too. */
int line_splitter_finish(LineSplitter *ls, line_splitter_cb cb, void *userdata);

/* Only blanks (space, tab, CR): skipped by the readers, not counted. */
bool line_is_blank(const char *p, size_t n);

/* The counting rule every reader of lines shares (the file source, the ingest): a blank line is
 * not a record; NULL (an over-long line, one that could not be read) is a record and malformed;
 * any other line is a record. Returns true when line is to be handed on. */
bool line_count(const char *line, size_t len, uint64_t *records, uint64_t *malformed);
