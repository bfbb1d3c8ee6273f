/* SPDX-License-Identifier: MIT */
#pragma once

/* A Denial is one SELinux verdict record (AVC, USER_AVC or SELINUX_ERR) with the context of its
 * audit event (SYSCALL, CWD, PATH, PROCTITLE) and its attribution to a container. It is the unit
 * that is filtered, stored, queried and streamed. Plain value: every string is owned and freed by
 * denial_done(); NULL means unknown and becomes JSON null. A string is either malloc'd on its own
 * or lives in the denial's block (Denial.strings: the assembler and denial_copy() put all of them
 * in one, one allocation instead of twenty); replace one with denial_set_string(), which knows
 * the difference, never with free(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum Attribution {
        ATTRIBUTION_NONE,
        ATTRIBUTION_PID,       /* the live pid's cgroup named the container */
        ATTRIBUTION_MCS,       /* the MCS categories + time matched one known container */
        ATTRIBUTION_AMBIGUOUS, /* several containers matched */
        /* A USER_AVC sent from inside a container: the container is the sender's (its cgroup,
         * or the MCS of its subj= in a container domain), never what the message claims about
         * the pid it names, which any root process in a container with CAP_AUDIT_WRITE can
         * make up (docs/architecture.md "Attributor"). */
        ATTRIBUTION_SENDER,
        /* Several containers matched by MCS + time, all of one pod (ATTRIBUTION_POD: the same
         * pod uid, or pod name and namespace where a uid is unknown) or of one Kubernetes
         * namespace (ATTRIBUTION_NAMESPACE): the denial is named at that level, no container;
         * the candidates are kept as for ATTRIBUTION_AMBIGUOUS. */
        ATTRIBUTION_POD,
        ATTRIBUTION_NAMESPACE,
        _ATTRIBUTION_MAX,
} Attribution;

typedef struct ContainerRef {
        char *id; /* full id (64 hex for docker/podman/cri-o/containerd) */
        char *name;
        char *image;
        char *engine; /* "docker", "podman", "cri-o", "containerd" */
        char *pod;
        char *pod_namespace; /* the pod's Kubernetes namespace; not stored (journal entries) */
} ContainerRef;

typedef struct Denial {
        int64_t time_ms; /* event time, ms since the epoch */
        uint64_t serial;
        char *node;        /* node= of the record, NULL when none */
        unsigned seq;      /* index of this verdict within its event (0 for the first) */
        int record_type;   /* 1400 AVC, 1107 USER_AVC, 1401 SELINUX_ERR */
        char *result;      /* "denied", "granted", "error" */
        char *permissions; /* space separated */
        int64_t pid;       /* -1 unknown */
        char *comm, *exe, *path, *name;
        char *scontext, *tcontext, *tclass;
        int permissive; /* -1 unknown */
        char *source_type, *target_type;
        char *mcs;        /* categories of scontext's high level, NULL when none */
        char *target_mcs; /* same for tcontext */
        /* From the event's other records; -1 / NULL when absent. Not part of the JSON object. */
        int64_t ppid, uid, syscall;
        char *cwd, *proctitle;
        /* USER_AVC: the sender the kernel stamped on the outer record (pid=, subj=), not the
         * subject the message describes; -1 / NULL otherwise. Not part of the JSON object (the
         * raw text keeps them). */
        int64_t sender_pid;
        char *sender_subj;
        bool has_container;
        ContainerRef container;
        Attribution attribution;
        bool has_target_container;
        ContainerRef target_container;
        /* ATTRIBUTION_AMBIGUOUS, _POD, _NAMESPACE: every container it may have come from
         * (latest started first, at most DENIAL_CANDIDATES_MAX); NULL / 0 otherwise. */
        ContainerRef *candidates;
        size_t n_candidates;
        /* How many identical denials this one stands for: 0 or 1 is itself alone; during a storm
         * the ones of a second beyond the first few are folded into the last of them, which
         * then carries their number (daemon/ingest/coalescer.h). */
        uint64_t count;
        /* Triage (daemon/triage/): why the policy refused it and what that means. triaged is
         * false when no policy was available (JSON: null); reason and verdict are then 0.
         * reason/verdict: TriageReason/TriageVerdict values (daemon/triage/verdict.h);
         * booleans: those that would allow it, space separated, NULL when none. */
        bool triaged;
        int reason, verdict;
        char *booleans;
        char *raw; /* every record of the event, '\n' separated, as received */
        /* raw already packed by the store's codec (daemon/store/raw-codec.h) on the thread that
         * assembled it, so the store's writer does not spend its time on zstd; its dictionary
         * is one the store was handed before (the store packs raw itself when it does not know
         * it). NULL when not packed; never copied by denial_copy(). */
        void *raw_packed;
        size_t raw_packed_size;
        int64_t id; /* store row id, 0 when not stored */
        /* The block the strings above may live in (NULL: each is malloc'd on its own). A string
         * that points into it goes with it; any other is freed on its own. strings_lent: the
         * block is someone else's for as long as the denial is lent (the assembler's, a reader
         * batch's text) and denial_done() leaves it alone. The container references and the
         * candidates are never in it. */
        char *strings;
        size_t strings_size;
        bool strings_lent;
} Denial;

