/* SPDX-License-Identifier: MIT */
/* Journal forwarding (daemon/service/journal.c) against its specification, systemd's native journal
 * protocol, read back by an independent parser here: field names are validated; plain values go
 * as KEY=VALUE, anything with a control byte or invalid UTF-8 in the binary form, byte-exact;
 * an entry stops at JOURNAL_ENTRY_MAX; the MESSAGE= summary escapes what could act on a terminal
 * and stops at JOURNAL_MESSAGE_MAX; a denial's entry carries the documented fields. The writer
 * talks to a real AF_UNIX datagram socket: small entries arrive as one datagram, an entry larger
 * than the socket buffer arrives as a sealed memfd, a full receiver gives -EAGAIN at once
 * (never blocks), a missing socket gives an error. With an event loop, what the receiver cannot
 * take waits in the writer's queue up to its bounds (entries, bytes), the rest is counted as
 * failed, and the queue drains in order once the receiver reads; a receiver that goes away
 * empties the queue into the failed count instead of spinning. */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixtures.h"
#include "journal.h"
#include "stats.h"
#include "test.h"
#include "verdict.h"

#define FIELDS_MAX 64

typedef struct Field {
        char name[JOURNAL_FIELD_NAME_MAX + 1];
        const char *value; /* points into the entry buffer; not NUL terminated */
        size_t len;
        bool binary;
} Field;

/* Parses a native protocol payload; returns the number of fields, -1 when malformed. */
static int parse_entry(const char *buf, size_t len, Field *f, size_t max) {
        size_t i = 0;
        int n = 0;

        while (i < len) {
                const char *nl = memchr(buf + i, '\n', len - i);
                const char *eq = memchr(buf + i, '=', nl ? (size_t) (nl - buf - i) : len - i);
                size_t name_len;

                if (!nl || (size_t) n >= max)
                        return -1;
                name_len = (eq ? eq : nl) - (buf + i);
                if (name_len == 0 || name_len > JOURNAL_FIELD_NAME_MAX)
                        return -1;
                memcpy(f[n].name, buf + i, name_len);
                f[n].name[name_len] = 0;
                if (eq) {
                        f[n].value = eq + 1;
                        f[n].len = nl - eq - 1;
                        f[n].binary = false;
                        i = nl - buf + 1;
                } else {
                        uint64_t le;
                        size_t at = nl - buf + 1;
                        if (at + 8 > len)
                                return -1;
                        memcpy(&le, buf + at, 8);
                        uint64_t vlen = le64toh(le);
                        if (vlen > len || at + 8 + vlen + 1 > len || buf[at + 8 + vlen] != '\n')
                                return -1;
                        f[n].value = buf + at + 8;
                        f[n].len = vlen;
                        f[n].binary = true;
                        i = at + 8 + vlen + 1;
                }
                n++;
        }
        return n;
}

static const Field *find(const Field *f, int n, const char *name) {
        for (int i = 0; i < n; i++)
                if (strcmp(f[i].name, name) == 0)
                        return &f[i];
        return NULL;
}

static void check_field(const Field *f, int n, const char *name, const char *value) {
        const Field *x = find(f, n, name);
        if (!value) {
                if (x)
                        fprintf(stderr, "unexpected field %s\n", name);
                CHECK(!x);
                return;
        }
        if (!x)
                fprintf(stderr, "missing field %s\n", name);
        CHECK(x);
        if (x->len != strlen(value) || memcmp(x->value, value, x->len) != 0)
                fprintf(stderr, "%s is '%.*s', expected '%s'\n", name, (int) x->len, x->value,
                        value);
        CHECK(x->len == strlen(value) && memcmp(x->value, value, x->len) == 0);
}

