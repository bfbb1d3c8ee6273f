/* SPDX-License-Identifier: MIT */
#pragma once

/* What is known about one container (the registry's unit, daemon/attribution/registry.h), and the
 * category set of a container's label. Pure: the engine JSON mapping (engine-json.c), the /proc
 * scan and the registry all fill or read the same plain value. */

#include <stdbool.h>
#include <stdint.h>

#include "context.h"

#define CONTAINER_STRING_MAX 1024 /* longest name/image/label/... accepted from an engine */

typedef enum ContainerState {
        CONTAINER_STATE_UNKNOWN, /* not said: an update keeps what was known */
        CONTAINER_STATE_RUNNING,
        CONTAINER_STATE_EXITED, /* created, exited, dead: not running */
        _CONTAINER_STATE_MAX,
} ContainerState;

/* Strings owned, NULL unknown; times ms since the epoch, 0 unknown. */
typedef struct ContainerInfo {
        char *id; /* full id, required */
        char *name, *image, *engine, *pod, *pod_namespace, *compose_project, *compose_service;
        /* Kubernetes (CRI runtimes, daemon/attribution/runtime-spec.c): the pod's uid, the id of
         * the pod's sandbox container, and whether this container is that sandbox (the "pause"
         * container: it holds the pod's namespaces and, under CRI-O, its categories; recorded so
         * that the categories map, but it is the pod, not a workload). */
        char *pod_uid, *sandbox_id;
        bool sandbox;
        char *label; /* the process label, or "level:s0:c1,c2" from HostConfig.SecurityOpt */
        bool has_mcs;
        McsSet mcs;
        int64_t created_ms, started_ms, finished_ms, removed_ms;
        ContainerState state;
} ContainerInfo;

void container_info_done(ContainerInfo *c);

/* The category set of a label: a full context "system_u:system_r:container_t:s0:c1,c2", a level
 * "s0:c1,c2" or "s0-s0:c0.c1023" (the high part counts), "level:s0:c1,c2" (a user-set
 * label=level: option), or bare categories "c1,c2". Returns 1 with a non-empty set, 0 when the
 * label has none (spc_t, "s0", "level:s0"), -EINVAL when it does not parse. */
int container_label_mcs(const char *label, McsSet *ret);

/* Whether s is acceptable as a container id: 1..CONTAINER_STRING_MAX of [A-Za-z0-9_.-]. */
bool container_id_is_valid(const char *s);
