/* SPDX-License-Identifier: MIT */
/* Registry: the container history that turns "s0:c170,c393 at 09:31" into a container.
 *
 * Decisions:
 * - One table, the store's containers table (extended with the registry's columns, see
 *   daemon/store/store-containers.c): a container that a denial named by pid and one the engine
 *   told us about are the same row, so queries by --container/--image/--pod see both and keep
 *   working after the container is gone. The registry does no SQL: it asks the store
 *   (store_container_*), whose errors are those of every other store write (-ENOSPC, -EBADMSG).
 * - Everything is also kept in memory, bounded by REGISTRY_CONTAINERS_MAX: attribution runs for
 *   every denial and must not touch the disk. Ids are found through an open-addressing index;
 *   categories through a chain per bucket of the set's hash, so matching costs the same with 100
 *   or 65,536 containers (bench/bench-attribution.c). When full, the containers removed longest
 *   ago leave memory (REGISTRY_EVICT_BATCH at a time; their rows and denials stay), so a host
 *   that churns through containers for years keeps learning new ones.
 * - A container's lifetime is [started, finished or removed], as the audit timestamps of its
 *   denials can show it: from REGISTRY_START_SLACK_MS before StartedAt (its process runs before
 *   the engine stamps it) but never more than a tick before Created (no process of it existed
 *   before), to REGISTRY_END_SLACK_MS after its end (registry.h has the measured figures). A
 *   running container's is open-ended. One that was created but never started has none
 *   (entry_never_ran()); one that ran before its latest start (restarted: FinishedAt before
 *   StartedAt while not exited) lives from its creation, since its earlier runs had its label
 *   too. A container started 1.5 s after a denial is not its candidate.
 * - An ambiguous denial (several containers with its categories at its time) gets no container:
 *   naming one of them would be a guess presented as a fact. When all of them belong to one pod
 *   (or one Kubernetes namespace) the denial is named at that level ("pod", "namespace"), which
 *   is a fact. Every candidate is written to denial_candidates (bounded by
 *   REGISTRY_CANDIDATES_MAX) and counted in Containers; the store queues them and writes them
 *   with its batch, not one statement per denial.
 * - When a container with an MCS set appears or changes, the stored denials of its lifetime with
 *   that set that are unattributed or attributed by MCS are resolved again
 *   (REGISTRY_RERESOLVE_ROWS_MAX at a time): the engine's event may arrive after the denial.
 *   Their target_container too, when the target carries the set.
 * - Writes of one update are one SAVEPOINT (store_container_begin/end): inside the store's open
 *   batch they join it, outside it they are one transaction instead of one per statement. */

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container.h"
#include "context.h"
#include "domain-filter.h"
#include "macro.h"
#include "record.h"
#include "registry.h"

#define REGISTRY_INDEX_SLOTS (REGISTRY_CONTAINERS_MAX * 2) /* a power of two, half full at most */
#define REGISTRY_MCS_TEXT_MAX 4096                         /* canonical text of a category set */
#define REGISTRY_MCS_BUCKETS REGISTRY_CONTAINERS_MAX       /* a power of two */

typedef struct Entry {
        ContainerInfo info;
        int64_t row; /* containers.id, 0 when not persisted */
        uint64_t mcs_hash;
        int32_t mcs_next; /* next entry (index + 1) in its MCS bucket's chain, 0 at the end */
} Entry;

struct Registry {
        Store *store; /* NULL: memory only */
        Entry *entries;
        size_t n_entries;
        int32_t *index;     /* entry index + 1, 0 free; REGISTRY_INDEX_SLOTS */
        int32_t *mcs_heads; /* per bucket of mcs_hash: first entry (index + 1), 0 none */
        /* Full, and the last eviction found no container that ended: none will be found until
         * one ends. Spares each refused container of a flood a scan of the whole registry. */
        bool full_of_live;
};

static uint64_t hash_bytes(const void *p, size_t n) {
        const unsigned char *b = p;
        uint64_t h = UINT64_C(1469598103934665603);
        for (size_t i = 0; i < n; i++) {
                h ^= b[i];
                h *= UINT64_C(1099511628211);
        }
        return h;
}

/* A word at a time: hashed for every denial with categories (registry_match()), where the 128
 * bytes one at a time were most of the match's cost. Only the words with a category are mixed
 * in, each with its index (a container's few categories fill one or two of the sixteen). Kept
 * in memory only (Entry.mcs_hash): any hash that equal sets share will do. */
