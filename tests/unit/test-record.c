/* SPDX-License-Identifier: MIT */
/* Record parser: every accepted form into a denial, every record kind we read, the decoding of
 * untrusted values (quotes, hex, NUL, terminal escapes kept as bytes), USER_AVC and SELINUX_ERR,
 * AppArmor, each class of malformed input, and the RECORD_LINE_MAX bound. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "macro.h"
#include "record.h"
#include "store.h"
#include "tests/unit/test.h"

#define SCON "system_u:system_r:container_t:s0:c170,c393"
#define TCON "system_u:object_r:admin_home_t:s0"
#define AVC_TAIL "scontext=" SCON " tcontext=" TCON " tclass=dir permissive=0"
#define AVC_BODY "avc:  denied  { write } for  pid=21476 comm=\"bash\" name=\"root\" " AVC_TAIL

static RecordParser *parser;

static Record parse_ok(const char *line) {
        Record r;
        int rc = record_parse(parser, line, strlen(line), &r);

        if (rc != 0) {
                fprintf(stderr, "record_parse() = %d for: %s\n", rc, line);
                exit(1);
        }
        return r;
}

static void check_rc(const char *line, int expected) {
        Record r = {.kind = RECORD_CWD, .type = 4242};
        int rc = record_parse(parser, line, strlen(line), &r);

        if (rc != expected) {
                fprintf(stderr, "record_parse() = %d, expected %d, for: %s\n", rc, expected, line);
                exit(1);
        }
        CHECK(r.type == 4242 && r.kind == RECORD_CWD && r.storage == NULL); /* untouched */
}

static void check_standard_avc(const Record *r) {
        CHECK(r->kind == RECORD_DENIAL && r->type == AUDIT_TYPE_AVC);
        CHECK_STREQ(r->avc.result, "denied");
        CHECK_STREQ(r->avc.permissions, "write");
        CHECK(r->avc.pid == 21476);
        CHECK_STREQ(r->avc.comm, "bash");
        CHECK_STREQ(r->avc.name, "root");
        CHECK(r->avc.path == NULL && r->avc.exe == NULL);
        CHECK_STREQ(r->avc.scontext, SCON);
        CHECK_STREQ(r->avc.tcontext, TCON);
        CHECK_STREQ(r->avc.tclass, "dir");
        CHECK(r->avc.permissive == 0);
}

