/* SPDX-License-Identifier: MIT */
/* DenialFilter: JSON round trip, refusal of unknown keys, wrong types, over-long strings and
 * invalid MCS (naming the field), canonical MCS, and denial_filter_match semantics. */

#include <errno.h>
#include <json-c/json.h>

#include "filter.h"
#include "fixtures.h"
#include "macro.h"
#include "tests/unit/test.h"

static json_object *parse(const char *text) {
        json_object *o = json_tokener_parse(text);
        CHECK(o);
        return o;
}

static void expect_bad(const char *text, const char *field) {
        json_object *o = parse(text);
        DenialFilter f = {.comm = FILTER_ONE("untouched")};
        const char *bad = NULL;

        CHECK_RC(denial_filter_from_json(o, &f, &bad), -EINVAL);
        CHECK_STREQ(bad, field);
        CHECK_STREQ(f.comm.v[0], "untouched"); /* ret untouched on failure */
        CHECK(f.container.n == 0 && !f.has_since);
        json_object_put(o);
}

static void expect_mcs(const char *in, const char *canonical) {
        char text[128];
        snprintf(text, sizeof(text), "{\"mcs\":\"%s\"}", in);
        json_object *o = parse(text);
        DenialFilter f;
        const char *bad = NULL;

        CHECK_RC(denial_filter_from_json(o, &f, &bad), 0);
        CHECK_STREQ(f.mcs.v[0], canonical);
        denial_filter_done(&f);
        json_object_put(o);
}

