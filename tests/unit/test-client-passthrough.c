/* SPDX-License-Identifier: MIT */
/* avcctl -o json / -o raw pass the daemon's rows through (client/json-scan.c): for every row the
 * daemon can write (hostile strings: controls, DEL, C1, bidi, U+2028, quotes, backslashes,
 * invalid UTF-8, long text) and for hand-written rows of other forms, what the pass-through
 * prints is byte for byte what parsing the row and printing its tree prints. The scanner is
 * strict, finds the page's rows and cursor, and takes the fast path for the rows it should. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "denial-json.h"
#include "fixtures.h"
#include "json-scan.h"
#include "macro.h"
#include "output.h"
#include "strutil.h"
#include "test.h"
#include "varlink.h"

static char *render_tree(OutputMode mode, const char *text, size_t len) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        json_object *o = NULL;
        Output out;

        CHECK(f);
        CHECK_RC(varlink_parse_message(text, len, &o), 0);
        output_init(&out, mode, f);
        CHECK_RC(output_denial(&out, o), 0);
        /* the same row again: raw prints an event once */
        CHECK_RC(output_denial(&out, o), 0);
        json_object_put(o);
        CHECK(fclose(f) == 0);
        return buf;
}

/* What avcctl does now: canonical rows as text, the others through the tree. With page, the row
 * is scanned as part of a page, which finds the values of the keys the mode takes
 * (output_denial_text_keys()); without, output_denial_text() finds them itself. */
static char *render_pass(OutputMode mode, const char *text, size_t len, bool page,
                         bool *ret_canonical) {
        _cleanup_(query_page_text_done) QueryPageText t = {};
        _cleanup_(freep) char *page_text = NULL;
        const char *const *keys, *const *values = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        bool canonical = true;
        const char *end;
        Output out;

        CHECK(f);
        CHECK_RC(json_scan_value(text, text + len, &end, &canonical), 0);
        CHECK(end == text + len);
        output_init(&out, mode, f);
        if (page) {
                CHECK(asprintf(&page_text, "{\"parameters\":{\"denials\":[%s]}}", text) > 0);
                t.n_keys = output_denial_text_keys(&out, &keys);
                for (size_t i = 0; i < t.n_keys; i++)
                        t.keys[i] = keys[i];
                CHECK_RC(query_page_text_parse(page_text, strlen(page_text), &t), 0);
                CHECK(t.n == 1 && t.canonical[0] == canonical && t.lens[0] == len);
                text = t.rows[0];
                values = t.n_keys > 0 ? t.values : NULL;
        }
        for (int i = 0; i < 2; i++)
                if (canonical)
                        CHECK_RC(output_denial_text(&out, text, len, values), 0);
                else {
                        json_object *o = NULL;
                        CHECK_RC(varlink_parse_message(text, len, &o), 0);
                        CHECK_RC(output_denial(&out, o), 0);
                        json_object_put(o);
                }
        CHECK(fclose(f) == 0);
        *ret_canonical = canonical;
        return buf;
}

/* Both modes print the same either way; returns whether the fast path was taken. */
static bool check_same(const char *text) {
        bool canonical = false;
        for (OutputMode mode = OUTPUT_SHORT; mode <= OUTPUT_RAW; mode++) {
                _cleanup_(freep) char *tree = render_tree(mode, text, strlen(text));
                for (int page = 0; page <= 1; page++) {
                        _cleanup_(freep) char *pass =
                                render_pass(mode, text, strlen(text), page, &canonical);
                        if (strcmp(tree, pass) != 0) {
                                fprintf(stderr, "row %s\nmode %d, page %d\ntree: %s\npass: %s\n",
                                        text, mode, page, tree, pass);
                                exit(1);
                        }
                }
        }
        return canonical;
}

static char *denial_text(const Denial *d) {
        struct printbuf *pb = printbuf_new();
        JsonWriter w;

        CHECK(pb);
        json_writer_init(&w, pb);
        denial_write_json(&w, d);
        CHECK(!json_writer_failed(&w));
        char *s = strdup(pb->buf);
        CHECK(s);
        printbuf_free(pb);
        return s;
}

