/* SPDX-License-Identifier: MIT */
/* The C tests' fixtures (fixtures.h). Directories are removed with nftw(), not by running
 * `rm -rf` through a shell: no quoting, and a failure says which path. */

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "test.h"

char *xstrdup(const char *s) {
        if (!s)
                return NULL;
        char *c = strdup(s);
        CHECK(c);
        return c;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        CHECK(r >= 0);
        return s;
}

void set_string(char **field, const char *value) {
        free(*field);
        *field = xstrdup(value);
}

char *fixture_data(const char *subdir, const char *name, size_t *ret_len) {
        const char *dir = getenv("AVCWATCH_TEST_DATA");
        struct stat st;

        if (!dir)
                SKIP("AVCWATCH_TEST_DATA is not set (run through ctest)");
        _cleanup_(freep) char *path = xasprintf("%s/%s/%s", dir, subdir, name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(fstat(fd, &st) == 0);
        char *buf = malloc(st.st_size + 1);
        CHECK(buf);
        CHECK(read(fd, buf, st.st_size) == st.st_size);
        buf[st.st_size] = 0;
        close(fd);
        *ret_len = st.st_size;
        return buf;
}

char *fixture_tmpdir(const char *name) {
        char *dir = xasprintf("/tmp/avcwatch-test-%s-XXXXXX", name);
        CHECK(mkdtemp(dir));
        return dir;
}

char *fixture_path(const char *dir, const char *name) {
        return xasprintf("%s/%s", dir, name);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (remove(path) < 0) {
                fprintf(stderr, "cannot remove %s: %m\n", path);
                return -1;
        }
        return 0;
}

void fixture_rm_rf(const char *path) {
        /* depth first, and never into another file system (a test may mount one below) */
        CHECK(nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0);
}

void fixture_tmpdir_remove(char *dir) {
        fixture_rm_rf(dir);
        free(dir);
}

char *fixture_raw(int64_t time_ms, uint64_t serial, const char *permissions) {
        return xasprintf("type=AVC msg=audit(%lld.%03lld:%llu): avc:  denied  { %s }",
                         (long long) (time_ms / 1000), (long long) (time_ms % 1000),
                         (unsigned long long) serial, permissions);
}

Denial fixture_denial(int64_t time_ms, uint64_t serial) {
        Denial d = DENIAL_NULL;

        d.time_ms = time_ms;
        d.serial = serial;
        d.record_type = 1400;
        d.result = xstrdup("denied");
        d.permissions = xstrdup("write");
        d.pid = 21476;
        d.comm = xstrdup("bash");
        d.exe = xstrdup("/usr/bin/bash");
        d.name = xstrdup("root");
        d.scontext = xstrdup(FIXTURE_SCONTEXT);
        d.tcontext = xstrdup(FIXTURE_TCONTEXT);
        d.tclass = xstrdup("dir");
        d.permissive = 0;
        d.source_type = xstrdup("container_t");
        d.target_type = xstrdup("admin_home_t");
        d.mcs = xstrdup("c170,c393");
        d.raw = fixture_raw(time_ms, serial, "write");
        return d;
}

void fixture_container(ContainerRef *c, const char *id, const char *name, const char *image,
                       const char *engine, const char *pod) {
        c->id = xstrdup(id);
        c->name = xstrdup(name);
        c->image = xstrdup(image);
        c->engine = xstrdup(engine);
        c->pod = xstrdup(pod);
}

const char *const fixture_comms[4] = {"bash", "nginx", "postgres", "sh"};
const char *const fixture_types[3] = {"container_t", "spc_t", "container_init_t"};
const char *const fixture_ttypes[4] = {"admin_home_t", "etc_t", "container_file_t", "shadow_t"};
const char *const fixture_classes[3] = {"dir", "file", "sock_file"};
const char *const fixture_perm_sets[4] = {"write", "read open", "readdir", "getattr read"};
const char *const fixture_mcss[3] = {"c170,c393", "c1,c2", "c0.c1023"};

const char *const fixture_hostile_pieces[16] = {
        "\"",
        "\\",
        "\n",
        "\t",
        "\r",
        "\x1b",
        "\x01",
        "\x7f",
        "\xc2\x9b",
        "\xe2\x80\xa8",
        "\xe2\x80\xae",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x98\x80",
        "/",
        "\\u0041",
};
const char *const fixture_invalid_utf8_pieces[4] = {"\xff", "\x80", "\xe2\x82", "\xed\xa0\x80"};

ContainerInfo fixture_container_info(const char *id, const char *text, int64_t created_ms) {
        return (ContainerInfo){
                .id = (char *) id,
                .name = (char *) text,
                .image = (char *) text,
                .engine = (char *) "docker",
                .pod = (char *) text,
                .pod_namespace = (char *) text,
                .compose_project = (char *) text,
                .compose_service = (char *) text,
                .label = (char *) text,
                .created_ms = created_ms,
                .state = CONTAINER_STATE_RUNNING,
        };
}

void fixture_store_all(Store *s, Denial *all, size_t n, size_t batch) {
        for (size_t i = 0; i < n; i++) {
                CHECK_RC(store_add(s, &all[i]), 1);
                if (i % batch == batch - 1)
                        CHECK(store_commit(s, NULL) > 0);
        }
        CHECK(store_commit(s, NULL) > 0);
}

UserAvcSpec fixture_user_avc(void) {
        return (UserAvcSpec){
                .permissions = "write",
                .pid = 21476,
                .comm = "bash",
                .name = "root",
                .scontext = FIXTURE_SCONTEXT,
                .tcontext = FIXTURE_TCONTEXT,
                .tclass = "dir",
                .permissive = 0,
        };
}

const char *fixture_triage_policy(void) {
        const char *p = getenv("AVCWATCH_TRIAGE_POLICY");
        if (p && *p)
                return p;
        if (access("/etc/selinux/default/policy/policy.33", R_OK) == 0)
                return "/etc/selinux/default/policy/policy.33";
        return NULL;
}
