/* SPDX-License-Identifier: MIT */
/* user_avc_format(): the kernel's AVC text layout, untrusted-string encoding, validation and
 * buffer bounds. */

#include <errno.h>
#include <string.h>

#include "fixtures.h"
#include "test.h"
#include "user-avc.h"

static void test_kernel_layout(void) {
        UserAvcSpec s = fixture_user_avc();
        char buf[USER_AVC_TEXT_MAX];
        const char *want = "avc:  denied  { write } for  pid=21476 comm=\"bash\" name=\"root\" "
                           "scontext=system_u:system_r:container_t:s0:c170,c393 "
                           "tcontext=system_u:object_r:admin_home_t:s0 tclass=dir permissive=0";
        int r = user_avc_format(&s, buf, sizeof(buf));

        CHECK_STREQ(buf, want);
        CHECK_RC(r, strlen(want));
}

static void test_optional_fields(void) {
        UserAvcSpec s = fixture_user_avc();
        char buf[USER_AVC_TEXT_MAX];

        s.pid = -1;
        s.comm = NULL;
        s.name = NULL;
        s.path = "/etc/shadow";
        s.permissive = -1;
        s.permissions = "  read   open ";
        CHECK(user_avc_format(&s, buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, "avc:  denied  { read open } for  path=\"/etc/shadow\" "
                         "scontext=system_u:system_r:container_t:s0:c170,c393 "
                         "tcontext=system_u:object_r:admin_home_t:s0 tclass=dir");

        s = fixture_user_avc();
        s.permissive = 7; /* any non-zero value means permissive */
        CHECK(user_avc_format(&s, buf, sizeof(buf)) > 0);
        CHECK(strstr(buf, " permissive=1") != NULL);
}

static void test_untrusted_hex(void) {
        UserAvcSpec s = fixture_user_avc();
        char buf[USER_AVC_TEXT_MAX];

        /* space, quote, control character and non-ASCII all force hex, upper case */
        s.comm = "a b";
        s.name = "x\"y";
        s.path = "\x1b[2J\xc3\xa9";
        CHECK(user_avc_format(&s, buf, sizeof(buf)) > 0);
        CHECK(strstr(buf, " comm=612062 ") != NULL);
        CHECK(strstr(buf, " name=782279 ") != NULL);
        CHECK(strstr(buf, " path=1B5B324AC3A9 ") != NULL);

        /* the empty string is plain printable: "" as the kernel writes it */
        s = fixture_user_avc();
        s.comm = "";
        CHECK(user_avc_format(&s, buf, sizeof(buf)) > 0);
        CHECK(strstr(buf, " comm=\"\" ") != NULL);
}

static void test_invalid(void) {
        UserAvcSpec s;
        char buf[USER_AVC_TEXT_MAX];

        s = fixture_user_avc();
        s.scontext = NULL;
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        s = fixture_user_avc();
        s.scontext = "";
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        s = fixture_user_avc();
        s.scontext = "system_u:system_r:container_t:s0 tclass=file";
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        s = fixture_user_avc();
        s.tcontext = "system_u:object_r:x_t:s0'";
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        s = fixture_user_avc();
        s.tclass = NULL;
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        s = fixture_user_avc();
        s.tclass = "dir }";
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        s = fixture_user_avc();
        s.permissions = NULL;
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        s = fixture_user_avc();
        s.permissions = "   ";
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        s = fixture_user_avc();
        s.permissions = "read }";
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -EINVAL);
        CHECK_RC(user_avc_format(NULL, buf, sizeof(buf)), -EINVAL);
}

static void test_bounds(void) {
        UserAvcSpec s = fixture_user_avc();
        char buf[USER_AVC_TEXT_MAX];
        char small[USER_AVC_TEXT_MAX];
        int len = user_avc_format(&s, buf, sizeof(buf));

        CHECK(len > 0);
        /* exactly len + 1 fits (text plus NUL); one byte less does not */
        memset(small, 'Z', sizeof(small));
        CHECK_RC(user_avc_format(&s, small, (size_t) len + 1), len);
        CHECK_STREQ(small, buf);
        CHECK_RC(user_avc_format(&s, small, (size_t) len), -ENOBUFS);
        CHECK_RC(user_avc_format(&s, small, 0), -ENOBUFS);

        /* a path long enough to overflow the largest text the kernel takes */
        static char longpath[USER_AVC_TEXT_MAX + 16];
        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[sizeof(longpath) - 1] = '\0';
        s.path = longpath;
        CHECK_RC(user_avc_format(&s, buf, sizeof(buf)), -ENOBUFS);
}

int main(void) {
        test_kernel_layout();
        test_optional_fields();
        test_untrusted_hex();
        test_invalid();
        test_bounds();
        return 0;
}
