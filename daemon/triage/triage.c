/* SPDX-License-Identifier: MIT */
/* Triage (triage.h): the policy in use, its loads, and a denial's reason and verdict.
 *
 * A policy that cannot be read leaves triage off rather than keeping an older one: the policy
 * named (or the kernel's, which just changed) is the one the answers must come from, and a stale
 * answer would be worse than none. Each load, good or bad, is one log line. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "triage.h"
#include "verdict.h"

/* Permissions of one denial considered; refpolicy's largest class has 32. */
#define TRIAGE_PERMS_MAX 64

struct Triage {
        char *kernel;     /* the kernel's policy file */
        char *path;       /* the file in use or last tried; NULL: none */
        bool from_kernel; /* path is the kernel's (nothing configured) */
        TriagePolicy *policy;
        TriageStats *stats; /* NULL: not counted */
};

static int triage_load(Triage *t, const char *configured, const char *why) {
        const char *path = configured;
        const char *err = NULL;
        char *copy = NULL;
        int r;

        t->policy = triage_policy_free(t->policy);
        t->from_kernel = !configured;
        if (!path) {
                if (access(t->kernel, F_OK) < 0) {
                        free(t->path);
                        t->path = NULL;
                        log_info("Triage off: no [Triage] Policy= and no kernel policy at %s "
                                 "(SELinux off); denials are stored without a reason.",
                                 t->kernel);
                        return 0;
                }
                path = t->kernel;
        }
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        free(t->path);
        t->path = copy;

        r = triage_policy_load(path, &t->policy, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning("Triage off: the policy %s cannot be used (%s: %s); denials are stored "
                            "without a reason.",
                            path, err ? err : "failed to read", strerror(-r));
                return 0;
        }
        log_info("Triage: policy %s loaded (%s).", path, why);
        return 1;
}

int triage_new(const char *configured, const char *kernel, TriageStats *stats, Triage **ret) {
        Triage *t;
        int r;

        if (!kernel || !ret)
                return -EINVAL;
        t = calloc(1, sizeof(Triage));
        if (!t)
                return -ENOMEM;
        t->stats = stats;
        t->kernel = strdup(kernel);
        if (!t->kernel) {
                free(t);
                return -ENOMEM;
        }
        r = triage_load(t, configured, "start");
        if (r < 0) {
                triage_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

Triage *triage_free(Triage *t) {
        if (!t)
                return NULL;
        triage_policy_free(t->policy);
        free(t->path);
        free(t->kernel);
        free(t);
        return NULL;
}

int triage_reload(Triage *t, const char *configured, const char *why) {
        return triage_load(t, configured, why);
}

bool triage_follows_kernel(const Triage *t) {
        return t && t->from_kernel;
}

bool triage_enabled(const Triage *t) {
        return t && t->policy;
}

/* The denied permissions as words, pointing into buf (a copy of the space separated list). */
static size_t split_perms(const char *list, char *buf, size_t n_buf, const char **perms) {
        size_t n = 0;

        if (!list || strlen(list) >= n_buf)
                return 0;
        strcpy(buf, list);
        for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && n < TRIAGE_PERMS_MAX;
             w = strtok_r(NULL, " ", &save))
                perms[n++] = w;
        return n;
}

static const char *strempty(const char *s) {
        return s ? s : "";
}

/* The verdict's inputs: the reason and booleans, the rest from the denial itself. */
static void judge(const Denial *d, TriageReason reason, const char *const *bools, size_t n_bools,
                  const char *const *perms, size_t n_perms, TriageJudgement *ret) {
        triage_judge(&(TriageFacts){.reason = reason,
                                    .booleans = bools,
                                    .n_booleans = n_bools,
                                    .source_type = d->source_type,
                                    .target_type = d->target_type,
                                    .tclass = d->tclass,
                                    .perms = perms,
                                    .n_perms = n_perms,
                                    .categories_differ =
                                            strcmp(strempty(d->mcs), strempty(d->target_mcs)) != 0,
                                    .target_has_categories = d->target_mcs && d->target_mcs[0]},
                     ret);
}

/* The judgement of a stored denial again (hint and escape row are not stored). */
static bool judge_stored(const Denial *d, TriageJudgement *ret) {
        const char *perms[TRIAGE_PERMS_MAX], *bools[TRIAGE_PERMS_MAX];
        char pbuf[1024], bbuf[1024];

        if (!d->triaged || d->reason < 0 || d->reason >= _TRIAGE_REASON_MAX)
                return false;
        size_t n_perms = split_perms(d->permissions, pbuf, sizeof(pbuf), perms);
        size_t n_bools = split_perms(d->booleans, bbuf, sizeof(bbuf), bools);
        judge(d, d->reason, bools, n_bools, perms, n_perms, ret);
        return true;
}

const char *triage_denial_hint(const Denial *d) {
        TriageJudgement j;
        return judge_stored(d, &j) ? j.hint : NULL;
}

const char *triage_denial_reached(const Denial *d) {
        TriageJudgement j;
        return judge_stored(d, &j) && j.escape ? j.escape->what : NULL;
}

void triage_explanation_done(TriageExplanation *e) {
        if (!e)
                return;
        free(e->policy);
        free(e->booleans);
        free(e->constraint);
        *e = (TriageExplanation){};
}

int triage_explain(Triage *t, const Denial *d, TriageExplanation *ret) {
        _cleanup_(triage_explanation_done) TriageExplanation e = {};
        const char *perms[TRIAGE_PERMS_MAX];
        char buf[1024];
        TriageResult res;
        size_t n_perms;
        int r;

        *ret = (TriageExplanation){};
        if (!t || !t->policy)
                return 0;
        e.policy = strdup(t->path);
        if (!e.policy)
                return -ENOMEM;
        n_perms = split_perms(d->permissions, buf, sizeof(buf), perms);
        if (d->scontext && d->tcontext && d->tclass && n_perms > 0) {
                r = triage_policy_reason(t->policy, d->scontext, d->tcontext, d->tclass, perms,
                                         n_perms, &res);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        e.answered = true;
                        e.reason = res.reason;
                        e.dontaudit = res.dontaudit;
                        if (res.constraint && !(e.constraint = strdup(res.constraint)))
                                return -ENOMEM;
                        size_t len = 0;
                        for (size_t i = 0; i < res.n_booleans; i++)
                                len += strlen(res.booleans[i].name) + 1;
                        if (len > 0) {
                                e.booleans = malloc(len);
                                if (!e.booleans)
                                        return -ENOMEM;
                                e.booleans[0] = 0;
                                for (size_t i = 0; i < res.n_booleans; i++) {
                                        if (i > 0)
                                                strcat(e.booleans, " ");
                                        strcat(e.booleans, res.booleans[i].name);
                                }
                        }
                }
        }
        *ret = e;
        e = (TriageExplanation){};
        return 0;
}