static uint64_t mcs_hash(const McsSet *s) {
        uint64_t h = UINT64_C(1469598103934665603);
        for (size_t i = 0; i < ELEMENTSOF(s->bits); i++)
                if (s->bits[i]) {
                        h = (h ^ i) * UINT64_C(0x9E3779B97F4A7C15);
                        h = (h ^ s->bits[i]) * UINT64_C(0x9E3779B97F4A7C15);
                        h ^= h >> 29;
                }
        return h ^ (h >> 32);
}

static int32_t *index_slot(Registry *r, const char *id) {
        size_t mask = REGISTRY_INDEX_SLOTS - 1;
        size_t i = hash_bytes(id, strlen(id)) & mask;
        for (;;) {
                int32_t v = r->index[i];
                if (v == 0 || strcmp(r->entries[v - 1].info.id, id) == 0)
                        return &r->index[i];
                i = (i + 1) & mask;
        }
}

static Entry *registry_find(Registry *r, const char *id) {
        int32_t *slot = index_slot(r, id);
        return *slot ? &r->entries[*slot - 1] : NULL;
}

const ContainerInfo *registry_get(Registry *r, const char *id) {
        if (!r || !id)
                return NULL;
        Entry *e = registry_find(r, id);
        return e ? &e->info : NULL;
}

size_t registry_size(const Registry *r) {
        return r ? r->n_entries : 0;
}

/* The MCS index: entries with categories, chained per bucket of their set's hash, so that a
 * match looks at the few containers that ever had these categories, not at all of them. */
static void mcs_link(Registry *r, Entry *e) {
        int32_t *head = &r->mcs_heads[e->mcs_hash & (REGISTRY_MCS_BUCKETS - 1)];
        e->mcs_next = *head;
        *head = (int32_t) (e - r->entries) + 1;
}

static void mcs_unlink(Registry *r, Entry *e) {
        int32_t self = (int32_t) (e - r->entries) + 1;
        for (int32_t *p = &r->mcs_heads[e->mcs_hash & (REGISTRY_MCS_BUCKETS - 1)]; *p;
             p = &r->entries[*p - 1].mcs_next)
                if (*p == self) {
                        *p = e->mcs_next;
                        break;
                }
        e->mcs_next = 0;
}

/* When the container began, for ordering (latest started first): created, else started. */
static int64_t entry_created(const ContainerInfo *c) {
        if (c->created_ms > 0)
                return c->created_ms;
        return c->started_ms;
}

/* Restarted: the engine keeps the previous run's FinishedAt while the container runs again.
 * Exited, a FinishedAt before StartedAt is one run that ended within the engines' clock quirk:
 * the runtime stamps the exit, the engine the start after the runtime returned. */
static bool entry_ran_before(const ContainerInfo *c) {
        return c->state != CONTAINER_STATE_EXITED && c->started_ms > 0 && c->finished_ms > 0 &&
               c->finished_ms < c->started_ms;
}

/* The earliest audit time a denial of the container can carry; 0 unknown (open). */
static int64_t entry_begin(const ContainerInfo *c) {
        int64_t begin = 0;
        if (c->started_ms > REGISTRY_START_SLACK_MS && !entry_ran_before(c))
                begin = c->started_ms - REGISTRY_START_SLACK_MS;
        if (c->created_ms > REGISTRY_CLOCK_TICK_MS)
                begin = MAX(begin, c->created_ms - REGISTRY_CLOCK_TICK_MS);
        return begin;
}

/* The latest audit time a denial of the container can carry; INT64_MAX: still alive (or never
 * known to end). */
static int64_t entry_end(const ContainerInfo *c) {
        int64_t end = INT64_MAX;
        if (c->state != CONTAINER_STATE_RUNNING && c->finished_ms > 0) {
                if (c->finished_ms >= c->started_ms)
                        end = c->finished_ms;
                else if (c->state == CONTAINER_STATE_EXITED)
                        end = c->started_ms; /* see entry_ran_before() */
        }
        if (c->removed_ms > 0 && c->removed_ms < end)
                end = c->removed_ms;
        return end == INT64_MAX ? end : end + REGISTRY_END_SLACK_MS;
}