static void test_forms(void) {
        Record r;

        r = parse_ok("type=AVC msg=audit(1713603292.240:1088): " AVC_BODY "\n");
        check_standard_avc(&r);
        CHECK(r.form == LINE_FORM_RAW && r.has_stamp && r.node == NULL);
        CHECK(r.stamp.time_ms == 1713603292240LL && r.stamp.serial == 1088);
        CHECK(r.storage != NULL);
        record_done(&r);
        CHECK(r.storage == NULL);

        r = parse_ok("node=web01 type=AVC msg=audit(1713603292.240:1088): " AVC_BODY "\r\n");
        check_standard_avc(&r);
        CHECK_STREQ(r.node, "web01");
        record_done(&r);

        /* ENRICHED tail: its fields are auditd's, not the kernel's, and are dropped */
        r = parse_ok("type=AVC msg=audit(1.000:7): " AVC_BODY "\x1d"
                     "AUID=\"unset\" comm=\"evil\"\n");
        check_standard_avc(&r);
        record_done(&r);

        r = parse_ok("[   77.134673] audit: type=1400 audit(1713603292.240:1088): " AVC_BODY);
        check_standard_avc(&r);
        CHECK(r.form == LINE_FORM_KERNEL_LOG && r.has_stamp && r.stamp.serial == 1088);
        record_done(&r);

        r = parse_ok("Jun  1 12:00:00 host kernel: audit: type=1400 "
                     "audit(1713603292.240:1088): " AVC_BODY);
        check_standard_avc(&r);
        CHECK(r.form == LINE_FORM_KERNEL_LOG);
        record_done(&r);

        r = parse_ok("Jun 01 12:00:00 host audit[21476]: AVC " AVC_BODY);
        check_standard_avc(&r);
        CHECK(r.form == LINE_FORM_JOURNALD && !r.has_stamp);
        record_done(&r);

        r = parse_ok(AVC_BODY);
        check_standard_avc(&r);
        CHECK(r.form == LINE_FORM_BARE && !r.has_stamp && r.stamp.serial == 0);
        record_done(&r);

        /* ausearch -i: unquoted, already decoded values; a hex-looking comm stays as is */
        r = parse_ok("type=AVC msg=audit(12/23/2025 11:02:01.450:437892) : avc:  denied  { "
                     "execute_no_trans } for  pid=1124034 comm=CAFE0A path=/memfd:x (deleted) "
                     "dev=\"tmpfs\" " AVC_TAIL);
        CHECK(r.kind == RECORD_DENIAL && r.has_stamp && r.stamp.serial == 437892);
        CHECK(r.stamp.time_ms == 1766487721450LL);
        CHECK_STREQ(r.avc.comm, "CAFE0A");
        CHECK_STREQ(r.avc.path, "/memfd:x");
        record_done(&r);

        r = parse_ok("----\n");
        CHECK(r.kind == RECORD_SEPARATOR && r.form == LINE_FORM_SEPARATOR && r.type == 0);
        CHECK(!r.has_stamp && r.storage == NULL);
        record_done(&r);
        r = parse_ok("time->Fri Aug  9 22:29:36 2019\r\n");
        CHECK(r.kind == RECORD_SEPARATOR);
        record_done(&r);

        r = parse_ok("type=EOE msg=audit(1634728455.294:53732): \n");
        CHECK(r.kind == RECORD_EOE && r.type == AUDIT_TYPE_EOE && r.stamp.serial == 53732);
        record_done(&r);
        r = parse_ok("node=n1 type=EOE msg=audit(1.000:2):");
        CHECK(r.kind == RECORD_EOE);
        CHECK_STREQ(r.node, "n1");
        record_done(&r);

        check_rc("", -ENODATA);
        check_rc("\n", -ENODATA);
        check_rc("  \t\r\n", -ENODATA);
}