static void test_field_names(void) {
        JournalEntry e = {};
        char name[JOURNAL_FIELD_NAME_MAX + 2];

        CHECK_RC(journal_entry_add_string(&e, "GOOD_NAME_2", "x"), 0);
        CHECK_RC(journal_entry_add_string(&e, "lower", "x"), -EINVAL);
        CHECK_RC(journal_entry_add_string(&e, "_TRUSTED", "x"), -EINVAL);
        CHECK_RC(journal_entry_add_string(&e, "2FIRST", "x"), -EINVAL);
        CHECK_RC(journal_entry_add_string(&e, "WITH-DASH", "x"), -EINVAL);
        CHECK_RC(journal_entry_add_string(&e, "", "x"), -EINVAL);
        memset(name, 'A', JOURNAL_FIELD_NAME_MAX);
        name[JOURNAL_FIELD_NAME_MAX] = 0;
        CHECK_RC(journal_entry_add_string(&e, name, "x"), 0); /* at the bound */
        name[JOURNAL_FIELD_NAME_MAX] = 'A';
        name[JOURNAL_FIELD_NAME_MAX + 1] = 0;
        CHECK_RC(journal_entry_add_string(&e, name, "x"), -EINVAL); /* past it */
        CHECK_RC(journal_entry_add_string(&e, "UNKNOWN", NULL), 0); /* left out */
        CHECK_RC(e.n_fields, 2);
        journal_entry_done(&e);
}

static void test_forms(void) {
        JournalEntry e = {};
        Field f[FIELDS_MAX];
        static const char hostile[] = "a\nMESSAGE_ID=forged\n\x1b]0;x\x07\xff";

        CHECK_RC(journal_entry_add_string(&e, "PLAIN", "héllo wörld"), 0);
        CHECK_RC(journal_entry_add(&e, "HOSTILE", hostile, sizeof(hostile) - 1), 0);
        CHECK_RC(journal_entry_add(&e, "WITH_NUL", "a\0b", 3), 0);
        CHECK_RC(journal_entry_add(&e, "EMPTY", "", 0), 0);
        int n = parse_entry(e.buf, e.len, f, FIELDS_MAX);
        CHECK_RC(n, 4);
        check_field(f, n, "PLAIN", "héllo wörld");
        CHECK(!find(f, n, "PLAIN")->binary);
        const Field *h = find(f, n, "HOSTILE");
        CHECK(h && h->binary && h->len == sizeof(hostile) - 1);
        CHECK(memcmp(h->value, hostile, h->len) == 0);
        /* the forged line inside the value did not become a field */
        CHECK(!find(f, n, "MESSAGE_ID"));
        h = find(f, n, "WITH_NUL");
        CHECK(h && h->binary && h->len == 3 && memcmp(h->value, "a\0b", 3) == 0);
        check_field(f, n, "EMPTY", "");
        journal_entry_done(&e);
}

static void test_entry_max(void) {
        JournalEntry e = {};
        size_t big = JOURNAL_ENTRY_MAX / 2;
        char *v = malloc(big);

        CHECK(v);
        memset(v, 'x', big);
        CHECK_RC(journal_entry_add(&e, "A", v, big), 0);
        size_t len = e.len;
        CHECK_RC(journal_entry_add(&e, "B", v, big), -E2BIG); /* header + value: past the bound */
        CHECK_RC(e.len, len);                                 /* left as it was */
        CHECK_RC(journal_entry_add(&e, "B", v, JOURNAL_ENTRY_MAX - len - 3), 0); /* "B=" "\n" */
        CHECK_RC(e.len, JOURNAL_ENTRY_MAX);
        CHECK_RC(journal_entry_add(&e, "C", "", 0), -E2BIG);
        journal_entry_done(&e);
        free(v);
}

static void test_escape(void) {
        char buf[64];
        bool cut;

        CHECK_RC(journal_escape("a\x1b[31mb\n\t\\\"\xc2\x9b\xff", buf, sizeof(buf), &cut), 30);
        CHECK_STREQ(buf, "a\\x1b[31mb\\n\\t\\\\\\\"\\xc2\\x9b\\xff");
        CHECK(!cut);
        /* cut before a whole escape, never inside one */
        CHECK_RC(journal_escape("ab\x1b", buf, 5, &cut), 2);
        CHECK_STREQ(buf, "ab");
        CHECK(cut);
        /* nor inside a UTF-8 character */
        CHECK_RC(journal_escape("aé", buf, 3, &cut), 1);
        CHECK(cut);
}

