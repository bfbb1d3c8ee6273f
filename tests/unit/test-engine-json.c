/* SPDX-License-Identifier: MIT */
/* Engine API JSON -> ContainerInfo / events (daemon/attribution/engine-json.c), on documents
 * captured from real docker 20.10 and podman 4.3 (tests/unit/data/engine/README.md), the
 * SELinux-host form of the podman one, and hostile documents: wrong types, over-long and
 * NUL-holding strings, deep nesting, garbage, oversized lists. */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine-json.h"
#include "fixtures.h"
#include "macro.h"
#include "tests/unit/test.h"

static char *load(const char *name, size_t *ret_len) {
        return fixture_data("engine", name, ret_len);
}

static ContainerInfo inspect_file(const char *name, const char *engine) {
        size_t len;
        _cleanup_(freep) char *text = load(name, &len);
        ContainerInfo c;
        CHECK_RC(engine_inspect_parse(text, len, engine, &c), 0);
        return c;
}

static void check_mcs(const ContainerInfo *c, const char *expected) {
        char buf[64];
        if (!expected) {
                CHECK(!c->has_mcs);
                return;
        }
        CHECK(c->has_mcs);
        CHECK(mcs_set_format(&c->mcs, buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, expected);
}

static void test_docker(void) {
        ContainerInfo c = inspect_file("docker-20.10-inspect-labels.json", "docker");
        CHECK_STREQ(c.id, "7e0bd16c044425399cd914cf1245aaaafc2b27727cd9321b90d87620bc9f6ee6");
        CHECK_STREQ(c.name, "shop_web_1");
        CHECK_STREQ(c.image, "avcw-bb:test");
        CHECK_STREQ(c.engine, "docker");
        CHECK_STREQ(c.pod, "web-7d9f8");
        CHECK_STREQ(c.pod_namespace, "shop");
        CHECK_STREQ(c.compose_project, "shop");
        CHECK_STREQ(c.compose_service, "web");
        /* SELinux is off where it was captured: no ProcessLabel, the user's option instead. */
        CHECK_STREQ(c.label, "level:s0:c170,c393");
        check_mcs(&c, "c170,c393");
        CHECK_RC(c.created_ms, INT64_C(1796133222321));
        CHECK_RC(c.started_ms, INT64_C(1796133222623));
        CHECK_RC(c.finished_ms, 0); /* Go's zero time: never */
        CHECK_RC(c.state, CONTAINER_STATE_RUNNING);
        container_info_done(&c);

        c = inspect_file("docker-20.10-inspect-exited.json", "docker");
        CHECK_STREQ(c.name, "exited1");
        CHECK_STREQ(c.label, NULL);
        check_mcs(&c, NULL);
        CHECK_STREQ(c.pod, NULL);
        CHECK_RC(c.started_ms, INT64_C(1796133226768));
        CHECK_RC(c.finished_ms, INT64_C(1796133226771));
        CHECK_RC(c.state, CONTAINER_STATE_EXITED);
        container_info_done(&c);
}

static void test_podman(void) {
        ContainerInfo c = inspect_file("podman-4.3-inspect.json", "podman");
        CHECK_STREQ(c.id, "043f04e1f33d017b3fcdf7354ed1feccd5a84a9a4a7df48f19e31aac4b5e4888");
        CHECK_STREQ(c.name, "pweb2");
        CHECK_STREQ(c.image, "localhost/avcw-bb:test");
        CHECK_STREQ(c.engine, "podman");
        CHECK_STREQ(c.label, "level:s0:c56,c78");
        check_mcs(&c, "c56,c78");
        CHECK_RC(c.created_ms, INT64_C(1796132661611));
        CHECK_RC(c.started_ms, INT64_C(1796132661690));
        CHECK_RC(c.finished_ms, INT64_C(1796132961698));
        CHECK_RC(c.state, CONTAINER_STATE_EXITED);
        container_info_done(&c);

        /* On an SELinux host ProcessLabel is the truth. */
        c = inspect_file("podman-4.3-inspect-selinux.json", "podman");
        CHECK_STREQ(c.label, "system_u:system_r:container_t:s0:c170,c393");
        check_mcs(&c, "c170,c393");
        CHECK_RC(c.state, CONTAINER_STATE_RUNNING);
        CHECK_RC(c.finished_ms, 0);
        container_info_done(&c);
}

static void test_lists(void) {
        size_t len, n;
        char **ids;
        _cleanup_(freep) char *docker = load("docker-20.10-list.json", &len);
        size_t docker_len = len;
        CHECK_RC(engine_list_parse(docker, len, &ids, &n), 0);
        CHECK_RC(n, 3);
        CHECK_STREQ(ids[0], "0f5ca8ae2c44e0d96f4e2003411df6e2aae63e6a0e6b4a7d38bc9228f1e39a2c");
        engine_ids_free(ids, n);
        _cleanup_(freep) char *podman = load("podman-4.3-list.json", &len);
        CHECK_RC(engine_list_parse(podman, len, &ids, &n), 0);
        CHECK_RC(n, 1);
        CHECK_STREQ(ids[0], "043f04e1f33d017b3fcdf7354ed1feccd5a84a9a4a7df48f19e31aac4b5e4888");
        engine_ids_free(ids, n);

        /* Invalid entries are skipped; the list is cut at ENGINE_LIST_MAX. */
        static const char mixed[] = "[{\"Id\":\"ok1\"},{\"Id\":\"bad id\"},{\"Id\":7},{},3,"
                                    "{\"Id\":\"ok2\"}]";
        CHECK_RC(engine_list_parse(mixed, strlen(mixed), &ids, &n), 0);
        CHECK_RC(n, 2);
        CHECK_STREQ(ids[1], "ok2");
        engine_ids_free(ids, n);
        size_t big_len = 2 + (ENGINE_LIST_MAX + 10) * 16;
        char *big = malloc(big_len + 1), *p = big;
        CHECK(big);
        *p++ = '[';
        for (int i = 0; i < ENGINE_LIST_MAX + 10; i++)
                p += sprintf(p, "%s{\"Id\":\"c%05d\"}", i ? "," : "", i);
        *p++ = ']';
        CHECK_RC(engine_list_parse(big, p - big, &ids, &n), 0);
        CHECK_RC(n, ENGINE_LIST_MAX);
        engine_ids_free(ids, n);
        free(big);
        CHECK_RC(engine_list_parse("{}", 2, &ids, &n), -EBADMSG);
        CHECK_RC(engine_list_parse("[", 1, &ids, &n), -EBADMSG);
        CHECK_RC(engine_list_parse("[{\"Id\":\"a\"}]x", 14, &ids, &n), -EBADMSG);
        CHECK_RC(engine_list_parse("[{\"Id\":\"a\"]", 12, &ids, &n), -EBADMSG);

        /* Only an element's own Id: not an "Id" label (deeper), not a second Id, not a value
         * "Id"; a string with escapes is no id. */
        static const char tricky[] =
                "[{\"Names\":[\"Id\"],\"Labels\":{\"Id\":\"forged1\"},\"Id\":\"real1\","
                "\"Id\":\"forged2\"},{\"Name\":\"Id\",\"Id\":\"real2\"},"
                "{\"Id\":\"es\\u0063aped\"},{\"Image\":\"x\\\"Id\\\":\\\"forged3\"}]";
        CHECK_RC(engine_list_parse(tricky, strlen(tricky), &ids, &n), 0);
        CHECK_RC(n, 2);
        CHECK_STREQ(ids[0], "real1");
        CHECK_STREQ(ids[1], "real2");
        engine_ids_free(ids, n);

        /* Fed in pieces of any size, as the body arrives: the same ids. */
        for (size_t step = 1; step < 64; step += 7) {
                EngineListScanner *sc;
                CHECK_RC(engine_list_scanner_new(&sc), 0);
                for (size_t pos = 0; pos < docker_len; pos += step)
                        CHECK_RC(engine_list_scanner_feed(sc, docker + pos,
                                                          MIN(step, docker_len - pos)),
                                 0);
                CHECK_RC(engine_list_scanner_finish(sc, &ids, &n), 0);
                CHECK_RC(n, 3);
                CHECK_STREQ(ids[0],
                            "0f5ca8ae2c44e0d96f4e2003411df6e2aae63e6a0e6b4a7d38bc9228f1e39a2c");
                engine_ids_free(ids, n);
        }

        /* A container with 20 MB of labels (whoever starts it chooses them) costs nothing: the
         * list is read through, not held, and the containers around it are all there. */
        {
                EngineListScanner *sc;
                char chunk[65536];
                memset(chunk, 'x', sizeof(chunk));
                CHECK_RC(engine_list_scanner_new(&sc), 0);
                static const char head[] = "[{\"Id\":\"before\"},{\"Labels\":{\"big\":\"";
                static const char tail[] = "\"},\"Id\":\"huge\"},{\"Id\":\"after\"}]";
                CHECK_RC(engine_list_scanner_feed(sc, head, strlen(head)), 0);
                for (int i = 0; i < 20 * 16; i++)
                        CHECK_RC(engine_list_scanner_feed(sc, chunk, sizeof(chunk)), 0);
                CHECK_RC(engine_list_scanner_feed(sc, tail, strlen(tail)), 0);
                CHECK_RC(engine_list_scanner_finish(sc, &ids, &n), 0);
                CHECK_RC(n, 3);
                CHECK_STREQ(ids[0], "before");
                CHECK_STREQ(ids[1], "huge");
                CHECK_STREQ(ids[2], "after");
                engine_ids_free(ids, n);
        }

        /* Nesting beyond ENGINE_JSON_DEPTH_MAX is refused, like the other documents. */
        char deep[2 * ENGINE_JSON_DEPTH_MAX + 8];
        memset(deep, '[', ENGINE_JSON_DEPTH_MAX + 1);
        memset(deep + ENGINE_JSON_DEPTH_MAX + 1, ']', ENGINE_JSON_DEPTH_MAX + 1);
        CHECK_RC(engine_list_parse(deep, 2 * (ENGINE_JSON_DEPTH_MAX + 1), &ids, &n), -EBADMSG);
}

/* started: the index of the one start event (its time is a start, not a creation). */
static void check_events(const char *file, const EngineAction *expected, size_t n_expected,
                         size_t started) {
        size_t len, n = 0;
        _cleanup_(freep) char *text = load(file, &len);
        char *line = text, *nl;

        while ((nl = strchr(line, '\n'))) {
                EngineEvent e;
                CHECK_RC(engine_event_parse(line, nl - line, &e), 0);
                CHECK(n < n_expected);
                CHECK_RC(e.action, expected[n]);
                CHECK(e.starts == (n == started));
                if (e.action != ENGINE_ACTION_IGNORE) {
                        CHECK_RC(strlen(e.id), 64);
                        CHECK(e.time_ms > INT64_C(1796132600000));
                        CHECK(e.name);
                        CHECK(e.image);
                }
                engine_event_done(&e);
                n++;
                line = nl + 1;
        }
        CHECK_RC(n, n_expected);
}

static void test_events(void) {
        /* rename create attach network-connect start die network-disconnect destroy */
        static const EngineAction docker[] = {
                ENGINE_ACTION_INSPECT, ENGINE_ACTION_INSPECT, ENGINE_ACTION_IGNORE,
                ENGINE_ACTION_IGNORE,  ENGINE_ACTION_INSPECT, ENGINE_ACTION_DIE,
                ENGINE_ACTION_IGNORE,  ENGINE_ACTION_REMOVE,
        };
        check_events("docker-20.10-events.jsonl", docker, ELEMENTSOF(docker), 4);
        /* rename create init start attach image-pull die remove */
        static const EngineAction podman[] = {
                ENGINE_ACTION_INSPECT, ENGINE_ACTION_INSPECT, ENGINE_ACTION_INSPECT,
                ENGINE_ACTION_INSPECT, ENGINE_ACTION_IGNORE,  ENGINE_ACTION_IGNORE,
                ENGINE_ACTION_DIE,     ENGINE_ACTION_REMOVE,
        };
        check_events("podman-4.3-events.jsonl", podman, ELEMENTSOF(podman), 3);

        EngineEvent e;
        static const char rename_ev[] =
                "{\"Type\":\"container\",\"Action\":\"rename\",\"Actor\":{\"ID\":\"abc\","
                "\"Attributes\":{\"name\":\"new\",\"image\":\"img\"}},\"time\":1700000000}";
        CHECK_RC(engine_event_parse(rename_ev, strlen(rename_ev), &e), 0);
        CHECK_RC(e.action, ENGINE_ACTION_INSPECT);
        CHECK_STREQ(e.id, "abc");
        CHECK_STREQ(e.name, "new");
        CHECK_RC(e.time_ms, INT64_C(1700000000000));
        engine_event_done(&e);
        /* An exec's die-looking action or a container event without a valid id: ignored. */
        static const char exec_ev[] = "{\"Type\":\"container\",\"Action\":\"exec_die\","
                                      "\"Actor\":{\"ID\":\"abc\"}}";
        CHECK_RC(engine_event_parse(exec_ev, strlen(exec_ev), &e), 0);
        CHECK_RC(e.action, ENGINE_ACTION_IGNORE);
        static const char bad_id[] = "{\"Type\":\"container\",\"Action\":\"die\","
                                     "\"Actor\":{\"ID\":\"../../etc\"}}";
        CHECK_RC(engine_event_parse(bad_id, strlen(bad_id), &e), 0);
        CHECK_RC(e.action, ENGINE_ACTION_IGNORE);
        CHECK_RC(engine_event_parse("[1]", 3, &e), -EBADMSG);
        CHECK_RC(engine_event_parse("{\"Type\":", 8, &e), -EBADMSG);
}

static void test_hostile(void) {
        ContainerInfo c;
        char *doc;

        /* Terminal escapes in a name are kept (they are escaped where shown); a NUL makes the
         * string unknown; wrong types are unknown; Id is required and validated. */
        static const char escapes[] =
                "{\"Id\":\"abc\",\"Name\":\"/\\u001b]0;owned\\u0007\",\"Config\":{\"Image\":5,"
                "\"Labels\":{\"io.kubernetes.pod.name\":[\"x\"],"
                "\"io.kubernetes.pod.namespace\":\"ns\\u0000evil\"}},\"Image\":\"sha256:1\","
                "\"ProcessLabel\":\"garbage\",\"State\":{\"Running\":\"yes\","
                "\"StartedAt\":\"yesterday\"}}";
        CHECK_RC(engine_inspect_parse(escapes, strlen(escapes), "docker", &c), 0);
        CHECK_STREQ(c.name, "\x1b]0;owned\x07");
        CHECK_STREQ(c.image, "sha256:1"); /* Config.Image not a string: the digest */
        CHECK_STREQ(c.pod, NULL);
        CHECK_STREQ(c.pod_namespace, NULL);
        CHECK_STREQ(c.label, "garbage"); /* kept for the record, no categories believed */
        CHECK(!c.has_mcs);
        CHECK_RC(c.state, CONTAINER_STATE_UNKNOWN);
        CHECK_RC(c.started_ms, 0);
        container_info_done(&c);

        static const char *const refused[] = {
                "{\"Name\":\"/x\"}",
                "{\"Id\":\"\"}",
                "{\"Id\":\"a/b\"}",
                "{\"Id\":[\"abc\"]}",
                "[]",
                "",
                "{\"Id\":\"abc\"",
                "null",
                "{\"Id\":\"a\\u0000b\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                CHECK_RC(engine_inspect_parse(refused[i], strlen(refused[i]), "docker", &c),
                         -EBADMSG);

        /* Bytes that are not UTF-8 (raw in the JSON: json-c passes them on) make a string
         * unknown: no real engine sends them, and the API could only show them as other
         * characters. A real U+00FF, escaped or not, is a name like any other. */
        static const char not_utf8[] =
                "{\"Id\":\"abc\",\"Name\":\"/bad-\xff\xfe\",\"Config\":{\"Image\":\"img\xc3\","
                "\"Labels\":{\"io.kubernetes.pod.name\":\"p\xed\xa0\x80\","
                "\"io.kubernetes.pod.namespace\":\"\\u00ff\xc3\xbf\"}}}";
        CHECK_RC(engine_inspect_parse(not_utf8, strlen(not_utf8), "docker", &c), 0);
        CHECK_STREQ(c.id, "abc");
        CHECK_STREQ(c.name, NULL);
        CHECK_STREQ(c.image, NULL);
        CHECK_STREQ(c.pod, NULL); /* a surrogate's encoding */
        CHECK_STREQ(c.pod_namespace, "\xc3\xbf\xc3\xbf");
        container_info_done(&c);
        static const char opt_not_utf8[] = "{\"Id\":\"abc\",\"HostConfig\":{\"SecurityOpt\":"
                                           "[\"label=level:s0:c1,c2\xff\"]}}";
        CHECK_RC(engine_inspect_parse(opt_not_utf8, strlen(opt_not_utf8), "docker", &c), 0);
        CHECK_STREQ(c.label, NULL);
        CHECK(!c.has_mcs);
        container_info_done(&c);
        EngineEvent e;
        static const char rename_ev[] =
                "{\"Type\":\"container\",\"Action\":\"rename\",\"Actor\":{\"ID\":\"abc\","
                "\"Attributes\":{\"name\":\"\xff\xfe\",\"image\":\"img\"}}}";
        CHECK_RC(engine_event_parse(rename_ev, strlen(rename_ev), &e), 0);
        CHECK_RC(e.action, ENGINE_ACTION_INSPECT);
        CHECK_STREQ(e.name, NULL);
        CHECK_STREQ(e.image, "img");
        engine_event_done(&e);

        /* A name exactly at CONTAINER_STRING_MAX is kept, one byte more is unknown. */
        for (int extra = 0; extra <= 1; extra++) {
                size_t n = CONTAINER_STRING_MAX + extra;
                doc = malloc(n + 64);
                CHECK(doc);
                int k = sprintf(doc, "{\"Id\":\"abc\",\"Name\":\"");
                memset(doc + k, 'n', n);
                strcpy(doc + k + n, "\"}");
                CHECK_RC(engine_inspect_parse(doc, strlen(doc), "docker", &c), 0);
                CHECK(extra ? c.name == NULL : strlen(c.name) == n);
                container_info_done(&c);
                free(doc);
        }

        /* Nesting beyond ENGINE_JSON_DEPTH_MAX is refused before it costs anything. */
        size_t depth = ENGINE_JSON_DEPTH_MAX + 8;
        doc = malloc(depth * 6 + 64);
        CHECK(doc);
        char *p = doc + sprintf(doc, "{\"Id\":\"abc\",\"Config\":");
        for (size_t i = 0; i < depth; i++)
                p += sprintf(p, "{\"a\":");
        p += sprintf(p, "1");
        for (size_t i = 0; i < depth + 1; i++)
                *p++ = '}';
        *p = 0;
        CHECK_RC(engine_inspect_parse(doc, strlen(doc), "docker", &c), -EBADMSG);
        free(doc);

        /* label=disable and a security option too long to be a label are no categories. */
        static const char disabled[] = "{\"Id\":\"abc\",\"ProcessLabel\":\"\",\"HostConfig\":"
                                       "{\"SecurityOpt\":[\"label=disable\",7,null]}}";
        CHECK_RC(engine_inspect_parse(disabled, strlen(disabled), "podman", &c), 0);
        CHECK_STREQ(c.label, NULL);
        CHECK(!c.has_mcs);
        container_info_done(&c);
        static const char old_form[] = "{\"Id\":\"abc\",\"HostConfig\":{\"SecurityOpt\":"
                                       "[\"seccomp=unconfined\",\"label:level:s0:c1,c2\"]}}";
        CHECK_RC(engine_inspect_parse(old_form, strlen(old_form), "docker", &c), 0);
        CHECK_STREQ(c.label, "level:s0:c1,c2");
        check_mcs(&c, "c1,c2");
        container_info_done(&c);
}

int main(void) {
        test_docker();
        test_podman();
        test_lists();
        test_events();
        test_hostile();
        return 0;
}
