/* SPDX-License-Identifier: MIT */
/* Verdict and hint of a denial (verdict.h): rules in a fixed order, tables as data.
 *
 * The order, first match wins:
 *   1. escape     the target is in the escape table. What was reached decides, not why it was
 *                 refused: a boolean or a changed policy that would let a container write
 *                 /proc/sys does not make the attempt less of an escape.
 *   2. isolation  a constraint refused it, the two category sets differ and the target has
 *                 categories: the target belongs to another container (the MCS constraint).
 *   3. boolean    the policy names booleans that would allow it.
 *   4. volume     a missing rule (or a constraint against an uncategorised target) on a file,
 *                 directory, link, socket or pipe of a generic host type (host_file_types):
 *                 a host path bind-mounted without a container label.
 *   5. policy     everything else: the container does something its type does not allow
 *                 (udica, audit2allow), or the policy cannot tell (allowed now, unknown, rbac,
 *                 bounds), each with its own hint.
 *
 * Every type name below is refpolicy's (Debian, Arch, Gentoo) or container-selinux's (Fedora,
 * RHEL: container_var_run_t, admin_home_t, docker_var_run_t); a name a policy lacks never
 * matches there, so one table serves both. */

#include <errno.h>
#include <string.h>

#include "macro.h"
#include "triage-names.h"
#include "verdict.h"

/* The names are common/triage-names.c's (avcctl validates filters with them); the enums index
 * them. */
_Static_assert(_TRIAGE_REASON_MAX == TRIAGE_REASONS_N, "reason names and TriageReason differ");
_Static_assert(_TRIAGE_VERDICT_MAX == TRIAGE_VERDICTS_N, "verdict names and TriageVerdict differ");

const char *triage_reason_to_string(TriageReason r) {
        if ((unsigned) r >= _TRIAGE_REASON_MAX)
                return NULL;
        return triage_reason_names[r];
}

int triage_reason_from_string(const char *s) {
        return triage_name_index(triage_reason_names, TRIAGE_REASONS_N, s);
}

const char *triage_verdict_to_string(TriageVerdict v) {
        if ((unsigned) v >= _TRIAGE_VERDICT_MAX)
                return NULL;
        return triage_verdict_names[v];
}

int triage_verdict_from_string(const char *s) {
        return triage_name_index(triage_verdict_names, TRIAGE_VERDICTS_N, s);
}

#define ESCAPE_SUFFIX                                                                              \
        " This is not a labelling problem: do not allow it; find out why the image does it, and "  \
        "give a container that must manage the host its own reviewed policy (udica), never a "     \
        "host-wide rule."

