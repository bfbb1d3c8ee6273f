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

/* What avcctl does now: canonical rows as text, the others through the tree. */
static char *render_pass(OutputMode mode, const char *text, size_t len, bool *ret_canonical) {
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
        for (int i = 0; i < 2; i++)
                if (canonical)
                        CHECK_RC(output_denial_text(&out, text, len), 0);
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
        for (OutputMode mode = OUTPUT_JSON; mode <= OUTPUT_RAW; mode++) {
                _cleanup_(freep) char *tree = render_tree(mode, text, strlen(text));
                _cleanup_(freep) char *pass = render_pass(mode, text, strlen(text), &canonical);
                if (strcmp(tree, pass) != 0) {
                        fprintf(stderr, "row %s\nmode %d\ntree: %s\npass: %s\n", text, mode, tree,
                                pass);
                        exit(1);
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
        };
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                bool canonical = check_same(rows[i].text);
                if (canonical != rows[i].canonical) {
                        fprintf(stderr, "row %zu: canonical %d: %s\n", i, canonical, rows[i].text);
                        exit(1);
                }
        }
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

int main(void) {
        test_daemon_rows();
        test_other_rows();
        test_strict();
        test_page();
        return 0;
}
