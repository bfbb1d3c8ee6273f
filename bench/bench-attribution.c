/* SPDX-License-Identifier: MIT */
/* Attribution cost per denial with 1,000 registered containers (registry on a real SQLite file,
 * as in the daemon), through attributor_resolve() exactly as the daemon calls it:
 *   mcs        the pid is gone (1,024 dead pids cycled: each lookup fails on /proc), the
 *              registry matches categories + time (one container)
 *   mcs-storm  the same from one dead pid (its failed lookup cached)
 *   ambiguous  two containers share the categories (candidates copied and written to the db)
 *   pid-hit    the live pid's cgroup, from the attributor's pid cache (a storm from one process)
 *   pid-miss   1,024 live pids cycled so that every lookup reads /proc/<pid>/{stat,cgroup}
 * The pid cases need root (the processes are moved into a real docker-<id>.scope cgroup); without
 * it they are reported as skipped. Container i has the categories c<i/900>,c<124+i%900>. Prints ns
 * per denial (median of RUNS) and the command.
 *
 *   build/bench/bench-attribution [DENIALS=200000] [RUNS=5] [CONTAINERS=1000]
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attributor.h"
#include "container.h"
#include "registry.h"
#include "store.h"

static int CONTAINERS = 1000; /* argv[3] */
#define PIDS 1024
/* Lifetimes around now: the pid path refuses a process that started after the denial. */
static int64_t T0;

static int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

typedef struct Case {
        const char *name;
        int64_t *pids; /* NULL: a dead pid */
        size_t n_pids;
        bool ambiguous;
} Case;

static double run_case(Attributor *a, const Case *c, long denials) {
        char mcs[32];
        int64_t start = now_ns();
        for (long i = 0; i < denials; i++) {
                Denial d = DENIAL_NULL;
                int k = (int) (i % CONTAINERS);
                d.time_ms = T0 + 3600 * 1000 + 10000 + i % 1000;
                d.serial = (uint64_t) i + 1;
                /* Dead pids: above any pid_max; one (a storm, cached) or 1,024 cycled (misses). */
                d.pid = c->pids ? c->pids[i % c->n_pids] : 5000000 + (int64_t) (i % c->n_pids);
                if (c->ambiguous)
                        snprintf(mcs, sizeof(mcs), "c1022,c1023");
                else
                        snprintf(mcs, sizeof(mcs), "c%d,c%d", k / 900, 124 + k % 900);
                d.mcs = mcs;
                if (attributor_resolve(a, &d) < 0) {
                        fprintf(stderr, "attributor_resolve failed\n");
                        exit(1);
                }
                d.mcs = NULL; /* not ours */
                bool ok = c->ambiguous ? d.attribution == ATTRIBUTION_AMBIGUOUS
                          : c->pids    ? d.attribution == ATTRIBUTION_PID
                                       : d.attribution == ATTRIBUTION_MCS;
                if (!ok) {
                        fprintf(stderr, "%s: unexpected attribution %s\n", c->name,
                                attribution_to_string(d.attribution));
                        exit(1); /* the children die with us (PR_SET_PDEATHSIG) */
                }
                denial_done(&d);
        }
        return (double) (now_ns() - start) / (double) denials;
}

/* A real cgroup named like docker's (systemd driver) with n sleeping processes in it. */
static int make_container_pids(char *dir, size_t n_dir, int64_t *pids, size_t n) {
        static const char *const hiers[] = {"/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified",
                                            "/sys/fs/cgroup"};
        char path[512];

        for (size_t h = 0; h < 3; h++) {
                snprintf(path, sizeof(path), "%s/cgroup.procs", hiers[h]);
                if (access(path, W_OK) < 0)
                        continue;
                snprintf(dir, n_dir, "%s/avcwatch-bench-%d.slice", hiers[h], (int) getpid());
                if (mkdir(dir, 0755) < 0)
                        continue;
                snprintf(dir + strlen(dir), n_dir - strlen(dir), "/docker-%064x.scope", 1);
                if (mkdir(dir, 0755) < 0)
                        return -errno;
                snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
                for (size_t i = 0; i < n; i++) {
                        pid_t p = fork();
                        if (p == 0) {
                                /* Whatever becomes of the benchmark, its children go with it. */
                                prctl(PR_SET_PDEATHSIG, SIGKILL);
                                if (getppid() == 1)
                                        _exit(0);
                                FILE *f = fopen(path, "we");
                                if (f) {
                                        fprintf(f, "0\n");
                                        fclose(f);
                                }
                                pause();
                                _exit(0);
                        }
                        if (p < 0)
                                return -errno;
                        pids[i] = p;
                }
                sleep(1); /* let them move themselves */
                return 0;
        }
        return -EPERM;
}