static int triage_denial_one(Triage *t, Denial *d);

int triage_denial(Triage *t, Denial *d) {
        int r = triage_denial_one(t, d);
        if (t && t->stats) {
                if (!d->triaged)
                        t->stats->untriaged++;
                else if (d->verdict >= 0 && d->verdict < _TRIAGE_VERDICT_MAX)
                        t->stats->verdicts[d->verdict]++;
        }
        return r;
}

int triage_denial_again(Triage *t, Denial *d) {
        return triage_denial_one(t, d);
}

static int triage_denial_one(Triage *t, Denial *d) {
        const char *perms[TRIAGE_PERMS_MAX];
        const char *bools[TRIAGE_PERMS_MAX];
        char buf[1024];
        TriageResult res;
        TriageJudgement j;
        size_t n_perms, n_bools = 0;
        int r;

        d->triaged = false;
        d->reason = d->verdict = 0;
        (void) denial_set_string(d, &d->booleans, NULL); /* may live in d's block */
        if (!t || !t->policy || !d->scontext || !d->tcontext || !d->tclass)
                return 0;
        n_perms = split_perms(d->permissions, buf, sizeof(buf), perms);
        if (n_perms == 0)
                return 0;
        r = triage_policy_reason(t->policy, d->scontext, d->tcontext, d->tclass, perms, n_perms,
                                 &res);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* libsepol failed to compute: untriaged, as without a policy */

        size_t len = 0;
        for (size_t i = 0; i < res.n_booleans && n_bools < TRIAGE_PERMS_MAX; i++) {
                bools[n_bools++] = res.booleans[i].name;
                len += strlen(res.booleans[i].name) + 1;
        }
        if (n_bools > 0) {
                d->booleans = malloc(len);
                if (!d->booleans)
                        return -ENOMEM;
                d->booleans[0] = 0;
                for (size_t i = 0; i < n_bools; i++) {
                        if (i > 0)
                                strcat(d->booleans, " ");
                        strcat(d->booleans, bools[i]);
                }
        }
        judge(d, res.reason, bools, n_bools, perms, n_perms, &j);
        d->triaged = true;
        d->reason = res.reason;
        d->verdict = j.verdict;
        return 0;
}
