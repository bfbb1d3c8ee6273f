/* SPDX-License-Identifier: MIT */
/* The journal's audit records as audit.log lines (journal-audit.h).
 *
 * Decisions:
 * - journald keeps an audit record with its kernel stamp: the serial in _AUDIT_ID, the stamp's
 *   time in _SOURCE_REALTIME_TIMESTAMP (microseconds, exact to the stamp's milliseconds) and
 *   MESSAGE = "NAME BODY" (the type's name, or its number when journald does not know it,
 *   _AUDIT_TYPE then gives it). The rebuilt "type=NAME msg=audit(SEC.MSEC:SERIAL): BODY" is the
 *   line auditd would have written, so the daemon's one parser reads it and the store's dedupe
 *   key (time, serial, seq) is the same as for audit.log and the live input: a record stored
 *   live is recognised, a re-import adds nothing.
 * - An entry without _AUDIT_ID or _SOURCE_REALTIME_TIMESTAMP cannot be keyed like the kernel's
 *   record: skipped and counted, never dated by the time journald received it.
 * - Only the types an import uses are matched (journal matches: one field ORed, fields ANDed), so
 *   a journal full of logins is not sent over the socket. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "journal-audit.h"
#include "macro.h"

/* journald's MESSAGE names for the types an import reads, by number, for when it printed the
 * number instead. */
static const struct {
        int type;
        const char *name;
} audit_types[] = {
        {1400, "AVC"}, {1107, "USER_AVC"}, {1401, "SELINUX_ERR"}, {1300, "SYSCALL"},
        {1307, "CWD"}, {1302, "PATH"},     {1327, "PROCTITLE"},   {1320, "EOE"},
};

/* Seeking goes by the journal's receive time; records are stamped a little before they are
 * received (and a burst may be received late): seek this much before --since, stop this much
 * after --until, and choose by the record's own time. */
#define JOURNAL_SLACK_USEC (60 * 1000 * 1000)

