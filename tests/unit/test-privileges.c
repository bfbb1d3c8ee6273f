/* SPDX-License-Identifier: MIT */
/* privileges_drop() against the real kernel: in a child (the drop cannot be undone), the sets
 * read back from /proc/self/status are what was asked for, and the kernel enforces it: binding
 * the audit multicast group (CAP_AUDIT_READ) works exactly when that capability was kept. The
 * parts that start with capabilities need root; without root only the no-op drop is checked. */

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privileges.h"
#include "test.h"

/* A field of /proc/self/status as a number (hex for Cap*). */
static uint64_t status_field(const char *name) {
        char line[256];
        size_t n = strlen(name);
        FILE *f = fopen("/proc/self/status", "re");
        uint64_t v = UINT64_MAX;

        CHECK(f);
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, name, n) == 0 && line[n] == ':') {
                        v = strtoull(line + n + 1, NULL, strncmp(name, "Cap", 3) == 0 ? 16 : 10);
                        break;
                }
        fclose(f);
        CHECK(v != UINT64_MAX);
        return v;
}

/* 0, or the errno of bind() on the audit multicast group. */
static int bind_audit_multicast(void) {
        struct sockaddr_nl sa = {
                .nl_family = AF_NETLINK,
                .nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1),
        };
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
        int r = 0;

        CHECK(fd >= 0);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                r = errno;
        close(fd);
        return r;
}

/* Runs f in a child; the child's exit status must be 0. */
static void in_child(void (*f)(void)) {
        int status;
        pid_t pid = fork();

        CHECK(pid >= 0);
        if (pid == 0) {
                f();
                _exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void drop_all(void) {
        uint64_t permitted = 1, effective = 1, bounding = 1;

        CHECK_RC(privileges_drop(PRIVILEGES_KEEP, &permitted), 0);
        CHECK_RC(permitted, 0);
        CHECK_RC(privileges_get(&permitted, &effective, &bounding), 0);
        CHECK_RC(permitted, 0);
        CHECK_RC(effective, 0);
        CHECK_RC(status_field("CapPrm"), 0);
        CHECK_RC(status_field("CapEff"), 0);
        CHECK_RC(status_field("CapInh"), 0);
        CHECK_RC(status_field("CapAmb"), 0);
        CHECK_RC(status_field("NoNewPrivs"), 1);
        if (geteuid() == 0) {
                /* root started with CAP_SETPCAP: the bounding set is emptied too */
                CHECK_RC(bounding, 0);
                CHECK_RC(status_field("CapBnd"), 0);
                CHECK_RC(bind_audit_multicast(), EPERM);
        }
        /* a second drop is harmless */
        CHECK_RC(privileges_drop(PRIVILEGES_KEEP, NULL), 0);
}

static void drop_all_but_audit_read(void) {
        const uint64_t keep = (uint64_t) 1 << CAP_AUDIT_READ;
        uint64_t permitted = 0, bounding = 0;

        CHECK_RC(privileges_drop(keep, &permitted), 0);
        CHECK_RC(permitted, keep);
        CHECK_RC(status_field("CapEff"), keep);
        CHECK_RC(privileges_get(NULL, NULL, &bounding), 0);
        CHECK_RC(bounding, keep);
        CHECK_RC(bind_audit_multicast(), 0);
        /* then none: the last one goes too */
        CHECK_RC(privileges_drop(0, &permitted), 0);
        CHECK_RC(permitted, 0);
        CHECK_RC(bind_audit_multicast(), EPERM);
}

int main(void) {
        uint64_t permitted = 0, bounding = 0;

        CHECK_RC(privileges_get(&permitted, NULL, &bounding), 0);
        CHECK_RC(permitted, status_field("CapPrm"));
        CHECK_RC(bounding, status_field("CapBnd"));

        in_child(drop_all);
        /* the parent is untouched */
        CHECK_RC(status_field("CapPrm"), permitted);

        if (geteuid() != 0 || !(permitted & ((uint64_t) 1 << CAP_AUDIT_READ)) ||
            !(permitted & ((uint64_t) 1 << CAP_SETPCAP)))
                SKIP("dropping all capabilities checked; keeping one needs root with "
                     "CAP_AUDIT_READ and CAP_SETPCAP");
        CHECK_RC(bind_audit_multicast(), 0);
        in_child(drop_all_but_audit_read);
        return 0;
}
