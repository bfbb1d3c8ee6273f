/* SPDX-License-Identifier: MIT */
/* avcctl's rendering (client/output.c, linked from avcctl-core as avcctl links it):
 * the short line's layout, terminal-safe output of hostile strings, json passed through as
 * received, raw printed once per event and unescaped, stats in both forms, and bad input. */

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "fixtures.h"
#include "macro.h"
#include "output.h"
#include "test.h"

/* The contract's example denial (DESIGN "Contracts"). */
static const char *const example_json = FIXTURE_JSON_HEAD
        "\"container\":{\"id\":"
        "\"4dd9367681d8aaaabbbbccccddddeeeeffff00001111222233334444555566667777\","
        "\"name\":\"web\",\"image\":\"centos:latest\",\"engine\":\"docker\",\"pod\":null},"
        "\"attribution\":\"pid\",\"target_container\":null,"
        "\"raw\":\"type=AVC msg=audit(1713603292.240:1088): avc:  denied  { write } for "
        "pid=21476\\ntype=SYSCALL msg=audit(1713603292.240:1088): arch=c000003e\"}";

typedef struct Capture {
        char *buf;
        size_t size;
        FILE *f;
} Capture;

static void capture_open(Capture *c) {
        *c = (Capture){};
        c->f = open_memstream(&c->buf, &c->size);
        CHECK(c->f);
}

static const char *capture_close(Capture *c) {
        CHECK(fclose(c->f) == 0);
        c->f = NULL;
        return c->buf;
}

static json_object *parse(const char *s) {
        json_object *o = json_tokener_parse(s);
        CHECK(o);
        return o;
}

static char *render(OutputMode mode, json_object *d) {
        Capture c;
        Output o;

        capture_open(&c);
        output_init(&o, mode, c.f);
        CHECK_RC(output_denial(&o, d), 0);
        capture_close(&c);
        return c.buf;
}

/* No byte that can act on a terminal: C0 except the final newline, DEL, and C1 as UTF-8. */
static void check_terminal_safe(const char *s) {
        size_t len = strlen(s);

        CHECK(len > 0 && s[len - 1] == '\n');
        for (size_t i = 0; i + 1 < len; i++) {
                unsigned char b = (unsigned char) s[i];
                if (b < 0x20 || b == 0x7f) {
                        fprintf(stderr, "control byte 0x%02x at %zu in: %s\n", b, i, s);
                        exit(1);
                }
                if (b == 0xc2 && (unsigned char) s[i + 1] >= 0x80 &&
                    (unsigned char) s[i + 1] <= 0x9f) {
                        fprintf(stderr, "C1 control at %zu in: %s\n", i, s);
                        exit(1);
                }
                CHECK(b < 0x80 || b >= 0xc2); /* no stray continuation / invalid lead bytes */
        }
}

static void test_modes(void) {
        CHECK_RC(output_mode_from_string("short"), OUTPUT_SHORT);
        CHECK_RC(output_mode_from_string("json"), OUTPUT_JSON);
        CHECK_RC(output_mode_from_string("raw"), OUTPUT_RAW);
        CHECK_RC(output_mode_from_string("JSON"), -EINVAL);
        CHECK_RC(output_mode_from_string(""), -EINVAL);
        CHECK_RC(output_mode_from_string(NULL), -EINVAL);
        CHECK_STREQ(output_mode_to_string(OUTPUT_RAW), "raw");
        CHECK(output_mode_to_string(_OUTPUT_MODE_MAX) == NULL);
}

