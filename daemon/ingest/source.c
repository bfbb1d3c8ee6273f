/* SPDX-License-Identifier: MIT */
/* Sources of raw audit lines on the sd-event loop.
 *
 * Netlink: a receive-only socket on the audit multicast group AUDIT_NLGRP_READLOG. It coexists
 * with auditd (which owns the unicast channel) and works with audit disabled. Decisions:
 *  - One record per datagram, and its length is what recvmsg() returned: the kernel's multicast
 *    copies have been seen with an nlmsg_len that does not match the payload.
 *  - The line handed on is rebuilt in the audit.log form "type=NAME msg=audit(...): ...", so that
 *    files and the kernel feed one parser. The datagram is received with room before it, where
 *    "type=NAME msg=" is written over its header: the text is not copied.
 *  - Datagrams are read SOURCE_NETLINK_VEC at a time with recvmmsg(): one system call for many
 *    records in a flood. An error after the first of them (ENOBUFS) is kept by the kernel for
 *    the next call, so it is counted as with recvmsg().
 *  - Losses are counted, never fatal. ENOBUFS says "at least one datagram was dropped" without
 *    saying how many. The exact figure is the socket's cumulative drop counter (sk_drops). The
 *    brief was SO_RXQ_OVFL, which carries it in a control message; but netlink_recvmsg() does not
 *    attach that message (checked on 6.x: never delivered), so the counter is read with
 *    getsockopt(SO_MEMINFO)[SK_MEMINFO_DROPS]; SO_RXQ_OVFL is still enabled and honoured should a
 *    kernel start sending it (same counter). netlink_dropped is that counter; only where
 *    SO_MEMINFO is unavailable does an ENOBUFS count as one dropped record (the true number is
 *    then unknown).
 *  - When the counter is read. Every drop goes through the kernel's netlink_overrun(): the first
 *    one of an overrun raises ENOBUFS and marks the socket congested, the rest of the overrun
 *    (everything sent until a read finds the queue empty, which clears the mark) is dropped
 *    without another ENOBUFS. So the counter is read at each ENOBUFS, and after every batch
 *    from then on until a batch ends with the queue found empty (or with an error waiting, whose
 *    ENOBUFS starts this again): between overruns nothing can be dropped without an ENOBUFS
 *    coming first, and the counter is not read at all (it was a system call per batch: as many as
 *    the wake-ups). NETLINK_NO_ENOBUFS, which would silence the ENOBUFS, is switched off; and a
 *    safety read once every SOURCE_NETLINK_DROPS_CHECK_USEC while records arrive catches a drop
 *    of any kernel that does otherwise, within that second. The count is exact either way (the
 *    counter is cumulative); what the timing decides is the loss window and the order of the
 *    reports: a drop's window starts at the last moment every earlier drop is known to have been
 *    counted (the start of the last batch without an ENOBUFS, or the last reading of the
 *    counter; the safety read's window starts at the previous reading), and ends at this reading;
 *    and as the ENOBUFS comes before any datagram queued after the drop, the drops are counted
 *    before the serials they leave missing (serial-gaps.h) can be, as they were.
 *  - Paced reads. The kernel wakes the loop for the first record queued after it slept, and at
 *    50,000 records a second that was a wake-up (a sleep, an epoll_wait(), a recvmmsg() that
 *    finds the queue short) per 20-odd records: thousands a second. So once a read has found
 *    records, the io source is switched off and the socket is read again by a timer
 *    SOURCE_NETLINK_PACE_USEC later (at once after a full batch), until a read finds nothing:
 *    then the kernel's wake-up reads again, so an idle daemon sleeps and a lone record after a
 *    quiet spell is read at once. A record of a stream waits at most the pace and the timer's
 *    accuracy (5 ms) more before it is read; the store commits up to STORE_BATCH_USEC (100 ms)
 *    later anyway. Only with a receive buffer a pause cannot fill (SOURCE_NETLINK_PACE_RCVBUF,
 *    checked at the start and at every reading of the drop counter); an ENOBUFS or an error
 *    waits for the next tick, no longer.
 *  - Serial gaps (daemon/ingest/serial-gaps.h): every record the kernel emits is multicast to this
 *    socket, so an audit serial that never arrives is an event lost before it reached us,
 *    whatever the cause (our socket's overrun, the kernel's rate limit). The stamp is read from
 *    the datagram here, before any parsing, so that records of every type count. Files and stdin
 *    get none of this: a file may be filtered (ausearch), rotated, merged from several nodes or
 *    span reboots, so its serials say nothing about loss.
 *  - The receive buffer is forced large (SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it SO_RCVBUF
 *    is capped by net.core.rmem_max, which we log since bursts will then be lost).
 *
 * File / stdin: read in chunks and split into lines here. A regular file is always "readable" and
 * epoll refuses it, so it is driven by a defer source that handles one chunk per dispatch and
 * lets the loop serve other sources between chunks; pipes and sockets on stdin use an io source.
 * Lines longer than SOURCE_LINE_MAX are counted malformed and skipped up to the next newline.
 * A regular file that starts with the gzip magic (a rotated audit.log.N.gz) is read through
 * zlib.
 *
 * Both drain in bounded batches per dispatch (SOURCE_BATCH_MAX datagrams, one chunk of lines):
 * sd-event is level triggered, so the loop comes back while input remains, after serving queries
 * and timers. The line callback may return a negative errno: the loop is then asked to exit with
 * it and this source stops. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libaudit.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "line-splitter.h"
#include "log.h"
#include "macro.h"
#include "serial-gaps.h"
#include "source.h"

/* Largest datagram accepted: header plus a text as long as the longest accepted file line. The
 * kernel's own bound (MAX_AUDIT_MESSAGE_LENGTH, 8970) is lower, but its buffers can grow past
 * it; anything longer is counted malformed (MSG_TRUNC). */
