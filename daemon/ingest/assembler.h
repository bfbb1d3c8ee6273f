/* SPDX-License-Identifier: MIT */
#pragma once

/* Assembler: joins the records of one audit event by (node, time, serial) and releases it as
 * Denials. Released on EOE, on PROCTITLE once the event has its verdict and SYSCALL, on an
 * ausearch separator, when older than the deadline (clock input) or more than a window of records
 * behind (file input), and the oldest first when the table is full. O(1) per record. Pure: the
 * caller passes the time; no I/O. Raw text of every record of the event is kept, bounded. */

#include <stddef.h>
#include <stdint.h>

#include "denial.h"
#include "record.h"

typedef struct Assembler Assembler;

#define ASSEMBLER_EVENTS_MAX 4096            /* in-flight events */
#define ASSEMBLER_DEADLINE_USEC (300 * 1000) /* clock mode: hold an event at most this long */
#define ASSEMBLER_WINDOW_RECORDS 512         /* position mode: release after this many records */
#define ASSEMBLER_EVENT_RECORDS_MAX 64       /* records kept per event (more are counted) */
#define ASSEMBLER_EVENT_RAW_MAX (256 * 1024)

typedef enum AssemblerMode {
        ASSEMBLER_CLOCK,    /* live input: deadlines on the monotonic clock */
        ASSEMBLER_POSITION, /* file input: deadlines by record count */
} AssemblerMode;

/* Called once for each verdict of a released event, in record order. The Denial is lent for the
 * duration of the call, and its strings with it: they live in the assembler's block
 * (Denial.strings, strings_lent), reused for the next denial. The callee may complete it
 * (attribution: what it adds is freed after the call) but must copy what it keeps
 * (denial_copy(), or its block with denial_move_strings()); d->raw belongs to the event and must
 * not be freed. Return negative errno to stop. */
typedef int (*assembler_emit_cb)(Denial *d, void *userdata);

int assembler_new(AssemblerMode mode, assembler_emit_cb emit, void *userdata, Assembler **ret);
Assembler *assembler_free(Assembler *a);

/* Adds a parsed record with its raw line (as received, without the line terminator).
 * now_usec: monotonic time (clock mode; ignored otherwise). */
int assembler_add(Assembler *a, const Record *r, const char *raw, size_t raw_len,
                  uint64_t now_usec);
/* Releases events that are past their deadline. Returns the monotonic time of the next
 * deadline, or UINT64_MAX when nothing is pending. */
uint64_t assembler_expire(Assembler *a, uint64_t now_usec);
/* Releases everything pending (end of input, shutdown). */
int assembler_flush(Assembler *a);

size_t assembler_pending(const Assembler *a);
uint64_t assembler_evicted(const Assembler *a); /* events released early (table full) */