/* Created but never started (docker create; a Podman start that failed): no process ever
 * carried its label, so it is no one's candidate. An engine says so with Running false and no
 * StartedAt or FinishedAt; a container that ran has a start time, or at least a finish time
 * (a die event before its inspect). */
static bool entry_never_ran(const ContainerInfo *c) {
        return c->state == CONTAINER_STATE_EXITED && c->started_ms == 0 && c->finished_ms == 0;
}

static bool entry_covers(const ContainerInfo *c, int64_t t) {
        int64_t begin = entry_begin(c), end = entry_end(c);
        if (entry_never_ran(c))
                return false;
        return (begin <= 0 || t >= begin) && t <= end;
}

size_t registry_match(Registry *r, const McsSet *mcs, int64_t time_ms, const ContainerInfo **ret,
                      size_t n) {
        size_t found = 0;

        if (!r || !mcs || mcs_set_is_empty(mcs))
                return 0;
        uint64_t h = mcs_hash(mcs);
        for (int32_t i = r->mcs_heads[h & (REGISTRY_MCS_BUCKETS - 1)]; i;
             i = r->entries[i - 1].mcs_next) {
                Entry *e = &r->entries[i - 1];
                if (!e->info.has_mcs || e->mcs_hash != h || !mcs_set_equal(&e->info.mcs, mcs) ||
                    !entry_covers(&e->info, time_ms))
                        continue;
                /* Keep the first n ordered by start time, latest first (insertion sort). */
                if (ret && n > 0) {
                        size_t pos = MIN(found, n);
                        int64_t key = entry_created(&e->info);
                        while (pos > 0 && entry_created(ret[pos - 1]) < key)
                                pos--;
                        if (pos < n) {
                                size_t last = MIN(found, n - 1);
                                memmove(ret + pos + 1, ret + pos, (last - pos) * sizeof(*ret));
                                ret[pos] = &e->info;
                        }
                }
                found++;
        }
        return found;
}

/* ---- the level of several candidates ---- */

static bool str_eq(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* One pod: the same pod uid where both know it (a StatefulSet's pod comes back with its name
 * and a new uid, and the old one may still be terminating), else the same pod name in the same
 * namespace (a Podman pod has none: both NULL) and engine. A container without a pod is in
 * none. */
static bool same_pod(const ContainerInfo *a, const ContainerInfo *b) {
        if (a->pod_uid && b->pod_uid)
                return strcmp(a->pod_uid, b->pod_uid) == 0;
        if (!a->pod || !b->pod)
                return false;
        return str_eq(a->pod, b->pod) && str_eq(a->pod_namespace, b->pod_namespace) &&
               str_eq(a->engine, b->engine);
}

/* What several candidates have in common (n of them, all known: found <= the array): one pod
 * (ATTRIBUTION_POD: under CRI-O a pod's containers share its sandbox's categories, a Podman pod
 * can share a label), one Kubernetes namespace (ATTRIBUTION_NAMESPACE: OpenShift gives all pods of
 * a namespace one pair), else ATTRIBUTION_AMBIGUOUS. Candidates beyond the array are unknown:
 * ambiguous. */
static Attribution candidates_level(const ContainerInfo *const *cands, size_t n, size_t found) {
        bool pod = true, ns = true;

        if (n < 2 || found > n)
                return ATTRIBUTION_AMBIGUOUS;
        for (size_t i = 0; i < n; i++) {
                pod = pod && same_pod(cands[0], cands[i]);
                ns = ns && cands[i]->pod_namespace &&
                     str_eq(cands[0]->pod_namespace, cands[i]->pod_namespace);
        }
        return pod ? ATTRIBUTION_POD : ns ? ATTRIBUTION_NAMESPACE : ATTRIBUTION_AMBIGUOUS;
}

/* ---- persistence ---- */

static int registry_persist(Registry *r, Entry *e) {
        if (!r->store)
                return 0;
        e->row = 0;
        return store_container_save(r->store, &e->info, &e->row);
}

/* The rows of the candidates that have one, in cands' order; returns how many. */
static size_t candidate_rows(Registry *r, const ContainerInfo *const *cands, size_t n,
                             int64_t *rows) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                Entry *e = registry_find(r, cands[i]->id);
                if (e && e->row > 0)
                        rows[k++] = e->row;
        }
        return k;
}

