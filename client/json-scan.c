/* SPDX-License-Identifier: MIT */
/* The strict scanner of json-scan.h. Depth is bounded as the parser's (VARLINK_DEPTH_MAX of
 * common/varlink.c); recursion depth is that bound. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-scan.h"
#include "macro.h"
#include "strutil.h"
#include "varlink.h"

#define JSON_SCAN_DEPTH_MAX 32
#define JSON_SCAN_INT_DIGITS_MAX 18 /* canonical: surely within int64 */

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* \uXXXX at p (after the backslash and 'u'): its value, and whether it is lower-case hex. */
static int read_hex4(const char *p, const char *end, bool *ret_lower) {
        int v = 0;

        if (end - p < 4)
                return -1;
        *ret_lower = true;
        for (int i = 0; i < 4; i++) {
                int h = hex_value(p[i]);
                if (h < 0)
                        return -1;
                if (p[i] >= 'A' && p[i] <= 'F')
                        *ret_lower = false;
                v = v * 16 + h;
        }
        return v;
}

static bool is_short_escape(uint32_t cp) {
        return cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f';
}

static size_t utf8_encode(uint32_t cp, char *out) {
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xc0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3f));
                return 2;
        }
        out[0] = (char) (0xe0 | (cp >> 12));
        out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
}

/* A string at p ('"'): *ret_end past its closing quote. Canonical: each character written the
 * way varlink_string_append() writes it. With out (room for end - p bytes), the string is decoded
 * there in the same pass (*ret_len, NUL-terminated); what it holds is meaningful only when the
 * string is canonical. The runs JSON writes as they are (json_plain_span()) are stepped over, or
 * copied, whole; the bytes between them are looked at one by one. */
static inline __attribute__((always_inline)) int scan_string_at(const char *p, const char *end,
                                                                const char **ret_end,
                                                                bool *canonical, char *out,
                                                                size_t *ret_len) {
        const unsigned char *s = (const unsigned char *) p + 1, *e = (const unsigned char *) end;
        char *o = out;

        for (;;) {
                size_t n = json_plain_span((const char *) s, (size_t) (e - s));
                if (out) {
                        memcpy(o, s, n);
                        o += n;
                }
                s += n;
                if (s >= e)
                        return -EBADMSG;
                if (*s == '"') {
                        *ret_end = (const char *) s + 1;
                        if (out) {
                                *o = 0;
                                *ret_len = (size_t) (o - out);
                        }
                        return 0;
                }
                if (*s < 0x20)
                        return -EBADMSG; /* a raw control byte */
                if (*s == '\\') {
                        if (e - s < 2)
                                return -EBADMSG;
                        char c;
                        switch (s[1]) {
                        case '"':
                        case '\\':
                                c = (char) s[1];
                                break;
                        case 'n':
                                c = '\n';
                                break;
                        case 'r':
                                c = '\r';
                                break;
                        case 't':
                                c = '\t';
                                break;
                        case 'b':
                                c = '\b';
                                break;
                        case 'f':
                                c = '\f';
                                break;
                        case '/':
                                *canonical = false; /* printed as '/' */
                                c = '/';
                                break;
                        case 'u': {
                                bool lower;
                                int cp = read_hex4((const char *) s + 2, end, &lower);
                                if (cp < 0)
                                        return -EBADMSG;
                                s += 6;
                                if (cp >= 0xd800 && cp <= 0xdbff) {
                                        /* a surrogate pair, or json-c's replacement: not
                                         * canonical, so nothing is decoded of it */
                                        *canonical = false;
                                        if (e - s >= 6 && s[0] == '\\' && s[1] == 'u' &&
                                            read_hex4((const char *) s + 2, end, &lower) >= 0)
                                                s += 6;
                                        continue;
                                }
                                if (!lower || is_short_escape((uint32_t) cp) ||
                                    !varlink_char_escaped((uint32_t) cp))
                                        *canonical = false;
                                /* 3 bytes of UTF-8 at most for 6 of escape */
                                if (out)
                                        o += utf8_encode((uint32_t) cp, o);
                                continue;
                        }
                        default:
                                return -EBADMSG;
                        }
                        if (out)
                                *o++ = c;
                        s += 2;
                        continue;
                }
                /* DEL, or a UTF-8 sequence */
                uint32_t cp;
                n = utf8_decode_char(s, &cp);
                if (n == 0 || (size_t) (e - s) < n)
                        return -EBADMSG;
                if (varlink_char_escaped(cp))
                        *canonical = false; /* DEL, C1, U+2028/9, bidi: printed escaped */
                if (out) {
                        memcpy(o, s, n);
                        o += n;
                }
                s += n;
        }
}

