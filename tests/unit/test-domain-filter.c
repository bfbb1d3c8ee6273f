/* SPDX-License-Identifier: MIT */
/* The scope filter's patterns: a name or "*" and a name is compared without fnmatch(); every
 * pattern must match exactly the types fnmatch(pattern, type, 0) matches. Differential, over
 * every valid pattern of up to 3 characters and every type of up to 4, and the default patterns
 * against real type names. */

#include <fnmatch.h>
#include <stdbool.h>

#include "domain-filter.h"
#include "macro.h"
#include "tests/unit/test.h"

/* Calls f with every string of length 0..max over alphabet. */
static void each_string(const char *alphabet, size_t max, void (*f)(const char *, void *),
                        void *userdata) {
        size_t n = strlen(alphabet);
        char s[8];
        size_t idx[8] = {};

        CHECK(max < sizeof(s));
        for (size_t len = 0; len <= max; len++) {
                memset(idx, 0, sizeof(idx));
                for (;;) {
                        for (size_t i = 0; i < len; i++)
                                s[i] = alphabet[idx[i]];
                        s[len] = 0;
                        f(s, userdata);
                        size_t i = 0;
                        while (i < len && ++idx[i] == n)
                                idx[i++] = 0;
                        if (i == len)
                                break;
                }
        }
}

typedef struct {
        DomainFilter filter;
        const char *pattern;
        unsigned checked;
} Case;

static void check_type(const char *type, void *userdata) {
        Case *c = userdata;
        bool want = fnmatch(c->pattern, type, 0) == 0;
        /* target_mcs off: only the pattern decides */
        if (domain_filter_wants(&c->filter, type, NULL) != want) {
                fprintf(stderr, "pattern '%s', type '%s': fnmatch says %d\n", c->pattern, type,
                        want);
                CHECK(false);
        }
        c->checked++;
}

static unsigned patterns_checked, patterns_refused;

static void check_pattern(const char *pattern, void *userdata) {
        Case c = {.pattern = pattern};

        if (domain_filter_parse(pattern, &c.filter) < 0 || c.filter.n_patterns != 1) {
                domain_filter_done(&c.filter);
                patterns_refused++;
                return;
        }
        c.filter.target_mcs = false;
        each_string("ab_.-", 4, check_type, &c);
        domain_filter_done(&c.filter);
        patterns_checked++;
}

int main(void) {
        /* every valid pattern of up to 3 characters over names and every metacharacter */
        each_string("ab_.*?[]!-", 3, check_pattern, NULL);
        CHECK(patterns_checked > 500);

        /* the defaults, against types that are and are not container domains */
        static const char *const types[] = {
                "container_t",    "container_init_t", "spc_t",         "unconfined_t",
                "my_container_t", "container_tt",     "x.process",     ".process",
                "process",        "svirt_lxc_net_t",  "_container_t",  "container_kvm_t",
                "kernel_t",       "init_t",           "container_t.x", "",
        };
        DomainFilter f;
        CHECK_RC(domain_filter_default(&f), 0);
        f.target_mcs = false;
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                bool want = false;
                for (size_t k = 0; domain_patterns_default[k]; k++)
                        want = want || fnmatch(domain_patterns_default[k], types[i], 0) == 0;
                CHECK(domain_filter_wants(&f, types[i], NULL) == want);
        }
        CHECK(domain_filter_wants(&f, "container_t", NULL));
        CHECK(domain_filter_wants(&f, "my_container_t", NULL));
        CHECK(domain_filter_wants(&f, "x.process", NULL));
        CHECK(!domain_filter_wants(&f, "unconfined_t", NULL));
        domain_filter_done(&f);

        printf("domain filter: %u patterns checked, %u refused\n", patterns_checked,
               patterns_refused);
        return 0;
}
