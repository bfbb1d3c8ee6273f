/* SPDX-License-Identifier: MIT */
/* daemon/ingest/selftest.c: which denials are avcctl selftest's own (left out of query, tail and
 * top by default), and that nothing a container controls can make a denial one. With the
 * filter: include_selftest in JSON, and the match. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "fixtures.h"
#include "macro.h"
#include "record.h"
#include "selftest.h"
#include "test.h"

static void set(char **field, const char *value) {
        free(*field);
        *field = value ? strdup(value) : NULL;
        CHECK(!value || *field);
}

/* A self-test denial as avcctl selftest sends it, from this (running, host) process. */
static Denial selftest_denial(void) {
        Denial d = fixture_denial(1713603292240, 1);
        d.record_type = AUDIT_TYPE_USER_AVC;
        d.sender_pid = getpid();
        set(&d.sender_subj, "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023");
        set(&d.comm, "avcctl-selftest");
        set(&d.target_type, SELFTEST_TARGET_TYPE);
        d.attribution = ATTRIBUTION_NONE;
        return d;
}

static void check_mark(Denial *d, bool checked, int want) {
        DomainFilter domains;

        CHECK_RC(domain_filter_default(&domains), 0);
        CHECK_RC(selftest_mark(d, &domains, checked), want);
        CHECK_STREQ(d->result, want == 1 ? DENIAL_RESULT_SELFTEST : "denied");
        domain_filter_done(&domains);
        denial_done(d);
}

static void test_mark(void) {
        Denial d;

        d = selftest_denial();
        check_mark(&d, true, 1);
        /* no SELinux: no label, the pid was looked up */
        d = selftest_denial();
        set(&d.sender_subj, NULL);
        check_mark(&d, true, 1);

        /* the sender's pid was not looked up (an import, the backfill) */
        d = selftest_denial();
        check_mark(&d, false, 0);
        /* a kernel AVC: the label of an object is no proof */
        d = selftest_denial();
        d.record_type = AUDIT_TYPE_AVC;
        check_mark(&d, true, 0);
        /* sent from a container (its cgroup) */
        d = selftest_denial();
        d.attribution = ATTRIBUTION_SENDER;
        check_mark(&d, true, 0);
        /* sent by a process labeled as a container */
        d = selftest_denial();
        set(&d.sender_subj, "system_u:system_r:container_t:s0:c1,c2");
        check_mark(&d, true, 0);
        d = selftest_denial();
        set(&d.sender_subj, "not a context");
        check_mark(&d, true, 0);
        /* a sender already gone cannot be vouched for */
        d = selftest_denial();
        d.sender_pid = 0x7ffffff0;
        check_mark(&d, true, 0);
        d = selftest_denial();
        d.sender_pid = -1;
        check_mark(&d, true, 0);
        /* the mark is the target type; a comm or path someone chose is not */
        d = selftest_denial();
        set(&d.target_type, "etc_t");
        check_mark(&d, true, 0);
}

static void test_filter(void) {
        _cleanup_(denial_filter_done) DenialFilter f = {}, back = {};
        json_object *o;
        const char *bad = NULL;
        Denial d = selftest_denial(), plain = fixture_denial(1713603292240, 2);

        set(&d.result, DENIAL_RESULT_SELFTEST);
        /* left out by default, in by include_selftest; other denials either way */
        CHECK(!denial_filter_match(&f, &d));
        CHECK(denial_filter_match(&f, &plain));
        CHECK(denial_filter_match(NULL, &d));
        f.include_selftest = true;
        CHECK(denial_filter_match(&f, &d));
        CHECK(denial_filter_match(&f, &plain));

        /* JSON: written only when true, a boolean only */
        CHECK_RC(denial_filter_to_json(&f, &o), 0);
        CHECK_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                    "{\"include_selftest\":true}");
        CHECK_RC(denial_filter_from_json(o, &back, &bad), 0);
        CHECK(back.include_selftest);
        json_object_put(o);
        f.include_selftest = false;
        CHECK_RC(denial_filter_to_json(&f, &o), 0);
        CHECK_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), "{}");
        json_object_put(o);
        o = json_tokener_parse("{\"include_selftest\":1}");
        denial_filter_done(&back);
        CHECK_RC(denial_filter_from_json(o, &back, &bad), -EINVAL);
        CHECK_STREQ(bad, "include_selftest");
        json_object_put(o);
        denial_done(&d);
        denial_done(&plain);
}

int main(void) {
        test_mark();
        test_filter();
        return 0;
}
