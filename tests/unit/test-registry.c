/* SPDX-License-Identifier: MIT */
/* The container registry (daemon/attribution/registry.c), in memory and on a real SQLite file in a
 * temp directory: label -> category set, MCS + time matching at the lifetime's edges, ambiguity
 * with every candidate kept, partial updates, re-resolution of stored denials when a container is
 * learnt late (source and target side), persistence across a reopen (also for removed
 * containers and queries by name), the bounds (string length, REGISTRY_CONTAINERS_MAX with
 * eviction of the longest-removed containers) and the Containers reply. */

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "container.h"
#include "filter.h"
#include "fixtures.h"
#include "macro.h"
#include "registry.h"
#include "reply-json.h"
#include "store.h"
#include "tests/unit/test.h"

#define ID_A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define ID_B "bbbb000000000000000000000000000000000000000000000000000000000002"
#define ID_C "cccc000000000000000000000000000000000000000000000000000000000003"
#define T0 INT64_C(1713600000000) /* ms */
#define MIN_MS (60 * 1000)

static char *tmpdir;

static McsSet mcs(const char *text) {
        McsSet s;
        CHECK_RC(mcs_set_parse(text, &s), 0);
        return s;
}

/* A container with these categories, created at created_ms; removed_ms 0: still running. */
static int add(Registry *r, const char *id, const char *name, const char *cats, int64_t created_ms,
               int64_t removed_ms) {
        ContainerInfo c = {
                .id = (char *) id,
                .name = (char *) name,
                .image = (char *) "busybox:latest",
                .engine = (char *) "docker",
                .created_ms = created_ms,
                .started_ms = created_ms + 100,
                .removed_ms = removed_ms,
                .state = removed_ms ? CONTAINER_STATE_EXITED : CONTAINER_STATE_RUNNING,
        };
        if (cats) {
                c.has_mcs = true;
                c.mcs = mcs(cats);
        }
        return registry_update(r, &c);
}