/* The contract's example with a hostile comm, reading and writing, permissive unknown. */
static void make_denial(Denial *d) {
        *d = fixture_denial(FIXTURE_TIME_MS, FIXTURE_SERIAL);
        set_string(&d->permissions, "read write");
        set_string(&d->comm, "ba\nsh\x1b[2J");
        d->permissive = -1;
        d->has_container = true;
        fixture_container(&d->container,
                          "4dd9367681d8a4b6b5d8e1c1f0a0b0c0d0e0f0a1b2c3d4e5f60718293a4b5c6d", "web",
                          "centos:latest", "docker", NULL);
        d->attribution = ATTRIBUTION_PID;
        free(d->raw);
        d->raw = fixture_raw(d->time_ms, d->serial, d->permissions);
}

static void test_denial_entry(void) {
        Denial d;
        JournalEntry e = {};
        Field f[FIELDS_MAX];

        make_denial(&d);
        CHECK_RC(journal_entry_from_denial(&d, &e), 0);
        int n = parse_entry(e.buf, e.len, f, FIELDS_MAX);
        CHECK(n > 0);
        check_field(f, n, "MESSAGE_ID", JOURNAL_DENIAL_MESSAGE_ID);
        check_field(f, n, "PRIORITY", "5");
        check_field(f, n, "SYSLOG_IDENTIFIER", "avcwatchd");
        check_field(f, n, "CONTAINER_ID", "4dd9367681d8");
        check_field(f, n, "CONTAINER_ID_FULL", d.container.id);
        check_field(f, n, "CONTAINER_NAME", "web");
        check_field(f, n, "IMAGE_NAME", "centos:latest");
        check_field(f, n, "AVC_SCONTEXT", d.scontext);
        check_field(f, n, "AVC_TCONTEXT", d.tcontext);
        check_field(f, n, "AVC_TCLASS", "dir");
        check_field(f, n, "AVC_PERMS", "read write");
        check_field(f, n, "AVC_SOURCE_TYPE", "container_t");
        check_field(f, n, "AVC_TARGET_TYPE", "admin_home_t");
        check_field(f, n, "AVC_MCS", "c170,c393");
        check_field(f, n, "AVC_PID", "21476");
        check_field(f, n, "AVC_COMM", d.comm); /* exact, binary form */
        CHECK(find(f, n, "AVC_COMM")->binary);
        check_field(f, n, "AVC_PATH", "root");
        check_field(f, n, "AVC_ATTRIBUTION", "pid");
        check_field(f, n, "AVC_TIME", "2024-04-20T08:54:52.240Z");
        check_field(f, n, "AVC_SERIAL", "1088");
        check_field(f, n, "AVC_RECORD_TYPE", "AVC");
        check_field(f, n, "AVC_RESULT", "denied");
        check_field(f, n, "AVC_CONTAINER_ENGINE", "docker");
        check_field(f, n, "AVC_CONTAINER_POD", NULL);
        check_field(f, n, "AVC_TARGET_CONTAINER_ID_FULL", NULL);
        check_field(f, n, "AVC_RAW", d.raw);
        check_field(f, n, "MESSAGE",
                    "container web (4dd9367681d8) image centos:latest: denied { read write } for "
                    "pid=21476 comm=\"ba\\nsh\\x1b[2J\" name=\"root\" "
                    "scontext=system_u:system_r:container_t:s0:c170,c393 "
                    "tcontext=system_u:object_r:admin_home_t:s0 tclass=dir");
        CHECK(!find(f, n, "MESSAGE")->binary);
        /* for a fleet: the signature (permissions sorted, each once), the count */
        check_field(f, n, "AVCWATCH_SIGNATURE",
                    "denied container_t admin_home_t:dir { read write }");
        check_field(f, n, "AVCWATCH_COUNT", "1");
        check_field(f, n, "AVCWATCH_POD", NULL);
        check_field(f, n, "AVCWATCH_NAMESPACE", NULL);
        check_field(f, n, "AVCWATCH_REASON", NULL); /* not triaged */
        check_field(f, n, "AVCWATCH_VERDICT", NULL);
        journal_entry_done(&e);

        /* a pod's, coalesced, triaged, permissions out of order and repeated */
        d.container.pod = strdup("web-7d4b9");
        d.container.pod_namespace = strdup("shop");
        CHECK(d.container.pod && d.container.pod_namespace);
        d.count = 42;
        d.triaged = true;
        d.reason = TRIAGE_REASON_CONSTRAINT;
        d.verdict = TRIAGE_VERDICT_ISOLATION;
        free(d.permissions);
        d.permissions = strdup("write read write");
        CHECK_RC(journal_entry_from_denial(&d, &e), 0);
        n = parse_entry(e.buf, e.len, f, FIELDS_MAX);
        check_field(f, n, "AVCWATCH_SIGNATURE",
                    "denied container_t admin_home_t:dir { read write }");
        check_field(f, n, "AVCWATCH_COUNT", "42");
        check_field(f, n, "AVCWATCH_POD", "web-7d4b9");
        check_field(f, n, "AVCWATCH_NAMESPACE", "shop");
        check_field(f, n, "AVCWATCH_REASON", triage_reason_to_string(TRIAGE_REASON_CONSTRAINT));
        check_field(f, n, "AVCWATCH_VERDICT", triage_verdict_to_string(TRIAGE_VERDICT_ISOLATION));
        check_field(f, n, "PRIORITY", "5");
        journal_entry_done(&e);
        /* an escape is an alert (PRIORITY 1), anything else a notice (5) */
        d.verdict = TRIAGE_VERDICT_ESCAPE;
        CHECK_RC(journal_entry_from_denial(&d, &e), 0);
        n = parse_entry(e.buf, e.len, f, FIELDS_MAX);
        check_field(f, n, "PRIORITY", "1");
        check_field(f, n, "AVCWATCH_VERDICT", "escape");
        journal_entry_done(&e);
        d.count = 0;
        d.triaged = false;

        /* unattributed: no CONTAINER_* at all */
        d.has_container = false;
        d.attribution = ATTRIBUTION_NONE;
        CHECK_RC(journal_entry_from_denial(&d, &e), 0);
        n = parse_entry(e.buf, e.len, f, FIELDS_MAX);
        check_field(f, n, "CONTAINER_ID", NULL);
        check_field(f, n, "CONTAINER_ID_FULL", NULL);
        check_field(f, n, "CONTAINER_NAME", NULL);
        check_field(f, n, "IMAGE_NAME", NULL);
        check_field(f, n, "AVC_ATTRIBUTION", "none");
        journal_entry_done(&e);

        const Field *m;
        /* named at its pod: no CONTAINER_* (no container), the pod and namespace its
         * candidates share, in the fields and the summary */
        ContainerRef cand = {.engine = (char *) "cri-o",
                             .pod = (char *) "web-7f9",
                             .pod_namespace = (char *) "shop"};
        cand.id = (char *) "s1";
        CHECK_RC(denial_add_candidate(&d, &cand), 0);
        cand.id = (char *) "a1";
        CHECK_RC(denial_add_candidate(&d, &cand), 0);
        d.attribution = ATTRIBUTION_POD;
        CHECK_RC(journal_entry_from_denial(&d, &e), 0);
        n = parse_entry(e.buf, e.len, f, FIELDS_MAX);
        check_field(f, n, "CONTAINER_ID_FULL", NULL);
        check_field(f, n, "AVC_ATTRIBUTION", "pod");
        check_field(f, n, "AVC_CONTAINER_ENGINE", "cri-o");
        check_field(f, n, "AVC_CONTAINER_POD", "web-7f9");
        check_field(f, n, "AVCWATCH_POD", "web-7f9");
        check_field(f, n, "AVCWATCH_NAMESPACE", "shop");
        m = find(f, n, "MESSAGE");
        CHECK(m && m->len >= 24 && memcmp(m->value, "pod shop/web-7f9: denied", 24) == 0);
        journal_entry_done(&e);
        d.attribution = ATTRIBUTION_NAMESPACE;
        CHECK_RC(journal_entry_from_denial(&d, &e), 0);
        n = parse_entry(e.buf, e.len, f, FIELDS_MAX);
        check_field(f, n, "AVCWATCH_POD", NULL);
        check_field(f, n, "AVCWATCH_NAMESPACE", "shop");
        m = find(f, n, "MESSAGE");
        CHECK(m && m->len >= 22 && memcmp(m->value, "namespace shop: denied", 22) == 0);
        journal_entry_done(&e);
        denial_clear_candidates(&d);
        d.attribution = ATTRIBUTION_NONE;

        /* a huge hostile path: the summary stops at its bound, the field stays whole */
        free(d.path);
        d.path = malloc(100000);
        CHECK(d.path);
        memset(d.path, '\x1b', 99999);
        d.path[99999] = 0;
        CHECK_RC(journal_entry_from_denial(&d, &e), 0);
        n = parse_entry(e.buf, e.len, f, FIELDS_MAX);
        m = find(f, n, "MESSAGE");
        CHECK(m && m->len <= JOURNAL_MESSAGE_MAX && m->len > JOURNAL_MESSAGE_MAX - 8);
        CHECK(memcmp(m->value + m->len - 3, "...", 3) == 0);
        CHECK(memchr(m->value, '\x1b', m->len) == NULL);
        CHECK(find(f, n, "AVC_PATH")->len == 99999);
        journal_entry_done(&e);
        denial_done(&d);
}

