/* SPDX-License-Identifier: MIT */
/* The runtimes' state directories watched (daemon/attribution/runtime-state.c), on an sd-event
 * loop and a registry in memory, with directories laid out as containerd and CRI-O lay them out
 * (the documents of tests/unit/data/runtime): the scan at start, a container created later (the
 * directory first, config.json after, as both runtimes do), its end when the directory goes, a
 * root that is absent at start and appears, Podman's containers in CRI-O's storage left alone,
 * and hostile files (a 100 MiB sparse config.json, a malformed one, a symlink, a FIFO) skipped
 * and counted while the watch goes on. */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "macro.h"
#include "registry.h"
#include "runtime-state.h"
#include "tests/unit/test.h"

#define CTR_ID "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988"
#define SANDBOX_ID "9a8b7c6d5e4f30211f0e1d2c3b4a59687766554433221100ffeeddccbbaa9988"
#define CRIO_CTR "d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3"
#define CRIO_SANDBOX "5b3e0c7a1d9f4e2b8c6a0d4f2e8b1c9a7d5f3e1b9c7a5d3f1e9b7c5a3d1f9e7b"

static void copy_data(const char *name, const char *dst) {
        const char *dir = getenv("AVCWATCH_TEST_DATA");
        char path[1024], buf[65536];

        if (!dir)
                SKIP("AVCWATCH_TEST_DATA is not set (run through ctest)");
        snprintf(path, sizeof(path), "%s/runtime/%s", dir, name);
        int in = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(in >= 0);
        int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CHECK(out >= 0);
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                CHECK(write(out, buf, n) == n);
        close(in);
        close(out);
}

static void mkdirs_path(char *path) {
        char *p = path;
        while ((p = strchr(p + 1, '/'))) {
                *p = 0;
                (void) mkdir(path, 0700);
                *p = '/';
        }
        CHECK(mkdir(path, 0700) == 0 || errno == EEXIST);
}

#define MKDIRS(...)                                                                                \
        do {                                                                                       \
                char *_p = xasprintf(__VA_ARGS__);                                                 \
                mkdirs_path(_p);                                                                   \
                free(_p);                                                                          \
        } while (0)

/* Runs the loop until cond holds (or fails after timeout_ms). */
#define RUN_UNTIL(e, cond, timeout_ms)                                                             \
        do {                                                                                       \
                int _i;                                                                            \
                for (_i = 0; _i < (timeout_ms) / 10 && !(cond); _i++)                              \
                        CHECK(sd_event_run(e, 10 * 1000) >= 0);                                    \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "%s:%d: timed out waiting for %s\n", __FILE__, __LINE__,   \
                                #cond);                                                            \
                        exit(1);                                                                   \
                }                                                                                  \
        } while (0)

