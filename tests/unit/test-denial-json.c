/* SPDX-License-Identifier: MIT */
/* The Denial JSON object of DESIGN "Contracts": exact key order and text, the null rules, hostile
 * strings (control bytes, quotes, backslashes, invalid UTF-8), the round trip through
 * denial_from_json, and its strictness on types. */

#include <errno.h>
#include <string.h>

#include "denial-json.h"
#include "fixtures.h"
#include "macro.h"
#include "test.h"
#include "verdict.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The contract's example, attributed by pid. */
static Denial example(void) {
        Denial d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL);

        d.has_container = true;
        fixture_container(&d.container, "4dd9367681d8a", "web", "centos:latest", "docker", NULL);
        d.attribution = ATTRIBUTION_PID;
        /* Not part of the JSON object. */
        set_string(&d.cwd, "/root");
        d.uid = 0;
        return d;
}

static char *to_text(const Denial *d) {
        json_object *o = NULL;
        CHECK_RC(denial_to_json(d, &o), 0);
        char *s = strdup(json_object_to_json_string_ext(o, FLAGS));
        CHECK(s);
        json_object_put(o);
        return s;
}

static void from_text(const char *text, Denial *ret) {
        json_object *o = json_tokener_parse(text);
        CHECK(o);
        CHECK_RC(denial_from_json(o, ret), 0);
        json_object_put(o);
}

static int from_text_rc(const char *text) {
        Denial d = DENIAL_NULL;
        json_object *o = json_tokener_parse(text);
        CHECK(o);
        int r = denial_from_json(o, &d);
        json_object_put(o);
        denial_done(&d);
        return r;
}

static void test_time(void) {
        char buf[32];

        format_time_iso8601_ms(1713603292240, buf, sizeof(buf));
        CHECK_STREQ(buf, "2024-04-20T08:54:52.240Z");
        format_time_iso8601_ms(0, buf, sizeof(buf));
        CHECK_STREQ(buf, "1970-01-01T00:00:00.000Z");
        format_time_iso8601_ms(-1, buf, sizeof(buf));
        CHECK_STREQ(buf, "1969-12-31T23:59:59.999Z");
        format_time_iso8601_ms(1713603292005, buf, sizeof(buf));
        CHECK_STREQ(buf, "2024-04-20T08:54:52.005Z");
}

static const char example_text[] = FIXTURE_JSON_HEAD
        "\"container\":{\"id\":\"4dd9367681d8a\",\"name\":\"web\","
        "\"image\":\"centos:latest\",\"engine\":\"docker\",\"pod\":null,\"namespace\":null},"
        "\"attribution\":\"pid\","
        "\"target_container\":null,\"candidates\":null,\"count\":1,"
        "\"reason\":null,\"booleans\":[],\"verdict\":null,\"hint\":null,"
        "\"raw\":\"type=AVC msg=audit(1713603292.240:1088): avc:  denied  { write }\"}";

static void test_example(void) {
        Denial d = example();
        _cleanup_(freep) char *text = to_text(&d);
        CHECK_STREQ(text, example_text);

        /* And back: every field of the object, and the same text again. */
        Denial back = DENIAL_NULL;
        from_text(text, &back);
        CHECK_RC(back.time_ms, d.time_ms);
        CHECK_RC(back.serial, d.serial);
        CHECK_RC(back.record_type, 1400);
        CHECK_STREQ(back.result, "denied");
        CHECK_STREQ(back.permissions, "write");
        CHECK_RC(back.pid, 21476);
        CHECK_STREQ(back.comm, "bash");
        CHECK_STREQ(back.exe, "/usr/bin/bash");
        CHECK_STREQ(back.path, NULL);
        CHECK_STREQ(back.name, "root");
        CHECK_STREQ(back.scontext, d.scontext);
        CHECK_STREQ(back.tcontext, d.tcontext);
        CHECK_STREQ(back.tclass, "dir");
        CHECK_RC(back.permissive, 0);
        CHECK_STREQ(back.source_type, "container_t");
        CHECK_STREQ(back.target_type, "admin_home_t");
        CHECK_STREQ(back.mcs, "c170,c393");
        CHECK(back.has_container);
        CHECK_STREQ(back.container.id, "4dd9367681d8a");
        CHECK_STREQ(back.container.name, "web");
        CHECK_STREQ(back.container.image, "centos:latest");
        CHECK_STREQ(back.container.engine, "docker");
        CHECK_STREQ(back.container.pod, NULL);
        CHECK_RC(back.attribution, ATTRIBUTION_PID);
        CHECK(!back.has_target_container);
        CHECK_STREQ(back.raw, d.raw);
        _cleanup_(freep) char *again = to_text(&back);
        CHECK_STREQ(again, text);

        denial_done(&back);
        denial_done(&d);
}

