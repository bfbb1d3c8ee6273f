/* SPDX-License-Identifier: MIT */
/* Record fields: the body of an audit record split into name=value fields, on the ingest hot
 * path (file and kernel alike) instead of libauparse.
 *
 * Decisions:
 * - The split is auparse's, quirks included (record-fields.h lists them), not a cleaner one:
 *   what the daemon stores must not change with the tokenizer, for well-formed and damaged
 *   records alike. A tokenizer of our own that, say, kept `"a b"` together would turn records
 *   refused today into stored ones. The differential test and fuzz target guard that.
 * - One pass over the text, no copy of it and no allocation: auparse copied each line twice,
 *   allocated a node array and a name per AVC word, and grouped records into events we group
 *   ourselves (assembler.c). Only the permissions are joined, in the reader's own bounded buffer.
 * - The reader hands out every field; choosing which ones matter is record.c's job. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "record-fields.h"
#include "strutil.h"

#define INTERP_SEPARATOR '\x1d'

static bool word_starts_with(const char *w, size_t n, const char *prefix, size_t plen) {
        return n >= plen && memcmp(w, prefix, plen) == 0;
}

void record_fields_init(RecordFields *f, const char *body, size_t len, bool avc_grammar) {
        const char *cut = memchr(body, INTERP_SEPARATOR, len);

        *f = (RecordFields){
                .p = body,
                .end = cut ?: body + len,
                .avc_grammar = avc_grammar,
                .position = 1,
        };
}

/* The first ' ' or '=' in [p, end), or end. Every name and every unnamed word of a record goes
 * through here, a tenth of a denial's parsing when it went byte by byte: eight bytes are tested
 * at once where eight remain (never beyond end). A byte equal to c is a zero byte of x ^ c;
 * (v - 0x01..) & ~v & 0x80.. marks the zero bytes of v, and its lowest mark is always a true one
 * (a borrow only marks bytes above a zero byte), so the lowest mark of either test is the first
 * ' ' or '='. */
static inline const char *find_space_or_eq(const char *p, const char *end) {
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
 * name is scanned by find_space_or_eq() (a few bytes: shorter than a call costs), the value,
 * often a context or a path, with memchr(). */
static inline bool next_word(RecordFields *f, const char **ret, size_t *ret_len,
                             const char **ret_eq) {
        const char *p = f->p, *end = f->end, *w, *eq = NULL;

        while (p < end && *p == ' ')
                p++;
        if (p >= end) {
                f->p = p;
                return false;
        }
        w = p;
        p = find_space_or_eq(p, end);
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

/* How many fields auparse makes of a key= value (it splits auditd's virtual keys): one for a
 * "quoted" or (parenthesised) value and for one without two leading hex digits; otherwise the
 * leading hex digits are decoded (an odd last digit is a high nibble), the bytes up to the first
 * NUL are split at 0x01, and each non-empty piece is a field. */
static unsigned key_field_count(const char *v, size_t n) {
        size_t digits = 0;
        unsigned pieces = 0;
        bool in_piece = false;

        if (n > 0 && (v[0] == '(' || v[0] == '"'))
                return 1;
        while (digits < n && unhex_char(v[digits]) >= 0)
                digits++;
        if (digits < 2)
                return 1;
        for (size_t i = 0; i < digits; i += 2) {
                int byte = unhex_char(v[i]) << 4 | (i + 1 < digits ? unhex_char(v[i + 1]) : 0);

                if (byte == 0)
                        break;
                if (byte == 0x01)
                        in_piece = false;
                else if (!in_piece) {
                        in_piece = true;
                        pieces++;
                }
        }
        return pieces;
}

/* name=value: 1 and *ret filled for a field, 0 for a word that is none. */
static int word_to_field(RecordFields *f, const char *w, size_t n, const char *eq,
                         RecordField *ret) {
        const char *name = w, *end = w + n, *v;
        size_t vlen;

        if (word_starts_with(w, n, "msg=", 4) && n > 4) {
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
                f->position += key_field_count(v, vlen);
        else
                f->position++;
        return 1;
}

/* The words between "{" and "}", joined with ','. */
static int collect_permissions(RecordFields *f, RecordField *ret) {
        const char *w, *eq;
        size_t n, total = 0;

        while (next_word(f, &w, &n, &eq) && w[0] != '}') {
                if (n + 1 >= RECORD_FIELDS_PERMS_MAX - total)
                        return -EBADMSG;
                if (total > 0)
                        f->perms[total++] = ',';
                memcpy(f->perms + total, w, n);
                total += n;
        }
        *ret = (RecordField){
                .name = "seperms",
                .name_len = strlen("seperms"),
                .value = f->perms,
                .value_len = total,
        };
        f->position++;
        return 1;
}

int record_fields_next(RecordFields *f, RecordField *ret) {
        const char *w, *eq;
        size_t n;

        while (next_word(f, &w, &n, &eq)) {
                if (eq) {
                        if (word_to_field(f, w, n, eq, ret) > 0)
                                return 1;
                        continue;
                }
                if (!f->avc_grammar)
                        continue;
                /* "avc:  denied  { read write } for ...": the verdict is the first unnamed word
                 * after avc:, the permissions the braces right after it. */
                if (f->position == 1) {
                        if (word_starts_with(w, n, "avc", 3))
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
                        return collect_permissions(f, ret);
        }
        return 0;
}