static void test_label_mcs(void) {
        McsSet s;
        char buf[64];

        /* The type starts with "c": the level must be found by the grammar, not by ":c". */
        CHECK_RC(container_label_mcs("system_u:system_r:container_t:s0:c170,c393", &s), 1);
        CHECK(mcs_set_format(&s, buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "c170,c393");
        CHECK_RC(container_label_mcs("level:s0:c1,c2", &s), 1);
        CHECK(mcs_set_equal(&s, &(McsSet){.bits = {6}}));
        CHECK_RC(container_label_mcs("s0:c5,c6", &s), 1);
        CHECK_RC(container_label_mcs("c5,c6", &s), 1);
        CHECK_RC(container_label_mcs("s0-s0:c0.c1023", &s), 1);
        CHECK(mcs_set_format(&s, buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "c0.c1023");
        CHECK_RC(container_label_mcs("system_u:system_r:spc_t:s0", &s), 0);
        CHECK_RC(container_label_mcs("level:s0", &s), 0);
        CHECK_RC(container_label_mcs("s0", &s), 0);
        CHECK_RC(container_label_mcs("unconfined", &s), -EINVAL);
        CHECK_RC(container_label_mcs("system_u:system_r:container_t:s0:c1,c2\n", &s), -EINVAL);
        CHECK_RC(container_label_mcs("level:s0:c1,c9999", &s), -EINVAL);
        CHECK_RC(container_label_mcs(NULL, &s), -EINVAL);
}

static void test_match_memory(void) {
        Registry *r;
        const ContainerInfo *found[4];

        CHECK_RC(registry_new(NULL, &r), 0);
        CHECK_RC(add(r, ID_A, "web", "c1,c2", T0, T0 + 10 * MIN_MS), 1);
        CHECK_RC(add(r, ID_A, "web", "c1,c2", T0, T0 + 10 * MIN_MS), 0); /* nothing new */
        CHECK_RC(add(r, ID_B, "db", "c3,c4", T0, 0), 1);
        CHECK_RC(registry_size(r), 2);

        McsSet s = mcs("c1,c2");
        CHECK_RC(registry_match(r, &s, T0 + MIN_MS, found, 4), 1);
        CHECK_STREQ(found[0]->name, "web");
        /* The lifetime's edges, widened by the slacks, and beyond: started 100 ms after its
         * creation, it begins a tick before Created (the start slack reaches further back). */
        CHECK_RC(registry_match(r, &s, T0 - REGISTRY_CLOCK_TICK_MS, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 - REGISTRY_CLOCK_TICK_MS - 1, NULL, 0), 0);
        CHECK_RC(registry_match(r, &s, T0 + 10 * MIN_MS + REGISTRY_END_SLACK_MS, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 + 10 * MIN_MS + REGISTRY_END_SLACK_MS + 1, NULL, 0), 0);
        /* A running container's lifetime is open-ended. */
        s = mcs("c3,c4");
        CHECK_RC(registry_match(r, &s, T0 + 1000 * MIN_MS, NULL, 0), 1);
        s = mcs("c1,c3");
        CHECK_RC(registry_match(r, &s, T0 + MIN_MS, NULL, 0), 0);

        /* The same categories reused later by another container: each time has its own. */
        CHECK_RC(add(r, ID_C, "web2", "c1,c2", T0 + 20 * MIN_MS, 0), 1);
        s = mcs("c1,c2");
        CHECK_RC(registry_match(r, &s, T0 + MIN_MS, found, 4), 1);
        CHECK_STREQ(found[0]->id, ID_A);
        CHECK_RC(registry_match(r, &s, T0 + 30 * MIN_MS, found, 4), 1);
        CHECK_STREQ(found[0]->id, ID_C);

        /* A partial update (a rename) keeps what it does not say: state, label, times. */
        ContainerInfo rename = {.id = (char *) ID_B, .name = (char *) "db-renamed"};
        CHECK_RC(registry_update(r, &rename), 1);
        const ContainerInfo *b = registry_get(r, ID_B);
        CHECK(b);
        CHECK_STREQ(b->name, "db-renamed");
        CHECK_STREQ(b->image, "busybox:latest");
        CHECK_RC(b->state, CONTAINER_STATE_RUNNING);
        CHECK(b->has_mcs);
        CHECK_RC(b->created_ms, T0);

        /* Finished: the lifetime closes at the finish time. */
        CHECK_RC(registry_mark_finished(r, ID_B, T0 + 5 * MIN_MS), 1);
        s = mcs("c3,c4");
        CHECK_RC(registry_match(r, &s, T0 + 6 * MIN_MS, NULL, 0), 0);
        CHECK_RC(registry_match(r, &s, T0 + 4 * MIN_MS, NULL, 0), 1);
        CHECK_RC(registry_mark_removed(r, "dddd", T0), -ENOENT);

        /* Bad input is refused whole. */
        ContainerInfo bad = {.id = (char *) "id with space"};
        CHECK_RC(registry_update(r, &bad), -EINVAL);
        bad.id = NULL;
        CHECK_RC(registry_update(r, &bad), -EINVAL);
        char *long_name = malloc(CONTAINER_STRING_MAX + 2);
        CHECK(long_name);
        memset(long_name, 'x', CONTAINER_STRING_MAX + 1);
        long_name[CONTAINER_STRING_MAX + 1] = 0;
        bad = (ContainerInfo){.id = (char *) ID_A, .name = long_name};
        CHECK_RC(registry_update(r, &bad), -EINVAL);
        long_name[CONTAINER_STRING_MAX] = 0; /* exactly at the bound: accepted */
        CHECK_RC(registry_update(r, &bad), 1);
        CHECK_STREQ(registry_get(r, ID_A)->name, long_name);
        free(long_name);
        registry_free(r);
}

/* A container as an engine's inspect says it: created, started (0: never), finished (0: not),
 * in that state. */
static int add_times(Registry *r, const char *id, const char *cats, int64_t created_ms,
                     int64_t started_ms, int64_t finished_ms, ContainerState state) {
        ContainerInfo c = {
                .id = (char *) id,
                .name = (char *) id,
                .engine = (char *) "docker",
                .has_mcs = true,
                .mcs = mcs(cats),
                .created_ms = created_ms,
                .started_ms = started_ms,
                .finished_ms = finished_ms,
                .state = state,
        };
        return registry_update(r, &c);
}

/* The lifetime's rules (registry.c): from REGISTRY_START_SLACK_MS before StartedAt but not
 * before Created, to REGISTRY_END_SLACK_MS after its end; a restart keeps the earlier runs. */
static void test_lifetime(void) {
        Registry *r;
        McsSet s;

        CHECK_RC(registry_new(NULL, &r), 0);

        /* docker run 1.5 s after a denial of the only container with that label: not a
         * candidate for it, whichever of its times is looked at; after its start, both are. */
        CHECK_RC(add_times(r, "a", "c1,c2", T0 - MIN_MS, T0 - MIN_MS + 300, 0,
                           CONTAINER_STATE_RUNNING),
                 1);
        CHECK_RC(add_times(r, "b", "c1,c2", T0 + 1500, T0 + 1800, 0, CONTAINER_STATE_RUNNING), 1);
        s = mcs("c1,c2");
        CHECK_RC(registry_match(r, &s, T0, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 + 1500 - REGISTRY_CLOCK_TICK_MS - 1, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 + 1500 - REGISTRY_CLOCK_TICK_MS, NULL, 0), 2);
        CHECK_RC(registry_match(r, &s, T0 + 1800, NULL, 0), 2);

        /* Created long before its start (docker create, then start): the start's slack. */
        CHECK_RC(add_times(r, "c", "c3,c4", T0 - 60 * MIN_MS, T0, 0, CONTAINER_STATE_RUNNING), 1);
        s = mcs("c3,c4");
        CHECK_RC(registry_match(r, &s, T0 - REGISTRY_START_SLACK_MS, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 - REGISTRY_START_SLACK_MS - 1, NULL, 0), 0);

        /* Known by a start event alone (no Created yet): the start's slack too. */
        ContainerInfo started = {
                .id = (char *) "d", .has_mcs = true, .mcs = mcs("c5,c6"), .started_ms = T0};
        CHECK_RC(registry_update(r, &started), 1);
        s = mcs("c5,c6");
        CHECK_RC(registry_match(r, &s, T0 - REGISTRY_START_SLACK_MS, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 - REGISTRY_START_SLACK_MS - 1, NULL, 0), 0);

        /* Restarted and running: FinishedAt is the previous run's end, before StartedAt; its
         * earlier runs had the label, so it lives from its creation. */
        CHECK_RC(add_times(r, "e", "c7,c8", T0 - 60 * MIN_MS, T0, T0 - MIN_MS,
                           CONTAINER_STATE_RUNNING),
                 1);
        s = mcs("c7,c8");
        CHECK_RC(registry_match(r, &s, T0 - 30 * MIN_MS, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 - 61 * MIN_MS, NULL, 0), 0);

        /* Exited at once: the runtime stamped the exit 2 ms before the engine stamped the start
         * (measured): one short run, closed at its start (+ the end's slack), not open-ended. */
        CHECK_RC(add_times(r, "f", "c9,c10", T0 - 300, T0, T0 - 2, CONTAINER_STATE_EXITED), 1);
        s = mcs("c9,c10");
        CHECK_RC(registry_match(r, &s, T0 - 2, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 + REGISTRY_END_SLACK_MS, NULL, 0), 1);
        CHECK_RC(registry_match(r, &s, T0 + REGISTRY_END_SLACK_MS + 1, NULL, 0), 0);
        registry_free(r);
}

/* A running container with categories cats in pod pod of namespace ns (NULL: none). */
static int add_in_pod(Registry *r, const char *id, const char *engine, const char *cats,
                      const char *pod, const char *ns) {
        ContainerInfo c = {
                .id = (char *) id,
                .name = (char *) id,
                .engine = (char *) engine,
                .pod = (char *) pod,
                .pod_namespace = (char *) ns,
                .has_mcs = true,
                .mcs = mcs(cats),
                .created_ms = T0,
                .started_ms = T0 + 100,
                .state = CONTAINER_STATE_RUNNING,
        };
        return registry_update(r, &c);
}

/* The attribution of a denial of a gone process with these categories, an hour after T0. */
static Denial resolve_cats(Registry *r, const char *cats) {
        Denial d = fixture_denial(T0 + 60 * MIN_MS, 1);
        set_string(&d.mcs, cats);
        CHECK_RC(registry_resolve_denial(r, &d), 0);
        return d;
}

/* Several candidates of one pod, or of one namespace, name the denial at that level. */
static void test_pod_level(void) {
        Registry *r;
        Denial d;

        CHECK_RC(registry_new(NULL, &r), 0);
        /* CRI-O: the sandbox and the pod's containers share the sandbox's categories. */
        CHECK_RC(add_in_pod(r, "sandbox1", "cri-o", "c1,c2", "web-7f9", "shop"), 1);
        CHECK_RC(add_in_pod(r, "app1", "cri-o", "c1,c2", "web-7f9", "shop"), 1);
        CHECK_RC(add_in_pod(r, "sidecar1", "cri-o", "c1,c2", "web-7f9", "shop"), 1);
        d = resolve_cats(r, "c1,c2");
        CHECK_RC(d.attribution, ATTRIBUTION_POD);
        CHECK(!d.has_container);
        CHECK_RC(d.n_candidates, 3);
        CHECK_STREQ(d.candidates[0].pod, "web-7f9");
        CHECK_STREQ(d.candidates[0].pod_namespace, "shop");
        denial_done(&d);

        /* OpenShift: two pods of one namespace with the namespace's pair. */
        CHECK_RC(add_in_pod(r, "a", "cri-o", "c3,c4", "web-1", "shop"), 1);
        CHECK_RC(add_in_pod(r, "b", "cri-o", "c3,c4", "db-1", "shop"), 1);
        d = resolve_cats(r, "c3,c4");
        CHECK_RC(d.attribution, ATTRIBUTION_NAMESPACE);
        CHECK(!d.has_container);
        CHECK_RC(d.n_candidates, 2);
        denial_done(&d);

        /* Mixed: another namespace, or a container in no pod, among them: ambiguous. */
        CHECK_RC(add_in_pod(r, "c", "cri-o", "c3,c4", "web-1", "billing"), 1);
        d = resolve_cats(r, "c3,c4");
        CHECK_RC(d.attribution, ATTRIBUTION_AMBIGUOUS);
        CHECK_RC(d.n_candidates, 3);
        denial_done(&d);
        CHECK_RC(add_in_pod(r, "e", "docker", "c5,c6", "web-1", "shop"), 1);
        CHECK_RC(add_in_pod(r, "f", "docker", "c5,c6", NULL, NULL), 1);
        d = resolve_cats(r, "c5,c6");
        CHECK_RC(d.attribution, ATTRIBUTION_AMBIGUOUS);
        denial_done(&d);

        /* A Podman pod (no namespace) sharing one label: its pod. The same pod name from
         * another engine is another pod, though of no namespace either: ambiguous. */
        CHECK_RC(add_in_pod(r, "p1", "podman", "c7,c8", "mypod", NULL), 1);
        CHECK_RC(add_in_pod(r, "p2", "podman", "c7,c8", "mypod", NULL), 1);
        d = resolve_cats(r, "c7,c8");
        CHECK_RC(d.attribution, ATTRIBUTION_POD);
        denial_done(&d);
        CHECK_RC(add_in_pod(r, "p3", "docker", "c7,c8", "mypod", NULL), 1);
        d = resolve_cats(r, "c7,c8");
        CHECK_RC(d.attribution, ATTRIBUTION_AMBIGUOUS);
        denial_done(&d);

        /* Same pod name in two namespaces: two pods of no common namespace. */
        CHECK_RC(add_in_pod(r, "q1", "cri-o", "c9,c10", "web", "a"), 1);
        CHECK_RC(add_in_pod(r, "q2", "cri-o", "c9,c10", "web", "b"), 1);
        d = resolve_cats(r, "c9,c10");
        CHECK_RC(d.attribution, ATTRIBUTION_AMBIGUOUS);
        denial_done(&d);

        /* Pod uids, where known, decide: a StatefulSet's pod recreated with its name (a new
         * uid) while the old one terminates is another pod of the same namespace. A sandbox
         * (CRI's pause container) and a container of one uid are one pod. */
        ContainerInfo sandbox = {.id = (char *) "sb",
                                 .engine = (char *) "containerd",
                                 .pod = (char *) "web-0",
                                 .pod_namespace = (char *) "shop",
                                 .pod_uid = (char *) "uid-1",
                                 .sandbox = true,
                                 .has_mcs = true,
                                 .mcs = mcs("c13,c14"),
                                 .created_ms = T0,
                                 .started_ms = T0 + 100,
                                 .state = CONTAINER_STATE_RUNNING};
        CHECK_RC(registry_update(r, &sandbox), 1);
        ContainerInfo app = sandbox;
        app.id = (char *) "app";
        app.sandbox = false;
        CHECK_RC(registry_update(r, &app), 1);
        d = resolve_cats(r, "c13,c14");
        CHECK_RC(d.attribution, ATTRIBUTION_POD);
        denial_done(&d);
        ContainerInfo again = app;
        again.id = (char *) "app-again";
        again.pod_uid = (char *) "uid-2";
        CHECK_RC(registry_update(r, &again), 1);
        d = resolve_cats(r, "c13,c14");
        CHECK_RC(d.attribution, ATTRIBUTION_NAMESPACE);
        denial_done(&d);

        /* One candidate is still "mcs", whatever its pod. */
        CHECK_RC(add_in_pod(r, "solo", "cri-o", "c11,c12", "web", "shop"), 1);
        d = resolve_cats(r, "c11,c12");
        CHECK_RC(d.attribution, ATTRIBUTION_MCS);
        CHECK_STREQ(d.container.pod, "web");
        denial_done(&d);
        registry_free(r);
}

static void test_ambiguous_order(void) {
        Registry *r;
        const ContainerInfo *found[REGISTRY_CANDIDATES_MAX];
        char id[65];

        CHECK_RC(registry_new(NULL, &r), 0);
        /* More sharing containers than candidates are kept: the count is exact, the list is
         * the latest started first. */
        for (int i = 0; i < REGISTRY_CANDIDATES_MAX + 4; i++) {
                snprintf(id, sizeof(id), "%064d", i + 1);
                CHECK_RC(add(r, id, NULL, "c9,c10", T0 + i * 1000, 0), 1);
        }
        McsSet s = mcs("c9,c10");
        CHECK_RC(registry_match(r, &s, T0 + MIN_MS, found, ELEMENTSOF(found)),
                 REGISTRY_CANDIDATES_MAX + 4);
        for (size_t i = 1; i < ELEMENTSOF(found); i++)
                CHECK(found[i - 1]->started_ms > found[i]->started_ms);
        snprintf(id, sizeof(id), "%064d", REGISTRY_CANDIDATES_MAX + 4);
        CHECK_STREQ(found[0]->id, id);

        Denial d = DENIAL_NULL;
        d.time_ms = T0 + MIN_MS;
        d.mcs = xstrdup("c9,c10");
        CHECK_RC(registry_resolve_denial(r, &d), 0);
        CHECK_RC(d.attribution, ATTRIBUTION_AMBIGUOUS);
        CHECK(!d.has_container);
        CHECK_RC(d.n_candidates, REGISTRY_CANDIDATES_MAX);
        CHECK_STREQ(d.candidates[0].id, id);
        denial_done(&d);
        registry_free(r);
}

/* A container created but never started (docker create; a failed Podman start) has no process
 * that could carry its label: it is no one's candidate, until it starts. */
static void test_never_started(void) {
        const ContainerInfo *found[2];
        Registry *r;

        CHECK_RC(registry_new(NULL, &r), 0);
        CHECK_RC(add(r, ID_A, "web", "c5,c6", T0, 0), 1);
        ContainerInfo created = {
                .id = (char *) ID_B,
                .name = (char *) "created",
                .engine = (char *) "docker",
                .created_ms = T0 + MIN_MS,
                .state = CONTAINER_STATE_EXITED,
                .has_mcs = true,
                .mcs = mcs("c5,c6"),
        };
        CHECK_RC(registry_update(r, &created), 1);
        McsSet s = mcs("c5,c6");
        CHECK_RC(registry_match(r, &s, T0 + 2 * MIN_MS, found, ELEMENTSOF(found)), 1);
        CHECK_STREQ(found[0]->id, ID_A);
        Denial d = DENIAL_NULL;
        d.time_ms = T0 + 2 * MIN_MS;
        d.mcs = xstrdup("c5,c6");
        CHECK_RC(registry_resolve_denial(r, &d), 0);
        CHECK_RC(d.attribution, ATTRIBUTION_MCS);
        CHECK_STREQ(d.container.id, ID_A);
        denial_done(&d);

        /* It starts: a candidate from then on. */
        ContainerInfo started = {.id = (char *) ID_B,
                                 .started_ms = T0 + 3 * MIN_MS,
                                 .state = CONTAINER_STATE_RUNNING};
        CHECK_RC(registry_update(r, &started), 1);
        CHECK_RC(registry_match(r, &s, T0 + 4 * MIN_MS, found, ELEMENTSOF(found)), 2);
        registry_free(r);
}

static void test_bound(void) {
        Registry *r;
        char id[65];

        CHECK_RC(registry_new(NULL, &r), 0);
        /* Full of removed containers: the longest-removed leave memory to make room. */
        for (int i = 0; i < REGISTRY_CONTAINERS_MAX; i++) {
                snprintf(id, sizeof(id), "%064x", i + 1);
                CHECK_RC(add(r, id, NULL, NULL, T0 + i, T0 + 1000000 + i), 1);
        }
        CHECK_RC(registry_size(r), REGISTRY_CONTAINERS_MAX);
        CHECK_RC(add(r, ID_A, "new", "c1,c2", T0 + 2000000, 0), 1);
        CHECK_RC(registry_size(r), REGISTRY_CONTAINERS_MAX - REGISTRY_EVICT_BATCH + 1);
        snprintf(id, sizeof(id), "%064x", 1);
        CHECK(!registry_get(r, id)); /* removed first: gone from memory */
        snprintf(id, sizeof(id), "%064x", REGISTRY_EVICT_BATCH + 1);
        CHECK(registry_get(r, id)); /* removed later: kept */
        CHECK_STREQ(registry_get(r, ID_A)->name, "new");
        registry_free(r);

        /* Full of containers that exited and were never removed (a host seen through the /proc
         * scan only: nothing reports removals): those that stopped longest ago leave, and the
         * removed ones go before any of them. */
        CHECK_RC(registry_new(NULL, &r), 0);
        for (int i = 0; i < REGISTRY_CONTAINERS_MAX; i++) {
                snprintf(id, sizeof(id), "%064x", i + 1);
                CHECK_RC(add(r, id, NULL, NULL, T0 + i, 0), 1);
                ContainerInfo stop = {.id = id,
                                      .state = CONTAINER_STATE_EXITED,
                                      /* the last ones stopped first */
                                      .finished_ms = T0 + 3000000 - i};
                CHECK_RC(registry_update(r, &stop), 1);
        }
        snprintf(id, sizeof(id), "%064x", REGISTRY_CONTAINERS_MAX);
        CHECK_RC(add(r, id, NULL, NULL, T0, T0 + 4000000), 1); /* removed (after all stopped) */
        CHECK_RC(add(r, ID_A, "new", "c1,c2", T0 + 5000000, 0), 1);
        CHECK_RC(registry_size(r), REGISTRY_CONTAINERS_MAX - REGISTRY_EVICT_BATCH + 1);
        CHECK(!registry_get(r, id)); /* the removed one went first */
        snprintf(id, sizeof(id), "%064x", REGISTRY_CONTAINERS_MAX - 1);
        CHECK(!registry_get(r, id)); /* then the one that stopped longest ago */
        snprintf(id, sizeof(id), "%064x", 1);
        CHECK(registry_get(r, id)); /* stopped last: kept */
        CHECK_STREQ(registry_get(r, ID_A)->name, "new");
        registry_free(r);

        /* Full of live containers: nothing may be forgotten, the new one is refused. */
        CHECK_RC(registry_new(NULL, &r), 0);
        for (int i = 0; i < REGISTRY_CONTAINERS_MAX; i++) {
                snprintf(id, sizeof(id), "%064x", i + 1);
                CHECK_RC(add(r, id, NULL, NULL, T0 + i, 0), 1);
        }
        CHECK_RC(add(r, ID_A, "new", "c1,c2", T0, 0), -EXFULL); /* not the disk's ENOSPC */
        snprintf(id, sizeof(id), "%064x", 7);
        CHECK_RC(add(r, id, "known", NULL, T0, 0), 1); /* updates still work */
        registry_free(r);
}

/* The Containers reply stays well inside what the server sends one client (SERVER_OUTPUT_MAX,
 * 8 MiB: beyond it the connection is cut and `avcctl containers` fails), also when whoever starts
 * containers fills every string with CONTAINER_STRING_MAX control characters, each of which
 * JSON spells in six bytes. Then it is truncated (newest first kept), and says so. */
static void test_reply_bound(void) {
        char hostile[CONTAINER_STRING_MAX + 1], id[65];
        Registry *r;
        json_object *o, *list, *v;
        size_t len;

        memset(hostile, 1, CONTAINER_STRING_MAX);
        hostile[CONTAINER_STRING_MAX] = 0;
        CHECK_RC(registry_new(NULL, &r), 0);
        for (int i = 0; i < 400; i++) {
                snprintf(id, sizeof(id), "%064x", i + 1);
                ContainerInfo c = fixture_container_info(id, hostile, T0 + i);
                CHECK_RC(registry_update(r, &c), 1);
        }
        CHECK_RC(containers_reply_to_json(r, &o), 0);
        CHECK(json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len));
        CHECK(len <= 8 * 1024 * 1024 - 64 * 1024);
        CHECK(json_object_object_get_ex(o, "truncated", &v) && json_object_get_boolean(v));
        CHECK(json_object_object_get_ex(o, "containers", &list));
        CHECK(json_object_array_length(list) > 0 && json_object_array_length(list) < 400);
        snprintf(id, sizeof(id), "%064x", 400); /* the newest first */
        CHECK(json_object_object_get_ex(json_object_array_get_idx(list, 0), "id", &v));
        CHECK_STREQ(json_object_get_string(v), id);
        json_object_put(o);
        registry_free(r);
}

/* ---- with a real database ---- */

/* A USER_AVC of a process long gone (pid 999999), container_t:CATS -> container_file_t:TARGET_CATS
 * (NULL: none). */
static Denial make_denial(int64_t time_ms, uint64_t serial, const char *cats,
                          const char *target_cats) {
        Denial d = fixture_denial(time_ms, serial);

        d.record_type = 1107;
        d.pid = 999999;
        set_string(&d.comm, "sh");
        free(d.scontext);
        d.scontext = xasprintf("system_u:system_r:container_t:s0:%s", cats);
        free(d.tcontext);
        d.tcontext = xasprintf("system_u:object_r:container_file_t:s0%s%s", target_cats ? ":" : "",
                               target_cats ? target_cats : "");
        set_string(&d.tclass, "file");
        set_string(&d.target_type, "container_file_t");
        set_string(&d.mcs, cats);
        set_string(&d.target_mcs, target_cats ? target_cats : "");
        set_string(&d.raw, "type=USER_AVC msg=audit(0.0:1): ...");
        return d;
}

typedef struct Collected {
        Denial d[16];
        size_t n;
} Collected;

static int collect(const Denial *d, void *userdata) {
        Collected *c = userdata;
        CHECK(c->n < ELEMENTSOF(c->d));
        CHECK_RC(denial_copy(d, &c->d[c->n++]), 0);
        return 0;
}

static void collected_done(Collected *c) {
        for (size_t i = 0; i < c->n; i++)
                denial_done(&c->d[i]);
        c->n = 0;
}

/* The one stored denial with this serial. */
static Denial query_serial(Store *s, const DenialFilter *f, uint64_t serial) {
        Collected c = {};
        Denial found = DENIAL_NULL;
        bool have = false;

        store_set_query_budget(s, UINT64_MAX);
        CHECK_RC(store_query(s, f, false, NULL, 100, collect, &c, NULL), 0);
        for (size_t i = 0; i < c.n; i++)
                if (c.d[i].serial == serial) {
                        CHECK(!have);
                        CHECK_RC(denial_copy(&c.d[i], &found), 0);
                        have = true;
                }
        collected_done(&c);
        CHECK(have);
        return found;
}

static size_t query_count(Store *s, const DenialFilter *f) {
        Collected c = {};
        store_set_query_budget(s, UINT64_MAX);
        CHECK_RC(store_query(s, f, false, NULL, 100, collect, &c, NULL), 0);
        size_t n = c.n;
        collected_done(&c);
        return n;
}

static void store_one(Store *s, Registry *r, Denial *d) {
        CHECK_RC(registry_resolve_denial(r, d), 0);
        CHECK_RC(store_add(s, d), 1);
        CHECK(store_commit(s, NULL) >= 0);
}

static void test_database(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "avcwatch.db");
        Store *s;
        Registry *r;
        Denial d, q;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(registry_new(s, &r), 0);

        /* 1. A denial that arrives before its container is known: stored unattributed, then
         * re-resolved when the engine's news arrive. */
        d = make_denial(T0 + MIN_MS, 1, "c1,c2", NULL);
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_NONE);
        denial_done(&d);
        CHECK_RC(add(r, ID_A, "web", "c1,c2", T0, 0), 1);
        q = query_serial(s, NULL, 1);
        CHECK_RC(q.attribution, ATTRIBUTION_MCS);
        CHECK(q.has_container);
        CHECK_STREQ(q.container.id, ID_A);
        CHECK_STREQ(q.container.name, "web");
        CHECK_STREQ(q.container.image, "busybox:latest");
        denial_done(&q);

        /* 2. A second container with the same label over the same time: the stored denial
         * becomes ambiguous, with both candidates; a new one is ambiguous at once. */
        CHECK_RC(add(r, ID_B, "web-twin", "c1,c2", T0 + 100, 0), 1);
        q = query_serial(s, NULL, 1);
        CHECK_RC(q.attribution, ATTRIBUTION_AMBIGUOUS);
        CHECK(!q.has_container);
        CHECK_RC(q.n_candidates, 2);
        CHECK_STREQ(q.candidates[0].name, "web-twin"); /* latest started first */
        CHECK_STREQ(q.candidates[1].name, "web");
        denial_done(&q);
        d = make_denial(T0 + 2 * MIN_MS, 2, "c1,c2", NULL);
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_AMBIGUOUS);
        CHECK_RC(d.n_candidates, 2);
        denial_done(&d);
        q = query_serial(s, NULL, 2);
        CHECK_RC(q.n_candidates, 2);
        denial_done(&q);

        /* 3. The twin was in fact removed before both denials: both go back to "web". */
        ContainerInfo early = {.id = (char *) ID_B, .created_ms = T0 - 10 * MIN_MS};
        CHECK_RC(registry_update(r, &early), 1);
        CHECK_RC(registry_mark_removed(r, ID_B, T0 - 5 * MIN_MS), 1);
        for (uint64_t serial = 1; serial <= 2; serial++) {
                q = query_serial(s, NULL, serial);
                CHECK_RC(q.attribution, ATTRIBUTION_MCS);
                CHECK_STREQ(q.container.name, "web");
                CHECK_RC(q.n_candidates, 0);
                denial_done(&q);
        }

        /* 4. Cross-container: web touches a file of "data" (c7,c8): the target is named, live
         * and when "data" is learnt late. A target with the denial's own categories is not. */
        CHECK_RC(add(r, ID_C, "data", "c7,c8", T0, 0), 1);
        d = make_denial(T0 + 3 * MIN_MS, 3, "c1,c2", "c7,c8");
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_MCS);
        CHECK(d.has_target_container);
        CHECK_STREQ(d.target_container.name, "data");
        denial_done(&d);
        q = query_serial(s, NULL, 3);
        CHECK_STREQ(q.target_container.name, "data");
        denial_done(&q);
        d = make_denial(T0 + 3 * MIN_MS, 4, "c1,c2", "c11,c12");
        store_one(s, r, &d);
        CHECK(!d.has_target_container);
        denial_done(&d);
        CHECK_RC(add(r, "eeee", "late-target", "c11,c12", T0, 0), 1);
        q = query_serial(s, NULL, 4);
        CHECK(q.has_target_container);
        CHECK_STREQ(q.target_container.name, "late-target");
        denial_done(&q);
        d = make_denial(T0 + 3 * MIN_MS, 5, "c1,c2", "c1,c2");
        store_one(s, r, &d);
        CHECK(!d.has_target_container);
        denial_done(&d);

        /* 5. web is removed; its denials keep its name, and a later denial with its categories
         * is no longer pinned on it. */
        CHECK_RC(registry_mark_removed(r, ID_A, T0 + 4 * MIN_MS), 1);
        d = make_denial(T0 + 5 * MIN_MS, 6, "c1,c2", NULL);
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_NONE);
        denial_done(&d);

        /* 6. The Containers reply counts each container's denials. */
        json_object *o, *list, *v;
        CHECK_RC(containers_reply_to_json(r, &o), 0);
        CHECK(json_object_object_get_ex(o, "containers", &list));
        CHECK_RC(json_object_array_length(list), 4);
        bool seen_web = false;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *c = json_object_array_get_idx(list, i);
                CHECK(json_object_object_get_ex(c, "name", &v));
                if (!v || strcmp(json_object_get_string(v), "web") != 0)
                        continue;
                seen_web = true;
                CHECK(json_object_object_get_ex(c, "denials", &v));
                CHECK_RC(json_object_get_int64(v), 5); /* serials 1, 2, 3, 4, 5 */
                CHECK(json_object_object_get_ex(c, "mcs", &v));
                CHECK_STREQ(json_object_get_string(v), "c1,c2");
                CHECK(json_object_object_get_ex(c, "removed", &v));
                CHECK(v && json_object_is_type(v, json_type_string));
                CHECK(json_object_object_get_ex(c, "running", &v));
                CHECK(!json_object_get_boolean(v));
        }
        CHECK(seen_web);
        CHECK(json_object_object_get_ex(o, "truncated", &v));
        CHECK(!json_object_get_boolean(v));
        json_object_put(o);

        registry_free(r);
        store_free(s);

        /* 7. After a restart: the history is back, queries by name, image and id prefix find
         * the removed container's denials, and attribution by MCS still works for its time. */
        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(registry_new(s, &r), 0);
        CHECK_RC(registry_size(r), 4);
        const ContainerInfo *web = registry_get(r, ID_A);
        CHECK(web);
        CHECK_STREQ(web->name, "web");
        CHECK_RC(web->removed_ms, T0 + 4 * MIN_MS);
        CHECK_RC(web->state, CONTAINER_STATE_EXITED);
        DenialFilter f = {.container = FILTER_ONE("web")};
        CHECK_RC(query_count(s, &f), 5);
        f = (DenialFilter){.container = FILTER_ONE("aaaa0")};
        CHECK_RC(query_count(s, &f), 5);
        f = (DenialFilter){.image = FILTER_ONE("busybox:latest")};
        CHECK_RC(query_count(s, &f), 5);
        d = make_denial(T0 + 2 * MIN_MS + 500, 7, "c1,c2", NULL); /* imported late */
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_MCS);
        CHECK_STREQ(d.container.name, "web");
        denial_done(&d);
        registry_free(r);
        store_free(s);
}

