/* SPDX-License-Identifier: MIT */
/* The verdict table (daemon/triage/verdict.c): every verdict, every rule's order, the escape
 * table row by row, and hints that never carry a string from the record. */

#include <ctype.h>
#include <errno.h>

#include "macro.h"
#include "test.h"
#include "verdict.h"

static TriageJudgement judge(TriageReason reason, const char *stype, const char *ttype,
                             const char *tclass, const char *perm_list, bool differ,
                             bool target_cats, const char *boolean) {
        static char buf[256];
        static const char *perms[16];
        size_t n = 0;
        const char *booleans[1] = {boolean};

        snprintf(buf, sizeof(buf), "%s", perm_list ? perm_list : "");
        for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < ELEMENTSOF(perms);
             t = strtok_r(NULL, " ", &save))
                perms[n++] = t;

        TriageFacts f = {
                .reason = reason,
                .booleans = boolean ? booleans : NULL,
                .n_booleans = boolean ? 1 : 0,
                .source_type = stype,
                .target_type = ttype,
                .tclass = tclass,
                .perms = perms,
                .n_perms = n,
                .categories_differ = differ,
                .target_has_categories = target_cats,
        };
        TriageJudgement j;
        triage_judge(&f, &j);
        CHECK(j.hint);
        for (const char *p = j.hint; *p; p++)
                CHECK(isprint((unsigned char) *p));
        CHECK(strlen(j.hint) < 400);
        CHECK((j.verdict == TRIAGE_VERDICT_ESCAPE) == (j.escape != NULL));
        return j;
}

#define V(expected, ...) CHECK_RC(judge(__VA_ARGS__).verdict, TRIAGE_VERDICT_##expected)

static void test_names(void) {
        for (int i = 0; i < _TRIAGE_REASON_MAX; i++)
                CHECK_RC(triage_reason_from_string(triage_reason_to_string(i)), i);
        for (int i = 0; i < _TRIAGE_VERDICT_MAX; i++)
                CHECK_RC(triage_verdict_from_string(triage_verdict_to_string(i)), i);
        CHECK_STREQ(triage_reason_to_string(TRIAGE_REASON_TE), "te");
        CHECK_STREQ(triage_reason_to_string(TRIAGE_REASON_UNKNOWN), "unknown");
        CHECK_STREQ(triage_verdict_to_string(TRIAGE_VERDICT_ESCAPE), "escape");
        CHECK(triage_reason_to_string(_TRIAGE_REASON_MAX) == NULL);
        CHECK(triage_verdict_to_string(-1) == NULL);
        CHECK_RC(triage_reason_from_string("TE"), -EINVAL);
        CHECK_RC(triage_reason_from_string(NULL), -EINVAL);
        CHECK_RC(triage_verdict_from_string("escapes"), -EINVAL);
}

