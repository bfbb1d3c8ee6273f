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
#include <stdint.h>
#include <string.h>

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

/* The same for a body known to hold no byte 0x1d (a LineInfo's body: line_form_classify() ends
 * it before the first one), without the search for it: once per record. perms is left as it is
 * (it is written before it is read), where zeroing it cost more than the rest. */
static inline void record_fields_init_uncut(RecordFields *f, const char *body, size_t len,
                                            bool avc_grammar) {
        f->p = body;
        f->end = body + len;
        f->avc_grammar = avc_grammar;
        f->position = 1;
}

/* ---- the per-word work, inline ----
 * record_fields_next() runs for every word of every record the daemon reads: as a call from
 * record.c it cost a call, a prologue and an epilogue per field, and its field went through
 * memory; inline in the one loop that calls it, none of that. The rare parts (a key= field's
 * count, an AVC's permissions) stay in record-fields.c. */

/* How many fields auparse makes of a key= value (record-fields.c). */
unsigned record_fields_key_count(const char *v, size_t n);
/* The words between "{" and "}", joined with ',' (record-fields.c): the "seperms" field. */
int record_fields_permissions(RecordFields *f, RecordField *ret);

static inline bool record_fields_starts_with(const char *w, size_t n, const char *prefix,
                                             size_t plen) {
        return n >= plen && memcmp(w, prefix, plen) == 0;
}

/* The first ' ' or '=' in [p, end), or end. Every name and every unnamed word of a record goes
 * through here, a tenth of a denial's parsing when it went byte by byte: eight bytes are tested
 * at once where eight remain (never beyond end). A byte equal to c is a zero byte of x ^ c;
 * (v - 0x01..) & ~v & 0x80.. marks the zero bytes of v, and its lowest mark is always a true one
 * (a borrow only marks bytes above a zero byte), so the lowest mark of either test is the first
 * ' ' or '='. */
static inline const char *record_fields_find_space_or_eq(const char *p, const char *end) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);

        while ((size_t) (end - p) >= 8) {
                uint64_t x, s, e, marks;

                memcpy(&x, p, 8);
                s = x ^ (ones * ' ');
                e = x ^ (ones * '=');
                marks = (((s - ones) & ~s) | ((e - ones) & ~e)) & highs;
                if (marks)
                        return p + __builtin_ctzll(marks) / 8;
                p += 8;
        }
#endif
        while (p < end && *p != ' ' && *p != '=')
                p++;
        return p;
}

/* The next space-separated word, or false at the end; *ret_eq is its first '=' or NULL. The
 * name is scanned by record_fields_find_space_or_eq() (a few bytes: shorter than a call costs),
 * the value, often a context or a path, with memchr(). */
static inline bool record_fields_next_word(RecordFields *f, const char **ret, size_t *ret_len,
                                           const char **ret_eq) {
        const char *p = f->p, *end = f->end, *w, *eq = NULL;

        while (p < end && *p == ' ')
                p++;
        if (p >= end) {
                f->p = p;
                return false;
        }
        w = p;
        p = record_fields_find_space_or_eq(p, end);
        if (p < end && *p == '=') {
                eq = p;
                p = memchr(p, ' ', (size_t) (end - p)) ?: end;
        }
        f->p = p;
        *ret = w;
        *ret_len = (size_t) (p - w);
        *ret_eq = eq;
        return true;
}

/* name=value: 1 and *ret filled for a field, 0 for a word that is none. */
static inline int record_fields_word(RecordFields *f, const char *w, size_t n, const char *eq,
                                     RecordField *ret) {
        const char *name = w, *end = w + n, *v;
        size_t vlen;

        if (record_fields_starts_with(w, n, "msg=", 4) && n > 4) {
                if (w[4] == 'a') /* msg=audit(...): the stamp */
                        return 0;
                if (w[4] == '\'') { /* USER_AVC's msg='NAME=VALUE */
                        name = w + 5;
                        eq = memchr(name, '=', (size_t) (end - name));
                        if (!eq)
                                return 0;
                }
        }
        if (*name == '(' && name < eq)
                name++;
        v = eq + 1;
        vlen = (size_t) (end - v);
        if (vlen == 0)
                return 0;
        if (v[vlen - 1] == ':')
                vlen--;
        if (vlen > 0 && v[vlen - 1] == ',')
                vlen--;
        if (vlen > 0 && v[vlen - 1] == '\'')
                vlen--;
        if (vlen > 0 && v[vlen - 1] == ')' &&
            !(vlen == 6 && (memcmp(v, "(none)", 6) == 0 || memcmp(v, "(null)", 6) == 0)))
                vlen--;

        *ret = (RecordField){
                .name = name,
                .name_len = (size_t) (eq - name),
                .value = v,
                .value_len = vlen,
        };
        if (ret->name_len == 3 && memcmp(name, "key", 3) == 0)
                f->position += record_fields_key_count(v, vlen);
        else
                f->position++;
        return 1;
}

/* The next field: returns 1 and fills *ret (valid until the next call), 0 at the end, or
 * -EBADMSG when the record is malformed (permissions too long): then the whole record is. */
static inline int record_fields_next(RecordFields *f, RecordField *ret) {
        const char *w, *eq;
        size_t n;

        while (record_fields_next_word(f, &w, &n, &eq)) {
                if (eq) {
                        if (record_fields_word(f, w, n, eq, ret) > 0)
                                return 1;
                        continue;
                }
                if (!f->avc_grammar)
                        continue;
                /* "avc:  denied  { read write } for ...": the verdict is the first unnamed word
                 * after avc:, the permissions the braces right after it. */
                if (f->position == 1) {
                        if (record_fields_starts_with(w, n, "avc", 3))
                                continue;
                        *ret = (RecordField){
                                .name = "seresult",
                                .name_len = strlen("seresult"),
                                .value = w,
                                .value_len = n,
                        };
                        f->position++;
                        return 1;
                }
                if (f->position == 2 && w[0] == '{')
                        return record_fields_permissions(f, ret);
        }
        return 0;
}
