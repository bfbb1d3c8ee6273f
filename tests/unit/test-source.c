/* SPDX-License-Identifier: MIT */
/* The record sources against real input: the kernel's audit netlink multicast (USER_AVC
 * messages sent by a child through audit_send(), needs root), a regular file, a pipe and a
 * regular file on stdin, /dev/null. Other processes may be sending audit messages at the same
 * time, so netlink checks look for our marker and never assume we are alone. */

#include <errno.h>
#include <fcntl.h>
#include <libaudit.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "macro.h"
#include "serial-gaps.h"
#include "source.h"
#include "test.h"
#include "user-avc.h"

/* exported by libaudit, declared only in its private header */
extern int audit_send(int fd, int type, const void *data, unsigned int size);

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define TEST_TIMEOUT_USEC (30ULL * 1000000) /* a loaded machine, sanitizers */
#define TEST_NETLINK_COUNT 100
#define TEST_FLOOD_COUNT 2000
#define TEST_LINES_MAX 20000

typedef struct Ctx {
        sd_event *event;
        const char *marker; /* netlink: only lines holding it are kept */
        char **lines;
        size_t n_lines;
        size_t n_all; /* every line the callback saw */
        unsigned eof_calls;
        size_t stop_at; /* > 0: return stop_error at this kept line */
        int stop_error;
        size_t want; /* > 0: exit the loop once this many lines are kept */
        bool no_exit_on_eof;
        bool timer_fired;
        size_t lines_at_timer;
        unsigned burst; /* > 0: at the first kept line, this many more are sent (and delivered) */
        bool burst_sent;
        int64_t *latency_ms; /* not NULL: per kept line, how long after its audit stamp it came */
} Ctx;

static void ctx_clear(Ctx *c) {
        for (size_t i = 0; i < c->n_lines; i++)
                free(c->lines[i]);
        free(c->lines);
        c->lines = NULL;
        c->n_lines = c->n_all = 0;
        c->eof_calls = 0;
}

static void burst_send(const char *marker, unsigned count);

static int on_line(const char *line, size_t len, void *userdata) {
        Ctx *c = userdata;
        char *copy;

        c->n_all++;
        /* the line is not NUL terminated and must not contain the terminator */
        CHECK(len == 0 || line[len - 1] != '\n');
        copy = strndup(line, len);
        CHECK(copy);
        CHECK(strlen(copy) == len);
        if (c->marker && !strstr(copy, c->marker)) {
                free(copy);
                return 0;
        }
        CHECK(c->n_lines < TEST_LINES_MAX);
        if (!c->lines) {
                c->lines = calloc(TEST_LINES_MAX, sizeof(char *));
                CHECK(c->lines);
        }
        if (c->latency_ms) {
                struct timespec ts;
                unsigned long long sec;
                unsigned msec;

                clock_gettime(CLOCK_REALTIME, &ts);
                CHECK(sscanf(copy, "type=USER_AVC msg=audit(%llu.%3u:", &sec, &msec) == 2);
                c->latency_ms[c->n_lines] = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
                                            (int64_t) (sec * 1000 + msec);
        }
        c->lines[c->n_lines++] = copy;
        if (c->burst > 0 && !c->burst_sent) {
                c->burst_sent = true;
                burst_send(c->marker, c->burst);
        }
        if (c->stop_at > 0 && c->n_lines == c->stop_at)
                return c->stop_error;
        if (c->want > 0 && c->n_lines == c->want)
                sd_event_exit(c->event, 0);
        return 0;
}

static void on_eof(void *userdata) {
        Ctx *c = userdata;

        c->eof_calls++;
        if (!c->no_exit_on_eof)
                sd_event_exit(c->event, 0);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Ctx *c = userdata;

        return sd_event_exit(c->event, -ETIMEDOUT);
}

static int on_early_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Ctx *c = userdata;

        c->timer_fired = true;
        c->lines_at_timer = c->n_lines;
        return 0;
}

static sd_event *new_event_with_timeout(Ctx *c) {
        sd_event *e = NULL;

        CHECK_RC(sd_event_new(&e), 0);
        CHECK(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, TEST_TIMEOUT_USEC, 0, on_timeout,
                                         c) >= 0);
        c->event = e;
        return e;
}

/* The start of one run: a loop with the test's timeout, a source reading PATH into c. */
static sd_event *run_start(Ctx *c, SourceStats *stats, const char *path, Source **src) {
        sd_event *e = new_event_with_timeout(c);

        CHECK_RC(source_new_file(e, path, stats, on_line, c, on_eof, c, src), 0);
        return e;
}

/* The end of one run: the source freed, what it collected cleared, its loop dropped. */
static void run_done(Source **src, Ctx *c, sd_event **e) {
        *src = source_free(*src);
        ctx_clear(c);
        *e = sd_event_unref(*e);
}