static int64_t entry_row(Registry *r, const ContainerInfo *c) {
        Entry *e = registry_find(r, c->id);
        return e ? e->row : 0;
}

/* The stored denials to look at again: those of the lifetime before and after the change (a
 * shorter lifetime frees the denials it no longer covers). */
typedef struct Window {
        int64_t begin, end; /* [begin, end) */
} Window;

static Window window_make(int64_t begin, int64_t end) {
        return (Window){
                .begin = MAX(begin, 0),
                .end = end < INT64_MAX ? end + 1 : INT64_MAX,
        };
}

typedef struct Reresolve {
        Registry *registry;
        const Entry *entry;
} Reresolve;

/* The source side of a stored denial of e's lifetime that carries its categories and was not
 * attributed by pid: what the registry says now. */
static int reresolve_source(int64_t time_ms, StoreReattribution *ret, void *userdata) {
        Reresolve *x = userdata;
        const ContainerInfo *cands[REGISTRY_CANDIDATES_MAX];
        size_t n =
                registry_match(x->registry, &x->entry->info.mcs, time_ms, cands, ELEMENTSOF(cands));

        *ret = (StoreReattribution){.attribution = ATTRIBUTION_NONE};
        if (n == 1) {
                ret->container = entry_row(x->registry, cands[0]);
                ret->attribution = ret->container ? ATTRIBUTION_MCS : ATTRIBUTION_NONE;
        } else if (n > 1) {
                ret->attribution = candidates_level(cands, MIN(n, ELEMENTSOF(cands)), n);
                ret->n_candidates = candidate_rows(x->registry, cands, MIN(n, ELEMENTSOF(cands)),
                                                   ret->candidates);
        }
        return 0;
}

/* The target side: denials whose target carries e's categories name the one container that had
 * them then, unless that is the denial's own container. */
static int64_t reresolve_target(int64_t time_ms, int64_t container, void *userdata) {
        Reresolve *x = userdata;
        const ContainerInfo *cands[1];
        size_t n = registry_match(x->registry, &x->entry->info.mcs, time_ms, cands, 1);
        int64_t target = n == 1 ? entry_row(x->registry, cands[0]) : 0;
        return target == container ? 0 : target;
}

static int registry_reresolve(Registry *r, const Entry *e, Window w) {
        Reresolve x = {.registry = r, .entry = e};
        int k;

        if (!r->store || !e->info.has_mcs)
                return 0;
        k = store_container_reattribute(r->store, &e->info.mcs, w.begin, w.end,
                                        REGISTRY_RERESOLVE_ROWS_MAX, reresolve_source, &x);
        if (k < 0)
                return k;
        return store_container_retarget(r->store, &e->info.mcs, w.begin, w.end,
                                        REGISTRY_RERESOLVE_ROWS_MAX, reresolve_target, &x);
}

/* ---- updates ---- */

static int replace_string(char **dst, const char *src, bool *changed) {
        if (!src || (*dst && strcmp(*dst, src) == 0))
                return 0;
        char *copy = strdup(src);
        if (!copy)
                return -ENOMEM;
        free(*dst);
        *dst = copy;
        *changed = true;
        return 0;
}

static void replace_time(int64_t *dst, int64_t src, bool *changed) {
        if (src > 0 && *dst != src) {
                *dst = src;
                *changed = true;
        }
}

static void index_rebuild(Registry *r) {
        memset(r->index, 0, REGISTRY_INDEX_SLOTS * sizeof(int32_t));
        memset(r->mcs_heads, 0, REGISTRY_MCS_BUCKETS * sizeof(int32_t));
        for (size_t i = 0; i < r->n_entries; i++) {
                *index_slot(r, r->entries[i].info.id) = (int32_t) (i + 1);
                if (r->entries[i].info.has_mcs)
                        mcs_link(r, &r->entries[i]);
        }
}

/* How long ago a container ended, for eviction: removed ones first (tier 0, by removal time),
 * then those that exited and were never removed (tier 1, by when they stopped: a host whose
 * engine has no API, seen through the /proc scan only, never reports a removal). Running ones and
 * those whose state is unknown are never evicted (tier 2). */
