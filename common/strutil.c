/* SPDX-License-Identifier: MIT */
/* String helpers. The terminal escaping is the last line of defence against strings that came
 * from inside a container (comm, path, proctitle ...): they may hold ESC sequences that retitle
 * or reprogram the administrator's terminal, so anything that is not printable UTF-8 is shown
 * as \xNN. U+0080..U+009F are C1 controls (CSI is U+009B) and are escaped too, and so are the
 * invisible characters (as \uXXXX): bidirectional controls, zero-width and other format
 * characters, line separators, fillers, which would let a name display as another one ("bd2" ZWSP
 * "x" shows as "bd2x"); other valid UTF-8 passes so that non-ASCII file names stay readable. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "macro.h"
#include "strutil.h"

/* 1 for the bytes json_plain_span() steps over: 0x20..0x7e but '"' (0x22) and '\\' (0x5c). */
static const uint8_t json_plain_byte[256] = {
        [0x20] = 1,
        [0x21] = 1,
        [0x23 ... 0x5b] = 1,
        [0x5d ... 0x7e] = 1,
};

#ifdef __SSE2__
/* Bit i set when byte i of v is not plain. v + 1 as int8: the controls become 0x01..0x20, DEL
 * -128, 0x80..0xfe negative and 0xff zero, all less than 0x21, and the plain bytes 0x21..0x7f;
 * the quote and the backslash are compared for equality. */
static inline unsigned json_plain_mask16(__m128i v) {
        __m128i low = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(1)), _mm_set1_epi8(0x21));
        __m128i bad = _mm_or_si128(low, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
        return (unsigned) _mm_movemask_epi8(bad);
}
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JSON_PLAIN_SWAR 1
#define BYTES(b) (UINT64_C(0x0101010101010101) * (b))
/* The top bit of byte i set when byte i of x (little-endian) is not plain: 8 bytes with integer
 * arithmetic. x - BYTES(n) borrows through a byte below n (zero when n is 1) and can mark a byte
 * above it that is not below n, never one under it: the lowest marked byte is exact, which is all
 * the callers read. From 0x80 on is the top bit itself. */
static inline uint64_t json_plain_mask8(uint64_t x) {
        uint64_t below_space = (x - BYTES(0x20)) & ~x, del = x ^ BYTES(0x7f),
                 quote = x ^ BYTES('"'), backslash = x ^ BYTES('\\');
        return (below_space | x | ((del - BYTES(1)) & ~del) | ((quote - BYTES(1)) & ~quote) |
                ((backslash - BYTES(1)) & ~backslash)) &
               BYTES(0x80);
}
#undef BYTES
#endif

/* The run at p[0..len), copied to dst when copy (inline with a constant copy: two functions,
 * each without the test). Every load is within p[0..len): the last piece is the whole block or
 * word that ends at len, overlapping bytes already known to be plain, whose mask bits are shifted
 * out. */
static inline size_t json_plain_run(char *dst, const unsigned char *p, size_t len, bool copy) {
        size_t i = 0;

#ifdef __SSE2__
        if (len >= 16) {
                /* 32 bytes a step, their masks as one. */
                for (; len - i >= 32; i += 32) {
                        __m128i a = _mm_loadu_si128((const __m128i *) (p + i)),
                                b = _mm_loadu_si128((const __m128i *) (p + i + 16));
                        if (copy) {
                                _mm_storeu_si128((__m128i *) (dst + i), a);
                                _mm_storeu_si128((__m128i *) (dst + i + 16), b);
                        }
                        unsigned mask = json_plain_mask16(a) | json_plain_mask16(b) << 16;
                        if (mask != 0)
                                return i + (size_t) __builtin_ctz(mask);
                }
                if (len - i >= 16) {
                        __m128i v = _mm_loadu_si128((const __m128i *) (p + i));
                        if (copy)
                                _mm_storeu_si128((__m128i *) (dst + i), v);
                        unsigned mask = json_plain_mask16(v);
                        if (mask != 0)
                                return i + (size_t) __builtin_ctz(mask);
                        i += 16;
                }
                if (i == len)
                        return len;
                __m128i v = _mm_loadu_si128((const __m128i *) (p + len - 16));
                if (copy)
                        _mm_storeu_si128((__m128i *) (dst + len - 16), v);
                unsigned mask = json_plain_mask16(v) >> (16 - (len - i));
                return mask != 0 ? i + (size_t) __builtin_ctz(mask) : len;
        }
#endif
#ifdef JSON_PLAIN_SWAR
        if (len >= 8) {
                uint64_t x;
                for (; len - i >= 8; i += 8) {
                        memcpy(&x, p + i, 8);
                        if (copy)
                                memcpy(dst + i, &x, 8);
                        uint64_t mask = json_plain_mask8(x);
                        if (mask != 0)
                                return i + (size_t) __builtin_ctzll(mask) / 8;
                }
                if (i == len)
                        return len;
                memcpy(&x, p + len - 8, 8);
                if (copy)
                        memcpy(dst + len - 8, &x, 8);
                uint64_t mask = json_plain_mask8(x) >> (8 * (8 - (len - i)));
                return mask != 0 ? i + (size_t) __builtin_ctzll(mask) / 8 : len;
        }
#endif
        for (; i < len && json_plain_byte[p[i]]; i++)
                if (copy)
                        dst[i] = (char) p[i];
        return i;
}

