/* SPDX-License-Identifier: MIT */
/* config.json / CRI-O inspect -> ContainerInfo (daemon/attribution/runtime-spec.c), on documents
 * laid out as containerd's CRI plugin and CRI-O write them (tests/unit/data/runtime/README.md
 * says from which source), Podman's and Docker's in the same directories, and hostile ones:
 * over the size bound, malformed, truncated, wrong types, over-long strings, NUL, invalid UTF-8,
 * control characters (kept exactly: escaping is the terminal's business, avcctl's), deep
 * nesting. */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "macro.h"
#include "runtime-spec.h"
#include "tests/unit/test.h"

#define CTR_ID "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988"
#define SANDBOX_ID "9a8b7c6d5e4f30211f0e1d2c3b4a59687766554433221100ffeeddccbbaa9988"
#define CRIO_CTR "d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3"
#define CRIO_SANDBOX "5b3e0c7a1d9f4e2b8c6a0d4f2e8b1c9a7d5f3e1b9c7a5d3f1e9b7c5a3d1f9e7b"

static char *load(const char *name, size_t *ret_len) {
        return fixture_data("runtime", name, ret_len);
}

static int parse_file(const char *name, const char *id, const char *engine, ContainerInfo *c) {
        size_t len;
        _cleanup_(freep) char *text = load(name, &len);
        return runtime_spec_parse(text, len, id, engine, c);
}

static int parse_text(const char *text, ContainerInfo *c) {
        return runtime_spec_parse(text, strlen(text), CTR_ID, "containerd", c);
}

static void check_mcs(const ContainerInfo *c, const char *expected) {
        char text[256];
        CHECK(c->has_mcs);
        CHECK(mcs_set_format(&c->mcs, text, sizeof(text)) >= 0);
        CHECK_STREQ(text, expected);
}

static void test_containerd(void) {
        ContainerInfo c;

        CHECK_RC(parse_file("containerd-container.json", CTR_ID, "containerd", &c),
                 RUNTIME_SPEC_CRI);
        CHECK_STREQ(c.id, CTR_ID);
        CHECK_STREQ(c.engine, "containerd");
        CHECK_STREQ(c.name, "web");
        CHECK_STREQ(c.image, "docker.io/library/nginx:1.25");
        CHECK_STREQ(c.pod, "web-7d4b9c-x2k8p");
        CHECK_STREQ(c.pod_namespace, "shop");
        CHECK_STREQ(c.pod_uid, "6f1c2d5e-8a4b-4c3d-9e2f-0a1b2c3d4e5f");
        CHECK_STREQ(c.sandbox_id, SANDBOX_ID);
        CHECK(!c.sandbox);
        CHECK_STREQ(c.label, "system_u:system_r:container_t:s0:c4,c5");
        check_mcs(&c, "c4,c5");
        CHECK(c.created_ms == 0); /* containerd writes no time: the caller takes the file's */
        container_info_done(&c);

        CHECK_RC(parse_file("containerd-sandbox.json", SANDBOX_ID, "containerd", &c),
                 RUNTIME_SPEC_CRI);
        CHECK(c.sandbox);
        CHECK_STREQ(c.name, NULL);
        CHECK_STREQ(c.pod, "web-7d4b9c-x2k8p");
        CHECK_STREQ(c.pod_namespace, "shop");
        CHECK_STREQ(c.sandbox_id, SANDBOX_ID);
        CHECK_STREQ(c.image, "registry.k8s.io/pause:3.9");
        check_mcs(&c, "c4,c5");
        container_info_done(&c);
}