/* What containers do not namespace. Each row: why reaching it is an escape attempt. */
static const TriageEscape escape_table[] = {
        /* Kernel interfaces. /sys is the host's: writing it reconfigures devices, drivers and
         * the kernel for every container at once (reading is routine: container_t may read
         * most of it, so only changes count). */
        {.type = "sysfs_t",
         .modify_only = true,
         .what = "kernel and device settings under /sys",
         .hint = "Escape attempt: the container tried to change kernel or device settings under "
                 "/sys, which belong to the host." ESCAPE_SUFFIX},
        /* /proc/sys: sysctl_t and its per-subtree sysctl_*_t types (kernel, net, vm, fs, ...).
         * Only the network subtree is per namespace, and engines set what a container needs
         * before it starts; a write from inside is an attempt on host-wide settings. */
        {.type = "sysctl_t",
         .modify_only = true,
         .what = "kernel settings under /proc/sys",
         .hint = "Escape attempt: the container tried to change kernel settings under /proc/sys, "
                 "which are the host's." ESCAPE_SUFFIX},
        {.type = "sysctl_*_t",
         .modify_only = true,
         .what = "kernel settings under /proc/sys",
         .hint = "Escape attempt: the container tried to change kernel settings under /proc/sys, "
                 "which are the host's." ESCAPE_SUFFIX},
        /* Host /proc files without a type of their own, /proc/sysrq-trigger among them
         * (refpolicy labels it proc_t): a process's own /proc entries carry its domain, so a
         * write to proc_t is a write to a host-wide kernel file. */
        {.type = "proc_t",
         .modify_only = true,
         .what = "host-wide /proc files (sysrq-trigger)",
         .hint = "Escape attempt: the container tried to write a host-wide /proc file such as "
                 "/proc/sysrq-trigger." ESCAPE_SUFFIX},
        /* /proc/kcore is the kernel's memory. */
        {.type = "proc_kcore_t",
         .what = "the kernel's memory (/proc/kcore)",
         .hint = "Escape attempt: the container reached for /proc/kcore, the kernel's "
                 "memory." ESCAPE_SUFFIX},
        /* Kernel modules: loading code into the host's kernel, by file, by request (the kernel
         * asked to load a module on the container's behalf) or by capability. */
        {.type = "modules_object_t",
         .what = "kernel modules on disk",
         .hint = "Escape attempt: the container reached for the host's kernel "
                 "modules." ESCAPE_SUFFIX},
        {.tclass = "system",
         .perm = "module_request",
         .what = "a kernel module load request",
         .hint = "Escape attempt: the container made the kernel load a module for it; modules "
                 "are loaded for the whole host, so the host, not a container, should load "
                 "them." ESCAPE_SUFFIX},
        {.tclass = "system",
         .perm = "module_load",
         .what = "loading a kernel module",
         .hint = "Escape attempt: the container tried to load a kernel module." ESCAPE_SUFFIX},
        {.tclass = "capability",
         .perm = "sys_module",
         .what = "the sys_module capability",
         .hint = "Escape attempt: the container used the capability to load kernel "
                 "modules." ESCAPE_SUFFIX},
        /* Raw devices: /dev/mem, /dev/kmem, /dev/port and the host's disks bypass every file
         * permission; sys_rawio is the capability that opens them. */
        {.type = "memory_device_t",
         .what = "physical memory (/dev/mem, /dev/kmem, /dev/port)",
         .hint = "Escape attempt: the container reached for the host's physical memory "
                 "(/dev/mem)." ESCAPE_SUFFIX},
        {.type = "fixed_disk_device_t",
         .what = "the host's disks as raw block devices",
         .hint = "Escape attempt: the container reached for a host disk as a raw device, "
                 "past every file permission." ESCAPE_SUFFIX},
        {.type = "scsi_generic_device_t",
         .what = "raw SCSI devices (/dev/sg*)",
         .hint = "Escape attempt: the container reached for a raw SCSI device of the "
                 "host." ESCAPE_SUFFIX},
        {.tclass = "capability",
         .perm = "sys_rawio",
         .what = "the sys_rawio capability",
         .hint = "Escape attempt: the container used the capability for raw device "
                 "access." ESCAPE_SUFFIX},
        /* Audit: the host's record of what happened, and the switch that controls it. */
        {.type = "auditd_log_t",
         .what = "the host's audit log",
         .hint = "Escape attempt: the container reached for the host's audit log." ESCAPE_SUFFIX},
        {.type = "auditd_etc_t",
         .what = "the host's audit rules",
         .hint = "Escape attempt: the container reached for the host's audit "
                 "configuration." ESCAPE_SUFFIX},
        {.tclass = "netlink_audit_socket",
         .what = "the kernel's audit interface",
         .hint = "Escape attempt: the container used the kernel's audit interface, which is "
                 "not namespaced (login programs inside images do this too: check which "
                 "process it was)." ESCAPE_SUFFIX},
        {.tclass = "capability",
         .perm = "audit_control",
         .what = "the audit_control capability",
         .hint = "Escape attempt: the container tried to change the host's audit "
                 "rules." ESCAPE_SUFFIX},
        /* SELinux itself: changing its state (selinuxfs writes, the security class: setenforce,
         * load_policy, setbool) or its configuration switches off what confines containers.
         * Reading selinuxfs is what libselinux does in any image, so only changes count. */
        {.type = "security_t",
         .modify_only = true,
         .what = "SELinux's kernel interface",
         .hint = "Escape attempt: the container tried to change SELinux through "
                 "/sys/fs/selinux." ESCAPE_SUFFIX},
        {.tclass = "security",
         .what = "SELinux's state (setenforce, load_policy, setbool)",
         .hint = "Escape attempt: the container tried to change SELinux's state." ESCAPE_SUFFIX},
        {.type = "selinux_config_t",
         .what = "the host's SELinux configuration",
         .hint = "Escape attempt: the container reached for the host's SELinux "
                 "configuration." ESCAPE_SUFFIX},
        {.tclass = "capability2",
         .perm = "mac_admin",
         .what = "the mac_admin capability",
         .hint = "Escape attempt: the container used the capability to administer "
                 "SELinux." ESCAPE_SUFFIX},
        /* Host secrets: password hashes. */
        {.type = "shadow_t",
         .what = "the host's password hashes (/etc/shadow)",
         .hint = "Escape attempt: the container reached for the host's password hashes "
                 "(/etc/shadow)." ESCAPE_SUFFIX},
        /* A container engine's socket is root on the host: whoever can talk to it can start a
         * privileged container. refpolicy labels /run/docker.sock and the engines' run state
         * container_runtime_t and runs the engines as container_engine_t; container-selinux
         * runs them as container_runtime_t and labels the socket container_var_run_t (older:
         * docker_var_run_t). */
        {.type = "container_runtime_t",
         .what = "a container engine's socket or state",
         .hint = "Escape attempt: the container reached for a container engine's socket or "
                 "state; talking to the engine is root on the host." ESCAPE_SUFFIX},
        {.type = "container_engine_t",
         .tclass = "unix_stream_socket",
         .perm = "connectto",
         .what = "a container engine's socket",
         .hint = "Escape attempt: the container tried to talk to a container engine, which is "
                 "root on the host." ESCAPE_SUFFIX},
        {.type = "container_var_run_t",
         .what = "a container engine's socket",
         .hint = "Escape attempt: the container reached for a container engine's socket; "
                 "talking to the engine is root on the host." ESCAPE_SUFFIX},
        {.type = "docker_var_run_t",
         .what = "the Docker socket",
         .hint = "Escape attempt: the container reached for the Docker socket; talking to the "
                 "engine is root on the host." ESCAPE_SUFFIX},
};

