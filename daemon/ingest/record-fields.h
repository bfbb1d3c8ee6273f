/* SPDX-License-Identifier: MIT */
#pragma once

/* The fields of an audit record's body, split the way auditd's own tools (libauparse) split
 * them, without libauparse: `name=value` words separated by spaces, and for an AVC the two words
 * the kernel writes without a name (the verdict, and the permissions between braces). Pure: no
 * allocation, no I/O; the reader points into the caller's text (the permissions excepted, which
 * are joined in the reader's own buffer).
 *
 * What it hands out is what auparse_get_field_name()/auparse_get_field_str() return for the
 * same body behind a `type=AVC msg=audit(...): ` (or any other type's) prefix, in the same
 * order: the differential test (tests/unit/test-record-fields.c) and the fuzz target
 * fuzz-record-fields-diff hold the two side by side. The rules, in short:
 * - words are split at spaces only (a tab is part of a word);
 * - a word with '=' is a field: the name before the first '=', without a leading '('; the value
 *   after it, without one trailing ':', then one ',', then one '\'', then one ')' (except for the
 *   values "(none)" and "(null)"). A word whose value is empty is no field;
 * - `msg=audit...` words are dropped; `msg='NAME=VALUE` is the field NAME (USER_AVC's text);
 * - a word without '=' is dropped, except in an AVC, where the first such word after the
 *   record's first field position is the verdict ("seresult", unless it begins with "avc"), and a
 *   word beginning with '{' in the second position starts the permissions ("seperms"): every
 *   following word up to one beginning with '}', joined with ','. More than
 *   RECORD_FIELDS_PERMS_MAX bytes of them make the whole record malformed;
 * - a byte 0x1d ends the body (auditd's interpretations follow it).
 * The positions count fields the way auparse does: its `key=` field may stand for several
 * fields (auditd's virtual keys, hex-encoded and separated by 0x01), so a key= before the verdict
 * moves it. A key= field is handed out once, with its value as written. */

#include <stdbool.h>
#include <stddef.h>

/* auparse joins the permissions in a 256-byte buffer, refusing the record when the next one and
 * its NUL would not fit: the same bound here, so that the same records are refused. */
#define RECORD_FIELDS_PERMS_MAX 256

typedef struct RecordField {
        const char *name;
        size_t name_len;
        const char *value; /* not NUL terminated */
        size_t value_len;
} RecordField;

typedef struct RecordFields {
        const char *p, *end;
        bool avc_grammar;
        unsigned position; /* fields so far as auparse counts them, its type= field being 1 */
        char perms[RECORD_FIELDS_PERMS_MAX];
} RecordFields;

/* Starts reading BODY (len bytes, need not be NUL terminated; a NUL byte is an ordinary byte
 * here: callers refuse them before). avc_grammar: the record is an AVC (or the text of a
 * USER_AVC), whose verdict and permissions have no names. */
void record_fields_init(RecordFields *f, const char *body, size_t len, bool avc_grammar);

/* The next field: returns 1 and fills *ret (valid until the next call), 0 at the end, or
 * -EBADMSG when the record is malformed (permissions too long): then the whole record is. */
int record_fields_next(RecordFields *f, RecordField *ret);