static int scan_string(const char *p, const char *end, const char **ret_end, bool *canonical) {
        return scan_string_at(p, end, ret_end, canonical, NULL, NULL);
}

static int scan_number(const char *p, const char *end, const char **ret_end, bool *canonical) {
        const char *s = p, *digits;

        if (s < end && *s == '-')
                s++;
        digits = s;
        if (s >= end || *s < '0' || *s > '9')
                return -EBADMSG;
        if (*s == '0')
                s++;
        else
                while (s < end && *s >= '0' && *s <= '9')
                        s++;
        if (s - digits > JSON_SCAN_INT_DIGITS_MAX ||
            (p[0] == '-' && s - digits == 1 && *digits == '0'))
                *canonical = false; /* -0, or a number json-c may print otherwise */
        if (s < end && *s == '.') {
                *canonical = false;
                s++;
                if (s >= end || *s < '0' || *s > '9')
                        return -EBADMSG;
                while (s < end && *s >= '0' && *s <= '9')
                        s++;
        }
        if (s < end && (*s == 'e' || *s == 'E')) {
                *canonical = false;
                s++;
                if (s < end && (*s == '+' || *s == '-'))
                        s++;
                if (s >= end || *s < '0' || *s > '9')
                        return -EBADMSG;
                while (s < end && *s >= '0' && *s <= '9')
                        s++;
        }
        *ret_end = s;
        return 0;
}

static inline __attribute__((always_inline)) const char *skip_space(const char *p, const char *end,
                                                                    bool *canonical) {
        const char *s = p;

        /* What follows a token is almost never white space (never in canonical text). */
        if (_likely_(s >= end || (unsigned char) *s > ' '))
                return s;
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
                s++;
        if (s != p)
                *canonical = false;
        return s;
}

/* The characters of a canonical key. */
static const bool key_char[256] = {
        ['0' ... '9'] = true,
        ['A' ... 'Z'] = true,
        ['a' ... 'z'] = true,
        ['_'] = true,
};

/* A key at p ('"'): *ret_end past it. When it is all key_char[] (canonical), it is read here in
 * one look at each byte; any other goes through scan_string() and is not canonical. */
static inline __attribute__((always_inline)) int scan_key(const char *p, const char *end,
                                                          const char **ret_end, bool *canonical) {
        const unsigned char *s = (const unsigned char *) p + 1, *e = (const unsigned char *) end;

        while (s < e && key_char[*s])
                s++;
        if (s < e && *s == '"') {
                *ret_end = (const char *) s + 1;
                return 0;
        }
        *canonical = false;
        return scan_string(p, end, ret_end, canonical);
}

/* Duplicate keys of one object: json-c keeps the last one only, so such an object is not
 * canonical. A 256-bit filter on (length, first and last character) makes the exact comparison
 * rare: a row has some 30 keys. */
#define JSON_SCAN_KEYS_MAX 64

typedef struct KeySet {
        const char *key[JSON_SCAN_KEYS_MAX];
        size_t len[JSON_SCAN_KEYS_MAX];
        size_t n;
        uint64_t filter[4];
} KeySet;

/* false when key (without quotes) was seen in this object, or there are too many to tell. */
static bool key_set_add(KeySet *k, const char *key, size_t len) {
        unsigned h = len ? (unsigned) (len * 37 + (unsigned char) key[0] * 11 +
                                       (unsigned char) key[len - 1]) %
                                     256
                         : 0;
        uint64_t bit = UINT64_C(1) << (h % 64);

        if (k->filter[h / 64] & bit)
                for (size_t i = 0; i < k->n; i++)
                        if (k->len[i] == len && memcmp(k->key[i], key, len) == 0)
                                return false;
        if (k->n == JSON_SCAN_KEYS_MAX)
                return false;
        k->filter[h / 64] |= bit;
        k->key[k->n] = key;
        k->len[k->n] = len;
        k->n++;
        return true;
}