/* Runs the loop for usec (the loop must not exit meanwhile). */
static void run_for(sd_event *e, uint64_t usec) {
        struct timespec ts;
        uint64_t now, end;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        for (end = now + usec; now < end;) {
                CHECK(sd_event_run(e, end - now) >= 0);
                CHECK(sd_event_get_state(e) != SD_EVENT_FINISHED);
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
        }
}

static bool string_starts(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- netlink ---- */

/* Forks a child that sends count USER_AVC denials named "MARKER.N" and exits 0 if every send
 * succeeded. */
static pid_t spawn_sender_every(const char *marker, unsigned count, unsigned gap_usec) {
        pid_t pid = fork();

        CHECK(pid >= 0);
        if (pid > 0)
                return pid;

        int fd = audit_open();
        if (fd < 0)
                _exit(2);
        for (unsigned i = 1; i <= count; i++) {
                char name[128], text[USER_AVC_TEXT_MAX];
                UserAvcSpec spec = fixture_user_avc();
                int len, r;

                snprintf(name, sizeof(name), "%s.%u", marker, i);
                spec.permissions = "read write";
                spec.pid = 4242;
                spec.comm = "srctest";
                spec.name = name;
                spec.scontext = "system_u:system_r:container_t:s0:c7,c8";
                spec.tcontext = "system_u:object_r:etc_t:s0";
                spec.tclass = "file";
                len = user_avc_format(&spec, text, sizeof(text));
                if (len < 0)
                        _exit(3);
                for (int attempt = 0;; attempt++) {
                        r = audit_send(fd, AUDIT_USER_AVC, text, (unsigned) len + 1);
                        if (r >= 0)
                                break;
                        if (attempt > 100 || (r != -ECONNREFUSED && r != -ENOBUFS))
                                _exit(4);
                        usleep(1000);
                }
                if (gap_usec > 0)
                        usleep(gap_usec);
                /* drop the kernel's acks now and then so our own socket does not fill */
                if (i % 32 == 0) {
                        char ack[1024];
                        while (recv(fd, ack, sizeof(ack), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
                                ;
                }
        }
        _exit(0);
}

/* ... as fast as it can */
static pid_t spawn_sender(const char *marker, unsigned count) {
        return spawn_sender_every(marker, count, 0);
}

static void wait_child_ok(pid_t pid) {
        int status;

        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK_RC(WEXITSTATUS(status), 0);
}

/* count more of MARKER's sent from a child, then time for the kernel to deliver them (its audit
 * thread multicasts them after the sends returned) */
static void burst_send(const char *marker, unsigned count) {
        wait_child_ok(spawn_sender(marker, count));
        usleep(100 * 1000);
}

static void make_marker(char *buf, size_t n, const char *what) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(buf, n, "%s-%d-%lx", what, (int) getpid(), (unsigned long) ts.tv_nsec);
}

/* The sequence numbers of "MARKER.N" names: each of 1..count exactly once. */
static void check_all_names(Ctx *c, const char *marker, unsigned count) {
        bool *seen = calloc(count + 1, sizeof(bool));
        char needle[160];

        CHECK(seen);
        snprintf(needle, sizeof(needle), " name=\"%s.", marker);
        for (size_t i = 0; i < c->n_lines; i++) {
                const char *p = strstr(c->lines[i], needle);
                unsigned long n;
                char *end;

                CHECK(p);
                n = strtoul(p + strlen(needle), &end, 10);
                CHECK(*end == '"');
                CHECK(n >= 1 && n <= count);
                CHECK(!seen[n]);
                seen[n] = true;
        }
        for (unsigned i = 1; i <= count; i++)
                CHECK(seen[i]);
        free(seen);
}

/* A loop with the test's timeout and a netlink source on it, or SKIP (exits) when this cannot
 * read the audit multicast group. */
static sd_event *netlink_start(Ctx *c, Stats *stats, Source **src) {
        sd_event *e;
        int r;

        if (geteuid() != 0)
                SKIP("netlink: needs root (CAP_AUDIT_READ, CAP_AUDIT_WRITE)");
        e = new_event_with_timeout(c);
        r = source_new_netlink(e, -1, &stats->source, &stats->losses, on_line, c, src);
        if (r == -EPERM || r == -EPROTONOSUPPORT)
                SKIP("netlink: cannot bind the audit multicast group: %s", strerror(-r));
        CHECK_RC(r, 0);
        return e;
}

/* A netlink audit socket bound to the read-log multicast group; SKIPs where it cannot bind. */
static int audit_group_socket(void) {
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);

        CHECK(fd >= 0);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                SKIP("netlink: cannot bind the audit multicast group: %s", strerror(errno));
        return fd;
}

static void test_netlink(void) {
        Stats stats = {};
        Ctx c = {};
        Source *src = NULL;
        char marker[64];
        sd_event *e;
        pid_t child;
        int r;

        e = netlink_start(&c, &stats, &src);
        CHECK_STREQ(stats.source.input, "netlink");

        make_marker(marker, sizeof(marker), "srctest");
        c.marker = marker;
        c.want = TEST_NETLINK_COUNT;
        child = spawn_sender(marker, TEST_NETLINK_COUNT);
        r = sd_event_loop(e);
        wait_child_ok(child);
        CHECK_RC(r, 0);
        CHECK_RC(c.n_lines, TEST_NETLINK_COUNT);

        for (size_t i = 0; i < c.n_lines; i++) {
                const char *l = c.lines[i];
                const char *tail = l + strlen(l) - 1;

                CHECK(string_starts(l, "type=USER_AVC msg=audit("));
                /* the kernel's wrapper around our text, and our text intact inside it */
                CHECK(strstr(l, "): pid="));
                CHECK(strstr(l, " msg='avc:  denied  { read write } for  pid=4242 "
                                "comm=\"srctest\" name=\""));
                CHECK(strstr(l, " scontext=system_u:system_r:container_t:s0:c7,c8 "
                                "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0'"));
                CHECK(*tail == '\'');
        }
        check_all_names(&c, marker, TEST_NETLINK_COUNT);

        /* every datagram counted; each either handed on or malformed */
        CHECK(stats.source.records_received >= TEST_NETLINK_COUNT);
        CHECK(stats.source.records_received == c.n_all + stats.source.records_malformed);
        /* a 64 MiB buffer (or whatever we got) holds 100 small records */
        CHECK_RC(stats.losses.netlink_dropped, 0);

        /* a callback error stops the loop with that error (an exited loop cannot run again:
         * a new one) */
        run_done(&src, &c, &e);
        e = new_event_with_timeout(&c);
        CHECK_RC(source_new_netlink(e, -1, &stats.source, &stats.losses, on_line, &c, &src), 0);
        c.want = 0;
        c.stop_at = 3;
        c.stop_error = -ECANCELED;
        make_marker(marker, sizeof(marker), "srcstop");
        child = spawn_sender(marker, 10);
        r = sd_event_loop(e);
        wait_child_ok(child);
        CHECK_RC(r, -ECANCELED);
        CHECK_RC(c.n_lines, 3);

        run_done(&src, &c, &e);
}

/* Records that wait in the socket's queue are read many per system call (recvmmsg) and many
 * calls per wake-up: each arrives once, whole, in the order the kernel sent them, also across
 * the boundaries of a call's vector and of a wake-up's batch. */
static void test_netlink_queued(void) {
        const unsigned count = 3 * SOURCE_BATCH_MAX + 7;
        Stats stats = {};
        Ctx c = {};
        Source *src = NULL;
        char marker[64], needle[160];
        sd_event *e;

        e = netlink_start(&c, &stats, &src);

        make_marker(marker, sizeof(marker), "srcqueue");
        c.marker = marker;
        c.want = count;
        /* all of them sent before the loop reads any */
        wait_child_ok(spawn_sender(marker, count));
        CHECK_RC(sd_event_loop(e), 0);
        CHECK_RC(c.n_lines, count);
        snprintf(needle, sizeof(needle), " name=\"%s.", marker);
        for (size_t i = 0; i < c.n_lines; i++) {
                const char *l = c.lines[i], *p = strstr(l, needle);
                char *end;

                CHECK(string_starts(l, "type=USER_AVC msg=audit("));
                CHECK(strstr(l, "): pid="));
                CHECK(p);
                CHECK_RC(strtoul(p + strlen(needle), &end, 10), i + 1);
                CHECK(string_starts(end, "\" scontext=system_u:system_r:container_t:s0:c7,c8 "));
                CHECK(l[strlen(l) - 1] == '\'');
        }
        CHECK(stats.source.records_received == c.n_all + stats.source.records_malformed);
        CHECK_RC(stats.losses.netlink_dropped, 0);
        run_done(&src, &c, &e);
}

/* A socket-activated fd, then squeezed to a tiny receive buffer and flooded while nobody reads:
 * the losses must be counted exactly (SO_MEMINFO drops) and reported as ENOBUFS. */
static void test_netlink_overrun(void) {
        Stats stats = {};
        Ctx c = {};
        Source *src = NULL;
        char marker[64];
        sd_event *e;
        pid_t child;
        int fd, tiny = 4096;

        if (geteuid() != 0)
                SKIP("netlink: needs root");

        /* not a netlink audit socket: refused */
        e = new_event_with_timeout(&c);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        CHECK_RC(source_new_netlink(e, fd, &stats.source, &stats.losses, on_line, &c, &src),
                 -EPROTOTYPE);
        CHECK(src == NULL);
        /* ... and still ours to close */
        CHECK_RC(close(fd), 0);

        fd = audit_group_socket();
        CHECK_RC(source_new_netlink(e, fd, &stats.source, &stats.losses, on_line, &c, &src), 0);
        CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
        CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)) == 0);

        make_marker(marker, sizeof(marker), "srcflood");
        c.marker = marker;
        child = spawn_sender(marker, TEST_FLOOD_COUNT);
        /* nobody reads while the child sends */
        wait_child_ok(child);

        /* then read everything of ours that is left: stop once none of ours arrived for half a
         * second. Not "the socket is quiet": other tests and hosts' writers share the stream and
         * may never pause; ours were all queued before the child exited. */
        for (size_t seen = SIZE_MAX; seen != c.n_lines;) {
                seen = c.n_lines;
                run_for(e, 500 * 1000);
        }

        size_t kept = c.n_lines;

        /* A serial gap shows once a later serial arrives: one more message, then the grace. */
        int tail_buf = 1024 * 1024;
        CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tail_buf, sizeof(tail_buf)) == 0);
        wait_child_ok(spawn_sender(marker, 1));
        run_for(e, SERIAL_GAPS_GRACE_USEC + 500 * 1000);
        CHECK_RC(c.n_lines, kept + 1);

        fprintf(stderr,
                "overrun: %zu of %d kept, dropped %" PRIu64 ", enobufs %" PRIu64
                ", serials missed %" PRIu64 ", lost %" PRIu64 "\n",
                kept, TEST_FLOOD_COUNT, stats.losses.netlink_dropped, stats.source.netlink_enobufs,
                stats.losses.serials_missed, stats_events_lost(&stats));
        CHECK(kept < TEST_FLOOD_COUNT);
        CHECK(stats.source.netlink_enobufs >= 1);
        CHECK(stats.losses.netlink_dropped > 0);
        /* exact: what we got plus what the kernel dropped is at least what was sent (others'
         * messages may have been dropped too) */
        CHECK(kept + stats.losses.netlink_dropped >= TEST_FLOOD_COUNT);
        /* Each of ours is a one-record event: received, or its serial is missing. */
        CHECK(kept + stats.losses.serials_missed >= TEST_FLOOD_COUNT);
        CHECK(stats.losses.serials_missed > 0);
        CHECK(stats_events_lost(&stats) >= stats.losses.netlink_dropped);
        CHECK(stats_events_lost(&stats) >= stats.losses.serials_missed);
        CHECK(stats.source.records_received == c.n_all + stats.source.records_malformed);
        /* ... all in one loss window, which says how much of each */
        CHECK_RC(stats.losses.loss_windows, 1);
        CHECK(stats.losses.window_open);
        CHECK_RC(stats.losses.windows[0].counts[LOSS_SOCKET_DROPPED], stats.losses.netlink_dropped);
        CHECK_RC(stats.losses.windows[0].counts[LOSS_SERIAL_MISSED], stats.losses.serials_missed);
        CHECK(stats.losses.windows[0].since_ms <= stats.losses.windows[0].until_ms);
        CHECK(stats.losses.windows[0].until_ms - stats.losses.windows[0].since_ms < 60 * 1000);

        ctx_clear(&c);
        src = source_free(src);
        /* the source owned the fd */
        CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
        sd_event_unref(e);
}