#define SOURCE_DATAGRAM_MAX (NLMSG_HDRLEN + SOURCE_LINE_MAX)
/* "type=" NAME " msg=": the longest NAME is "UNKNOWN[-2147483648]" */
#define SOURCE_PREFIX_MAX 64
/* Datagrams per recvmmsg(): their buffers are SOURCE_DATAGRAM_MAX each, but only what the kernel
 * writes into them is ever touched. */
#define SOURCE_NETLINK_VEC 32
/* One receive buffer: room for the prefix, then the datagram. */
#define SOURCE_SLOT (SOURCE_PREFIX_MAX + SOURCE_DATAGRAM_MAX)

#define STRLEN(s) (sizeof(s) - 1)
/* Bytes read from a file per dispatch: big enough to amortise the syscall, small enough that one
 * dispatch stays in the low milliseconds. */
#define SOURCE_FILE_CHUNK (256 * 1024)

/* A defer source stays pending across dispatches and keeps its original place in sd-event's
 * queue, so at the same priority as other sources it would run first forever and starve them
 * (queries, timers, signals). Below every other priority, it runs when nothing else is pending. */
#define SOURCE_FILE_PRIORITY (SD_EVENT_PRIORITY_IDLE + 10)

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* The drop counter is read at least this often while records arrive, whatever ENOBUFS says. */
#define SOURCE_NETLINK_DROPS_CHECK_USEC (1000 * 1000)
/* While records arrive the socket is read at most every SOURCE_NETLINK_PACE_USEC (the timer's
 * accuracy on top), not at each of the kernel's wake-ups; only with a receive buffer of at least
 * SOURCE_NETLINK_PACE_RCVBUF (what getsockopt(SO_RCVBUF) says), which such a pause cannot fill:
 * at a million 1 KiB records a second, 4 ms bring 4 MiB. */
#define SOURCE_NETLINK_PACE_USEC (4 * 1000)
#define SOURCE_NETLINK_PACE_ACCURACY_USEC (1000)
#define SOURCE_NETLINK_PACE_RCVBUF (8 * 1024 * 1024)

typedef enum SourceKind {
        SOURCE_NETLINK,
        SOURCE_FILE,  /* regular file (also on stdin): defer source */
        SOURCE_STREAM /* pipe, socket, tty on stdin: io source */
} SourceKind;

struct Source {
        SourceKind kind;
        sd_event *event;
        sd_event_source *event_source;
        int fd;
        bool own_fd;
        SourceStats *stats; /* its own counters */
        LossLedger *losses; /* netlink: dropped records and missing serials */
        source_line_cb line_cb;
        void *userdata; /* line_cb's */
        source_eof_cb eof_cb;
        void *eof_userdata;

        /* netlink */
        uint32_t drops_seen;      /* last sk_drops value: the kernel's counter is cumulative */
        int64_t drops_seen_ms;    /* every drop before this (wall clock) is counted */
        int64_t drops_read_ms;    /* when the counter was last read (wall clock) */
        uint64_t drops_read_usec; /* the same, monotonic: when the safety read is due */
        bool overrun;             /* an ENOBUFS, and no batch has found the queue empty since */
        bool have_meminfo;        /* SO_MEMINFO works (Linux >= 4.12) */
        char *datagrams;          /* SOURCE_NETLINK_VEC slots of SOURCE_SLOT bytes */
        SerialGaps *gaps;         /* missing audit serials */
        sd_event_source *gaps_timer;
        sd_event_source *pace_timer; /* reads while records arrive (see netlink_pace()) */
        uint64_t pace_usec;          /* 0: never paced (a receive buffer too small for it) */
        bool paced;                  /* the pace timer reads, the io source is off */