static void test_nulls(void) {
        Denial d = DENIAL_NULL;
        set_string(&d.mcs, ""); /* empty categories are no categories */
        d.attribution = ATTRIBUTION_NONE;
        _cleanup_(freep) char *text = to_text(&d);
        CHECK_STREQ(text,
                    "{\"time\":\"1970-01-01T00:00:00.000Z\",\"serial\":0,\"record_type\":null,"
                    "\"result\":null,\"permissions\":[],\"pid\":null,\"comm\":null,\"exe\":null,"
                    "\"path\":null,\"name\":null,\"scontext\":null,\"tcontext\":null,"
                    "\"tclass\":null,\"permissive\":null,\"source_type\":null,"
                    "\"target_type\":null,\"mcs\":null,\"container\":null,"
                    "\"attribution\":\"none\",\"target_container\":null,\"candidates\":null,"
                    "\"count\":1,\"reason\":null,\"booleans\":[],\"verdict\":null,\"hint\":null,"
                    "\"raw\":null}");

        Denial back = DENIAL_NULL;
        from_text(text, &back);
        CHECK_RC(back.pid, -1);
        CHECK_RC(back.permissive, -1);
        CHECK_STREQ(back.permissions, NULL);
        CHECK_STREQ(back.mcs, NULL);
        CHECK(!back.has_container);
        denial_done(&back);
        denial_done(&d);

        /* permissive true, several permissions, USER_AVC, a target container only. */
        d = example();
        d.permissive = 1;
        d.record_type = 1107;
        set_string(&d.permissions, "read write  open");
        d.has_container = false;
        container_ref_done(&d.container);
        d.has_target_container = true;
        set_string(&d.target_container.id, "abc");
        set_string(&d.target_container.pod, "ns/pod");
        d.attribution = ATTRIBUTION_AMBIGUOUS;
        ContainerRef cand = {.id = (char *) "c1", .name = (char *) "one"};
        CHECK_RC(denial_add_candidate(&d, &cand), 0);
        cand = (ContainerRef){.id = (char *) "c2", .engine = (char *) "podman"};
        CHECK_RC(denial_add_candidate(&d, &cand), 0);
        free(text);
        text = to_text(&d);
        CHECK(strstr(
                text,
                "\"candidates\":[{\"id\":\"c1\",\"name\":\"one\",\"image\":null,"
                "\"engine\":null,\"pod\":null,\"namespace\":null},{\"id\":\"c2\",\"name\":null,"
                "\"image\":null,\"engine\":\"podman\",\"pod\":null,\"namespace\":null}],\"count\":"
                "1,"
                "\"reason\":null,\"booleans\":[],\"verdict\":null,\"hint\":null,\"raw\":"));
        CHECK(strstr(text, "\"record_type\":\"USER_AVC\""));
        CHECK(strstr(text, "\"permissions\":[\"read\",\"write\",\"open\"]"));
        CHECK(strstr(text, "\"permissive\":true"));
        CHECK(strstr(text, "\"container\":null,\"attribution\":\"ambiguous\","
                           "\"target_container\":{\"id\":\"abc\",\"name\":null,\"image\":null,"
                           "\"engine\":null,\"pod\":\"ns/pod\",\"namespace\":null},"));
        from_text(text, &back);
        CHECK_RC(back.permissive, 1);
        CHECK_RC(back.record_type, 1107);
        CHECK_STREQ(back.permissions, "read write open");
        CHECK(back.has_target_container);
        CHECK_STREQ(back.target_container.pod, "ns/pod");
        CHECK_RC((int) back.n_candidates, 2);
        CHECK_STREQ(back.candidates[1].engine, "podman");
        denial_done(&back);
        denial_done(&d);
}

