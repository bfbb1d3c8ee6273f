/* SPDX-License-Identifier: MIT */
#pragma once

/* Verdict and hint: what a denial means on a container host, and what a person can do about it.
 *
 * The reason (policy.h) says why the policy refused; the verdict says what kind of event that was
 * for a container: an escape attempt, a brush with another container's data, a host directory
 * handed over without a container label, a documented switch, or a container that needs a policy
 * of its own. The rules and the escape table are data in verdict.c, each entry with its reason;
 * docs/triage.md explains them to administrators.
 *
 * Pure: no libsepol, no I/O, no allocation. Every hint is a static sentence: none echoes a
 * string that came from a record (types, paths and names are chosen or influenced by whoever
 * runs the container, and imported logs are arbitrary text), so a hint can be printed, logged or
 * sent to the journal as it is. */

#include <stdbool.h>
#include <stddef.h>

typedef enum TriageReason {
        TRIAGE_REASON_TE,         /* no allow rule */
        TRIAGE_REASON_BOOLEAN,    /* no allow rule now, but turning a boolean on would allow it */
        TRIAGE_REASON_CONSTRAINT, /* a constraint refused it (containers: the MCS constraint) */
        TRIAGE_REASON_RBAC,       /* the role may not have the type */
        TRIAGE_REASON_BOUNDS,     /* a typebounds violation */
        TRIAGE_REASON_ALLOWED,    /* the policy allows it now: it changed since */
        TRIAGE_REASON_UNKNOWN,    /* a type, class or permission the policy does not know */
        _TRIAGE_REASON_MAX,
} TriageReason;

typedef enum TriageVerdict {
        TRIAGE_VERDICT_ESCAPE,    /* reached for what containers do not namespace */
        TRIAGE_VERDICT_ISOLATION, /* another container's data */
        TRIAGE_VERDICT_VOLUME,    /* a host path given to the container without a container label */
        TRIAGE_VERDICT_BOOLEAN,   /* a documented switch allows it */
        TRIAGE_VERDICT_POLICY,    /* the container needs a policy of its own */
        _TRIAGE_VERDICT_MAX,
} TriageVerdict;

const char *triage_reason_to_string(TriageReason r); /* "te", ...; NULL out of range */
int triage_reason_from_string(const char *s);        /* TriageReason or -EINVAL */
const char *triage_verdict_to_string(TriageVerdict v);
int triage_verdict_from_string(const char *s);

/* What the verdict is computed from: the reason and booleans from the policy, the rest from the
 * denial itself. Every string is lent for the call and may be anything (NULL means absent). */
typedef struct TriageFacts {
        TriageReason reason;
        const char *const *booleans; /* would allow it (reason boolean) */
        size_t n_booleans;
        const char *source_type;
        const char *target_type;
        const char *tclass;
        const char *const *perms;
        size_t n_perms;
        bool categories_differ;     /* the two contexts' MCS category sets are not equal */
        bool target_has_categories; /* the target's category set is not empty */
} TriageFacts;

/* One row of the escape table. A denial matches when each field that is set matches: type is an
 * exact name or a "prefix*suffix" pattern, perm is one of the denied permissions, and
 * modify_only entries only when a denied permission changes something (write, create, setattr,
 * ...): reading some of these is what ordinary programs do, writing them is not. */
typedef struct TriageEscape {
        const char *type;
        const char *tclass;
        const char *perm;
        bool modify_only;
        const char *what; /* what was reached, for docs and explain */
        const char *hint;
} TriageEscape;

typedef struct TriageJudgement {
        TriageVerdict verdict;
        const char *hint;           /* static: one sentence, printable ASCII */
        const TriageEscape *escape; /* the matching table row (verdict escape), else NULL */
} TriageJudgement;

void triage_judge(const TriageFacts *f, TriageJudgement *ret);

/* The escape table, for docs and tests. */
const TriageEscape *triage_escape_table(size_t *ret_n);
/* True when perm changes the object (write, append, create, unlink, setattr, ...). */
bool triage_perm_modifies(const char *perm);
