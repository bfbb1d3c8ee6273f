/* SPDX-License-Identifier: MIT */
/* Contexts and MCS sets: validation edges (c1023, c1024, s15, s16, ranges, dotted types,
 * abbreviated and decorated contexts seen in the wild), output bounds, parse/format round
 * trips. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "macro.h"
#include "tests/unit/test.h"

static void check_split(const char *ctx, const char *type, const char *mcs) {
        char t[64], m[64];

        CHECK_RC(context_split(ctx, t, sizeof(t), m, sizeof(m)), 0);
        CHECK_STREQ(t, type);
        CHECK_STREQ(m, mcs);
        CHECK(context_is_valid(ctx));
}

static void check_roundtrip(const char *in, const char *canonical) {
        McsSet a, b;
        char buf[8192];

        CHECK_RC(mcs_set_parse(in, &a), 0);
        CHECK(mcs_set_format(&a, buf, sizeof(buf)) == (int) strlen(canonical));
        CHECK_STREQ(buf, canonical);
        CHECK_RC(mcs_set_parse(buf, &b), 0);
        CHECK(mcs_set_equal(&a, &b));
}

int main(void) {
        char t[64], m[64];
        McsSet s, s2;
        char small[4], buf[8192];

        check_split("system_u:system_r:container_t:s0:c170,c393", "container_t", "c170,c393");
        check_split("system_u:object_r:tmp_t:s0", "tmp_t", "");
        check_split("system_u:system_r:logrotate_t:s0-s0:c0.c1023", "logrotate_t", "c0.c1023");
        check_split("system_u:system_r:selinuxrecording.process:s0:c218,c875",
                    "selinuxrecording.process", "c218,c875");
        check_split("system_u:system_r:my_container.process:s0:c0.c1023", "my_container.process",
                    "c0.c1023");
        check_split("user_u:user_r:user_t", "user_t", ""); /* no MLS */
        check_split("u:r:t:s0:c1023", "t", "c1023");
        check_split("u:r:t:s15", "t", "");
        check_split("u:r:t:s0:c1.c3,c7", "t", "c1.c3,c7");
        check_split("u:r:t:s0:c1-s0:c1,c2", "t", "c1,c2"); /* the high level counts */
        check_split("u:r:t:s0:c5-s0", "t", "");

        /* Splits are remembered (a few per thread): the same answers again, in any order, for
         * more contexts than are remembered, one too long to be, and ones differing late. */
        char long_ctx[512], long_type[400];
        snprintf(long_type, sizeof(long_type), "%0300d_t", 0);
        snprintf(long_ctx, sizeof(long_ctx), "u:r:%s:s0:c9", long_type);
        const char *again[][3] = {
                {"system_u:system_r:container_t:s0:c17,c39", "container_t", "c17,c39"},
                {"system_u:system_r:container_t:s0:c170,c393", "container_t", "c170,c393"},
                {"system_u:object_r:tmp_t:s0", "tmp_t", ""},
                {"u:r:t:s0:c1-s0:c1,c2", "t", "c1,c2"},
                {"user_u:user_r:user_t", "user_t", ""},
                {"u:r:t:s0:c1.c3,c7", "t", "c1.c3,c7"},
                {long_ctx, long_type, "c9"},
        };
        for (int round = 0; round < 3; round++)
                for (size_t i = 0; i < ELEMENTSOF(again); i++) {
                        char big_t[400];
                        CHECK_RC(context_split(again[i][0], big_t, sizeof(big_t), m, sizeof(m)), 0);
                        CHECK_STREQ(big_t, again[i][1]);
                        CHECK_STREQ(m, again[i][2]);
                        CHECK(!context_is_valid("u:r:t:s0:c1024"));
                }

        CHECK(!context_is_valid("u:r:t:s0:c1024"));
        CHECK(!context_is_valid("u:r:t:s16"));
        CHECK(!context_is_valid("u:r:t:s0:c3.c1")); /* reversed range */
        CHECK(!context_is_valid("u:r:t:s0:c01"));
        CHECK(!context_is_valid("u:r:t:s0:c1,"));
        CHECK(!context_is_valid("u:r:t:s0:"));
        CHECK(!context_is_valid("u:r:t:"));
        CHECK(!context_is_valid("u:r:t:s0-"));
        CHECK(!context_is_valid("u:r:t:x0"));
        CHECK(!context_is_valid("u:r"));
        CHECK(!context_is_valid("u::t"));
        CHECK(!context_is_valid(""));
        CHECK(!context_is_valid(NULL));
        CHECK(!context_is_valid("u:r:t t:s0"));
        /* corpus: abbreviated contexts and markdown decoration */
        CHECK(!context_is_valid("container_t:s0:c139,c767"));
        CHECK(!context_is_valid("container_var_run_t:s0"));
        CHECK(!context_is_valid("system_u:system_r:svirt_lxc_net_t:**s0:c147,c266**"));

        /* output bounds, and outputs untouched on failure */
        strcpy(t, "keep");
        CHECK_RC(context_split("u:r:container_t:s0", small, sizeof(small), NULL, 0), -ENOBUFS);
        CHECK_RC(context_split("u:r:t:s0:c170,c393", NULL, 0, small, sizeof(small)), -ENOBUFS);
        CHECK_RC(context_split("u:r:t:s0:c1024", t, sizeof(t), m, sizeof(m)), -EINVAL);
        CHECK_STREQ(t, "keep");
        CHECK_RC(context_split("u:r:abc:s0", small, sizeof(small), NULL, 0), 0); /* exact fit */
        CHECK_STREQ(small, "abc");

        /* MCS sets */
        CHECK_RC(mcs_set_parse("", &s), 0);
        CHECK(mcs_set_is_empty(&s));
        CHECK_RC(mcs_set_parse("s0", &s), 0);
        CHECK(mcs_set_is_empty(&s));
        CHECK_RC(mcs_set_parse("c170,c393", &s), 0);
        CHECK(!mcs_set_is_empty(&s));
        CHECK_RC(mcs_set_parse("s0:c393,c170", &s2), 0);
        CHECK(mcs_set_equal(&s, &s2));
        CHECK_RC(mcs_set_parse("s0-s0:c0.c1023", &s), 0);
        CHECK_RC(mcs_set_parse("c0.c1023", &s2), 0);
        CHECK(mcs_set_equal(&s, &s2));
        CHECK_RC(mcs_set_parse("c1,c2", &s2), 0);
        CHECK(!mcs_set_equal(&s, &s2));

        CHECK_RC(mcs_set_parse("c1024", &s), -EINVAL);
        CHECK_RC(mcs_set_parse("c1,,c2", &s), -EINVAL);
        CHECK_RC(mcs_set_parse("c1 ", &s), -EINVAL);
        CHECK_RC(mcs_set_parse("s16:c1", &s), -EINVAL);
        CHECK_RC(mcs_set_parse("x1", &s), -EINVAL);
        CHECK_RC(mcs_set_parse(NULL, &s), -EINVAL);

        check_roundtrip("", "");
        check_roundtrip("c170,c393", "c170,c393");
        check_roundtrip("c393,c170", "c170,c393");
        check_roundtrip("c0.c1023", "c0.c1023");
        check_roundtrip("c1,c2", "c1,c2");
        check_roundtrip("c1,c2,c3", "c1.c3");
        check_roundtrip("c1.c3,c7", "c1.c3,c7");
        check_roundtrip("c7,c1.c3,c2", "c1.c3,c7");
        check_roundtrip("c1023", "c1023");
        check_roundtrip("s0:c5,c6,c7,c8,c100", "c5.c8,c100");

        /* format bounds: every even category is the longest canonical text */
        memset(&s, 0, sizeof(s));
        for (unsigned c = 0; c < MCS_CATEGORIES_MAX; c += 2)
                s.bits[c / 64] |= UINT64_C(1) << (c % 64);
        CHECK(mcs_set_format(&s, buf, sizeof(buf)) > 0);
        CHECK_RC(mcs_set_parse(buf, &s2), 0);
        CHECK(mcs_set_equal(&s, &s2));
        CHECK_RC(mcs_set_parse("c170,c393", &s), 0);
        CHECK_RC(mcs_set_format(&s, buf, 9), -ENOBUFS); /* "c170,c393" needs 10 */
        CHECK_RC(mcs_set_format(&s, buf, 10), 9);
        CHECK_RC(mcs_set_format(&s, buf, 0), -ENOBUFS);
        return 0;
}