static void test_crio(void) {
        ContainerInfo c;

        CHECK_RC(parse_file("crio-container.json", CRIO_CTR, "cri-o", &c), RUNTIME_SPEC_CRI);
        CHECK_STREQ(c.engine, "cri-o");
        CHECK_STREQ(c.name, "api");
        CHECK_STREQ(c.image, "quay.io/acme/api:2.3");
        CHECK_STREQ(c.pod, "api-5f6c8d7b9-q7wzt");
        CHECK_STREQ(c.pod_namespace, "payments");
        CHECK_STREQ(c.pod_uid, "0d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a");
        CHECK_STREQ(c.sandbox_id, CRIO_SANDBOX);
        CHECK(!c.sandbox);
        check_mcs(&c, "c5,c26");
        CHECK(c.created_ms == INT64_C(1796620364123)); /* 2026-12-07T05:12:44.123456789Z */
        container_info_done(&c);

        CHECK_RC(parse_file("crio-sandbox.json", CRIO_SANDBOX, "cri-o", &c), RUNTIME_SPEC_CRI);
        CHECK(c.sandbox);
        CHECK_STREQ(c.name, NULL); /* not "POD" */
        CHECK_STREQ(c.pod, "api-5f6c8d7b9-q7wzt");
        CHECK_STREQ(c.pod_namespace, "payments");
        CHECK_STREQ(c.sandbox_id, CRIO_SANDBOX);
        check_mcs(&c, "c5,c26");
        container_info_done(&c);

        /* The inspect reply: the same container, from CRI-O's HTTP API. */
        size_t len;
        _cleanup_(freep) char *text = load("crio-inspect.json", &len);
        CHECK_RC(runtime_crio_inspect_parse(text, len, CRIO_CTR, &c), RUNTIME_SPEC_CRI);
        CHECK_STREQ(c.engine, "cri-o");
        CHECK_STREQ(c.name, "api");
        CHECK_STREQ(c.image, "quay.io/acme/api:2.3");
        CHECK_STREQ(c.pod, "api-5f6c8d7b9-q7wzt");
        CHECK_STREQ(c.pod_namespace, "payments");
        CHECK_STREQ(c.pod_uid, "0d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a");
        CHECK_STREQ(c.sandbox_id, CRIO_SANDBOX);
        CHECK(c.created_ms == INT64_C(1796620364123));
        CHECK(!c.has_mcs); /* the reply has no label */
        container_info_done(&c);
        const char *nameless = "{\"name\":\"x\"}";
        CHECK_RC(runtime_crio_inspect_parse(nameless, strlen(nameless), CRIO_CTR, &c), -EBADMSG);
        CHECK_RC(runtime_crio_inspect_parse("404 page", 8, CRIO_CTR, &c), -EBADMSG);

        _cleanup_(freep) char *info = load("crio-info.json", &len);
        char *root = NULL;
        CHECK_RC(runtime_crio_info_parse(info, len, &root), 0);
        CHECK_STREQ(root, "/var/lib/containers/storage");
        free(root);
        const char *relative = "{\"storage_root\":\"relative\"}";
        CHECK_RC(runtime_crio_info_parse(relative, strlen(relative), &root), 0);
        CHECK(root == NULL);
}

static void test_others(void) {
        ContainerInfo c;

        CHECK_RC(parse_file("podman.json", CRIO_CTR, "cri-o", &c), RUNTIME_SPEC_FOREIGN);
        CHECK_STREQ(c.pod, NULL);
        container_info_done(&c);
        CHECK_RC(parse_file("moby.json", CTR_ID, "containerd", &c), RUNTIME_SPEC_PLAIN);
        CHECK_STREQ(c.name, NULL);
        CHECK_STREQ(c.pod, NULL);
        check_mcs(&c, "c7,c8");
        container_info_done(&c);

        /* Only a mount label: its categories, no process label invented from it. */
        CHECK_RC(parse_text("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\"},"
                            "\"linux\":{\"mountLabel\":\"system_u:object_r:container_file_t:s0:"
                            "c1,c2\"}}",
                            &c),
                 RUNTIME_SPEC_CRI);
        CHECK_STREQ(c.label, NULL);
        check_mcs(&c, "c1,c2");
        container_info_done(&c);
        /* spc_t (privileged): a label without categories. */
        CHECK_RC(parse_text("{\"process\":{\"selinuxLabel\":\"system_u:system_r:spc_t:s0\"},"
                            "\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"p\","
                            "\"io.kubernetes.pod.name\":\"p\",\"io.kubernetes.cri.container-type\":"
                            "\"container\"}}",
                            &c),
                 RUNTIME_SPEC_CRI);
        CHECK_STREQ(c.label, "system_u:system_r:spc_t:s0");
        CHECK(!c.has_mcs);
        container_info_done(&c);
}