static void test_hostile(void) {
        static const char hostile[] = "\x1b]0;owned\x07\r\b\x7f\"quoted\"\\back\\slash\n\t\x01";
        Denial d = example();
        set_string(&d.comm, hostile);
        set_string(&d.path, "/tmp/\x1b[2J\"\\");
        set_string(&d.name, "caf\xc3\xa9");
        set_string(&d.container.name, "\x1b[31mred");
        set_string(&d.raw,
                   "type=AVC msg=audit(1.2:3): comm=\"x\"\ntype=SYSCALL msg=audit(1.2:3): a=\\");

        _cleanup_(freep) char *text = to_text(&d);
        for (const unsigned char *p = (const unsigned char *) text; *p; p++)
                CHECK(*p >= 0x20 && *p != 0x7f);
        CHECK(strstr(text, "\"comm\":\"\\u001b]0;owned\\u0007\\r\\b\\u007f\\\"quoted\\\"\\\\back"
                           "\\\\slash\\n\\t\\u0001\""));

        Denial back = DENIAL_NULL;
        from_text(text, &back);
        CHECK_STREQ(back.comm, hostile);
        CHECK_STREQ(back.path, d.path);
        CHECK_STREQ(back.name, d.name);
        CHECK_STREQ(back.container.name, d.container.name);
        CHECK_STREQ(back.raw, d.raw);
        denial_done(&back);

        /* Invalid UTF-8: each stray byte becomes U+00XX; the text stays valid UTF-8. */
        set_string(&d.comm, "a\xff\xfe");
        free(text);
        text = to_text(&d);
        CHECK(strstr(text, "\"comm\":\"a\\u00ff\\u00fe\""));
        from_text(text, &back);
        CHECK_STREQ(back.comm, "a\xc3\xbf\xc3\xbe");
        denial_done(&back);
        denial_done(&d);
}

static void test_strict(void) {
        /* The example parses; an extra key is tolerated. */
        CHECK_RC(from_text_rc(example_text), 0);
        _cleanup_(freep) char *extra = strdup(example_text);
        extra[strlen(extra) - 1] = 0;
        char *with_extra = NULL;
        CHECK(asprintf(&with_extra, "%s,\"future\":{\"x\":1}}", extra) > 0);
        CHECK_RC(from_text_rc(with_extra), 0);
        free(with_extra);

        /* Each of these replaces one piece of the example; each must be refused. */
        static const struct {
                const char *from, *to;
        } bad[] = {
                {"\"pid\":21476", "\"pid\":\"21476\""},
                {"\"pid\":21476", "\"pid\":-5"},
                {"\"serial\":1088", "\"serial\":null"},
                {"\"serial\":1088", "\"serial\":1.5"},
                {"\"serial\":1088,", ""},
                {"\"permissive\":false", "\"permissive\":0"},
                {"\"permissions\":[\"write\"]", "\"permissions\":\"write\""},
                {"\"permissions\":[\"write\"]", "\"permissions\":[1]"},
                {"\"permissions\":[\"write\"]", "\"permissions\":[\"a b\"]"},
                {"\"time\":\"2024-04-20T08:54:52.240Z\"", "\"time\":1713603292240"},
                {"\"time\":\"2024-04-20T08:54:52.240Z\"", "\"time\":\"yesterday\""},
                {"\"time\":\"2024-04-20T08:54:52.240Z\"", "\"time\":\"2024-13-20T08:54:52.240Z\""},
                {"\"record_type\":\"AVC\"", "\"record_type\":\"EXECVE\""},
                {"\"attribution\":\"pid\"", "\"attribution\":\"guess\""},
                {"\"attribution\":\"pid\"", "\"attribution\":null"},
                {"\"comm\":\"bash\"", "\"comm\":[\"bash\"]"},
                {"\"comm\":\"bash\"", "\"comm\":\"ba\\u0000sh\""},
                {"\"comm\":\"bash\",", ""},
                {"\"id\":\"4dd9367681d8a\"", "\"id\":null"},
                {"\"target_container\":null", "\"target_container\":\"x\""},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *at = strstr(example_text, bad[i].from);
                CHECK(at);
                char *text = NULL;
                CHECK(asprintf(&text, "%.*s%s%s", (int) (at - example_text), example_text,
                               bad[i].to, at + strlen(bad[i].from)) > 0);
                int r = from_text_rc(text);
                if (r != -EBADMSG)
                        fprintf(stderr, "case %zu accepted: %s\n", i, text);
                CHECK_RC(r, -EBADMSG);
                free(text);
        }

        /* Not an object at all. */
        json_object *a = json_object_new_array();
        Denial d = DENIAL_NULL;
        CHECK_RC(denial_from_json(a, &d), -EBADMSG);
        json_object_put(a);
}

/* A storm's summary: count says how many it stands for; it round-trips, 0 is refused, and an
 * object without it (older output) stands for one. */
static void test_count(void) {
        Denial d = DENIAL_NULL, back = DENIAL_NULL;
        d.count = 4990;
        char *text = to_text(&d);
        CHECK(strstr(text, "\"count\":4990,\"reason\":null,\"booleans\":[],\"verdict\":null,"
                           "\"hint\":null,\"raw\":null}"));
        from_text(text, &back);
        CHECK_RC(back.count, 4990);
        denial_done(&back);

        char *p = strstr(text, "\"count\":4990");
        memcpy(p, "\"count\":0   ", strlen("\"count\":4990"));
        CHECK_RC(from_text_rc(text), -EBADMSG);
        memcpy(p, "\"count\":\"9\" ", strlen("\"count\":4990"));
        CHECK_RC(from_text_rc(text), -EBADMSG);
        memcpy(p, "\"counts\":1  ", strlen("\"count\":4990"));
        back = (Denial) DENIAL_NULL;
        from_text(text, &back);
        CHECK(back.count <= 1);
        denial_done(&back);
        free(text);
}

