/* SPDX-License-Identifier: MIT */
/* Varlink framing: messages split across reads, several in one read, the size bound exactly at
 * max and max + 1, non-object and malformed JSON, and the string escaping of outgoing text. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "fixtures.h"
#include "macro.h"
#include "strutil.h"
#include "varlink.h"
#include "test.h"

#define TEST_MESSAGE_MAX 64 /* small, so that the bound is cheap to reach */

/* Feeds len bytes in reads of at most chunk bytes, collecting every message reader_next gives.
 * Returns the number of messages, or the first error. */
static int feed(VarlinkReader *r, const char *data, size_t len, size_t chunk, json_object **out,
                size_t n_out) {
        size_t n = 0;

        while (len > 0) {
                size_t space;
                char *p = varlink_reader_space(r, &space);
                CHECK(p);
                CHECK(space >= 1);
                size_t k = MIN(MIN(space, chunk), len);
                memcpy(p, data, k);
                varlink_reader_advance(r, k);
                data += k;
                len -= k;

                for (;;) {
                        json_object *o = NULL;
                        int q = varlink_reader_next(r, &o);
                        if (q < 0)
                                return q;
                        if (q == 0)
                                break;
                        CHECK(n < n_out);
                        out[n++] = o;
                }
        }
        return (int) n;
}

static void put_all(json_object **o, size_t n) {
        for (size_t i = 0; i < n; i++)
                json_object_put(o[i]);
}

static int64_t get_int(json_object *o, const char *key) {
        json_object *v;
        CHECK(json_object_object_get_ex(o, key, &v));
        CHECK(json_object_is_type(v, json_type_int));
        return json_object_get_int64(v);
}

static void test_split_and_batched(void) {
        static const char stream[] = "{\"a\":1}\0{\"a\":2}\0 {\"a\" : 3 }\n\0";
        json_object *out[8];

        /* Every read size from one byte to the whole stream gives the same three messages. */
        for (size_t chunk = 1; chunk <= sizeof(stream); chunk++) {
                VarlinkReader *r = NULL;
                CHECK_RC(varlink_reader_new(TEST_MESSAGE_MAX, &r), 0);
                int n = feed(r, stream, sizeof(stream) - 1, chunk, out, ELEMENTSOF(out));
                CHECK_RC(n, 3);
                for (int i = 0; i < 3; i++)
                        CHECK_RC(get_int(out[i], "a"), i + 1);
                put_all(out, 3);
                varlink_reader_free(r);
        }
}

static void test_partial_waits(void) {
        VarlinkReader *r = NULL;
        json_object *out[2], *o = NULL;

        CHECK_RC(varlink_reader_new(TEST_MESSAGE_MAX, &r), 0);
        CHECK_RC(feed(r, "{\"a\":", 5, 100, out, 2), 0);
        CHECK_RC(varlink_reader_next(r, &o), 0);
        CHECK(o == NULL);
        CHECK_RC(feed(r, "7}", 2, 100, out, 2), 0); /* still no NUL */
        CHECK_RC(feed(r, "\0", 1, 100, out, 2), 1);
        CHECK_RC(get_int(out[0], "a"), 7);
        put_all(out, 1);
        varlink_reader_free(r);
}

/* A JSON object of exactly len bytes: {"p":"xxx..."} */
static char *object_of_length(size_t len) {
        char *s = malloc(len + 2);
        CHECK(s);
        CHECK(len >= 8);
        strcpy(s, "{\"p\":\"");
        memset(s + 6, 'x', len - 8);
        strcpy(s + len - 2, "\"}");
        CHECK_RC(strlen(s), len);
        return s;
}

static void test_bound(void) {
        json_object *out[2];

        for (size_t chunk = 1; chunk <= 2 * TEST_MESSAGE_MAX; chunk *= 2) {
                /* Exactly TEST_MESSAGE_MAX bytes: accepted. */
                VarlinkReader *r = NULL;
                _cleanup_(freep) char *at_max = object_of_length(TEST_MESSAGE_MAX);
                CHECK_RC(varlink_reader_new(TEST_MESSAGE_MAX, &r), 0);
                CHECK_RC(feed(r, at_max, TEST_MESSAGE_MAX + 1, chunk, out, 2), 1); /* + its NUL */
                put_all(out, 1);
                varlink_reader_free(r);

                /* TEST_MESSAGE_MAX + 1 bytes, NUL following: refused. */
                _cleanup_(freep) char *over = object_of_length(TEST_MESSAGE_MAX + 1);
                CHECK_RC(varlink_reader_new(TEST_MESSAGE_MAX, &r), 0);
                CHECK_RC(feed(r, over, TEST_MESSAGE_MAX + 2, chunk, out, 2), -EMSGSIZE);
                /* The reader stays broken. */
                json_object *o = NULL;
                CHECK(varlink_reader_next(r, &o) < 0);
                varlink_reader_free(r);

                /* TEST_MESSAGE_MAX bytes without a NUL yet: still waiting; one more byte: refused,
                 * before any NUL ever arrives (a peer cannot make us buffer more). */
                char junk[TEST_MESSAGE_MAX + 1];
                memset(junk, 'y', sizeof(junk));
                CHECK_RC(varlink_reader_new(TEST_MESSAGE_MAX, &r), 0);
                CHECK_RC(feed(r, junk, TEST_MESSAGE_MAX, chunk, out, 2), 0);
                CHECK_RC(feed(r, junk, 1, chunk, out, 2), -EMSGSIZE);
                varlink_reader_free(r);
        }
}

