/* SPDX-License-Identifier: MIT */
/* attributor_resolve() over a made-up /proc: a USER_AVC is attributed by its sender first (a
 * sender in a container makes it that container's claim, whatever pid it names), an AVC and a
 * host sender's USER_AVC by the pid they name. */

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "attributor.h"
#include "denial.h"
#include "record.h"
#include "registry.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/test.h"

#define VICTIM "4dd9367681d8e3b2a6d19f1f5b52f6c8c2e8d2aa0d6c6f8d1f1e3a7b9c0d2e4f"
#define SENDER "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
#define BOOT_S 1000000000LL

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        CHECK(f != NULL);
        fputs(text, f);
        CHECK(fclose(f) == 0);
}

/* A process started at boot (starttime 0 ticks), in cgroup text `cgroup`. */
static void add_process(const char *root, int pid, const char *cgroup) {
        _cleanup_(freep) char *dir = xasprintf("%s/%d", root, pid);
        CHECK(mkdir(dir, 0755) == 0);
        _cleanup_(freep) char *stat = xasprintf("%s/stat", dir);
        _cleanup_(freep) char *text =
                xasprintf("%d (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0\n", pid);
        write_file(stat, text);
        _cleanup_(freep) char *cg = xasprintf("%s/cgroup", dir);
        write_file(cg, cgroup);
}

static Denial user_avc(int64_t sender_pid, const char *sender_subj, int64_t pid) {
        Denial d = fixture_denial(BOOT_S * 1000 + 60000, 7);
        d.record_type = AUDIT_TYPE_USER_AVC;
        d.pid = pid;
        d.sender_pid = sender_pid;
        set_string(&d.sender_subj, sender_subj);
        return d;
}

int main(void) {
        _cleanup_(freep) char *root = fixture_tmpdir("attributor");
        _cleanup_(freep) char *stat = xasprintf("%s/stat", root);
        Attributor *a;
        Registry *reg;
        Denial d;

        _cleanup_(freep) char *text = xasprintf("cpu 0 0 0 0\nbtime %lld\n", BOOT_S);
        write_file(stat, text);
        add_process(root, 100, "0::/system.slice/docker-" VICTIM ".scope\n");
        add_process(root, 200, "0::/system.slice/docker-" SENDER ".scope\n");
        add_process(root, 300, "0::/system.slice/dbus-broker.service\n");
        CHECK_RC(attributor_new(root, &a), 0);
        CHECK_RC(registry_new(NULL, &reg), 0);
        attributor_set_registry(a, reg);

        /* An AVC: the kernel's own pid, believed. */
        d = fixture_denial(BOOT_S * 1000 + 60000, 1);
        d.pid = 100;
        CHECK_RC(attributor_resolve(a, &d), 0);
        CHECK(d.attribution == ATTRIBUTION_PID && d.has_container);
        CHECK_STREQ(d.container.id, VICTIM);
        denial_done(&d);

        /* A USER_AVC from the host's dbus-broker about pid 100: as today, pid 100's container. */
        d = user_avc(300, NULL, 100);
        CHECK_RC(attributor_resolve(a, &d), 0);
        CHECK(d.attribution == ATTRIBUTION_PID && d.has_container);
        CHECK_STREQ(d.container.id, VICTIM);
        denial_done(&d);

        /* Sent from inside a container, naming the victim's pid: the sender's claim. */
        d = user_avc(200, NULL, 100);
        CHECK_RC(attributor_resolve(a, &d), 0);
        CHECK(d.attribution == ATTRIBUTION_SENDER && d.has_container);
        CHECK_STREQ(d.container.id, SENDER);
        CHECK(!d.has_target_container);
        denial_done(&d);

        /* A sender gone before it could be checked, without subj=: believed as before. */
        d = user_avc(400, NULL, 100);
        CHECK_RC(attributor_resolve(a, &d), 0);
        CHECK(d.attribution == ATTRIBUTION_PID);
        denial_done(&d);

        /* Its subj= a container domain (SELinux hosts): a claim too, even with the sender gone;
         * and without any pid (an import goes through the registry alone). */
        d = user_avc(400, "system_u:system_r:container_t:s0:c1,c2", 100);
        CHECK_RC(attributor_resolve(a, &d), 0);
        CHECK(d.attribution == ATTRIBUTION_SENDER && !d.has_container);
        denial_done(&d);
        d = user_avc(-1, "system_u:system_r:container_t:s0:c1,c2", 100);
        CHECK_RC(registry_resolve_denial(reg, &d), 0);
        CHECK(d.attribution == ATTRIBUTION_SENDER && !d.has_container);
        denial_done(&d);
        /* ... but a host domain's (dbus-broker's) is not. */
        d = user_avc(300, "system_u:system_r:system_dbusd_t:s0-s0:c0.c1023", 100);
        CHECK_RC(attributor_resolve(a, &d), 0);
        CHECK(d.attribution == ATTRIBUTION_PID);
        CHECK_STREQ(d.container.id, VICTIM);
        denial_done(&d);

        registry_free(reg);
        attributor_free(a);
        fixture_rm_rf(root);
        return 0;
}
