/* SPDX-License-Identifier: MIT */
/* Line forms: each accepted form with its stamp, type, node and body, the ENRICHED tail, line
 * endings, separators and the shapes of damaged input that must be refused. */

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "line-form.h"
#include "tests/unit/test.h"

static LineInfo classify(const char *line) {
        LineInfo info;

        CHECK_RC(line_form_classify(line, strlen(line), &info), 0);
        return info;
}

static void check_body(const LineInfo *info, const char *body) {
        if (info->body_len != strlen(body) || memcmp(info->body, body, info->body_len) != 0) {
                fprintf(stderr, "body is \"%.*s\", expected \"%s\"\n", (int) info->body_len,
                        info->body, body);
                exit(1);
        }
}

static void check_bad(const char *line) {
        LineInfo info = {.form = LINE_FORM_BARE, .type = 4242};

        if (line_form_classify(line, strlen(line), &info) != -EBADMSG) {
                fprintf(stderr, "accepted as %s: %s\n", line_form_to_string(info.form), line);
                exit(1);
        }
        CHECK(info.type == 4242); /* untouched */
}

/* The year of a journalctl line: the reference's, or the one before across New Year. */
static void test_syslog_year(void) {
        SyslogTime t = {.month = 6, .day = 20, .hour = 20, .minute = 55, .second = 38, .ms = 5};
        int64_t ms;

        setenv("TZ", "UTC", 1);
        tzset();
        /* 2024-07-21 00:00 UTC */
        CHECK_RC(syslog_time_resolve(&t, INT64_C(1721520000000), &ms), 0);
        CHECK(ms == INT64_C(1721508938005)); /* 2024-07-20 20:55:38.005 */
        /* a reference before the line (mtime earlier in the year): the year before */
        CHECK_RC(syslog_time_resolve(&t, INT64_C(1718000000000), &ms), 0); /* 2024-06-10 */
        CHECK(ms == INT64_C(1689886538005));                               /* 2023-07-20 */
        /* ... unless within a day after it */
        CHECK_RC(syslog_time_resolve(&t, INT64_C(1721480000000), &ms), 0); /* 2024-07-20 12:53 */
        CHECK(ms == INT64_C(1721508938005));
        /* a log across New Year, its reference on Jan 2 2025: December is 2024, January 2025 */
        t = (SyslogTime){.month = 11, .day = 31, .hour = 23, .minute = 59, .second = 59};
        CHECK_RC(syslog_time_resolve(&t, INT64_C(1735776000000), &ms), 0);
        CHECK(ms == INT64_C(1735689599000)); /* 2024-12-31 23:59:59 */
        t = (SyslogTime){.month = 0, .day = 1, .hour = 0, .minute = 0, .second = 1};
        CHECK_RC(syslog_time_resolve(&t, INT64_C(1735776000000), &ms), 0);
        CHECK(ms == INT64_C(1735689601000)); /* 2025-01-01 00:00:01 */
        /* Feb 29 referenced in 2025: 2024; Feb 30 never */
        t = (SyslogTime){.month = 1, .day = 29, .hour = 12};
        CHECK_RC(syslog_time_resolve(&t, INT64_C(1741000000000), &ms), 0); /* 2025-03-03 */
        CHECK(ms == INT64_C(1709208000000));                               /* 2024-02-29 */
        t.day = 30;
        CHECK_RC(syslog_time_resolve(&t, INT64_C(1741000000000), &ms), -EBADMSG);
}