static int eviction_tier(const ContainerInfo *c, int64_t *ret_ended_ms) {
        if (c->removed_ms > 0) {
                *ret_ended_ms = c->removed_ms;
                return 0;
        }
        if (c->state == CONTAINER_STATE_EXITED && c->finished_ms > 0) {
                *ret_ended_ms = c->finished_ms;
                return 1;
        }
        *ret_ended_ms = 0;
        return 2;
}

static int compare_ended(const void *a, const void *b) {
        const Entry *x = *(const Entry *const *) a, *y = *(const Entry *const *) b;
        int64_t ex, ey;
        int tx = eviction_tier(&x->info, &ex), ty = eviction_tier(&y->info, &ey);
        if (tx != ty)
                return tx < ty ? -1 : 1;
        return ex < ey ? -1 : ex > ey ? 1 : 0;
}

/* Makes room: the REGISTRY_EVICT_BATCH containers that ended longest ago (removed first, then
 * exited) leave memory. Their rows stay in the database, so queries by name still find their
 * denials, and an engine's event brings one back if it starts again. -EXFULL when every
 * container runs (or may): not -ENOSPC, which is the store's full disk. */
static int registry_evict(Registry *r) {
        if (r->full_of_live)
                return -EXFULL;
        _cleanup_(freep) Entry **ended = calloc(r->n_entries, sizeof(Entry *));
        size_t n = 0;
        int64_t unused;

        if (!ended)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_entries; i++)
                if (eviction_tier(&r->entries[i].info, &unused) < 2)
                        ended[n++] = &r->entries[i];
        if (n == 0) {
                r->full_of_live = true;
                return -EXFULL;
        }
        qsort(ended, n, sizeof(Entry *), compare_ended);
        n = MIN(n, (size_t) REGISTRY_EVICT_BATCH);
        for (size_t i = 0; i < n; i++) {
                container_info_done(&ended[i]->info); /* id NULL: marks it for compaction */
                ended[i]->row = -1;
        }
        size_t kept = 0;
        for (size_t i = 0; i < r->n_entries; i++)
                if (r->entries[i].row != -1)
                        r->entries[kept++] = r->entries[i];
        r->n_entries = kept;
        index_rebuild(r);
        return 0;
}

static int registry_update_entry(Registry *r, const ContainerInfo *c) {
        bool changed = false, mcs_changed = false, is_new = false;
        Entry *e;
        int k;

        int32_t *slot = index_slot(r, c->id);
        if (*slot)
                e = &r->entries[*slot - 1];
        else {
                if (r->n_entries >= REGISTRY_CONTAINERS_MAX) {
                        k = registry_evict(r);
                        if (k < 0)
                                return k;
                        slot = index_slot(r, c->id);
                }
                e = &r->entries[r->n_entries];
                *e = (Entry){};
                e->info.id = strdup(c->id);
                if (!e->info.id)
                        return -ENOMEM;
                r->n_entries++;
                *slot = (int32_t) r->n_entries;
                is_new = changed = true;
        }

        char **dst[] = {&e->info.name,
                        &e->info.image,
                        &e->info.engine,
                        &e->info.pod,
                        &e->info.pod_namespace,
                        &e->info.compose_project,
                        &e->info.compose_service,
                        &e->info.label,
                        &e->info.pod_uid,
                        &e->info.sandbox_id};
        const char *src[] = {c->name,          c->image,           c->engine,          c->pod,
                             c->pod_namespace, c->compose_project, c->compose_service, c->label,
                             c->pod_uid,       c->sandbox_id};
        for (size_t i = 0; i < ELEMENTSOF(dst); i++) {
                k = replace_string(dst[i], src[i], &changed);
                if (k < 0)
                        return k;
        }
        /* Only a runtime's metadata says "sandbox"; nothing ever makes a sandbox a workload. */
        if (c->sandbox && !e->info.sandbox) {
                e->info.sandbox = true;
                changed = true;
        }
        if (c->has_mcs && (!e->info.has_mcs || !mcs_set_equal(&e->info.mcs, &c->mcs))) {
                if (e->info.has_mcs)
                        mcs_unlink(r, e);
                e->info.mcs = c->mcs;
                e->info.has_mcs = true;
                e->mcs_hash = mcs_hash(&c->mcs);
                mcs_link(r, e);
                changed = mcs_changed = true;
        }
        int64_t old_begin = entry_begin(&e->info), old_end = entry_end(&e->info);
        bool old_never_ran = entry_never_ran(&e->info);
        replace_time(&e->info.created_ms, c->created_ms, &changed);
        replace_time(&e->info.started_ms, c->started_ms, &changed);
        replace_time(&e->info.finished_ms, c->finished_ms, &changed);
        replace_time(&e->info.removed_ms, c->removed_ms, &changed);
        if (c->state != CONTAINER_STATE_UNKNOWN && e->info.state != c->state) {
                e->info.state = c->state;
                changed = true;
        }
        if (eviction_tier(&e->info, &(int64_t){0}) < 2)
                r->full_of_live = false; /* one ended: it can make room */
        bool lifetime_changed = old_begin != entry_begin(&e->info) ||
                                old_end != entry_end(&e->info) ||
                                old_never_ran != entry_never_ran(&e->info);

        if (!changed)
                return 0;
        k = registry_persist(r, e);
        if (k < 0)
                return k;
        if (e->info.has_mcs && (is_new || mcs_changed || lifetime_changed)) {
                /* A begin that moves later (a restart, or a restarted container that exited:
                 * entry_ran_before()) takes no denial away from the earlier runs; one that was
                 * unknown (open) frees those before the start now known. */
                Window w = window_make(old_begin > 0 ? entry_begin(&e->info) : 0,
                                       MAX(old_end, entry_end(&e->info)));
                if (is_new)
                        w = window_make(entry_begin(&e->info), entry_end(&e->info));
                k = registry_reresolve(r, e, w);
                if (k < 0)
                        return k;
        }
        return 1;
}

