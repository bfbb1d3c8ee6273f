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

#include "denial.h"
#include "macro.h"

/* MESSAGE_ID= of every forwarded denial: generated once with `systemd-id128 new`, never changes
 * (journalctl MESSAGE_ID=b7e5e1be24214d30bd1da4597cc3fb77 CONTAINER_NAME=web). */
#define JOURNAL_DENIAL_MESSAGE_ID "b7e5e1be24214d30bd1da4597cc3fb77"
#define JOURNAL_SOCKET_PATH "/run/systemd/journal/socket"
/* Test hook: another socket path for the native protocol (a test binds its own datagram
 * socket and parses what arrives). */
#define JOURNAL_SOCKET_ENV "AVCWATCH_JOURNAL_SOCKET"
#define JOURNAL_SYSLOG_IDENTIFIER "avcwatchd"
#define JOURNAL_DENIAL_PRIORITY 5 /* LOG_NOTICE: worth a look, not an error of ours */

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
 * CONTAINER_ID_FULL, CONTAINER_NAME, IMAGE_NAME, AVC_* (unknown values are left out). */
int journal_entry_from_denial(const Denial *d, JournalEntry *ret);

/* Escapes what could act on a terminal (C0/C1 controls, DEL, invalid UTF-8 as \xNN; \n, \t),
 * backslash and double quote of s into buf of size n (> 0), always NUL terminated; cuts before
 * a whole escape or character. Returns the length written; *ret_truncated (may be NULL) says
 * whether s was cut. */
size_t journal_escape(const char *s, char *buf, size_t n, bool *ret_truncated);

typedef struct JournalWriter JournalWriter;

/* socket_path NULL: $AVCWATCH_JOURNAL_SOCKET when set and not empty, else the journal. The
 * socket is not connected: a restarted journald is picked up by the next send. */
int journal_writer_new(const char *socket_path, JournalWriter **ret);
JournalWriter *journal_writer_free(JournalWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(JournalWriter *, journal_writer_free);

/* Sends one entry without blocking: a datagram, or a sealed memfd passed with SCM_RIGHTS when
 * it is too big for one. -EAGAIN when journald's queue is full (the entry is not sent; the loop
 * must never block on the journal), other negative errno when journald is not there. */
int journal_writer_send(JournalWriter *w, const JournalEntry *e);
int journal_writer_send_denial(JournalWriter *w, const Denial *d);
