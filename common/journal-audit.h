/* SPDX-License-Identifier: MIT */
#pragma once

/* The journal's audit records (_TRANSPORT=audit, as journald keeps them on a host without
 * auditd) rebuilt into audit.log lines: for avcctl import --journal (read with the caller's
 * rights) and the daemon's gap backfill (Backfill=journal), so both send the daemon's one parser
 * the same lines. Through sd-journal; the only I/O in common/. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef struct JournalAuditRange {
        const char *directory; /* journalctl's -D; NULL: this host's journal */
        bool has_since, has_until;
        int64_t since_ms, until_ms; /* the records' own time (_SOURCE_REALTIME_TIMESTAMP) */
} JournalAuditRange;

typedef struct JournalAuditCounts {
        uint64_t entries; /* audit entries of a type we read, in the range */
        uint64_t skipped; /* without a serial, a time or a message: not sent */
} JournalAuditCounts;

/* One rebuilt line, "type=NAME msg=audit(SEC.MSEC:SERIAL): BODY\n" (len includes the newline).
 * A negative return stops the reading and is returned. */
typedef int (*JournalAuditLineFunc)(const char *line, size_t len, void *userdata);

typedef struct JournalAudit JournalAudit;

/* Opens the journal (range->directory is copied) and seeks to the start of the range. */
int journal_audit_open(const JournalAuditRange *range, JournalAudit **ret);
JournalAudit *journal_audit_free(JournalAudit *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(JournalAudit *, journal_audit_free);

/* Calls `cb` with at most `max` audit records of the types an import reads (AVC, USER_AVC,
 * SELINUX_ERR and the SYSCALL, CWD, PATH, PROCTITLE, EOE records of their events), oldest first.
 * Returns 1 when there may be more, 0 at the end of the range, or a negative errno (reading the
 * journal, or cb's). */
int journal_audit_read(JournalAudit *j, size_t max, JournalAuditLineFunc cb, void *userdata);
const JournalAuditCounts *journal_audit_counts(const JournalAudit *j);
