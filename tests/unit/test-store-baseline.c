/* SPDX-License-Identifier: MIT */
/* The baseline of signatures per image (signature.c, store-baseline.c): the signature does not
 * depend on the instance nor on the order of the permissions; an image's tags and spellings share
 * one baseline, and namespace, container name, id and "none" are the fall-backs; a signature is
 * new once per baseline, is written with the batch's commit and survives a reopen; accept (of one
 * image or of all) ends its news; a store created before the baseline existed is seeded as
 * accepted; the set's bound is said (-ENOSPC), never a silent forgetting. */

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "fixtures.h"
#include "macro.h"
#include "signature.h"
#include "store.h"
#include "tests/unit/test.h"

static char *tmpdir;

static bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static void test_signature(void) {
        Denial a = fixture_denial(FIXTURE_TIME_MS, 1), b = fixture_denial(FIXTURE_TIME_MS + 5, 2);
        char sa[SIGNATURE_MAX], sb[SIGNATURE_MAX];

        set_string(&a.permissions, "write read write");
        set_string(&b.permissions, "read write");
        b.pid = 4242;
        set_string(&b.comm, "other");
        set_string(&b.mcs, "c1,c2");
        CHECK(denial_signature(&a, sa, sizeof(sa)) > 0);
        CHECK(denial_signature(&b, sb, sizeof(sb)) > 0);
        CHECK(streq(sa, "denied container_t admin_home_t:dir { read write }"));
        CHECK(streq(sa, sb));
        CHECK(denial_signature(&a, sa, 10) == -ENOBUFS);
        /* exactly as long as the buffer allows, its NUL included; one byte less does not fit */
        size_t full = strlen("denied container_t admin_home_t:dir { read write }");
        CHECK(denial_signature(&a, sa, full + 1) == (int) full);
        CHECK(streq(sa, "denied container_t admin_home_t:dir { read write }"));
        CHECK(denial_signature(&a, sa, full) == -ENOBUFS);
        CHECK(denial_signature(&a, sa, 0) == -ENOBUFS);
        set_string(&a.source_type, NULL);
        CHECK(denial_signature(&a, sa, sizeof(sa)) == 0);
        denial_done(&a);
        denial_done(&b);
}

static void test_keys(void) {
        static const struct {
                const char *image, *key;
        } images[] = {
                {"nginx", "nginx"},
                {"nginx:1.25", "nginx"},
                {"docker.io/library/nginx:1.26", "nginx"},
                {"localhost/nginx@sha256:0123abcd", "nginx"},
                {"quay.io:5000/team/app:2.0", "quay.io:5000/team/app"},
                {"quay.io/team/app", "quay.io/team/app"},
                {"sha256:0123abcd", "sha256:0123abcd"},
        };
        char key[BASELINE_KEY_MAX];
        Denial d = fixture_denial(FIXTURE_TIME_MS, 1);

        for (size_t i = 0; i < ELEMENTSOF(images); i++) {
                CHECK(baseline_image_key(images[i].image, key, sizeof(key)) > 0);
                if (!streq(key, images[i].key)) {
                        fprintf(stderr, "%s: %s, expected %s\n", images[i].image, key,
                                images[i].key);
                        CHECK(false);
                }
        }
        CHECK(baseline_image_key("", key, sizeof(key)) == -EINVAL);

        CHECK(denial_baseline_key(&d, key, sizeof(key)) == BASELINE_NONE && key[0] == 0);
        d.has_container = true;
        d.attribution = ATTRIBUTION_PID;
        fixture_container(&d.container, "0123456789abcdef", NULL, NULL, "docker", NULL);
        CHECK(denial_baseline_key(&d, key, sizeof(key)) == BASELINE_CONTAINER &&
              streq(key, "0123456789abcdef"));
        set_string(&d.container.name, "web");
        CHECK(denial_baseline_key(&d, key, sizeof(key)) == BASELINE_CONTAINER && streq(key, "web"));
        set_string(&d.container.pod_namespace, "shop");
        CHECK(denial_baseline_key(&d, key, sizeof(key)) == BASELINE_NAMESPACE &&
              streq(key, "shop"));
        set_string(&d.container.image, "docker.io/library/nginx:1.25");
        CHECK(denial_baseline_key(&d, key, sizeof(key)) == BASELINE_IMAGE && streq(key, "nginx"));
        d.attribution = ATTRIBUTION_AMBIGUOUS;
        CHECK(denial_baseline_key(&d, key, sizeof(key)) == BASELINE_NONE && key[0] == 0);
        CHECK(baseline_scope_from_string("namespace") == BASELINE_NAMESPACE);
        CHECK(streq(baseline_scope_to_string(BASELINE_NONE), "none"));
        CHECK(baseline_scope_from_string("pod") == -EINVAL);
        denial_done(&d);
}

/* A denial of image with permissions, stored in the open batch and noted: what the note said. */
static int note(Store *s, uint64_t serial, const char *image, const char *permissions) {
        Denial d = fixture_denial(FIXTURE_TIME_MS + (int64_t) serial, serial);
        int r;

        set_string(&d.permissions, permissions);
        if (image) {
                /* one container per image: a container's row holds one image */
                unsigned h = 5381;
                for (const char *p = image; *p; p++)
                        h = h * 33 + (unsigned char) *p;
                _cleanup_(freep) char *id = xasprintf("%064x", h);
                d.has_container = true;
                d.attribution = ATTRIBUTION_PID;
                fixture_container(&d.container, id, "web", image, "docker", NULL);
        }
        CHECK(store_add(s, &d) == 1);
        r = store_baseline_note(s, &d);
        denial_done(&d);
        return r;
}