static void test_escape(void) {
        const char *c = "container_t";
        /* kernel interfaces: changes only for /sys, /proc/sys and proc_t */
        V(ESCAPE, TRIAGE_REASON_TE, c, "sysfs_t", "file", "write", false, false, NULL);
        V(POLICY, TRIAGE_REASON_TE, c, "sysfs_t", "file", "read open", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "sysctl_t", "dir", "add_name", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "sysctl_kernel_t", "file", "read write", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "sysctl_vm_overcommit_t", "file", "append", false, false,
          NULL);
        V(POLICY, TRIAGE_REASON_TE, c, "sysctl_net_t", "file", "read", false, false, NULL);
        V(POLICY, TRIAGE_REASON_TE, c, "sysctl__t", "file", "write", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "proc_t", "file", "write", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "proc_kcore_t", "file", "getattr", false, false, NULL);
        /* modules */
        V(ESCAPE, TRIAGE_REASON_TE, c, "kernel_t", "system", "module_request", false, false, NULL);
        V(POLICY, TRIAGE_REASON_TE, c, "kernel_t", "system", "syslog_read", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, c, "capability", "net_admin sys_module", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "modules_object_t", "file", "read", false, false, NULL);
        /* raw devices */
        V(ESCAPE, TRIAGE_REASON_TE, c, "memory_device_t", "chr_file", "read", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "fixed_disk_device_t", "blk_file", "open", false, false,
          NULL);
        /* audit, SELinux, secrets */
        V(ESCAPE, TRIAGE_REASON_TE, c, "auditd_log_t", "file", "read", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, c, "netlink_audit_socket", "nlmsg_relay", false, false,
          NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, c, "capability", "audit_control", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "security_t", "file", "write", false, false, NULL);
        V(POLICY, TRIAGE_REASON_TE, c, "security_t", "file", "read", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "security_t", "security", "setenforce", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "selinux_config_t", "dir", "search", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "shadow_t", "file", "read", false, false, NULL);
        /* engine sockets, both policies' names */
        V(ESCAPE, TRIAGE_REASON_TE, c, "container_runtime_t", "sock_file", "write", false, false,
          NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "container_runtime_t", "unix_stream_socket", "connectto",
          false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "container_engine_t", "unix_stream_socket", "connectto",
          false, false, NULL);
        V(POLICY, TRIAGE_REASON_TE, c, "container_engine_t", "fd", "use", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "container_var_run_t", "sock_file", "write", false, false,
          NULL);
        V(ESCAPE, TRIAGE_REASON_TE, c, "docker_var_run_t", "sock_file", "write", false, false,
          NULL);
        /* what was reached decides, whatever the reason */
        V(ESCAPE, TRIAGE_REASON_BOOLEAN, c, "sysfs_t", "file", "write", false, false,
          "virt_use_sysfs");
        V(ESCAPE, TRIAGE_REASON_ALLOWED, c, "shadow_t", "file", "read", false, false, NULL);
        V(ESCAPE, TRIAGE_REASON_CONSTRAINT, c, "memory_device_t", "chr_file", "read", true, false,
          NULL);

        /* every row is reachable and documented */
        size_t n;
        const TriageEscape *t = triage_escape_table(&n);
        CHECK(n >= 20);
        for (size_t i = 0; i < n; i++) {
                CHECK(t[i].type || t[i].tclass);
                CHECK(t[i].what && t[i].hint);
                CHECK(strncmp(t[i].hint, "Escape attempt: ", 16) == 0);
        }
}

static void test_isolation(void) {
        const char *c = "container_t";
        V(ISOLATION, TRIAGE_REASON_CONSTRAINT, c, "container_file_t", "file", "read", true, true,
          NULL);
        V(ISOLATION, TRIAGE_REASON_CONSTRAINT, c, c, "process", "signal", true, true, NULL);
        /* same categories, or an uncategorised target: not another container's */
        V(POLICY, TRIAGE_REASON_CONSTRAINT, c, "container_file_t", "file", "read", false, true,
          NULL);
        V(POLICY, TRIAGE_REASON_CONSTRAINT, c, "container_file_t", "file", "read", true, false,
          NULL);
        /* a TE miss between two containers is not the MCS constraint */
        V(POLICY, TRIAGE_REASON_TE, c, "container_file_t", "file", "read", true, true, NULL);
}

static void test_boolean(void) {
        const char *c = "container_t";
        TriageJudgement j = judge(TRIAGE_REASON_BOOLEAN, c, "cgroup_t", "dir", "write add_name",
                                  false, false, "container_manage_cgroup");
        CHECK_RC(j.verdict, TRIAGE_VERDICT_BOOLEAN);
        CHECK(strstr(j.hint, "setsebool -P container_manage_cgroup 1"));
        j = judge(TRIAGE_REASON_BOOLEAN, c, "nfs_t", "file", "read", false, false,
                  "container_use_nfs");
        CHECK_RC(j.verdict, TRIAGE_VERDICT_BOOLEAN);
        CHECK(strstr(j.hint, "setsebool -P container_use_nfs 1"));
        /* an unknown boolean name is not echoed */
        j = judge(TRIAGE_REASON_BOOLEAN, c, "x_t", "file", "read", false, false, "evil;rm -rf /");
        CHECK_RC(j.verdict, TRIAGE_VERDICT_BOOLEAN);
        CHECK(!strstr(j.hint, "evil"));
        /* a boolean reason without booleans is treated as a missing rule */
        V(VOLUME, TRIAGE_REASON_BOOLEAN, c, "default_t", "file", "read", false, false, NULL);
        V(POLICY, TRIAGE_REASON_BOOLEAN, c, "x_t", "file", "read", false, false, NULL);
}

