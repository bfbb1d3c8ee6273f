/* SPDX-License-Identifier: MIT */
/* Triage as the daemon runs it (daemon/triage/triage.c): which policy is used, triage off
 * without one (missing, damaged, SELinux off), a reload, and a denial's reason, booleans and
 * verdict, with the hint derived from them. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "test.h"
#include "triage.h"
#include "verdict.h"

static void set(char **field, const char *value) {
        free(*field);
        *field = value ? strdup(value) : NULL;
        CHECK(!value || *field);
}

/* A denial of httpd_t (refpolicy knows it) on SOURCE -> TCONTEXT, TCLASS, PERMS. */
static Denial make(const char *scontext, const char *tcontext, const char *tclass,
                   const char *perms, const char *ttype) {
        Denial d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL);
        set(&d.scontext, scontext);
        set(&d.tcontext, tcontext);
        set(&d.tclass, tclass);
        set(&d.permissions, perms);
        set(&d.source_type, "httpd_t");
        set(&d.target_type, ttype);
        set(&d.mcs, NULL);
        set(&d.target_mcs, NULL);
        return d;
}

static void check_off(Triage *t) {
        Denial d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL);
        CHECK(!triage_enabled(t));
        d.triaged = true; /* a stale value is cleared */
        CHECK_RC(triage_denial(t, &d), 0);
        CHECK(!d.triaged && d.booleans == NULL);
        CHECK(triage_denial_hint(&d) == NULL);
        denial_done(&d);
}