/* The value of FIELD= in the current entry, NUL terminated into buf. */
static int field(sd_journal *j, const char *name, char *buf, size_t size) {
        const void *data;
        size_t len, n = strlen(name);
        int r;

        r = sd_journal_get_data(j, name, &data, &len);
        if (r < 0)
                return r;
        if (len <= n || memcmp(data, name, n) != 0 || ((const char *) data)[n] != '=')
                return -EBADMSG;
        len -= n + 1;
        if (len >= size)
                return -E2BIG;
        memcpy(buf, (const char *) data + n + 1, len);
        buf[len] = 0;
        return (int) len;
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* Rebuilds the current entry into line (size bytes); its length, or < 0 to skip it. */
static int rebuild(sd_journal *j, const JournalAuditRange *range, char *line, size_t size) {
        _cleanup_(freep) char *message = NULL;
        char serial[32], stamp[32], type[16];
        const char *name, *body, *space;
        const void *data;
        size_t len;
        uint64_t usec;
        int r, n;

        if (field(j, "_AUDIT_ID", serial, sizeof(serial)) < 0 || !all_digits(serial) ||
            field(j, "_SOURCE_REALTIME_TIMESTAMP", stamp, sizeof(stamp)) < 0 || !all_digits(stamp))
                return -EBADMSG;
        usec = strtoull(stamp, NULL, 10);
        if (range->has_since && (int64_t) (usec / 1000) < range->since_ms)
                return -ERANGE;
        if (range->has_until && (int64_t) (usec / 1000) > range->until_ms)
                return -ERANGE;

        r = sd_journal_get_data(j, "MESSAGE", &data, &len);
        if (r < 0 || len <= strlen("MESSAGE="))
                return -EBADMSG;
        message = strndup((const char *) data + strlen("MESSAGE="), len - strlen("MESSAGE="));
        if (!message)
                return -ENOMEM;
        if (strchr(message, '\n'))
                return -EBADMSG; /* one record is one line */
        space = strchr(message, ' ');
        if (!space)
                return -EBADMSG;
        body = space + 1;
        message[space - message] = 0;
        name = message;
        if (all_digits(name)) {
                /* journald did not know the name: ours, by _AUDIT_TYPE */
                name = NULL;
                if (field(j, "_AUDIT_TYPE", type, sizeof(type)) >= 0)
                        for (size_t k = 0; k < ELEMENTSOF(audit_types); k++)
                                if (atoi(type) == audit_types[k].type)
                                        name = audit_types[k].name;
                if (!name)
                        return -EBADMSG;
        }

        n = snprintf(line, size, "type=%s msg=audit(%" PRIu64 ".%03" PRIu64 ":%s): %s\n", name,
                     usec / 1000000, usec / 1000 % 1000, serial, body);
        if (n < 0 || (size_t) n >= size)
                return -E2BIG;
        return n;
}

struct JournalAudit {
        sd_journal *journal;
        JournalAuditRange range;
        char *directory;
        char *line;
        JournalAuditCounts counts;
        bool end;
};

#define JOURNAL_LINE_MAX (64 * 1024 + 128) /* a record (RECORD_LINE_MAX) and its stamp */

JournalAudit *journal_audit_free(JournalAudit *j) {
        if (!j)
                return NULL;
        sd_journal_close(j->journal);
        free(j->directory);
        free(j->line);
        free(j);
        return NULL;
}

int journal_audit_open(const JournalAuditRange *range, JournalAudit **ret) {
        _cleanup_(journal_audit_freep) JournalAudit *j = NULL;
        char match[64];
        int r;

        if (!range || !ret)
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->range = *range;
        j->line = malloc(JOURNAL_LINE_MAX);
        if (!j->line)
                return -ENOMEM;
        if (range->directory) {
                j->directory = strdup(range->directory);
                if (!j->directory)
                        return -ENOMEM;
                j->range.directory = j->directory;
                r = sd_journal_open_directory(&j->journal, range->directory, 0);
        } else
                r = sd_journal_open(&j->journal, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;

        r = sd_journal_add_match(j->journal, "_TRANSPORT=audit", 0);
        for (size_t k = 0; r >= 0 && k < ELEMENTSOF(audit_types); k++) {
                snprintf(match, sizeof(match), "_AUDIT_TYPE=%d", audit_types[k].type);
                r = sd_journal_add_match(j->journal, match, 0);
        }
        if (r < 0)
                return r;
        if (range->has_since && (uint64_t) range->since_ms * 1000 > JOURNAL_SLACK_USEC)
                r = sd_journal_seek_realtime_usec(j->journal, (uint64_t) range->since_ms * 1000 -
                                                                      JOURNAL_SLACK_USEC);
        else
                r = sd_journal_seek_head(j->journal);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

const JournalAuditCounts *journal_audit_counts(const JournalAudit *j) {
        return &j->counts;
}

int journal_audit_read(JournalAudit *j, size_t max, JournalAuditLineFunc cb, void *userdata) {
        const JournalAuditRange *range;
        int r;

        if (!j || !cb)
                return -EINVAL;
        range = &j->range;
        for (size_t n = 0; !j->end && n < max; n++) {
                uint64_t received;

                r = sd_journal_next(j->journal);
                if (r < 0)
                        return r;
                if (r == 0 ||
                    (range->has_until && sd_journal_get_realtime_usec(j->journal, &received) >= 0 &&
                     received > (uint64_t) range->until_ms * 1000 + JOURNAL_SLACK_USEC)) {
                        j->end = true;
                        break;
                }
                r = rebuild(j->journal, range, j->line, JOURNAL_LINE_MAX);
                if (r == -ENOMEM)
                        return r;
                if (r == -ERANGE)
                        continue;
                j->counts.entries++;
                if (r < 0) {
                        j->counts.skipped++;
                        continue;
                }
                r = cb(j->line, (size_t) r, userdata);
                if (r < 0)
                        return r;
        }
        return j->end ? 0 : 1;
}