const TriageEscape *triage_escape_table(size_t *ret_n) {
        *ret_n = ELEMENTSOF(escape_table);
        return escape_table;
}

/* Generic types a host path carries when nobody labelled it for containers: the classic bind
 * mount of /root, /home, /srv, /mnt, /var, /etc or a new disk. Types of a particular service
 * (httpd_sys_content_t, ...) are left out: those belong to a service and a relabel would break
 * it, so they get the policy hint. */
static const char *const host_file_types[] = {
        "default_t",   /* no file context matched: /srv, /data, ... */
        "file_t",      /* no label at all (a file system without xattrs), */
        "unlabeled_t", /* or a label this policy no longer knows */
        "admin_home_t", "user_home_t", "user_home_dir_t", "home_root_t", "var_t", "var_lib_t",
        "var_log_t",    "etc_t",       "usr_t",           "mnt_t",       "tmp_t", "user_tmp_t",
};

static const char *const file_classes[] = {
        "file", "dir", "lnk_file", "sock_file", "fifo_file",
};

static const char *const modifying_perms[] = {
        "write",     "append",   "create",      "unlink",  "rename",     "link",
        "setattr",   "add_name", "remove_name", "rmdir",   "reparent",   "relabelfrom",
        "relabelto", "mounton",  "swapon",      "quotaon", "write_sysfs"};

/* Booleans refpolicy and container-selinux document for containers, with what turning one on
 * means (for every container on the host: a boolean is not per container). */