static void test_decoding(void) {
        Record r;

        /* A hex comm that decodes to a terminal escape comes back as those bytes: escaping is
         * the output's job, the parser keeps the truth. */
        r = parse_ok("type=AVC msg=audit(1.000:1): avc:  denied  { read } for  pid=5 "
                     "comm=1B5D303B70776E656407 path=\"/etc/shadow\" " AVC_TAIL);
        CHECK_STREQ(r.avc.comm, "\x1b]0;pwned\x07");
        CHECK_STREQ(r.avc.path, "/etc/shadow");
        record_done(&r);

        /* abstract socket: leading NUL -> '@'; NUL inside -> ' '; spaces via hex */
        r = parse_ok("type=AVC msg=audit(1.000:1): avc:  denied  { connectto } for  pid=6892 "
                     "comm=\"evolution-alarm\" path=002F746D702F646275732D47416759386D56457350 "
                     "name=612062 " AVC_TAIL);
        CHECK_STREQ(r.avc.path, "@/tmp/dbus-GAgY8mVEsP");
        CHECK_STREQ(r.avc.name, "a b");
        record_done(&r);
        r = parse_ok("type=AVC msg=audit(1.000:1): avc:  denied  { read } for  pid=1 comm=\"x\" "
                     "path=2F6100622F " AVC_TAIL);
        CHECK_STREQ(r.avc.path, "/a b/");
        record_done(&r);

        /* unknown spellings, lower-case words are not hex, no permissive= */
        r = parse_ok("type=AVC msg=audit(1.000:1): avc:  granted  { getattr } for  pid=4310 "
                     "comm=cafe path=(null) name=? scontext=" SCON " tcontext=" TCON
                     " tclass=file");
        CHECK_STREQ(r.avc.result, "granted");
        CHECK_STREQ(r.avc.comm, "cafe");
        CHECK(r.avc.path == NULL && r.avc.name == NULL && r.avc.permissive == -1);
        record_done(&r);

        /* several permissions, space separated in record order; permissive=1 */
        r = parse_ok("type=AVC msg=audit(1.000:1): avc:  denied  { read write open } for  "
                     "pid=94509 comm=\"aide\" scontext=" SCON " tcontext=" TCON
                     " tclass=file permissive=1");
        CHECK_STREQ(r.avc.permissions, "read write open");
        CHECK(r.avc.permissive == 1);
        record_done(&r);

        /* PROCTITLE: hex with NUL separators, quoted, interpreted */
        r = parse_ok("type=PROCTITLE msg=audit(1602816340.741:42012): "
                     "proctitle=2F7573722F7362696E2F6C6F67726F74617465002F6574632F6C6F67726F7461"
                     "74652E636F6E66");
        CHECK(r.kind == RECORD_PROCTITLE && r.type == AUDIT_TYPE_PROCTITLE);
        CHECK_STREQ(r.proctitle, "/usr/sbin/logrotate /etc/logrotate.conf");
        record_done(&r);
        r = parse_ok("type=PROCTITLE msg=audit(1.000:1): proctitle=1B5B324A00");
        CHECK_STREQ(r.proctitle, "\x1b[2J");
        record_done(&r);
        /* An empty value at the very end of the input (found by the fuzzer: it was read one
         * byte past the end): an empty string. The replay of the saved corpus under ASan keeps
         * the over-read from coming back; this keeps the result. */
        r = parse_ok("type=PROCTITLE msg=audit(177.100:159): proctitle=");
        CHECK_STREQ(r.proctitle, "");
        record_done(&r);
        r = parse_ok("type=PROCTITLE msg=audit(1764134806.202:243): proctitle=\"(systemd)\"");
        CHECK_STREQ(r.proctitle, "(systemd)");
        record_done(&r);
        r = parse_ok("type=PROCTITLE msg=audit(12/23/2025 11:02:01.450:437892) : "
                     "proctitle=apk add clang lld perl make");
        CHECK_STREQ(r.proctitle, "apk add clang lld perl make");
        record_done(&r);

        /* CWD, PATH */
        r = parse_ok("type=CWD msg=audit(1.000:1): cwd=\"/etc/logrotate.d\"");
        CHECK(r.kind == RECORD_CWD);
        CHECK_STREQ(r.cwd, "/etc/logrotate.d");
        record_done(&r);
        r = parse_ok("type=CWD msg=audit(1.000:1): cwd=2F746D702F612062");
        CHECK_STREQ(r.cwd, "/tmp/a b");
        record_done(&r);
        r = parse_ok("type=PATH msg=audit(1.000:1): item=1 name=\"/var/lib/x\" inode=4229964 "
                     "dev=fd:08 mode=040700 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL");
        CHECK(r.kind == RECORD_PATH && r.path.item == 1);
        CHECK_STREQ(r.path.name, "/var/lib/x");
        record_done(&r);
        r = parse_ok("type=PATH msg=audit(1.000:1): item=0 name=(null) inode=1");
        CHECK(r.path.item == 0 && r.path.name == NULL);
        record_done(&r);

        /* SYSCALL, raw and interpreted */
        r = parse_ok("type=SYSCALL msg=audit(1602816340.741:42012): arch=c000003e syscall=257 "
                     "success=no exit=-13 a0=ffffff9c items=1 ppid=71976 pid=71978 "
                     "auid=4294967295 uid=0 gid=0 tty=(none) ses=4294967295 comm=\"logrotate\" "
                     "exe=\"/usr/sbin/logrotate\" subj=" SCON " key=(null)");
        CHECK(r.kind == RECORD_SYSCALL && r.type == AUDIT_TYPE_SYSCALL);
        CHECK(r.syscall.syscall == 257 && r.syscall.pid == 71978 && r.syscall.ppid == 71976);
        CHECK(r.syscall.uid == 0 && r.syscall.success == 0);
        CHECK_STREQ(r.syscall.comm, "logrotate");
        CHECK_STREQ(r.syscall.exe, "/usr/sbin/logrotate");
        record_done(&r);
        r = parse_ok("type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 success=yes "
                     "ppid=1 pid=2 uid=1000 comm=72756E633A5B323A494E49545D exe=2F612062");
        CHECK(r.syscall.success == 1 && r.syscall.uid == 1000);
        CHECK_STREQ(r.syscall.comm, "runc:[2:INIT]");
        CHECK_STREQ(r.syscall.exe, "/a b");
        record_done(&r);
        r = parse_ok("type=SYSCALL msg=audit(12/23/2025 11:02:01.450:437892) : arch=x86_64 "
                     "syscall=execve success=no exit=EACCES(Permission denied) ppid=1123910 "
                     "pid=1124034 auid=unset uid=root comm=apk exe=/sbin/apk");
        CHECK(r.syscall.syscall == -1 && r.syscall.uid == -1 && r.syscall.pid == 1124034);
        CHECK_STREQ(r.syscall.exe, "/sbin/apk");
        record_done(&r);

        /* records we do not use */
        r = parse_ok("type=EXECVE msg=audit(1.000:1): argc=2 a0=\"ls\" a1=\"-l\"");
        CHECK(r.kind == RECORD_IGNORED && r.type == 1309);
        record_done(&r);
        r = parse_ok("type=MAC_POLICY_LOAD msg=audit(1162850395.870:1014): policy loaded "
                     "auid=500");
        CHECK(r.kind == RECORD_IGNORED && r.type == 1403);
        record_done(&r);
        r = parse_ok("type=UNKNOWN[1334] msg=audit(1.000:1): prog-id=3 op=LOAD");
        CHECK(r.kind == RECORD_IGNORED && r.type == 1334);
        record_done(&r);
}