size_t json_plain_span(const char *s, size_t len) {
        return json_plain_run(NULL, (const unsigned char *) s, len, false);
}

size_t json_plain_copy(char *dst, const char *s, size_t len) {
        /* Blocks are stored whole, before looking at them: past the run they write bytes that
         * are still within dst[0..len), which the caller writes over. */
        return json_plain_run(dst, (const unsigned char *) s, len, true);
}

size_t utf8_decode_char(const unsigned char *s, uint32_t *ret_cp) {
        uint32_t cp;
        size_t n;

        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                n = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                cp = s[0] & 0x07;
        } else
                return 0;

        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL terminator */
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return n;
}

bool utf8_is_valid(const char *s) {
        uint32_t cp;

        if (!s)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = utf8_decode_char(p, &cp);
                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

bool unicode_is_bidi_control(uint32_t cp) {
        return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
               (cp >= 0x2066 && cp <= 0x2069);
}

bool unicode_is_invisible(uint32_t cp) {
        static const struct {
                uint32_t first, last;
        } ranges[] = {
                /* sorted; Cf, Zl, Zp and Default_Ignorable_Code_Point of Unicode 15.1 */
                {0x00ad, 0x00ad},   {0x034f, 0x034f},   {0x0600, 0x0605},   {0x061c, 0x061c},
                {0x06dd, 0x06dd},   {0x070f, 0x070f},   {0x0890, 0x0891},   {0x08e2, 0x08e2},
                {0x115f, 0x1160},   {0x17b4, 0x17b5},   {0x180b, 0x180f},   {0x200b, 0x200f},
                {0x2028, 0x202e},   {0x2060, 0x206f},   {0x3164, 0x3164},   {0xfe00, 0xfe0f},
                {0xfeff, 0xfeff},   {0xffa0, 0xffa0},   {0xfff0, 0xfffb},   {0x110bd, 0x110bd},
                {0x110cd, 0x110cd}, {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a},
                {0xe0000, 0xe0fff},
        };

        if (cp < 0xad)
                return false; /* ASCII and C1: the fast path, escaped as bytes elsewhere */
        for (size_t i = 0; i < ELEMENTSOF(ranges) && ranges[i].first <= cp; i++)
                if (cp <= ranges[i].last)
                        return true;
        return false;
}

/* Length of the valid, printable UTF-8 sequence at s (1..4), or 0 when it must be escaped: the
 * byte at s is a control, DEL, a C1 control, or invalid / overlong / surrogate UTF-8 (then
 * *ret_invisible_len is 0), or the sequence is an invisible character (unicode_is_invisible():
 * its code point in *ret_invisible and its length in *ret_invisible_len). */
static size_t utf8_printable_len(const unsigned char *s, uint32_t *ret_invisible,
                                 size_t *ret_invisible_len) {
        uint32_t cp;
        size_t n = utf8_decode_char(s, &cp);

        *ret_invisible_len = 0;
        if (n == 0 || cp < 0x20 || cp == 0x7f || cp == '\\' || (cp >= 0x80 && cp <= 0x9f))
                return 0;
        if (unicode_is_invisible(cp)) {
                *ret_invisible = cp;
                *ret_invisible_len = n;
                return 0;
        }
        return n;
}

/* Escapes s into out (which has room for TERMINAL_SAFE_EXPANSION_MAX * strlen(s) + 1 bytes) or,
 * when out is NULL, writes to f. Returns the length written to out. */
static size_t escape(const char *s, char *out, FILE *f) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *) s, *end = p + strlen(s);
        size_t o = 0;

        while (*p) {
                uint32_t invisible = 0;
                size_t invisible_len;
                /* Printable ASCII but '"' and '\\' passes in whole runs, the rest a character
                 * at a time */
                size_t n = json_plain_span((const char *) p, (size_t) (end - p));
                if (n == 0)
                        n = utf8_printable_len(p, &invisible, &invisible_len);
                char esc[TERMINAL_SAFE_EXPANSION_MAX * 4];
                size_t esc_len;

                if (n > 0) {
                        if (out)
                                memcpy(out + o, p, n);
                        else
                                fwrite(p, 1, n, f);
                        o += n;
                        p += n;
                        continue;
                }
                if (invisible_len > 0) {
                        /* "\u202e": 6 bytes for 2 or 3; "\U000e0041": 10 for 4 (beyond U+FFFF,
                         * where four digits would run into the text after it) */
                        esc_len = (size_t) snprintf(esc, sizeof(esc),
                                                    invisible > 0xffff ? "\\U%08x" : "\\u%04x",
                                                    (unsigned) invisible);
                        if (out)
                                memcpy(out + o, esc, esc_len);
                        else
                                fwrite(esc, 1, esc_len, f);
                        o += esc_len;
                        p += invisible_len;
                        continue;
                }
                if (*p == '\\') {
                        esc[0] = esc[1] = '\\';
                        esc_len = 2;
                } else {
                        esc[0] = '\\';
                        esc[1] = 'x';
                        esc[2] = hex[*p >> 4];
                        esc[3] = hex[*p & 0xf];
                        esc_len = 4;
                }
                if (out)
                        memcpy(out + o, esc, esc_len);
                else
                        fwrite(esc, 1, esc_len, f);
                o += esc_len;
                p++;
        }
        if (out)
                out[o] = '\0';
        return o;
}

