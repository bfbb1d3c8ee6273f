/* SPDX-License-Identifier: MIT */
#pragma once

/* Registry: the persisted history of containers (docs/architecture.md "Registry"): who they
 * were (id, name, image, engine, pod, namespace, compose project/service), their process label
 * and its MCS category set, and when they lived. Fed by the engine clients (engine.c) and the
 * /proc scan (proc-scan.c); asked by the attributor for "which containers had these categories
 * at that time?". MCS -> containers is many-to-many over time.
 *
 * Kept in memory (bounded, REGISTRY_CONTAINERS_MAX) for the hot path and persisted in the
 * store's database (the containers table of schema version 2) through the store's writer
 * connection. Opaque handle. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "context.h"
#include "denial.h"
#include "store.h"

typedef struct Registry Registry;

#define REGISTRY_CONTAINERS_MAX 65536     /* containers kept in memory (newest first at load) */
#define REGISTRY_TIME_SLACK_MS 2000       /* engine and audit clocks; second-granular event times */
#define REGISTRY_CANDIDATES_MAX 16        /* candidates recorded for one ambiguous denial */
#define REGISTRY_RERESOLVE_ROWS_MAX 10000 /* denials re-attributed when one container appears */
#define REGISTRY_LIST_MAX 4096            /* containers in one Containers reply (newest first) */
#define REGISTRY_STRING_MAX 1024          /* longest name/image/label/... accepted from an engine */

/* What is known about one container. Strings owned, NULL unknown; times ms since the epoch,
 * 0 unknown. */
typedef struct ContainerInfo {
        char *id; /* full id, required */
        char *name, *image, *engine, *pod, *pod_namespace, *compose_project, *compose_service;
        char *label; /* the process label, or "level:s0:c1,c2" from HostConfig.SecurityOpt */
        bool has_mcs;
        McsSet mcs;
        int64_t created_ms, started_ms, finished_ms, removed_ms;
        bool running;
} ContainerInfo;

void container_info_done(ContainerInfo *c);

/* The category set of a label: "system_u:system_r:container_t:s0:c1,c2", "s0:c1,c2",
 * "level:s0:c1,c2" or "c1,c2". Returns 1 with a non-empty set, 0 when the label has none
 * (spc_t, s0), -EINVAL when it does not parse. */
int registry_label_mcs(const char *label, McsSet *ret);

/* store may be NULL: memory only (unit tests, benchmarks). With a store, the containers it has
 * are loaded (the newest REGISTRY_CONTAINERS_MAX). */
int registry_new(Store *store, Registry **ret);
Registry *registry_free(Registry *r); /* before store_free(): it holds statements on its db */

/* Adds or updates a container: fields c leaves unknown (NULL, 0) keep what is known; has_mcs
 * replaces the set; running is taken as given. Persisted at once. When the container has an
 * MCS set, stored denials of its lifetime with that set that are unattributed or attributed by
 * MCS are resolved again (a denial can arrive before the engine's event). Returns 1 when
 * something changed, 0 when not, -EINVAL for c without an id, -ENOSPC when full. */
int registry_update(Registry *r, const ContainerInfo *c);
/* Lifetime events; -ENOENT for an unknown id. */
int registry_mark_finished(Registry *r, const char *id, int64_t finished_ms);
int registry_mark_removed(Registry *r, const char *id, int64_t removed_ms);

const ContainerInfo *registry_get(Registry *r, const char *id);
size_t registry_size(const Registry *r);

/* Containers whose MCS set equals mcs and whose lifetime covers time_ms (widened by
 * REGISTRY_TIME_SLACK_MS): returns how many, and the first n of them (latest started first) in
 * ret (may be NULL with n = 0). */
size_t registry_match(Registry *r, const McsSet *mcs, int64_t time_ms, const ContainerInfo **ret,
                      size_t n);

/* Resolution by MCS + time for a denial the pid did not name: sets container / attribution
 * (mcs with one candidate, ambiguous with several: container stays null and the candidates are
 * written to the denial_candidates table), and target_container when the target's categories
 * match exactly one container other than the denial's own. */
int registry_resolve_denial(Registry *r, Denial *d);

/* Fills c (a ContainerRef of the attributor: id and engine) with what the registry knows. */
int registry_fill_ref(Registry *r, ContainerRef *c);

/* Every container known (newest first, at most REGISTRY_LIST_MAX), each with its denial count
 * and the number of ambiguous denials it is a candidate for, as the io.avcwatch.Containers
 * reply parameters {"containers": [...], "truncated": bool}. */
int registry_to_json(Registry *r, json_object **ret);
