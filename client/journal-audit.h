/* SPDX-License-Identifier: MIT */
#pragma once

/* The journal's audit records (_TRANSPORT=audit, as journald keeps them on a host without
 * auditd) rebuilt into audit.log lines, for avcctl import --journal. Read with the caller's
 * rights through sd-journal. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Calls `cb` with each audit record of the types an import reads (AVC, USER_AVC, SELINUX_ERR
 * and the SYSCALL, CWD, PATH, PROCTITLE, EOE records of their events), oldest first. Returns 0,
 * or a negative errno (opening or reading the journal, or cb's). */
int journal_audit_read(const JournalAuditRange *range, JournalAuditLineFunc cb, void *userdata,
                       JournalAuditCounts *counts);
