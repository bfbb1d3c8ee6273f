/* SPDX-License-Identifier: MIT */
/* avcwatch-triage: the triage stage (daemon/triage) on questions read from stdin, one per line,
 * tab separated: ID, scontext, tcontext, class, permissions (space separated). For each it
 * prints ID, reason, the booleans that would allow it ("-" for none, comma separated, each as
 * NAME=VALUE) and the verdict, tab separated; at the end the cache's counters on stderr. The oracle
 * test (tests/integration/ test-triage-oracle.sh) compares these with audit2why; not installed.
 *
 *   avcwatch-triage [--exhaustive] POLICYFILE < questions.tsv
 *
 * --exhaustive flips every boolean in the boolean search, as audit2why does, instead of only
 * those whose rules could allow the question: the test checks that both give the same. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "macro.h"
#include "policy.h"
#include "verdict.h"

#define FIELDS 5
#define PERMS_MAX 64

static int answer(TriagePolicy *p, char *line) {
        char *field[FIELDS], *save = NULL;
        size_t n = 0;
        for (char *t = strtok_r(line, "\t", &save); t && n < FIELDS;
             t = strtok_r(NULL, "\t", &save))
                field[n++] = t;
        if (n != FIELDS)
                return -EINVAL;

        const char *perms[PERMS_MAX];
        size_t n_perms = 0;
        for (char *t = strtok_r(field[4], " ", &save); t && n_perms < PERMS_MAX;
             t = strtok_r(NULL, " ", &save))
                perms[n_perms++] = t;

        TriageResult res;
        int r = triage_policy_reason(p, field[1], field[2], field[3], perms, n_perms, &res);
        if (r < 0)
                return r;

        char stype[256] = "", ttype[256] = "", smcs[4096] = "", tmcs[4096] = "";
        McsSet sset = {}, tset = {};
        (void) context_split(field[1], stype, sizeof(stype), smcs, sizeof(smcs));
        (void) context_split(field[2], ttype, sizeof(ttype), tmcs, sizeof(tmcs));
        (void) mcs_set_parse(smcs, &sset);
        (void) mcs_set_parse(tmcs, &tset);

        const char *names[64];
        size_t n_names = MIN(res.n_booleans, ELEMENTSOF(names));
        for (size_t i = 0; i < n_names; i++)
                names[i] = res.booleans[i].name;
        TriageFacts f = {
                .reason = res.reason,
                .booleans = names,
                .n_booleans = n_names,
                .source_type = stype,
                .target_type = ttype,
                .tclass = field[3],
                .perms = perms,
                .n_perms = n_perms,
                .categories_differ = !mcs_set_equal(&sset, &tset),
                .target_has_categories = !mcs_set_is_empty(&tset),
        };
        TriageJudgement j;
        triage_judge(&f, &j);

        printf("%s\t%s\t", field[0], triage_reason_to_string(res.reason));
        if (res.n_booleans == 0)
                printf("-");
        for (size_t i = 0; i < res.n_booleans; i++)
                printf("%s%s=%d", i ? "," : "", res.booleans[i].name, res.booleans[i].value);
        printf("\t%s\n", triage_verdict_to_string(j.verdict));
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(freep) char *line = NULL;
        size_t size = 0;
        TriagePolicy *p = NULL;
        const char *why;
        int r;

        bool exhaustive = argc == 3 && strcmp(argv[1], "--exhaustive") == 0;
        if (argc != 2 + exhaustive) {
                fprintf(stderr, "usage: %s [--exhaustive] POLICYFILE < questions.tsv\n", argv[0]);
                return 2;
        }
        const char *path = argv[1 + exhaustive];
        r = triage_policy_load(path, &p, &why);
        if (r < 0) {
                fprintf(stderr, "Failed to load policy '%s': %s (%s)\n", path, why, strerror(-r));
                return 1;
        }
        triage_policy_set_exhaustive(p, exhaustive);
        while (getline(&line, &size, stdin) > 0) {
                line[strcspn(line, "\n")] = 0;
                if (!*line || *line == '#')
                        continue;
                r = answer(p, line);
                if (r < 0) {
                        fprintf(stderr, "Failed to answer a question: %s\n", strerror(-r));
                        triage_policy_free(p);
                        return 1;
                }
        }
        /* for the oracle test: repeated questions must have been answered from the cache */
        TriagePolicyStats st;
        triage_policy_stats(p, &st);
        fprintf(stderr, "cache: hits=%" PRIu64 " misses=%" PRIu64 " answers=%zu contexts=%zu\n",
                st.hits, st.misses, st.answers, st.contexts);
        triage_policy_free(p);
        return 0;
}