static void test_hostile(void) {
        ContainerInfo c = {};

        /* Size: refused before parsing, whatever the bytes. */
        size_t big = RUNTIME_SPEC_SIZE_MAX + 1;
        char *huge = malloc(big + 1);
        CHECK(huge);
        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        huge[big] = 0;
        CHECK_RC(runtime_spec_parse(huge, big, CTR_ID, "containerd", &c), -EFBIG);
        CHECK_RC(runtime_crio_inspect_parse(huge, big, CTR_ID, &c), -EFBIG);
        /* At the bound: parsed. */
        CHECK_RC(runtime_spec_parse(huge + 1, big - 1, CTR_ID, "containerd", &c), -EBADMSG);
        huge[1] = '{';
        CHECK_RC(runtime_spec_parse(huge + 1, big - 1, CTR_ID, "containerd", &c),
                 RUNTIME_SPEC_PLAIN);
        container_info_done(&c);
        free(huge);

        /* Not JSON, not an object, cut short (a file caught while being written), trailing
         * garbage, nested beyond the bound. */
        const char *bad[] = {"",
                             "garbage",
                             "[1,2,3]",
                             "\"string\"",
                             "{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"p",
                             "{\"ociVersion\":\"1.1.0\"} trailing",
                             "{} {}"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK_RC(parse_text(bad[i], &c), -EBADMSG);
        char deep[256] = "{\"a\":";
        for (int i = 0; i < 40; i++)
                strcat(deep, "[");
        CHECK_RC(parse_text(deep, &c), -EBADMSG);

        /* Invalid ids (the directory name): never a path component later. */
        CHECK_RC(runtime_spec_parse("{}", 2, "../etc", "containerd", &c), -EINVAL);
        CHECK_RC(runtime_spec_parse("{}", 2, "", "containerd", &c), -EINVAL);

        /* Wrong types: unknown, not an error. */
        CHECK_RC(parse_text("{\"annotations\":[1],\"process\":\"x\",\"linux\":7}", &c),
                 RUNTIME_SPEC_PLAIN);
        CHECK(!c.has_mcs && !c.label);
        container_info_done(&c);
        CHECK_RC(parse_text("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
                            "\"io.kubernetes.cri.sandbox-name\":42,"
                            "\"io.kubernetes.cri.sandbox-namespace\":{\"x\":1},"
                            "\"io.kubernetes.cri.container-name\":null,"
                            "\"io.kubernetes.cri.image-name\":[\"a\"]},"
                            "\"process\":{\"selinuxLabel\":17}}",
                            &c),
                 RUNTIME_SPEC_CRI);
        CHECK(!c.pod && !c.pod_namespace && !c.name && !c.image && !c.label && !c.has_mcs);
        container_info_done(&c);

        /* Strings: NUL inside, invalid UTF-8, over CONTAINER_STRING_MAX -> unknown; control
         * characters -> kept exactly as the runtime wrote them. */
        CHECK_RC(parse_text("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
                            "\"io.kubernetes.cri.sandbox-name\":\"a\\u0000b\","
                            "\"io.kubernetes.cri.sandbox-namespace\":\"\xff\xfe\","
                            "\"io.kubernetes.cri.container-name\":\"\\u001b[31mred\\u0007\\r\"}}",
                            &c),
                 RUNTIME_SPEC_CRI);
        CHECK_STREQ(c.pod, NULL);
        CHECK_STREQ(c.pod_namespace, NULL);
        CHECK_STREQ(c.name, "\x1b[31mred\a\r");
        container_info_done(&c);

        size_t n = CONTAINER_STRING_MAX + 1;
        char *text = malloc(n + 200);
        CHECK(text);
        strcpy(text, "{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
                     "\"io.kubernetes.cri.sandbox-name\":\"");
        size_t off = strlen(text);
        memset(text + off, 'p', n);
        strcpy(text + off + n, "\"}}");
        CHECK_RC(parse_text(text, &c), RUNTIME_SPEC_CRI);
        CHECK_STREQ(c.pod, NULL);
        container_info_done(&c);
        /* At the bound: kept. */
        memset(text + off, 'p', n - 1);
        strcpy(text + off + n - 1, "\"}}");
        CHECK_RC(parse_text(text, &c), RUNTIME_SPEC_CRI);
        CHECK(c.pod && strlen(c.pod) == CONTAINER_STRING_MAX);
        container_info_done(&c);
        free(text);

        /* A label that does not parse: kept as text, no categories believed. */
        CHECK_RC(parse_text("{\"process\":{\"selinuxLabel\":\"a:b:c:s0:c99999\"}}", &c),
                 RUNTIME_SPEC_PLAIN);
        CHECK(!c.has_mcs);
        container_info_done(&c);
}

int main(void) {
        test_containerd();
        test_crio();
        test_others();
        test_hostile();
        printf("ok\n");
        return 0;
}