static void test_daemon_rows(void) {
        static const struct {
                const char *value;
                bool canonical; /* what the daemon writes of it can be passed through */
        } strings[] = {
                {"plain", true},
                {"", true},
                {"\"quoted\" \\back\\slash\\", true},
                {"\x1b]0;owned\x07\r\b\x7f\f\t\n\x01", true},
                {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", true}, /* é € 😀 */
                {"c1 \xc2\x9b csi, nbsp \xc2\xa0", true},
                {"bidi \xe2\x80\xae rlo, ls \xe2\x80\xa8 ps \xe2\x80\xa9", true},
                {"slash / and \\u0041", true},
                {"invalid \xff\xfe", false},   /* \u00ff: the tree prints ÿ */
                {"invalid c1 \x9b", true},     /* \u009b, printed escaped either way */
                {"truncated \xe2\x82", false}, /* \u00e2\u0082 */
                {"overlong \xc0\xaf", false},
        };

        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                Denial d = fixture_denial(FIXTURE_TIME_MS + (int64_t) i, FIXTURE_SERIAL + i);
                d.has_container = true;
                fixture_container(&d.container, "4dd9367681d8a", strings[i].value, "img", "docker",
                                  NULL);
                d.attribution = ATTRIBUTION_PID;
                set_string(&d.comm, strings[i].value);
                set_string(&d.path, strings[i].value);
                set_string(&d.name, strings[i].value);
                free(d.raw);
                CHECK(asprintf(&d.raw, "type=AVC msg=audit(1.2:3): comm=\"%s\"\ntype=EOE",
                               strings[i].value) > 0);
                _cleanup_(freep) char *text = denial_text(&d);
                bool canonical = check_same(text);
                if (canonical != strings[i].canonical) {
                        fprintf(stderr, "string %zu: canonical %d, expected %d: %s\n", i, canonical,
                                strings[i].canonical, text);
                        exit(1);
                }
                denial_done(&d);
        }

        /* Null fields, an untriaged and an ambiguous row. */
        Denial d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL);
        d.pid = -1;
        d.permissive = -1;
        d.attribution = ATTRIBUTION_AMBIGUOUS;
        ContainerRef a = {}, b = {};
        fixture_container(&a, "aaaa", "a", NULL, "podman", "pod-1");
        fixture_container(&b, "bbbb", NULL, "img", "docker", NULL);
        CHECK(denial_add_candidate(&d, &a) >= 0);
        CHECK(denial_add_candidate(&d, &b) >= 0);
        container_ref_done(&a);
        container_ref_done(&b);
        free(d.raw);
        d.raw = NULL;
        _cleanup_(freep) char *text = denial_text(&d);
        CHECK(check_same(text));
        denial_done(&d);
}

