/* SPDX-License-Identifier: MIT */
#pragma once

/* Coalescer: storms of identical denials folded, never dropped.
 *
 * A container looping on one denied operation makes the kernel emit the same denial tens of
 * thousands of times a second. Storing each would make the daemon fall behind and the store grow
 * by gigabytes for one fact. So per second of audit time and per kind of denial (same subject and
 * target contexts, class, permissions, result, process name and executable, path, name, container
 * ...; not the pid, time or serial), the first COALESCE_FREE are stored as they are; the rest are
 * folded: counted, and at the end of the second the last of them is stored carrying the number it
 * stands for (Denial.count). The count is exact, the first and the last denial of every second
 * are kept whole, and nothing happens at all below COALESCE_FREE a second.
 *
 * Windows are in audit time (the denials' own stamps), so that the same records give the same
 * rows at any speed, and re-reading them is recognised as duplicates. The daemon folds live input
 * only (netlink, stdin, the gap backfill): an import is read at its own pace and keeps every
 * row. Pure: no I/O, the caller passes time (the wall clock, to close the windows of a storm that
 * stopped). Bounded: at most COALESCE_KEYS_MAX kinds are followed; the oldest is closed early
 * when full. */

#include <stdint.h>

#include "denial.h"

typedef struct Coalescer Coalescer;

#define COALESCE_FREE 8         /* identical denials per window stored one by one */
#define COALESCE_WINDOW_MS 1000 /* the window; the rest of it is folded into one row */
#define COALESCE_KEYS_MAX 4096  /* kinds of denial followed at once */

/* Called with the summary of a window: the last folded denial, its count set to how many were
 * folded (itself included). The Denial is lent for the call. Return negative errno to fail. */
typedef int (*coalescer_emit_cb)(Denial *d, void *userdata);

int coalescer_new(coalescer_emit_cb emit, void *userdata, Coalescer **ret);
/* Frees without emitting: flush first. */
Coalescer *coalescer_free(Coalescer *c);

/* d (lent; attributed already, so that the container is part of its kind) arrived. Returns 1
 * when it is to be stored now as itself, 0 when it was folded (the caller does nothing more),
 * negative errno. May emit summaries of other windows (when the table is full). */
int coalescer_add(Coalescer *c, const Denial *d);
/* Emits the summaries of the windows that ended at or before now_ms (audit time / wall clock)
 * and forgets them. Returns when the next window ends (ms), INT64_MAX when none is open. */
int64_t coalescer_expire(Coalescer *c, int64_t now_ms);
/* Emits every pending summary now (end of input, shutdown). */
void coalescer_flush(Coalescer *c);

size_t coalescer_keys(const Coalescer *c); /* kinds followed now */