static const struct {
        const char *name;
        const char *hint;
} boolean_hints[] = {
        {"container_manage_cgroup",
         "Turn on the boolean if containers on this host may manage cgroups (systemd inside a "
         "container needs it): setsebool -P container_manage_cgroup 1."},
        {"container_use_nfs", "Turn on the boolean if containers on this host may use NFS "
                              "volumes: setsebool -P container_use_nfs 1."},
        {"virt_use_nfs", "Turn on the boolean if containers on this host may use NFS volumes: "
                         "setsebool -P virt_use_nfs 1."},
        {"container_use_samba", "Turn on the boolean if containers on this host may use CIFS "
                                "volumes: setsebool -P container_use_samba 1."},
        {"virt_use_samba", "Turn on the boolean if containers on this host may use CIFS volumes: "
                           "setsebool -P virt_use_samba 1."},
        {"container_use_ecryptfs", "Turn on the boolean if containers on this host may use "
                                   "eCryptfs volumes: setsebool -P container_use_ecryptfs 1."},
        {"container_read_public_content",
         "Turn on the boolean if containers may read public_content_t data: setsebool -P "
         "container_read_public_content 1 (or give the data its own :z volume)."},
        {"container_manage_public_content",
         "Turn on the boolean if containers may write public_content_rw_t data: setsebool -P "
         "container_manage_public_content 1 (or give the data its own :z volume)."},
        {"container_mounton_non_security",
         "Turn on the boolean if containers may mount over host files: setsebool -P "
         "container_mounton_non_security 1."},
        {"virt_use_fusefs", "Turn on the boolean if containers on this host may use FUSE "
                            "volumes: setsebool -P virt_use_fusefs 1."},
        {"virt_sandbox_use_all_caps",
         "Turn on the boolean only if containers on this host may use every capability: "
         "setsebool -P virt_sandbox_use_all_caps 1."},
        {"container_connect_any", "Turn on the boolean if containers may connect to any port: "
                                  "setsebool -P container_connect_any 1."},
};

#define HINT_BOOLEAN_GENERIC                                                                       \
        "A boolean listed with this denial allows it: turn it on with setsebool -P (it applies "   \
        "to every container on the host) if that is what you want, or leave it off."
#define HINT_BOOLEAN_SEVERAL                                                                       \
        "Any one of the booleans listed with this denial allows it: turn on the narrowest with "   \
        "setsebool -P (it applies to every container on the host), or leave them off."
#define HINT_ISOLATION                                                                             \
        "Another container's data: the MCS categories differ, so SELinux kept the containers "     \
        "apart. If both must share it, give it a shared label with :z (not :Z) or run both with "  \
        "the same --security-opt label=level:; otherwise it is an isolation breach attempt."
#define HINT_VOLUME_UNLABELED                                                                      \
        "The host path has no valid label (file_t or unlabeled_t): restorecon -R it first, "       \
        "then mount it with :Z (private) or :z (shared between containers)."
#define HINT_VOLUME_READ                                                                           \
        "A host path was mounted without a container label: mount it with :z (shared) or :Z "      \
        "(private to this container), or for read-only data chcon -R -t container_ro_file_t on "   \
        "it; never relabel /, /etc, /usr or a home directory itself."
#define HINT_VOLUME_WRITE                                                                          \
        "A host path was mounted without a container label: mount it with :Z (private to this "    \
        "container, e.g. -v /srv/data:/data:Z) or :z (shared), or chcon -R -t container_file_t "   \
        "on it; never relabel /, /etc, /usr or a home directory itself."
#define HINT_POLICY                                                                                \
        "The container does something its type does not allow: if it should, generate a policy "   \
        "of its own with udica from podman/docker inspect and run it with --security-opt "         \
        "label=type:; audit2allow only for a rule every container is to get."
#define HINT_ALLOWED                                                                               \
        "The loaded policy allows this now: the policy or a boolean changed since the denial; "    \
        "nothing to do unless it happens again."
#define HINT_UNKNOWN                                                                               \
        "The policy used for triage does not know this type, class or permission: the denial "     \
        "came from another policy; triage it against that policy ([Triage] Policy=)."
#define HINT_RBAC                                                                                  \
        "The role may not run this type: start the container with the engine's default label, "    \
        "or add the type to the role in the container's own policy (udica)."
#define HINT_BOUNDS                                                                                \
        "A bounded type asked for more than its parent type allows: grant it to the parent "       \
        "type in the policy, or run the container without the bounded transition."

