/* SPDX-License-Identifier: MIT */
/* The /proc scan (daemon/attribution/proc-scan.c) on a /proc-shaped tree in a temp directory (the
 * layouts CRI-O and containerd produce under kubepods, docker's, a host process, garbage), and once
 * on the real /proc: containers found with their engine, label, categories and start time; an
 * engine's own label kept; a container that vanished marked finished at the scan that noticed
 * it gone, unless its engine's API is followed; its denials by MCS between its process's start
 * and that scan; hostile labels refused; the containers bound. */

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "macro.h"
#include "proc-scan.h"
#include "registry.h"
#include "tests/unit/test.h"

#define ID_CRIO "1111111111111111111111111111111111111111111111111111111111111111"
#define ID_CTRD "2222222222222222222222222222222222222222222222222222222222222222"
#define ID_DOCK "3333333333333333333333333333333333333333333333333333333333333333"
#define BTIME 1700000000 /* s */

static char *root;

static void write_file(const char *rel, const char *text, size_t len) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(write(fd, text, len) == (ssize_t) len);
        close(fd);
}

/* A process: its cgroup text, its label (NULL: no attr/current, like a host without an LSM;
 * the kernel's text ends in a NUL), its start in ticks after boot. */
static void add_pid(int pid, const char *cgroup, const char *label, size_t label_len,
                    unsigned long long start_ticks) {
        char rel[64], stat[256];
        snprintf(rel, sizeof(rel), "%s/%d", root, pid);
        CHECK(mkdir(rel, 0755) == 0);
        snprintf(rel, sizeof(rel), "%s/%d/attr", root, pid);
        CHECK(mkdir(rel, 0755) == 0);
        snprintf(rel, sizeof(rel), "%d/cgroup", pid);
        write_file(rel, cgroup, strlen(cgroup));
        if (label) {
                snprintf(rel, sizeof(rel), "%d/attr/current", pid);
                write_file(rel, label, label_len);
        }
        /* comm with a space and a ')' to make the field count honest. */
        int n = snprintf(stat, sizeof(stat),
                         "%d (we ird) name) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %llu "
                         "1000 100\n",
                         pid, start_ticks);
        snprintf(rel, sizeof(rel), "%d/stat", pid);
        write_file(rel, stat, (size_t) n);
}

static void remove_pid(int pid) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%d", root, pid);
        fixture_rm_rf(path);
}

static bool docker_followed;
static bool followed(const char *engine, void *userdata) {
        return docker_followed && strcmp(engine, "docker") == 0;
}