static void test_user_avc_and_selinux_err(void) {
        Record r;

        /* modern USER_AVC: the subject is the one inside msg='...', not the sender */
        r = parse_ok("type=USER_AVC msg=audit(1.000:9): pid=1 uid=0 auid=4294967295 "
                     "ses=4294967295 subj=system_u:system_r:init_t:s0 msg='avc:  denied  { "
                     "write } for  pid=4242 comm=\"bash\" path=\"/root/x\" " AVC_TAIL
                     "  exe=\"/usr/bin/bash\" sauid=0 hostname=? addr=? terminal=?'");
        CHECK(r.kind == RECORD_DENIAL && r.type == AUDIT_TYPE_USER_AVC);
        CHECK(r.avc.pid == 4242);
        /* the sender, as the kernel stamped it, kept apart */
        CHECK(r.avc.sender_pid == 1);
        CHECK_STREQ(r.avc.sender_subj, "system_u:system_r:init_t:s0");
        CHECK_STREQ(r.avc.comm, "bash");
        /* exe= at the end is libaudit's, the sender's own (audit_log_user_avc_message) */
        CHECK(r.avc.exe == NULL);
        CHECK_STREQ(r.avc.path, "/root/x");
        CHECK_STREQ(r.avc.scontext, SCON);
        CHECK(r.avc.permissive == 0);
        record_done(&r);

        /* legacy dbus form: no inner pid, trailing " : exe=... (sauid=81, ...)" */
        r = parse_ok("type=USER_AVC msg=audit(1162851239.127:1164): user pid=2350 uid=81 "
                     "auid=4294967295 subj=system_u:system_r:system_dbusd_t:s0 msg='avc:  "
                     "denied  { send_msg } for msgtype=method_call dest=org.x spid=6868 "
                     "tpid=2797 scontext=staff_u:staff_r:staff_evolution_t:s0 "
                     "tcontext=system_u:system_r:NetworkManager_t:s0 tclass=dbus : "
                     "exe=\"/bin/dbus-daemon\" (sauid=81, hostname=?, addr=?, terminal=?)'");
        CHECK(r.kind == RECORD_DENIAL && r.avc.pid == -1 && r.avc.comm == NULL);
        CHECK(r.avc.sender_pid == 2350);
        CHECK(r.avc.exe == NULL);
        CHECK_STREQ(r.avc.permissions, "send_msg");
        CHECK_STREQ(r.avc.tclass, "dbus");
        CHECK_STREQ(r.avc.tcontext, "system_u:system_r:NetworkManager_t:s0");
        CHECK(r.avc.permissive == -1);
        record_done(&r);

        /* dbus-daemon (Debian 12) as a container's process is denied a method call on the
         * host's systemd: the subject is the container's (scontext), not dbus-daemon */
        r = parse_ok("type=USER_AVC msg=audit(1764600000.015:1015): pid=1234 uid=81 "
                     "auid=4294967295 ses=4294967295 subj=system_u:system_r:system_dbusd_t:s0-s0:"
                     "c0.c1023 msg='avc:  denied  { send_msg } for msgtype=method_call "
                     "interface=org.freedesktop.systemd1.Manager member=StartUnit "
                     "dest=org.freedesktop.systemd1 spid=2345 tpid=1 scontext=" SCON
                     " tcontext=system_u:system_r:init_t:s0 tclass=dbus permissive=0  "
                     "exe=\"/usr/bin/dbus-daemon\" sauid=81 hostname=? addr=? terminal=?'");
        CHECK(r.kind == RECORD_DENIAL && r.avc.pid == -1 && r.avc.exe == NULL);
        CHECK_STREQ(r.avc.scontext, SCON);
        CHECK(r.avc.permissive == 0);
        record_done(&r);
        /* a sender's text cannot pose as the kernel's part: pid= and subj= inside msg='...'
         * are the claim's, not the sender's */
        r = parse_ok("type=USER_AVC msg=audit(1.000:17): pid=77 uid=0 auid=4294967295 "
                     "ses=4294967295 msg='avc:  denied  { write } for  pid=4242 comm=\"sh\" "
                     "subj=system_u:system_r:init_t:s0 " AVC_TAIL "'");
        CHECK(r.kind == RECORD_DENIAL && r.avc.pid == 4242);
        CHECK(r.avc.sender_pid == 77 && r.avc.sender_subj == NULL);
        record_done(&r);
        /* systemd refusing a unit operation: no subject pid, the unit's path kept */
        r = parse_ok("type=USER_AVC msg=audit(1.000:16): pid=1 uid=0 auid=4294967295 "
                     "ses=4294967295 subj=system_u:system_r:init_t:s0 msg='avc:  denied  { "
                     "status } for auid=n/a uid=0 gid=0 path=\"/usr/lib/systemd/system/x.service"
                     "\" cmdline=\"systemctl status x\" function=\"mac_selinux_unit_access_"
                     "check_va\" scontext=" SCON " tcontext=system_u:object_r:systemd_unit_file_t"
                     ":s0 tclass=service permissive=0 exe=\"/usr/lib/systemd/systemd\" sauid=0 "
                     "hostname=? addr=? terminal=?'");
        CHECK(r.kind == RECORD_DENIAL && r.avc.pid == -1 && r.avc.exe == NULL);
        CHECK_STREQ(r.avc.path, "/usr/lib/systemd/system/x.service");
        CHECK_STREQ(r.avc.tclass, "service");
        record_done(&r);

        /* status messages are not verdicts */
        r = parse_ok("type=USER_AVC msg=audit(1.000:1): pid=1 uid=0 auid=4294967295 "
                     "ses=4294967295 subj=system_u:system_r:init_t:s0 msg='avc:  received "
                     "policyload notice (seqno=2)  exe=\"/usr/lib/systemd/systemd\" sauid=0 "
                     "hostname=? addr=? terminal=?'");
        CHECK(r.kind == RECORD_IGNORED && r.type == AUDIT_TYPE_USER_AVC);
        record_done(&r);
        r = parse_ok("audit[1]: USER_AVC pid=1 uid=0 msg='avc:  op=load_policy lsm=selinux'");
        CHECK(r.kind == RECORD_IGNORED);
        record_done(&r);

        check_rc("type=USER_AVC msg=audit(1.000:1): pid=1 uid=0", -EBADMSG); /* no msg */
        check_rc("type=USER_AVC msg=audit(1.000:1): pid=1 msg='avc:  denied  { write } for "
                 "pid=2 " AVC_TAIL,
                 -EBADMSG); /* truncated: no closing quote */
        check_rc("type=USER_AVC msg=audit(1.000:1): pid=1 msg='avc:  denied  { write } for "
                 "pid=2'",
                 -EBADMSG); /* incomplete verdict */

        /* SELINUX_ERR */
        r = parse_ok("type=SELINUX_ERR msg=audit(1.000:3): op=security_bounded_transition "
                     "seresult=denied oldcontext=system_u:system_r:container_runtime_t:s0 "
                     "newcontext=" SCON);
        CHECK(r.kind == RECORD_DENIAL && r.type == AUDIT_TYPE_SELINUX_ERR);
        CHECK_STREQ(r.avc.result, "error");
        CHECK(r.avc.permissions == NULL && r.avc.tclass == NULL && r.avc.permissive == -1);
        CHECK_STREQ(r.avc.scontext, "system_u:system_r:container_runtime_t:s0");
        CHECK_STREQ(r.avc.tcontext, SCON);
        record_done(&r);
        r = parse_ok("type=SELINUX_ERR msg=audit(1.000:3): security_compute_sid:  invalid "
                     "context unconfined_u:unconfined_r:foo_t:s0 for scontext=" SCON
                     " tcontext=" TCON " tclass=process");
        CHECK_STREQ(r.avc.scontext, SCON);
        CHECK_STREQ(r.avc.tclass, "process");
        record_done(&r);
        /* a container's process refused a relabel: the process is the subject */
        r = parse_ok("type=SELINUX_ERR msg=audit(1.000:4): op=security_validate_transition "
                     "seresult=denied oldcontext=system_u:object_r:container_file_t:s0:c170,c393 "
                     "newcontext=system_u:object_r:etc_t:s0 taskcontext=" SCON " tclass=file");
        CHECK(r.kind == RECORD_DENIAL && r.type == AUDIT_TYPE_SELINUX_ERR);
        CHECK_STREQ(r.avc.scontext, SCON);
        CHECK_STREQ(r.avc.tcontext, "system_u:object_r:etc_t:s0");
        CHECK_STREQ(r.avc.tclass, "file");
        record_done(&r);
        /* A refused permission beyond a typebound: the kernel's security_dump_masked_av() lists
         * the permissions after perms=, comma separated ("????" for one without a name). */
        r = parse_ok("type=SELINUX_ERR msg=audit(1.000:5): op=security_compute_av reason=bounds "
                     "scontext=" SCON " tcontext=" TCON " tclass=file perms=read,write,????");
        CHECK(r.kind == RECORD_DENIAL && r.type == AUDIT_TYPE_SELINUX_ERR);
        CHECK_STREQ(r.avc.result, "error");
        CHECK_STREQ(r.avc.permissions, "read write ????");
        CHECK_STREQ(r.avc.tclass, "file");
        record_done(&r);
        r = parse_ok("type=SELINUX_ERR msg=audit(1.000:5): op=security_compute_av reason=bounds "
                     "scontext=" SCON " tcontext=" TCON " tclass=file perms=");
        CHECK(r.kind == RECORD_DENIAL && r.avc.permissions == NULL);
        record_done(&r);
        check_rc("type=SELINUX_ERR msg=audit(1.000:3): op=x scontext=bad tcontext=worse", -EBADMSG);
        check_rc("type=SELINUX_ERR msg=audit(1.000:3): ", -EBADMSG);

        /* behind a syslog prefix (audisp-syslog), one holding a '/': still the raw form, with
         * its quoted and hex values decoded as such, not as `ausearch -i` text */
        r = parse_ok("Apr 20 08:55:02 web1 /usr/sbin/audispd[7]: node=web1 type=AVC "
                     "msg=audit(1713603302.001:9): avc:  denied  { read write } for  pid=5 "
                     "comm=636174 name=\"x\" scontext=" SCON " tcontext=" TCON
                     " tclass=file permissive=1");
        CHECK(r.kind == RECORD_DENIAL && r.type == AUDIT_TYPE_AVC && r.has_stamp);
        CHECK(r.stamp.serial == 9 && r.stamp.time_ms == 1713603302001LL);
        CHECK_STREQ(r.node, "web1");
        CHECK_STREQ(r.avc.comm, "cat");
        CHECK_STREQ(r.avc.name, "x");
        CHECK_STREQ(r.avc.permissions, "read write");
        CHECK(r.avc.permissive == 1);
        record_done(&r);

        /* AppArmor uses type 1400 too */
        r = parse_ok("type=AVC msg=audit(1634728455.294:53732): apparmor=\"STATUS\" "
                     "operation=\"profile_replace\" info=\"same as current profile, skipping\" "
                     "profile=\"unconfined\" name=\"snap-update-ns.amazon-ssm-agent\" "
                     "pid=3981295 comm=\"apparmor_parser\"");
        CHECK(r.kind == RECORD_IGNORED && r.type == AUDIT_TYPE_AVC);
        record_done(&r);
        r = parse_ok("[ 5.1] audit: type=1400 audit(1.000:2): apparmor=\"DENIED\" "
                     "operation=\"open\" profile=\"x\" name=\"/etc/y\" pid=1 comm=\"z\"");
        CHECK(r.kind == RECORD_IGNORED);
        record_done(&r);
}

