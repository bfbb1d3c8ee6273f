/* SPDX-License-Identifier: MIT */
/* Assembler: joining by (node, time, serial), every release rule, and the bounds. Records are
 * built by hand so that this tests the assembler alone. */

#include <errno.h>

#include "assembler.h"
#include "macro.h"
#include "tests/unit/test.h"

#define MAX_EMITTED 8192

static Denial emitted[MAX_EMITTED];
static size_t n_emitted;

static int on_emit(Denial *d, void *userdata) {
        CHECK(n_emitted < MAX_EMITTED);
        CHECK(denial_copy(d, &emitted[n_emitted++]) == 0);
        return 0;
}

/* A callee that keeps the denial it is lent by moving its block into memory of its own (as the
 * reader thread does into its batch), and notes the block it was lent. */
static Denial kept[4];
static char *kept_blocks[4];
static const char *lent_blocks[4];
static size_t n_kept;

static int on_emit_keep(Denial *d, void *userdata) {
        CHECK(n_kept < ELEMENTSOF(kept));
        CHECK(d->strings && d->strings_lent);
        lent_blocks[n_kept] = d->strings;
        kept_blocks[n_kept] = malloc(d->strings_size);
        CHECK(kept_blocks[n_kept]);
        denial_move_strings(d, kept_blocks[n_kept]);
        d->raw = NULL; /* the event's */
        kept[n_kept++] = *d;
        *d = DENIAL_NULL; /* taken over: the assembler frees nothing of it */
        return 0;
}

/* A callee that adds strings of its own to the lent denial (attribution, selftest): they are
 * freed after the call, the lent block is not (ASan: no leak, no bad free). */
static int on_emit_complete(Denial *d, void *userdata) {
        CHECK_RC(denial_set_string(d, &d->result, "selftest"), 0);
        d->has_container = true;
        d->container.id = strdup("abc");
        CHECK(d->container.id);
        return on_emit(d, userdata);
}

static void reset(void) {
        for (size_t i = 0; i < n_emitted; i++)
                denial_done(&emitted[i]);
        n_emitted = 0;
}

static Record stamped(RecordKind kind, int type, int64_t time_ms, uint64_t serial) {
        return (Record){.kind = kind,
                        .type = type,
                        .has_stamp = true,
                        .stamp = {.time_ms = time_ms, .serial = serial}};
}

static Record avc(int64_t time_ms, uint64_t serial, const char *perms, const char *name) {
        Record r = stamped(RECORD_DENIAL, AUDIT_TYPE_AVC, time_ms, serial);
        r.avc = (AvcFields){.result = "denied",
                            .permissions = perms,
                            .pid = 4242,
                            .comm = "bash",
                            .name = name,
                            .scontext = "system_u:system_r:container_t:s0:c170,c393",
                            .tcontext = "system_u:object_r:admin_home_t:s0",
                            .tclass = "dir",
                            .permissive = 0};
        return r;
}

static Record syscall_rec(int64_t time_ms, uint64_t serial, const char *exe) {
        Record r = stamped(RECORD_SYSCALL, AUDIT_TYPE_SYSCALL, time_ms, serial);
        r.syscall = (SyscallFields){.syscall = 257,
                                    .pid = 4242,
                                    .ppid = 1,
                                    .uid = 0,
                                    .exe = exe,
                                    .comm = "bash",
                                    .success = 0};
        return r;
}

static void add(Assembler *a, Record r, const char *raw, uint64_t now) {
        CHECK_RC(assembler_add(a, &r, raw, strlen(raw), now), 0);
}

