/* SPDX-License-Identifier: MIT */
#pragma once

/* ProcScan: containers of engines without an API we follow (CRI-O and containerd under
 * Kubernetes, or Docker / Podman with their API disabled), found by walking /proc every
 * PROC_SCAN_INTERVAL_USEC: the container id from /proc/<pid>/cgroup
 * (daemon/attribution/cgroup-id.c), the process label from /proc/<pid>/attr/current, the start time
 * from /proc/<pid>/stat. A container seen is registered (running); one no longer seen is marked
 * finished at the scan that noticed it gone, unless an engine whose API is followed owns it (that
 * engine says when it ended). Opaque handle. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "registry.h"
#include "stats.h"

typedef struct ProcScan ProcScan;

#define PROC_SCAN_INTERVAL_USEC (10ULL * 1000000) /* between two scans */
#define PROC_SCAN_PIDS_MAX 65536                  /* /proc entries read in one scan */
#define PROC_SCAN_CONTAINERS_MAX 4096             /* containers followed at once */

/* Whether the API of this engine ("docker", "podman") is followed right now. */
typedef bool (*proc_scan_followed_cb)(const char *engine, void *userdata);

/* event may be NULL: no timer, scans run by proc_scan_run() only (tests, benchmarks).
 * proc_root is "/proc" except in tests. registry and stats are borrowed. */
int proc_scan_new(sd_event *event, const char *proc_root, Registry *registry, ProcScanStats *stats,
                  proc_scan_followed_cb followed, void *userdata, ProcScan **ret);
ProcScan *proc_scan_free(ProcScan *p);

/* One scan now; now_ms is the time it is taken for. Returns the number of containers seen. */
int proc_scan_run(ProcScan *p, int64_t now_ms);