int main(void) {
        Registry *r;
        ProcScan *p;
        ProcScanStats stats = {};
        char btime[64];
        const ContainerInfo *c;
        char buf[64];

        root = fixture_tmpdir("proc-scan");
        int n = snprintf(btime, sizeof(btime), "cpu  1 2 3\nbtime %d\nprocesses 5\n", BTIME);
        write_file("stat", btime, (size_t) n);
        long hz = sysconf(_SC_CLK_TCK);

        static const char label_crio[] = "system_u:system_r:container_t:s0:c4,c999";
        add_pid(100,
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice/"
                "crio-" ID_CRIO ".scope\n",
                label_crio, sizeof(label_crio), 50 * hz);
        add_pid(101, /* a later process of the same container */
                "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice/"
                "crio-" ID_CRIO ".scope\n",
                label_crio, sizeof(label_crio), 70 * hz);
        add_pid(200, "0::/kubepods/besteffort/pod1234/" ID_CTRD "\n", NULL, 0, 60 * hz);
        add_pid(300, "0::/user.slice/user-0.slice/session-1.scope\n", "unconfined", 10, 5 * hz);
        add_pid(400, "garbage without colons", NULL, 0, 1);
        static const char hostile[] = "system_u:system_r:container_t:s0:c1,c2\x1b[2J";
        add_pid(500, "0::/system.slice/docker-" ID_DOCK ".scope\n", hostile, sizeof(hostile) - 1,
                80 * hz);

        CHECK_RC(registry_new(NULL, &r), 0);
        CHECK_RC(proc_scan_new(NULL, root, r, &stats, followed, NULL, &p), 0);
        int64_t t1 = INT64_C(1700000100000);
        CHECK_RC(proc_scan_run(p, t1), 3);
        CHECK_RC(stats.proc_scans, 1);
        CHECK_RC(stats.proc_containers, 3);
        CHECK_RC(registry_size(r), 3);

        c = registry_get(r, ID_CRIO);
        CHECK(c);
        CHECK_STREQ(c->engine, "cri-o");
        CHECK_STREQ(c->label, label_crio);
        CHECK(c->has_mcs);
        CHECK(mcs_set_format(&c->mcs, buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "c4,c999");
        CHECK_RC(c->started_ms, (int64_t) (BTIME + 50) * 1000); /* the oldest process */
        CHECK_RC(c->state, CONTAINER_STATE_RUNNING);
        c = registry_get(r, ID_CTRD);
        CHECK(c);
        CHECK_STREQ(c->engine, "containerd");
        CHECK_STREQ(c->label, NULL);
        c = registry_get(r, ID_DOCK);
        CHECK(c);
        CHECK_STREQ(c->engine, "docker");
        CHECK_STREQ(c->label, NULL); /* the escape sequence makes it no context */

        /* An engine's own label is kept; a second scan changes nothing. */
        ContainerInfo engine_said = {
                .id = (char *) ID_DOCK, .name = (char *) "web", .label = (char *) "level:s0:c7,c8"};
        CHECK_RC(registry_update(r, &engine_said), 1);
        remove_pid(500);
        add_pid(500, "0::/system.slice/docker-" ID_DOCK ".scope\n", label_crio, sizeof(label_crio),
                80 * hz);
        CHECK_RC(proc_scan_run(p, t1 + 10000), 3);
        CHECK_STREQ(registry_get(r, ID_DOCK)->label, "level:s0:c7,c8");
        CHECK_STREQ(registry_get(r, ID_DOCK)->name, "web");

        /* Gone: cri-o's container ends at the scan that noticed it; docker's is left to the
         * docker API while that is followed. */
        remove_pid(100);
        remove_pid(101);
        remove_pid(500);
        docker_followed = true;
        CHECK_RC(proc_scan_run(p, t1 + 20000), 1);
        c = registry_get(r, ID_CRIO);
        CHECK_RC(c->state, CONTAINER_STATE_EXITED);
        CHECK_RC(c->finished_ms, t1 + 20000);
        c = registry_get(r, ID_DOCK);
        CHECK_RC(c->state, CONTAINER_STATE_RUNNING);
        CHECK_RC(c->finished_ms, 0);
        CHECK_RC(registry_get(r, ID_CTRD)->state, CONTAINER_STATE_RUNNING);

        /* A container's first process may still carry the engine's label (runc init, or an
         * engine that has not exec'd the entrypoint yet): a process with categories wins in the
         * same scan, and a later scan replaces a label without categories. */
        static const char label_engine[] = "system_u:system_r:container_engine_t:s0";
        static const char label_ctr[] = "system_u:system_r:container_t:s0:c3,c9";
#define ID_RACE "4444444444444444444444444444444444444444444444444444444444444444"
#define ID_LATE "5555555555555555555555555555555555555555555555555555555555555555"
        add_pid(600, "0::/system.slice/docker-" ID_RACE ".scope\n", label_engine,
                sizeof(label_engine), 90 * hz);
        add_pid(601, "0::/system.slice/docker-" ID_RACE ".scope\n", label_ctr, sizeof(label_ctr),
                91 * hz);
        add_pid(700, "0::/system.slice/docker-" ID_LATE ".scope\n", label_engine,
                sizeof(label_engine), 92 * hz);
        CHECK_RC(proc_scan_run(p, t1 + 22000), 3);
        CHECK_STREQ(registry_get(r, ID_RACE)->label, label_ctr);
        CHECK(registry_get(r, ID_RACE)->has_mcs);
        CHECK_STREQ(registry_get(r, ID_LATE)->label, label_engine);
        CHECK(!registry_get(r, ID_LATE)->has_mcs);
        remove_pid(700);
        add_pid(700, "0::/system.slice/docker-" ID_LATE ".scope\n", label_ctr, sizeof(label_ctr),
                92 * hz);
        CHECK_RC(proc_scan_run(p, t1 + 24000), 3);
        CHECK_STREQ(registry_get(r, ID_LATE)->label, label_ctr);
        CHECK(registry_get(r, ID_LATE)->has_mcs);
        /* ... but a label with categories is never replaced by a scan. */
        remove_pid(600);
        remove_pid(601);
        add_pid(601, "0::/system.slice/docker-" ID_RACE ".scope\n", label_crio, sizeof(label_crio),
                91 * hz);
        CHECK_RC(proc_scan_run(p, t1 + 26000), 3);
        CHECK_STREQ(registry_get(r, ID_RACE)->label, label_ctr);
        remove_pid(601);
        remove_pid(700);
        CHECK_RC(proc_scan_run(p, t1 + 28000), 1);

        /* A container known only from the scan, by MCS: its lifetime runs from its process's
         * start (before the scan first saw it) to the scan that noticed it gone, since its
         * process may have lived (and been denied) until just before that scan. (Found by the
         * SELinux guest test: a process that exited between two scans had its denial, after the
         * last scan that saw it, attributed to no one.) */
        static const char label_gap[] = "system_u:system_r:container_t:s0:c5,c6";
#define ID_GAP "6666666666666666666666666666666666666666666666666666666666666666"
        McsSet gap;
        const ContainerInfo *cands[2];
        CHECK_RC(mcs_set_parse("c5,c6", &gap), 0);
        add_pid(800,
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podgap.slice/"
                "crio-" ID_GAP ".scope\n",
                label_gap, sizeof(label_gap), 95 * hz);
        int64_t gap_start = (int64_t) (BTIME + 95) * 1000;
        CHECK_RC(proc_scan_run(p, t1 + 40000), 2);
        CHECK_RC(registry_get(r, ID_GAP)->started_ms, gap_start);
        CHECK_RC(registry_match(r, &gap, gap_start - REGISTRY_START_SLACK_MS - 1, cands, 2), 0);
        CHECK_RC(registry_match(r, &gap, gap_start + 100, cands, 2), 1); /* before the scan */
        CHECK_RC(registry_match(r, &gap, t1 + 45000, cands, 2), 1);      /* alive */
        remove_pid(800);
        CHECK_RC(proc_scan_run(p, t1 + 50000), 1);
        CHECK_RC(registry_get(r, ID_GAP)->state, CONTAINER_STATE_EXITED);
        CHECK_RC(registry_match(r, &gap, gap_start + 100, cands, 2), 1);
        /* after the last scan that saw it, before the one that noticed it gone */
        CHECK_RC(registry_match(r, &gap, t1 + 45000, cands, 2), 1);
        CHECK_RC(registry_match(r, &gap, t1 + 49999, cands, 2), 1);
        CHECK_STREQ(cands[0]->id, ID_GAP);
        CHECK_RC(registry_match(r, &gap, t1 + 50000 + REGISTRY_END_SLACK_MS + 1, cands, 2), 0);

        /* The bound: no more than PROC_SCAN_CONTAINERS_MAX containers per scan. */
        for (int i = 0; i < PROC_SCAN_CONTAINERS_MAX + 5; i++) {
                char cg[128];
                snprintf(cg, sizeof(cg), "0::/docker/%064x\n", i + 1);
                add_pid(10000 + i, cg, NULL, 0, 1);
        }
        CHECK_RC(proc_scan_run(p, t1 + 30000), PROC_SCAN_CONTAINERS_MAX);
        CHECK_RC(stats.proc_containers, PROC_SCAN_CONTAINERS_MAX);
        proc_scan_free(p);
        registry_free(r);

        /* The real /proc: runs, sees whatever containers this host has, no error. */
        CHECK_RC(registry_new(NULL, &r), 0);
        CHECK_RC(proc_scan_new(NULL, "/proc", r, NULL, NULL, NULL, &p), 0);
        CHECK(proc_scan_run(p, t1) >= 0);
        proc_scan_free(p);
        registry_free(r);

        fixture_tmpdir_remove(root);
        return 0;
}