/* Stored denials and lifetimes: a container started after a denial does not take it, and a
 * restart, or the exit after one, takes no denial away from the earlier runs. */
static void test_database_lifetime(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "lifetime.db");
        Store *s;
        Registry *r;
        Denial d, q;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(registry_new(s, &r), 0);
        CHECK_RC(add_times(r, ID_A, "c1,c2", T0, T0 + 300, 0, CONTAINER_STATE_RUNNING), 1);
        d = make_denial(T0 + 1000, 1, "c1,c2", NULL);
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_MCS);
        denial_done(&d);

        /* B: created 1.5 s after the denial (a start event first, then its inspect). */
        ContainerInfo event = {
                .id = (char *) ID_B, .has_mcs = true, .mcs = mcs("c1,c2"), .started_ms = T0 + 2800};
        CHECK_RC(registry_update(r, &event), 1);
        CHECK_RC(add_times(r, ID_B, "c1,c2", T0 + 2500, T0 + 2790, 0, CONTAINER_STATE_RUNNING), 1);
        q = query_serial(s, NULL, 1);
        CHECK_RC(q.attribution, ATTRIBUTION_MCS);
        CHECK_STREQ(q.container.id, ID_A);
        denial_done(&q);
        d = make_denial(T0 + 3000, 2, "c1,c2", NULL);
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_AMBIGUOUS);
        CHECK_RC(d.n_candidates, 2);
        denial_done(&d);

        /* A restarts, then exits: its first run's denial stays its own. */
        CHECK_RC(add_times(r, ID_A, "c1,c2", T0, T0 + 10 * MIN_MS, T0 + 9 * MIN_MS,
                           CONTAINER_STATE_RUNNING),
                 1);
        CHECK_RC(add_times(r, ID_A, "c1,c2", T0, T0 + 10 * MIN_MS, T0 + 11 * MIN_MS,
                           CONTAINER_STATE_EXITED),
                 1);
        q = query_serial(s, NULL, 1);
        CHECK_RC(q.attribution, ATTRIBUTION_MCS);
        CHECK_STREQ(q.container.id, ID_A);
        denial_done(&q);
        registry_free(r);
        store_free(s);
}

