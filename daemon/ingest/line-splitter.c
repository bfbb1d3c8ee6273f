/* SPDX-License-Identifier: MIT */
/* Line splitting (line-splitter.h). A complete line inside a chunk is handed over where it lies,
 * without a copy; only a line cut by the end of a chunk is copied into the carry buffer. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "line-splitter.h"

int line_splitter_init(LineSplitter *ls, size_t max) {
        *ls = (LineSplitter){.max = max};
        ls->carry = malloc(max ? max : 1);
        return ls->carry ? 0 : -ENOMEM;
}

void line_splitter_done(LineSplitter *ls) {
        free(ls->carry);
        *ls = (LineSplitter){};
}

int line_splitter_feed(LineSplitter *ls, const char *p, size_t n, line_splitter_cb cb,
                       void *userdata) {
        while (n > 0) {
                const char *nl = memchr(p, '\n', n);
                size_t seg = nl ? (size_t) (nl - p) : n;
                int r = 0;

                if (ls->skipping) {
                        /* rest of an over-long line, already reported */
                        if (nl)
                                ls->skipping = false;
                } else if (ls->carry_len + seg > ls->max) {
                        /* too long: report it once, drop what we have and skip to its end */
                        ls->carry_len = 0;
                        ls->skipping = !nl;
                        r = cb(NULL, 0, userdata);
                } else if (!nl) {
                        memcpy(ls->carry + ls->carry_len, p, seg);
                        ls->carry_len += seg;
                } else if (ls->carry_len > 0) {
                        memcpy(ls->carry + ls->carry_len, p, seg);
                        r = cb(ls->carry, ls->carry_len + seg, userdata);
                        ls->carry_len = 0;
                } else
                        r = cb(p, seg, userdata);
                if (r < 0)
                        return r;

                if (!nl)
                        break;
                p = nl + 1;
                n -= seg + 1;
        }
        return 0;
}

int line_splitter_finish(LineSplitter *ls, line_splitter_cb cb, void *userdata) {
        int r = 0;

        if (!ls->skipping && ls->carry_len > 0)
                r = cb(ls->carry, ls->carry_len, userdata);
        ls->carry_len = 0;
        ls->skipping = false;
        return r;
}

bool line_count(const char *line, size_t len, uint64_t *records, uint64_t *malformed) {
        if (!line) {
                (*records)++;
                (*malformed)++;
                return false;
        }
        if (line_is_blank(line, len))
                return false;
        (*records)++;
        return true;
}

bool line_is_blank(const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
                        return false;
        return true;
}
