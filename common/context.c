/* SPDX-License-Identifier: MIT */
/* SELinux contexts and MCS category sets. A context from the audit stream is only trusted as
 * far as this grammar goes: user:role:type[:level], level = sN[:cats][-sN[:cats]], cats a comma
 * list of cN or cN.cM (N < 1024), sensitivities s0..s15. The MCS text handed on is the category
 * part of the high level, because that is what a container engine assigns (s0:c1,c2 and
 * s0-s0:c0.c1023 alike), and it is copied verbatim so that it matches what the user typed. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "macro.h"

/* refpolicy and MCS policies define s0..s15. */
#define MLS_SENSITIVITY_MAX 15

typedef struct Level {
        const char *cats; /* category text of the high level, not NUL terminated */
        size_t cats_len;
} Level;

static bool is_ident_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
}

/* Decimal number of 1..4 digits without a superfluous leading zero, below limit. */
static int parse_small_number(const char **p, unsigned limit, unsigned *ret) {
        const char *q = *p;
        unsigned v = 0;

        if (*q < '0' || *q > '9')
                return -EINVAL;
        if (*q == '0' && q[1] >= '0' && q[1] <= '9')
                return -EINVAL;
        while (*q >= '0' && *q <= '9') {
                v = v * 10 + (unsigned) (*q - '0');
                if (v >= limit)
                        return -EINVAL;
                q++;
        }
        *p = q;
        *ret = v;
        return 0;
}

static int parse_category(const char **p, unsigned *ret) {
        if (**p != 'c')
                return -EINVAL;
        (*p)++;
        return parse_small_number(p, MCS_CATEGORIES_MAX, ret);
}

/* cats: cN[.cM](,cN[.cM])*. Sets the bits in set when non-NULL. */
static int parse_categories(const char **p, McsSet *set) {
        const char *q = *p;

        for (;;) {
                unsigned lo, hi;

                if (parse_category(&q, &lo) < 0)
                        return -EINVAL;
                hi = lo;
                if (*q == '.') {
                        q++;
                        if (parse_category(&q, &hi) < 0 || hi <= lo)
                                return -EINVAL;
                }
                if (set)
                        for (unsigned c = lo; c <= hi; c++)
                                set->bits[c / 64] |= UINT64_C(1) << (c % 64);
                if (*q != ',')
                        break;
                q++;
        }
        *p = q;
        return 0;
}

/* sN[:cats]; the category text is reported through ret_cats. */
static int parse_one_level(const char **p, McsSet *set, const char **ret_cats, size_t *ret_len) {
        const char *q = *p, *cats = q;
        unsigned sens;

        if (*q != 's')
                return -EINVAL;
        q++;
        if (parse_small_number(&q, MLS_SENSITIVITY_MAX + 1, &sens) < 0)
                return -EINVAL;
        if (*q == ':') {
                q++;
                cats = q;
                if (parse_categories(&q, set) < 0)
                        return -EINVAL;
        } else
                cats = q;
        *ret_cats = cats;
        *ret_len = (size_t) (q - cats);
        *p = q;
        return 0;
}

/* level = low[-high], must reach the end of the string. Categories of the high level (or the
 * only level) are reported, and set into `set` when given. */
static int parse_level(const char *p, McsSet *set, Level *ret) {
        const char *cats;
        size_t len;
        McsSet scratch = {};

        /* The low level's categories do not count: parse them into a scratch set. */
        if (parse_one_level(&p, &scratch, &cats, &len) < 0)
                return -EINVAL;
        if (*p == '-') {
                p++;
                if (parse_one_level(&p, set, &cats, &len) < 0)
                        return -EINVAL;
        } else if (set)
                *set = scratch;
        if (*p != '\0')
                return -EINVAL;
        *ret = (Level){.cats = cats, .cats_len = len};
        return 0;
}

static const char *skip_ident(const char *p) {
        while (is_ident_char(*p))
                p++;
        return p;
}

static int context_parse(const char *context, ContextParts *ret) {
        const char *p, *type, *type_end;
        Level level = {};

        p = context;
        for (int i = 0; i < 2; i++) { /* user, role */
                const char *e = skip_ident(p);
                if (e == p || *e != ':')
                        return -EINVAL;
                p = e + 1;
        }
        type = p;
        type_end = skip_ident(p);
        if (type_end == type)
                return -EINVAL;
        if (*type_end == ':') {
                if (parse_level(type_end + 1, NULL, &level) < 0)
                        return -EINVAL;
        } else if (*type_end != '\0')
                return -EINVAL;
        *ret = (ContextParts){.type_off = (size_t) (type - context),
                              .type_len = (size_t) (type_end - type),
                              .cats_off = level.cats ? (size_t) (level.cats - context) : 0,
                              .cats_len = level.cats_len};
        return 0;
}