/* An overrun goes on after its ENOBUFS: the kernel marks the socket congested and drops every
 * record sent until a read finds the queue empty, with no ENOBUFS of their own. Here the queue
 * overflows while nobody reads (one ENOBUFS); then, in the batch that reads the ENOBUFS and the
 * first records, while the queue still holds many, a second burst is sent, all of it dropped in
 * silence. Those drops are counted by the end of that batch, which empties the queue (the drop
 * counter is read after each batch while an overrun lasts, not only at its ENOBUFS, and long
 * before the once-a-second safety read): what was kept plus what was counted dropped is what was
 * sent, before any other record arrives. */
static void test_netlink_overrun_ongoing(void) {
        const unsigned first = 1000, burst = 300;
        Stats stats = {};
        Ctx c = {};
        Source *src = NULL;
        char marker[64];
        sd_event *e;
        int fd, small = 64 * 1024;

        if (geteuid() != 0)
                SKIP("netlink: needs root");
        e = new_event_with_timeout(&c);
        fd = audit_group_socket();
        CHECK_RC(source_new_netlink(e, fd, &stats.source, &stats.losses, on_line, &c, &src), 0);
        /* room for far more than one recvmmsg() takes, far fewer than the first burst */
        CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);

        make_marker(marker, sizeof(marker), "srcongoing");
        c.marker = marker;
        /* nobody reads while these are sent: the queue overflows, one ENOBUFS */
        wait_child_ok(spawn_sender(marker, first));
        /* the second burst goes out from the callback, at the first record read */
        c.burst = burst;
        for (size_t seen = SIZE_MAX; seen != c.n_lines;) {
                seen = c.n_lines;
                run_for(e, 100 * 1000);
        }
        size_t kept = c.n_lines;
        fprintf(stderr,
                "ongoing overrun: %zu of %u kept, dropped %" PRIu64 ", enobufs %" PRIu64 "\n", kept,
                first + burst, stats.losses.netlink_dropped, stats.source.netlink_enobufs);
        CHECK(c.burst_sent);
        CHECK(kept < first);
        CHECK(stats.source.netlink_enobufs >= 1);
        /* exact (others' records may have been dropped too): none dropped uncounted */
        CHECK(kept + stats.losses.netlink_dropped >= first + burst);

        /* the missing serials show once a later one arrives: one more, then the grace */
        int tail_buf = 1024 * 1024;
        CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tail_buf, sizeof(tail_buf)) == 0);
        wait_child_ok(spawn_sender(marker, 1));
        run_for(e, SERIAL_GAPS_GRACE_USEC + 500 * 1000);
        CHECK_RC(c.n_lines, kept + 1);
        CHECK(kept + stats.losses.serials_missed >= first + burst);
        CHECK(stats.source.records_received == c.n_all + stats.source.records_malformed);
        CHECK_RC(stats.losses.loss_windows, 1);
        CHECK(stats.losses.windows[0].since_ms <= stats.losses.windows[0].until_ms);

        ctx_clear(&c);
        src = source_free(src);
        sd_event_unref(e);
}