int main(void) {
        LineInfo i;

        test_syslog_year();

        /* RAW */
        i = classify("type=AVC msg=audit(1601481071.991:128): avc:  denied  { write } for\n");
        CHECK(i.form == LINE_FORM_RAW && i.has_stamp && i.type == 1400);
        CHECK(i.stamp.time_ms == 1601481071991LL && i.stamp.serial == 128);
        CHECK(i.node == NULL && i.node_len == 0);
        check_body(&i, "avc:  denied  { write } for");

        i = classify("node=web-01.example type=SYSCALL msg=audit(1.002:3): arch=c000003e");
        CHECK(i.form == LINE_FORM_RAW && i.type == 1300 && i.stamp.time_ms == 1002);
        CHECK(i.node_len == 14 && memcmp(i.node, "web-01.example", 14) == 0);
        check_body(&i, "arch=c000003e");

        /* the ENRICHED tail after \x1d is not part of the body; CRLF is stripped */
        i = classify("type=SYSCALL msg=audit(1634728455.294:53732): syscall=1 key=(null)"
                     "\x1d"
                     "ARCH=x86_64 SYSCALL=write\r\n");
        check_body(&i, "syscall=1 key=(null)");
        i = classify("type=CWD msg=audit(1.000:2): cwd=\"/\"\r\n");
        check_body(&i, "cwd=\"/\"");
        i = classify("type=CWD msg=audit(1.000:2): cwd=\"/\"\r");
        check_body(&i, "cwd=\"/\"");

        /* indented, serial of 10 digits, EOE with trailing space, body-less record */
        i = classify("    type=AVC msg=audit(1605647505.495:3870204537): avc:");
        CHECK(i.form == LINE_FORM_RAW && i.stamp.serial == 3870204537ULL);
        i = classify("type=EOE msg=audit(1634728455.294:53732): \n");
        CHECK(i.type == 1320);
        check_body(&i, "");
        i = classify("type=PROCTITLE msg=audit(1772104167.258:882):");
        CHECK(i.type == 1327 && i.body_len == 0);

        /* unknown and numeric type names */
        i = classify("type=UNKNOWN[1334] msg=audit(1.000:1): prog-id=3 op=LOAD");
        CHECK(i.form == LINE_FORM_RAW && i.type == 1334);
        i = classify("type=NOT_A_TYPE_YET msg=audit(1.000:1): x=1");
        CHECK(i.form == LINE_FORM_RAW && i.type == 0);
        CHECK(classify("type=USER_AVC msg=audit(1.000:1): pid=1").type == 1107);
        CHECK(classify("type=SELINUX_ERR msg=audit(1.000:1): op=x").type == 1401);
        CHECK(classify("type=MAC_POLICY_LOAD msg=audit(1.000:1): x").type == 1403);
        CHECK(classify("type=VIRT_RESOURCE msg=audit(1.000:1): x").type == 2501);
        CHECK(classify("type=ACCT_LOCK msg=audit(1.000:1): x").type == 1135);

        /* ausearch -i: local time */
        setenv("TZ", "UTC", 1);
        tzset();
        i = classify("type=AVC msg=audit(12/23/2025 11:02:01.450:437892) : avc:  denied");
        CHECK(i.form == LINE_FORM_RAW && i.has_stamp && i.stamp.serial == 437892);
        CHECK(i.stamp.time_ms == 1766487721450LL);
        check_body(&i, "avc:  denied");
        i = classify("type=PROCTITLE msg=audit(03/17/25 12:12:47.095:1509) : proctitle=nft -j");
        CHECK(i.stamp.time_ms == 1742213567095LL && i.stamp.serial == 1509);
        if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) == 0) {
                setenv("TZ", "Europe/Berlin", 1); /* CET, UTC+1 in December */
                tzset();
                i = classify("type=AVC msg=audit(12/23/2025 11:02:01.450:437892) : avc:");
                CHECK(i.stamp.time_ms == 1766487721450LL - 3600 * 1000);
        } else
                printf("no zoneinfo for Europe/Berlin: local time conversion checked in UTC "
                       "only\n");
        setenv("TZ", "UTC", 1);
        tzset();

        /* KERNEL_LOG: dmesg, syslog, journalctl -k */
        i = classify("[   77.134673] audit: type=1400 audit(1593593127.657:4): avc:  denied  { "
                     "getattr }");
        CHECK(i.form == LINE_FORM_KERNEL_LOG && i.type == 1400 && i.has_stamp);
        CHECK(i.stamp.time_ms == 1593593127657LL && i.stamp.serial == 4);
        check_body(&i, "avc:  denied  { getattr }");
        i = classify("Jun  1 12:00:00 host kernel: audit: type=1107 audit(1700000000.001:99): "
                     "pid=1 msg='x'");
        CHECK(i.form == LINE_FORM_KERNEL_LOG && i.type == 1107 && i.stamp.serial == 99);
        i = classify("audit: type=1400 audit(1.000:5): avc:  denied");
        CHECK(i.form == LINE_FORM_KERNEL_LOG && i.stamp.serial == 5);

        /* RAW behind a syslog prefix: audisp-syslog, syslog forwarding of audit.log lines */
        i = classify("Apr 20 08:55:02 host audisp-syslog: type=AVC msg=audit(1713603302.001:1): "
                     "avc:  denied  { read }");
        CHECK(i.form == LINE_FORM_RAW && i.type == 1400 && i.has_stamp && i.node == NULL);
        CHECK(i.stamp.time_ms == 1713603302001LL && i.stamp.serial == 1);
        check_body(&i, "avc:  denied  { read }");
        i = classify("2024-04-20T08:55:02.123+00:00 host audispd[7]: node=web1 type=SYSCALL "
                     "msg=audit(1713603302.002:2): arch=c000003e");
        CHECK(i.form == LINE_FORM_RAW && i.type == 1300 && i.stamp.serial == 2);
        CHECK(i.node_len == 4 && memcmp(i.node, "web1", 4) == 0);
        i = classify("Apr 20 08:55:02 host audisp-syslog: type=AVC "
                     "msg=audit(04/20/2024 08:55:02.003:3) : avc:  denied");
        CHECK(i.form == LINE_FORM_RAW && i.stamp.serial == 3);

        /* JOURNALD */
        i = classify("Jun 01 12:00:00 host audit[26268]: AVC avc:  denied  { create } for");
        CHECK(i.form == LINE_FORM_JOURNALD && !i.has_stamp && i.type == 1400);
        check_body(&i, "avc:  denied  { create } for");
        i = classify("      audit[1]: USER_AVC pid=1 uid=0 msg='avc:  denied'");
        CHECK(i.form == LINE_FORM_JOURNALD && i.type == 1107);
        check_body(&i, "pid=1 uid=0 msg='avc:  denied'");
        CHECK(classify("host audit[5]: SELINUX_ERR op=x").type == 1401);

        /* journalctl's time prefix: kept without a year; the serial comes from the body only */
        i = classify("Jul 20 20:55:38 host audit[7568]: AVC avc:  denied  { read }");
        CHECK(i.form == LINE_FORM_JOURNALD && !i.has_stamp && i.has_syslog_time);
        CHECK(i.syslog_time.month == 6 && i.syslog_time.day == 20 && i.syslog_time.hour == 20 &&
              i.syslog_time.minute == 55 && i.syslog_time.second == 38 && i.syslog_time.ms == 0);
        i = classify("Jan  5 01:02:03.456789 other audit[1]: AVC avc:  denied  { read }");
        CHECK(i.has_syslog_time && i.syslog_time.month == 0 && i.syslog_time.day == 5 &&
              i.syslog_time.ms == 456);
        CHECK(classify("Jan 05 01:02:03.4 h audit[1]: AVC x").syslog_time.ms == 400);
        CHECK(!classify("host audit[1]: AVC avc:  denied").has_syslog_time);
        CHECK(!classify("Foo 20 20:55:38 host audit[1]: AVC avc:").has_syslog_time);
        CHECK(!classify("Jul 32 20:55:38 host audit[1]: AVC avc:").has_syslog_time);
        CHECK(!classify("Jul 20 24:55:38 host audit[1]: AVC avc:").has_syslog_time);
        CHECK(!classify("Jul 20 20:55 host audit[1]: AVC avc:").has_syslog_time);
        /* pinned: the serial is part of the store's dedupe key and must never change */
        CHECK(synthetic_serial("avc:  denied  { read }", 22) == UINT64_C(0x12d1a62f21e74));
        CHECK(synthetic_serial("", 0) >= SYNTHETIC_SERIAL_BASE &&
              synthetic_serial("", 0) < 2 * SYNTHETIC_SERIAL_BASE);
        CHECK(synthetic_serial("a", 1) != synthetic_serial("b", 1));

        /* BARE */
        i = classify("avc:  denied  { add_name } for  pid=1154");
        CHECK(i.form == LINE_FORM_BARE && !i.has_stamp && i.type == 1400);
        check_body(&i, "avc:  denied  { add_name } for  pid=1154");
        CHECK(classify("  avc: denied { search }").form == LINE_FORM_BARE);

        /* SEPARATOR and BLANK */
        CHECK(classify("----\n").form == LINE_FORM_SEPARATOR);
        CHECK(classify("----\r\n").form == LINE_FORM_SEPARATOR);
        CHECK(classify("   ----").form == LINE_FORM_SEPARATOR);
        CHECK(classify("time->Wed Jul 16 20:11:32 2025").form == LINE_FORM_SEPARATOR);
        CHECK(classify("").form == LINE_FORM_BLANK);
        CHECK(classify("\n").form == LINE_FORM_BLANK);
        CHECK(classify(" \t \r\n").form == LINE_FORM_BLANK);
        CHECK(line_form_classify(NULL, 0, &i) == 0 && i.form == LINE_FORM_BLANK);

        /* not a line in any form */
        check_bad("      pid=762 comm=\"rtkit-daemon\"");
        check_bad("_type=AVC msg=audit(1433926625.524:1347): avc:  denied  { write }");
        check_bad("{ create } for pid=943 comm=\"systemd\"");
        check_bad("pid=918 auid=4294967295 uid=0 gtype=PROCTITLE msg=audit(83241.927:148):");
        check_bad("type=AVC msg=audit(1.00:1): avc:");                  /* ms must be 3 digits */
        check_bad("type=AVC msg=audit(1.0000:1): avc:");                /* ... exactly */
        check_bad("type=AVC msg=audit(123456789012.000:1): avc:");      /* 12-digit seconds */
        check_bad("type=AVC msg=audit(1.000:99999999999999999999): x"); /* serial > 19 digits */
        check_bad("type=AVC msg=audit(1.000:): x");
        check_bad("type=AVC msg=audit(1.000:1) x");
        check_bad("type=AVC msg=audit(13/01/2025 10:00:00.000:1) : x"); /* month 13 */
        check_bad("type=AVC msg=audit(12/23/2025 11:02:01.450:1): x");  /* no space */
        check_bad("type=avc msg=audit(1.000:1): x");
        check_bad("type= msg=audit(1.000:1): x");
        check_bad("type=AVC");
        check_bad("node= type=AVC msg=audit(1.000:1): x");
        check_bad("node=a\ttype=AVC msg=audit(1.000:1): x");
        check_bad("node=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                  "type=AVC msg=audit(1.000:1): x"); /* 65 > AUDIT_NODE_MAX */
        check_bad("kernel: audit: type=AVC audit(1.000:1): x");
        check_bad("kernel: audit: type=1400 audit(1.000:1) x");
        check_bad("host audit[]: AVC avc:");
        check_bad("host audit[12]: avc avc:");
        check_bad("host audit[12]:AVC avc:");
        check_bad("----x");
        check_bad("host x: type=AVC msg=audit(1.000:1) x");   /* behind syslog, still raw */
        check_bad("host x:type=AVC msg=audit(1.000:1): x");   /* no ": " */
        check_bad("host x: xtype=AVC msg=audit(1.000:1): x"); /* type= glued to text */
        check_bad("hello world");

        CHECK_STREQ(line_form_to_string(LINE_FORM_KERNEL_LOG), "kernel-log");
        CHECK(line_form_to_string(_LINE_FORM_MAX) == NULL);
        return 0;
}