static bool info_strings_valid(const ContainerInfo *c) {
        const char *strings[] = {c->name,          c->image,           c->engine,          c->pod,
                                 c->pod_namespace, c->compose_project, c->compose_service, c->label,
                                 c->pod_uid,       c->sandbox_id};
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (strings[i] && strlen(strings[i]) > CONTAINER_STRING_MAX)
                        return false;
        return true;
}

int registry_update(Registry *r, const ContainerInfo *c) {
        int k;

        if (!r || !c || !container_id_is_valid(c->id) || !info_strings_valid(c) ||
            (int) c->state < 0 || c->state >= _CONTAINER_STATE_MAX)
                return -EINVAL;
        if (!r->store)
                return registry_update_entry(r, c);
        k = store_container_begin(r->store);
        if (k < 0)
                return k;
        return store_container_end(r->store, registry_update_entry(r, c));
}

int registry_batch_begin(Registry *r) {
        return r && r->store ? store_container_begin(r->store) : 0;
}

int registry_batch_end(Registry *r) {
        return r && r->store ? store_container_end(r->store, 0) : 0;
}

static int registry_mark(Registry *r, const char *id, int64_t ms, bool removed) {
        ContainerInfo c = {.id = (char *) id, .state = CONTAINER_STATE_EXITED};

        if (!r || !id || ms <= 0)
                return -EINVAL;
        if (!registry_find(r, id))
                return -ENOENT;
        if (removed)
                c.removed_ms = ms;
        else
                c.finished_ms = ms;
        /* A shorter lifetime can turn an ambiguous denial of a later time into an "mcs" one. */
        return registry_update(r, &c);
}

int registry_mark_finished(Registry *r, const char *id, int64_t finished_ms) {
        return registry_mark(r, id, finished_ms, false);
}

int registry_mark_removed(Registry *r, const char *id, int64_t removed_ms) {
        return registry_mark(r, id, removed_ms, true);
}

int registry_foreach(Registry *r, registry_foreach_cb cb, void *userdata) {
        if (!r || !cb)
                return -EINVAL;
        for (size_t i = 0; i < r->n_entries; i++) {
                int k = cb(&r->entries[i].info, userdata);
                if (k != 0)
                        return k;
        }
        return 0;
}

/* ---- resolution ---- */

static int ref_from_info(const ContainerInfo *c, ContainerRef *ret) {
        ContainerRef ref = {};
        const char *src[] = {c->id, c->name, c->image, c->engine, c->pod, c->pod_namespace};
        char **dst[] = {&ref.id, &ref.name, &ref.image, &ref.engine, &ref.pod, &ref.pod_namespace};
        for (size_t i = 0; i < ELEMENTSOF(src); i++)
                if (src[i] && !(*dst[i] = strdup(src[i]))) {
                        container_ref_done(&ref);
                        return -ENOMEM;
                }
        *ret = ref;
        return 0;
}

