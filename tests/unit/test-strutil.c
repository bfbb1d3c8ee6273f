/* SPDX-License-Identifier: MIT */
/* strutil: terminal escaping of attacker-controlled strings, hex decoding, prefixes. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "strutil.h"
#include "tests/unit/test.h"

/* Both escaping paths must agree: the FILE one and the malloc'd one. */
static void check_escape(const char *in, const char *want) {
        _cleanup_(freep) char *dup = terminal_safe_dup(in), *mem = NULL;
        size_t mem_len = 0;
        FILE *f;

        CHECK_STREQ(dup, want);
        f = open_memstream(&mem, &mem_len);
        CHECK(f);
        fputs_terminal_safe(in, f);
        CHECK(fclose(f) == 0);
        CHECK_STREQ(mem, want);
}

static void test_base64(void) {
        /* RFC 4648's test vectors, and every byte value. */
        const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
        const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                     "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
        for (size_t i = 0; i < ELEMENTSOF(plain); i++) {
                char *e = base64_encode(plain[i], strlen(plain[i]));
                CHECK_STREQ(e, coded[i]);
                void *back;
                size_t n;
                CHECK_RC(base64_decode(e, strlen(e), &back, &n), 0);
                CHECK(n == strlen(plain[i]) && memcmp(back, plain[i], n) == 0);
                free(back);
                free(e);
        }
        unsigned char all[256];
        for (int i = 0; i < 256; i++)
                all[i] = (unsigned char) i;
        char *e = base64_encode(all, sizeof(all));
        void *back;
        size_t n;
        CHECK_RC(base64_decode(e, strlen(e), &back, &n), 0);
        CHECK(n == 256 && memcmp(back, all, 256) == 0);
        free(back);
        free(e);
        const char *const bad[] = {"Zg",       "Zg=",  "Z===",     "Zm9v\n", "Zm 9",
                                   "Zg==Zg==", "=Zg=", "Zm9v!A==", "Zm=v"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK_RC(base64_decode(bad[i], strlen(bad[i]), &back, &n), -EINVAL);
}

/* Characters a terminal shows as nothing: "bd2" ZWSP "x" would display as "bd2x". One test per
 * class of unicode_is_invisible(), at its edges. */
static void test_invisible(void) {
        /* Cf: zero-width space, soft hyphen, BOM, word joiner, Arabic number sign, interlinear
         * annotation, Egyptian and shorthand format controls, musical symbol formatting */
        check_escape("bd2\xe2\x80\x8bx", "bd2\\u200bx");
        check_escape("a\xc2\xad"
                     "b",
                     "a\\u00adb");
        check_escape("\xef\xbb\xbfroot", "\\ufeffroot");
        check_escape("\xe2\x81\xa0\xe2\x81\xa4", "\\u2060\\u2064");
        check_escape("\xd8\x80\xdb\x9d\xdc\x8f\xe1\xa0\x8e", "\\u0600\\u06dd\\u070f\\u180e");
        check_escape("\xef\xbf\xb9\xef\xbf\xbb", "\\ufff9\\ufffb");
        check_escape("\xf0\x91\x82\xbd\xf0\x9b\xb2\xa0\xf0\x9d\x85\xb3",
                     "\\U000110bd\\U0001bca0\\U0001d173");
        /* Cf: tag characters (a flag's hidden text), U+E0001 the language tag */
        check_escape("x\xf3\xa0\x80\x81\xf3\xa0\x81\x81\xf3\xa0\x81\xbfy",
                     "x\\U000e0001\\U000e0041\\U000e007fy");
        /* Zl, Zp */
        check_escape("a\xe2\x80\xa8"
                     "b\xe2\x80\xa9",
                     "a\\u2028b\\u2029");
        /* Hangul fillers: they show as a blank or nothing */
        check_escape("\xe1\x85\x9f\xe1\x85\xa0\xe3\x85\xa4\xef\xbe\xa0",
                     "\\u115f\\u1160\\u3164\\uffa0");
        /* variation selectors: escaped too, also VS16 after an emoji (U+2764 U+FE0F) */
        check_escape("\xe2\x9d\xa4\xef\xb8\x8f", "\xe2\x9d\xa4\\ufe0f");
        check_escape("\xf3\xa0\x84\x80", "\\U000e0100");
        /* the neighbours stay: NBSP, U+200A hair space, U+2030 per mille, U+FFFD, Hangul */
        check_escape("\xc2\xa0\xe2\x80\x8a\xe2\x80\xb0\xef\xbf\xbd\xea\xb0\x80",
                     "\xc2\xa0\xe2\x80\x8a\xe2\x80\xb0\xef\xbf\xbd\xea\xb0\x80");
        CHECK(unicode_is_invisible(0x00ad) && !unicode_is_invisible(0x00ac) &&
              !unicode_is_invisible(0x00ae));
        CHECK(unicode_is_invisible(0x200b) && !unicode_is_invisible(0x200a) &&
              !unicode_is_invisible(0x2010));
        CHECK(unicode_is_invisible(0x202e) && !unicode_is_invisible(0x202f));
        CHECK(unicode_is_invisible(0xfffb) && !unicode_is_invisible(0xfffc));
        CHECK(unicode_is_invisible(0xe0fff) && !unicode_is_invisible(0xe1000));
        CHECK(!unicode_is_invisible('a') && !unicode_is_invisible(0x10ffff));
        for (uint32_t cp = 0x2066; cp <= 0x2069; cp++) /* a superset of the bidi controls */
                CHECK(unicode_is_bidi_control(cp) && unicode_is_invisible(cp));
}

/* json_plain_span() and json_plain_copy() against their definition, byte by byte: every byte value
 * at every position of runs of 0..69 bytes starting at each of 16 alignments, so that the SSE2
 * blocks, the table's tail and the block/tail boundary all meet every byte. The run ends at len
 * exactly in a buffer of its own size (ASan catches a read past it) and the byte after a plain run
 * is never read. */
static bool json_plain_definition(unsigned char c) {
        return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

static void test_json_plain_span(void) {
        unsigned char fill[96];

        CHECK(json_plain_span("", 0) == 0);
        CHECK(json_plain_span("ab\"c", 4) == 2);
        CHECK(json_plain_span("ab\\c", 4) == 2);
        CHECK(json_plain_span("a b~\x7f", 5) == 4);
        CHECK(json_plain_span("abc", 2) == 2); /* stops at len, not at the NUL */

        /* The plain bytes themselves, in every position: a run of all of them is one span. */
        size_t nplain = 0;
        for (unsigned c = 0; c < 256; c++)
                if (json_plain_definition((unsigned char) c))
                        fill[nplain++ % sizeof(fill)] = (unsigned char) c;
        CHECK(nplain == 95 - 2);

        for (size_t align = 0; align < 16; align++)
                for (size_t len = 0; len < 70; len++) {
                        _cleanup_(freep) unsigned char *buf = malloc(align + len + 1);
                        CHECK(buf);
                        unsigned char *s = buf + align;
                        memcpy(s, fill + (align * 7) % 16, len);
                        CHECK(json_plain_span((const char *) s, len) == len);
                        _cleanup_(freep) char *dst = malloc(len + 1); /* exactly len: ASan */
                        CHECK(dst);
                        CHECK(json_plain_copy(dst, (const char *) s, len) == len);
                        CHECK(memcmp(dst, s, len) == 0);
                        for (size_t pos = 0; pos < len; pos++)
                                for (unsigned c = 0; c < 256; c++) {
                                        unsigned char keep = s[pos];
                                        s[pos] = (unsigned char) c;
                                        size_t want = json_plain_definition((unsigned char) c)
                                                              ? len
                                                              : pos;
                                        unsigned char out[80];
                                        memset(out, 0xa5, sizeof(out));
                                        size_t got = json_plain_copy((char *) out + 1,
                                                                     (const char *) s, len);
                                        if (got != want || memcmp(out + 1, s, got) != 0 ||
                                            out[0] != 0xa5 || out[len + 1] != 0xa5) {
                                                fprintf(stderr,
                                                        "json_plain_copy: byte 0x%02x at %zu of "
                                                        "%zu (alignment %zu)\n",
                                                        c, pos, len, align);
                                                exit(1);
                                        }
                                        if (json_plain_span((const char *) s, len) != want) {
                                                fprintf(stderr,
                                                        "json_plain_span: byte 0x%02x at %zu of "
                                                        "%zu (alignment %zu)\n",
                                                        c, pos, len, align);
                                                exit(1);
                                        }
                                        s[pos] = keep;
                                }
                }
}

int main(void) {
        char *d;
        size_t len;

        test_base64();
        test_json_plain_span();

        /* printable ASCII and UTF-8 pass through */
        check_escape("", "");
        check_escape("/usr/bin/bash", "/usr/bin/bash");
        check_escape("caf\xc3\xa9", "caf\xc3\xa9");                           /* é */
        check_escape("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"); /* 日本 */
        /* bidi controls would display "exe.txt" for "txt.exe": shown as \uXXXX; and so is ZWJ
         * (U+200D), invisible as every format character: unicode_is_invisible() */
        check_escape("evil\xe2\x80\xaetxt.exe", "evil\\u202etxt.exe");
        check_escape("\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xaa\xe2\x81\xa9\xd8\x9c\xe2\x80\x8d",
                     "\\u200e\\u200f\\u202a\\u2069\\u061c\\u200d");
        CHECK(unicode_is_bidi_control(0x202e) && !unicode_is_bidi_control(0x202f) &&
              !unicode_is_bidi_control(0x2065) && unicode_is_bidi_control(0x2066));
        test_invisible();
        check_escape("\xf0\x9f\x90\xa7", "\xf0\x9f\x90\xa7"); /* U+1F427, 4 bytes */
        check_escape("\xc2\xa0", "\xc2\xa0");                 /* U+00A0, first non-C1 */

        /* C0 controls, DEL, backslash */
        check_escape("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07");
        check_escape("a\rb", "a\\x0db");
        check_escape("a\bb", "a\\x08b");
        check_escape("a\nb\tc", "a\\x0ab\\x09c");
        check_escape("\x7f", "\\x7f");
        check_escape("a\\b", "a\\\\b");

        /* C1 controls encoded as UTF-8 (U+0080..U+009F), e.g. CSI U+009B */
        check_escape("\xc2\x9b"
                     "31m",
                     "\\xc2\\x9b"
                     "31m");
        check_escape("\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f");

        /* invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate, > U+10FFFF,
         * raw C1 bytes */
        check_escape("\x80", "\\x80");
        check_escape("a\xc3", "a\\xc3");
        check_escape("\xe6\x97"
                     "x",
                     "\\xe6\\x97x");
        check_escape("\xc0\xaf", "\\xc0\\xaf");
        check_escape("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
        check_escape("\xed\xa0\x80", "\\xed\\xa0\\x80");
        check_escape("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
        check_escape("\x9b", "\\x9b");
        check_escape("\xff\xfe", "\\xff\\xfe");

        CHECK(terminal_safe_dup(NULL) == NULL);

        /* utf8_is_valid: what escape() would not show as \xNN */
        CHECK(utf8_is_valid("") && utf8_is_valid("caf\xc3\xa9") &&
              utf8_is_valid("\xf0\x9f\x90\xa7"));
        CHECK(utf8_is_valid("\x1b]0;x\x07")); /* controls are valid UTF-8, escaped elsewhere */
        CHECK(!utf8_is_valid("\xff\xfe") && !utf8_is_valid("a\xc3") && !utf8_is_valid("\xc0\xaf"));
        CHECK(!utf8_is_valid("\xed\xa0\x80") && !utf8_is_valid("\xf4\x90\x80\x80"));
        CHECK(!utf8_is_valid(NULL));

        /* hex_decode */
        CHECK_RC(hex_decode("2F746D70", 8, &d, &len), 0);
        CHECK(len == 4);
        CHECK_STREQ(d, "/tmp");
        free(d);
        CHECK_RC(hex_decode("1b5D303b70776E656407", 20, &d, &len), 0); /* both cases */
        CHECK(len == 10);
        CHECK(memcmp(d, "\x1b]0;pwned\x07", 10) == 0 && d[10] == '\0');
        free(d);
        CHECK_RC(hex_decode("002F", 4, &d, &len), 0); /* NUL kept: callers decide */
        CHECK(len == 2 && d[0] == '\0' && d[1] == '/');
        free(d);
        CHECK_RC(hex_decode("", 0, &d, &len), 0);
        CHECK(len == 0 && d[0] == '\0');
        free(d);
        CHECK_RC(hex_decode("2F7", 3, &d, &len), -EINVAL); /* odd */
        CHECK_RC(hex_decode("2G", 2, &d, &len), -EINVAL);
        CHECK_RC(hex_decode("2F74", 2, &d, &len), 0); /* len bounds the input */
        CHECK(len == 1 && d[0] == '/');
        free(d);

        /* string_has_prefix */
        CHECK(string_has_prefix("avc:  denied", "avc:"));
        CHECK(string_has_prefix("avc", ""));
        CHECK(!string_has_prefix("av", "avc"));
        CHECK(!string_has_prefix(NULL, "a"));

        /* path_simplify */
        {
                static const char *const cases[][2] = {
                        {"/etc/shadow", "/etc/shadow"},
                        {"//etc//./shadow", "/etc/shadow"},
                        {"/srv/d/", "/srv/d"},
                        {"/", "/"},
                        {"//./", "/"},
                        {"./x y", "x y"},
                        {"a/./b/.", "a/b"},
                        {"./", "."},
                        {"/srv/../etc/x", "/srv/../etc/x"},
                        {"...", "..."},
                        {".x/.y", ".x/.y"},
                };
                for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                        char buf[64];
                        snprintf(buf, sizeof(buf), "%s", cases[i][0]);
                        path_simplify(buf);
                        CHECK_STREQ(buf, cases[i][1]);
                }
        }
        return 0;
}