/* ---- the writer, against a real socket ---- */

static size_t read_wmem_max(void) {
        FILE *f = fopen("/proc/sys/net/core/wmem_max", "re");
        unsigned long v = 0;

        CHECK(f);
        CHECK(fscanf(f, "%lu", &v) == 1);
        fclose(f);
        return v;
}

static char *dir;
static char sock_path[64];

static int receiver_new(int rcvbuf) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        CHECK(fd >= 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
        unlink(sock_path);
        CHECK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        if (rcvbuf > 0)
                CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
        return fd;
}

/* One entry as journald reads it: the datagram, or the memfd it carries. */
static char *receive_entry(int fd, size_t *ret_len, bool *ret_memfd) {
        static char buf[JOURNAL_ENTRY_MAX + 1];
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = &control,
                            .msg_controllen = sizeof(control)};
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        char *out;

        CHECK(n >= 0);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int mfd;
                struct stat st;
                memcpy(&mfd, CMSG_DATA(c), sizeof(int));
                CHECK(n == 0);
                /* journald insists on these seals */
                int seals = fcntl(mfd, F_GET_SEALS);
                CHECK(seals >= 0 && (seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)) ==
                                            (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));
                CHECK(fstat(mfd, &st) == 0);
                out = malloc(st.st_size);
                CHECK(out);
                CHECK(pread(mfd, out, st.st_size, 0) == st.st_size);
                close(mfd);
                *ret_len = st.st_size;
                if (ret_memfd)
                        *ret_memfd = true;
                return out;
        }
        out = malloc(n);
        CHECK(out);
        memcpy(out, buf, n);
        *ret_len = n;
        if (ret_memfd)
                *ret_memfd = false;
        return out;
}