static void test_bad_messages(void) {
        static const char *const bad[] = {
                "[1,2]", "42",    "\"s\"",
                "null",  "{",     "{\"a\":}",
                "{}x",   "{} {}", "{\"a\":\"\xff\"}", /* invalid UTF-8 */
                "",
        };
        json_object *out[2];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                VarlinkReader *r = NULL;
                CHECK_RC(varlink_reader_new(TEST_MESSAGE_MAX, &r), 0);
                int n = feed(r, bad[i], strlen(bad[i]) + 1, 100, out, 2);
                if (n != -EBADMSG)
                        fprintf(stderr, "message %zu '%s' gave %d\n", i, bad[i], n);
                CHECK_RC(n, -EBADMSG);
                varlink_reader_free(r);
        }

        /* Too deep a nesting is refused, not recursed into. */
        char deep[200] = "{\"a\":";
        size_t k = strlen(deep);
        for (int i = 0; i < 60; i++)
                deep[k++] = '[';
        for (int i = 0; i < 60; i++)
                deep[k++] = ']';
        deep[k++] = '}';
        deep[k++] = 0;
        VarlinkReader *r = NULL;
        CHECK_RC(varlink_reader_new(sizeof(deep), &r), 0);
        CHECK_RC(feed(r, deep, k, 100, out, 2), -EBADMSG);
        varlink_reader_free(r);
}

static void test_many(void) {
        /* 1000 messages through a reader with odd read sizes: all of them, in order. */
        size_t size = 1000 * 32, len = 0;
        _cleanup_(freep) char *stream = malloc(size);
        json_object **out = calloc(1000, sizeof(json_object *));
        CHECK(stream && out);
        for (int i = 0; i < 1000; i++)
                len += (size_t) snprintf(stream + len, size - len, "{\"i\":%d}", i) + 1;

        VarlinkReader *r = NULL;
        CHECK_RC(varlink_reader_new(TEST_MESSAGE_MAX, &r), 0);
        CHECK_RC(feed(r, stream, len, 37, out, 1000), 1000);
        for (int i = 0; i < 1000; i++)
                CHECK_RC(get_int(out[i], "i"), i);
        put_all(out, 1000);
        free(out);
        varlink_reader_free(r);
}

static void test_serialize(void) {
        _cleanup_(freep) char *text = NULL;
        size_t len = 0;

        json_object *p = json_object_new_object();
        json_object_object_add(p, "path", json_object_new_string("/a/b"));
        json_object *o = varlink_reply_new(p, true);
        CHECK(o);
        CHECK_RC(varlink_serialize(o, &text, &len), 0);
        static const char expected[] = "{\"parameters\":{\"path\":\"/a/b\"},\"continues\":true}";
        CHECK_RC(len, sizeof(expected)); /* with the NUL */
        CHECK(memcmp(text, expected, sizeof(expected)) == 0);
        json_object_put(o);
        free(TAKE_PTR(text));

        o = varlink_reply_new(NULL, false);
        CHECK_RC(varlink_serialize(o, &text, &len), 0);
        CHECK_STREQ(text, "{\"parameters\":{}}");
        json_object_put(o);
        free(TAKE_PTR(text));

        o = varlink_error_new("org.varlink.service.MethodNotFound", NULL);
        CHECK_RC(varlink_serialize(o, &text, &len), 0);
        CHECK_STREQ(text, "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{}}");
        json_object_put(o);
        free(TAKE_PTR(text));

        /* What we write, our reader reads back. */
        p = json_object_new_object();
        json_object_object_add(p, "parameter", json_object_new_string("limit"));
        o = varlink_error_new("org.varlink.service.InvalidParameter", p);
        CHECK_RC(varlink_serialize(o, &text, &len), 0);
        json_object_put(o);
        VarlinkReader *r = NULL;
        json_object *out[2];
        CHECK_RC(varlink_reader_new(1024, &r), 0);
        CHECK_RC(feed(r, text, len, 5, out, 2), 1);
        json_object *v, *w;
        CHECK(json_object_object_get_ex(out[0], "error", &v));
        CHECK_STREQ(json_object_get_string(v), "org.varlink.service.InvalidParameter");
        CHECK(json_object_object_get_ex(out[0], "parameters", &v));
        CHECK(json_object_object_get_ex(v, "parameter", &w));
        CHECK_STREQ(json_object_get_string(w), "limit");
        put_all(out, 1);
        varlink_reader_free(r);
}