        /* files: read chunk, and the line carried over a chunk boundary */
        char *chunk;        /* SOURCE_FILE_CHUNK */
        LineSplitter lines; /* SOURCE_LINE_MAX */
        gzFile gz;          /* a gzip-compressed file (a rotated log), read through zlib */
        bool eof;
};

Source *source_free(Source *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->event_source);
        sd_event_source_disable_unref(s->pace_timer);
        sd_event_source_disable_unref(s->gaps_timer);
        if (s->gaps) {
                /* What is still missing at the end will not arrive any more. */
                serial_gaps_flush(s->gaps);
                s->gaps = serial_gaps_free(s->gaps);
        }
        if (s->own_fd && s->fd >= 0)
                close(s->fd);
        sd_event_unref(s->event);
        free(s->datagrams);
        free(s->chunk);
        line_splitter_done(&s->lines);
        if (s->gz)
                (void) gzclose(s->gz);
        free(s);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Source *, source_free);

static Source *source_alloc(sd_event *e, SourceKind kind, SourceStats *stats, source_line_cb cb,
                            void *userdata, source_eof_cb eof, void *eof_userdata) {
        Source *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->kind = kind;
        s->event = sd_event_ref(e);
        s->fd = -EBADF;
        s->stats = stats;
        s->line_cb = cb;
        s->userdata = userdata;
        s->eof_cb = eof;
        s->eof_userdata = eof_userdata;
        return s;
}

static void stats_set_input(SourceStats *stats, const char *input) {
        snprintf(stats->input, sizeof(stats->input), "%s", input);
}

/* The callback asked to stop: end the loop with its error and go quiet. */
static int source_stop(Source *s, int r) {
        sd_event_source_set_enabled(s->event_source, SD_EVENT_OFF);
        sd_event_source_set_enabled(s->pace_timer, SD_EVENT_OFF);
        sd_event_exit(s->event, r);
        return 0;
}

/* ---- netlink ---- */

static const char *record_type_name(int type, char *buf, size_t n) {
        const char *name = audit_msg_type_to_name(type);

        if (name)
                return name;
        /* as auditd writes types it has no name for */
        snprintf(buf, n, "UNKNOWN[%d]", type);
        return buf;
}

/* cumulative: the socket's drop counter (sk_drops), as SO_MEMINFO or SO_RXQ_OVFL report it;
 * since_ms: the start of the new drops' loss window. */
static void netlink_update_drops(Source *s, uint32_t cumulative, int64_t since_ms) {
        /* unsigned arithmetic: the 32 bit counter may wrap */
        uint32_t delta = cumulative - s->drops_seen;
        int64_t now_ms = now_realtime_ms();
        uint64_t now_usec = clock_usec(CLOCK_MONOTONIC);

        s->drops_seen = cumulative;
        if (delta > 0)
                stats_add_loss(s->losses, LOSS_SOCKET_DROPPED, delta, since_ms, now_ms, now_usec,
                               "the daemon did not read fast enough");
        s->drops_seen_ms = s->drops_read_ms = now_ms;
        s->drops_read_usec = now_usec;
}

static void netlink_on_gap(uint64_t count, uint32_t first, uint32_t last, int64_t since_ms,
                           int64_t until_ms, void *userdata) {
        Source *s = userdata;
        char detail[96];

        snprintf(detail, sizeof(detail), "audit serials %" PRIu32 "..%" PRIu32, first, last);
        stats_add_loss(s->losses, LOSS_SERIAL_MISSED, count, since_ms, until_ms,
                       clock_usec(CLOCK_MONOTONIC), detail);
}

