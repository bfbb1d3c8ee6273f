/* SPDX-License-Identifier: MIT */
/* avcctl's rendering (client/output.c, linked from avcctl-core as avcctl links it):
 * the short line's layout, terminal-safe output of hostile strings, json passed through as
 * received, raw printed once per event and unescaped, stats in both forms, and bad input. */

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <time.h>

#include "fixtures.h"
#include "macro.h"
#include "output.h"
#include "verbs.h"
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

/* What WRITER (output_denial(), output_stats(), ...) writes of V in MODE (it must succeed). */
static char *render_with(int (*writer)(Output *o, json_object *v), OutputMode mode,
                         json_object *v) {
        Capture c;
        Output o;

        capture_open(&c);
        output_init(&o, mode, c.f);
        CHECK_RC(writer(&o, v), 0);
        capture_close(&c);
        return c.buf;
}

static char *render(OutputMode mode, json_object *d) {
        return render_with(output_denial, mode, d);
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
                /* no stray continuation / invalid lead bytes: whole UTF-8 sequences only (the
                 * cut mark "…" is one) */
                CHECK(b < 0x80 || b >= 0xc2);
                if (b >= 0xc2) {
                        size_t n = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
                        for (size_t k = 1; k <= n; k++)
                                CHECK(i + k < len && ((unsigned char) s[i + k] & 0xc0) == 0x80);
                        i += n;
                }
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

        /* Columns padded to their widths (28 20 26 20 20 32 16), PATH and NOTES last. */
        CHECK_STREQ(s, "2024-04-20 08:54:52.240 UTC   web                   bash[21476]"
                       "                 { write }             container_t           "
                       "admin_home_t:dir                  c170,c393         root  (pid)\n");
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
        CHECK(strstr(s, "UTC   4dd9367681d8          bash[21476]   "));
        CHECK(strstr(s, "  granted { write }     container_t   "));
        CHECK(strstr(s, "  c170,c393         /etc/shadow  (pid, permissive, target in db)\n"));
        free(s);
        json_object_put(d);

        /* Local time follows TZ. */
        CHECK(setenv("TZ", "UTC-2", 1) == 0);
        tzset();
        d = parse(example_json);
        s = render(OUTPUT_SHORT, d);
        CHECK(strncmp(s, "2024-04-20 10:54:52.240 UTC   web  ", 35) == 0);
        free(s);
        json_object_put(d);
        /* A zone with a name: its abbreviation, summer time included. */
        CHECK(setenv("TZ", "Europe/Berlin", 1) == 0);
        tzset();
        d = parse(example_json);
        s = render(OUTPUT_SHORT, d);
        CHECK(strncmp(s, "2024-04-20 10:54:52.240 CEST  web  ", 35) == 0);
        free(s);
        /* --utc: UTC whatever TZ says. */
        {
                Capture cu;
                Output ou;
                OutputStyle st = {.utc = true};
                capture_open(&cu);
                output_init(&ou, OUTPUT_SHORT, cu.f);
                output_set_style(&ou, &st);
                CHECK_RC(output_denial(&ou, d), 0);
                capture_close(&cu);
                CHECK(strncmp(cu.buf, "2024-04-20 08:54:52.240 UTC   web  ", 35) == 0);
                free(cu.buf);
        }
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
        CHECK_STREQ(s, "not a time\\x1b[2J             -                     -"
                       "                           { read - }            -                     -:-"
                       "                               -                 -  (none)\n");
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

/* A denial named at the level of a pod or a namespace: the CONTAINER column names it, the notes
 * list the candidates; a hostile namespace is escaped. */
static void test_short_pod_level(void) {
        static const char cands[] =
                "\"candidates\":[{\"id\":\"s1\",\"name\":\"POD\",\"image\":null,\"engine\":"
                "\"cri-o\",\"pod\":\"web\",\"namespace\":\"shop\"},{\"id\":\"a1\",\"name\":"
                "\"app\",\"image\":null,\"engine\":\"cri-o\",\"pod\":\"web\",\"namespace\":"
                "\"shop\"}]}";
        _cleanup_(freep) char *pod = NULL, *ns = NULL;
        CHECK(asprintf(&pod,
                       "{\"container\":{\"id\":null,\"name\":null,\"image\":null,\"engine\":"
                       "\"cri-o\",\"pod\":\"web\",\"namespace\":\"shop\"},\"attribution\":"
                       "\"pod\",%s",
                       cands) > 0);
        CHECK(asprintf(&ns,
                       "{\"container\":{\"id\":null,\"name\":null,\"image\":null,\"engine\":"
                       "null,\"pod\":null,\"namespace\":\"sh\\u001bop\"},\"attribution\":"
                       "\"namespace\",%s",
                       cands) > 0);
        json_object *d = parse(pod);
        char *s = render(OUTPUT_SHORT, d);
        check_terminal_safe(s);
        CHECK(strstr(s, " pod shop/web "));
        CHECK(strstr(s, "(pod: POD|app)"));
        free(s);
        json_object_put(d);
        d = parse(ns);
        s = render(OUTPUT_SHORT, d);
        check_terminal_safe(s);
        CHECK(strstr(s, " namespace sh\\x1bop "));
        CHECK(strstr(s, "(namespace: POD|app)"));
        free(s);
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
        CHECK(strstr(s, "  c1\\x1b[0m   "));
        CHECK(strstr(s, "  x\\x0ay   "));
        free(s);

        /* A long hostile id, no name: cut to 12 bytes, still escaped ... */
        json_object_object_add(c, "name", NULL);
        json_object_object_add(c, "id",
                               json_object_new_string("\x1b\x1b\x1b\x1b\x1b\x1b\x1b\x1b"
                                                      "\x1b\x1b\x1b\x1b\x1b\x1b"));
        s = render(OUTPUT_SHORT, d);
        check_terminal_safe(s);
        /* ... and then cut to its column (20) with the mark: the table stays aligned. */
        CHECK(strstr(s, "UTC   \\x1b\\x1b\\x1b\\x1b…     \\x1b]0;pwned"));
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
        char *text = render_with(output_stats, OUTPUT_SHORT, p);
        Output o;

        CHECK_STREQ(text, "records_received: 12\nrecords_malformed: 0\ndenials_stored: 9\n"
                          "events_lost: 0\ninput: netlink\ninput_eof: no\n"
                          "started: 2024-04-20 08:54:52.240 UTC\nx\\x1b: -\nlosses:\n"
                          "  2024-04-20 08:54:52.240 UTC .. 2024-04-20 08:55:00.000 UTC: 45 "
                          "records_dropped ongoing\nnone: -\n");
        free(text);

        text = render_with(output_stats, OUTPUT_JSON, p);
        CHECK(strchr(text, '\n') == text + strlen(text) - 1);
        json_object *back = json_tokener_parse(text);
        CHECK(back && json_object_equal(back, p));
        json_object_put(back);
        free(text);

        output_init(&o, OUTPUT_JSON, stdout);
        json_object *arr = json_object_new_array();
        CHECK_RC(output_stats(&o, arr), -EBADMSG);
        json_object_put(arr);
        json_object_put(p);
}

/* Stats' engines and runtimes, one line each: the head (name, state, since, socket or state
 * directory), every counter (0 when missing), the last error; a path of "" is shown for an
 * engine, not for a runtime; elements that are not objects are skipped. */
static void test_stats_sources(void) {
        json_object *p = parse(
                "{\"engines\":[{\"name\":\"docker\",\"state\":\"connected\","
                "\"since\":\"2024-04-20T08:54:52.240Z\",\"socket\":\"/run/docker.sock\","
                "\"events\":12,\"inspects\":40,\"failures\":0},"
                "7,{\"name\":\"podman\",\"state\":\"retrying\",\"socket\":\"\",\"failures\":3,"
                "\"last_error\":\"Connection refused\\u001b[2J\"},{\"state\":\"off\"}],"
                "\"runtimes\":[{\"name\":\"containerd\",\"state\":\"watching\","
                "\"since\":\"2024-04-20T08:54:52.240Z\","
                "\"directory\":\"/run/containerd/io.containerd.runtime.v2.task\","
                "\"containers\":12,\"ended\":3,\"too_large\":1,\"malformed\":2,\"refused\":4,"
                "\"inspects\":5,\"failures\":6},null,{\"name\":\"crio\",\"state\":\"absent\","
                "\"directory\":\"\",\"last_error\":\"gone\"}]}");
        char *text = render_with(output_stats, OUTPUT_SHORT, p);

        CHECK_STREQ(text,
                    "engine docker: connected since 2024-04-20 08:54:52.240 UTC "
                    "(/run/docker.sock), 12 events, 40 inspects, 0 failures\n"
                    "engine podman: retrying (), 0 events, 0 inspects, 3 failures, "
                    "last error: Connection refused\\x1b[2J\n"
                    "engine -: off, 0 events, 0 inspects, 0 failures\n"
                    "runtime containerd: watching since 2024-04-20 08:54:52.240 UTC "
                    "(/run/containerd/io.containerd.runtime.v2.task), 12 containers, 3 ended, "
                    "1 too large, 2 malformed, 4 refused, 5 inspects, 6 failures\n"
                    "runtime crio: absent, 0 containers, 0 ended, 0 too large, 0 malformed, "
                    "0 refused, 0 inspects, 0 failures, last error: gone\n");
        free(text);
        json_object_put(p);
}

static void test_local_time(void) {
        char buf[64];

        output_format_local_time(INT64_C(1713603292240), buf, sizeof(buf));
        CHECK_STREQ(buf, "2024-04-20 08:54:52.240 UTC");
        output_format_local_time(-1, buf, sizeof(buf));
        CHECK_STREQ(buf, "1969-12-31 23:59:59.999 UTC");
        output_format_local_time(5, buf, sizeof(buf));
        CHECK_STREQ(buf, "1970-01-01 00:00:00.005 UTC");

        /* One convention, local with the zone of that time (winter and summer), or UTC. */
        CHECK(setenv("TZ", "Europe/Berlin", 1) == 0);
        tzset();
        output_format_time(INT64_C(1713603292240), false, OUTPUT_TIME_SECONDS, buf, sizeof(buf));
        CHECK_STREQ(buf, "2024-04-20 10:54:52 CEST");
        output_format_time(INT64_C(1702000000000), false, OUTPUT_TIME_MINUTES, buf, sizeof(buf));
        CHECK_STREQ(buf, "2023-12-08 02:46 CET");
        output_format_time(INT64_C(1713603292240), true, OUTPUT_TIME_MS, buf, sizeof(buf));
        CHECK_STREQ(buf, "2024-04-20 08:54:52.240 UTC");
        CHECK(setenv("TZ", "UTC", 1) == 0);
        tzset();
}

/* The formatter writes digits and the zone by hand: the same as strftime() writes them, in zones
 * with odd offsets and abbreviations, across their changes, and in years of other widths. */
static void test_time_as_strftime(void) {
        static const char *const zones[] = {
                "UTC",          "Europe/Berlin",       "America/St_Johns",
                "Asia/Kolkata", "Australia/Lord_Howe", "XYZ-3:30ABC,M3.5.0,M10.5.0"};
        static const int64_t starts[] = {INT64_C(-62135596800000) /* year 1 */,
                                         INT64_C(-30610224000000) /* year 1000 */, INT64_C(-1),
                                         INT64_C(1711846800000) /* 2024 DST */,
                                         INT64_C(253402297199000) /* 9999-12-31 23:59:59 */};

        for (size_t z = 0; z < ELEMENTSOF(zones); z++) {
                CHECK(setenv("TZ", zones[z], 1) == 0);
                tzset();
                for (size_t s = 0; s < ELEMENTSOF(starts); s++)
                        for (int64_t k = 0; k < 400; k++) {
                                /* steps of 7 minutes and 37.123 s: every field moves */
                                int64_t ms = starts[s] - 200 * 457123 + k * 457123;
                                for (int utc = 0; utc <= 1; utc++)
                                        for (int p = OUTPUT_TIME_MS; p <= OUTPUT_TIME_MINUTES;
                                             p++) {
                                                char buf[OUTPUT_TIME_MAX], want[OUTPUT_TIME_MAX];
                                                int64_t sec = ms / 1000 - (ms % 1000 < 0);
                                                time_t t = (time_t) sec;
                                                struct tm tm;
                                                size_t len;

                                                CHECK(utc ? gmtime_r(&t, &tm)
                                                          : localtime_r(&t, &tm));
                                                len = strftime(want, sizeof(want),
                                                               p == OUTPUT_TIME_MINUTES
                                                                       ? "%Y-%m-%d %H:%M"
                                                                       : "%Y-%m-%d %H:%M:%S",
                                                               &tm);
                                                CHECK(len > 0);
                                                if (p == OUTPUT_TIME_MS)
                                                        len += (size_t) snprintf(
                                                                want + len, sizeof(want) - len,
                                                                ".%03d", (int) (ms - sec * 1000));
                                                if (utc)
                                                        strcpy(want + len, " UTC");
                                                else
                                                        CHECK(strftime(want + len,
                                                                       sizeof(want) - len, " %Z",
                                                                       &tm) > 0);
                                                output_format_time(ms, utc, (OutputTimePrecision) p,
                                                                   buf, sizeof(buf));
                                                CHECK_STREQ(buf, want);
                                        }
                        }
        }
        CHECK(setenv("TZ", "UTC", 1) == 0);
        tzset();
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
                      "1234      3     2024-04-20 08:54:52 UTC   2024-04-21 09:00:00 UTC   "
                      "{ read open } "
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
        CHECK(strstr(c.buf,
                     "7         2     2024-04-20 08:54:52 UTC   2024-04-20 08:54:52 UTC   web"));
        CHECK(strstr(c.buf, "web\\xc2\\x9b31m (nginx:1)\n"));
        CHECK(strstr(c.buf, "unattributed c1,c2\n"));
        CHECK(strstr(c.buf, "  -                         unattributed")); /* a bad time is "-" */
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
        CHECK_STREQ(c.buf, "START                        DENIALS\n"
                           "2024-04-20 08:00 UTC              10  "
                           "##################################################\n"
                           "2024-04-20 09:00 UTC               0  \n"
                           "2024-04-20 10:00 UTC               0  \n"
                           "2024-04-20 11:00 UTC               5  #########################\n");
        free(c.buf);

        /* Too far apart to fill: only the bins themselves. */
        json_object *sparse = parse("[{\"start\":\"2024-04-20T08:00:01.000Z\",\"count\":1},"
                                    "{\"start\":\"2025-04-20T08:00:01.000Z\",\"count\":1}]");
        capture_open(&c);
        output_init(&o, OUTPUT_SHORT, c.f);
        CHECK_RC(output_histogram(&o, sparse, 1000), 0);
        capture_close(&c);
        CHECK_STREQ(c.buf, "START                        DENIALS\n"
                           "2024-04-20 08:00:01 UTC            1  "
                           "##################################################\n"
                           "2025-04-20 08:00:01 UTC            1  "
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

/* The display column at which the text after the nth run of 2+ blanks starts on a line. */
static size_t column_of_field(const char *line, int n) {
        size_t col = 0;
        const char *p = line;

        for (int i = 0; i < n; i++) {
                const char *gap = strstr(p, "  ");
                CHECK(gap);
                while (*gap == ' ')
                        gap++;
                p = gap;
        }
        char *prefix = strndup(line, (size_t) (p - line));
        CHECK(prefix);
        col = output_text_columns(prefix);
        free(prefix);
        return col;
}

static void test_table(void) {
        json_object *d = parse(example_json), *wide = parse(example_json), *c;
        Capture cap;
        Output o;

        /* wcwidth() knows wide characters in a UTF-8 locale (avcctl takes LC_CTYPE from the
         * environment). */
        CHECK(setlocale(LC_CTYPE, "C.UTF-8"));

        /* A wide name (2 columns per character) and a hostile long one: cut with the mark, and
         * the next columns stay where the legend says. */
        CHECK(json_object_object_get_ex(wide, "container", &c));
        json_object_object_add(c, "name", json_object_new_string("\xe7\xbd\x91\xe7\xab\x99"));
        json_object_object_add(wide, "comm", json_object_new_string("\x1b\x1b\x1b\x1b\x1b\x1b"));
        json_object_object_add(wide, "path",
                               json_object_new_string("/very/long/hostile/path/that/goes/on/and/on/"
                                                      "and/on/\x1b[2J/until/the/file.txt"));

        capture_open(&cap);
        output_init(&o, OUTPUT_SHORT, cap.f);
        output_denials_header(&o);
        CHECK_RC(output_denial(&o, d), 0);
        CHECK_RC(output_denial(&o, wide), 0);
        capture_close(&cap);
        CHECK(strncmp(cap.buf, "TIME                          CONTAINER             PROCESS    ",
                      63) == 0);
        CHECK(strstr(cap.buf, "  MCS               PATH  NOTES\n"));
        char *l1 = cap.buf, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
        *strchr(l1, '\n') = 0;
        *strchr(l2, '\n') = 0;
        *strchr(l3, '\n') = 0;
        /* CONTAINER PROCESS DENIED SOURCE TARGET MCS PATH start at one column on all lines */
        for (int field = 1; field <= 7; field++) {
                CHECK_RC(column_of_field(l2, field), column_of_field(l1, field));
                CHECK_RC(column_of_field(l3, field), column_of_field(l1, field));
        }
        CHECK(strstr(l3, "  \xe7\xbd\x91\xe7\xab\x99                  \\x1b")); /* 4 + 16 + 2 */
        /* comm is cut, never the pid */
        CHECK(strstr(l3, "  \\x1b\\x1b\\x1b\\x1b…[21476]    ")); /* never inside an escape */
        /* the path is evidence: whole, last but the notes, escaped */
        CHECK(strstr(l3, "  /very/long/hostile/path/that/goes/on/and/on/and/on/\\x1b[2J/until/the/"
                         "file.txt  (pid)"));
        free(cap.buf);

        /* --no-legend: rows only. */
        OutputStyle st = {.no_legend = true};
        capture_open(&cap);
        output_init(&o, OUTPUT_SHORT, cap.f);
        output_set_style(&o, &st);
        output_denials_header(&o);
        output_containers_header(&o);
        output_top_header(&o, "image");
        CHECK_RC(output_denial(&o, d), 0);
        capture_close(&cap);
        CHECK(strncmp(cap.buf, "2024-04-20 08:54:52.240 UTC", 27) == 0);
        free(cap.buf);

        /* The head waits for the first row: an answer that ends in an error prints none; one
         * that ends without rows prints it when flushed. */
        capture_open(&cap);
        output_init(&o, OUTPUT_SHORT, cap.f);
        output_denials_header(&o);
        capture_close(&cap);
        CHECK_STREQ(cap.buf, "");
        free(cap.buf);
        capture_open(&cap);
        output_init(&o, OUTPUT_SHORT, cap.f);
        output_denials_header(&o);
        output_header_flush(&o);
        output_header_flush(&o); /* once */
        capture_close(&cap);
        CHECK(strncmp(cap.buf, "TIME ", 5) == 0);
        CHECK(strchr(cap.buf, '\n') == strrchr(cap.buf, '\n'));
        free(cap.buf);

        /* json has no legend whatever the style. */
        capture_open(&cap);
        output_init(&o, OUTPUT_JSON, cap.f);
        output_denials_header(&o);
        capture_close(&cap);
        CHECK_STREQ(cap.buf, "");
        free(cap.buf);
        json_object_put(d);
        json_object_put(wide);
        CHECK(setlocale(LC_CTYPE, "C"));
}

static void test_color(void) {
        json_object *d = parse(example_json);
        Capture cap;
        Output o;

        /* Only on a terminal; --no-color and a non-empty NO_COLOR turn it off. */
        CHECK(output_use_color(false, NULL, true));
        CHECK(output_use_color(false, "", true));
        CHECK(!output_use_color(false, "1", true));
        CHECK(!output_use_color(true, NULL, true));
        CHECK(!output_use_color(false, NULL, false));

        /* A memory stream is no terminal: no colour even when asked for. */
        capture_open(&cap);
        output_init(&o, OUTPUT_SHORT, cap.f);
        output_set_style(&o, &(OutputStyle){});
        CHECK(!o.color);
        o.color = true; /* as on a terminal */
        output_denials_header(&o);
        CHECK_RC(output_denial(&o, d), 0);
        capture_close(&cap);
        CHECK(strstr(cap.buf, "\x1b[1mTIME\x1b[0m"));
        CHECK(strstr(cap.buf, "\x1b[1mweb\x1b[0m                 "));
        CHECK(strstr(cap.buf, "\x1b[31m{ write }\x1b[0m"));
        free(cap.buf);
        json_object_put(d);
}

/* A triaged denial: the verdict ends NOTES, the hint has its own line (once per run of the
 * same hint), cut to the terminal's width, whole into a pipe; escapes in bold red. */
static void test_short_triage(void) {
        json_object *d = parse(example_json);
        static const char hint[] =
                "Escape attempt: the container tried to write a kernel setting. This is not a "
                "labelling problem: do not allow it.";
        Capture cap;
        Output o;

        json_object_object_add(d, "reason", json_object_new_string("te"));
        json_object_object_add(d, "verdict", json_object_new_string("escape"));
        json_object_object_add(d, "hint", json_object_new_string(hint));
        capture_open(&cap);
        output_init(&o, OUTPUT_SHORT, cap.f);
        CHECK_RC(output_denial(&o, d), 0);
        CHECK_RC(output_denial(&o, d), 0); /* the same hint again: not repeated */
        json_object_object_add(d, "verdict", json_object_new_string("volume"));
        json_object_object_add(d, "hint", json_object_new_string("Mount it with :Z.\x1b[2J"));
        CHECK_RC(output_denial(&o, d), 0);
        capture_close(&cap);
        char *l1 = cap.buf;
        CHECK(strstr(l1, "c170,c393         root  (pid) escape\n    hint: Escape attempt: the "
                         "container tried to write a kernel setting. This is not a labelling "
                         "problem: do not allow it.\n2024-04-20 08:54:52.240 UTC   web"));
        CHECK(strstr(l1, "(pid) escape\n2024-04-20"));
        CHECK(strstr(l1, "(pid) volume\n    hint: Mount it with :Z.\\x1b[2J\n"));
        CHECK(!strchr(l1, '\x1b')); /* the hint is escaped too */
        free(cap.buf);

        /* On a terminal of 60 columns: cut with the mark; colour on the verdict only. */
        json_object_object_add(d, "verdict", json_object_new_string("escape"));
        json_object_object_add(d, "hint", json_object_new_string(hint));
        capture_open(&cap);
        output_init(&o, OUTPUT_SHORT, cap.f);
        o.columns = 60;
        o.color = true;
        CHECK_RC(output_denial(&o, d), 0);
        capture_close(&cap);
        CHECK(strstr(cap.buf, "(pid) \x1b[1m\x1b[31mescape\x1b[0m\n"));
        const char *h = strstr(cap.buf, "    hint: ");
        CHECK(h);
        CHECK(strstr(h, "…\n"));
        CHECK_RC(output_text_columns(h) - 1, 59); /* the newline is not a column */
        free(cap.buf);

        /* Untriaged: exactly as before triage. */
        json_object_put(d);
        d = parse(example_json);
        char *plain = render(OUTPUT_SHORT, d);
        CHECK(strstr(plain, "root  (pid)\n"));
        CHECK(!strstr(plain, "hint"));
        free(plain);
        json_object_put(d);
}

static void test_containers(void) {
        json_object *created = parse(
                "{\"id\":\"aaaaaaaaaaaaaaaa\",\"name\":\"new\",\"engine\":\"podman\",\"image\":"
                "\"nginx:1\",\"created\":\"2024-04-20T08:00:00.000Z\",\"started\":null,"
                "\"finished\":null,\"removed\":null,\"running\":false,\"denials\":0,"
                "\"ambiguous\":0}");
        json_object *exited = parse(
                "{\"id\":\"bbbbbbbbbbbbbbbb\",\"name\":\"done\",\"engine\":\"docker\","
                "\"created\":\"2024-04-20T08:00:00.000Z\",\"started\":\"2024-04-20T08:00:01.000Z\","
                "\"finished\":\"2024-04-20T09:00:00.000Z\",\"removed\":null,\"running\":false,"
                "\"denials\":3,\"ambiguous\":1}");
        json_object *removed = parse(
                "{\"id\":\"cccccccccccccccc\",\"name\":\"gone\",\"engine\":\"docker\","
                "\"created\":\"2024-04-20T08:00:00.000Z\",\"started\":\"2024-04-20T08:00:01.000Z\","
                "\"finished\":\"2024-04-20T09:00:00.000Z\",\"removed\":\"2024-04-20T10:00:00."
                "000Z\","
                "\"running\":false,\"denials\":0,\"ambiguous\":0}");
        json_object *running = parse(
                "{\"id\":\"dddddddddddddddd\",\"name\":\"up\",\"engine\":\"docker\","
                "\"created\":\"2024-04-20T08:00:00.000Z\",\"started\":\"2024-04-20T08:00:01.000Z\","
                "\"finished\":null,\"removed\":null,\"running\":true,\"denials\":0,"
                "\"ambiguous\":0}");
        const char *ended;
        Capture cap;
        Output o;

        CHECK_STREQ(output_container_state(created, &ended), "created");
        CHECK(!ended);
        CHECK_STREQ(output_container_state(exited, &ended), "exited");
        CHECK_STREQ(ended, "finished");
        CHECK_STREQ(output_container_state(removed, &ended), "removed");
        CHECK_STREQ(ended, "removed");
        CHECK_STREQ(output_container_state(running, &ended), "running");
        CHECK(!ended);

        capture_open(&cap);
        output_init(&o, OUTPUT_SHORT, cap.f);
        output_containers_header(&o);
        CHECK_RC(output_container(&o, created), 0);
        CHECK_RC(output_container(&o, exited), 0);
        CHECK_RC(output_container(&o, removed), 0);
        CHECK_RC(output_container(&o, running), 0);
        capture_close(&cap);
        CHECK(strstr(cap.buf, "  CREATED                   STARTED                   STATE    "
                              "ENDED                     DENIALS\n"));
        /* created, never started: STARTED is "-", not the creation time */
        CHECK(strstr(cap.buf,
                     "  2024-04-20 08:00:00 UTC   -                         created  -  "));
        CHECK(strstr(cap.buf, "  2024-04-20 08:00:01 UTC   exited   2024-04-20 09:00:00 UTC   "
                              "3 (+1 ambiguous)\n"));
        CHECK(strstr(cap.buf, "  removed  2024-04-20 10:00:00 UTC   0\n"));
        CHECK(strstr(cap.buf, "  running  -                         0\n"));
        free(cap.buf);
        json_object_put(created);
        json_object_put(exited);
        json_object_put(removed);
        json_object_put(running);
}

static void test_complete_names(void) {
        /* what a shell can take back as one word; a container's name chooses its bytes */
        CHECK(complete_name_is_offered("web"));
        CHECK(complete_name_is_offered("docker.io/library/nginx:1.25"));
        CHECK(complete_name_is_offered("my_pod-1.2"));
        CHECK(!complete_name_is_offered(""));
        CHECK(!complete_name_is_offered(NULL));
        CHECK(!complete_name_is_offered("-rf"));
        CHECK(!complete_name_is_offered("a b"));
        CHECK(!complete_name_is_offered("a\x1b[2J"));
        CHECK(!complete_name_is_offered("$(reboot)"));
        CHECK(!complete_name_is_offered("a;b"));
        CHECK(!complete_name_is_offered("\xe7\xbd\x91"));
}

int main(void) {
        CHECK(setenv("TZ", "UTC", 1) == 0);
        tzset();
        test_modes();
        test_short_layout();
        test_short_missing_fields();
        test_short_hostile();
        test_short_pod_level();
        test_json();
        test_raw();
        test_stats();
        test_stats_sources();
        test_local_time();
        test_time_as_strftime();
        test_top();
        test_histogram();
        test_table();
        test_color();
        test_short_triage();
        test_containers();
        test_complete_names();
        return 0;
}
