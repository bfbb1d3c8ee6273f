/* SPDX-License-Identifier: MIT */
#pragma once

/* Serial gaps: which audit serials of the kernel's numbering never reached a reader.
 *
 * The kernel numbers every audit event of a boot from one 32-bit counter shared by all record
 * types, and a reader of the audit multicast group is sent every record the kernel emits. So a
 * serial that never arrives on that socket is an event lost on the way (the reader's socket
 * dropped it, or the kernel's rate limit did), whatever its type. Serials are handed out when a
 * record is started and queued when it is finished, so they arrive slightly out of order: a
 * missing serial is only declared lost after a grace period. Later records of an event already
 * seen (SYSCALL, PATH at syscall exit) are ignored.
 *
 * Pure: the caller passes the time and is called back for each gap that is final. Bounded: open
 * gaps are ranges, at most SERIAL_GAPS_MAX (the oldest is declared lost early when full). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SerialGaps SerialGaps;

#define SERIAL_GAPS_MAX 4096 /* open ranges of missing serials */
/* How long a missing serial may still arrive. Reordering is a few records between CPUs; a
 * second is generous and still reports a loss promptly. */
#define SERIAL_GAPS_GRACE_USEC (1000ULL * 1000)

/* A final gap: count serials first..last (as the kernel numbers them, so last may be below first
 * after the counter wrapped), lost between the audit times of the records received around them
 * (since_ms, until_ms). */
typedef void (*serial_gaps_cb)(uint64_t count, uint32_t first, uint32_t last, int64_t since_ms,
                               int64_t until_ms, void *userdata);

int serial_gaps_new(serial_gaps_cb cb, void *userdata, SerialGaps **ret);
SerialGaps *serial_gaps_free(SerialGaps *g);

/* A record with this serial and audit time arrived at now_usec (monotonic). Serial 0 is a
 * serial like any other (the kernel's counter passes it when it wraps). May call back (when the
 * table of open gaps is full). */
void serial_gaps_add(SerialGaps *g, uint32_t serial, int64_t time_ms, uint64_t now_usec);
/* Declares lost the gaps older than the grace period. Returns when the next one is due
 * (monotonic usec), or UINT64_MAX when none is open. */
uint64_t serial_gaps_expire(SerialGaps *g, uint64_t now_usec);
/* Declares every open gap lost now (shutdown). */
void serial_gaps_flush(SerialGaps *g);

size_t serial_gaps_open(const SerialGaps *g); /* open ranges */