/* Rows the daemon does not write, but another peer might: the same output either way. */
static void test_other_rows(void) {
        static const struct {
                const char *text;
                bool canonical;
        } rows[] = {
                {"{}", true},
                {"{\"time\":\"t\",\"serial\":5,\"raw\":\"a\\nb\"}", true},
                {"{\"raw\":\"no newline\"}", true},
                {"{\"raw\":\"\"}", true},
                {"{\"raw\":1}", true},
                {"{\"time\":\"t\",\"serial\":5,\"raw\":\"one\",\"raw\":\"two\"}", false},
                {"{\"a\":{\"b\":1},\"b\":{\"a\":1,\"b\":2}}", true},
                {"{\"x\":\"\\/\"}", false},
                {"{\"x\":\"\\u00e9\"}", false},
                {"{\"x\":\"\\u001B\"}", false},
                {"{\"x\":\"\\u000a\"}", false},
                {"{\"x\":\"\\u0041\"}", false},
                {"{\"x\":\"\\ud83d\\ude00\"}", false},
                {"{\"x\": 1}", false},
                {"{\"x\":1.0}", false},
                {"{\"x\":1e3}", false},
                {"{\"x\":-0}", false},
                {"{\"x\":12345678901234567890}", false},
                {"{\"x-y\":1}", false},
                {"{\"x\":[1, 2]}", false},
                {"{\"raw\":\"\\u0000nul\"}", true},
                {"{\"serial\":\"5\",\"time\":\"t\",\"raw\":\"r\"}", true},
                {"{\"x\":\"\xc2\x85\"}", false}, /* NEL raw: printed escaped */
                /* what short output reads: every member in other forms and orders */
                {"{\"time\":\"2024-04-20T08:54:52.240Z\",\"result\":\"granted\",\"pid\":7,"
                 "\"comm\":\"a-rather-long-command-name-that-is-cut\",\"permissions\":[\"read\","
                 "1,null,\"write\"],\"permissive\":true,\"count\":3,\"verdict\":\"escape\","
                 "\"hint\":\"look\",\"mcs\":\"\",\"name\":\"n\",\"target_container\":{\"id\":"
                 "\"0123456789abcdef\"},\"candidates\":[{\"name\":\"a\"},7,{\"pod\":\"p\","
                 "\"namespace\":\"ns\"},{}],\"attribution\":\"ambiguous\"}",
                 true},
                {"{\"hint\":\"look\",\"count\":\"3\",\"pid\":\"7\",\"permissive\":1,\"time\":"
                 "\"yesterday\",\"container\":{\"labels\":{\"name\":\"no\",\"id\":\"no\"},"
                 "\"namespace\":\"ns\"},\"permissions\":\"read\",\"candidates\":[],"
                 "\"target_container\":[],\"source_type\":{\"a\":[]},\"tclass\":\"c\\u0000d\"}",
                 true},
                {"{\"container\":{\"pod\":\"p\"},\"target_container\":null,\"candidates\":null,"
                 "\"permissions\":[],\"result\":\"denied\",\"path\":\"/p\",\"name\":\"n\","
                 "\"mcs\":\"c1,c2\",\"count\":1,\"pid\":-1,\"verdict\":null,\"hint\":\"\"}",
                 true},
                {"{\"container\":{\"name\":\"\",\"id\":\"\",\"pod\":null,\"namespace\":\"n\"},"
                 "\"comm\":\"\\u001b[31m\",\"path\":\"\\\\x\\\"y\\u202e\xf0\x9f\x98\x80\"}",
                 true},
                {"{\"container\":{},\"target_container\":{},\"candidates\":[{\"name\":\"\\u2028\"}"
                 ",[],\"x\"],\"permissions\":[[\"read\"],{\"a\":\"b\"}]}",
                 true},
                /* keys: the same filter bits, escaped, in nested objects, white space */
                {"{\"axb\":1,\"ayb\":2,\"a_b\":3,\"A9b\":4}", true},
                {"{\"axb\":1,\"ayb\":2,\"axb\":3}", false},
                {"{\"k\\u0041\":1}", false},
                {"{\"k\\\"\":1}", false},
                {"{\"a\":1,\"b\":{\"a\":2,\"b\":3},\"c\":{\"a\":4}}", true},
                {"{\"a\":1,\"b\":{\"a\":2},\"a\":3}", false},
                {"{\"a\" :1}", false},
                {"{\"a\":true,\"b\":false,\"c\":null,\"d\":[true,false,null]}", true},
        };
        /* 64 keys are told apart, 65 are too many to tell */
        for (int n = 64; n <= 65; n++) {
                char many[1024] = "{";
                for (int i = 0; i < n; i++)
                        sprintf(many + strlen(many), "%s\"k%d\":%d", i ? "," : "", i, i);
                strcat(many, "}");
                CHECK(check_same(many) == (n == 64));
        }
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                bool canonical = check_same(rows[i].text);
                if (canonical != rows[i].canonical) {
                        fprintf(stderr, "row %zu: canonical %d: %s\n", i, canonical, rows[i].text);
                        exit(1);
                }
        }
}