int registry_fill_ref(Registry *r, ContainerRef *c) {
        if (!r || !c || !c->id)
                return 0;
        const ContainerInfo *info = registry_get(r, c->id);
        if (!info)
                return 0;
        ContainerRef filled;
        int k = ref_from_info(info, &filled);
        if (k < 0)
                return k;
        if (!filled.engine && c->engine)
                filled.engine = TAKE_PTR(c->engine);
        container_ref_done(c);
        *c = filled;
        return 1;
}

/* A USER_AVC whose sender's subj= (the kernel's, SELinux hosts) is a container domain: the
 * message is that container's claim, not evidence about what it names. Returns 1 and marks d
 * ATTRIBUTION_SENDER, with the container the subject's categories name when exactly one known
 * container had them; 0 for any other denial. */
static int resolve_sender_subj(Registry *r, Denial *d) {
        char type[256], mcs[4096];
        const ContainerInfo *cand;
        McsSet set;
        bool container_domain = false;

        if (d->record_type != AUDIT_TYPE_USER_AVC || !d->sender_subj ||
            context_split(d->sender_subj, type, sizeof(type), mcs, sizeof(mcs)) < 0)
                return 0;
        for (size_t i = 0; domain_patterns_default[i] && !container_domain; i++)
                container_domain = fnmatch(domain_patterns_default[i], type, 0) == 0;
        if (!container_domain)
                return 0;

        /* a container the pid it names was in is the claim's (the sender could not be looked
         * up, daemon/attribution/attributor.c): forgotten */
        if (d->attribution == ATTRIBUTION_PID) {
                container_ref_done(&d->container);
                d->has_container = false;
        }
        d->attribution = ATTRIBUTION_SENDER;
        if (!d->has_container && mcs[0] && mcs_set_parse(mcs, &set) >= 0 &&
            registry_match(r, &set, d->time_ms, &cand, 1) == 1) {
                ContainerRef c;
                int k = ref_from_info(cand, &c);
                if (k < 0)
                        return k;
                container_ref_done(&d->container);
                d->container = c;
                d->has_container = true;
        }
        return 1;
}

int registry_resolve_denial(Registry *r, Denial *d) {
        const ContainerInfo *cands[REGISTRY_CANDIDATES_MAX];
        McsSet set;
        int k;

        if (!r || !d)
                return -EINVAL;

        /* A claim of a container names no one else: neither by its subject's categories nor by
         * its target's, which the sender wrote as well. */
        if (d->attribution == ATTRIBUTION_SENDER)
                return 0;
        k = resolve_sender_subj(r, d);
        if (k != 0)
                return k < 0 ? k : 0;

        if (!d->has_container && d->mcs && mcs_set_parse(d->mcs, &set) >= 0) {
                size_t n = registry_match(r, &set, d->time_ms, cands, ELEMENTSOF(cands));
                if (n == 1) {
                        ContainerRef c;
                        k = ref_from_info(cands[0], &c);
                        if (k < 0)
                                return k;
                        container_ref_done(&d->container);
                        d->container = c;
                        d->has_container = true;
                        d->attribution = ATTRIBUTION_MCS;
                } else if (n > 1) {
                        d->attribution = candidates_level(cands, MIN(n, ELEMENTSOF(cands)), n);
                        denial_clear_candidates(d);
                        for (size_t i = 0; i < MIN(n, ELEMENTSOF(cands)); i++) {
                                ContainerRef c;
                                k = ref_from_info(cands[i], &c);
                                if (k < 0)
                                        return k;
                                k = denial_add_candidate(d, &c);
                                container_ref_done(&c);
                                if (k < 0)
                                        return k;
                        }
                        if (r->store) {
                                int64_t rows[REGISTRY_CANDIDATES_MAX];
                                size_t n_rows =
                                        candidate_rows(r, cands, MIN(n, ELEMENTSOF(cands)), rows);
                                k = store_container_queue_candidates(
                                        r->store, d->time_ms, d->serial, d->seq, rows, n_rows);
                                if (k < 0)
                                        return k;
                        }
                }
        }

        if (!d->has_target_container && d->target_mcs && mcs_set_parse(d->target_mcs, &set) >= 0) {
                size_t n = registry_match(r, &set, d->time_ms, cands, 1);
                if (n == 1 && !(d->has_container && d->container.id &&
                                strcmp(d->container.id, cands[0]->id) == 0)) {
                        ContainerRef t;
                        k = ref_from_info(cands[0], &t);
                        if (k < 0)
                                return k;
                        container_ref_done(&d->target_container);
                        d->target_container = t;
                        d->has_target_container = true;
                }
        }
        return 0;
}