static void test_writer(void) {
        JournalWriter *w = NULL;
        JournalEntry e = {};
        Denial d;
        Field f[FIELDS_MAX];
        size_t len;
        char *got;
        int fd;

        dir = fixture_tmpdir("journal");
        snprintf(sock_path, sizeof(sock_path), "%s/socket", dir);

        /* nobody there: an error, not a hang */
        CHECK_RC(journal_writer_new(sock_path, &w), 0);
        make_denial(&d);
        int r = journal_writer_send_denial(w, &d);
        CHECK(r == -ENOENT || r == -ECONNREFUSED);

        /* one datagram per entry, exactly the bytes built */
        fd = receiver_new(0);
        CHECK_RC(journal_entry_from_denial(&d, &e), 0);
        CHECK_RC(journal_writer_send(w, &e), 0);
        got = receive_entry(fd, &len, NULL);
        CHECK(len == e.len && memcmp(got, e.buf, len) == 0);
        int n = parse_entry(got, len, f, FIELDS_MAX);
        check_field(f, n, "CONTAINER_NAME", "web");
        free(got);
        journal_entry_done(&e);

        /* bigger than a datagram may be (the send buffer, capped by net.core.wmem_max, bounds
         * it): a sealed memfd. Either way journald gets the same bytes. */
        size_t big = 900 * 1024;
        bool memfd = false;
        char *v = malloc(big);
        CHECK(v);
        memset(v, 'y', big);
        CHECK_RC(journal_entry_add_string(&e, "MESSAGE", "big"), 0);
        CHECK_RC(journal_entry_add(&e, "BIG", v, big), 0);
        CHECK_RC(journal_writer_send(w, &e), 0);
        got = receive_entry(fd, &len, &memfd);
        CHECK(len == e.len && memcmp(got, e.buf, len) == 0);
        if (2 * MIN((size_t) JOURNAL_SNDBUF, read_wmem_max()) < e.len)
                CHECK(memfd);
        printf("%zu byte entry sent as %s\n", e.len, memfd ? "a memfd" : "one datagram");
        free(got);
        /* with a send buffer too small for it, certainly a memfd */
        CHECK_RC(journal_writer_set_send_buffer(w, 64 * 1024), 0);
        CHECK_RC(journal_writer_send(w, &e), 0);
        got = receive_entry(fd, &len, &memfd);
        CHECK(memfd);
        CHECK(len == e.len && memcmp(got, e.buf, len) == 0);
        free(got);
        CHECK_RC(journal_writer_set_send_buffer(w, JOURNAL_SNDBUF), 0);
        free(v);
        journal_entry_done(&e);
        close(fd);

        /* a receiver that does not read: -EAGAIN at once, never a blocked sender */
        fd = receiver_new(4096);
        alarm(20);
        int sent = 0, again = 0;
        for (int i = 0; i < 10000 && again == 0; i++) {
                r = journal_writer_send_denial(w, &d);
                if (r == -EAGAIN)
                        again++;
                else {
                        CHECK_RC(r, 0);
                        sent++;
                }
        }
        alarm(0);
        CHECK(again == 1 && sent < 10000);
        /* once read, sending works again */
        while (recv(fd, NULL, 0, MSG_DONTWAIT) >= 0)
                ;
        CHECK_RC(journal_writer_send_denial(w, &d), 0);
        close(fd);

        /* AVCWATCH_JOURNAL_SOCKET picks the socket when none is given */
        fd = receiver_new(0);
        JournalWriter *w2 = NULL;
        setenv(JOURNAL_SOCKET_ENV, sock_path, 1);
        CHECK_RC(journal_writer_new(NULL, &w2), 0);
        CHECK_RC(journal_writer_send_denial(w2, &d), 0);
        got = receive_entry(fd, &len, NULL);
        n = parse_entry(got, len, f, FIELDS_MAX);
        check_field(f, n, "MESSAGE_ID", JOURNAL_DENIAL_MESSAGE_ID);
        free(got);
        setenv(JOURNAL_SOCKET_ENV, "relative/path", 1);
        CHECK_RC(journal_writer_new(NULL, &w2 /* untouched on failure */), -EINVAL);
        unsetenv(JOURNAL_SOCKET_ENV);
        journal_writer_free(w2);
        close(fd);

        denial_done(&d);
        journal_writer_free(w);
        unlink(sock_path);
}

