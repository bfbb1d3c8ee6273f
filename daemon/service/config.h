/* SPDX-License-Identifier: MIT */
#pragma once

/* Configuration: /etc/avcwatch/avcwatchd.conf, INI style (docs/configuration.md).
 *
 *   [Daemon]
 *   Database=/var/lib/avcwatch/avcwatch.db
 *   Socket=/run/avcwatch/avcwatch.sock
 *   AccessGroup=avcwatch
 *   Input=netlink
 *   AuditLog=/var/log/audit/audit.log  (empty: no gap backfill from it after a restart)
 *   Backfill=auto                    (auditlog, journal, no: where the gap is read back from)
 *   JournalDirectory=                (the journal the backfill reads; empty: this host's)
 *   CheckDatabase=auto               (every page at start: auto after an unclean stop; always;
 *                                     never)
 *   [Filter]
 *   Domains=container_t container_init_t ... *_container_t
 *   TargetCategories=yes
 *   [Engines]
 *   Docker=/run/docker.sock          (empty: do not ask Docker)
 *   Podman=/run/podman/podman.sock   (empty: do not ask Podman)
 *   ProcScan=yes                     (scan /proc for containers of engines without an API)
 *   ContainerdState=/run/containerd  (empty: do not watch containerd's task state)
 *   CrioRunRoot=/run/containers/storage (empty: do not watch CRI-O's containers)
 *   CrioSocket=/var/run/crio/crio.sock (empty: do not ask CRI-O's API)
 *   [Journal]
 *   ForwardDenials=no                (one structured journal entry per stored denial)
 *   [Retention]
 *   MaxAge=                          (e.g. 90d: older denials are removed; empty/0: kept)
 *   MaxSize=                         (e.g. 2G: the oldest go while the database is larger)
 *   [Triage]
 *   Policy=                          (a binary policy file; empty: the kernel's, when loaded)
 *   [Metrics]
 *   Listen=                          (127.0.0.1:9774 or a socket path: the Prometheus endpoint)
 *   TopContainers=100                (containers and images with series of their own)
 *
 * Pure parser over a text buffer; the daemon reads the file. Unknown sections or keys and bad
 * values are errors with a line number (so --check-config catches typos). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "domain-filter.h"
#include "paths.h"

/* Where the gap backfill reads the records of a downtime from. */
typedef enum BackfillMode {
        BACKFILL_AUTO,     /* AuditLog= when it exists, else the journal; AuditLog= empty: none */
        BACKFILL_AUDITLOG, /* AuditLog= only */
        BACKFILL_JOURNAL,  /* the journal only */
        BACKFILL_NO,
        _BACKFILL_MODE_MAX,
} BackfillMode;

const char *backfill_mode_to_string(BackfillMode m);

typedef struct Config {
        char *database;
        char *socket;
        char *access_group;
        char *input;
        char *audit_log; /* NULL: no gap backfill from it */
        BackfillMode backfill;
        char *journal_directory; /* NULL: this host's journal */
        int check_database;      /* StoreCheckMode (store.h): when start-up reads every page */
        DomainFilter domains;
        char *docker_socket; /* NULL: disabled */
        char *podman_socket; /* NULL: disabled */
        bool proc_scan;
        char *containerd_state; /* NULL: containerd's containers not watched */
        char *crio_run_root;    /* NULL: CRI-O's containers not watched */
        char *crio_socket;      /* NULL: CRI-O's API not asked */
        bool journal_forward;
        int64_t max_age_ms;   /* 0: no age limit */
        uint64_t max_bytes;   /* 0: no size limit */
        char *triage_policy;  /* NULL: the kernel's (CONFIG_KERNEL_POLICY), when there is one */
        char *metrics_listen; /* NULL: no metrics endpoint */
        unsigned metrics_top; /* containers and images with a series of their own */
} Config;

#define CONFIG_MAX_SIZE_MIN (1024 * 1024) /* a smaller MaxSize= could not hold the schema */

#ifndef AVCWATCH_SYSCONFDIR
#define AVCWATCH_SYSCONFDIR "/etc"
#endif
#define CONFIG_DEFAULT_PATH AVCWATCH_SYSCONFDIR "/avcwatch/avcwatchd.conf"
#define CONFIG_DEFAULT_DATABASE "/var/lib/avcwatch/avcwatch.db"
#define CONFIG_DEFAULT_SOCKET AVCWATCH_DEFAULT_SOCKET
#define CONFIG_DEFAULT_ACCESS_GROUP "avcwatch"
#define CONFIG_DEFAULT_AUDIT_LOG "/var/log/audit/audit.log"
#define CONFIG_DEFAULT_DOCKER_SOCKET "/run/docker.sock"
#define CONFIG_DEFAULT_PODMAN_SOCKET "/run/podman/podman.sock"
/* containerd's "state" setting; CRI-O's storage "runroot" and its API socket (crio.conf). */
#define CONFIG_DEFAULT_CONTAINERD_STATE "/run/containerd"
#define CONFIG_DEFAULT_CRIO_RUN_ROOT "/run/containers/storage"
#define CONFIG_DEFAULT_CRIO_SOCKET "/var/run/crio/crio.sock"
#define CONFIG_RUNTIME_DIRECTORY_MAX 1024 /* ContainerdState=, CrioRunRoot=: ids go below them */
#define CONFIG_KERNEL_POLICY "/sys/fs/selinux/policy"
#define CONFIG_DEFAULT_METRICS_TOP 100
#define CONFIG_METRICS_TOP_MAX 1000 /* the store's STORE_TOP_MAX */
#define CONFIG_FILE_MAX (256 * 1024)
#define CONFIG_ERRORS_MAX 8192 /* the messages of one file, enough for a hundred errors */

int config_init_default(Config *ret);
/* Applies the settings in text on top of *c. On errors returns -EINVAL and writes every message
 * into err (size n_err), one a line ("line 3: unknown key 'Foo' in [Daemon]"), the parse going on
 * to the end; what does not fit is counted in a last line ("(2 more errors)"). The valid lines
 * are applied even then: a caller that got an error discards *c. -ENOMEM stops at once. */
int config_parse(Config *c, const char *text, size_t len, char *err, size_t n_err);
void config_done(Config *c);
/* The effective settings as a configuration file that config_parse() reads back to the same
 * values (--check-config): every key under its [Section], sizes and durations in the largest unit
 * that shows them exactly ("MaxAge=90d", "MaxSize=2G"), a comment before a setting that is off
 * saying what that means. */
void config_dump(const Config *c, FILE *f);
