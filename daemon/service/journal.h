/* SPDX-License-Identifier: MIT */
#pragma once

/* Journal forwarding: each stored denial as one structured journal entry ([Journal]
 * ForwardDenials=yes), written with journald's native protocol (datagrams of KEY=VALUE lines to
 * /run/systemd/journal/socket; see systemd's "Native Journal Protocol"). docs/systemd.md lists
 * the fields. Field names are fixed here; values come from containers and are kept exact (the
 * binary form), only MESSAGE= is a one-line summary with control characters escaped. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "denial.h"
#include "macro.h"
#include "stats.h"

/* MESSAGE_ID= of every forwarded denial: generated once with `systemd-id128 new`, never changes
 * (journalctl MESSAGE_ID=b7e5e1be24214d30bd1da4597cc3fb77 CONTAINER_NAME=web). */
#define JOURNAL_DENIAL_MESSAGE_ID "b7e5e1be24214d30bd1da4597cc3fb77"
/* MESSAGE_ID= of a new denial: a signature its image's baseline had not seen (docs/fleet.md "New
 * denials"), sent beside the denial's own entry, at JOURNAL_NEW_DENIAL_PRIORITY. */
#define JOURNAL_NEW_DENIAL_MESSAGE_ID "3641b7c18f4f45d1a726f622feb65016"
#define JOURNAL_SOCKET_PATH "/run/systemd/journal/socket"
/* Test hook: another socket path for the native protocol (a test binds its own datagram
 * socket and parses what arrives). */
#define JOURNAL_SOCKET_ENV "AVCWATCH_JOURNAL_SOCKET"
#define JOURNAL_SYSLOG_IDENTIFIER "avcwatchd"
#define JOURNAL_DENIAL_PRIORITY 5 /* LOG_NOTICE: worth a look, not an error of ours */
/* A denial triaged "escape" (docs/triage.md): a container reached for what containers do not
 * namespace. LOG_ALERT: someone should look now, whether or not the policy stopped it. */
#define JOURNAL_ESCAPE_PRIORITY 1
/* A new denial: LOG_WARNING, what a deploy's alert watches for. */
#define JOURNAL_NEW_DENIAL_PRIORITY 4

/* One entry may not exceed this (journald's own limit on a native entry is 768 MiB; ours are
 * a few KiB, bounded by the kernel's record size). */
#define JOURNAL_ENTRY_MAX (1024 * 1024)
/* The human summary (MESSAGE=) is cut here, after escaping. */
#define JOURNAL_MESSAGE_MAX 2048
/* Journal field names: journald accepts at most 64 characters of [A-Z0-9_]. */
#define JOURNAL_FIELD_NAME_MAX 64
/* Asked for with SO_SNDBUF so that entries up to this size go as one datagram; larger ones
 * (or when the kernel caps the buffer lower) go through a sealed memfd. */
#define JOURNAL_SNDBUF (8 * 1024 * 1024)

/* An entry being built: the serialized native protocol payload. */
typedef struct JournalEntry {
        char *buf;
        size_t len, allocated;
        unsigned n_fields;
} JournalEntry;

/* Appends FIELD=value (text form) or, when value holds a newline or another control byte, the
 * binary form FIELD\n<le64 length><bytes>\n. -EINVAL for an invalid field name, -E2BIG past
 * JOURNAL_ENTRY_MAX (the entry is left as it was), -ENOMEM. */
int journal_entry_add(JournalEntry *e, const char *field, const char *value, size_t len);
int journal_entry_add_string(JournalEntry *e, const char *field, const char *value);
void journal_entry_done(JournalEntry *e);

/* The entry of one denial: MESSAGE_ID, MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CONTAINER_ID,
 * CONTAINER_ID_FULL, CONTAINER_NAME, IMAGE_NAME, AVC_* (unknown values are left out; the list
 * is in docs/systemd.md). */
int journal_entry_from_denial(const Denial *d, JournalEntry *ret);
/* The entry of a new denial: the same fields, MESSAGE_ID=JOURNAL_NEW_DENIAL_MESSAGE_ID,
 * PRIORITY=4, MESSAGE= "new denial for image nginx: ...", and AVCWATCH_BASELINE_SCOPE= (image,
 * namespace, container, none) and AVCWATCH_BASELINE= (the key, absent for none). */
int journal_entry_from_new_denial(const Denial *d, JournalEntry *ret);

/* Escapes what could act on a terminal (C0/C1 controls, DEL, invalid UTF-8 as \xNN; \n, \t),
 * backslash and double quote of s into buf of size n (> 0), always NUL terminated; cuts before
 * a whole escape or character. Returns the length written; *ret_truncated (may be NULL) says
 * whether s was cut. */
size_t journal_escape(const char *s, char *buf, size_t n, bool *ret_truncated);

typedef struct JournalWriter JournalWriter;

/* Entries waiting for journald (it takes entries as fast as it writes them; a committed batch
 * comes all at once): beyond either bound, an entry is dropped and counted. */
#define JOURNAL_QUEUE_MAX 4096
#define JOURNAL_QUEUE_BYTES_MAX (16 * 1024 * 1024)
#define JOURNAL_FAILURE_LOG_INTERVAL_USEC (60ULL * 1000000)
/* Waited before trying again when journald's socket said "writable" but took nothing. */
#define JOURNAL_RETRY_USEC (50ULL * 1000)

/* socket_path NULL: $AVCWATCH_JOURNAL_SOCKET when set and not empty, else the journal. Connects
 * at the first send; a journal that is not there is an error of that send, not of this call. */
int journal_writer_new(const char *socket_path, JournalWriter **ret);
JournalWriter *journal_writer_free(JournalWriter *w); /* what is still queued is dropped */
DEFINE_TRIVIAL_CLEANUP_FUNC(JournalWriter *, journal_writer_free);

/* Sets the socket's send buffer (default JOURNAL_SNDBUF, capped by net.core.wmem_max): entries
 * that do not fit go by memfd. */
int journal_writer_set_send_buffer(JournalWriter *w, int size);

/* Sends one entry now, without blocking: a datagram, or a sealed memfd passed with SCM_RIGHTS
 * when it is too big for one. -EAGAIN when journald's queue is full (the entry is not sent),
 * other negative errno when journald is not there. */
int journal_writer_send(JournalWriter *w, const JournalEntry *e);
int journal_writer_send_denial(JournalWriter *w, const Denial *d);

/* The daemon's way: with an event loop, entries journald cannot take at once wait in the
 * writer's queue and go out in order when its socket has room. stats (may be NULL; must
 * outlive the writer) gets journal_forwarded (taken by journald), journal_failed (dropped:
 * queue full, journald not there) and journal_queued (waiting now). */
int journal_writer_attach_event(JournalWriter *w, sd_event *e, JournalStats *stats);
/* Sends or queues a copy of e; never blocks. 0 when sent or queued; negative errno when the
 * entry was dropped (counted, and logged at most once per JOURNAL_FAILURE_LOG_INTERVAL_USEC). */
int journal_writer_submit(JournalWriter *w, const JournalEntry *e);
int journal_writer_submit_denial(JournalWriter *w, const Denial *d);
int journal_writer_submit_new_denial(JournalWriter *w, const Denial *d);
size_t journal_writer_queued(const JournalWriter *w);
/* At exit: waits up to timeout_usec for journald to take what is queued; drops (and counts)
 * the rest. */
void journal_writer_flush(JournalWriter *w, uint64_t timeout_usec);