static void test_malformed(void) {
        char line[256];
        Record r;

        /* wrapped: the verdict line alone */
        check_rc("  type=AVC msg=audit(1721340769.363:269): avc:  denied  { setsched } for\n",
                 -EBADMSG);
        check_rc("type=AVC msg=audit(1.000:1): avc:  denied\n", -EBADMSG);
        check_rc("type=AVC msg=audit(1.000:1): \n", -EBADMSG);
        check_rc("type=AVC msg=audit(1.000:1):", -EBADMSG);
        /* continuation lines and decorations */
        check_rc("      pid=762 comm=\"rtkit-daemon\"", -EBADMSG);
        check_rc("tcontext=system_u:system_r:container_runtime_t:s0 tclass=tun_socket", -EBADMSG);
        check_rc("_type=AVC msg=audit(1433926625.524:1347): avc:  denied  { write } for  "
                 "pid=29280 " AVC_TAIL "_",
                 -EBADMSG);
        /* a stamp no store can keep (store.h: the row id is the time), in every stamped form;
         * the last millisecond before the bound is a record like any other */
        check_rc(
                "type=AVC msg=audit(9999999999.999:12): avc:  denied  { read } for pid=1 " AVC_TAIL,
                -EBADMSG);
        check_rc("audit: type=1400 audit(9999999999.999:12): avc:  denied  { read } for "
                 "pid=1 " AVC_TAIL,
                 -EBADMSG);
        check_rc("type=AVC msg=audit(12/31/2286 23:59:59.999:12) : avc:  denied  { read } for "
                 "pid=1 " AVC_TAIL,
                 -EBADMSG);
        snprintf(line, sizeof(line),
                 "type=AVC msg=audit(%" PRIi64 ".%03" PRIi64 ":12): avc:  denied  { read } for "
                 "pid=1 %s",
                 STORE_TIME_MAX / 1000, STORE_TIME_MAX % 1000, AVC_TAIL);
        check_rc(line, -EBADMSG);
        snprintf(line, sizeof(line),
                 "type=AVC msg=audit(%" PRIi64 ".%03" PRIi64 ":12): avc:  denied  { read } for "
                 "pid=1 %s",
                 (STORE_TIME_MAX - 1) / 1000, (STORE_TIME_MAX - 1) % 1000, AVC_TAIL);
        r = parse_ok(line);
        CHECK(r.kind == RECORD_DENIAL && r.stamp.time_ms == STORE_TIME_MAX - 1);
        record_done(&r);
        /* invalid contexts */
        check_rc("type=AVC msg=audit(1433926625.524:1347): avc:  denied  { write } for  "
                 "pid=29280 comm=\"launch\" scontext=system_u:system_r:svirt_lxc_net_t:**s0:"
                 "c147,c266** tcontext=" TCON " tclass=dir permissive=0",
                 -EBADMSG);
        check_rc("avc: denied { read } for name=\".empty-directory\" "
                 "scontext=container_t:s0:c139,c767 tcontext=container_var_run_t:s0 tclass=dir",
                 -EBADMSG);
        check_rc("avc:  denied  { read } for pid=1 scontext=" SCON " tcontext=u:r:t:s0:c1024 "
                 "tclass=file",
                 -EBADMSG);
        /* missing pieces of the verdict */
        check_rc("avc:  denied  { read } for pid=1 scontext=" SCON " tcontext=" TCON, -EBADMSG);
        check_rc("avc:  denied  { read } for pid=1 tcontext=" TCON " tclass=file", -EBADMSG);
        check_rc("avc:  denied  {  } for pid=1 " AVC_TAIL, -EBADMSG);
        check_rc("avc:  maybe  { read } for pid=1 " AVC_TAIL, -EBADMSG);
        check_rc("type=AVC msg=audit(1.000:1): lsm=other op=x " AVC_TAIL, -EBADMSG);
        /* a quoted value auparse splits: the kernel would have hex-encoded it */
        check_rc("avc:  denied  { read } for pid=1 comm=\"a b\\\" c=d\" " AVC_TAIL, -EBADMSG);
        check_rc("type=SYSCALL msg=audit(1.000:1): syscall=1 comm=\"a b\"", -EBADMSG);
        /* records we read, but without their field */
        check_rc("type=SYSCALL msg=audit(1.000:1): arch=c000003e", -EBADMSG);
        check_rc("type=SYSCALL msg=audit(1.000:1): ", -EBADMSG);
        check_rc("type=PROCTITLE msg=audit(1772104167.258:882):", -EBADMSG);
        check_rc("type=CWD msg=audit(1.000:1): ", -EBADMSG);
        check_rc("type=PATH msg=audit(1.000:1): name=\"/x\"", -EBADMSG);
        /* bytes that would cut or split the text auparse sees */
        snprintf(line, sizeof(line), "avc:  denied  { read } for pid=1 %s", AVC_TAIL);
        line[20] = '\0';
        CHECK_RC(record_parse(parser, line, strlen(line + 21) + 21, &r), -EBADMSG);
        check_rc("type=AVC msg=audit(1.000:1): avc:  denied  { read } for pid=1\n" AVC_TAIL,
                 -EBADMSG);
        /* a CR inside the line is no field separator: pid swallows scontext */
        check_rc("type=AVC msg=audit(1.000:1): avc:  denied  { read } for pid=1\r" AVC_TAIL "\n",
                 -EBADMSG);

        /* the parser is not left in a bad state by any of that */
        r = parse_ok(AVC_BODY);
        check_standard_avc(&r);
        record_done(&r);
}