/* The daemon checks the two contexts of every denial (the parser, which hands the parts on to
 * the assembler), and they are nearly always the ones of the denial before: the last valid
 * contexts split are remembered, per thread (the reader's and the loop's). */
#define CONTEXT_MEMO_ENTRIES 4
#define CONTEXT_MEMO_TEXT_MAX 256

typedef struct ContextMemo {
        char text[CONTEXT_MEMO_TEXT_MAX]; /* "" when empty */
        ContextParts parts;
} ContextMemo;

static _Thread_local ContextMemo context_memo[CONTEXT_MEMO_ENTRIES];
static _Thread_local unsigned context_memo_next;

int context_locate(const char *context, ContextParts *ret) {
        size_t len;
        int r;

        if (!context || !ret)
                return -EINVAL;

        for (size_t i = 0; i < CONTEXT_MEMO_ENTRIES; i++)
                if (context_memo[i].text[0] && strcmp(context_memo[i].text, context) == 0) {
                        *ret = context_memo[i].parts;
                        return 0;
                }
        r = context_parse(context, ret);
        if (r < 0)
                return r;
        len = strlen(context);
        if (len > 0 && len < CONTEXT_MEMO_TEXT_MAX) {
                ContextMemo *m = context_memo + context_memo_next++ % CONTEXT_MEMO_ENTRIES;
                memcpy(m->text, context, len + 1);
                m->parts = *ret;
        }
        return 0;
}

int context_split(const char *context, char *ret_type, size_t n_type, char *ret_mcs, size_t n_mcs) {
        ContextParts parts;

        if (context_locate(context, &parts) < 0)
                return -EINVAL;

        if (ret_type && parts.type_len + 1 > n_type)
                return -ENOBUFS;
        if (ret_mcs && parts.cats_len + 1 > n_mcs)
                return -ENOBUFS;

        if (ret_type) {
                memcpy(ret_type, context + parts.type_off, parts.type_len);
                ret_type[parts.type_len] = '\0';
        }
        if (ret_mcs) {
                if (parts.cats_len > 0)
                        memcpy(ret_mcs, context + parts.cats_off, parts.cats_len);
                ret_mcs[parts.cats_len] = '\0';
        }
        return 0;
}

bool context_is_valid(const char *context) {
        return context_split(context, NULL, 0, NULL, 0) >= 0;
}

int mcs_set_parse(const char *s, McsSet *ret) {
        McsSet set = {};
        Level level;

        if (!s || !ret)
                return -EINVAL;

        if (*s == 's') {
                if (parse_level(s, &set, &level) < 0)
                        return -EINVAL;
        } else if (*s != '\0') {
                const char *p = s;
                if (parse_categories(&p, &set) < 0 || *p != '\0')
                        return -EINVAL;
        }

        *ret = set;
        return 0;
}

static bool mcs_set_has(const McsSet *s, unsigned c) {
        return s->bits[c / 64] & (UINT64_C(1) << (c % 64));
}

bool mcs_set_is_empty(const McsSet *s) {
        if (!s)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(s->bits); i++)
                if (s->bits[i])
                        return false;
        return true;
}

bool mcs_set_equal(const McsSet *a, const McsSet *b) {
        if (!a || !b)
                return a == b;
        return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

int mcs_set_format(const McsSet *s, char *buf, size_t n) {
        size_t o = 0;

        if (!s || !buf || n == 0)
                return -ENOBUFS;

        buf[0] = '\0';
        for (unsigned c = 0; c < MCS_CATEGORIES_MAX; c++) {
                unsigned end = c;
                int k;

                if (!mcs_set_has(s, c))
                        continue;
                while (end + 1 < MCS_CATEGORIES_MAX && mcs_set_has(s, end + 1))
                        end++;

                if (end - c >= 2) /* a run of 3 or more */
                        k = snprintf(buf + o, n - o, "%sc%u.c%u", o ? "," : "", c, end);
                else if (end > c)
                        k = snprintf(buf + o, n - o, "%sc%u,c%u", o ? "," : "", c, end);
                else
                        k = snprintf(buf + o, n - o, "%sc%u", o ? "," : "", c);
                if (k < 0 || (size_t) k >= n - o)
                        return -ENOBUFS;
                o += (size_t) k;
                c = end;
        }
        return (int) o;
}
