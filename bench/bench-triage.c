/* SPDX-License-Identifier: MIT */
/* bench-triage: what the triage stage's reason costs per denial (daemon/triage/policy.c), on a
 * real policy: the cached lookup (every denial after the first of its kind: two context lookups,
 * a key, one hash probe) and the uncached computation (the first of its kind: contexts to SIDs,
 * libsepol's computation, and for a missing rule the boolean search: pruned, and flipping every
 * boolean as audit2why does), per kind of answer. The policy is the oracle test's (refpolicy +
 * container module, built by tests/integration/test-triage-oracle.sh under the build directory)
 * unless one is named.
 *
 * Times are this thread's CPU time, not the wall clock: on a shared machine a figure taken while
 * waiting for a core would say more about the neighbours than about triage. The last line is the
 * whole stage per denial as the pipeline calls it (triage_denial(): the permissions split, the
 * cached reason, the verdict from the escape table), the figure ingest pays for every denial.
 *
 *   build/bench/bench-triage [POLICYFILE] [ROUNDS] */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "policy.h"
#include "triage.h"

typedef struct Question {
        const char *what, *scontext, *tcontext, *tclass, *perms[4];
        size_t n_perms;
} Question;

#define C "system_u:system_r:container_t:s0:c1,c2"
static const Question questions[] = {
        {"te (boolean search, none found)",
         C,
         "system_u:object_r:memory_device_t:s0",
         "chr_file",
         {"read"},
         1},
        {"boolean (container_manage_cgroup)",
         C,
         "system_u:object_r:cgroup_t:s0",
         "dir",
         {"write", "add_name", "create"},
         3},
        {"constraint (MCS)",
         C,
         "system_u:object_r:container_file_t:s0:c3,c4",
         "file",
         {"read", "open"},
         2},
        {"allowed", C, "system_u:object_r:container_file_t:s0:c1,c2", "file", {"read", "open"}, 2},
        {"unknown (type)", C, "system_u:object_r:bogus_t:s0", "file", {"read"}, 1},
};

static double now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

int main(int argc, char **argv) {
        const char *path = argc > 1 ? argv[1] : "build/triage-policy/policy";
        int rounds = argc > 2 ? atoi(argv[2]) : 200000;
        TriagePolicy *p = NULL;
        const char *why;
        TriageResult res;
        int r;

        if (rounds <= 0)
                rounds = 200000;
        double t0 = now_ns();
        r = triage_policy_load(path, &p, &why);
        if (r < 0) {
                fprintf(stderr,
                        "Failed to load policy '%s': %s (%s); run test-triage-oracle once to "
                        "build it\n",
                        path, why, strerror(-r));
                return 1;
        }
        double load_ms = (now_ns() - t0) / 1e6;
        TriagePolicyStats st;
        triage_policy_stats(p, &st);
        printf("policy %s: loaded in %.1f ms, %zu booleans\n\n", path, load_ms, st.booleans);

        printf("%-36s %14s %16s %12s\n", "answer", "uncached (us)", "all bools (us)",
               "cached (ns)");
        for (size_t q = 0; q < ELEMENTSOF(questions); q++) {
                const Question *x = &questions[q];
                int cold_rounds = 20;

                /* uncached: the tables emptied before each, so contexts are resolved again too */
                double cold = 0;
                for (int i = 0; i < cold_rounds; i++) {
                        triage_policy_forget(p);
                        double a = now_ns();
                        r = triage_policy_reason(p, x->scontext, x->tcontext, x->tclass, x->perms,
                                                 x->n_perms, &res);
                        cold += now_ns() - a;
                        if (r < 0) {
                                fprintf(stderr, "%s: %s\n", x->what, strerror(-r));
                                return 1;
                        }
                }

                /* uncached, flipping every boolean as audit2why does (the pruned search's
                 * yardstick) */
                double all = 0;
                triage_policy_set_exhaustive(p, true);
                for (int i = 0; i < cold_rounds; i++) {
                        triage_policy_forget(p);
                        double b = now_ns();
                        (void) triage_policy_reason(p, x->scontext, x->tcontext, x->tclass,
                                                    x->perms, x->n_perms, &res);
                        all += now_ns() - b;
                }
                triage_policy_set_exhaustive(p, false);

                /* cached: the same question over and over, as a storm of one denial is */
                double a = now_ns();
                for (int i = 0; i < rounds; i++)
                        (void) triage_policy_reason(p, x->scontext, x->tcontext, x->tclass,
                                                    x->perms, x->n_perms, &res);
                double warm = (now_ns() - a) / rounds;
                printf("%-36s %14.1f %16.1f %12.0f   -> %s\n", x->what, cold / cold_rounds / 1e3,
                       all / cold_rounds / 1e3, warm, triage_reason_to_string(res.reason));
        }

        /* cached, many containers: distinct category pairs sharing one answer per relation */
        char sc[128], tc[128];
        triage_policy_forget(p);
        triage_policy_stats(p, &st);
        uint64_t misses_before = st.misses;
        double a = now_ns();
        for (int i = 0; i < rounds; i++) {
                int c = i % 1000;
                snprintf(sc, sizeof(sc), "system_u:system_r:container_t:s0:c%d,c%d", c, c + 1);
                snprintf(tc, sizeof(tc), "system_u:object_r:container_file_t:s0:c%d,c%d",
                         (c + 7) % 1000, (c + 8) % 1000 + 1);
                static const char *perms[] = {"read", "open"};
                (void) triage_policy_reason(p, sc, tc, "file", perms, 2, &res);
        }
        double many = (now_ns() - a) / rounds;
        triage_policy_stats(p, &st);
        printf("%-36s %14s %16s %12.0f   (1000 containers; %zu answers cached, %" PRIu64
               " misses)\n",
               "constraint, 1000 category pairs", "-", "-", many, st.answers,
               st.misses - misses_before);
        triage_policy_free(p);

        /* the whole stage, cached: what the pipeline pays per denial of a kind it has seen */
        Triage *t = NULL;
        if (triage_new(path, "/nonexistent", NULL, &t) < 0 || !triage_enabled(t)) {
                fprintf(stderr, "Failed to set up the triage stage on %s\n", path);
                return 1;
        }
        Denial d = DENIAL_NULL;
        d.scontext = strdup(C);
        d.tcontext = strdup("system_u:object_r:container_file_t:s0:c3,c4");
        d.tclass = strdup("file");
        d.permissions = strdup("read open");
        d.source_type = strdup("container_t");
        d.target_type = strdup("container_file_t");
        d.mcs = strdup("c1,c2");
        d.target_mcs = strdup("c3,c4");
        if (!d.scontext || !d.tcontext || !d.tclass || !d.permissions || !d.source_type ||
            !d.target_type || !d.mcs || !d.target_mcs)
                return 1;
        (void) triage_denial(t, &d);
        a = now_ns();
        for (int i = 0; i < rounds; i++)
                (void) triage_denial(t, &d);
        double stage = (now_ns() - a) / rounds;
        printf("%-36s %14s %16s %12.0f   (triage_denial(): split, cached reason, verdict) -> "
               "%s\n",
               "stage per denial (constraint)", "-", "-", stage, triage_reason_to_string(d.reason));
        denial_done(&d);
        triage_free(t);
        printf("\ncommand: %s %s %d (CPU time of this thread)\n", argv[0], path, rounds);
        return 0;
}