/* Where a row's values of some keys begin (QueryPageText's keys and values). The keys are found
 * through an open-addressed table on (length, first and last character): a row's 30 members
 * against up to QUERY_PAGE_KEYS_MAX keys. */
#define ROW_KEYS_SLOTS 64 /* a power of two, over twice QUERY_PAGE_KEYS_MAX */

typedef struct RowKeys {
        const char *const *keys;
        size_t lens[QUERY_PAGE_KEYS_MAX];
        size_t n;
        uint8_t slot[ROW_KEYS_SLOTS]; /* key index + 1, 0: empty */
        const char **values;
} RowKeys;

static unsigned row_keys_hash(const char *key, size_t len) {
        return len == 0 ? 0
                        : (unsigned) (len * 37 + (unsigned char) key[0] * 11 +
                                      (unsigned char) key[len - 1]) %
                                  ROW_KEYS_SLOTS;
}

static void row_keys_init(RowKeys *row_keys, const char *const *keys, size_t n) {
        *row_keys = (RowKeys){.keys = keys, .n = MIN(n, (size_t) QUERY_PAGE_KEYS_MAX)};
        for (size_t i = 0; i < row_keys->n; i++) {
                unsigned h;

                row_keys->lens[i] = strlen(keys[i]);
                for (h = row_keys_hash(keys[i], row_keys->lens[i]); row_keys->slot[h] != 0;
                     h = (h + 1) % ROW_KEYS_SLOTS)
                        ;
                row_keys->slot[h] = (uint8_t) (i + 1);
        }
}

/* A member of the row with this key (as it stands in the text) has its value at value. */
static void row_keys_find(const RowKeys *row_keys, const char *key, size_t len, const char *value) {
        for (unsigned h = row_keys_hash(key, len); row_keys->slot[h] != 0;
             h = (h + 1) % ROW_KEYS_SLOTS) {
                size_t i = row_keys->slot[h] - 1;
                if (row_keys->lens[i] == len && memcmp(row_keys->keys[i], key, len) == 0) {
                        row_keys->values[i] = value;
                        return;
                }
        }
}

/* A value at p. row_keys: p is a row, whose members' values of those keys are recorded. */
static int scan(const char *p, const char *end, unsigned depth, const char **ret_end,
                bool *canonical, const RowKeys *row_keys) {
        int r;

        if (p >= end)
                return -EBADMSG;
        switch (*p) {
        case '"':
                return scan_string(p, end, ret_end, canonical);
        case '{':
        case '[': {
                bool object = *p == '{';
                char close = object ? '}' : ']';
                const char *s;
                KeySet keys;

                keys.n = 0;
                memset(keys.filter, 0, sizeof(keys.filter));

                if (depth >= JSON_SCAN_DEPTH_MAX)
                        return -EBADMSG;
                s = skip_space(p + 1, end, canonical);
                if (s < end && *s == close) {
                        *ret_end = s + 1;
                        return 0;
                }
                for (;;) {
                        if (object) {
                                const char *k = s;
                                size_t key_len;
                                if (s >= end || *s != '"')
                                        return -EBADMSG;
                                r = scan_key(k, end, &s, canonical);
                                if (r < 0)
                                        return r;
                                key_len = (size_t) (s - k - 2);
                                if (*canonical && !key_set_add(&keys, k + 1, key_len))
                                        *canonical = false;
                                s = skip_space(s, end, canonical);
                                if (s >= end || *s != ':')
                                        return -EBADMSG;
                                s = skip_space(s + 1, end, canonical);
                                if (row_keys)
                                        row_keys_find(row_keys, k + 1, key_len, s);
                        }
                        /* a string, most of a row's values, without a call */
                        if (s < end && *s == '"')
                                r = scan_string_at(s, end, &s, canonical, NULL, NULL);
                        else
                                r = scan(s, end, depth + 1, &s, canonical, NULL);
                        if (r < 0)
                                return r;
                        s = skip_space(s, end, canonical);
                        if (s < end && *s == close) {
                                *ret_end = s + 1;
                                return 0;
                        }
                        if (s >= end || *s != ',')
                                return -EBADMSG;
                        s = skip_space(s + 1, end, canonical);
                }
        }
        /* fixed lengths: the comparisons are inlined */
        case 't':
                if (end - p < 4 || memcmp(p, "true", 4) != 0)
                        return -EBADMSG;
                *ret_end = p + 4;
                return 0;
        case 'f':
                if (end - p < 5 || memcmp(p, "false", 5) != 0)
                        return -EBADMSG;
                *ret_end = p + 5;
                return 0;
        case 'n':
                if (end - p < 4 || memcmp(p, "null", 4) != 0)
                        return -EBADMSG;
                *ret_end = p + 4;
                return 0;
        default:
                return scan_number(p, end, ret_end, canonical);
        }
}