#define DENIAL_CANDIDATES_MAX 16

#define DENIAL_NULL                                                                                \
        ((Denial){.pid = -1,                                                                       \
                  .permissive = -1,                                                                \
                  .ppid = -1,                                                                      \
                  .uid = -1,                                                                       \
                  .syscall = -1,                                                                   \
                  .sender_pid = -1})

void denial_done(Denial *d);
void container_ref_done(ContainerRef *c);
int container_ref_copy(const ContainerRef *src, ContainerRef *ret);
/* Appends a copy of c to d->candidates (-E2BIG beyond DENIAL_CANDIDATES_MAX, -ENOMEM). */
int denial_add_candidate(Denial *d, const ContainerRef *c);
void denial_clear_candidates(Denial *d);

const char *attribution_to_string(Attribution a);
/* Whether a denial so attributed has candidates instead of a container: ambiguous, pod,
 * namespace. */
bool attribution_has_candidates(Attribution a);
/* A denial named at the level of a pod or a namespace (ATTRIBUTION_POD, _NAMESPACE, with
 * candidates and no container): what its candidates share, as a ContainerRef borrowing their
 * strings (no id, no name, no image; the pod for ATTRIBUTION_POD only; the engine when they all
 * have the same). false, and *ret untouched, for any other denial. */
bool denial_level_ref(const Denial *d, ContainerRef *ret);
int attribution_from_string(const char *s);  /* -EINVAL when unknown */
const char *record_type_to_name(int type);   /* "AVC", "USER_AVC", "SELINUX_ERR", NULL */
int record_type_from_name(const char *name); /* -EINVAL when unknown */

/* Deep copy (raw included, raw_packed not): its strings in one block of its own. -ENOMEM. */
int denial_copy(const Denial *src, Denial *ret);

/* Whether s lives in d's block (and is freed with it, not on its own). */
static inline bool denial_string_in_block(const Denial *d, const char *s) {
        return s && d->strings && (uintptr_t) s >= (uintptr_t) d->strings &&
               (uintptr_t) s < (uintptr_t) d->strings + d->strings_size;
}
/* *field (one of d's strings) becomes a copy of value (NULL: unknown); the old one is freed
 * unless it lives in d's block. -ENOMEM, and *field untouched. */
int denial_set_string(Denial *d, char **field, const char *value);
/* d's block is copied to `to` (strings_size bytes, which the caller owns from then on: lent to
 * d), and every string in it moved there; an owned block is freed. Nothing when d has none. */
void denial_move_strings(Denial *d, char *to);