/* Declares lost the serials whose grace ran out; re-arms for the next one. */
static void netlink_expire_gaps(Source *s) {
        uint64_t next = serial_gaps_expire(s->gaps, clock_usec(CLOCK_MONOTONIC));

        if (next == UINT64_MAX) {
                (void) sd_event_source_set_enabled(s->gaps_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(s->gaps_timer, next);
        (void) sd_event_source_set_enabled(s->gaps_timer, SD_EVENT_ONESHOT);
}

static int netlink_on_gaps_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        netlink_expire_gaps(userdata);
        return 0;
}

/* The audit stamp at the start of a kernel record's text: "audit(SECONDS.MILLIS:SERIAL)". */
static bool netlink_parse_stamp(const char *p, size_t n, int64_t *ret_ms, uint32_t *ret_serial) {
        static const char head[] = "audit(";
        uint64_t sec = 0, ms = 0, serial = 0;
        size_t i = sizeof(head) - 1, digits;

        if (n < i || memcmp(p, head, i) != 0)
                return false;
        for (digits = 0; i < n && p[i] >= '0' && p[i] <= '9' && digits < 12; i++, digits++)
                sec = sec * 10 + (uint64_t) (p[i] - '0');
        if (digits == 0 || i >= n || p[i++] != '.')
                return false;
        for (digits = 0; i < n && p[i] >= '0' && p[i] <= '9' && digits < 3; i++, digits++)
                ms = ms * 10 + (uint64_t) (p[i] - '0');
        if (digits != 3 || i >= n || p[i++] != ':')
                return false;
        for (digits = 0; i < n && p[i] >= '0' && p[i] <= '9' && digits < 10; i++, digits++)
                serial = serial * 10 + (uint64_t) (p[i] - '0');
        if (digits == 0 || i >= n || p[i] != ')' || serial > UINT32_MAX)
                return false;
        *ret_ms = (int64_t) (sec * 1000 + ms);
        *ret_serial = (uint32_t) serial;
        return true;
}

static bool netlink_has_meminfo(int fd) {
        uint32_t mem[SK_MEMINFO_VARS] = {};
        socklen_t l = sizeof(mem);

        return getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &l) == 0 &&
               l >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t);
}

/* Whether reads may be paced, from the receive buffer's size (in bytes, as the kernel keeps it). */
static uint64_t netlink_pace_for(uint64_t rcvbuf) {
        return rcvbuf >= SOURCE_NETLINK_PACE_RCVBUF ? SOURCE_NETLINK_PACE_USEC : 0;
}

static void netlink_read_meminfo_drops(Source *s, int64_t since_ms) {
        uint32_t mem[SK_MEMINFO_VARS] = {};
        socklen_t l = sizeof(mem);

        if (!s->have_meminfo)
                return;
        if (getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mem, &l) < 0 ||
            l < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
                return;
        netlink_update_drops(s, mem[SK_MEMINFO_DROPS], since_ms);
        /* the buffer may have been shrunk since the start (setsockopt by whoever holds the fd) */
        s->pace_usec = netlink_pace_for(mem[SK_MEMINFO_RCVBUF]);
}

/* SO_RXQ_OVFL's control message, if the kernel attached one. */
static void netlink_account_cmsg_drops(Source *s, struct msghdr *mh) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                uint32_t count;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL ||
                    c->cmsg_len < CMSG_LEN(sizeof(uint32_t)))
                        continue;
                memcpy(&count, CMSG_DATA(c), sizeof(count));
                netlink_update_drops(s, count, s->drops_seen_ms);
        }
}

/* One datagram ("nlmsghdr + text") at slot + SOURCE_PREFIX_MAX, n bytes; now_usec: when it was
 * read (monotonic). Returns the callback's result, or 0. */
static int netlink_handle_datagram(Source *s, char *slot, size_t n, uint64_t now_usec) {
        char *datagram = slot + SOURCE_PREFIX_MAX;
        struct nlmsghdr h;
        char *text;
        size_t text_len, name_len, prefix;
        char namebuf[32];
        const char *name;

        if (n < NLMSG_HDRLEN) {
                s->stats->records_malformed++;
                return 0;
        }
        memcpy(&h, datagram, sizeof(h));
        text = datagram + NLMSG_HDRLEN;
        text_len = n - NLMSG_HDRLEN;
        /* the kernel may include a terminating NUL, user messages a newline */
        while (text_len > 0 && (text[text_len - 1] == '\0' || text[text_len - 1] == '\n'))
                text_len--;
        if (text_len == 0) {
                s->stats->records_malformed++;
                return 0;
        }

        int64_t time_ms;
        uint32_t serial;
        if (netlink_parse_stamp(text, text_len, &time_ms, &serial)) {
                serial_gaps_add(s->gaps, serial, time_ms, now_usec);
                if (serial_gaps_open(s->gaps) > 0 &&
                    sd_event_source_get_enabled(s->gaps_timer, NULL) == 0)
                        netlink_expire_gaps(s);
        }

        /* "type=NAME msg=" written just before the text, over the header (read above) */
        name = record_type_name(h.nlmsg_type, namebuf, sizeof(namebuf));
        name_len = strlen(name);
        prefix = STRLEN("type=") + name_len + STRLEN(" msg=");
        if (prefix >= SOURCE_PREFIX_MAX) {
                s->stats->records_malformed++;
                return 0;
        }
        char *line = text - prefix;
        memcpy(line, "type=", STRLEN("type="));
        memcpy(line + STRLEN("type="), name, name_len);
        memcpy(line + STRLEN("type=") + name_len, " msg=", STRLEN(" msg="));
        return s->line_cb(line, prefix + text_len, s->userdata);
}