static void test_round_trip(void) {
        DenialFilter in =
                             {
                                     .container = FILTER_ONE("web"),
                                     .image = FILTER_ONE("nginx:1"),
                                     .pod = FILTER_ONE("default/web-0"),
                                     .pod_namespace = FILTER_ONE("shop"),
                                     .mcs = FILTER_ONE("c170,c393"),
                                     .has_since = true,
                                     .since_ms = 1713603292240,
                                     .has_until = true,
                                     .until_ms = -1,
                                     .source_type = FILTER_ONE("container_t"),
                                     .target_type = FILTER_ONE("admin_home_t"),
                                     .tclass = FILTER_ONE("dir"),
                                     .perm = FILTER_ONE("write"),
                                     .comm = FILTER_ONE("ba\"sh\x1b[0m"),
                                     .path = FILTER_ONE("/etc/*"),
                             },
                     out;
        json_object *o;
        const char *bad = NULL;

        CHECK_RC(denial_filter_to_json(&in, &o), 0);
        /* The exact key names of the contract. */
        const char *keys[] = {"container", "image", "pod",  "namespace",   "mcs",
                              "since",     "until", "type", "target_type", "tclass",
                              "perm",      "comm",  "path"};
        CHECK_RC(json_object_object_length(o), ELEMENTSOF(keys));
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                CHECK(json_object_object_get_ex(o, keys[i], NULL));
        json_object *v;
        CHECK(json_object_object_get_ex(o, "since", &v) && json_object_is_type(v, json_type_int));
        CHECK_RC(json_object_get_int64(v), 1713603292240);

        /* Through text, as on the wire. */
        json_object *o2 = parse(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        CHECK_RC(denial_filter_from_json(o2, &out, &bad), 0);
        CHECK_STREQ(out.container.v[0], in.container.v[0]);
        CHECK_STREQ(out.image.v[0], in.image.v[0]);
        CHECK_STREQ(out.pod.v[0], in.pod.v[0]);
        CHECK_STREQ(out.pod_namespace.v[0], in.pod_namespace.v[0]);
        CHECK_STREQ(out.mcs.v[0], in.mcs.v[0]);
        CHECK(out.has_since && out.since_ms == in.since_ms);
        CHECK(out.has_until && out.until_ms == in.until_ms);
        CHECK_STREQ(out.source_type.v[0], in.source_type.v[0]);
        CHECK_STREQ(out.target_type.v[0], in.target_type.v[0]);
        CHECK_STREQ(out.tclass.v[0], in.tclass.v[0]);
        CHECK_STREQ(out.perm.v[0], in.perm.v[0]);
        CHECK_STREQ(out.comm.v[0], in.comm.v[0]);
        CHECK_STREQ(out.path.v[0], in.path.v[0]);
        denial_filter_done(&out);
        CHECK(out.container.n == 0 && !out.has_since);
        json_object_put(o);
        json_object_put(o2);

        /* The empty filter: no keys; NULL and {} and nulls decode to it. */
        DenialFilter empty = {};
        CHECK_RC(denial_filter_to_json(&empty, &o), 0);
        CHECK_RC(json_object_object_length(o), 0);
        json_object_put(o);
        CHECK_RC(denial_filter_from_json(NULL, &out, &bad), 0);
        CHECK(out.container.n == 0 && !out.has_since && !out.has_until && out.path.n == 0);
        o = parse("{\"image\":null,\"since\":null}");
        CHECK_RC(denial_filter_from_json(o, &out, &bad), 0);
        CHECK(out.image.n == 0 && !out.has_since);
        json_object_put(o);
}

static void test_bad(void) {
        char *text;

        expect_bad("{\"bogus\":1}", "bogus");
        expect_bad("{\"comm\":\"sh\",\"Image\":\"x\"}", "Image");
        expect_bad("{\"limit\":5}", "limit"); /* not a filter field */
        expect_bad("{\"since\":\"yesterday\"}", "since");
        expect_bad("{\"until\":1.5}", "until");
        expect_bad("{\"image\":5}", "image");
        expect_bad("{\"container\":[5]}", "container");
        expect_bad("{\"pod\":\"\"}", "pod");
        expect_bad("{\"perm\":\"read write\"}", "perm");
        expect_bad("{\"comm\":\"a\\u0000b\"}", "comm");
        expect_bad("[1,2]", "filter");

        /* Length bound: FILTER_STRING_MAX is accepted, one more is not. */
        char big[FILTER_STRING_MAX + 2];
        memset(big, 'a', sizeof(big));
        big[FILTER_STRING_MAX] = 0;
        CHECK(asprintf(&text, "{\"path\":\"%s\"}", big) > 0);
        json_object *o = parse(text);
        DenialFilter f;
        const char *bad = NULL;
        CHECK_RC(denial_filter_from_json(o, &f, &bad), 0);
        CHECK_RC(strlen(f.path.v[0]), FILTER_STRING_MAX);
        denial_filter_done(&f);
        json_object_put(o);
        free(text);
        big[FILTER_STRING_MAX] = 'a';
        big[FILTER_STRING_MAX + 1] = 0;
        CHECK(asprintf(&text, "{\"path\":\"%s\"}", big) > 0);
        expect_bad(text, "path");
        free(text);

        /* mcs: validated and canonicalised. */
        expect_bad("{\"mcs\":\"c1024\"}", "mcs");
        expect_bad("{\"mcs\":\"x1,c2\"}", "mcs");
        expect_bad("{\"mcs\":\"c1,,c2\"}", "mcs");
        expect_bad("{\"mcs\":\"s0\"}", "mcs"); /* no categories */
        expect_bad("{\"mcs\":\"\"}", "mcs");
        expect_mcs("c393,c170", "c170,c393");
        expect_mcs("s0:c170,c393", "c170,c393");
        expect_mcs("c0,c1,c2,c3", "c0.c3");
        expect_mcs("c0.c1023", "c0.c1023");
}

static Denial make(void) {
        Denial d = fixture_denial(1000, FIXTURE_SERIAL);
        set_string(&d.permissions, "readdir getattr");
        set_string(&d.comm, "nginx");
        set_string(&d.path, "/etc/shadow");
        set_string(&d.name, "shadow");
        set_string(&d.target_type, "shadow_t");
        set_string(&d.tclass, "file");
        d.has_container = true;
        fixture_container(&d.container, "4dd9367681d8e3b2", "web", "nginx:1", NULL,
                          "default/web-0");
        set_string(&d.container.pod_namespace, "shop");
        return d;
}

static void test_match(void) {
        Denial d = make();
        DenialFilter f = {};

        CHECK(denial_filter_match(NULL, &d));
        CHECK(denial_filter_match(&f, &d));

#define MATCH(expected, ...)                                                                       \
        do {                                                                                       \
                f = (DenialFilter){__VA_ARGS__};                                                   \
                CHECK(denial_filter_match(&f, &d) == (expected));                                  \
        } while (0)
        MATCH(true, .container = FILTER_ONE("web"));
        MATCH(true, .container = FILTER_ONE("4dd9"));
        MATCH(true, .container = FILTER_ONE("4dd9367681d8e3b2"));
        MATCH(false, .container = FILTER_ONE("4dd9367681d8e3b2a"));
        MATCH(false, .container = FILTER_ONE("we"));
        MATCH(false, .container = FILTER_ONE("9367"));
        /* a container of that name exists: the value is the name only */
        MATCH(false, .container = FILTER_ONE("4dd9"), .container_is_name = true);
        MATCH(true, .container = FILTER_ONE("web"), .container_is_name = true);
        MATCH(true, .image = FILTER_ONE("nginx:1"));
        MATCH(true, .image = FILTER_ONE("nginx")); /* any tag: DESIGN's `--image nginx` */
        MATCH(true, .image = FILTER_ONE("docker.io/library/nginx:1"));
        MATCH(false, .image = FILTER_ONE("nginx:2"));
        MATCH(false, .image = FILTER_ONE("ngin"));
        MATCH(true, .pod = FILTER_ONE("default/web-0"));
        MATCH(true, .pod_namespace = FILTER_ONE("shop"));
        MATCH(false, .pod_namespace = FILTER_ONE("shop2"));
        MATCH(false, .pod_namespace = FILTER_ONE("sho"));
        MATCH(true, .mcs = FILTER_ONE("c170,c393"));
        MATCH(false, .mcs = FILTER_ONE("c170"));
        MATCH(true, .has_since = true, .since_ms = 1000);
        MATCH(false, .has_since = true, .since_ms = 1001);
        MATCH(false, .has_until = true, .until_ms = 1000);
        MATCH(true, .has_until = true, .until_ms = 1001);
        MATCH(true, .source_type = FILTER_ONE("container_t"));
        MATCH(false, .source_type = FILTER_ONE("spc_t"));
        MATCH(true, .target_type = FILTER_ONE("shadow_t"));
        MATCH(true, .tclass = FILTER_ONE("file"));
        MATCH(false, .tclass = FILTER_ONE("dir"));
        MATCH(true, .perm = FILTER_ONE("getattr"));
        MATCH(true, .perm = FILTER_ONE("readdir"));
        MATCH(false, .perm = FILTER_ONE("read"));
        MATCH(false, .perm = FILTER_ONE("dir"));
        MATCH(true, .comm = FILTER_ONE("nginx"));
        MATCH(false, .comm = FILTER_ONE("ngin"));
        MATCH(true, .path = FILTER_ONE("/etc/shadow"));
        MATCH(true, .path = FILTER_ONE("shadow"));
        MATCH(true, .path = FILTER_ONE("/etc/*"));
        MATCH(true, .path = FILTER_ONE("*"));
        MATCH(false, .path = FILTER_ONE("/etc"));
        MATCH(false, .path = FILTER_ONE("sha*")); /* prefix applies to path only */
        MATCH(true, .container = FILTER_ONE("web"), .perm = FILTER_ONE("getattr"),
              .path = FILTER_ONE("/etc/*"));
        MATCH(false, .container = FILTER_ONE("web"), .perm = FILTER_ONE("write"));

        /* Unknown values never match a set filter. */
        denial_done(&d);
        d = DENIAL_NULL;
        MATCH(false, .container = FILTER_ONE("web"));
        MATCH(false, .image = FILTER_ONE("nginx:1"));
        MATCH(false, .perm = FILTER_ONE("read"));
        MATCH(false, .path = FILTER_ONE("*"));
        MATCH(false, .mcs = FILTER_ONE("c1,c2"));
        MATCH(true, .has_until = true, .until_ms = 1);
#undef MATCH
}

static void test_image_ref_key(void) {
        char buf[64];

        /* One image however an engine spells it: Docker Hub and localhost left out. */
        const char *const nginx[] = {"docker.io/library/nginx:1.25", "nginx:1.25",
                                     "localhost/nginx:1.25", "index.docker.io/library/nginx:1.25",
                                     "library/nginx:1.25"};
        for (size_t i = 0; i < ELEMENTSOF(nginx); i++) {
                CHECK_RC(image_ref_key(nginx[i], buf, sizeof(buf)), 10);
                CHECK_STREQ(buf, "nginx:1.25");
        }
        CHECK(image_ref_key("nginx", buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "nginx:latest");
        CHECK(image_ref_key("docker.io/bitnami/nginx", buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "bitnami/nginx:latest");
        /* other registries stay apart, a registry port is no tag */
        CHECK(image_ref_key("quay.io/x/app:v2", buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "quay.io/x/app:v2");
        CHECK(image_ref_key("localhost:5000/app", buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "localhost:5000/app:latest");
        /* digests and ids */
        CHECK(image_ref_key("docker.io/library/nginx@sha256:0123abcd", buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "nginx@sha256:0123abcd");
        CHECK(image_ref_key("nginx:1@sha256:0123abcd", buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "nginx:1@sha256:0123abcd");
        CHECK(image_ref_key("sha256:0123abcd", buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "sha256:0123abcd");
        CHECK(image_ref_key("0123abcdef01", buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "0123abcdef01");
        /* bounds */
        CHECK_RC(image_ref_key("nginx", buf, 5), -ENOBUFS);
        CHECK_RC(image_ref_key("", buf, sizeof(buf)), -EINVAL);
        CHECK_RC(image_ref_key(NULL, buf, sizeof(buf)), -EINVAL);
}

static void test_image_ref(void) {
        /* As engines report images: docker as typed, podman fully qualified. */
        CHECK(image_ref_matches("nginx", "nginx"));
        CHECK(image_ref_matches("nginx", "nginx:1.25"));
        CHECK(image_ref_matches("nginx", "docker.io/library/nginx:latest"));
        CHECK(image_ref_matches("nginx", "library/nginx"));
        CHECK(image_ref_matches("nginx", "quay.io/nginx:1"));
        CHECK(image_ref_matches("nginx", "nginx@sha256:0123abcd"));
        CHECK(image_ref_matches("nginx", "localhost:5000/nginx:2"));
        CHECK(!image_ref_matches("nginx", "nginx-proxy:1"));
        CHECK(!image_ref_matches("nginx", "bitnami/nginx:1"));
        CHECK(!image_ref_matches("nginx", "ngin"));
        CHECK(!image_ref_matches("nginx", NULL));
        CHECK(!image_ref_matches(NULL, "nginx"));
        /* a tag: that tag; none is "latest" */
        CHECK(image_ref_matches("nginx:1.25", "docker.io/library/nginx:1.25"));
        CHECK(!image_ref_matches("nginx:1.25", "nginx:1.26"));
        CHECK(!image_ref_matches("nginx:1.25", "nginx"));
        CHECK(image_ref_matches("nginx:latest", "nginx"));
        CHECK(image_ref_matches("nginx:latest", "docker.io/library/nginx"));
        /* a registry: that registry; docker.io, index.docker.io and none are one */
        CHECK(image_ref_matches("docker.io/nginx", "nginx:1"));
        CHECK(image_ref_matches("docker.io/library/nginx", "index.docker.io/library/nginx:1"));
        CHECK(!image_ref_matches("docker.io/nginx", "quay.io/nginx:1"));
        CHECK(image_ref_matches("quay.io/x/app", "quay.io/x/app:v2"));
        CHECK(!image_ref_matches("quay.io/x/app", "ghcr.io/x/app:v2"));
        CHECK(!image_ref_matches("quay.io/x/app", "x/app:v2"));
        CHECK(image_ref_matches("x/app", "quay.io/x/app:v2"));
        CHECK(image_ref_matches("localhost/qa/busybox", "localhost/qa/busybox:2.0"));
        CHECK(image_ref_matches("qa/busybox:2.0", "localhost/qa/busybox:2.0"));
        CHECK(image_ref_matches("localhost:5000/app:1", "localhost:5000/app:1"));
        CHECK(!image_ref_matches("localhost:5000/app:1", "localhost:5001/app:1"));
        /* a digest: that digest */
        CHECK(image_ref_matches("nginx@sha256:0123abcd",
                                "docker.io/library/nginx@sha256:0123abcd"));
        CHECK(!image_ref_matches("nginx@sha256:0123abcd", "nginx@sha256:ffff"));
        CHECK(!image_ref_matches("nginx@sha256:0123abcd", "nginx:1"));
        /* an image id, as `docker run ID` records it: exact only */
        CHECK(image_ref_matches("sha256:0123abcd", "sha256:0123abcd"));
        CHECK(!image_ref_matches("0123", "0123abcd"));
        CHECK(!image_ref_matches("", "nginx"));
}

/* A full 64-hex id is the id only: a container named with another's id (docker run --name <id>)
 * is not it, also once the live tail has seen that name (server_broadcast sets container_is_name).
 */
static void test_full_id(void) {
        static const char *const victim =
                "5a1e000000000000000000000000000000000000000000000000000000000001";
        Denial d = make();
        DenialFilter f = {.container = FILTER_ONE(victim)};

        container_ref_done(&d.container);
        fixture_container(&d.container,
                          "0bad000000000000000000000000000000000000000000000000000000000002",
                          victim, "nginx:1", NULL, NULL);
        CHECK(!denial_filter_match(&f, &d));
        f.container_is_name = true;
        CHECK(!denial_filter_match(&f, &d));
        container_ref_done(&d.container);
        fixture_container(&d.container, victim, "victim", "nginx:1", NULL, NULL);
        CHECK(denial_filter_match(&f, &d));
        f.container_is_name = false;
        CHECK(denial_filter_match(&f, &d));
        denial_done(&d);
}

/* Lists: a string is one value, an array "any of" (1..FILTER_VALUES_MAX), written back as it
 * came; the not_ fields; a list against a denial. */
#define LIST(...)                                                                                  \
        ((FilterValues){.v = (char *[]){__VA_ARGS__},                                              \
                        .n = sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)})

static void test_lists(void) {
        const char *bad = NULL;
        DenialFilter f;
        json_object *o;

        o = parse("{\"container\":[\"web\",\"db\"],\"perm\":\"read\",\"not_type\":[\"spc_t\"],"
                  "\"target_container\":\"web\",\"not_comm\":[\"a b\",\"c\"],"
                  "\"mcs\":[\"c393,c170\"]}");
        CHECK_RC(denial_filter_from_json(o, &f, &bad), 0);
        json_object_put(o);
        CHECK_RC(f.container.n, 2);
        CHECK_STREQ(f.container.v[0], "web");
        CHECK_STREQ(f.container.v[1], "db");
        CHECK_RC(f.perm.n, 1);
        CHECK_RC(f.not_source_type.n, 1);
        CHECK_STREQ(f.target_container.v[0], "web");
        CHECK_STREQ(f.not_comm.v[0], "a b");
        CHECK_STREQ(f.mcs.v[0], "c170,c393"); /* canonical, as a string */
        CHECK_RC(denial_filter_to_json(&f, &o), 0);
        CHECK_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                    "{\"container\":[\"web\",\"db\"],\"target_container\":\"web\",\"mcs\":"
                    "\"c170,c393\",\"perm\":\"read\",\"not_type\":\"spc_t\",\"not_comm\":[\"a b\","
                    "\"c\"]}");
        json_object_put(o);
        denial_filter_done(&f);

        /* FILTER_VALUES_MAX values, and not one more; no empty array, no empty or non-string
         * item, no blank in a permission */
        char text[1024];
        size_t len = (size_t) snprintf(text, sizeof(text), "{\"perm\":[");
        for (int i = 0; i < FILTER_VALUES_MAX; i++)
                len += (size_t) snprintf(text + len, sizeof(text) - len, "%s\"p%d\"",
                                         i > 0 ? "," : "", i);
        snprintf(text + len, sizeof(text) - len, "]}");
        o = parse(text);
        CHECK_RC(denial_filter_from_json(o, &f, &bad), 0);
        CHECK_RC(f.perm.n, FILTER_VALUES_MAX);
        denial_filter_done(&f);
        json_object_put(o);
        snprintf(text + len, sizeof(text) - len, ",\"p\"]}");
        expect_bad(text, "perm");
        expect_bad("{\"image\":[]}", "image");
        expect_bad("{\"pod\":[\"a\",\"\"]}", "pod");
        expect_bad("{\"comm\":[\"a\",null]}", "comm");
        expect_bad("{\"not_perm\":[\"read write\"]}", "not_perm");
        expect_bad("{\"not_container\":\"web\"}", "not_container");
        expect_bad("{\"type\":[[\"x\"]]}", "type");
        /* triage names only (and "none") */
        expect_bad("{\"reason\":\"escape\"}", "reason");
        expect_bad("{\"verdict\":[\"escape\",\"te\"]}", "verdict");
        expect_bad("{\"not_verdict\":\"Escape\"}", "not_verdict");
        expect_bad("{\"not_reason\":\"\"}", "not_reason");
        {
                json_object *t = json_tokener_parse(
                        "{\"reason\":[\"te\",\"none\"],\"verdict\":\"escape\","
                        "\"not_reason\":\"allowed\",\"not_verdict\":[\"policy\",\"volume\"]}");
                DenialFilter tf = {}, back = {};
                json_object *again = NULL;
                const char *tbad = NULL;
                CHECK(t);
                CHECK_RC(denial_filter_from_json(t, &tf, &tbad), 0);
                CHECK_RC(tf.reason.n, 2);
                CHECK_RC(tf.not_verdict.n, 2);
                CHECK_RC(denial_filter_to_json(&tf, &again), 0);
                CHECK_RC(denial_filter_from_json(again, &back, &tbad), 0);
                CHECK_STREQ(back.reason.v[1], "none");
                CHECK_STREQ(back.verdict.v[0], "escape");
                CHECK_STREQ(back.not_reason.v[0], "allowed");
                denial_filter_done(&tf);
                denial_filter_done(&back);
                json_object_put(again);
                json_object_put(t);
        }

        Denial d = DENIAL_NULL;
        d.time_ms = 1000;
        set_string(&d.comm, "nginx");
        set_string(&d.permissions, "getattr readdir");
        set_string(&d.path, "/etc/shadow");
        set_string(&d.source_type, "container_t");
        set_string(&d.target_type, "var_lib_t");
        set_string(&d.tclass, "file");
        set_string(&d.mcs, "c1,c2");
        d.has_container = true;
        fixture_container(&d.container, "4dd9367681d8e3b2", "web", "nginx:1", NULL, "default/p");
        d.has_target_container = true;
        fixture_container(&d.target_container, "c0ffee", "db", "postgres", NULL, NULL);

#define MATCH(expected, ...)                                                                       \
        do {                                                                                       \
                f = (DenialFilter){__VA_ARGS__};                                                   \
                CHECK(denial_filter_match(&f, &d) == (expected));                                  \
        } while (0)
        MATCH(true, .container = LIST("db", "web"));
        MATCH(true, .container = LIST("db", "4dd9"));
        MATCH(false, .container = LIST("db", "job"));
        MATCH(true, .image = LIST("postgres", "nginx"));
        MATCH(true, .pod = LIST("x", "default/p"));
        MATCH(true, .mcs = LIST("c3,c4", "c1,c2"));
        MATCH(true, .comm = LIST("bash", "nginx"));
        MATCH(true, .perm = LIST("read", "readdir"));
        MATCH(false, .perm = LIST("read", "write"));
        MATCH(true, .path = LIST("/nothing", "/etc/*"));
        MATCH(true, .tclass = LIST("dir", "file"));
        /* a trailing '*': a prefix of the type; tclass takes it literally */
        MATCH(true, .target_type = LIST("var_*"));
        MATCH(true, .target_type = LIST("*"));
        MATCH(false, .target_type = LIST("var_log*"));
        MATCH(true, .source_type = LIST("spc_t", "container*"));
        MATCH(false, .tclass = LIST("fi*"));
        /* negations: none of the values */
        MATCH(false, .not_target_type = LIST("var_*"));
        MATCH(true, .not_target_type = LIST("var_log_t", "etc_t"));
        MATCH(false, .not_source_type = LIST("spc_t", "container_t"));
        MATCH(false, .not_tclass = LIST("file"));
        MATCH(false, .not_perm = LIST("write", "readdir"));
        MATCH(true, .not_perm = LIST("read"));
        MATCH(false, .not_comm = LIST("nginx"));
        MATCH(true, .not_comm = LIST("bash"), .target_type = LIST("var_lib_t"));
        /* triage: untriaged is "none" */
        MATCH(true, .reason = LIST("none"), .verdict = LIST("none"));
        MATCH(false, .verdict = LIST("escape"));
        MATCH(true, .not_verdict = LIST("escape"));
        d.triaged = true;
        d.reason = 2;  /* constraint */
        d.verdict = 1; /* isolation */
        MATCH(false, .reason = LIST("none"));
        MATCH(true, .reason = LIST("te", "constraint"));
        MATCH(true, .verdict = LIST("isolation"), .not_reason = LIST("te"));
        MATCH(false, .not_verdict = LIST("escape", "isolation"));
        MATCH(false, .verdict = LIST("isolation"), .not_reason = LIST("constraint"));
        d.triaged = false;
        /* the target container */
        MATCH(true, .target_container = LIST("db"));
        MATCH(true, .target_container = LIST("web", "c0f"));
        MATCH(false, .target_container = LIST("web"));
        MATCH(false, .target_container = LIST("c0f"), .target_container_is_name = 1);

        /* An ambiguous denial: --container matches any of its candidates. */
        denial_done(&d);
        d = DENIAL_NULL;
        d.attribution = ATTRIBUTION_AMBIGUOUS;
        set_string(&d.comm, "sh");
        ContainerRef c = {};
        fixture_container(&c, "aaaa", "twin-a", "busybox", NULL, NULL);
        CHECK_RC(denial_add_candidate(&d, &c), 0);
        container_ref_done(&c);
        fixture_container(&c, "bbbb", "twin-b", "busybox", NULL, NULL);
        CHECK_RC(denial_add_candidate(&d, &c), 0);
        container_ref_done(&c);
        MATCH(true, .container = LIST("twin-b"));
        MATCH(true, .container = LIST("web", "twin-a"));
        MATCH(true, .container = LIST("bbb"));
        MATCH(false, .container = LIST("twin-c"));
        MATCH(false, .container = LIST("twin-a"), .comm = LIST("bash"));
        MATCH(false, .image = LIST("busybox")); /* the image is of the attributed container */
#undef MATCH
        denial_done(&d);
}

int main(void) {
        test_image_ref();
        test_image_ref_key();
        test_round_trip();
        test_bad();
        test_match();
        test_full_id();
        test_lists();
        return 0;
}
