/* SPDX-License-Identifier: MIT */
/* Fuzz target: the policy-independent classification (daemon/triage/verdict.c). The input is
 * the denial's facts as text: a first byte for the reason (any value, out of range too) and one
 * for the two category flags, then NUL or newline separated fields: source type, target type,
 * class, permissions (space separated), booleans (space separated). The verdict must be in
 * range, the hint one static printable sentence that is not a piece of the input, and an escape
 * must come with its table row. */

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 5
#define LIST_MAX 32

static size_t split_list(char *s, const char **out) {
        size_t n = 0;
        for (char *save = NULL, *t = strtok_r(s, " ", &save); t && n < LIST_MAX;
             t = strtok_r(NULL, " ", &save))
                out[n++] = t;
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        char *text = malloc(size - 2 + 1);
        if (!text)
                return 0;
        memcpy(text, data + 2, size - 2);
        text[size - 2] = 0;

        char *field[FIELDS] = {0};
        char *p = text, *end = text + (size - 2);
        for (size_t i = 0; i < FIELDS && p <= end; i++) {
                field[i] = p;
                size_t n = strcspn(p, "\n");
                p[n] = 0;
                p += n + 1;
        }

        const char *perms[LIST_MAX], *booleans[LIST_MAX];
        size_t n_perms = field[3] ? split_list(field[3], perms) : 0;
        size_t n_booleans = field[4] ? split_list(field[4], booleans) : 0;
        TriageFacts f = {
                .reason = (TriageReason) (int8_t) data[0],
                .booleans = n_booleans ? booleans : NULL,
                .n_booleans = n_booleans,
                .source_type = field[0],
                .target_type = field[1],
                .tclass = field[2],
                .perms = n_perms ? perms : NULL,
                .n_perms = n_perms,
                .categories_differ = data[1] & 1,
                .target_has_categories = data[1] & 2,
        };
        TriageJudgement j;
        triage_judge(&f, &j);

        if ((unsigned) j.verdict >= _TRIAGE_VERDICT_MAX || !j.hint)
                abort();
        if ((j.verdict == TRIAGE_VERDICT_ESCAPE) != (j.escape != NULL))
                abort();
        if (j.hint >= text && j.hint <= end)
                abort();
        size_t len = strlen(j.hint);
        if (len == 0 || len > 400)
                abort();
        for (size_t i = 0; i < len; i++)
                if (!isprint((unsigned char) j.hint[i]))
                        abort();
        if (j.escape) {
                size_t n;
                const TriageEscape *t = triage_escape_table(&n);
                if (j.escape < t || j.escape >= t + n)
                        abort();
        }
        free(text);
        return 0;
}