/* Triage: reason, booleans, verdict and the derived hint; they round-trip; an unknown reason or
 * a reason without a verdict is refused; an object without them (older output) is untriaged. */
static void test_triage(void) {
        Denial d = example(), back = DENIAL_NULL;
        d.triaged = true;
        d.reason = TRIAGE_REASON_BOOLEAN;
        d.verdict = TRIAGE_VERDICT_BOOLEAN;
        d.booleans = strdup("container_manage_cgroup");
        char *text = to_text(&d);
        CHECK(strstr(text, "\"count\":1,\"reason\":\"boolean\",\"booleans\":"
                           "[\"container_manage_cgroup\"],"
                           "\"verdict\":\"boolean\",\"hint\":\""));
        CHECK(strstr(text, "setsebool -P container_manage_cgroup 1"));
        from_text(text, &back);
        CHECK(back.triaged && back.reason == TRIAGE_REASON_BOOLEAN &&
              back.verdict == TRIAGE_VERDICT_BOOLEAN);
        CHECK_STREQ(back.booleans, d.booleans);
        denial_done(&back);

        char *p = strstr(text, "\"reason\":\"boolean\"");
        memcpy(p, "\"reason\":\"bogus!!\"", strlen("\"reason\":\"boolean\""));
        CHECK_RC(from_text_rc(text), -EBADMSG);
        free(text);

        /* te against an unlabelled host directory: volume, and its hint. */
        free(d.booleans);
        d.booleans = NULL;
        d.reason = TRIAGE_REASON_TE;
        d.verdict = TRIAGE_VERDICT_VOLUME;
        text = to_text(&d);
        CHECK(strstr(text, "\"reason\":\"te\",\"booleans\":[],\"verdict\":\"volume\""));
        CHECK(strstr(text, ":Z"));
        free(text);
        denial_done(&d);
}

/* Named at the level of a pod or a namespace: "container" is what the candidates share, with
 * no id, and the round trip gives the denial back without a container. */
static void test_pod_level(void) {
        Denial d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL), back;
        ContainerRef c = {};

        d.attribution = ATTRIBUTION_POD;
        fixture_container(&c, "s1", "POD", NULL, "cri-o", "web-7f9");
        c.pod_namespace = strdup("shop");
        CHECK_RC(denial_add_candidate(&d, &c), 0);
        free(c.id);
        c.id = strdup("a1");
        CHECK_RC(denial_add_candidate(&d, &c), 0);
        container_ref_done(&c);
        _cleanup_(freep) char *text = to_text(&d);
        CHECK(strstr(text, "\"container\":{\"id\":null,\"name\":null,\"image\":null,"
                           "\"engine\":\"cri-o\",\"pod\":\"web-7f9\",\"namespace\":\"shop\"},"
                           "\"attribution\":\"pod\","));
        CHECK(strstr(text, "\"candidates\":[{\"id\":\"s1\",\"name\":\"POD\","));
        from_text(text, &back);
        CHECK_RC(back.attribution, ATTRIBUTION_POD);
        CHECK(!back.has_container);
        CHECK_RC(back.n_candidates, 2);
        CHECK_STREQ(back.candidates[1].pod_namespace, "shop");
        denial_done(&back);

        /* A namespace: no pod; the engine only when all candidates share it. */
        d.attribution = ATTRIBUTION_NAMESPACE;
        free(d.candidates[1].engine);
        d.candidates[1].engine = strdup("containerd");
        free(text);
        text = to_text(&d);
        CHECK(strstr(text, "\"container\":{\"id\":null,\"name\":null,\"image\":null,"
                           "\"engine\":null,\"pod\":null,\"namespace\":\"shop\"},"
                           "\"attribution\":\"namespace\","));
        from_text(text, &back);
        CHECK_RC(back.attribution, ATTRIBUTION_NAMESPACE);
        CHECK(!back.has_container);
        denial_done(&back);
        denial_done(&d);
}

int main(void) {
        test_time();
        test_triage();
        test_example();
        test_nulls();
        test_hostile();
        test_strict();
        test_count();
        test_pod_level();
        printf("ok\n");
        return 0;
}
