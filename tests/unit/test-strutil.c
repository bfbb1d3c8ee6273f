/* SPDX-License-Identifier: MIT */
/* strutil: terminal escaping of attacker-controlled strings, hex decoding, prefixes. */

#include <errno.h>
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

int main(void) {
        char *d;
        size_t len;

        test_base64();

        /* printable ASCII and UTF-8 pass through */
        check_escape("", "");
        check_escape("/usr/bin/bash", "/usr/bin/bash");
        check_escape("caf\xc3\xa9", "caf\xc3\xa9");                           /* é */
        check_escape("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"); /* 日本 */
        /* bidi controls would display "exe.txt" for "txt.exe": shown as \uXXXX; ZWJ passes */
        check_escape("evil\xe2\x80\xaetxt.exe", "evil\\u202etxt.exe");
        check_escape("\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xaa\xe2\x81\xa9\xd8\x9c\xe2\x80\x8d",
                     "\\u200e\\u200f\\u202a\\u2069\\u061c\xe2\x80\x8d");
        CHECK(unicode_is_bidi_control(0x202e) && !unicode_is_bidi_control(0x202f) &&
              !unicode_is_bidi_control(0x2065) && unicode_is_bidi_control(0x2066));
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
