/* SPDX-License-Identifier: MIT */
#pragma once

/* Registry: the persisted history of containers (docs/architecture.md "Registry"): who they
 * were (id, name, image, engine, pod, namespace, compose project/service), their process label
 * and its MCS category set, and when they lived. Fed by the engine clients (engine.c) and the
 * /proc scan (proc-scan.c); asked by the attributor for "which containers had these categories
 * at that time?". MCS -> containers is many-to-many over time.
 *
 * Kept in memory (bounded, REGISTRY_CONTAINERS_MAX) for the hot path and persisted in the
 * store's database (the containers table and its registry columns) by asking the store
 * (store_container_*, daemon/store/store-containers.c): no SQL here. Opaque handle. */

#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "denial.h"
#include "store.h"

typedef struct Registry Registry;

#define REGISTRY_CONTAINERS_MAX 65536 /* containers kept in memory (newest first at load) */
#define REGISTRY_EVICT_BATCH                                                                       \
        4096 /* when full: the longest-removed ones leave memory (not the db) */
/* A container's lifetime as the audit timestamps of its denials can show it (registry.c
 * "lifetime", measured with bench/measure-start-slack.sh, docs/architecture.md "Registry"):
 * - its process runs before the engine stamps StartedAt (the engine reads its clock after the
 *   runtime's start returned): up to 18.7 ms measured (Docker 15.6, Podman 18.7, load 6-9);
 *   REGISTRY_START_SLACK_MS before StartedAt, but never before Created;
 * - Created is stamped before any process of the container exists, and the kernel's audit stamp
 *   is its coarse clock, behind the real time by up to a tick (HZ 100: 10 ms):
 *   REGISTRY_CLOCK_TICK_MS before Created;
 * - its processes are gone when the runtime stamps FinishedAt (Docker: 1.3 to 13 ms after the
 *   last instant measured inside; Podman, from the exit file's coarse mtime: 2.6 ms before it at
 *   worst): REGISTRY_END_SLACK_MS after the end. */
#define REGISTRY_START_SLACK_MS 500
#define REGISTRY_CLOCK_TICK_MS 10
#define REGISTRY_END_SLACK_MS 100
#define REGISTRY_CANDIDATES_MAX DENIAL_CANDIDATES_MAX /* recorded for one ambiguous denial */
#define REGISTRY_RERESOLVE_ROWS_MAX 10000 /* denials re-attributed when one container appears */
#define REGISTRY_LIST_MAX 4096            /* containers in one Containers reply (newest first) */
/* ... and the bytes they take in it (daemon/api/reply-json.c): every string of a container is
 * someone's to fill (7 of up to CONTAINER_STRING_MAX, a control character spelt in 6 bytes of
 * JSON), and a reply over the server's SERVER_OUTPUT_MAX would cut the client off instead of
 * answering. */
#define REGISTRY_REPLY_BYTES_MAX (4 * 1024 * 1024)

/* store may be NULL: memory only (unit tests, benchmarks). With a store, the containers it has
 * are loaded (the newest REGISTRY_CONTAINERS_MAX). */
int registry_new(Store *store, Registry **ret);
Registry *registry_free(Registry *r);

/* Adds or updates a container: fields c leaves unknown (NULL, 0, CONTAINER_STATE_UNKNOWN) keep
 * what is known; has_mcs replaces the set. Persisted at once (inside the store's open batch when
 * there is one). When the container has an MCS set and it or the lifetime changed, stored denials
 * of its lifetime with that set (as source or as target) that were not attributed by pid are
 * resolved again: a denial can arrive before the engine's event. When the registry is full,
 * the REGISTRY_EVICT_BATCH containers removed longest ago leave memory (their rows stay).
 * Returns 1 when something changed, 0 when not, -EINVAL for c without a valid id or with a
 * string longer than CONTAINER_STRING_MAX, -EXFULL when full of containers that are not
 * removed, or the store's error (-ENOSPC full disk, -EBADMSG damaged file, -EIO, ...; the
 * store also keeps it for store_take_failure()). */
int registry_update(Registry *r, const ContainerInfo *c);

/* Many updates in a row (an engine's burst of events, the removals a list implies): one
 * transaction around them instead of one each (each update stays its own savepoint inside, so a
 * failed one is undone alone). Returns the store's error. */
int registry_batch_begin(Registry *r);
int registry_batch_end(Registry *r);
/* Lifetime events: the container stopped / was removed at that time. -ENOENT for an unknown
 * id. */
int registry_mark_finished(Registry *r, const char *id, int64_t finished_ms);
int registry_mark_removed(Registry *r, const char *id, int64_t removed_ms);

/* NULL when unknown. Valid until the next registry_update/mark. */
const ContainerInfo *registry_get(Registry *r, const char *id);
size_t registry_size(const Registry *r);

/* Calls cb for every container known (in no particular order); stops when cb returns non-zero
 * and returns that. */
typedef int (*registry_foreach_cb)(const ContainerInfo *c, void *userdata);
int registry_foreach(Registry *r, registry_foreach_cb cb, void *userdata);

/* Containers whose MCS set equals mcs and whose lifetime covers time_ms (widened by the slacks
 * above): returns how many, and the first n of them (latest started first) in
 * ret (may be NULL with n = 0). */
size_t registry_match(Registry *r, const McsSet *mcs, int64_t time_ms, const ContainerInfo **ret,
                      size_t n);

/* Resolution by MCS + time for a denial the pid did not name: sets container / attribution
 * (mcs with one candidate; ambiguous with several, or pod / namespace when all of them are of
 * one pod / one Kubernetes namespace: container stays null, the candidates go into
 * d->candidates, and are queued for the store's denial_candidates table, written with its
 * batch), and target_container when the target's
 * categories match exactly one container other than the denial's own. A USER_AVC sent from a
 * container (ATTRIBUTION_SENDER already, or its sender's subj= a container domain) is left to
 * its sender: marked ATTRIBUTION_SENDER, named by the sender's categories at most. */
int registry_resolve_denial(Registry *r, Denial *d);

/* Fills c (a ContainerRef of the attributor: id and engine) with what the registry knows.
 * 1 when known, 0 when not. */
int registry_fill_ref(Registry *r, ContainerRef *c);

/* The Containers listing: calls cb for every container known, newest first (latest created or
 * started first, then by id), at most REGISTRY_LIST_MAX, with the number of stored denials
 * attributed to it and of ambiguous denials it is a candidate for (0 without a store); stops
 * when cb returns non-zero and returns that. The reply is made by daemon/api/reply-json.c. */
typedef int (*registry_list_cb)(const ContainerInfo *c, int64_t denials, int64_t ambiguous,
                                void *userdata);
int registry_list(Registry *r, registry_list_cb cb, void *userdata);