static void test_line_max(void) {
        /* A denial padded to exactly RECORD_LINE_MAX bytes parses; one byte more is refused
         * before any work; the line ending does not count. */
        const char *head = "type=AVC msg=audit(1.000:1): avc:  denied  { read } for  pid=1 "
                           "comm=\"x\" " AVC_TAIL " name=\"";
        size_t hlen = strlen(head), len = RECORD_LINE_MAX;
        _cleanup_(freep) char *line = malloc(RECORD_LINE_MAX + 3);
        Record r;

        CHECK(line);
        memcpy(line, head, hlen);
        memset(line + hlen, 'a', len - hlen - 1);
        line[len - 1] = '"';
        line[len] = '\n';
        line[len + 1] = '\0';

        CHECK_RC(record_parse(parser, line, len + 1, &r), 0);
        CHECK(r.kind == RECORD_DENIAL && strlen(r.avc.name) == len - hlen - 1);
        CHECK_STREQ(r.avc.tclass, "dir");
        record_done(&r);

        memmove(line + len - 1, "a\"\n", 3);
        CHECK_RC(record_parse(parser, line, len + 1, &r), -EMSGSIZE);
        CHECK_RC(record_parse(parser, line, len + 2, &r), -EMSGSIZE);

        CHECK_RC(record_parse(parser, NULL, 1, &r), -EINVAL);
        CHECK_RC(record_parse(NULL, "x", 1, &r), -EINVAL);
}

int main(void) {
        setenv("TZ", "UTC", 1);
        tzset();
        CHECK_RC(record_parser_new(&parser), 0);

        test_forms();
        test_decoding();
        test_user_avc_and_selinux_err();
        test_malformed();
        test_line_max();

        CHECK_STREQ(record_kind_to_string(RECORD_DENIAL), "denial");
        CHECK_STREQ(record_kind_to_string(RECORD_IGNORED), "ignored");
        CHECK(record_kind_to_string((RecordKind) 99) == NULL);
        record_done(NULL);
        CHECK(record_parser_free(parser) == NULL);
        CHECK(record_parser_free(NULL) == NULL);
        return 0;
}