int main(void) {
        Assembler *a;
        Record r;

        /* 1. A whole kernel event, released on EOE, completed from its companions. */
        CHECK_RC(assembler_new(ASSEMBLER_CLOCK, on_emit, NULL, &a), 0);
        add(a, avc(1000, 7, "write", "root"), "AVC-line", 0);
        add(a, syscall_rec(1000, 7, "/usr/bin/bash"), "SYSCALL-line", 0);
        r = stamped(RECORD_CWD, AUDIT_TYPE_CWD, 1000, 7);
        r.cwd = "/";
        add(a, r, "CWD-line", 0);
        r = stamped(RECORD_PATH, AUDIT_TYPE_PATH, 1000, 7);
        r.path.name = "/root";
        add(a, r, "PATH-line", 0);
        CHECK(n_emitted == 0);
        r = stamped(RECORD_PROCTITLE, AUDIT_TYPE_PROCTITLE, 1000, 7);
        r.proctitle = "bash -c touch /root/x";
        add(a, r, "PROCTITLE-line", 0);
        /* PROCTITLE after verdict + SYSCALL releases at once (the kernel writes it last). */
        CHECK(n_emitted == 1);
        CHECK(assembler_pending(a) == 0);
        Denial *d = &emitted[0];
        CHECK(d->time_ms == 1000 && d->serial == 7 && d->seq == 0);
        CHECK_STREQ(d->exe, "/usr/bin/bash");
        CHECK_STREQ(d->path, "/root");
        CHECK_STREQ(d->cwd, "/");
        CHECK_STREQ(d->proctitle, "bash -c touch /root/x");
        CHECK(d->syscall == 257 && d->ppid == 1 && d->uid == 0);
        CHECK_STREQ(d->source_type, "container_t");
        CHECK_STREQ(d->target_type, "admin_home_t");
        CHECK_STREQ(d->mcs, "c170,c393");
        CHECK(d->target_mcs == NULL);
        CHECK_STREQ(d->raw, "AVC-line\nSYSCALL-line\nCWD-line\nPATH-line\nPROCTITLE-line");
        reset();

        /* A relative PATH name of the AVC's object is joined with the CWD, a bare name too
         * (`cat shadow` in /etc); without a CWD a relative name is no path. */
        {
                static const struct {
                        const char *cwd, *path_name, *name, *expected;
                } cases[] = {
                        {"/etc", "shadow", "shadow", "/etc/shadow"},
                        {"/", "x", "x", "/x"},
                        {"/srv/", "a/b", "b", "/srv/a/b"},
                        {"/srv", "a/b", "b", "/srv/a/b"},
                        {NULL, "shadow", "shadow", NULL},
                        {"/etc", "passwd", "shadow", NULL},
                        /* as typed: `cat ./x`, `ls a//b`, `rmdir d/`; ".." is kept (a symlink
                         * before it would make dropping it wrong) */
                        {"/home/a b", "./x y", "x y", "/home/a b/x y"},
                        {"/srv", "a//./b", "b", "/srv/a/b"},
                        {"/srv", "d/", "d", "/srv/d"},
                        {"/", "//etc/./shadow", "shadow", "/etc/shadow"},
                        {"/srv", "../etc/x", "x", "/srv/../etc/x"},
                };
                for (unsigned i = 0; i < ELEMENTSOF(cases); i++) {
                        add(a, avc(1500, 70 + i, "read", cases[i].name), "AVC", 0);
                        add(a, syscall_rec(1500, 70 + i, "/bin/cat"), "SYSCALL", 0);
                        if (cases[i].cwd) {
                                r = stamped(RECORD_CWD, AUDIT_TYPE_CWD, 1500, 70 + i);
                                r.cwd = cases[i].cwd;
                                add(a, r, "CWD", 0);
                        }
                        r = stamped(RECORD_PATH, AUDIT_TYPE_PATH, 1500, 70 + i);
                        r.path.name = cases[i].path_name;
                        add(a, r, "PATH", 0);
                        add(a, stamped(RECORD_EOE, AUDIT_TYPE_EOE, 1500, 70 + i), "EOE", 0);
                        CHECK(n_emitted == 1);
                        if (cases[i].expected)
                                CHECK_STREQ(emitted[0].path, cases[i].expected);
                        else
                                CHECK(emitted[0].path == NULL);
                        reset();
                }
        }

        /* EOE releases; an EOE of an event without a verdict emits nothing. */
        add(a, avc(2000, 8, "read", NULL), "a", 0);
        add(a, stamped(RECORD_EOE, AUDIT_TYPE_EOE, 2000, 8), "e", 0);
        CHECK(n_emitted == 1);
        CHECK_STREQ(emitted[0].raw, "a\ne");
        add(a, syscall_rec(2001, 9, "/bin/true"), "s", 0);
        add(a, stamped(RECORD_EOE, AUDIT_TYPE_EOE, 2001, 9), "e", 0);
        CHECK(n_emitted == 1 && assembler_pending(a) == 0);
        reset();

        /* 2. A lone AVC (audit syscall auditing off) leaves by the deadline, not before. */
        add(a, avc(3000, 10, "read", NULL), "lone", 1000);
        CHECK(assembler_expire(a, 1000 + ASSEMBLER_DEADLINE_USEC - 1) ==
              1000 + ASSEMBLER_DEADLINE_USEC);
        CHECK(n_emitted == 0);
        CHECK(assembler_expire(a, 1000 + ASSEMBLER_DEADLINE_USEC) == UINT64_MAX);
        CHECK(n_emitted == 1);
        reset();

        /* 3. USER_AVC is released immediately. */
        r = avc(4000, 11, "start", NULL);
        r.type = AUDIT_TYPE_USER_AVC;
        add(a, r, "user", 0);
        CHECK(n_emitted == 1 && emitted[0].record_type == AUDIT_TYPE_USER_AVC);
        reset();

        /* 3b. A USER_AVC alone (no event of its stamp, the kernel path's case) leaves without
         * entering the table, as a whole event of one record would: its fields, its line alone
         * as raw (up to the length given, not to a NUL), the contexts split. */
        r = avc(4100, 21, "start stop", "unit");
        r.type = AUDIT_TYPE_USER_AVC;
        r.avc.sender_pid = 77;
        r.avc.sender_subj = "system_u:system_r:init_t:s0";
        r.avc.exe = "/usr/lib/systemd/systemd";
        CHECK_RC(assembler_add(a, &r, "user line, not this", strlen("user line"), 0), 0);
        CHECK(n_emitted == 1 && assembler_pending(a) == 0);
        CHECK_STREQ(emitted[0].raw, "user line");
        CHECK(emitted[0].seq == 0 && emitted[0].serial == 21 && emitted[0].time_ms == 4100);
        CHECK_STREQ(emitted[0].permissions, "start stop");
        CHECK_STREQ(emitted[0].name, "unit");
        CHECK_STREQ(emitted[0].exe, "/usr/lib/systemd/systemd");
        CHECK_STREQ(emitted[0].sender_subj, "system_u:system_r:init_t:s0");
        CHECK(emitted[0].sender_pid == 77 && emitted[0].pid == 4242);
        CHECK_STREQ(emitted[0].source_type, "container_t");
        CHECK_STREQ(emitted[0].mcs, "c170,c393");
        CHECK_STREQ(emitted[0].target_type, "admin_home_t");
        CHECK(emitted[0].target_mcs == NULL);
        CHECK(emitted[0].ppid == -1 && emitted[0].cwd == NULL);
        /* a second one: the text of the first is not left behind in the second's raw */
        CHECK_RC(assembler_add(a, &r, "u2", 2, 0), 0);
        CHECK(n_emitted == 2);
        CHECK_STREQ(emitted[1].raw, "u2");
        reset();

        /* 3c. A USER_AVC whose stamp is an open event's joins it and takes that event along. */
        add(a, syscall_rec(4200, 22, "/usr/bin/dbus-daemon"), "sys", 0);
        r = avc(4200, 22, "send_msg", NULL);
        r.type = AUDIT_TYPE_USER_AVC;
        r.avc.comm = NULL;
        add(a, r, "user", 0);
        CHECK(n_emitted == 1 && assembler_pending(a) == 0);
        CHECK_STREQ(emitted[0].raw, "sys\nuser");
        CHECK_STREQ(emitted[0].exe, "/usr/bin/dbus-daemon");
        CHECK(emitted[0].ppid == 1);
        reset();

        /* 4. Several verdicts in one event: one denial each, in order, sharing raw. */
        add(a, avc(5000, 12, "open", NULL), "a1", 0);
        add(a, avc(5000, 12, "getattr", NULL), "a2", 0);
        add(a, avc(5000, 12, "write", NULL), "a3", 0);
        add(a, stamped(RECORD_EOE, AUDIT_TYPE_EOE, 5000, 12), "eoe", 0);
        CHECK(n_emitted == 3);
        for (unsigned i = 0; i < 3; i++) {
                CHECK(emitted[i].seq == i);
                CHECK_STREQ(emitted[i].raw, "a1\na2\na3\neoe");
        }
        CHECK_STREQ(emitted[1].permissions, "getattr");
        reset();

        /* 5. Same serial, different node or time: different events. */
        r = avc(6000, 13, "read", NULL);
        r.node = "host-a";
        add(a, r, "na", 0);
        r.node = "host-b";
        add(a, r, "nb", 0);
        add(a, avc(6001, 13, "read", NULL), "t2", 0);
        CHECK(assembler_pending(a) == 3);
        CHECK_RC(assembler_flush(a), 0);
        CHECK(n_emitted == 3);
        CHECK_STREQ(emitted[0].node, "host-a");
        CHECK_STREQ(emitted[1].node, "host-b");
        CHECK(emitted[2].node == NULL);
        reset();

        /* 6. The table is bounded: the oldest event is released early and counted. */
        for (unsigned i = 0; i <= ASSEMBLER_EVENTS_MAX; i++)
                add(a, avc(7000, 100 + i, "read", NULL), "x", 0);
        CHECK(assembler_pending(a) == ASSEMBLER_EVENTS_MAX);
        CHECK(assembler_evicted(a) == 1);
        CHECK(n_emitted == 1 && emitted[0].serial == 100);
        CHECK_RC(assembler_flush(a), 0);
        CHECK(n_emitted == ASSEMBLER_EVENTS_MAX + 1);
        reset();

        /* 6b. A USER_AVC alone finds the table as full as any record: the oldest event leaves
         * first (counted), then the USER_AVC; the table keeps the rest. */
        for (unsigned i = 0; i < ASSEMBLER_EVENTS_MAX; i++)
                add(a, avc(7100, 100 + i, "read", NULL), "x", 0);
        r = avc(7101, 99, "start", NULL);
        r.type = AUDIT_TYPE_USER_AVC;
        add(a, r, "user", 0);
        CHECK(assembler_evicted(a) == 2);
        CHECK(n_emitted == 2 && emitted[0].serial == 100 && emitted[1].serial == 99);
        CHECK(assembler_pending(a) == ASSEMBLER_EVENTS_MAX - 1);
        CHECK_RC(assembler_flush(a), 0);
        CHECK(n_emitted == ASSEMBLER_EVENTS_MAX + 1);
        reset();

        /* 7. Raw is bounded per event. */
        char big[4096];
        memset(big, 'r', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        add(a, avc(8000, 5, "read", NULL), "first", 0);
        for (unsigned i = 0; i < ASSEMBLER_EVENT_RECORDS_MAX + 10; i++) {
                r = stamped(RECORD_IGNORED, 1309, 8000, 5);
                add(a, r, big, 0);
        }
        CHECK_RC(assembler_flush(a), 0);
        CHECK(n_emitted == 1);
        CHECK(strlen(emitted[0].raw) <= ASSEMBLER_EVENT_RAW_MAX);
        CHECK(strncmp(emitted[0].raw, "first\n", 6) == 0);
        reset();
        assembler_free(a);

        /* 8. Position mode (files): interleaved events, ausearch order, separators, window. */
        CHECK_RC(assembler_new(ASSEMBLER_POSITION, on_emit, NULL, &a), 0);
        add(a, avc(9000, 1013, "ptrace", NULL), "avc1013", 0);
        add(a, syscall_rec(8900, 1014, "/usr/sbin/load_policy"), "sys1014", 0);
        add(a, syscall_rec(9000, 1013, "/bin/dbus-daemon"), "sys1013", 0);
        CHECK_RC(assembler_flush(a), 0);
        CHECK(n_emitted == 1);
        CHECK_STREQ(emitted[0].exe, "/bin/dbus-daemon");
        CHECK_STREQ(emitted[0].raw, "avc1013\nsys1013");
        reset();

        r = stamped(RECORD_PROCTITLE, AUDIT_TYPE_PROCTITLE, 9100, 20);
        r.proctitle = "etcd --config-file=x";
        add(a, r, "pt", 0);
        add(a, syscall_rec(9100, 20, "/usr/local/bin/etcd"), "sc", 0);
        add(a, avc(9100, 20, "map", NULL), "av", 0);
        CHECK(n_emitted == 0);
        add(a, (Record){.kind = RECORD_SEPARATOR}, "----", 0);
        CHECK(n_emitted == 1);
        CHECK_STREQ(emitted[0].proctitle, "etcd --config-file=x");
        CHECK_STREQ(emitted[0].exe, "/usr/local/bin/etcd");
        CHECK_STREQ(emitted[0].raw, "pt\nsc\nav");
        reset();

        /* A file's event waits for its EOE after PROCTITLE: raw is every line of it. */
        add(a, avc(9150, 25, "write", NULL), "av", 0);
        add(a, syscall_rec(9150, 25, "/bin/sh"), "sc", 0);
        r = stamped(RECORD_PROCTITLE, AUDIT_TYPE_PROCTITLE, 9150, 25);
        r.proctitle = "sh";
        add(a, r, "pt", 0);
        CHECK(n_emitted == 0);
        add(a, stamped(RECORD_EOE, AUDIT_TYPE_EOE, 9150, 25), "eoe", 0);
        CHECK(n_emitted == 1);
        CHECK_STREQ(emitted[0].raw, "av\nsc\npt\neoe");
        reset();

        add(a, avc(9200, 30, "read", NULL), "w", 0);
        for (unsigned i = 0; i < ASSEMBLER_WINDOW_RECORDS; i++)
                add(a, stamped(RECORD_IGNORED, 1309, 9300, 1000 + i), "other", 0);
        CHECK(n_emitted == 0);
        add(a, stamped(RECORD_IGNORED, 1309, 9300, 5000), "other", 0);
        CHECK(n_emitted == 1 && emitted[0].serial == 30);
        reset();
        assembler_free(a);

        /* 9. Denials are lent with their strings in the assembler's block, the same block for
         * the next: a callee that keeps one moves its block away, and the next denial does not
         * touch it. */
        CHECK_RC(assembler_new(ASSEMBLER_CLOCK, on_emit_keep, NULL, &a), 0);
        r = avc(9500, 40, "start", "first-name");
        r.type = AUDIT_TYPE_USER_AVC;
        add(a, r, "u1", 0);
        r = avc(9500, 41, "stop", "second-name");
        r.type = AUDIT_TYPE_USER_AVC;
        add(a, r, "u2", 0);
        add(a, avc(9501, 42, "read write", "third"), "a3", 0);
        add(a, syscall_rec(9501, 42, "/bin/third"), "s3", 0);
        add(a, stamped(RECORD_EOE, AUDIT_TYPE_EOE, 9501, 42), "e3", 0);
        CHECK(n_kept == 3);
        CHECK(lent_blocks[0] == lent_blocks[1] && lent_blocks[1] == lent_blocks[2]);
        CHECK_STREQ(kept[0].name, "first-name");
        CHECK_STREQ(kept[0].permissions, "start");
        CHECK_STREQ(kept[0].mcs, "c170,c393");
        CHECK_STREQ(kept[1].name, "second-name");
        CHECK_STREQ(kept[2].permissions, "read write");
        CHECK_STREQ(kept[2].exe, "/bin/third");
        CHECK_STREQ(kept[2].source_type, "container_t");
        for (size_t i = 0; i < n_kept; i++) {
                denial_done(&kept[i]);
                free(kept_blocks[i]);
        }
        assembler_free(a);

        /* 10. What a callee adds to a lent denial is freed after the call, the block stays. */
        CHECK_RC(assembler_new(ASSEMBLER_CLOCK, on_emit_complete, NULL, &a), 0);
        for (unsigned i = 0; i < 3; i++) {
                r = avc(9600, 50 + i, "start", "n");
                r.type = AUDIT_TYPE_USER_AVC;
                add(a, r, "u", 0);
        }
        CHECK(n_emitted == 3);
        CHECK_STREQ(emitted[2].result, "selftest");
        CHECK_STREQ(emitted[2].container.id, "abc");
        CHECK_STREQ(emitted[2].name, "n");
        reset();
        assembler_free(a);

        /* 11. A context record that comes again replaces the first (the last one wins), however
         * many come; an empty PATH name without a CWD ("." once cleaned up, one byte longer
         * than itself) is no path and no overflow. */
        CHECK_RC(assembler_new(ASSEMBLER_CLOCK, on_emit, NULL, &a), 0);
        add(a, avc(9700, 60, "read", "x"), "av", 0);
        for (unsigned i = 0; i < 1000; i++) {
                r = stamped(RECORD_CWD, AUDIT_TYPE_CWD, 9700, 60);
                r.cwd = i % 2 ? "/odd" : "/even/longer/than/odd";
                add(a, r, "cwd", 0);
                add(a, syscall_rec(9700, 60, i % 2 ? "/bin/odd" : "/bin/even"), "sc", 0);
        }
        r = stamped(RECORD_PATH, AUDIT_TYPE_PATH, 9700, 60);
        r.path.name = "x";
        add(a, r, "path", 0);
        add(a, stamped(RECORD_EOE, AUDIT_TYPE_EOE, 9700, 60), "eoe", 0);
        CHECK(n_emitted == 1);
        CHECK_STREQ(emitted[0].cwd, "/odd");
        CHECK_STREQ(emitted[0].exe, "/bin/odd");
        CHECK_STREQ(emitted[0].path, "/odd/x");
        reset();
        add(a, avc(9800, 61, "read", ""), "av", 0);
        r = stamped(RECORD_PATH, AUDIT_TYPE_PATH, 9800, 61);
        r.path.name = "";
        add(a, r, "path", 0);
        add(a, stamped(RECORD_EOE, AUDIT_TYPE_EOE, 9800, 61), "eoe", 0);
        CHECK(n_emitted == 1);
        CHECK(emitted[0].path == NULL);
        CHECK_STREQ(emitted[0].name, "");
        reset();
        assembler_free(a);

        printf("assembler: ok\n");
        return 0;
}