/* ---- the queue, on an event loop ---- */

typedef struct Reader {
        int fd;
        long next; /* the SEQ= expected next */
        long received;
        bool out_of_order;
} Reader;

static int on_readable(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Reader *rd = userdata;
        static char buf[64 * 1024];
        Field f[FIELDS_MAX];

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0)
                        break;
                int k = parse_entry(buf, n, f, FIELDS_MAX);
                CHECK(k > 0);
                const Field *seq = find(f, k, "SEQ");
                CHECK(seq);
                if (strtol(seq->value, NULL, 10) != rd->next)
                        rd->out_of_order = true;
                rd->next++;
                rd->received++;
        }
        return 0;
}

static void entry_with_seq(JournalEntry *e, long seq, size_t pad) {
        char num[32];
        static char padding[16 * 1024];

        memset(padding, 'p', sizeof(padding));
        snprintf(num, sizeof(num), "%ld", seq);
        CHECK_RC(journal_entry_add_string(e, "MESSAGE", "queued"), 0);
        CHECK_RC(journal_entry_add_string(e, "SEQ", num), 0);
        CHECK(pad <= sizeof(padding));
        CHECK_RC(journal_entry_add(e, "PAD", padding, pad), 0);
}

/* Submits n entries of about pad bytes to a receiver that does not read, checks the counters,
 * then lets it read and checks that every queued entry arrives, in order. */
