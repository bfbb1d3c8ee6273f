/* SPDX-License-Identifier: MIT */
#pragma once

/* The reason of a denial, from a binary SELinux policy, computed the way audit2why computes it.
 *
 * Load a policy file (the kernel's /sys/fs/selinux/policy, or the file [Triage] Policy= names),
 * then ask, for a denial's source and target contexts, class and permissions, why the policy
 * refuses it: te, boolean (with the booleans that would allow it), constraint, rbac, bounds,
 * allowed (the policy allows it now) or unknown (a type, class or permission the policy does not
 * know). Answers are cached (policy.c says on what they depend); the cache is bounded. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verdict.h"

typedef struct TriagePolicy TriagePolicy;

#define TRIAGE_REASONS_MAX 4096             /* cached answers; all dropped when full */
#define TRIAGE_CONTEXTS_MAX 4096            /* contexts resolved to SIDs; all dropped when full */
#define TRIAGE_CONSTRAINT_TEXT_MAX 4096     /* constraint text kept per answer (cut beyond) */
#define TRIAGE_POLICY_SIZE_MAX (256u << 20) /* refpolicy ~2 MiB, Fedora's targeted ~10 MiB */

typedef struct TriageBoolean {
        const char *name; /* the policy's, lives as long as the TriagePolicy */
        bool value;       /* the value that would allow it (audit2why: setsebool NAME VALUE) */
} TriageBoolean;

typedef struct TriageResult {
        TriageReason reason;
        bool dontaudit;                /* te: a dontaudit rule covers it (audit2why's DONTAUDIT) */
        const TriageBoolean *booleans; /* reason boolean: each alone would allow it */
        size_t n_booleans;
        const char *constraint; /* reason constraint: libsepol's text of the failed constraints */
} TriageResult;

/* Reads the binary policy at path. On failure returns negative errno and, when ret_why is not
 * NULL, points it at a static sentence saying what is wrong (-ENOENT and friends: cannot open;
 * -EBADMSG: not a binary policy, damaged or truncated; -EFBIG: larger than
 * TRIAGE_POLICY_SIZE_MAX). Several may be loaded at once (a reload keeps the old one until the new
 * one read well); libsepol computes on one global policy, so each call below selects its own. */
int triage_policy_load(const char *path, TriagePolicy **ret, const char **ret_why);
TriagePolicy *triage_policy_free(TriagePolicy *p);

/* Why the policy refuses perms (names, as in the record) of class tclass from scontext to
 * tcontext. Fills *ret with pointers lent until the next call on p (or its free). Returns 0, or
 * negative errno when libsepol fails to compute (nothing cached then): -ENOMEM, -EIO. */
int triage_policy_reason(TriagePolicy *p, const char *scontext, const char *tcontext,
                         const char *tclass, const char *const *perms, size_t n_perms,
                         TriageResult *ret);

/* Flip every boolean of the policy in the boolean search, as audit2why does, instead of only
 * those whose rules could allow the question (the same answer, hundreds of times slower): for
 * the tests that prove the two agree, and the benchmark. */
void triage_policy_set_exhaustive(TriagePolicy *p, bool on);

/* Drops every cached answer and SID (for the benchmark's uncached figure, and tests). */
void triage_policy_forget(TriagePolicy *p);

typedef struct TriagePolicyStats {
        uint64_t hits, misses, resets;
        size_t answers, contexts, booleans;
} TriagePolicyStats;
void triage_policy_stats(const TriagePolicy *p, TriagePolicyStats *ret);