/* A pod-level denial stored: its attribution and candidates come back, a --container filter of
 * one of them, a --pod filter of the pod and a --namespace filter of its namespace find it, and
 * re-resolution gives the level too (a pod's second container learnt after the denial). */
static void test_database_pod(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "pod.db");
        Store *s;
        Registry *r;
        Denial d, q;

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(registry_new(s, &r), 0);
        CHECK_RC(add_in_pod(r, ID_A, "cri-o", "c1,c2", "web-7f9", "shop"), 1);
        d = make_denial(T0 + MIN_MS, 1, "c1,c2", NULL);
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_MCS);
        denial_done(&d);
        CHECK_RC(add_in_pod(r, ID_B, "cri-o", "c1,c2", "web-7f9", "shop"), 1);
        q = query_serial(s, NULL, 1);
        CHECK_RC(q.attribution, ATTRIBUTION_POD);
        CHECK(!q.has_container);
        CHECK_RC(q.n_candidates, 2);
        CHECK_STREQ(q.candidates[0].pod, "web-7f9");
        denial_done(&q);
        d = make_denial(T0 + 2 * MIN_MS, 2, "c1,c2", NULL);
        store_one(s, r, &d);
        CHECK_RC(d.attribution, ATTRIBUTION_POD);
        denial_done(&d);
        q = query_serial(s, NULL, 2);
        CHECK_RC(q.attribution, ATTRIBUTION_POD);
        CHECK_RC(q.n_candidates, 2);
        denial_done(&q);
        DenialFilter f = {.container = FILTER_ONE(ID_B)};
        CHECK_RC(query_count(s, &f), 2);
        f = (DenialFilter){.pod = FILTER_ONE("web-7f9")};
        CHECK_RC(query_count(s, &f), 2);
        f = (DenialFilter){.pod = FILTER_ONE("web-7f8")};
        CHECK_RC(query_count(s, &f), 0);
        f = (DenialFilter){.pod_namespace = FILTER_ONE("shop")};
        CHECK_RC(query_count(s, &f), 2);

        /* A third container of another namespace: ambiguous, stored and re-resolved alike. */
        CHECK_RC(add_in_pod(r, ID_C, "cri-o", "c1,c2", "web-7f9", "billing"), 1);
        q = query_serial(s, NULL, 1);
        CHECK_RC(q.attribution, ATTRIBUTION_AMBIGUOUS);
        CHECK_RC(q.n_candidates, 3);
        denial_done(&q);
        /* --pod finds the denials named at the pod, not those its containers may have caused. */
        f = (DenialFilter){.pod = FILTER_ONE("web-7f9")};
        CHECK_RC(query_count(s, &f), 0);
        f = (DenialFilter){.pod_namespace = FILTER_ONE("shop")};
        CHECK_RC(query_count(s, &f), 0);
        f = (DenialFilter){.container = FILTER_ONE(ID_C)};
        CHECK_RC(query_count(s, &f), 2);
        registry_free(r);
        store_free(s);
}