/* The kernel overran our queue: at least one record is gone, and more may go without another
 * ENOBUFS until the queue is found empty. */
static void netlink_on_enobufs(Source *s) {
        s->stats->netlink_enobufs++;
        if (s->have_meminfo) {
                s->overrun = true;
                netlink_read_meminfo_drops(s, s->drops_seen_ms);
        } else {
                /* at least one; the true number is unknown */
                int64_t now_ms = now_realtime_ms();
                stats_add_loss(s->losses, LOSS_SOCKET_DROPPED, 1, s->drops_seen_ms, now_ms,
                               clock_usec(CLOCK_MONOTONIC), "ENOBUFS; the number is not known");
                s->drops_seen_ms = now_ms;
        }
}

/* After a batch that started at start_ms (wall clock); emptied: its last call found the queue
 * empty, or left an error for the next call. */
static void netlink_check_drops(Source *s, int64_t start_ms, bool emptied) {
        if (!s->have_meminfo)
                return;
        if (s->overrun) {
                /* drops of the overrun that came without an ENOBUFS of their own */
                netlink_read_meminfo_drops(s, s->drops_seen_ms);
                /* found empty, the mark is off: the next drop raises ENOBUFS again (and an error
                 * left waiting is that ENOBUFS) */
                if (emptied)
                        s->overrun = false;
        } else if (clock_usec(CLOCK_MONOTONIC) - s->drops_read_usec >=
                   SOURCE_NETLINK_DROPS_CHECK_USEC)
                /* should find nothing; a drop found here is placed since the last reading */
                netlink_read_meminfo_drops(s, s->drops_read_ms);
        else
                s->drops_seen_ms = start_ms;
}

/* Reads what is queued, SOURCE_BATCH_MAX records at most. *ret_handled: records (and ENOBUFS)
 * read; *ret_emptied: the queue was found empty. Returns < 0 when the source must stop. */
static int netlink_drain(Source *s, unsigned *ret_handled, bool *ret_emptied) {
        int fd = s->fd;
        struct mmsghdr msgs[SOURCE_NETLINK_VEC];
        struct sockaddr_nl from[SOURCE_NETLINK_VEC];
        struct iovec iov[SOURCE_NETLINK_VEC];
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(uint32_t))];
        } control[SOURCE_NETLINK_VEC];
        unsigned handled = 0;
        bool emptied = false; /* the last call found the queue empty (or left an error waiting) */
        /* no ENOBUFS yet in this batch: every drop before its start has been counted */
        int64_t start_ms = now_realtime_ms();

        while (handled < SOURCE_BATCH_MAX) {
                unsigned vlen = MIN((unsigned) SOURCE_NETLINK_VEC, SOURCE_BATCH_MAX - handled);
                int k, r;

                for (unsigned i = 0; i < vlen; i++) {
                        from[i] = (struct sockaddr_nl){};
                        iov[i] = (struct iovec){
                                .iov_base =
                                        s->datagrams + (size_t) i * SOURCE_SLOT + SOURCE_PREFIX_MAX,
                                .iov_len = SOURCE_DATAGRAM_MAX,
                        };
                        msgs[i] = (struct mmsghdr){.msg_hdr = {
                                                           .msg_name = &from[i],
                                                           .msg_namelen = sizeof(from[i]),
                                                           .msg_iov = &iov[i],
                                                           .msg_iovlen = 1,
                                                           .msg_control = &control[i],
                                                           .msg_controllen = sizeof(control[i]),
                                                   }};
                }
                k = recvmmsg(fd, msgs, vlen, MSG_DONTWAIT, NULL);
                if (k < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK) {
                                emptied = true;
                                break;
                        }
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                netlink_on_enobufs(s);
                                handled++; /* as a recvmsg() per record counted it */
                                continue;
                        }
                        r = negative_errno();
                        log_error_errno(r, "Failed to read from the audit netlink socket: %m");
                        return r;
                }

                uint64_t now_usec = clock_usec(CLOCK_MONOTONIC);
                for (int i = 0; i < k; i++) {
                        struct msghdr *mh = &msgs[i].msg_hdr;

                        netlink_account_cmsg_drops(s, mh);
                        s->stats->records_received++;

                        /* only the kernel (port 0) speaks on this group; anything else is not a
                         * record */
                        if (mh->msg_namelen >= sizeof(from[i]) && from[i].nl_pid != 0) {
                                s->stats->records_malformed++;
                                continue;
                        }
                        if (mh->msg_flags & MSG_TRUNC) {
                                s->stats->records_malformed++;
                                continue;
                        }

                        r = netlink_handle_datagram(s, s->datagrams + (size_t) i * SOURCE_SLOT,
                                                    msgs[i].msg_len, now_usec);
                        if (r < 0)
                                return r;
                }
                handled += (unsigned) k;
                if ((unsigned) k < vlen) {
                        /* the queue is empty (or an error waits for the next call) */
                        emptied = true;
                        break;
                }
        }
        netlink_check_drops(s, start_ms, emptied);
        *ret_handled = handled;
        *ret_emptied = emptied;
        return 0;
}