static void test_containerd(void) {
        _cleanup_(freep) char *dir = fixture_tmpdir("runtime-containerd");
        char path[4096], root[1024];
        sd_event *e = NULL;
        Registry *r = NULL;
        RuntimeState *s = NULL;
        RuntimeStats stats = {};

        CHECK(sd_event_new(&e) >= 0);
        CHECK(registry_new(NULL, &r) >= 0);
        snprintf(root, sizeof(root), "%s/state/io.containerd.runtime.v2.task", dir);
        /* At start: the sandbox of a pod, a moby (Docker) task. */
        MKDIRS("%s/k8s.io/%s", root, SANDBOX_ID);
        snprintf(path, sizeof(path), "%s/k8s.io/%s/config.json", root, SANDBOX_ID);
        copy_data("containerd-sandbox.json", path);
        MKDIRS("%s/moby/%s", root, "3c4d5e6f7a8b");
        snprintf(path, sizeof(path), "%s/moby/3c4d5e6f7a8b/config.json", root);
        copy_data("moby.json", path);

        snprintf(path, sizeof(path), "%s/state", dir);
        CHECK(runtime_state_new(e, RUNTIME_CONTAINERD, path, NULL, r, &stats, &s) >= 0);
        runtime_state_set_retry_usec(s, 20 * 1000, 100 * 1000, 10 * 1000);
        CHECK(runtime_state_is_watching(s));
        CHECK_STREQ(stats.state, "watching");
        const ContainerInfo *c = registry_get(r, SANDBOX_ID);
        CHECK(c && c->sandbox);
        CHECK_STREQ(c->pod, "web-7d4b9c-x2k8p");
        CHECK_STREQ(c->pod_namespace, "shop");
        CHECK_STREQ(c->engine, "containerd");
        CHECK(c->created_ms > 0);
        c = registry_get(r, "3c4d5e6f7a8b");
        CHECK(c && !c->pod);
        CHECK_STREQ(c->engine, "containerd");

        /* A container created while watched: the directory first, config.json a moment later. */
        MKDIRS("%s/k8s.io/%s", root, CTR_ID);
        RUN_UNTIL(e, false || true, 50);
        snprintf(path, sizeof(path), "%s/k8s.io/%s/config.json", root, CTR_ID);
        copy_data("containerd-container.json", path);
        RUN_UNTIL(e, registry_get(r, CTR_ID) != NULL, 3000);
        c = registry_get(r, CTR_ID);
        CHECK_STREQ(c->name, "web");
        CHECK_STREQ(c->image, "docker.io/library/nginx:1.25");
        CHECK_STREQ(c->pod, "web-7d4b9c-x2k8p");
        CHECK_STREQ(c->pod_uid, "6f1c2d5e-8a4b-4c3d-9e2f-0a1b2c3d4e5f");
        CHECK_STREQ(c->sandbox_id, SANDBOX_ID);
        CHECK(!c->sandbox && c->has_mcs);

        /* A new namespace appears, with a container in it. */
        MKDIRS("%s/other/%s", root, "abc123");
        RUN_UNTIL(e, false || true, 50);
        snprintf(path, sizeof(path), "%s/other/abc123/config.json", root);
        copy_data("containerd-container.json", path);
        RUN_UNTIL(e, registry_get(r, "abc123") != NULL, 3000);

        /* Hostile: a 100 MiB sparse config.json, a malformed one, a symlink to a good one, a
         * FIFO; each skipped, the watch goes on. */
        uint64_t containers = stats.containers;
        MKDIRS("%s/k8s.io/%s", root, "huge");
        snprintf(path, sizeof(path), "%s/k8s.io/huge/config.json", root);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        CHECK(fd >= 0 && ftruncate(fd, 100 * 1024 * 1024) == 0);
        close(fd);
        RUN_UNTIL(e, stats.too_large == 1, 3000);
        MKDIRS("%s/k8s.io/%s", root, "bad");
        snprintf(path, sizeof(path), "%s/k8s.io/bad/config.json", root);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        CHECK(fd >= 0 && write(fd, "{\"annotations\":", 15) == 15);
        close(fd);
        RUN_UNTIL(e, stats.malformed == 1, 10000);
        MKDIRS("%s/k8s.io/%s", root, "link");
        snprintf(path, sizeof(path), "%s/k8s.io/link/config.json", root);
        char target[4096];
        snprintf(target, sizeof(target), "%s/k8s.io/%s/config.json", root, CTR_ID);
        CHECK(symlink(target, path) == 0);
        RUN_UNTIL(e, stats.malformed == 2, 10000);
        CHECK(registry_get(r, "link") == NULL);
        MKDIRS("%s/k8s.io/%s", root, "fifo");
        snprintf(path, sizeof(path), "%s/k8s.io/fifo/config.json", root);
        CHECK(mkfifo(path, 0600) == 0);
        RUN_UNTIL(e, stats.malformed == 3, 10000);
        CHECK(stats.containers == containers);
        CHECK(!registry_get(r, "huge") && !registry_get(r, "bad") && !registry_get(r, "fifo"));

        /* Still watching: one more container is recorded. */
        MKDIRS("%s/k8s.io/%s", root, "after");
        snprintf(path, sizeof(path), "%s/k8s.io/after/config.json", root);
        copy_data("containerd-container.json", path);
        RUN_UNTIL(e, registry_get(r, "after") != NULL, 3000);

        /* The task is deleted: the container finished then; the registry keeps it. */
        snprintf(path, sizeof(path), "%s/k8s.io/%s", root, CTR_ID);
        fixture_rm_rf(path);
        RUN_UNTIL(e, registry_get(r, CTR_ID)->finished_ms > 0, 3000);
        c = registry_get(r, CTR_ID);
        CHECK(c->state == CONTAINER_STATE_EXITED);
        CHECK_STREQ(c->pod, "web-7d4b9c-x2k8p");
        CHECK(stats.ended == 1);
        /* Docker's task, recorded as containerd's because no engine knew it here, ends too. */
        snprintf(path, sizeof(path), "%s/moby/3c4d5e6f7a8b", root);
        fixture_rm_rf(path);
        RUN_UNTIL(e, registry_get(r, "3c4d5e6f7a8b")->finished_ms > 0, 3000);

        /* The whole state directory goes (containerd stopped, /run cleaned): absent, looked for,
         * and found again. */
        snprintf(path, sizeof(path), "%s/state", dir);
        fixture_rm_rf(path);
        RUN_UNTIL(e, strcmp(stats.state, "absent") == 0, 3000);
        MKDIRS("%s/k8s.io/%s", root, "back");
        snprintf(path, sizeof(path), "%s/k8s.io/back/config.json", root);
        copy_data("containerd-container.json", path);
        RUN_UNTIL(e, registry_get(r, "back") != NULL, 5000);
        CHECK_STREQ(stats.state, "watching");

        runtime_state_free(s);
        registry_free(r);
        sd_event_unref(e);
        fixture_tmpdir_remove(TAKE_PTR(dir));
}