/* A string of n bytes drawn from what a row can hold: plain ASCII in runs (longer than the 16
 * bytes json_plain_span() steps by, and shorter), the hostile pieces of the fixtures (quotes,
 * backslashes, controls, DEL, C1, U+2028, bidi controls, other UTF-8), invalid bytes (when
 * invalid). */
static size_t random_string(char *buf, size_t n, bool invalid, unsigned *seed) {
        size_t len = 0;

        while (len + 32 < n) {
                /* a piece, or one of 8 draws: a run of letters (or, the last, an invalid byte) */
                unsigned k = (unsigned) rand_r(seed) % (ELEMENTSOF(fixture_hostile_pieces) + 8);
                if (k < ELEMENTSOF(fixture_hostile_pieces)) {
                        size_t l = strlen(fixture_hostile_pieces[k]);
                        memcpy(buf + len, fixture_hostile_pieces[k], l);
                        len += l;
                } else if (invalid && k == ELEMENTSOF(fixture_hostile_pieces) + 7)
                        buf[len++] = (char) (0xf8 + rand_r(seed) % 8);
                else
                        for (unsigned i = (unsigned) rand_r(seed) % 40; i > 0; i--)
                                buf[len++] = (char) ('a' + rand_r(seed) % 26);
        }
        buf[len] = 0;
        return len;
}

/* Random strings as the daemon writes them, in the raw text and in comm, at every length up to a
 * few KiB: decoded back to what they were, and printed by the pass-through as by the tree. */
static void test_random_strings(void) {
        unsigned seed = 15;
        char s[4096];

        for (int i = 0; i < 400; i++) {
                bool invalid = i % 4 == 3;
                size_t len = random_string(s, 32 + (size_t) rand_r(&seed) % (sizeof(s) - 32),
                                           invalid, &seed);
                struct printbuf *pb = printbuf_new();
                CHECK(pb);
                CHECK(varlink_string_append(pb, s, len) >= 0);
                _cleanup_(freep) char *enc = strdup(pb->buf);
                CHECK(enc);
                printbuf_free(pb);

                /* the string alone: one pass checks and decodes it */
                size_t enc_len = strlen(enc), dec_len;
                _cleanup_(freep) char *dec = malloc(enc_len);
                const char *end = NULL;
                bool canonical = true;
                CHECK(dec);
                CHECK_RC(json_scan_value(enc, enc + enc_len, &end, &canonical), 0);
                CHECK(end == enc + enc_len);
                int r = json_scan_string_decode_into(enc, enc + enc_len, &end, dec, &dec_len);
                bool valid = utf8_is_valid(s);
                if (canonical != valid || (r >= 0) != valid ||
                    (valid &&
                     (end != enc + enc_len || dec_len != len || memcmp(dec, s, len) != 0))) {
                        fprintf(stderr, "string %d: canonical %d, decoded %d: %s\n", i, canonical,
                                r, enc);
                        exit(1);
                }
                /* cut short: refused */
                CHECK_RC(json_scan_string_decode_into(enc, enc + enc_len - 1, &end, dec, &dec_len),
                         -EBADMSG);

                /* in a row */
                _cleanup_(freep) char *row = NULL;
                CHECK(asprintf(&row, "{\"time\":\"t\",\"serial\":%d,\"comm\":%s,\"raw\":%s}", i,
                               enc, enc) > 0);
                CHECK(check_same(row) == valid);
        }
}

/* Prints rows one after the other, all as text (canonical or not: the text path's own reading of
 * keys) and all as trees; the outputs must be the same. */