static int netlink_arm_pace(Source *s, uint64_t after_usec) {
        int r = sd_event_source_set_time(s->pace_timer, clock_usec(CLOCK_MONOTONIC) + after_usec);

        if (r >= 0)
                r = sd_event_source_set_enabled(s->pace_timer, SD_EVENT_ONESHOT);
        return r;
}

/* How the next read comes: while records arrive, at the pace timer, the wake-ups off; once a
 * read finds nothing, at the kernel's wake-up again. Whatever fails, one of the two stays on. */
static void netlink_pace(Source *s, unsigned handled, bool emptied) {
        /* after a full batch the rest is read as soon as the loop has served the others */
        if (s->pace_usec > 0 && handled > 0 &&
            netlink_arm_pace(s, emptied ? s->pace_usec : 0) >= 0) {
                if (!s->paced && sd_event_source_set_enabled(s->event_source, SD_EVENT_OFF) >= 0)
                        s->paced = true;
                return;
        }
        if (!s->paced)
                return; /* the wake-ups read, as they did */
        if (sd_event_source_set_enabled(s->event_source, SD_EVENT_ON) >= 0) {
                s->paced = false;
                (void) sd_event_source_set_enabled(s->pace_timer, SD_EVENT_OFF);
        } else
                (void) netlink_arm_pace(s, s->pace_usec); /* no wake-ups: go on at the pace */
}

static int netlink_read(Source *s) {
        unsigned handled = 0;
        bool emptied = false;
        int r;

        r = netlink_drain(s, &handled, &emptied);
        if (r < 0)
                return source_stop(s, r);
        netlink_pace(s, handled, emptied);
        return 0;
}

static int netlink_on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        return netlink_read(userdata);
}

static int netlink_on_pace(sd_event_source *es, uint64_t usec, void *userdata) {
        return netlink_read(userdata);
}

static int netlink_check_fd(int fd) {
        int domain = 0, protocol = 0;
        socklen_t l = sizeof(domain);

        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0)
                return negative_errno();
        l = sizeof(protocol);
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &l) < 0)
                return negative_errno();
        if (domain != AF_NETLINK || protocol != NETLINK_AUDIT)
                return -EPROTOTYPE;
        return 0;
}

static int fd_set_nonblock(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0)
                return negative_errno();
        if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return negative_errno();
        return 0;
}

/* Best effort: a small buffer loses bursts but still works. A socket passed by the service
 * manager comes with its ReceiveBuffer= (set with its privilege): it is only ever grown, never
 * shrunk by the SO_RCVBUF fallback, which rmem_max caps. */
static void netlink_setup_buffers(int fd, bool passed) {
        int size = SOURCE_NETLINK_RCVBUF, one = 1, zero = 0, effective = 0;
        socklen_t l = sizeof(effective);

        /* the kernel doubles the value it stores and reports the doubled figure */
        if (passed && getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective, &l) == 0 &&
            effective >= size) {
                /* large enough already */
        } else if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
                if (!passed)
                        (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
                l = sizeof(effective);
                if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &effective, &l) == 0 && effective < size)
                        log_warning("Audit socket receive buffer is %d bytes, not %d (%s): bursts "
                                    "may be lost",
                                    effective, size,
                                    passed ? "ReceiveBuffer= of the socket unit could not be "
                                             "forced either; raise net.core.rmem_max"
                                           : "SO_RCVBUFFORCE needs CAP_NET_ADMIN; pass the "
                                             "socket with ReceiveBuffer=, or raise "
                                             "net.core.rmem_max");
        }
        if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0)
                log_warning("Cannot enable SO_RXQ_OVFL on the audit socket: dropped records are "
                            "counted by ENOBUFS only");
        /* every overrun must say so: the drop counter is read when it does (a socket passed by
         * the service manager could come with it switched off) */
        (void) setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &zero, sizeof(zero));
}