static void test_short_layout(void) {
        json_object *d = parse(example_json);
        char *s = render(OUTPUT_SHORT, d);

        CHECK_STREQ(s, "2024-04-20 08:54:52.240  web  bash[21476]  { write }  "
                       "container_t -> admin_home_t:dir  root  [c170,c393]  (pid)\n");
        free(s);

        /* Unnamed container: the first 12 characters of its id; a target container and
         * permissive mode are named; a result other than "denied" is shown. */
        json_object *c;
        CHECK(json_object_object_get_ex(d, "container", &c));
        json_object_object_add(c, "name", NULL);
        json_object_object_add(d, "permissive", json_object_new_boolean(1));
        json_object_object_add(d, "result", json_object_new_string("granted"));
        json_object_object_add(d, "path", json_object_new_string("/etc/shadow"));
        json_object_object_add(d, "target_container", parse("{\"id\":\"abc\",\"name\":\"db\"}"));
        s = render(OUTPUT_SHORT, d);
        CHECK_STREQ(s, "2024-04-20 08:54:52.240  4dd9367681d8  bash[21476]  granted { write }  "
                       "container_t -> admin_home_t:dir  /etc/shadow  [c170,c393]  "
                       "(pid, permissive, target in db)\n");
        free(s);
        json_object_put(d);

        /* Local time follows TZ. */
        CHECK(setenv("TZ", "UTC-2", 1) == 0);
        tzset();
        d = parse(example_json);
        s = render(OUTPUT_SHORT, d);
        CHECK(strncmp(s, "2024-04-20 10:54:52.240  web  ", 30) == 0);
        free(s);
        json_object_put(d);
        CHECK(setenv("TZ", "UTC", 1) == 0);
        tzset();
}

static void test_short_missing_fields(void) {
        json_object *d = parse("{\"time\":\"not a time\\u001b[2J\",\"serial\":\"x\","
                               "\"permissions\":[\"read\",7],\"pid\":null,\"container\":null,"
                               "\"attribution\":\"none\"}");
        char *s = render(OUTPUT_SHORT, d);

        check_terminal_safe(s);
        CHECK_STREQ(s, "not a time\\x1b[2J  -  -  { read - }  - -> -:-  -  (none)\n");
        free(s);
        json_object_put(d);

        /* Not an object: nothing written, an error for the caller. */
        Capture c;
        Output o;
        capture_open(&c);
        output_init(&o, OUTPUT_SHORT, c.f);
        d = json_object_new_array();
        CHECK_RC(output_denial(&o, d), -EBADMSG);
        CHECK_RC(output_denial(&o, NULL), -EBADMSG);
        capture_close(&c);
        CHECK_STREQ(c.buf, "");
        free(c.buf);
        json_object_put(d);
}

static void test_short_hostile(void) {
        json_object *d = parse(example_json);
        json_object *c;
        char *s;

        /* Window title rewrite (OSC ... BEL), carriage return over the line, backspaces, a CSI
         * as the single C1 byte U+009B, invalid UTF-8, DEL, and an escape in the container's
         * name, image and id. */
        json_object_object_add(d, "comm", json_object_new_string("\x1b]0;pwned\x07sh"));
        json_object_object_add(d, "path",
                               json_object_new_string("/tmp/\rOK \x08\x08\x08\xc2\x9b"
                                                      "31m\xff\xfe\x7f"));
        json_object_object_add(d, "mcs", json_object_new_string("c1\x1b[0m"));
        json_object_object_add(d, "source_type", json_object_new_string("x\ny"));
        json_object_object_add(d, "attribution", json_object_new_string("\x9b"));
        CHECK(json_object_object_get_ex(d, "container", &c));
        json_object_object_add(c, "name", json_object_new_string("web\x1b[8m"));

        s = render(OUTPUT_SHORT, d);
        check_terminal_safe(s);
        CHECK(strstr(s, "web\\x1b[8m  "));
        CHECK(strstr(s, "\\x1b]0;pwned\\x07sh[21476]"));
        CHECK(strstr(s, "/tmp/\\x0dOK \\x08\\x08\\x08\\xc2\\x9b31m\\xff\\xfe\\x7f"));
        CHECK(strstr(s, "[c1\\x1b[0m]"));
        CHECK(strstr(s, "x\\x0ay -> "));
        free(s);

        /* A long hostile id, no name: cut to 12 bytes, still escaped. */
        json_object_object_add(c, "name", NULL);
        json_object_object_add(c, "id",
                               json_object_new_string("\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b"
                                                      "\x1b\x1b\x1b\x1b\x1b\x1b"));
        s = render(OUTPUT_SHORT, d);
        check_terminal_safe(s);
        CHECK(strstr(s, "  \\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b  "));
        CHECK(!strstr(s, "\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b"));
        free(s);
        json_object_put(d);
}