static void check_sequence(const char *const *rows, size_t n) {
        char *tree = NULL, *text = NULL;
        size_t tree_size = 0, text_size = 0;
        FILE *ft = open_memstream(&tree, &tree_size), *fx = open_memstream(&text, &text_size);
        Output ot, ox;

        CHECK(ft && fx);
        output_init(&ot, OUTPUT_RAW, ft);
        output_init(&ox, OUTPUT_RAW, fx);
        for (size_t i = 0; i < n; i++) {
                json_object *o = NULL;
                CHECK_RC(varlink_parse_message(rows[i], strlen(rows[i]), &o), 0);
                CHECK_RC(output_denial(&ot, o), 0);
                json_object_put(o);
                CHECK_RC(output_denial_text(&ox, rows[i], strlen(rows[i]), NULL), 0);
        }
        CHECK(fclose(ft) == 0 && fclose(fx) == 0);
        if (strcmp(tree, text) != 0) {
                fprintf(stderr, "rows from %s\ntree: %s\ntext: %s\n", rows[0], tree, text);
                exit(1);
        }
        free(tree);
        free(text);
}

/* -o raw reads the three keys it needs in one pass, deciding whether to decode the raw record
 * before it knows the whole row: in any key order, with duplicate keys (the last counts), the
 * event printed once. */