int source_new_netlink(sd_event *e, int fd, SourceStats *stats, LossLedger *losses,
                       source_line_cb cb, void *userdata, Source **ret) {
        _cleanup_(source_freep) Source *s = NULL;
        _cleanup_(closep) int owned = -EBADF;
        int r;

        if (!e || !stats || !losses || !cb || !ret)
                return -EINVAL;

        if (fd >= 0) {
                r = netlink_check_fd(fd);
                if (r < 0)
                        return r;
                r = fd_set_nonblock(fd);
                if (r < 0)
                        return r;
        } else {
                struct sockaddr_nl sa = {
                        .nl_family = AF_NETLINK,
                        .nl_pid = 0,
                        .nl_groups = 1U << (AUDIT_NLGRP_READLOG - 1),
                };

                owned = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_AUDIT);
                if (owned < 0)
                        return negative_errno();
                /* buffers before bind: the first burst may come right away */
                netlink_setup_buffers(owned, false);
                /* EPERM here means no CAP_AUDIT_READ; the caller says so */
                if (bind(owned, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                        return negative_errno();
        }

        s = source_alloc(e, SOURCE_NETLINK, stats, cb, userdata, NULL, NULL);
        if (!s)
                return -ENOMEM;
        s->losses = losses;
        s->datagrams = malloc((size_t) SOURCE_NETLINK_VEC * SOURCE_SLOT);
        if (!s->datagrams)
                return -ENOMEM;
        r = serial_gaps_new(netlink_on_gap, s, &s->gaps);
        if (r < 0)
                return r;
        r = sd_event_add_time(e, &s->gaps_timer, CLOCK_MONOTONIC, 0, 100 * 1000,
                              netlink_on_gaps_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->gaps_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->gaps_timer, "audit-serial-gaps");
        s->drops_seen_ms = s->drops_read_ms = now_realtime_ms();
        s->drops_read_usec = clock_usec(CLOCK_MONOTONIC);
        r = sd_event_add_time(e, &s->pace_timer, CLOCK_MONOTONIC, 0,
                              SOURCE_NETLINK_PACE_ACCURACY_USEC, netlink_on_pace, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->pace_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->pace_timer, "audit-netlink-pace");

        if (fd >= 0)
                netlink_setup_buffers(fd, true);

        r = sd_event_add_io(e, &s->event_source, fd >= 0 ? fd : owned, EPOLLIN, netlink_on_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->event_source, "audit-netlink");

        /* the passed fd is ours only on success */
        if (fd >= 0)
                s->fd = fd;
        else
                s->fd = TAKE_FD(owned);
        s->own_fd = true;
        /* drops_seen starts at 0, not at the current value: records a socket-activated fd
         * dropped before we were started are lost too */
        s->have_meminfo = netlink_has_meminfo(s->fd);
        int rcvbuf = 0;
        socklen_t l = sizeof(rcvbuf);
        if (getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &l) == 0 && rcvbuf > 0)
                s->pace_usec = netlink_pace_for((uint64_t) rcvbuf);
        stats_set_input(stats, "netlink");
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- file / stdin ---- */

static int file_emit(const char *p, size_t n, void *userdata) {
        Source *s = userdata;

        /* longer than SOURCE_LINE_MAX (NULL): counted once, skipped */
        if (!line_count(p, n, &s->stats->records_received, &s->stats->records_malformed))
                return 0;
        return s->line_cb(p, n, s->userdata);
}

static int file_finish(Source *s) {
        int r = 0;

        /* a last line without a newline */
        r = line_splitter_finish(&s->lines, file_emit, s);
        s->eof = true;
        s->stats->input_eof = true;
        sd_event_source_set_enabled(s->event_source, SD_EVENT_OFF);
        if (r < 0)
                return source_stop(s, r);
        if (s->eof_cb)
                s->eof_cb(s->eof_userdata);
        return 0;
}

/* Reads and handles one chunk. */
static int file_step(Source *s) {
        ssize_t n;
        int r;

        if (s->eof)
                return 0;
        if (s->gz) {
                int z = gzread(s->gz, s->chunk, SOURCE_FILE_CHUNK);
                if (z < 0) {
                        int e;
                        const char *why = gzerror(s->gz, &e);
                        log_error("Failed to decompress the input: %s", why);
                        return source_stop(s, e == Z_ERRNO ? negative_errno() : -EBADMSG);
                }
                n = z;
        } else
                n = read(s->fd, s->chunk, SOURCE_FILE_CHUNK);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                r = negative_errno();
                log_error_errno(r, "Failed to read the input: %m");
                return source_stop(s, r);
        }
        if (n == 0)
                return file_finish(s);
        r = line_splitter_feed(&s->lines, s->chunk, (size_t) n, file_emit, s);
        if (r < 0)
                return source_stop(s, r);
        return 0;
}