/* A kernel that drops without an ENOBUFS (here: NETLINK_NO_ENOBUFS switched on behind the
 * source's back, after it switched it off): the drop counter is read all the same, by the safety
 * read within a second while records arrive, and the drops are counted exactly. */
static void test_netlink_overrun_silent(void) {
        const unsigned first = 1000;
        Stats stats = {};
        Ctx c = {};
        Source *src = NULL;
        char marker[64];
        sd_event *e;
        int fd, small = 64 * 1024, one = 1;

        if (geteuid() != 0)
                SKIP("netlink: needs root");
        e = new_event_with_timeout(&c);
        fd = audit_group_socket();
        CHECK_RC(source_new_netlink(e, fd, &stats.source, &stats.losses, on_line, &c, &src), 0);
        CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
        CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)) == 0);

        make_marker(marker, sizeof(marker), "srcsilent");
        c.marker = marker;
        wait_child_ok(spawn_sender(marker, first));
        for (size_t seen = SIZE_MAX; seen != c.n_lines;) {
                seen = c.n_lines;
                run_for(e, 100 * 1000);
        }
        size_t kept = c.n_lines;
        CHECK(kept < first);
        CHECK_RC(stats.source.netlink_enobufs, 0);

        /* a record more than a second later: its batch reads the counter */
        run_for(e, 1100 * 1000);
        wait_child_ok(spawn_sender(marker, 1));
        for (uint64_t waited = 0; c.n_lines == kept && waited < 2000 * 1000; waited += 10 * 1000)
                run_for(e, 10 * 1000);
        CHECK_RC(c.n_lines, kept + 1);
        fprintf(stderr,
                "silent overrun: %zu of %u kept, dropped %" PRIu64 ", enobufs %" PRIu64 "\n", kept,
                first, stats.losses.netlink_dropped, stats.source.netlink_enobufs);
        CHECK_RC(stats.source.netlink_enobufs, 0);
        /* exact (others' records may have been dropped too) */
        CHECK(kept + stats.losses.netlink_dropped >= first);
        CHECK(stats.losses.loss_windows >= 1);
        CHECK(stats.losses.windows[0].since_ms <= stats.losses.windows[0].until_ms);

        ctx_clear(&c);
        src = source_free(src);
        sd_event_unref(e);
}