static void test_json(void) {
        json_object *d = parse(example_json);
        json_object *back;
        char *s;

        json_object_object_add(d, "comm", json_object_new_string("\x1b[2Jsh"));
        s = render(OUTPUT_JSON, d);
        check_terminal_safe(s); /* json-c escapes control characters itself */
        CHECK(strchr(s, '\n') == s + strlen(s) - 1);
        CHECK(strstr(s, "\"exe\":\"/usr/bin/bash\"")); /* no "\/" */
        CHECK(strstr(s, "\"path\":null"));
        back = json_tokener_parse(s);
        CHECK(back);
        CHECK(json_object_equal(back, d));
        json_object_put(back);
        free(s);
        json_object_put(d);
}

static void test_raw(void) {
        json_object *a = parse(example_json), *b = parse(example_json), *e = parse(example_json);
        Capture c;
        Output o;

        /* The second verdict of the same event shares the raw text; a new serial is a new event,
         * whose raw has no final newline and bytes that must pass unescaped. */
        json_object_object_add(b, "permissions", parse("[\"read\"]"));
        json_object_object_add(e, "serial", json_object_new_int64(1089));
        json_object_object_add(e, "raw",
                               json_object_new_string("type=AVC msg=audit(1.0:1089): "
                                                      "name=\x1b[1m"));

        capture_open(&c);
        output_init(&o, OUTPUT_RAW, c.f);
        CHECK_RC(output_denial(&o, a), 0);
        CHECK_RC(output_denial(&o, b), 0);
        CHECK_RC(output_denial(&o, e), 0);
        CHECK_RC(output_denial(&o, a), 0); /* not adjacent: printed again */
        capture_close(&c);

        const char *first = "type=AVC msg=audit(1713603292.240:1088): avc:  denied  { write } for "
                            "pid=21476\ntype=SYSCALL msg=audit(1713603292.240:1088): "
                            "arch=c000003e\n";
        char want[1024];
        snprintf(want, sizeof(want), "%stype=AVC msg=audit(1.0:1089): name=\x1b[1m\n%s", first,
                 first);
        CHECK_STREQ(c.buf, want);
        free(c.buf);

        /* On a terminal the same raw text is escaped line by line; the line breaks stay. */
        capture_open(&c);
        output_init(&o, OUTPUT_RAW, c.f);
        o.to_terminal = true;
        CHECK_RC(output_denial(&o, a), 0);
        CHECK_RC(output_denial(&o, e), 0);
        capture_close(&c);
        snprintf(want, sizeof(want), "%stype=AVC msg=audit(1.0:1089): name=\\x1b[1m\n", first);
        CHECK_STREQ(c.buf, want);
        CHECK(strchr(c.buf, '\x1b') == NULL);
        free(c.buf);

        /* No raw field: nothing, no error. */
        json_object_object_del(a, "raw");
        char *s = render(OUTPUT_RAW, a);
        CHECK_STREQ(s, "");
        free(s);

        json_object_put(a);
        json_object_put(b);
        json_object_put(e);
}

