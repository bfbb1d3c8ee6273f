/* SPDX-License-Identifier: MIT */
/* The policy side of triage (daemon/triage/policy.c) without audit2why: load errors (missing,
 * empty, garbage, directory: a negative errno and a sentence, never a crash), and, on a real
 * policy when one is at hand (AVCWATCH_TRIAGE_POLICY, else the host's refpolicy file), the cache:
 * a question asked again is answered from it, the same as computed afresh, and the tables stay
 * within their bounds whatever the number of distinct contexts. The reasons themselves are
 * compared with audit2why by tests/integration/test-triage-oracle.sh. */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "macro.h"
#include "policy.h"
#include "test.h"

static void write_file(const char *path, const void *data, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, data, n) == (ssize_t) n);
        close(fd);
}

static void check_refused(const char *path, int expected) {
        TriagePolicy *p = NULL;
        const char *why = NULL;
        CHECK_RC(triage_policy_load(path, &p, &why), expected);
        CHECK(p == NULL);
        CHECK(why && *why);
        /* ret_why is optional */
        CHECK_RC(triage_policy_load(path, &p, NULL), expected);
}

static void test_load_errors(const char *dir) {
        char path[512];

        snprintf(path, sizeof(path), "%s/missing", dir);
        check_refused(path, -ENOENT);

        snprintf(path, sizeof(path), "%s/empty", dir);
        write_file(path, "", 0);
        check_refused(path, -EBADMSG);

        /* the kernel policy magic, then nonsense */
        static const unsigned char garbage[] = {0x8c, 0xff, 0x7c, 0xf9, 0x08, 0x00, 0x00, 0x00,
                                                'X',  'E',  'L',  'i',  'n',  'u',  'x',  0xff,
                                                0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
        snprintf(path, sizeof(path), "%s/garbage", dir);
        write_file(path, garbage, sizeof(garbage));
        check_refused(path, -EBADMSG);

        snprintf(path, sizeof(path), "%s/text", dir);
        write_file(path, "policy_module(x, 1.0)\n", 22);
        check_refused(path, -EBADMSG);

        check_refused(dir, -EISDIR);
}

static TriageResult ask(TriagePolicy *p, const char *s, const char *t, const char *tclass,
                        const char *perm) {
        const char *perms[] = {perm};
        TriageResult r;
        CHECK_RC(triage_policy_reason(p, s, t, tclass, perms, 1, &r), 0);
        return r;
}

static void test_cache(const char *file) {
        TriagePolicy *p = NULL;
        const char *why = NULL;
        TriagePolicyStats st;
        int r = triage_policy_load(file, &p, &why);
        if (r < 0 && getenv("AVCWATCH_TRIAGE_POLICY")) {
                fprintf(stderr, "cannot load %s (%s)\n", file, why);
                exit(1);
        }
        if (r < 0)
                SKIP("cannot load %s (%s): the load errors passed, the cache was not tested", file,
                     why);
        triage_policy_stats(p, &st);
        CHECK(st.booleans > 0);

        /* unknown: a type, a class, a permission, a context that does not parse */
        const char *s = "system_u:system_r:init_t:s0", *t = "system_u:object_r:etc_t:s0";
        CHECK_RC(ask(p, s, "system_u:object_r:no_such_type_t:s0", "file", "read").reason,
                 TRIAGE_REASON_UNKNOWN);
        CHECK_RC(ask(p, s, t, "no_such_class", "read").reason, TRIAGE_REASON_UNKNOWN);
        CHECK_RC(ask(p, s, t, "file", "no_such_perm").reason, TRIAGE_REASON_UNKNOWN);
        CHECK_RC(ask(p, "garbage", t, "file", "read").reason, TRIAGE_REASON_UNKNOWN);
        CHECK_RC(ask(p, "", "", "", "").reason, TRIAGE_REASON_UNKNOWN);

        /* the same question again: from the cache, the same answer */
        TriageReason first = ask(p, s, t, "file", "write").reason;
        triage_policy_stats(p, &st);
        uint64_t hits = st.hits;
        CHECK_RC(ask(p, s, t, "file", "write").reason, first);
        triage_policy_stats(p, &st);
        CHECK_RC(st.hits, hits + 1);
        triage_policy_forget(p);
        CHECK_RC(ask(p, s, t, "file", "write").reason, first);

        /* hostile strings: control characters and a question longer than a cache key are
         * answered, uncached */
        CHECK_RC(ask(p, s, t,
                     "fi\x1f"
                     "le",
                     "read")
                         .reason,
                 TRIAGE_REASON_UNKNOWN);
        char long_ctx[3000];
        memset(long_ctx, 'a', sizeof(long_ctx) - 1);
        long_ctx[sizeof(long_ctx) - 1] = 0;
        CHECK_RC(ask(p, long_ctx, t, "file", "read").reason, TRIAGE_REASON_UNKNOWN);

        /* many distinct category pairs: one answer per relation of the levels, the tables
         * bounded, every answer the same as computed afresh */
        const char *c0 = "system_u:system_r:unconfined_t:s0", *f0 = "system_u:object_r:tmp_t:s0";
        TriageReason base_eq = ask(p, c0, f0, "file", "read").reason;
        for (int i = 0; i < TRIAGE_CONTEXTS_MAX + 500; i++) {
                char sc[128], tc[128];
                snprintf(sc, sizeof(sc), "system_u:system_r:unconfined_t:s0:c%d,c%d", i % 1000,
                         1000 + (i / 1000) % 24);
                snprintf(tc, sizeof(tc), "system_u:object_r:tmp_t:s0:c%d,c%d", i % 1000,
                         1000 + (i / 1000) % 24);
                TriageResult a = ask(p, sc, tc, "file", "read");
                CHECK(a.reason != TRIAGE_REASON_UNKNOWN);
                if (i % 997 == 0 && i < 2000) {
                        TriageReason cached = a.reason;
                        triage_policy_forget(p);
                        CHECK_RC(ask(p, sc, tc, "file", "read").reason, cached);
                }
        }
        (void) base_eq;
        triage_policy_stats(p, &st);
        CHECK(st.contexts <= TRIAGE_CONTEXTS_MAX);
        CHECK(st.answers <= TRIAGE_REASONS_MAX);
        CHECK(st.resets > 0);
        CHECK(st.hits > TRIAGE_CONTEXTS_MAX); /* equal-level pairs share one answer */

        /* the pruned boolean search gives what flipping every boolean gives, boolean cases
         * included (the oracle test compares both with audit2why on the container policy) */
        static const char *const sources[] = {
                "system_u:system_r:httpd_t:s0", "system_u:system_r:ftpd_t:s0",
                "system_u:system_r:sshd_t:s0",  "system_u:system_r:named_t:s0",
                "user_u:user_r:user_t:s0",      "system_u:system_r:smbd_t:s0",
        };
        static const char *const targets[] = {
                "system_u:object_r:user_home_t:s0",
                "system_u:object_r:nfs_t:s0",
                "system_u:object_r:cifs_t:s0",
                "system_u:object_r:public_content_t:s0",
                "system_u:object_r:httpd_sys_content_t:s0",
                "system_u:object_r:shadow_t:s0",
                "system_u:object_r:user_home_dir_t:s0",
                "system_u:object_r:http_port_t:s0",
        };
        static const struct {
                const char *tclass, *perm;
        } asks[] = {{"file", "read"},
                    {"file", "write"},
                    {"dir", "search"},
                    {"file", "execute"},
                    {"tcp_socket", "name_connect"}};
        size_t booleans_found = 0;
        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                for (size_t j = 0; j < ELEMENTSOF(targets); j++)
                        for (size_t k = 0; k < ELEMENTSOF(asks); k++) {
                                char pruned[1024] = "", full[1024] = "";
                                for (int exhaustive = 0; exhaustive < 2; exhaustive++) {
                                        triage_policy_set_exhaustive(p, exhaustive);
                                        triage_policy_forget(p);
                                        TriageResult a = ask(p, sources[i], targets[j],
                                                             asks[k].tclass, asks[k].perm);
                                        char *out = exhaustive ? full : pruned;
                                        size_t n = (size_t) snprintf(
                                                out, 1024, "%s", triage_reason_to_string(a.reason));
                                        for (size_t b = 0; b < a.n_booleans && n < 1000; b++)
                                                n += (size_t) snprintf(out + n, 1024 - n, " %s=%d",
                                                                       a.booleans[b].name,
                                                                       a.booleans[b].value);
                                        booleans_found += a.n_booleans;
                                }
                                if (strcmp(pruned, full) != 0) {
                                        fprintf(stderr, "%s %s %s %s: pruned '%s', all '%s'\n",
                                                sources[i], targets[j], asks[k].tclass,
                                                asks[k].perm, pruned, full);
                                        CHECK(false);
                                }
                        }
        CHECK(booleans_found > 0);
        triage_policy_set_exhaustive(p, false);

        /* a second policy may live beside the first: each call selects its own */
        TriagePolicy *q = NULL;
        CHECK_RC(triage_policy_load(file, &q, NULL), 0);
        CHECK_RC(ask(q, s, t, "file", "write").reason, first);
        CHECK_RC(ask(p, s, t, "file", "write").reason, first);
        triage_policy_free(q);
        CHECK_RC(ask(p, s, t, "file", "write").reason, first);

        triage_policy_free(p);
}

int main(void) {
        char *dir = fixture_tmpdir("triage-policy");
        test_load_errors(dir);
        fixture_tmpdir_remove(dir);
        CHECK(triage_policy_free(NULL) == NULL);

        const char *file = fixture_triage_policy();
        if (!file)
                SKIP("no policy file (AVCWATCH_TRIAGE_POLICY, or selinux-policy-default's): the "
                     "load errors passed, the cache was not tested");
        test_cache(file);
        return 0;
}