static int cmp_int64(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return (x > y) - (x < y);
}

/* While records keep coming the socket is read at a pace (every few milliseconds, not at each of
 * the kernel's wake-ups), and at the kernel's wake-up again once a read finds nothing. Either way
 * no record waits long: a trickle of records (one a millisecond), each read within a few
 * milliseconds of its audit stamp, the median well within TEST_PACED_MEDIAN_MS and none later
 * than TEST_PACED_MAX_MS (a shared, loaded machine); then a quiet spell in which the loop sleeps;
 * then one more, read at once. A read that waits for a batch to fill, a pace that is never
 * re-armed, or one that never stops (an idle daemon waking every few milliseconds) fails this. */
#define TEST_PACED_COUNT 400
#define TEST_PACED_MEDIAN_MS 25
#define TEST_PACED_MAX_MS 500
static void test_netlink_paced(void) {
        int64_t latency[TEST_PACED_COUNT + 1];
        Stats stats = {};
        Ctx c = {.latency_ms = latency};
        Source *src = NULL;
        char marker[64];
        sd_event *e;
        pid_t child;

        e = netlink_start(&c, &stats, &src);
        make_marker(marker, sizeof(marker), "srcpaced");
        c.marker = marker;
        child = spawn_sender_every(marker, TEST_PACED_COUNT, 1000);
        /* not sd_event_loop(): an exited loop cannot run again */
        for (uint64_t waited = 0; c.n_lines < TEST_PACED_COUNT && waited < TEST_TIMEOUT_USEC;
             waited += 10 * 1000)
                run_for(e, 10 * 1000);
        wait_child_ok(child);
        CHECK_RC(c.n_lines, TEST_PACED_COUNT);
        check_all_names(&c, marker, TEST_PACED_COUNT);

        int64_t sorted[TEST_PACED_COUNT];
        memcpy(sorted, latency, sizeof(sorted));
        qsort(sorted, TEST_PACED_COUNT, sizeof(int64_t), cmp_int64);
        fprintf(stderr,
                "paced: latency median %" PRIi64 " ms, 99th %" PRIi64 " ms, max %" PRIi64 " ms\n",
                sorted[TEST_PACED_COUNT / 2], sorted[TEST_PACED_COUNT * 99 / 100],
                sorted[TEST_PACED_COUNT - 1]);
        CHECK(sorted[TEST_PACED_COUNT / 2] <= TEST_PACED_MEDIAN_MS);
        CHECK(sorted[TEST_PACED_COUNT - 1] <= TEST_PACED_MAX_MS);

        /* quiet: the pace finds nothing and stops, the loop sleeps until the kernel wakes it
         * (unless someone else's records come: then this is not checked) */
        run_for(e, 100 * 1000);
        size_t all = c.n_all;
        unsigned dispatched = 0;
        for (unsigned i = 0; i < 20; i++) {
                int r = sd_event_run(e, 10 * 1000);
                CHECK(r >= 0);
                dispatched += r > 0;
        }
        if (c.n_all == all)
                CHECK(dispatched <= 2);
        else
                fprintf(stderr, "paced: others' records came, the quiet loop not checked\n");
        CHECK_RC(c.n_lines, TEST_PACED_COUNT);
        wait_child_ok(spawn_sender(marker, 1));
        for (uint64_t waited = 0; c.n_lines == TEST_PACED_COUNT && waited < 2000 * 1000;
             waited += 10 * 1000)
                run_for(e, 10 * 1000);
        CHECK_RC(c.n_lines, TEST_PACED_COUNT + 1);
        fprintf(stderr, "paced: after a quiet spell, %" PRIi64 " ms\n", latency[TEST_PACED_COUNT]);
        CHECK(latency[TEST_PACED_COUNT] <= TEST_PACED_MAX_MS);
        CHECK_RC(stats.losses.netlink_dropped, 0);
        run_done(&src, &c, &e);
}

