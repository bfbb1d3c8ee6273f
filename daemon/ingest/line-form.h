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
 *   LINE_FORM_JOURNALD   <anything> audit[PID]: NAME BODY   (no stamp; when the line starts
 *                        with journalctl's "Jul 20 20:55:38[.uuuuuu] " its time of day is kept,
 *                        without a year: see syslog_time_resolve())
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

/* journalctl's short time prefix: local time, no year. */
typedef struct SyslogTime {
        int month; /* 0..11 */
        int day, hour, minute, second;
        int ms; /* from a short-precise fraction; 0 without one */
} SyslogTime;

/* Synthetic serials of journalctl text lines start here: above every kernel serial (unsigned
 * 32-bit), and below 2^53, so that the serial is exact as a JSON number. */
#define SYNTHETIC_SERIAL_BASE (UINT64_C(1) << 48)

#define AUDIT_NODE_MAX 64 /* node= names longer than this are refused as malformed */

typedef struct LineInfo {
        LineForm form;
        bool has_stamp;
        AuditStamp stamp;
        int type;         /* numeric record type (1400, 1107, ...), 0 unknown */
        const char *node; /* points into the line; not NUL terminated */
        size_t node_len;
        const char *body;     /* first byte after "): " (or the avc: for BARE); into line */
        size_t body_len;      /* up to the end, excluding an ENRICHED \x1d tail, CR, LF */
        bool has_syslog_time; /* LINE_FORM_JOURNALD behind journalctl's time prefix */
        SyslogTime syslog_time;
} LineInfo;

/* Classifies `line` (length `len`, need not be NUL terminated; a trailing "\n" or "\r\n" is
 * ignored). Returns 0 and fills *ret, or -EBADMSG when the line is in none of the forms. */
int line_form_classify(const char *line, size_t len, LineInfo *ret);

const char *line_form_to_string(LineForm f);

/* The time of a SyslogTime in milliseconds since the epoch (local time, as journalctl prints
 * it), in the year that puts it at most a day after `ref_ms` (the file's mtime or the import
 * time): a log that crosses New Year before its reference gets the earlier year for its December
 * lines. -EBADMSG when the day does not exist in that year or the time is not storable. */
int syslog_time_resolve(const SyslogTime *t, int64_t ref_ms, int64_t *ret_ms);

/* A serial for a record without one (a journalctl text line), from its body: FNV-1a 64 of the
 * bytes, folded into [SYNTHETIC_SERIAL_BASE, 2 * SYNTHETIC_SERIAL_BASE). Stable across versions
 * (it is part of the store's dedupe key): never change the function. */
uint64_t synthetic_serial(const char *body, size_t len);