void fputs_terminal_safe(const char *s, FILE *f) {
        if (!s || !f)
                return;
        (void) escape(s, NULL, f);
}

size_t terminal_safe_escape(const char *s, char *out) {
        return escape(s, out, NULL);
}

char *terminal_safe_dup(const char *s) {
        size_t len;
        char *out;

        if (!s)
                return NULL;
        len = strlen(s);
        if (len > (SIZE_MAX - 1) / TERMINAL_SAFE_EXPANSION_MAX)
                return NULL;
        out = malloc(len * TERMINAL_SAFE_EXPANSION_MAX + 1);
        if (!out)
                return NULL;
        (void) escape(s, out, NULL);
        return out;
}

bool string_is_hex(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
                      (*s >= 'A' && *s <= 'F')))
                        return false;
        return true;
}

void path_simplify(char *p) {
        char *w = p;
        const char *r = p;
        bool absolute;

        if (!p)
                return;
        absolute = *r == '/';
        if (absolute)
                *w++ = '/';
        while (*r) {
                const char *c;
                size_t n;

                while (*r == '/')
                        r++;
                c = r;
                while (*r && *r != '/')
                        r++;
                n = (size_t) (r - c);
                if (n == 0 || (n == 1 && c[0] == '.'))
                        continue;
                if (w > p && w[-1] != '/')
                        *w++ = '/';
                memmove(w, c, n);
                w += n;
        }
        if (w == p)
                *w++ = '.'; /* "./" names the directory itself */
        *w = '\0';
}

bool string_has_prefix(const char *s, const char *prefix) {
        if (!s || !prefix)
                return false;
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

int unhex_char(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int hex_decode(const char *s, size_t len, char **ret, size_t *ret_len) {
        _cleanup_(freep) char *buf = NULL;

        if ((!s && len > 0) || !ret)
                return -EINVAL;
        if (len % 2 != 0)
                return -EINVAL;

        buf = malloc(len / 2 + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 2) {
                int hi = unhex_char(s[i]), lo = unhex_char(s[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                buf[i / 2] = (char) (hi << 4 | lo);
        }
        buf[len / 2] = '\0';

        if (ret_len)
                *ret_len = len / 2;
        *ret = TAKE_PTR(buf);
        return 0;
}

static const char base64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len) {
        const unsigned char *p = data;
        char *out, *o;

        if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
                return NULL;
        out = o = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t v = (uint32_t) p[i] << 16;
                if (i + 1 < len)
                        v |= (uint32_t) p[i + 1] << 8;
                if (i + 2 < len)
                        v |= p[i + 2];
                *o++ = base64_alphabet[v >> 18];
                *o++ = base64_alphabet[(v >> 12) & 63];
                *o++ = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
                *o++ = i + 2 < len ? base64_alphabet[v & 63] : '=';
        }
        *o = 0;
        return out;
}

static int base64_value(char c) {
        const char *hit = c ? strchr(base64_alphabet, c) : NULL;
        return hit ? (int) (hit - base64_alphabet) : -1;
}

int base64_decode(const char *s, size_t len, void **ret, size_t *ret_len) {
        unsigned char *out;
        size_t n = 0;

        if (!s || !ret || !ret_len || len % 4 != 0)
                return -EINVAL;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                int v[4];
                bool last = i + 4 == len;
                for (int k = 0; k < 4; k++)
                        v[k] = base64_value(s[i + k]);
                /* Padding only at the very end: "xx==" or "xxx=". */
                if (last && s[i + 3] == '=') {
                        v[3] = 0;
                        if (s[i + 2] == '=')
                                v[2] = 0;
                }
                if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) {
                        free(out);
                        return -EINVAL;
                }
                uint32_t x = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 |
                             (uint32_t) v[3];
                out[n++] = (unsigned char) (x >> 16);
                if (!(last && s[i + 2] == '='))
                        out[n++] = (unsigned char) (x >> 8);
                if (!(last && s[i + 3] == '='))
                        out[n++] = (unsigned char) x;
        }
        out[n] = 0;
        *ret = out;
        *ret_len = n;
        return 0;
}