/* ---- files ---- */

static void write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                CHECK(k > 0);
                p += k;
                n -= (size_t) k;
        }
}

static char *tmpdir;

/* An empty file NAME in the test's temp directory. */
static char *make_temp(const char *name) {
        char *path = fixture_path(tmpdir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        CHECK(fd >= 0);
        close(fd);
        return path;
}

static void write_file(const char *path, const char *data, size_t n) {
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

        CHECK(fd >= 0);
        write_all(fd, data, n);
        CHECK_RC(close(fd), 0);
}

/* five lines: normal, blank, too long, normal, last without a newline */
static char *five_lines(size_t *ret_len) {
        size_t long_len = SOURCE_LINE_MAX + 10, n = 0;
        char *buf = malloc(long_len + 256);

        CHECK(buf);
        n += (size_t) sprintf(buf + n, "line one\n");
        n += (size_t) sprintf(buf + n, "  \t\n");
        memset(buf + n, 'x', long_len);
        n += long_len;
        buf[n++] = '\n';
        n += (size_t) sprintf(buf + n, "line four\n");
        n += (size_t) sprintf(buf + n, "last line");
        *ret_len = n;
        return buf;
}

static void check_five(Ctx *c, SourceStats *stats) {
        CHECK_RC(c->n_lines, 3);
        CHECK_STREQ(c->lines[0], "line one");
        CHECK_STREQ(c->lines[1], "line four");
        CHECK_STREQ(c->lines[2], "last line");
        CHECK_RC(stats->records_malformed, 1);
        /* non-blank lines read: the three handed on and the over-long one */
        CHECK_RC(stats->records_received, 4);
        CHECK_RC(c->eof_calls, 1);
        CHECK(stats->input_eof);
}

static void test_file(void) {
        _cleanup_(freep) char *path = NULL;
        SourceStats stats = {};
        Ctx c = {};
        Source *src = NULL;
        size_t n;
        char *data = five_lines(&n);
        sd_event *e = new_event_with_timeout(&c);

        path = make_temp("file");
        write_file(path, data, n);

        CHECK_RC(source_new_file(e, path, &stats, on_line, &c, on_eof, &c, &src), 0);
        CHECK_STREQ(stats.input, "file");
        CHECK(!stats.input_eof);
        /* step by step instead of sd_event_loop(): the end must come once and then the source
         * must be quiet */
        c.no_exit_on_eof = true;
        for (int i = 0; i < 20; i++)
                CHECK(sd_event_run(e, 10 * 1000) >= 0);
        check_five(&c, &stats);

        run_done(&src, &c, &e);

        /* errors at open */
        e = new_event_with_timeout(&c);
        CHECK_RC(source_new_file(e, "/nonexistent/avcwatch", &stats, on_line, &c, on_eof, &c, &src),
                 -ENOENT);
        CHECK_RC(source_new_file(e, "/tmp", &stats, on_line, &c, on_eof, &c, &src), -EISDIR);
        CHECK(src == NULL);
        sd_event_unref(e);

        free(data);
}

/* Many chunks: lines carried over chunk boundaries arrive whole and in order, an over-long line
 * bigger than a whole chunk is skipped exactly to its end, and the loop runs other sources while
 * the file is being read. */
static void test_file_chunks(void) {
        enum { BEFORE = 6000, AFTER = 6000, LONG = 300 * 1024 };
        _cleanup_(freep) char *path = NULL;
        SourceStats stats = {};
        Ctx c = {};
        Source *src = NULL;
        size_t cap = (BEFORE + AFTER) * 128 + LONG + 16, n = 0, k = 0;
        char *data = malloc(cap);
        sd_event *e = new_event_with_timeout(&c);

        CHECK(data);
        for (int i = 0; i < BEFORE + AFTER; i++) {
                if (i == BEFORE) {
                        memset(data + n, 'L', LONG);
                        n += LONG;
                        data[n++] = '\n';
                }
                n += (size_t) snprintf(data + n, cap - n, "rec %06d %.*s\n", i, i % 101,
                                       "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
                                       "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijZ");
        }
        path = make_temp("chunks");
        write_file(path, data, n);

        CHECK_RC(source_new_file(e, path, &stats, on_line, &c, on_eof, &c, &src), 0);
        CHECK(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 0, 1, on_early_timer, &c) >= 0);
        CHECK_RC(sd_event_loop(e), 0);

        CHECK_RC(c.n_lines, BEFORE + AFTER);
        for (int i = 0; i < BEFORE + AFTER; i++) {
                char want[160];
                snprintf(want, sizeof(want), "rec %06d %.*s", i, i % 101,
                         "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
                         "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijZ");
                CHECK_STREQ(c.lines[k], want);
                k++;
        }
        CHECK_RC(stats.records_malformed, 1);
        CHECK_RC(stats.records_received, BEFORE + AFTER + 1);
        CHECK_RC(c.eof_calls, 1);
        /* the timer ran while lines were still coming */
        CHECK(c.timer_fired);
        CHECK(c.lines_at_timer < (size_t) (BEFORE + AFTER));

        src = source_free(src);
        ctx_clear(&c);

        /* a callback error stops the file with that error, and no end is reported */
        sd_event_unref(e);
        stats = (SourceStats){};
        e = run_start(&c, &stats, path, &src);
        c.stop_at = 5;
        c.stop_error = -EBADMSG;
        CHECK_RC(sd_event_loop(e), -EBADMSG);
        CHECK_RC(c.n_lines, 5);
        CHECK_RC(c.eof_calls, 0);

        run_done(&src, &c, &e);
        free(data);
}