static int file_on_defer(sd_event_source *es, void *userdata) {
        return file_step(userdata);
}

static int file_on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        /* EPOLLHUP with data left still reads the data first; read() returns 0 after it */
        return file_step(userdata);
}

/* fd: ours to close (own) or not; on failure it is left open. */
static int source_new_from_fd(sd_event *e, int fd, bool own, SourceStats *stats, source_line_cb cb,
                              void *userdata, source_eof_cb eof, void *eof_userdata, Source **ret) {
        _cleanup_(source_freep) Source *s = NULL;
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;

        s = source_alloc(e, S_ISREG(st.st_mode) ? SOURCE_FILE : SOURCE_STREAM, stats, cb, userdata,
                         eof, eof_userdata);
        if (!s)
                return -ENOMEM;
        s->chunk = malloc(SOURCE_FILE_CHUNK);
        if (!s->chunk || line_splitter_init(&s->lines, SOURCE_LINE_MAX) < 0)
                return -ENOMEM;
        s->fd = fd;

        if (s->kind == SOURCE_STREAM) {
                r = fd_set_nonblock(s->fd);
                if (r < 0)
                        return r;
                r = sd_event_add_io(e, &s->event_source, s->fd, EPOLLIN, file_on_io, s);
                if (r == -EPERM)
                        /* not pollable (/dev/null, some character devices): reads never block
                         * for long on those, treat it like a file */
                        s->kind = SOURCE_FILE;
                else if (r < 0)
                        return r;
        }
        if (s->kind == SOURCE_FILE) {
                /* A compressed rotation (audit.log.2.gz) is read as its text. */
                unsigned char magic[2];
                if (pread(fd, magic, sizeof(magic), 0) == (ssize_t) sizeof(magic) &&
                    magic[0] == 0x1f && magic[1] == 0x8b) {
                        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                        if (copy < 0)
                                return negative_errno();
                        s->gz = gzdopen(copy, "rb");
                        if (!s->gz) {
                                close(copy);
                                return -ENOMEM;
                        }
                }
                r = sd_event_add_defer(e, &s->event_source, file_on_defer, s);
                if (r < 0)
                        return r;
                r = sd_event_source_set_priority(s->event_source, SOURCE_FILE_PRIORITY);
                if (r < 0)
                        return r;
                r = sd_event_source_set_enabled(s->event_source, SD_EVENT_ON);
                if (r < 0)
                        return r;
        }
        (void) sd_event_source_set_description(s->event_source, "audit-input");

        s->own_fd = own;
        *ret = TAKE_PTR(s);
        return 0;
}

int source_new_file(sd_event *e, const char *path, SourceStats *stats, source_line_cb cb,
                    void *userdata, source_eof_cb eof, void *eof_userdata, Source **ret) {
        _cleanup_(closep) int fd = -EBADF;
        bool is_stdin;
        int r;

        if (!e || !path || !stats || !cb || !ret)
                return -EINVAL;

        is_stdin = strcmp(path, "-") == 0;
        if (!is_stdin) {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return negative_errno();
        }
        /* stdin stays open: it is not ours to close */
        r = source_new_from_fd(e, is_stdin ? STDIN_FILENO : fd, !is_stdin, stats, cb, userdata, eof,
                               eof_userdata, ret);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        stats_set_input(stats, is_stdin ? "stdin" : "file");
        return 0;
}

int source_new_file_fd(sd_event *e, int fd, SourceStats *stats, source_line_cb cb, void *userdata,
                       source_eof_cb eof, void *eof_userdata, Source **ret) {
        int r;

        if (!e || fd < 0 || !stats || !cb || !ret)
                return -EINVAL;
        r = source_new_from_fd(e, fd, true, stats, cb, userdata, eof, eof_userdata, ret);
        if (r < 0)
                return r;
        stats_set_input(stats, "file");
        return 0;
}