int json_scan_value(const char *p, const char *end, const char **ret_end, bool *canonical) {
        return scan(p, end, 0, ret_end, canonical, NULL);
}

int json_scan_member_key(const char **p, const char *end, JsonMember *ret) {
        const char *s = *p, *k;
        bool canonical = true;
        int r;

        if (s < end && *s == '}')
                return 0;
        if (s >= end || (*s != '{' && *s != ','))
                return -EBADMSG;
        if (s + 1 < end && s[1] == '}')
                return 0;
        k = s + 1;
        if (k >= end || *k != '"')
                return -EBADMSG;
        r = scan_key(k, end, &s, &canonical);
        if (r < 0)
                return r;
        if (s >= end || *s != ':')
                return -EBADMSG;
        ret->key = k + 1;
        ret->key_len = (size_t) (s - k - 2);
        ret->value = s + 1;
        ret->value_end = NULL;
        *p = ret->value;
        return 1;
}

int json_scan_member_value(const char **p, const char *end, JsonMember *m) {
        bool canonical = true;
        int r;

        r = scan(m->value, end, 1, &m->value_end, &canonical, NULL);
        if (r < 0)
                return r;
        *p = m->value_end;
        return 0;
}

int json_scan_member(const char **p, const char *end, JsonMember *ret) {
        int r;

        r = json_scan_member_key(p, end, ret);
        if (r <= 0)
                return r;
        r = json_scan_member_value(p, end, ret);
        return r < 0 ? r : 1;
}

int json_scan_string_decode_into(const char *p, const char *end, const char **ret_end, char *out,
                                 size_t *ret_len) {
        bool canonical = true;

        if (p >= end || *p != '"' ||
            scan_string_at(p, end, ret_end, &canonical, out, ret_len) < 0 || !canonical)
                return -EBADMSG;
        return 0;
}

int json_scan_string_decode(const char *p, const char *end, char **ret, size_t *ret_len) {
        _cleanup_(freep) char *out = NULL;
        const char *e;

        if (p >= end)
                return -EBADMSG;
        out = malloc((size_t) (end - p));
        if (!out)
                return -ENOMEM;
        if (json_scan_string_decode_into(p, end, &e, out, ret_len) < 0 || e != end)
                return -EBADMSG;
        *ret = TAKE_PTR(out);
        return 0;
}

void query_page_text_done(QueryPageText *t) {
        free(t->rows);
        free(t->lens);
        free(t->canonical);
        free(t->values);
        *t = (QueryPageText){};
}