/* The bound itself: SOURCE_LINE_MAX bytes is a line, one more is malformed, also when either is
 * the last line without a newline. */
static void test_line_max(void) {
        _cleanup_(freep) char *path = NULL;
        size_t n = 0, cap = 4 * (SOURCE_LINE_MAX + 2);
        char *data = malloc(cap);
        SourceStats stats = {};
        Ctx c = {};
        Source *src = NULL;
        sd_event *e;

        CHECK(data);
        memset(data + n, 'a', SOURCE_LINE_MAX);
        n += SOURCE_LINE_MAX;
        data[n++] = '\n';
        memset(data + n, 'b', SOURCE_LINE_MAX + 1);
        n += SOURCE_LINE_MAX + 1;
        data[n++] = '\n';
        memset(data + n, 'c', SOURCE_LINE_MAX);
        n += SOURCE_LINE_MAX;
        path = make_temp("line-max");
        write_file(path, data, n);

        e = run_start(&c, &stats, path, &src);
        CHECK_RC(sd_event_loop(e), 0);
        CHECK_RC(c.n_lines, 2);
        CHECK_RC(strlen(c.lines[0]), SOURCE_LINE_MAX);
        CHECK(c.lines[0][0] == 'a' && c.lines[0][SOURCE_LINE_MAX - 1] == 'a');
        CHECK_RC(strlen(c.lines[1]), SOURCE_LINE_MAX);
        CHECK(c.lines[1][0] == 'c');
        CHECK_RC(stats.records_malformed, 1);
        run_done(&src, &c, &e);

        /* the over-long one last, without a newline */
        write_file(path, data, SOURCE_LINE_MAX + 1 + SOURCE_LINE_MAX + 1);
        stats = (SourceStats){};
        e = run_start(&c, &stats, path, &src);
        CHECK_RC(sd_event_loop(e), 0);
        CHECK_RC(c.n_lines, 1);
        CHECK_RC(stats.records_malformed, 1);
        CHECK_RC(c.eof_calls, 1);
        run_done(&src, &c, &e);

        free(data);
}