static void test_raw_keys(void) {
        static const char *const same_event[] = {
                "{\"time\":\"t\",\"serial\":5,\"raw\":\"one\"}",
                "{\"time\":\"t\",\"serial\":5,\"raw\":\"one\"}",
                "{\"time\":\"t\",\"serial\":6,\"raw\":\"two\\n\"}",
        };
        static const char *const raw_first[] = {
                "{\"raw\":\"a\\\"b\",\"time\":\"t\",\"serial\":5}",
                "{\"raw\":\"a\\\"b\",\"serial\":5,\"time\":\"t\"}",
                "{\"raw\":\"c\",\"serial\":5,\"time\":\"u\"}",
        };
        /* the raw text skipped as the printed event's, until a later key says otherwise */
        static const char *const later_key[] = {
                "{\"time\":\"t\",\"serial\":5,\"raw\":\"a\"}",
                "{\"time\":\"t\",\"serial\":5,\"raw\":\"b\",\"serial\":6}",
                "{\"time\":\"t\",\"serial\":6,\"raw\":\"c\",\"time\":\"u\",\"time\":\"t\"}",
                "{\"time\":\"t\",\"serial\":6,\"raw\":\"d\",\"raw\":\"e\",\"serial\":7}",
                "{\"time\":\"t\",\"serial\":7,\"raw\":\"f\",\"raw\":[1],\"serial\":8}",
                "{\"time\":5,\"serial\":8,\"raw\":\"g\"}",
                "{\"time\":5,\"serial\":8,\"raw\":\"g\"}",
                "{\"time\":\"t\",\"raw\":\"h\"}",
                "{\"time\":\"t\",\"serial\":\"9\",\"raw\":\"i\"}",
                "{\"raw\":\"j\\u0000k\",\"time\":\"t\\u0000\",\"serial\":9}",
                "{\"raw\":\"l\",\"time\":\"t\",\"serial\":9}",
        };
        check_sequence(same_event, ELEMENTSOF(same_event));
        check_sequence(raw_first, ELEMENTSOF(raw_first));
        check_sequence(later_key, ELEMENTSOF(later_key));

        /* Strictness: a time or raw text that is not canonical is refused, the raw text only
         * when it would be printed. */
        Output out;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        CHECK(f);
        output_init(&out, OUTPUT_RAW, f);
        static const char *const refused[] = {
                "{\"time\":\"\\u0041\",\"serial\":1,\"raw\":\"r\"}",
                "{\"time\":\"t\",\"serial\":1,\"raw\":\"\\/\"}",
                "{\"raw\":\"\\/\",\"time\":\"t\",\"serial\":1}",
                "{\"time\":\"t\",\"serial\":1,\"raw\":\"r\",\"x\":\"\\q\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                CHECK_RC(output_denial_text(&out, refused[i], strlen(refused[i]), NULL), -EBADMSG);
        const char *printed = "{\"time\":\"t\",\"serial\":1,\"raw\":\"r\"}";
        const char *again = "{\"time\":\"t\",\"serial\":1,\"raw\":\"\\/\"}";
        CHECK_RC(output_denial_text(&out, printed, strlen(printed), NULL), 0);
        CHECK_RC(output_denial_text(&out, again, strlen(again), NULL), 0);
        CHECK(fclose(f) == 0);
        CHECK(strcmp(buf, "r\n") == 0);
        free(buf);
}

static void test_strict(void) {
        static const char *const bad[] = {
                "{",        "{\"a\":}",       "{\"a\":1,}",   "[1,]",       "{\"a\" 1}", "\"\x01\"",
                "\"\xff\"", "\"\\x\"",        "\"\\u12\"",    "tru",        "01",        "-",
                "1.",       "\"unterminated", "\"\xe2\x82\"", "{\"a\":1}}", "nul",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                bool canonical = true;
                const char *end = NULL, *text = bad[i];
                int r = json_scan_value(text, text + strlen(text), &end, &canonical);
                /* Refused, or a valid prefix that is not the whole text. */
                if (r == 0 && end == text + strlen(text)) {
                        fprintf(stderr, "accepted: %s\n", text);
                        exit(1);
                }
        }

        /* Depth: the scanner takes nothing deeper than the message parser does. */
        for (int levels = 30; levels <= 34; levels++) {
                char deep[128] = "{\"a\":";
                for (int i = 1; i < levels; i++)
                        strcat(deep, "[");
                for (int i = 1; i < levels; i++)
                        strcat(deep, "]");
                strcat(deep, "}");
                bool canonical = true;
                const char *end;
                json_object *o = NULL;
                int scanned = json_scan_value(deep, deep + strlen(deep), &end, &canonical);
                int parsed = varlink_parse_message(deep, strlen(deep), &o);
                json_object_put(o);
                if (scanned == 0)
                        CHECK_RC(parsed, 0);
                if (levels <= 32)
                        CHECK_RC(scanned, 0);
        }
}

static void test_page(void) {
        _cleanup_(query_page_text_done) QueryPageText t = {};
        const char *text;

        text = "{\"parameters\":{\"denials\":[],\"next\":null}}";
        CHECK_RC(query_page_text_parse(text, strlen(text), &t), 0);
        CHECK(t.n == 0 && !t.has_next);

        text = "{\"parameters\":{\"denials\":[{\"a\":1},{\"b\":\"\\u00e9\"}],\"next\":-"
               "9223372036854775808}}";
        CHECK_RC(query_page_text_parse(text, strlen(text), &t), 0);
        CHECK(t.n == 2 && t.has_next && t.next == INT64_MIN);
        CHECK(t.lens[0] == 7 && memcmp(t.rows[0], "{\"a\":1}", 7) == 0);
        CHECK(t.canonical[0] && !t.canonical[1]);

        text = "{\"parameters\":{\"denials\":[{}]}}";
        CHECK_RC(query_page_text_parse(text, strlen(text), &t), 0);
        CHECK(t.n == 1 && !t.has_next);

        text = "{\"parameters\":{\"denials\":[],\"next\":42}}";
        CHECK_RC(query_page_text_parse(text, strlen(text), &t), 0);
        CHECK(t.has_next && t.next == 42);

        /* the values of keys, found in the rows' top level only, the last of duplicates */
        {
                _cleanup_(query_page_text_done)
                        QueryPageText k = {.keys = {"raw", "time"}, .n_keys = 2};
                text = "{\"parameters\":{\"denials\":[{\"raw\":\"a\",\"x\":{\"raw\":1,\"time\":2}},"
                       "{\"time\":1,\"x\":[{\"raw\":3}],\"time\":22},{}],\"next\":7}}";
                CHECK_RC(query_page_text_parse(text, strlen(text), &k), 0);
                CHECK(k.n == 3 && k.has_next && k.next == 7);
                CHECK(k.values[0] && strncmp(k.values[0], "\"a\",", 4) == 0 && !k.values[1]);
                CHECK(!k.values[2] && k.values[3] && strncmp(k.values[3], "22}", 3) == 0);
                CHECK(!k.values[4] && !k.values[5]);
                CHECK(k.canonical[0] && !k.canonical[1] && k.canonical[2]);
        }

        static const char *const other[] = {
                "{\"error\":\"io.avcwatch.StoreError\",\"parameters\":{}}",
                "{\"parameters\":{\"next\":null,\"denials\":[]}}",
                "{\"parameters\":{\"denials\":[1]}}",
                "{\"parameters\":{\"denials\":[{}]}} ",
                "{\"parameters\":{\"denials\":[{}],\"next\":9223372036854775808}}",
                "{\"parameters\":{\"denials\":[{}],\"next\":01}}",
                "{\"parameters\":{\"denials\":[{\"a\":}]}}",
                "{\"parameters\":{\"denials\":[{}],\"continues\":true}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(other); i++)
                CHECK_RC(query_page_text_parse(other[i], strlen(other[i]), &t), -EBADMSG);
}

/* The cursor read from a page's last bytes (asked for before the page is scanned) is the one the
 * scan finds, or none is read: for every page the scan accepts, and for tails it refuses. */
static void test_peek_next(void) {
        _cleanup_(query_page_text_done) QueryPageText t = {};
        static const char *const pages[] = {
                "{\"parameters\":{\"denials\":[],\"next\":null}}",
                "{\"parameters\":{\"denials\":[{}]}}",
                "{\"parameters\":{\"denials\":[],\"next\":42}}",
                "{\"parameters\":{\"denials\":[{\"a\":1}],\"next\":0}}",
                "{\"parameters\":{\"denials\":[{\"a\":1}],\"next\":-9223372036854775808}}",
                "{\"parameters\":{\"denials\":[{\"a\":1}],\"next\":9223372036854775807}}",
                /* a string that ends like a page's tail */
                "{\"parameters\":{\"denials\":[{\"raw\":\"],\\\"next\\\":5}}\"}],\"next\":6}}",
                "{\"parameters\":{\"denials\":[{\"raw\":\",\\\"next\\\":5}}\"}]}}",
        };
        for (size_t i = 0; i < ELEMENTSOF(pages); i++) {
                bool has_next = true;
                int64_t next = -1;
                CHECK_RC(query_page_text_parse(pages[i], strlen(pages[i]), &t), 0);
                CHECK_RC(query_page_text_peek_next(pages[i], strlen(pages[i]), &has_next, &next),
                         0);
                CHECK(has_next == t.has_next);
                CHECK(!has_next || next == t.next);
        }
        static const char *const tails[] = {
                "",
                "}}",
                "{\"parameters\":{\"denials\":[],\"next\":}}",
                "{\"parameters\":{\"denials\":[],\"next\":01}}",
                "{\"parameters\":{\"denials\":[],\"next\":-}}",
                "{\"parameters\":{\"denials\":[],\"next\":1-2}}",
                "{\"parameters\":{\"denials\":[],\"next\":9223372036854775808}}",
                "{\"parameters\":{\"denials\":[],\"next\":nul}}",
                "{\"parameters\":{\"denials\":[],\"next\":42}} ",
                "{\"parameters\":{\"denials\":[],\"nxt\":42}}",
                "{\"parameters\":{\"denials\":[],\"next\":42}",
        };
        for (size_t i = 0; i < ELEMENTSOF(tails); i++) {
                bool has_next = false;
                int64_t next = 0;
                CHECK_RC(query_page_text_peek_next(tails[i], strlen(tails[i]), &has_next, &next),
                         -EBADMSG);
        }
}

int main(void) {
        test_daemon_rows();
        test_other_rows();
        test_random_strings();
        test_raw_keys();
        test_strict();
        test_page();
        test_peek_next();
        return 0;
}