static void test_stats(void) {
        json_object *p =
                parse("{\"records_received\":12,\"records_malformed\":0,"
                      "\"denials_stored\":9,\"events_lost\":0,\"input\":\"netlink\","
                      "\"input_eof\":false,\"started\":\"2024-04-20T08:54:52.240Z\","
                      "\"x\\u001b\":null,\"losses\":[{\"since\":\"2024-04-20T08:54:52.240Z\","
                      "\"until\":\"2024-04-20T08:55:00.000Z\",\"records_dropped\":45,"
                      "\"serials_missed\":0,\"ongoing\":true}],\"none\":[]}");
        Capture c;
        Output o;

        capture_open(&c);
        output_init(&o, OUTPUT_SHORT, c.f);
        CHECK_RC(output_stats(&o, p), 0);
        capture_close(&c);
        CHECK_STREQ(c.buf, "records_received: 12\nrecords_malformed: 0\ndenials_stored: 9\n"
                           "events_lost: 0\ninput: netlink\ninput_eof: no\n"
                           "started: 2024-04-20T08:54:52.240Z\nx\\x1b: -\nlosses:\n"
                           "  2024-04-20T08:54:52.240Z .. 2024-04-20T08:55:00.000Z: 45 "
                           "records_dropped ongoing\nnone: -\n");
        free(c.buf);

        capture_open(&c);
        output_init(&o, OUTPUT_JSON, c.f);
        CHECK_RC(output_stats(&o, p), 0);
        capture_close(&c);
        CHECK(strchr(c.buf, '\n') == c.buf + strlen(c.buf) - 1);
        json_object *back = json_tokener_parse(c.buf);
        CHECK(back && json_object_equal(back, p));
        json_object_put(back);
        free(c.buf);

        json_object *arr = json_object_new_array();
        CHECK_RC(output_stats(&o, arr), -EBADMSG);
        json_object_put(arr);
        json_object_put(p);
}

static void test_local_time(void) {
        char buf[64];

        output_format_local_time(INT64_C(1713603292240), buf, sizeof(buf));
        CHECK_STREQ(buf, "2024-04-20 08:54:52.240");
        output_format_local_time(-1, buf, sizeof(buf));
        CHECK_STREQ(buf, "1969-12-31 23:59:59.999");
        output_format_local_time(5, buf, sizeof(buf));
        CHECK_STREQ(buf, "1970-01-01 00:00:00.005");
}

static void test_top(void) {
        json_object *sig = parse(
                "{\"result\":\"denied\",\"source_type\":\"container_t\",\"target_type\":"
                "\"shadow_t\",\"tclass\":\"file\",\"permissions\":[\"read\",\"open\"],\"image\":"
                "\"evil\\u001b]0;x\\u0007:1\",\"container\":null,\"mcs\":null,\"count\":1234,"
                "\"first\":\"2024-04-20T08:54:52.240Z\",\"last\":\"2024-04-21T09:00:00.000Z\","
                "\"containers\":3,\"signatures\":1}");
        json_object *ctr = parse(
                "{\"result\":null,\"source_type\":null,\"target_type\":null,\"tclass\":null,"
                "\"permissions\":null,\"image\":\"nginx:1\",\"container\":{\"id\":\"4dd9367681d8"
                "aaaabbbb\",\"name\":\"web\\u009b31m\",\"image\":\"nginx:1\",\"engine\":\"docker\","
                "\"pod\":null},\"mcs\":null,\"count\":7,\"first\":\"2024-04-20T08:54:52.240Z\","
                "\"last\":\"2024-04-20T08:54:52.240Z\",\"containers\":1,\"signatures\":2}");
        json_object *anon =
                parse("{\"result\":null,\"source_type\":null,\"target_type\":null,\"tclass\":null,"
                      "\"permissions\":null,\"image\":null,\"container\":null,\"mcs\":\"c1,c2\","
                      "\"count\":5,\"first\":\"2024-04-20T08:54:52.240Z\",\"last\":\"bogus\","
                      "\"containers\":0,\"signatures\":1}");
        Capture c;
        Output o;

        capture_open(&c);
        output_init(&o, OUTPUT_SHORT, c.f);
        output_top_header(&o, "signature");
        CHECK_RC(output_top_row(&o, "signature", sig), 0);
        capture_close(&c);
        CHECK(strstr(c.buf, "SIGNATURE (IMAGE)\n"));
        const char *line = strchr(c.buf, '\n') + 1;
        CHECK(strncmp(line,
                      "1234         3  2024-04-20 08:54:52  2024-04-21 09:00:00  { read open } "
                      "container_t -> shadow_t:file (evil\\x1b]0;x\\x07:1)\n",
                      strlen(line)) == 0);
        check_terminal_safe(line);
        free(c.buf);

        capture_open(&c);
        output_init(&o, OUTPUT_SHORT, c.f);
        CHECK_RC(output_top_row(&o, "container", ctr), 0);
        CHECK_RC(output_top_row(&o, "container", anon), 0);
        capture_close(&c);
        char *second = strchr(c.buf, '\n') + 1;
        check_terminal_safe(second);
        *second = 0;
        check_terminal_safe(c.buf);
        *second = '5';
        CHECK(strstr(c.buf, "7            2  2024-04-20 08:54:52  2024-04-20 08:54:52  web"));
        CHECK(strstr(c.buf, "web\\xc2\\x9b31m (nginx:1)\n"));
        CHECK(strstr(c.buf, "unattributed c1,c2\n"));
        CHECK(strstr(c.buf, "  -                    unattributed")); /* a bad time is "-" */
        free(c.buf);

        /* json: the objects as received, one per line; not an object: an error. */
        capture_open(&c);
        output_init(&o, OUTPUT_JSON, c.f);
        CHECK_RC(output_top_row(&o, "image", anon), 0);
        CHECK_RC(output_top_row(&o, "image", NULL), -EBADMSG);
        capture_close(&c);
        json_object *back = parse(c.buf);
        CHECK_RC(json_object_get_int64(json_object_object_get(back, "count")), 5);
        json_object_put(back);
        free(c.buf);
        json_object_put(sig);
        json_object_put(ctr);
        json_object_put(anon);
}