/* stdin as a pipe fed by a child in pieces, as a regular file, and as /dev/null. */
static void test_stdin(void) {
        _cleanup_(freep) char *path = NULL;
        int saved = dup(STDIN_FILENO), p[2], devnull;
        SourceStats stats = {};
        Ctx c = {};
        Source *src = NULL;
        sd_event *e;
        size_t n;
        char *data = five_lines(&n);
        pid_t child;

        CHECK(saved >= 0);

        /* pipe, written in small pieces with pauses so that lines straddle reads */
        CHECK_RC(pipe(p), 0);
        child = fork();
        CHECK(child >= 0);
        if (child == 0) {
                close(p[0]);
                for (size_t off = 0; off < n;) {
                        size_t k = MIN((size_t) 4093, n - off);
                        write_all(p[1], data + off, k);
                        off += k;
                        usleep(2000);
                }
                _exit(0);
        }
        close(p[1]);
        CHECK(dup2(p[0], STDIN_FILENO) == STDIN_FILENO);
        close(p[0]);

        e = run_start(&c, &stats, "-", &src);
        CHECK_STREQ(stats.input, "stdin");
        CHECK_RC(sd_event_loop(e), 0);
        wait_child_ok(child);
        check_five(&c, &stats);
        src = source_free(src);
        /* stdin is not the source's to close */
        CHECK(fcntl(STDIN_FILENO, F_GETFD) >= 0);
        ctx_clear(&c);
        sd_event_unref(e);

        /* a regular file on stdin: epoll refuses it, the source must not */
        path = make_temp("stdin");
        write_file(path, data, n);
        devnull = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(devnull >= 0);
        CHECK(dup2(devnull, STDIN_FILENO) == STDIN_FILENO);
        close(devnull);
        stats = (SourceStats){};
        e = run_start(&c, &stats, "-", &src);
        CHECK_RC(sd_event_loop(e), 0);
        check_five(&c, &stats);
        run_done(&src, &c, &e);

        /* /dev/null: no lines, one end */
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CHECK(devnull >= 0);
        CHECK(dup2(devnull, STDIN_FILENO) == STDIN_FILENO);
        close(devnull);
        stats = (SourceStats){};
        e = run_start(&c, &stats, "-", &src);
        CHECK_RC(sd_event_loop(e), 0);
        CHECK_RC(c.n_lines, 0);
        CHECK_RC(c.eof_calls, 1);
        CHECK_RC(stats.records_received, 0);
        CHECK(stats.input_eof);
        run_done(&src, &c, &e);

        CHECK(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
        close(saved);
        free(data);
}

/* Every reader of the audit multicast group sees every injected record, and this test floods
 * it: hold the machine-wide lock that the integration tests take (tests/integration/lib.sh), so
 * that neither disturbs the other's counts. Released at exit. */
static void lock_audit_netlink(void) {
        const char *path = getenv("AVC_NETLINK_LOCK") ?: "/tmp/avcwatch-audit-netlink.lock";
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

        CHECK(fd >= 0);
        CHECK(flock(fd, LOCK_EX) == 0);
}

int main(void) {
        /* a child that dies early must not kill us with SIGPIPE */
        signal(SIGPIPE, SIG_IGN);

        tmpdir = fixture_tmpdir("source");
        test_file();
        test_file_chunks();
        test_line_max();
        test_stdin();
        fixture_tmpdir_remove(tmpdir);
        /* last: these skip (exit 77) without root */
        if (geteuid() == 0)
                lock_audit_netlink();
        test_netlink();
        test_netlink_queued();
        test_netlink_overrun();
        test_netlink_overrun_ongoing();
        test_netlink_overrun_silent();
        test_netlink_paced();
        return 0;
}
