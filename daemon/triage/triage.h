/* SPDX-License-Identifier: MIT */
#pragma once

/* Triage: the stage after attribution. Holds the policy the daemon triages against ([Triage]
 * Policy=, else the kernel's /sys/fs/selinux/policy when there is one), loads it again when asked
 * (a reload with a changed Policy=, a MAC_POLICY_LOAD or MAC_CONFIG_CHANGE record), and fills a
 * denial's reason, booleans and verdict (policy.h, verdict.h). Without a usable policy, triage is
 * off: denials are kept untriaged (reason null), which one log line says, never a failure. */

#include <stdbool.h>

#include "denial.h"
#include "macro.h"
#include "stats.h"

typedef struct Triage Triage;

/* configured: [Triage] Policy= (NULL: none); kernel: the kernel's policy file, used when nothing
 * is configured and it exists (tests pass another). Loads at once; a policy that cannot be read
 * is logged and leaves triage off. stats: where triage_denial() counts (may be NULL; borrowed).
 * Returns -ENOMEM only. */
int triage_new(const char *configured, const char *kernel, TriageStats *stats, Triage **ret);
Triage *triage_free(Triage *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Triage *, triage_free);

/* Loads the policy again: configured is the (possibly changed) Policy=. why says what asked for
 * it, for the log ("reload", "policy load record"). Returns 1 when a policy is in use after it,
 * 0 when triage is off. */
int triage_reload(Triage *t, const char *configured, const char *why);
/* Whether the policy changed on the kernel's side matters: true when the kernel's file is used. */
bool triage_follows_kernel(const Triage *t);
bool triage_enabled(const Triage *t);

/* Fills d->triaged, reason, verdict and booleans. Without a policy, or for a denial that lacks
 * contexts or a class, d stays untriaged. -ENOMEM. */
int triage_denial(Triage *t, Denial *d);
/* The same for a denial stored earlier (the triage pass): not counted in the stats' verdicts,
 * which count kept denials as they arrive. */
int triage_denial_again(Triage *t, Denial *d);
/* The hint of a triaged denial (NULL when untriaged): a pure function of its reason, booleans
 * and own facts (verdict.h), so it is derived when a denial is shown, not stored. */
const char *triage_denial_hint(const Denial *d);
/* For a triaged denial whose verdict is escape: what it reached (the escape table's "what"),
 * else NULL. Pure, like the hint. */
const char *triage_denial_reached(const Denial *d);

/* avcctl explain: the stored denial asked about again, now, of the policy loaded now. Not
 * stored with each denial: libsepol's constraint text is long, the same for thousands of rows,
 * and only wanted when a person asks; the cached answer makes asking cost microseconds. */
typedef struct TriageExplanation {
        char *policy;  /* the policy file asked; NULL: triage is off */
        bool answered; /* the policy could answer (else reason is meaningless) */
        TriageReason reason;
        bool dontaudit;   /* reason te: a dontaudit rule hides it */
        char *booleans;   /* space separated, NULL when none */
        char *constraint; /* reason constraint: libsepol's text of the failed constraints */
} TriageExplanation;

/* Fills *ret (to be released with triage_explanation_done()). -ENOMEM only: no policy, or a
 * denial without contexts, is an explanation with policy NULL or answered false. */
int triage_explain(Triage *t, const Denial *d, TriageExplanation *ret);
void triage_explanation_done(TriageExplanation *e);