/* Room for one more row. */
static int page_grow(QueryPageText *t) {
        if (t->n == t->allocated || (t->n_keys > 0 && !t->values)) {
                size_t n = t->n == t->allocated ? (t->allocated ? t->allocated * 2 : 64)
                                                : t->allocated;
                const char **rows = reallocarray(t->rows, n, sizeof(*rows));
                if (!rows)
                        return -ENOMEM;
                t->rows = rows;
                size_t *lens = reallocarray(t->lens, n, sizeof(*lens));
                if (!lens)
                        return -ENOMEM;
                t->lens = lens;
                bool *c = reallocarray(t->canonical, n, sizeof(*c));
                if (!c)
                        return -ENOMEM;
                t->canonical = c;
                if (t->n_keys > 0) {
                        const char **v = reallocarray(t->values, n * t->n_keys, sizeof(*v));
                        if (!v)
                                return -ENOMEM;
                        t->values = v;
                }
                t->allocated = n;
        }
        return 0;
}

static bool skip_literal(const char **p, const char *end, const char *literal) {
        size_t n = strlen(literal);
        if ((size_t) (end - *p) < n || memcmp(*p, literal, n) != 0)
                return false;
        *p += n;
        return true;
}

/* A page's cursor at *p: any int64, written canonically (no leading zero). */
static int scan_cursor(const char **p, const char *end, int64_t *ret) {
        const char *s = *p;
        bool negative = skip_literal(&s, end, "-");
        uint64_t v = 0;
        const char *digits = s;

        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        if (s == digits || (*digits == '0' && s - digits > 1) ||
            v > (negative ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX))
                return -EBADMSG;
        *ret = negative ? (int64_t) (0 - v) : (int64_t) v;
        *p = s;
        return 0;
}

int query_page_text_parse(const char *text, size_t len, QueryPageText *t) {
        const char *p = text, *end = text + len;
        RowKeys keys;
        int r;

        row_keys_init(&keys, t->keys, t->n_keys);
        t->n = 0;
        t->has_next = false;
        if (!skip_literal(&p, end, "{\"parameters\":{\"denials\":["))
                return -EBADMSG;
        if (!skip_literal(&p, end, "]")) {
                for (;;) {
                        bool canonical = true;
                        const char *row = p;

                        if (p >= end || *p != '{')
                                return -EBADMSG;
                        r = page_grow(t);
                        if (r < 0)
                                return r;
                        keys.values = t->values + t->n * t->n_keys;
                        for (size_t i = 0; i < t->n_keys; i++)
                                keys.values[i] = NULL;
                        r = scan(p, end, 0, &p, &canonical, t->n_keys > 0 ? &keys : NULL);
                        if (r < 0)
                                return r;
                        t->rows[t->n] = row;
                        t->lens[t->n] = (size_t) (p - row);
                        t->canonical[t->n] = canonical;
                        t->n++;
                        if (skip_literal(&p, end, "]"))
                                break;
                        if (!skip_literal(&p, end, ","))
                                return -EBADMSG;
                }
        }
        if (skip_literal(&p, end, ",\"next\":") && !skip_literal(&p, end, "null")) {
                if (scan_cursor(&p, end, &t->next) < 0)
                        return -EBADMSG;
                t->has_next = true;
        }
        if (!skip_literal(&p, end, "}}") || p != end)
                return -EBADMSG;
        return 0;
}

int query_page_text_peek_next(const char *text, size_t len, bool *ret_has_next, int64_t *ret_next) {
        static const char member[] = ",\"next\":";
        const char *end = text + len, *p;

        /* ...],"next":CURSOR}} or ...],"next":null}} or ...]}} */
        if (len < 3 || memcmp(end - 2, "}}", 2) != 0)
                return -EBADMSG;
        if (end[-3] == ']') {
                *ret_has_next = false;
                return 0;
        }
        p = end - 2;
        while (p > text && ((*(p - 1) >= '0' && *(p - 1) <= '9') || *(p - 1) == '-' ||
                            (*(p - 1) >= 'a' && *(p - 1) <= 'z')))
                p--;
        if ((size_t) (p - text) < sizeof(member) - 1 ||
            memcmp(p - (sizeof(member) - 1), member, sizeof(member) - 1) != 0)
                return -EBADMSG;
        if (end - 2 - p == 4 && memcmp(p, "null", 4) == 0) {
                *ret_has_next = false;
                return 0;
        }
        if (scan_cursor(&p, end - 2, ret_next) < 0 || p != end - 2)
                return -EBADMSG;
        *ret_has_next = true;
        return 0;
}
