/* SPDX-License-Identifier: MIT */
#pragma once

/* RuntimeState: the state directory of one CRI runtime watched on the daemon's sd-event loop, so
 * that every container it creates is in the registry with its pod, namespace, name and image
 * (runtime-spec.c), and keeps them after the runtime deleted its files:
 *
 *   containerd  <ContainerdState>/io.containerd.runtime.v2.task/<namespace>/<id>/config.json
 *               (the directory goes when the task is deleted: the container's end)
 *   CRI-O       <CrioRunRoot>/overlay-containers/<id>/userdata/config.json
 *               (the directory goes when the container is removed)
 *
 * A scan at start-up, then inotify: a new container directory is read as soon as its
 * config.json is written (IN_CLOSE_WRITE / IN_MOVED_TO inside it), retried briefly when it is
 * not there or not complete yet; a removed one has its end recorded. A runtime whose directory
 * is absent is skipped quietly and looked for again with a backoff. For CRI-O, a container
 * whose config.json never appears is asked of CRI-O's own HTTP API (GET /containers/{id} on its
 * socket), when one is configured. Nothing in these directories is trusted: names are checked,
 * files are opened without following links and bounded (runtime-spec.h). Opaque handle. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "registry.h"
#include "stats.h"

typedef struct RuntimeState RuntimeState;

typedef enum RuntimeKind {
        RUNTIME_CONTAINERD,
        RUNTIME_CRIO,
        _RUNTIME_KIND_MAX,
} RuntimeKind;

#define RUNTIME_CONTAINERD_TASK_DIR "io.containerd.runtime.v2.task" /* under containerd's state */
#define RUNTIME_CRIO_CONTAINERS_DIR "overlay-containers" /* under CRI-O's run root (overlay) */
#define RUNTIME_PENDING_MAX 1024   /* new containers whose config.json is awaited at once */
#define RUNTIME_NAMESPACES_MAX 256 /* containerd namespaces watched (k8s.io, moby, ...) */
#define RUNTIME_READ_TRIES 9       /* reads of a new config.json: 50 ms doubling, ~13 s in all */
#define RUNTIME_RETRY_MIN_USEC (1ULL * 1000000)    /* an absent directory looked for after ... */
#define RUNTIME_RETRY_MAX_USEC (30ULL * 1000000)   /* ... doubling up to this */
#define RUNTIME_INSPECT_RESPONSE_MAX (1024 * 1024) /* CRI-O's inspect reply (a few KiB) */
#define RUNTIME_INSPECT_QUEUE_MAX 256              /* CRI-O inspects waiting */
#define RUNTIME_INSPECT_TIMEOUT_USEC (5ULL * 1000000)

/* directory: containerd's state directory (/run/containerd) or CRI-O's run root
 * (/run/containers/storage); crio_socket: CRI-O's API socket (NULL: no inspect). registry and
 * stats are borrowed. The scan and the watch start at once. */
int runtime_state_new(sd_event *event, RuntimeKind kind, const char *directory,
                      const char *crio_socket, Registry *registry, RuntimeStats *stats,
                      RuntimeState **ret);
RuntimeState *runtime_state_free(RuntimeState *s);
/* A runtime not configured (its setting is empty): its slot in stats says so. */
void runtime_stats_disabled(RuntimeStats *stats, RuntimeKind kind);

/* "containerd" or "cri-o": the engine its containers are recorded with. */
const char *runtime_kind_engine(RuntimeKind kind);
const char *runtime_state_engine(const RuntimeState *s);
/* The directory is watched: its containers' ends are being recorded. */
bool runtime_state_is_watching(const RuntimeState *s);

/* For tests: replaces RUNTIME_RETRY_MIN_USEC / _MAX_USEC, and the first delay of a config.json's
 * reads (RUNTIME_READ_FIRST_USEC, 50 ms). */
void runtime_state_set_retry_usec(RuntimeState *s, uint64_t min_usec, uint64_t max_usec,
                                  uint64_t read_first_usec);
