/* SPDX-License-Identifier: MIT */
#pragma once

/* Handoff: a bounded FIFO of items (opaque pointers) from one producer thread to the daemon's
 * sd-event loop. The producer pushes, the loop pops in the same order; handoff_fd() is readable
 * exactly while items are queued (an eventfd counting them), so the loop watches it with an io
 * source and nothing polls. What a full queue means is the producer's choice, per push: wait for
 * room (backpressure: a file can wait, nothing is lost) or give up at once (-EAGAIN: the producer
 * counts the loss, for an input that cannot wait). One producer and one consumer. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct Handoff Handoff;

/* capacity: items queued at most (>= 1). */
int handoff_new(size_t capacity, Handoff **ret);
/* Items still queued are handed to free_item (may be NULL: they are leaked to the caller, who
 * popped them all). */
Handoff *handoff_free(Handoff *h, void (*free_item)(void *item));

/* Readable while items are queued (level triggered, an EFD_SEMAPHORE eventfd). */
int handoff_fd(const Handoff *h);

/* Producer. wait: blocks while the queue is full. Returns 0, -EAGAIN (full and !wait: item is
 * still the caller's) or -ECANCELED (handoff_cancel() was called: the item is still the
 * caller's). */
int handoff_push(Handoff *h, void *item, bool wait);
/* Whether handoff_cancel() was called (the producer stops at its next step). */
bool handoff_cancelled(Handoff *h);

/* Consumer: the oldest item, or NULL when none is queued. */
void *handoff_pop(Handoff *h);
size_t handoff_queued(Handoff *h);
/* Wakes a producer blocked in handoff_push(), which returns -ECANCELED from now on. */
void handoff_cancel(Handoff *h);