static void test_volume(void) {
        const char *c = "container_t";
        TriageJudgement j = judge(TRIAGE_REASON_TE, c, "default_t", "dir", "write add_name", false,
                                  false, NULL);
        CHECK_RC(j.verdict, TRIAGE_VERDICT_VOLUME);
        CHECK(strstr(j.hint, ":Z"));
        CHECK(strstr(j.hint, "container_file_t"));
        j = judge(TRIAGE_REASON_TE, c, "user_home_t", "file", "read open", false, false, NULL);
        CHECK_RC(j.verdict, TRIAGE_VERDICT_VOLUME);
        CHECK(strstr(j.hint, "container_ro_file_t"));
        j = judge(TRIAGE_REASON_TE, c, "unlabeled_t", "file", "read", false, false, NULL);
        CHECK_RC(j.verdict, TRIAGE_VERDICT_VOLUME);
        CHECK(strstr(j.hint, "restorecon"));
        V(VOLUME, TRIAGE_REASON_TE, c, "admin_home_t", "dir", "search", false, false, NULL);
        V(VOLUME, TRIAGE_REASON_TE, c, "etc_t", "file", "write", false, false, NULL);
        V(VOLUME, TRIAGE_REASON_TE, c, "var_lib_t", "lnk_file", "read", false, false, NULL);
        /* a constraint against an uncategorised host file is cured by a label too */
        V(VOLUME, TRIAGE_REASON_CONSTRAINT, c, "home_root_t", "dir", "write", true, false, NULL);
        /* not a file class, or a service's type: needs a policy */
        V(POLICY, TRIAGE_REASON_TE, c, "var_t", "filesystem", "mount", false, false, NULL);
        V(POLICY, TRIAGE_REASON_TE, c, "httpd_sys_content_t", "file", "read", false, false, NULL);
        /* allowed now or unknown: the policy cannot say it is a label problem */
        V(POLICY, TRIAGE_REASON_ALLOWED, c, "default_t", "file", "read", false, false, NULL);
        V(POLICY, TRIAGE_REASON_UNKNOWN, c, "default_t", "file", "read", false, false, NULL);
}

static void test_policy(void) {
        const char *c = "container_t";
        TriageJudgement j = judge(TRIAGE_REASON_TE, c, "container_t", "tcp_socket", "name_bind",
                                  false, false, NULL);
        CHECK_RC(j.verdict, TRIAGE_VERDICT_POLICY);
        CHECK(strstr(j.hint, "udica"));
        j = judge(TRIAGE_REASON_ALLOWED, c, "container_file_t", "file", "read", false, false, NULL);
        CHECK(strstr(j.hint, "allows this now"));
        j = judge(TRIAGE_REASON_UNKNOWN, "my_t", "other_t", "file", "read", false, false, NULL);
        CHECK(strstr(j.hint, "does not know"));
        j = judge(TRIAGE_REASON_RBAC, c, "spc_t", "process", "transition", false, false, NULL);
        CHECK_RC(j.verdict, TRIAGE_VERDICT_POLICY);
        CHECK(strstr(j.hint, "role"));
        j = judge(TRIAGE_REASON_BOUNDS, c, "x_t", "file", "read", false, false, NULL);
        CHECK(strstr(j.hint, "parent"));
}

static void test_absent_and_hostile(void) {
        /* nothing set at all */
        TriageFacts f = {.reason = TRIAGE_REASON_TE};
        TriageJudgement j;
        triage_judge(&f, &j);
        CHECK_RC(j.verdict, TRIAGE_VERDICT_POLICY);
        /* out-of-range reason: policy, never a crash */
        f.reason = (TriageReason) 99;
        triage_judge(&f, &j);
        CHECK_RC(j.verdict, TRIAGE_VERDICT_POLICY);
        /* strings from the record never appear in the hint */
        j = judge(TRIAGE_REASON_TE, "container_t", "default_t\x1b[31m", "file", "write", false,
                  false, NULL);
        CHECK(!strchr(j.hint, '\x1b'));
        j = judge(TRIAGE_REASON_TE, "container_t", "sysctl_\n_t", "file", "write", false, false,
                  NULL);
        CHECK_RC(j.verdict, TRIAGE_VERDICT_ESCAPE);
        CHECK(!strchr(j.hint, '\n'));
}

int main(void) {
        test_names();
        test_escape();
        test_isolation();
        test_boolean();
        test_volume();
        test_policy();
        test_absent_and_hostile();
        return 0;
}