static void test_histogram(void) {
        json_object *bins = parse("[{\"start\":\"2024-04-20T08:00:00.000Z\",\"count\":10},"
                                  "{\"start\":\"2024-04-20T11:00:00.000Z\",\"count\":5}]");
        Capture c;
        Output o;

        capture_open(&c);
        output_init(&o, OUTPUT_SHORT, c.f);
        CHECK_RC(output_histogram(&o, bins, INT64_C(3600000)), 0);
        capture_close(&c);
        /* The empty hours between are shown; the longest bar is 50 wide. */
        CHECK_STREQ(c.buf, "START                DENIALS\n"
                           "2024-04-20 08:00          10  "
                           "##################################################\n"
                           "2024-04-20 09:00           0  \n"
                           "2024-04-20 10:00           0  \n"
                           "2024-04-20 11:00           5  #########################\n");
        free(c.buf);

        /* Too far apart to fill: only the bins themselves. */
        json_object *sparse = parse("[{\"start\":\"2024-04-20T08:00:01.000Z\",\"count\":1},"
                                    "{\"start\":\"2025-04-20T08:00:01.000Z\",\"count\":1}]");
        capture_open(&c);
        output_init(&o, OUTPUT_SHORT, c.f);
        CHECK_RC(output_histogram(&o, sparse, 1000), 0);
        capture_close(&c);
        CHECK_STREQ(c.buf, "START                DENIALS\n"
                           "2024-04-20 08:00:01           1  "
                           "##################################################\n"
                           "2025-04-20 08:00:01           1  "
                           "##################################################\n");
        free(c.buf);

        /* Malformed: out of order, negative, not an array. Nothing is written. */
        const char *bad[] = {
                "[{\"start\":\"2024-04-20T11:00:00.000Z\",\"count\":1},"
                "{\"start\":\"2024-04-20T08:00:00.000Z\",\"count\":1}]",
                "[{\"start\":\"2024-04-20T11:00:00.000Z\",\"count\":-1}]",
                "[{\"start\":\"yesterday-ish\",\"count\":1}]",
                "{}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_object *b = parse(bad[i]);
                capture_open(&c);
                output_init(&o, OUTPUT_SHORT, c.f);
                CHECK_RC(output_histogram(&o, b, 3600000), -EBADMSG);
                capture_close(&c);
                CHECK_STREQ(c.buf, "");
                free(c.buf);
                json_object_put(b);
        }
        json_object_put(bins);
        json_object_put(sparse);
}

int main(void) {
        CHECK(setenv("TZ", "UTC", 1) == 0);
        tzset();
        test_modes();
        test_short_layout();
        test_short_missing_fields();
        test_short_hostile();
        test_json();
        test_raw();
        test_stats();
        test_local_time();
        test_top();
        test_histogram();
        return 0;
}