static void run_queue(size_t pad, long n, size_t queued_min, size_t queued_max) {
        sd_event *e = NULL;
        sd_event_source *rs = NULL;
        JournalWriter *w = NULL;
        JournalStats stats = {};
        Reader rd = {};
        long accepted = 0;

        CHECK(sd_event_new(&e) >= 0);
        rd.fd = receiver_new(0);
        CHECK_RC(journal_writer_new(sock_path, &w), 0);
        CHECK_RC(journal_writer_attach_event(w, e, &stats), 0);

        alarm(30);
        for (long i = 0; i < n; i++) {
                JournalEntry en = {};
                entry_with_seq(&en, i, pad);
                int r = journal_writer_submit(w, &en);
                journal_entry_done(&en);
                if (r == 0)
                        accepted++;
                else
                        CHECK_RC(r, -ENOBUFS);
        }
        printf("pad %zu: %" PRIu64 " sent at once, %" PRIu64 " queued, %" PRIu64 " failed\n", pad,
               stats.journal_forwarded, stats.journal_queued, stats.journal_failed);
        CHECK(stats.journal_forwarded > 0); /* the receiver's socket queue took some */
        CHECK(stats.journal_queued >= queued_min && stats.journal_queued <= queued_max);
        CHECK_RC(journal_writer_queued(w), stats.journal_queued);
        CHECK_RC(stats.journal_forwarded + stats.journal_queued + stats.journal_failed, n);
        CHECK_RC(accepted, stats.journal_forwarded + stats.journal_queued);

        /* the receiver reads: everything accepted arrives, in order, and the queue is empty */
        CHECK(sd_event_add_io(e, &rs, rd.fd, EPOLLIN, on_readable, &rd) >= 0);
        while (rd.received < accepted)
                CHECK(sd_event_run(e, 1000000) >= 0);
        CHECK(!rd.out_of_order);
        CHECK_RC(stats.journal_queued, 0);
        CHECK_RC(stats.journal_forwarded, accepted);
        CHECK_RC(rd.received, accepted);
        sd_event_source_disable_unref(rs);

        /* fill the queue again, then the receiver goes away: the queue empties into failed */
        uint64_t failed = stats.journal_failed;
        long i = 0;
        while (stats.journal_queued == 0 && i < 100000) {
                JournalEntry en = {};
                entry_with_seq(&en, i++, pad);
                (void) journal_writer_submit(w, &en);
                journal_entry_done(&en);
        }
        CHECK(stats.journal_queued > 0);
        uint64_t queued = stats.journal_queued;
        close(rd.fd);
        unlink(sock_path);
        for (int k = 0; k < 100 && stats.journal_queued > 0; k++)
                CHECK(sd_event_run(e, 10000) >= 0);
        CHECK_RC(stats.journal_queued, 0);
        CHECK_RC(stats.journal_failed, failed + queued);
        alarm(0);

        journal_writer_free(w);
        sd_event_unref(e);
}

static void test_queue(void) {
        /* small entries: the entry bound first */
        run_queue(100, JOURNAL_QUEUE_MAX + 2000, JOURNAL_QUEUE_MAX, JOURNAL_QUEUE_MAX);
        /* 8 KiB entries: the byte bound first (entries differ by the digits of SEQ=) */
        JournalEntry lo = {}, hi = {};
        entry_with_seq(&lo, 0, 8192);
        entry_with_seq(&hi, 9999, 8192);
        CHECK(JOURNAL_QUEUE_BYTES_MAX / lo.len < JOURNAL_QUEUE_MAX);
        run_queue(8192, 4000, JOURNAL_QUEUE_BYTES_MAX / hi.len, JOURNAL_QUEUE_BYTES_MAX / lo.len);
        journal_entry_done(&lo);
        journal_entry_done(&hi);
}

int main(void) {
        test_field_names();
        test_forms();
        test_entry_max();
        test_escape();
        test_denial_entry();
        test_writer();
        test_queue();
        fixture_tmpdir_remove(dir);
        return 0;
}