static void test_crio(void) {
        _cleanup_(freep) char *dir = fixture_tmpdir("runtime-crio");
        char path[4096], root[1024];
        sd_event *e = NULL;
        Registry *r = NULL;
        RuntimeState *s = NULL;
        RuntimeStats stats = {};

        CHECK(sd_event_new(&e) >= 0);
        CHECK(registry_new(NULL, &r) >= 0);
        /* Absent at start: looked for. */
        snprintf(path, sizeof(path), "%s/runroot", dir);
        CHECK(runtime_state_new(e, RUNTIME_CRIO, path, NULL, r, &stats, &s) >= 0);
        runtime_state_set_retry_usec(s, 20 * 1000, 100 * 1000, 10 * 1000);
        CHECK_STREQ(stats.state, "absent");
        CHECK(!runtime_state_is_watching(s));
        snprintf(root, sizeof(root), "%s/runroot/overlay-containers", dir);
        MKDIRS("%s/%s/userdata", root, CRIO_SANDBOX);
        snprintf(path, sizeof(path), "%s/%s/userdata/config.json", root, CRIO_SANDBOX);
        copy_data("crio-sandbox.json", path);
        RUN_UNTIL(e, registry_get(r, CRIO_SANDBOX) != NULL, 5000);
        CHECK_STREQ(stats.state, "watching");
        const ContainerInfo *c = registry_get(r, CRIO_SANDBOX);
        CHECK(c->sandbox);
        CHECK_STREQ(c->engine, "cri-o");
        CHECK_STREQ(c->pod_namespace, "payments");

        /* As CRI-O does it: <id>/ first, then userdata/, then config.json. */
        MKDIRS("%s/%s", root, CRIO_CTR);
        RUN_UNTIL(e, false || true, 30);
        MKDIRS("%s/%s/userdata", root, CRIO_CTR);
        RUN_UNTIL(e, false || true, 30);
        snprintf(path, sizeof(path), "%s/%s/userdata/config.json", root, CRIO_CTR);
        copy_data("crio-container.json", path);
        RUN_UNTIL(e, registry_get(r, CRIO_CTR) != NULL, 3000);
        c = registry_get(r, CRIO_CTR);
        CHECK_STREQ(c->name, "api");
        CHECK_STREQ(c->pod, "api-5f6c8d7b9-q7wzt");
        CHECK(c->created_ms == INT64_C(1796620364123));

        /* Podman's container in the same storage: left to the Podman client. */
        MKDIRS("%s/%s/userdata", root, "podmanctr");
        snprintf(path, sizeof(path), "%s/podmanctr/userdata/config.json", root);
        copy_data("podman.json", path);
        uint64_t ended = stats.ended;
        RUN_UNTIL(e, false || true, 200);
        CHECK(registry_get(r, "podmanctr") == NULL);

        /* Removed: the end is its removal. */
        snprintf(path, sizeof(path), "%s/%s", root, CRIO_CTR);
        fixture_rm_rf(path);
        RUN_UNTIL(e, registry_get(r, CRIO_CTR)->removed_ms > 0, 3000);
        CHECK(stats.ended == ended + 1);
        runtime_state_free(s);

        /* Restarted while the sandbox went: ended at the scan. */
        snprintf(path, sizeof(path), "%s/%s", root, CRIO_SANDBOX);
        fixture_rm_rf(path);
        CHECK(registry_get(r, CRIO_SANDBOX)->removed_ms == 0);
        snprintf(path, sizeof(path), "%s/runroot", dir);
        CHECK(runtime_state_new(e, RUNTIME_CRIO, path, NULL, r, &stats, &s) >= 0);
        CHECK(registry_get(r, CRIO_SANDBOX)->removed_ms > 0);
        CHECK_STREQ(registry_get(r, CRIO_SANDBOX)->pod, "api-5f6c8d7b9-q7wzt");

        runtime_state_free(s);
        registry_free(r);
        sd_event_unref(e);
        fixture_tmpdir_remove(TAKE_PTR(dir));
}

int main(void) {
        test_containerd();
        test_crio();
        printf("ok\n");
        return 0;
}
