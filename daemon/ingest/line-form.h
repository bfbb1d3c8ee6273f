/* SPDX-License-Identifier: MIT */
#pragma once

/* Line-form detection: which of the accepted textual forms an input line is in, and
 * where its audit stamp, record type and body are. Pure: no allocation, no I/O.
 *
 * Accepted forms (see docs/architecture.md):
 *   LINE_FORM_RAW        [node=N ]type=NAME msg=audit(SEC.MS:SERIAL): BODY[\x1dENRICHED]
 *                        (audit.log, ausearch --raw; leading blanks tolerated; also the
 *                         `ausearch -i` stamp audit(MM/DD/YYYY HH:MM:SS.mmm:SERIAL) : ; and
 *                         behind a syslog prefix ending in ": ", as audisp-syslog writes it)
 *   LINE_FORM_KERNEL_LOG <anything> audit: type=NNNN audit(SEC.MS:SERIAL): BODY
 *                        (dmesg, syslog, journalctl -k)
 *   LINE_FORM_JOURNALD   <anything> audit[PID]: NAME BODY   (no stamp)
 *   LINE_FORM_BARE       avc:  denied ...                    (no stamp, no type)
 *   LINE_FORM_SEPARATOR  ausearch's `----` and `time->...` lines (not records)
 *   LINE_FORM_BLANK      empty or white space only
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum LineForm {
        LINE_FORM_RAW,
        LINE_FORM_KERNEL_LOG,
        LINE_FORM_JOURNALD,
        LINE_FORM_BARE,
        LINE_FORM_SEPARATOR,
        LINE_FORM_BLANK,
        _LINE_FORM_MAX,
} LineForm;

/* The stamp inside audit(...): time in milliseconds since the epoch and the serial. */
typedef struct AuditStamp {
        int64_t time_ms;
        uint64_t serial;
} AuditStamp;

#define AUDIT_NODE_MAX 64 /* node= names longer than this are refused as malformed */

typedef struct LineInfo {
        LineForm form;
        bool has_stamp;
        AuditStamp stamp;
        int type;         /* numeric record type (1400, 1107, ...), 0 unknown */
        const char *node; /* points into the line; not NUL terminated */
        size_t node_len;
        const char *body; /* first byte after "): " (or the avc: for BARE); into line */
        size_t body_len;  /* up to the end, excluding an ENRICHED \x1d tail, CR, LF */
} LineInfo;

/* Classifies `line` (length `len`, need not be NUL terminated; a trailing "\n" or "\r\n" is
 * ignored). Returns 0 and fills *ret, or -EBADMSG when the line is in none of the forms. */
int line_form_classify(const char *line, size_t len, LineInfo *ret);

const char *line_form_to_string(LineForm f);
