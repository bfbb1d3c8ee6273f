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
 * - The reader hands out every field; choosing which ones matter is record.c's job.
 * - The per-word work is inline in record-fields.h (it runs for every word of every record);
 *   what is here is what runs once a record or less. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "record-fields.h"
#include "strutil.h"

#define INTERP_SEPARATOR '\x1d'

void record_fields_init(RecordFields *f, const char *body, size_t len, bool avc_grammar) {
        const char *cut = memchr(body, INTERP_SEPARATOR, len);

        record_fields_init_uncut(f, body, cut ? (size_t) (cut - body) : len, avc_grammar);
}

/* How many fields auparse makes of a key= value (it splits auditd's virtual keys): one for a
 * "quoted" or (parenthesised) value and for one without two leading hex digits; otherwise the
 * leading hex digits are decoded (an odd last digit is a high nibble), the bytes up to the first
 * NUL are split at 0x01, and each non-empty piece is a field. */
unsigned record_fields_key_count(const char *v, size_t n) {
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

/* The words between "{" and "}", joined with ','. */
int record_fields_permissions(RecordFields *f, RecordField *ret) {
        const char *w, *eq;
        size_t n, total = 0;

        while (record_fields_next_word(f, &w, &n, &eq) && w[0] != '}') {
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