static bool utf8_valid(const unsigned char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                size_t k = s[i] < 0x80             ? 1
                           : (s[i] & 0xe0) == 0xc0 ? 2
                           : (s[i] & 0xf0) == 0xe0 ? 3
                           : (s[i] & 0xf8) == 0xf0 ? 4
                                                   : 0;
                if (k == 0 || i + k > n)
                        return false;
                for (size_t j = 1; j < k; j++)
                        if ((s[i + j] & 0xc0) != 0x80)
                                return false;
                i += k;
        }
        return true;
}

static void check_escaped(const char *in, const char *expected_json, const char *expected_back) {
        json_object *s = varlink_string_new(in);
        CHECK(s);
        const char *text = json_object_to_json_string_ext(
                s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        CHECK_STREQ(text, expected_json);
        for (const unsigned char *p = (const unsigned char *) text; *p; p++)
                CHECK(*p >= 0x20 && *p != 0x7f);
        CHECK(utf8_valid((const unsigned char *) text, strlen(text)));

        /* A strict parser accepts it and gives the expected bytes back. */
        json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_object *back = json_tokener_parse_ex(tok, text, (int) strlen(text));
        CHECK(back);
        CHECK_STREQ(json_object_get_string(back), expected_back);
        json_tokener_free(tok);
        json_object_put(back);
        json_object_put(s);
}

static void test_string_escaping(void) {
        CHECK(varlink_string_new(NULL) == NULL);
        check_escaped("plain /path", "\"plain /path\"", "plain /path");
        check_escaped("", "\"\"", "");
        /* Controls, DEL, quotes and backslashes: escaped, and back exactly. */
        check_escaped("a\x1b[31m\r\b\t\n\f\x01\x7f\"\\z",
                      "\"a\\u001b[31m\\r\\b\\t\\n\\f\\u0001\\u007f\\\"\\\\z\"",
                      "a\x1b[31m\r\b\t\n\f\x01\x7f\"\\z");
        /* Quotes, backslashes, newlines and tabs before and after the first byte that is neither
         * printable ASCII nor one of them (where the plain head ends), and after a non-ASCII one.
         */
        check_escaped("say \"hi\"\\\n\tthen \x1b and \"more\"\t\xc3\xa9\"\n",
                      "\"say \\\"hi\\\"\\\\\\n\\tthen \\u001b and \\\"more\\\"\\t\xc3\xa9\\\"\\n\"",
                      "say \"hi\"\\\n\tthen \x1b and \"more\"\t\xc3\xa9\"\n");
        /* A long plain string grows the buffer as it goes (type=AVC msg=... a record per line). */
        {
                char in[4 * 3000 + 1], want[7 * 3000 + 3];
                size_t w = 0;
                want[w++] = '"';
                for (size_t i = 0; i < 3000; i++) {
                        memcpy(in + 4 * i, "a\"\n\\", 4);
                        memcpy(want + w, "a\\\"\\n\\\\", 7);
                        w += 7;
                }
                in[4 * 3000] = 0;
                want[w++] = '"';
                want[w] = 0;
                check_escaped(in, want, in);
        }
        /* Valid UTF-8 passes through; C1 controls and line separators are escaped losslessly. */
        check_escaped("caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
                      "caf\xc3\xa9 \xf0\x9f\x98\x80");
        check_escaped("\xc2\x9b"
                      "2J\xe2\x80\xa8",
                      "\"\\u009b2J\\u2028\"",
                      "\xc2\x9b"
                      "2J\xe2\x80\xa8");
        /* Bidi controls (RLO, LRI, PDI, ALM) reorder what a terminal shows: escaped, losslessly;
         * their neighbours (ZWJ U+200D, U+2070) are not. */
        check_escaped(
                "evil\xe2\x80\xaetxt.exe\xe2\x81\xa6\xe2\x81\xa9\xd8\x9c\xe2\x80\x8d\xe2\x81\xb0",
                "\"evil\\u202etxt.exe\\u2066\\u2069\\u061c\xe2\x80\x8d\xe2\x81\xb0\"",
                "evil\xe2\x80\xaetxt.exe\xe2\x81\xa6\xe2\x81\xa9\xd8\x9c\xe2\x80\x8d\xe2\x81\xb0");
        /* Invalid UTF-8 (stray continuation, truncated sequence, overlong, surrogate, > U+10FFFF):
         * each bad byte as \u00XX, read back as U+00XX. */
        check_escaped("\x80", "\"\\u0080\"", "\xc2\x80");
        check_escaped("a\xffz", "\"a\\u00ffz\"", "a\xc3\xbfz");
        check_escaped("\xe2\x82", "\"\\u00e2\\u0082\"", "\xc3\xa2\xc2\x82");
        check_escaped("\xc0\xaf", "\"\\u00c0\\u00af\"", "\xc3\x80\xc2\xaf");
        check_escaped("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"", "\xc3\xad\xc2\xa0\xc2\x80");
        check_escaped("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"",
                      "\xc3\xb4\xc2\x90\xc2\x80\xc2\x80");
}

/* The escaping written the slow way, one character at a time, from its definition: the short
 * forms, \u00XX for each byte that is not UTF-8, \uXXXX for what varlink_char_escaped() names,
 * the rest as it is. varlink_string_append()'s runs (json_plain_span(), the plain head written in
 * place) must give the same bytes. */
static size_t escape_reference(const unsigned char *s, size_t len, char *out) {
        char *o = out;
        *o++ = '"';
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t n = s[i] == 0 ? 1 : utf8_decode_char(s + i, &cp);
                if (s[i] == 0)
                        cp = 0;
                if (n == 0) {
                        o += sprintf(o, "\\u%04x", s[i]);
                        i++;
                        continue;
                }
                const char *shortform = cp == '"'    ? "\\\""
                                        : cp == '\\' ? "\\\\"
                                        : cp == '\n' ? "\\n"
                                        : cp == '\r' ? "\\r"
                                        : cp == '\t' ? "\\t"
                                        : cp == '\b' ? "\\b"
                                        : cp == '\f' ? "\\f"
                                                     : NULL;
                if (shortform)
                        o += sprintf(o, "%s", shortform);
                else if (varlink_char_escaped(cp))
                        o += sprintf(o, "\\u%04x", (unsigned) cp);
                else {
                        memcpy(o, s + i, n);
                        o += n;
                }
                i += n;
        }
        *o++ = '"';
        return (size_t) (o - out);
}

/* Random strings of the pieces a raw record and a hostile name are made of (the fixtures' hostile
 * and invalid UTF-8 pieces), up to 2,000 bytes, each also after a prefix in the buffer, against
 * the reference. */
static void test_string_escaping_random(void) {
        static const char *const record_pieces[] = {
                "type=AVC msg=audit(1700000000.123:42): avc:  denied  { read } for  pid=1 ",
                "comm=\"bash\" ",
                "a",
                "0123456789abcdef~ }",
        };
        const char *pieces[ELEMENTSOF(record_pieces) + ELEMENTSOF(fixture_hostile_pieces) +
                           ELEMENTSOF(fixture_invalid_utf8_pieces)];
        size_t n_pieces = 0;
        for (size_t i = 0; i < ELEMENTSOF(record_pieces); i++)
                pieces[n_pieces++] = record_pieces[i];
        for (size_t i = 0; i < ELEMENTSOF(fixture_hostile_pieces); i++)
                pieces[n_pieces++] = fixture_hostile_pieces[i];
        for (size_t i = 0; i < ELEMENTSOF(fixture_invalid_utf8_pieces); i++)
                pieces[n_pieces++] = fixture_invalid_utf8_pieces[i];
        unsigned seed = 1;
        static unsigned char in[2100];
        static char want[2100 * 6 + 3];
        for (int round = 0; round < 3000; round++) {
                size_t len = 0, target = (size_t) (rand_r(&seed) % 2000);
                while (len < target) {
                        const char *p = pieces[rand_r(&seed) % ELEMENTSOF(pieces)];
                        size_t n = strlen(p);
                        if (rand_r(&seed) % 8 == 0) { /* a NUL inside */
                                in[len++] = 0;
                                continue;
                        }
                        memcpy(in + len, p, n);
                        len += n;
                }
                size_t want_len = escape_reference(in, len, want);
                struct printbuf *pb = printbuf_new();
                CHECK(pb);
                size_t prefix = (size_t) (round % 5);
                for (size_t k = 0; k < prefix; k++)
                        CHECK(printbuf_memappend(pb, "x", 1) >= 0);
                CHECK(varlink_string_append(pb, (const char *) in, len) == 0);
                CHECK((size_t) pb->bpos == prefix + want_len);
                if (memcmp(pb->buf + prefix, want, want_len) != 0) {
                        fprintf(stderr, "escaping differs in round %d (%zu bytes)\n", round, len);
                        exit(1);
                }
                printbuf_free(pb);
        }
}

int main(void) {
        test_split_and_batched();
        test_partial_waits();
        test_bound();
        test_bad_messages();
        test_many();
        test_serialize();
        test_string_escaping();
        test_string_escaping_random();
        printf("ok\n");
        return 0;
}