int main(void) {
        char dir[] = "/tmp/test-triage-stage-XXXXXX", damaged[128], missing[128];
        Triage *t = NULL;

        CHECK(mkdtemp(dir));
        snprintf(damaged, sizeof(damaged), "%s/damaged", dir);
        snprintf(missing, sizeof(missing), "%s/missing", dir);
        FILE *f = fopen(damaged, "w");
        CHECK(f);
        fputs("\x8c\xff\x7c\xf9 not a policy at all", f);
        fclose(f);

        /* Nothing configured, no kernel policy (SELinux off): off. */
        CHECK_RC(triage_new(NULL, missing, NULL, &t), 0);
        CHECK(!triage_enabled(t) && triage_follows_kernel(t));
        check_off(t);
        t = triage_free(t);
        /* A configured file that is missing or damaged: off, never a failure. */
        CHECK_RC(triage_new(missing, "/nonexistent", NULL, &t), 0);
        check_off(t);
        CHECK(!triage_follows_kernel(t));
        CHECK_RC(triage_reload(t, damaged, "test"), 0);
        check_off(t);
        /* NULL triage: the pipeline without the stage. */
        check_off(NULL);

        const char *policy = fixture_triage_policy();
        if (!policy) {
                triage_free(t);
                SKIP("no policy file (AVCWATCH_TRIAGE_POLICY, or selinux-policy-default's)");
        }
        /* A reload to a good file turns it on; as "the kernel's" (nothing configured) too. */
        CHECK_RC(triage_reload(t, policy, "test"), 1);
        CHECK(triage_enabled(t));
        t = triage_free(t);
        TriageStats st = {};
        CHECK_RC(triage_new(NULL, policy, &st, &t), 0);
        CHECK(triage_enabled(t) && triage_follows_kernel(t));

        /* A host secret: escape whatever the reason, and a hint that is no fix. */
        Denial d = make("system_u:system_r:httpd_t:s0", "system_u:object_r:shadow_t:s0", "file",
                        "read open", "shadow_t");
        CHECK_RC(triage_denial(t, &d), 0);
        CHECK(d.triaged);
        CHECK_RC(d.reason, TRIAGE_REASON_TE);
        CHECK_RC(d.verdict, TRIAGE_VERDICT_ESCAPE);
        CHECK(d.booleans == NULL);
        CHECK(triage_denial_hint(&d) && strstr(triage_denial_hint(&d), "Escape"));
        denial_done(&d);

        /* A boolean: httpd reading a CIFS mount (httpd_use_cifs). */
        d = make("system_u:system_r:httpd_t:s0", "system_u:object_r:cifs_t:s0", "file", "read",
                 "cifs_t");
        CHECK_RC(triage_denial(t, &d), 0);
        CHECK(d.triaged);
        CHECK_RC(d.reason, TRIAGE_REASON_BOOLEAN);
        CHECK_RC(d.verdict, TRIAGE_VERDICT_BOOLEAN);
        CHECK_STREQ(d.booleans, "httpd_use_cifs");
        CHECK(triage_denial_hint(&d) != NULL);
        /* Asked again (the cache): the same answer. */
        char *first = strdup(d.booleans);
        CHECK_RC(triage_denial(t, &d), 0);
        CHECK_RC(d.reason, TRIAGE_REASON_BOOLEAN);
        CHECK_STREQ(d.booleans, first);
        free(first);
        /* A copy carries the triage. */
        Denial copy;
        CHECK_RC(denial_copy(&d, &copy), 0);
        CHECK(copy.triaged && copy.reason == d.reason && copy.verdict == d.verdict);
        CHECK_STREQ(copy.booleans, d.booleans);
        denial_done(&copy);
        denial_done(&d);

        /* A type this policy does not know: unknown, still triaged. */
        d = make("system_u:system_r:httpd_t:s0", "system_u:object_r:no_such_type_t:s0", "file",
                 "read", "no_such_type_t");
        CHECK_RC(triage_denial(t, &d), 0);
        CHECK(d.triaged);
        CHECK_RC(d.reason, TRIAGE_REASON_UNKNOWN);
        CHECK_RC(d.verdict, TRIAGE_VERDICT_POLICY);
        /* No permissions or class: nothing to ask. */
        set(&d.permissions, NULL);
        CHECK_RC(triage_denial(t, &d), 0);
        CHECK(!d.triaged);
        denial_done(&d);

        /* Explain (asked again now): the policy, its reason; for a constraint libsepol's text;
         * what an escape reached. triage_denial_again does not count. */
        {
                TriageExplanation e;
                d = make("system_u:system_r:httpd_t:s0", "system_u:object_r:shadow_t:s0", "file",
                         "read open", "shadow_t");
                CHECK_RC(triage_denial_again(t, &d), 0);
                CHECK(d.triaged && d.verdict == TRIAGE_VERDICT_ESCAPE);
                CHECK(triage_denial_reached(&d) && strstr(triage_denial_reached(&d), "shadow"));
                CHECK_RC(triage_explain(t, &d, &e), 0);
                CHECK_STREQ(e.policy, policy);
                CHECK(e.answered && e.reason == TRIAGE_REASON_TE && !e.constraint);
                triage_explanation_done(&e);
                CHECK_RC(triage_explain(NULL, &d, &e), 0);
                CHECK(!e.policy && !e.answered);
                denial_done(&d);

                /* refpolicy's UBAC constraint: one SELinux user reading another's file */
                d = make("user_u:user_r:user_t:s0", "staff_u:object_r:user_home_t:s0", "file",
                         "read", "user_home_t");
                CHECK_RC(triage_explain(t, &d, &e), 0);
                CHECK(e.answered);
                CHECK_RC(e.reason, TRIAGE_REASON_CONSTRAINT);
                CHECK(e.constraint && strstr(e.constraint, "constrain"));
                triage_explanation_done(&e);
                CHECK(triage_denial_reached(&d) == NULL); /* not triaged: nothing stored */
                denial_done(&d);
        }

        /* Counted by verdict: escape, boolean twice, policy (unknown), one untriaged. */
        CHECK_RC(st.verdicts[TRIAGE_VERDICT_ESCAPE], 1);
        CHECK_RC(st.verdicts[TRIAGE_VERDICT_BOOLEAN], 2);
        CHECK_RC(st.verdicts[TRIAGE_VERDICT_POLICY], 1);
        CHECK_RC(st.untriaged, 1);

        /* A reload to a damaged file: off, not the old policy. */
        CHECK_RC(triage_reload(t, damaged, "test"), 0);
        check_off(t);
        CHECK_RC(st.untriaged, 2);
        triage_free(t);
        unlink(damaged);
        rmdir(dir);
        return 0;
}