static bool in_list(const char *s, const char *const *list, size_t n) {
        if (!s)
                return false;
        for (size_t i = 0; i < n; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

/* "name" exactly, or "prefix*suffix" with a non-empty middle. */
static bool type_matches(const char *pattern, const char *type) {
        const char *star = strchr(pattern, '*');
        if (!star)
                return strcmp(pattern, type) == 0;
        size_t pre = (size_t) (star - pattern), suf = strlen(star + 1), n = strlen(type);
        return n > pre + suf && strncmp(type, pattern, pre) == 0 &&
               strcmp(type + n - suf, star + 1) == 0;
}

bool triage_perm_modifies(const char *perm) {
        return in_list(perm, modifying_perms, ELEMENTSOF(modifying_perms));
}

static bool any_perm_modifies(const TriageFacts *f) {
        for (size_t i = 0; i < f->n_perms; i++)
                if (triage_perm_modifies(f->perms[i]))
                        return true;
        return false;
}

static bool has_perm(const TriageFacts *f, const char *perm) {
        return f->perms && in_list(perm, f->perms, f->n_perms);
}

static const TriageEscape *escape_lookup(const TriageFacts *f) {
        for (size_t i = 0; i < ELEMENTSOF(escape_table); i++) {
                const TriageEscape *e = &escape_table[i];
                if (e->type && (!f->target_type || !type_matches(e->type, f->target_type)))
                        continue;
                if (e->tclass && (!f->tclass || strcmp(e->tclass, f->tclass) != 0))
                        continue;
                if (e->perm && !has_perm(f, e->perm))
                        continue;
                if (e->modify_only && (!f->perms || !any_perm_modifies(f)))
                        continue;
                return e;
        }
        return NULL;
}

/* A refusal a label can cure: no rule, or a constraint that is not between two containers (a
 * boolean reason without booleans cannot happen from policy.c, but the facts may come from
 * anywhere). */
static bool refused_by_rule(TriageReason r) {
        return r == TRIAGE_REASON_TE || r == TRIAGE_REASON_CONSTRAINT || r == TRIAGE_REASON_BOOLEAN;
}

static const char *boolean_hint(const TriageFacts *f) {
        if (f->n_booleans > 1)
                return HINT_BOOLEAN_SEVERAL;
        for (size_t i = 0; i < ELEMENTSOF(boolean_hints); i++)
                if (f->booleans[0] && strcmp(f->booleans[0], boolean_hints[i].name) == 0)
                        return boolean_hints[i].hint;
        return HINT_BOOLEAN_GENERIC;
}

void triage_judge(const TriageFacts *f, TriageJudgement *ret) {
        const TriageEscape *e = escape_lookup(f);
        if (e) {
                *ret = (TriageJudgement){TRIAGE_VERDICT_ESCAPE, e->hint, e};
                return;
        }

        if (f->reason == TRIAGE_REASON_CONSTRAINT && f->categories_differ &&
            f->target_has_categories) {
                *ret = (TriageJudgement){TRIAGE_VERDICT_ISOLATION, HINT_ISOLATION, NULL};
                return;
        }

        if (f->reason == TRIAGE_REASON_BOOLEAN && f->booleans && f->n_booleans > 0) {
                *ret = (TriageJudgement){TRIAGE_VERDICT_BOOLEAN, boolean_hint(f), NULL};
                return;
        }

        if (refused_by_rule(f->reason) &&
            in_list(f->target_type, host_file_types, ELEMENTSOF(host_file_types)) &&
            in_list(f->tclass, file_classes, ELEMENTSOF(file_classes))) {
                const char *hint = HINT_VOLUME_WRITE;
                if (strcmp(f->target_type, "file_t") == 0 ||
                    strcmp(f->target_type, "unlabeled_t") == 0)
                        hint = HINT_VOLUME_UNLABELED;
                else if (!f->perms || !any_perm_modifies(f))
                        hint = HINT_VOLUME_READ;
                *ret = (TriageJudgement){TRIAGE_VERDICT_VOLUME, hint, NULL};
                return;
        }

        const char *hint;
        switch (f->reason) {
        case TRIAGE_REASON_ALLOWED:
                hint = HINT_ALLOWED;
                break;
        case TRIAGE_REASON_UNKNOWN:
                hint = HINT_UNKNOWN;
                break;
        case TRIAGE_REASON_RBAC:
                hint = HINT_RBAC;
                break;
        case TRIAGE_REASON_BOUNDS:
                hint = HINT_BOUNDS;
                break;
        default:
                hint = HINT_POLICY;
        }
        *ret = (TriageJudgement){TRIAGE_VERDICT_POLICY, hint, NULL};
}