/* The Kubernetes fields of a container (runtime-spec.c) are kept in the store and come back at
 * the next start; a later update that does not know them (the /proc scan) leaves them. */
static void test_database_kubernetes(void) {
        _cleanup_(freep) char *path = fixture_path(tmpdir, "kubernetes.db");
        Store *s;
        Registry *r;
        ContainerInfo c = {.id = (char *) ID_A,
                           .engine = (char *) "containerd",
                           .pod = (char *) "web-7f9",
                           .pod_namespace = (char *) "shop",
                           .pod_uid = (char *) "6f1c2d5e-8a4b-4c3d-9e2f-0a1b2c3d4e5f",
                           .sandbox_id = (char *) ID_A,
                           .sandbox = true,
                           .created_ms = T0};

        CHECK_RC(store_open(path, &s), 0);
        CHECK_RC(registry_new(s, &r), 0);
        CHECK_RC(registry_update(r, &c), 1);
        ContainerInfo scan = {.id = (char *) ID_A, .engine = (char *) "containerd"};
        CHECK_RC(registry_update(r, &scan), 0);
        registry_free(r);
        CHECK_RC(registry_new(s, &r), 0);
        const ContainerInfo *got = registry_get(r, ID_A);
        CHECK(got && got->sandbox);
        CHECK_STREQ(got->pod_uid, "6f1c2d5e-8a4b-4c3d-9e2f-0a1b2c3d4e5f");
        CHECK_STREQ(got->sandbox_id, ID_A);
        CHECK_STREQ(got->pod_namespace, "shop");
        /* Bounded like every other string. */
        char *long_uid = malloc(CONTAINER_STRING_MAX + 2);
        CHECK(long_uid);
        memset(long_uid, 'u', CONTAINER_STRING_MAX + 1);
        long_uid[CONTAINER_STRING_MAX + 1] = 0;
        c.pod_uid = long_uid;
        CHECK_RC(registry_update(r, &c), -EINVAL);
        free(long_uid);
        registry_free(r);
        store_free(s);
}

int main(void) {
        tmpdir = fixture_tmpdir("registry");
        test_label_mcs();
        test_match_memory();
        test_lifetime();
        test_pod_level();
        test_ambiguous_order();
        test_never_started();
        test_bound();
        test_reply_bound();
        test_database();
        test_database_lifetime();
        test_database_pod();
        test_database_kubernetes();
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