int main(int argc, char *argv[]) {
        long denials = argc > 1 ? atol(argv[1]) : 200000;
        int runs = argc > 2 ? atoi(argv[2]) : 5;
        CONTAINERS = argc > 3 ? atoi(argv[3]) : 1000;
        if (CONTAINERS < 1 || CONTAINERS > REGISTRY_CONTAINERS_MAX - 2)
                return 1;
        char tmp[] = "/tmp/avcwatch-bench-attr-XXXXXX", db[128], cgdir[512] = "";
        static int64_t pids[PIDS];
        Store *store;
        Registry *r;
        Attributor *a;

        if (denials <= 0 || runs <= 0 || !mkdtemp(tmp))
                return 1;
        T0 = (int64_t) time(NULL) * 1000 - 3600 * 1000;
        snprintf(db, sizeof(db), "%s/db", tmp);
        if (store_open(db, &store) < 0 || registry_new(store, &r) < 0 ||
            attributor_new("/proc", &a) < 0)
                return 1;
        attributor_set_registry(a, r);

        /* 1,000 containers, half of them removed; each with its own categories; two more that
         * share one label. */
        for (int i = 0; i < CONTAINERS + 2; i++) {
                char id[65], name[32], label[64];
                bool twin = i >= CONTAINERS;
                snprintf(id, sizeof(id), "%064x", i + 1);
                snprintf(name, sizeof(name), "bench-%d", i);
                if (twin)
                        snprintf(label, sizeof(label), "level:s0:c1022,c1023");
                else
                        snprintf(label, sizeof(label), "level:s0:c%d,c%d", i / 900, 124 + i % 900);
                ContainerInfo c = {.id = id,
                                   .name = name,
                                   .image = (char *) "registry.example/app:1.0",
                                   .engine = (char *) "docker",
                                   .label = label,
                                   .created_ms = T0,
                                   .started_ms = T0 + 100,
                                   .state = CONTAINER_STATE_RUNNING};
                c.has_mcs = container_label_mcs(label, &c.mcs) > 0;
                if (!twin && i % 2 == 1) {
                        c.removed_ms = T0 + 7200 * 1000;
                        c.state = CONTAINER_STATE_EXITED;
                }
                if (registry_update(r, &c) < 0)
                        return 1;
        }

        int pr = make_container_pids(cgdir, sizeof(cgdir), pids, PIDS);
        Case cases[] = {
                {"mcs", NULL, PIDS, false},      {"mcs-storm", NULL, 1, false},
                {"ambiguous", NULL, PIDS, true}, {"pid-hit", pids, 1, false},
                {"pid-miss", pids, PIDS, false},
        };
        printf("# bench/bench-attribution %ld %d %d: %d containers registered (db %s), %ld "
               "denials per run, median of %d runs\n",
               denials, runs, CONTAINERS, CONTAINERS + 2, db, denials, runs);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                double ns[64];
                if (cases[i].pids && pr < 0) {
                        printf("%-10s skipped: cannot create a container cgroup (%s)\n",
                               cases[i].name, strerror(-pr));
                        continue;
                }
                long n = cases[i].ambiguous ? denials / 10 : denials;
                for (int k = 0; k < runs && k < 64; k++)
                        ns[k] = run_case(a, &cases[i], n);
                qsort(ns, (size_t) (runs < 64 ? runs : 64), sizeof(double), cmp_double);
                printf("%-10s %8.0f ns per denial (%.0f denials/s)\n", cases[i].name, ns[runs / 2],
                       1e9 / ns[runs / 2]);
        }

        if (pr >= 0) {
                for (size_t i = 0; i < PIDS; i++) {
                        kill((pid_t) pids[i], SIGKILL);
                        waitpid((pid_t) pids[i], NULL, 0);
                }
                rmdir(cgdir);
                *strrchr(cgdir, '/') = 0;
                rmdir(cgdir);
        }
        attributor_free(a);
        registry_free(r);
        store_commit(store, NULL);
        store_free(store);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
        return system(cmd) == 0 ? 0 : 1;
}