/* ---- lifetime of the handle ---- */

static int load_one(int64_t row, ContainerInfo *c, void *userdata) {
        Registry *r = userdata;

        if (!container_id_is_valid(c->id) || registry_find(r, c->id) ||
            r->n_entries >= REGISTRY_CONTAINERS_MAX) {
                container_info_done(c);
                return 0;
        }
        Entry *e = &r->entries[r->n_entries];
        *e = (Entry){.info = *c, .row = row};
        *c = (ContainerInfo){};
        if (e->info.has_mcs) {
                e->mcs_hash = mcs_hash(&e->info.mcs);
                mcs_link(r, e);
        }
        r->n_entries++;
        *index_slot(r, e->info.id) = (int32_t) r->n_entries;
        return 0;
}

int registry_new(Store *store, Registry **ret) {
        Registry *r;
        int k;

        if (!ret)
                return -EINVAL;
        r = calloc(1, sizeof(Registry));
        if (!r)
                return -ENOMEM;
        r->entries = calloc(REGISTRY_CONTAINERS_MAX, sizeof(Entry));
        r->index = calloc(REGISTRY_INDEX_SLOTS, sizeof(int32_t));
        r->mcs_heads = calloc(REGISTRY_MCS_BUCKETS, sizeof(int32_t));
        if (!r->entries || !r->index || !r->mcs_heads) {
                registry_free(r);
                return -ENOMEM;
        }
        r->store = store;
        if (store) {
                k = store_container_load_all(store, REGISTRY_CONTAINERS_MAX, load_one, r);
                if (k < 0) {
                        registry_free(r);
                        return k;
                }
        }
        *ret = r;
        return 0;
}

Registry *registry_free(Registry *r) {
        if (!r)
                return NULL;
        if (r->entries)
                for (size_t i = 0; i < r->n_entries; i++)
                        container_info_done(&r->entries[i].info);
        free(r->entries);
        free(r->index);
        free(r->mcs_heads);
        free(r);
        return NULL;
}

/* ---- the Containers listing ---- */

/* The counts are extras of the listing: a failure to read them shows 0. */
static void entry_counts(Registry *r, const Entry *e, int64_t *ret_denials,
                         int64_t *ret_ambiguous) {
        uint64_t denials = 0, ambiguous = 0;
        if (r->store && store_container_counts(r->store, e->row, &denials, &ambiguous) < 0)
                denials = ambiguous = 0;
        *ret_denials = (int64_t) MIN(denials, (uint64_t) INT64_MAX);
        *ret_ambiguous = (int64_t) MIN(ambiguous, (uint64_t) INT64_MAX);
}

static int64_t entry_sort_key(const Entry *e) {
        int64_t b = entry_created(&e->info);
        return b > 0 ? b : 0;
}

static int compare_entries(const void *a, const void *b) {
        const Entry *x = *(const Entry *const *) a, *y = *(const Entry *const *) b;
        int64_t kx = entry_sort_key(x), ky = entry_sort_key(y);
        if (kx != ky)
                return kx > ky ? -1 : 1;
        return strcmp(x->info.id, y->info.id);
}

int registry_list(Registry *r, registry_list_cb cb, void *userdata) {
        _cleanup_(freep) const Entry **sorted = NULL;

        if (!r || !cb)
                return -EINVAL;
        sorted = calloc(r->n_entries + 1, sizeof(Entry *));
        if (!sorted)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_entries; i++)
                sorted[i] = &r->entries[i];
        qsort(sorted, r->n_entries, sizeof(Entry *), compare_entries);

        size_t n = MIN(r->n_entries, (size_t) REGISTRY_LIST_MAX);
        for (size_t i = 0; i < n; i++) {
                int64_t denials, ambiguous;
                entry_counts(r, sorted[i], &denials, &ambiguous);
                int k = cb(&sorted[i]->info, denials, ambiguous, userdata);
                if (k != 0)
                        return k;
        }
        return 0;
}