typedef struct Listed {
        size_t n, n_new;
        char first[256];
} Listed;

static int listed_add(const StoreBaselineRow *row, void *userdata) {
        Listed *l = userdata;
        if (l->n++ == 0)
                snprintf(l->first, sizeof(l->first), "%s %s %s %" PRIu64,
                         baseline_scope_to_string(row->scope), row->key, row->signature,
                         row->count);
        if (row->accepted_ms == 0)
                l->n_new++;
        return 0;
}

static Listed list(Store *s, const char *image, bool new_only) {
        Listed l = {};
        bool more = true;
        CHECK(store_baseline_list(s, image, new_only, 0, listed_add, &l, &more) == 0 && !more);
        return l;
}

static void test_store(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "baseline.db");
        uint64_t n;
        Listed l;
        Store *s;

        CHECK(store_open(path, &s) == 0);
        CHECK(store_baseline_size(s) == 0);
        CHECK(note(s, 1, "nginx:1.25", "read write") == 1);
        /* another tag, another spelling, the permissions in another order: the same */
        CHECK(note(s, 2, "docker.io/library/nginx:1.26", "write read") == 0);
        CHECK(note(s, 3, "nginx", "read") == 1);
        CHECK(note(s, 4, "redis:7", "read") == 1);
        CHECK(note(s, 5, NULL, "read") == 1); /* unattributed: baseline "none" */
        CHECK(note(s, 6, NULL, "read") == 0);
        CHECK(store_take_committed_new(s) == 0); /* not before the commit */
        CHECK(store_commit(s, NULL) == 6);
        CHECK(store_take_committed_new(s) == 4);
        CHECK(store_take_committed_new(s) == 0);
        CHECK(store_baseline_size(s) == 4);

        l = list(s, NULL, true);
        CHECK(l.n == 4 && l.n_new == 4);
        l = list(s, "nginx:9", false); /* any tag of the repository */
        CHECK(l.n == 2);
        l = list(s, "redis", false);
        CHECK(l.n == 1 &&
              streq(l.first, "image redis denied container_t admin_home_t:dir { read } 1"));

        /* accept one image: the others stay new */
        CHECK(store_baseline_accept(s, "docker.io/library/nginx", FIXTURE_TIME_MS + 100, &n) == 0);
        CHECK(n == 2);
        CHECK(list(s, NULL, true).n == 2);
        CHECK(list(s, "nginx", true).n == 0);
        CHECK(store_baseline_accept(s, "nginx", FIXTURE_TIME_MS + 100, &n) == 0 && n == 0);
        store_free(s);

        /* reopened: the same entries, the same acceptance, counts kept */
        CHECK(store_open(path, &s) == 0);
        l = list(s, "nginx", false);
        CHECK(l.n == 2 && l.n_new == 0);
        CHECK(list(s, NULL, true).n == 2);
        CHECK(note(s, 10, "nginx:2", "read") == 0);
        CHECK(note(s, 11, "nginx:2", "append") == 1);
        /* accepting inside the open batch: written with it */
        CHECK(store_baseline_accept(s, NULL, FIXTURE_TIME_MS + 200, &n) == 0 && n == 3);
        CHECK(store_commit(s, NULL) == 2);
        CHECK(store_take_committed_new(s) == 1);
        store_free(s);
        CHECK(store_open(path, &s) == 0);
        l = list(s, NULL, false);
        CHECK(l.n == 5 && l.n_new == 0);
        l = list(s, "redis", false);
        CHECK(streq(l.first, "image redis denied container_t admin_home_t:dir { read } 1"));
        store_free(s);
}

/* A store of a version before the baseline: what it holds is seeded as accepted. */
static void test_seed(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "seed.db");
        sqlite3 *db;
        Listed l;
        Store *s;

        CHECK(store_open(path, &s) == 0);
        CHECK(note(s, 1, "nginx:1.25", "read") == 1);
        CHECK(note(s, 2, "redis", "write") == 1);
        CHECK(note(s, 3, NULL, "write") == 1);
        CHECK(store_commit(s, NULL) == 3);
        store_free(s);
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "DROP TABLE baseline", NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);

        CHECK(store_open(path, &s) == 0);
        l = list(s, NULL, false);
        CHECK(l.n == 3 && l.n_new == 0);
        CHECK(note(s, 4, "nginx:2", "read") == 0);
        CHECK(note(s, 5, NULL, "write") == 0);
        CHECK(note(s, 6, "nginx:2", "write") == 1);
        CHECK(store_commit(s, NULL) == 3);
        CHECK(list(s, NULL, true).n == 1);
        store_free(s);
}

static void test_bound(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "bound.db");
        Denial d = fixture_denial(FIXTURE_TIME_MS, 1);
        char type[32];
        Store *s;

        CHECK(store_open(path, &s) == 0);
        for (int i = 0; i < STORE_BASELINE_MAX; i++) {
                snprintf(type, sizeof(type), "t%d_t", i);
                set_string(&d.target_type, type);
                CHECK(store_baseline_note(s, &d) == 1);
        }
        set_string(&d.target_type, "one_more_t");
        CHECK(store_baseline_note(s, &d) == -ENOSPC);
        CHECK(store_baseline_note(s, &d) == -ENOSPC); /* not added */
        set_string(&d.target_type, "t7_t");
        CHECK(store_baseline_note(s, &d) == 0); /* what it holds is still judged */
        set_string(&d.source_type, NULL);
        CHECK(store_baseline_note(s, &d) == -ENODATA);
        denial_done(&d);
        store_free(s);
}

int main(void) {
        tmpdir = fixture_tmpdir("baseline");
        test_signature();
        test_keys();
        test_store();
        test_seed();
        test_bound();
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
