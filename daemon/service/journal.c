/* SPDX-License-Identifier: MIT */
/* Journal forwarding over journald's native protocol, written here rather than through
 * sd_journal_send() because:
 * - the socket path must be replaceable by a test (AVCWATCH_JOURNAL_SOCKET), which sd-journal
 *   does not allow, and a test must see the exact bytes;
 * - sending must never block the event loop. sd_journal_send() blocks when journald's queue is
 *   full, and one committed batch means thousands of entries at once: far more than journald's
 *   socket queue holds (net.unix.max_dgram_qlen, 512 under systemd, 10 without).
 *
 * So the socket is non-blocking and connected: on a connected datagram socket, EPOLLOUT waits
 * for room in journald's queue. An entry journald cannot take at once waits in our own bounded
 * queue (JOURNAL_QUEUE_MAX entries, JOURNAL_QUEUE_BYTES_MAX bytes), sent in order from the event
 * loop as journald catches up. Past the bound, or when journald is not there, entries are
 * dropped and counted (journal_failed); the failure is logged at most once a minute. A
 * restarted journald has a new socket: a send that finds the peer gone reconnects once.
 *
 * Protocol (systemd's "Native Journal Protocol"): one datagram per entry, fields as
 * "KEY=VALUE\n"; a value with a newline (we go further: any control byte, NUL or invalid UTF-8)
 * uses the binary form "KEY\n" + little-endian 64-bit length + bytes + "\n". An entry too large
 * for a datagram (EMSGSIZE, or ENOBUFS from the socket buffer) is written to a memfd, sealed
 * against changes, and its fd passed with SCM_RIGHTS in an empty datagram, as sd_journal_sendv
 * does. Values from containers (comm, path, names) are hostile: the binary form keeps them
 * byte-exact, and only the MESSAGE= summary is escaped for terminals. */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "timeparse.h"
#include "journal.h"
#include "log.h"
#include "signature.h"
#include "strutil.h"
#include "verdict.h"

#define CONTAINER_ID_SHORT 12 /* Docker's short id, as its journald driver's CONTAINER_ID= */

typedef struct QueuedEntry {
        struct QueuedEntry *next;
        size_t len;
        char data[];
} QueuedEntry;

struct JournalWriter {
        int fd; /* connected to the journal, or -EBADF until the next send */
        int sndbuf;
        struct sockaddr_un address;
        socklen_t address_len;
        /* the queue: only with an event loop (journal_writer_attach_event) */
        sd_event_source *io;    /* EPOLLOUT, enabled while the queue is not empty ... */
        sd_event_source *retry; /* ... unless backing off: see on_writable() */
        bool backing_off;
        JournalStats *stats;
        QueuedEntry *head, *tail;
        size_t n_queued, queued_bytes;
        uint64_t failed_unlogged;
        uint64_t last_log_usec;
        bool logged;
};

static bool field_name_valid(const char *field) {
        size_t n = strlen(field);

        /* journald: [A-Z0-9_], not starting with a digit; a leading '_' is a trusted field that
         * clients may not set. */
        if (n == 0 || n > JOURNAL_FIELD_NAME_MAX || field[0] == '_' ||
            (field[0] >= '0' && field[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((field[i] >= 'A' && field[i] <= 'Z') ||
                      (field[i] >= '0' && field[i] <= '9') || field[i] == '_'))
                        return false;
        return true;
}

/* Whether a value can go in the text form and shows as text in journalctl: printable UTF-8
 * without controls. */
static bool value_is_plain(const char *v, size_t len) {
        const unsigned char *p = (const unsigned char *) v, *end = p + len;

        while (p < end) {
                uint32_t cp;
                size_t n;

                if (*p == 0)
                        return false;
                n = utf8_decode_char(p, &cp);
                if (n == 0 || n > (size_t) (end - p))
                        return false;
                if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
                        return false;
                p += n;
        }
        return true;
}

static int entry_reserve(JournalEntry *e, size_t extra) {
        size_t need;

        if (extra > JOURNAL_ENTRY_MAX || e->len + extra > JOURNAL_ENTRY_MAX)
                return -E2BIG;
        need = e->len + extra;
        if (need <= e->allocated)
                return 0;
        size_t a = MAX(need, MAX(e->allocated * 2, (size_t) 1024));
        a = MIN(a, (size_t) JOURNAL_ENTRY_MAX);
        char *b = realloc(e->buf, a);
        if (!b)
                return -ENOMEM;
        e->buf = b;
        e->allocated = a;
        return 0;
}

int journal_entry_add(JournalEntry *e, const char *field, const char *value, size_t len) {
        size_t flen;
        int r;

        if (!e || !field || (!value && len > 0))
                return -EINVAL;
        if (!field_name_valid(field))
                return -EINVAL;
        flen = strlen(field);

        if (value_is_plain(value, len)) {
                r = entry_reserve(e, flen + 1 + len + 1);
                if (r < 0)
                        return r;
                memcpy(e->buf + e->len, field, flen);
                e->buf[e->len + flen] = '=';
                memcpy(e->buf + e->len + flen + 1, value, len);
                e->buf[e->len + flen + 1 + len] = '\n';
                e->len += flen + 1 + len + 1;
        } else {
                uint64_t le = htole64((uint64_t) len);

                r = entry_reserve(e, flen + 1 + sizeof(le) + len + 1);
                if (r < 0)
                        return r;
                char *p = e->buf + e->len;
                memcpy(p, field, flen);
                p += flen;
                *p++ = '\n';
                memcpy(p, &le, sizeof(le));
                p += sizeof(le);
                memcpy(p, value, len);
                p += len;
                *p++ = '\n';
                e->len = p - e->buf;
        }
        e->n_fields++;
        return 0;
}

int journal_entry_add_string(JournalEntry *e, const char *field, const char *value) {
        if (!value)
                return 0; /* unknown: left out, as journald has no null */
        return journal_entry_add(e, field, value, strlen(value));
}

void journal_entry_done(JournalEntry *e) {
        if (!e)
                return;
        free(e->buf);
        *e = (JournalEntry){};
}

size_t journal_escape(const char *s, char *buf, size_t n, bool *ret_truncated) {
        const unsigned char *p = (const unsigned char *) s;
        size_t len = 0;
        bool truncated = false;

        if (n == 0)
                return 0;
        while (*p) {
                char esc[16];
                size_t k;
                uint32_t cp;
                size_t c = utf8_decode_char(p, &cp);

                if (c == 0) {
                        snprintf(esc, sizeof(esc), "\\x%02x", *p);
                        k = strlen(esc);
                        c = 1;
                } else if (cp == '\n') {
                        memcpy(esc, "\\n", k = 2);
                } else if (cp == '\t') {
                        memcpy(esc, "\\t", k = 2);
                } else if (cp == '\\' || cp == '"') {
                        esc[0] = '\\';
                        esc[1] = (char) cp;
                        k = 2;
                } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
                        /* C1 controls are two bytes in UTF-8: show each */
                        k = 0;
                        for (size_t i = 0; i < c; i++)
                                k += snprintf(esc + k, sizeof(esc) - k, "\\x%02x", p[i]);
                } else {
                        memcpy(esc, p, c);
                        k = c;
                }
                if (len + k >= n) {
                        truncated = true;
                        break;
                }
                memcpy(buf + len, esc, k);
                len += k;
                p += c;
        }
        buf[len] = 0;
        if (ret_truncated)
                *ret_truncated = truncated;
        return len;
}

/* The MESSAGE= summary, bounded by JOURNAL_MESSAGE_MAX with "..." when cut. */
typedef struct Summary {
        char buf[JOURNAL_MESSAGE_MAX + 1];
        size_t len;
        bool cut;
} Summary;

#define SUMMARY_ELLIPSIS "..."

static void summary_add(Summary *m, const char *s, bool escape) {
        size_t room = JOURNAL_MESSAGE_MAX + 1 - strlen(SUMMARY_ELLIPSIS) - m->len;
        bool truncated = false;

        if (m->cut || !s)
                return;
        if (escape)
                m->len += journal_escape(s, m->buf + m->len, room, &truncated);
        else {
                size_t n = strlen(s);
                if (n >= room) {
                        n = room - 1;
                        truncated = true;
                }
                memcpy(m->buf + m->len, s, n);
                m->len += n;
                m->buf[m->len] = 0;
        }
        if (truncated) {
                m->cut = true;
                memcpy(m->buf + m->len, SUMMARY_ELLIPSIS, sizeof(SUMMARY_ELLIPSIS));
                m->len += strlen(SUMMARY_ELLIPSIS);
        }
}

static void summary_of_denial(const Denial *d, Summary *m) {
        ContainerRef level;
        char pid[32];

        *m = (Summary){};
        if (d->has_container) {
                char short_id[CONTAINER_ID_SHORT + 1] = "";
                if (d->container.id)
                        snprintf(short_id, sizeof(short_id), "%s", d->container.id);
                summary_add(m, "container ", false);
                if (d->container.name) {
                        summary_add(m, d->container.name, true);
                        if (short_id[0]) {
                                summary_add(m, " (", false);
                                summary_add(m, short_id, true);
                                summary_add(m, ")", false);
                        }
                } else
                        summary_add(m, short_id[0] ? short_id : "?", true);
                if (d->container.image) {
                        summary_add(m, " image ", false);
                        summary_add(m, d->container.image, true);
                }
                if (d->attribution == ATTRIBUTION_AMBIGUOUS)
                        summary_add(m, " (ambiguous)", false);
        } else if (denial_level_ref(d, &level)) {
                /* named at its pod ("pod NS/POD") or its namespace */
                summary_add(m, level.pod ? "pod " : "namespace ", false);
                if (level.pod_namespace)
                        summary_add(m, level.pod_namespace, true);
                if (level.pod) {
                        if (level.pod_namespace)
                                summary_add(m, "/", false);
                        summary_add(m, level.pod, true);
                }
        } else
                summary_add(m, "unattributed", false);
        summary_add(m, ": ", false);
        summary_add(m, d->result ? d->result : "denied", true);
        summary_add(m, " { ", false);
        summary_add(m, d->permissions ? d->permissions : "?", true);
        summary_add(m, " } for", false);
        if (d->pid >= 0) {
                snprintf(pid, sizeof(pid), " pid=%" PRId64, d->pid);
                summary_add(m, pid, false);
        }
        if (d->comm) {
                summary_add(m, " comm=\"", false);
                summary_add(m, d->comm, true);
                summary_add(m, "\"", false);
        }
        if (d->path || d->name) {
                summary_add(m, d->path ? " path=\"" : " name=\"", false);
                summary_add(m, d->path ? d->path : d->name, true);
                summary_add(m, "\"", false);
        }
        summary_add(m, " scontext=", false);
        summary_add(m, d->scontext ? d->scontext : "?", true);
        summary_add(m, " tcontext=", false);
        summary_add(m, d->tcontext ? d->tcontext : "?", true);
        summary_add(m, " tclass=", false);
        summary_add(m, d->tclass ? d->tclass : "?", true);
}

/* The entry of a denial (new: of a new denial, signature.h's baseline named in MESSAGE= and
 * AVCWATCH_BASELINE*=). */
static int entry_from_denial(const Denial *d, bool new, JournalEntry *ret) {
        _cleanup_(journal_entry_done) JournalEntry e = {};
        _cleanup_(freep) Summary *m = NULL;
        char num[32], time_text[64], baseline[BASELINE_KEY_MAX];
        BaselineScope scope = _BASELINE_SCOPE_MAX;
        int r = 0;

        if (!d || !ret)
                return -EINVAL;
        m = malloc(sizeof(Summary));
        if (!m)
                return -ENOMEM;
        if (new) {
                Summary *rest = malloc(sizeof(Summary));
                if (!rest)
                        return -ENOMEM;
                scope = denial_baseline_key(d, baseline, sizeof(baseline));
                summary_of_denial(d, rest);
                *m = (Summary){};
                summary_add(m, "new denial for ", false);
                summary_add(m, baseline_scope_to_string(scope), false);
                if (baseline[0]) {
                        summary_add(m, " ", false);
                        summary_add(m, baseline, true);
                }
                summary_add(m, ": ", false);
                summary_add(m, rest->buf, false); /* escaped already */
                free(rest);
        } else
                summary_of_denial(d, m);

#define ADD(field, value)                                                                          \
        do {                                                                                       \
                r = journal_entry_add_string(&e, field, value);                                    \
                if (r < 0)                                                                         \
                        return r;                                                                  \
        } while (0)

        ADD("MESSAGE_ID", new ? JOURNAL_NEW_DENIAL_MESSAGE_ID : JOURNAL_DENIAL_MESSAGE_ID);
        ADD("MESSAGE", m->buf);
        bool escape = d->triaged && d->verdict == TRIAGE_VERDICT_ESCAPE;
        snprintf(num, sizeof(num), "%d",
                 new      ? JOURNAL_NEW_DENIAL_PRIORITY
                 : escape ? JOURNAL_ESCAPE_PRIORITY
                          : JOURNAL_DENIAL_PRIORITY);
        ADD("PRIORITY", num);
        ADD("SYSLOG_IDENTIFIER", JOURNAL_SYSLOG_IDENTIFIER);

        /* Docker's journald log driver's names, so that existing queries and shippers work. */
        if (d->has_container) {
                if (d->container.id) {
                        r = journal_entry_add(&e, "CONTAINER_ID", d->container.id,
                                              strnlen(d->container.id, CONTAINER_ID_SHORT));
                        if (r < 0)
                                return r;
                }
                ADD("CONTAINER_ID_FULL", d->container.id);
                ADD("CONTAINER_NAME", d->container.name);
                ADD("IMAGE_NAME", d->container.image);
        }

        format_time_iso8601_ms(d->time_ms, time_text, sizeof(time_text));
        ADD("AVC_TIME", time_text);
        snprintf(num, sizeof(num), "%" PRIu64, d->serial);
        ADD("AVC_SERIAL", num);
        ADD("AVC_RECORD_TYPE", record_type_to_name(d->record_type));
        ADD("AVC_RESULT", d->result);
        ADD("AVC_SCONTEXT", d->scontext);
        ADD("AVC_TCONTEXT", d->tcontext);
        ADD("AVC_TCLASS", d->tclass);
        ADD("AVC_PERMS", d->permissions);
        ADD("AVC_SOURCE_TYPE", d->source_type);
        ADD("AVC_TARGET_TYPE", d->target_type);
        ADD("AVC_MCS", d->mcs);
        if (d->pid >= 0) {
                snprintf(num, sizeof(num), "%" PRId64, d->pid);
                ADD("AVC_PID", num);
        }
        ADD("AVC_COMM", d->comm);
        ADD("AVC_EXE", d->exe);
        ADD("AVC_PATH", d->path ? d->path : d->name);
        ADD("AVC_ATTRIBUTION", attribution_to_string(d->attribution));
        /* a denial named at its pod or namespace: what its candidates share */
        ContainerRef level;
        const ContainerRef *c = d->has_container              ? &d->container
                                : denial_level_ref(d, &level) ? &level
                                                              : NULL;
        if (c) {
                ADD("AVC_CONTAINER_ENGINE", c->engine);
                ADD("AVC_CONTAINER_POD", c->pod);
        }
        if (d->has_target_container) {
                ADD("AVC_TARGET_CONTAINER_ID_FULL", d->target_container.id);
                ADD("AVC_TARGET_CONTAINER_NAME", d->target_container.name);
        }
        /* the event's records as received, for audit2allow / udica straight from the journal */
        ADD("AVC_RAW", d->raw);

        /* For a fleet's log store (docs/fleet.md): what to group, count and alert on. */
        /* AVCWATCH_SIGNATURE: what `avcctl top` groups by, as one stable text a log store can
         * group by across hosts (signature.h) */
        {
                char signature[SIGNATURE_MAX];
                if (denial_signature(d, signature, sizeof(signature)) > 0)
                        ADD("AVCWATCH_SIGNATURE", signature);
        }
        snprintf(num, sizeof(num), "%" PRIu64, d->count > 0 ? d->count : 1);
        ADD("AVCWATCH_COUNT", num);
        if (c) {
                ADD("AVCWATCH_POD", c->pod);
                ADD("AVCWATCH_NAMESPACE", c->pod_namespace);
        }
        if (d->triaged) {
                ADD("AVCWATCH_REASON", triage_reason_to_string(d->reason));
                ADD("AVCWATCH_VERDICT", triage_verdict_to_string(d->verdict));
        }
        if (new) {
                ADD("AVCWATCH_BASELINE_SCOPE", baseline_scope_to_string(scope));
                if (baseline[0])
                        ADD("AVCWATCH_BASELINE", baseline);
        }
#undef ADD

        *ret = e;
        e = (JournalEntry){};
        return 0;
}

int journal_entry_from_denial(const Denial *d, JournalEntry *ret) {
        return entry_from_denial(d, false, ret);
}

int journal_entry_from_new_denial(const Denial *d, JournalEntry *ret) {
        return entry_from_denial(d, true, ret);
}

int journal_writer_new(const char *socket_path, JournalWriter **ret) {
        _cleanup_(journal_writer_freep) JournalWriter *w = NULL;
        const char *path = socket_path;

        if (!ret)
                return -EINVAL;
        if (!path) {
                path = getenv(JOURNAL_SOCKET_ENV);
                if (!path || !*path)
                        path = JOURNAL_SOCKET_PATH;
        }
        if (path[0] != '/' || strlen(path) >= sizeof(w->address.sun_path))
                return -EINVAL;

        w = calloc(1, sizeof(JournalWriter));
        if (!w)
                return -ENOMEM;
        w->fd = -EBADF;
        w->sndbuf = JOURNAL_SNDBUF;
        w->address.sun_family = AF_UNIX;
        strcpy(w->address.sun_path, path);
        w->address_len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;

        *ret = TAKE_PTR(w);
        return 0;
}

static void writer_disconnect(JournalWriter *w) {
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -EBADF;
}

/* A new socket connected to the journal's, replacing the old one only on success (so that the
 * io source always has an open fd); the io source follows it. */
static int writer_connect(JournalWriter *w) {
        _cleanup_(closep) int fd = -EBADF;
        int r;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        /* The kernel caps this at net.core.wmem_max; what does not fit goes by memfd. */
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &w->sndbuf, sizeof(w->sndbuf));
        if (connect(fd, (struct sockaddr *) &w->address, w->address_len) < 0)
                return negative_errno();
        if (w->io) {
                r = sd_event_source_set_io_fd(w->io, fd);
                if (r < 0)
                        return r;
        }
        writer_disconnect(w);
        w->fd = TAKE_FD(fd);
        return 0;
}

int journal_writer_set_send_buffer(JournalWriter *w, int size) {
        if (!w || size <= 0)
                return -EINVAL;
        w->sndbuf = size;
        if (w->fd >= 0 && setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
                return negative_errno();
        return 0;
}

static int send_via_memfd(JournalWriter *w, const char *data, size_t len) {
        _cleanup_(closep) int fd = -EBADF;
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = {
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *cmsg;
        size_t done = 0;

        fd = memfd_create("avcwatch-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        while (done < len) {
                ssize_t n = write(fd, data + done, len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                done += n;
        }
        /* journald only takes a memfd that can no longer change under it */
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();

        cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        if (sendmsg(w->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                return negative_errno();
        return 0;
}

static int send_once(JournalWriter *w, const char *data, size_t len) {
        if (send(w->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
                return 0;
        if (errno != EMSGSIZE && errno != ENOBUFS)
                return negative_errno();
        return send_via_memfd(w, data, len);
}

static int send_data(JournalWriter *w, const char *data, size_t len) {
        int r;

        if (w->fd < 0) {
                r = writer_connect(w);
                if (r < 0)
                        return r;
        }
        r = send_once(w, data, len);
        if (r == -ECONNREFUSED || r == -ENOTCONN || r == -EDESTADDRREQ || r == -EPIPE ||
            r == -ECONNRESET) {
                /* journald restarted (its socket is a new one), went away, or was not there
                 * when we last tried: connect once more */
                r = writer_connect(w);
                if (r < 0)
                        return r;
                r = send_once(w, data, len);
        }
        return r;
}

int journal_writer_send(JournalWriter *w, const JournalEntry *e) {
        if (!w || !e || e->len == 0)
                return -EINVAL;
        return send_data(w, e->buf, e->len);
}

int journal_writer_send_denial(JournalWriter *w, const Denial *d) {
        _cleanup_(journal_entry_done) JournalEntry e = {};
        int r;

        r = journal_entry_from_denial(d, &e);
        if (r < 0)
                return r;
        return journal_writer_send(w, &e);
}

/* ---- the queue ---- */

static void count_failed(JournalWriter *w, uint64_t n, int error) {
        uint64_t now = now_monotonic_usec();

        if (w->stats)
                w->stats->journal_failed += n;
        w->failed_unlogged += n;
        if (w->logged && now - w->last_log_usec < JOURNAL_FAILURE_LOG_INTERVAL_USEC)
                return;
        log_warning_errno(error,
                          "Failed to forward %" PRIu64 " denial%s to the journal (%m); counted in "
                          "journal_failed, logged at most once a minute.",
                          w->failed_unlogged, w->failed_unlogged == 1 ? "" : "s");
        w->failed_unlogged = 0;
        w->last_log_usec = now;
        w->logged = true;
}

static void update_queued(JournalWriter *w) {
        if (w->stats)
                w->stats->journal_queued = w->n_queued;
        if (!w->io)
                return;
        if (w->n_queued == 0) {
                w->backing_off = false;
                (void) sd_event_source_set_enabled(w->retry, SD_EVENT_OFF);
        }
        (void) sd_event_source_set_enabled(
                w->io, w->n_queued > 0 && !w->backing_off ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void queue_pop(JournalWriter *w) {
        QueuedEntry *q = w->head;

        w->head = q->next;
        if (!w->head)
                w->tail = NULL;
        w->n_queued--;
        w->queued_bytes -= q->len;
        free(q);
}

/* Sends from the head of the queue while journald takes them. A hard error drops the whole
 * queue: journald is not there, and EPOLLOUT would only spin. */
static void queue_flush(JournalWriter *w) {
        while (w->head) {
                int r = send_data(w, w->head->data, w->head->len);
                if (r == -EAGAIN)
                        break;
                if (r < 0) {
                        uint64_t n = w->n_queued;
                        while (w->head)
                                queue_pop(w);
                        count_failed(w, n, r);
                        break;
                }
                queue_pop(w);
                if (w->stats)
                        w->stats->journal_forwarded++;
        }
        update_queued(w);
}

/* EPOLLOUT on a connected datagram socket means room in the peer's queue by count
 * (net.unix.max_dgram_qlen); the peer can still refuse by memory (a small SO_RCVBUF), so
 * "writable" may come with -EAGAIN. Rather than spin on that, wait JOURNAL_RETRY_USEC. */
static int on_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        JournalWriter *w = userdata;
        size_t before = w->n_queued;

        queue_flush(w);
        if (w->n_queued > 0 && w->n_queued == before) {
                w->backing_off = true;
                (void) sd_event_source_set_enabled(w->io, SD_EVENT_OFF);
                (void) sd_event_source_set_time_relative(w->retry, JOURNAL_RETRY_USEC);
                (void) sd_event_source_set_enabled(w->retry, SD_EVENT_ONESHOT);
        }
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        JournalWriter *w = userdata;

        w->backing_off = false;
        update_queued(w);
        return 0;
}

int journal_writer_attach_event(JournalWriter *w, sd_event *e, JournalStats *stats) {
        int r;

        if (!w || !e || w->io)
                return -EINVAL;
        if (w->fd < 0 && writer_connect(w) < 0) {
                /* the io source needs an fd; a journal that is not there yet is fine: the
                 * first send connects this one */
                w->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (w->fd < 0)
                        return negative_errno();
        }
        r = sd_event_add_io(e, &w->io, w->fd, EPOLLOUT, on_writable, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->io, "journal");
        r = sd_event_add_time_relative(e, &w->retry, CLOCK_MONOTONIC, JOURNAL_RETRY_USEC, 0,
                                       on_retry, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(w->retry, SD_EVENT_OFF);
        w->stats = stats;
        update_queued(w);
        return 0;
}

int journal_writer_submit(JournalWriter *w, const JournalEntry *e) {
        QueuedEntry *q;
        int r;

        if (!w || !e || e->len == 0)
                return -EINVAL;
        if (!w->head) {
                r = send_data(w, e->buf, e->len);
                if (r >= 0) {
                        if (w->stats)
                                w->stats->journal_forwarded++;
                        return 0;
                }
                if (r != -EAGAIN || !w->io) {
                        count_failed(w, 1, r);
                        return r;
                }
        }
        /* journald is busy, or others wait already: in line, within the bounds */
        if (w->n_queued >= JOURNAL_QUEUE_MAX ||
            w->queued_bytes + e->len > JOURNAL_QUEUE_BYTES_MAX) {
                count_failed(w, 1, -ENOBUFS);
                return -ENOBUFS;
        }
        q = malloc(offsetof(QueuedEntry, data) + e->len);
        if (!q) {
                count_failed(w, 1, -ENOMEM);
                return -ENOMEM;
        }
        q->next = NULL;
        q->len = e->len;
        memcpy(q->data, e->buf, e->len);
        if (w->tail)
                w->tail->next = q;
        else
                w->head = q;
        w->tail = q;
        w->n_queued++;
        w->queued_bytes += e->len;
        update_queued(w);
        return 0;
}

static int submit_denial(JournalWriter *w, const Denial *d, bool new) {
        _cleanup_(journal_entry_done) JournalEntry e = {};
        int r;

        r = entry_from_denial(d, new, &e);
        if (r < 0) {
                count_failed(w, 1, r);
                return r;
        }
        return journal_writer_submit(w, &e);
}

int journal_writer_submit_denial(JournalWriter *w, const Denial *d) {
        return submit_denial(w, d, false);
}

int journal_writer_submit_new_denial(JournalWriter *w, const Denial *d) {
        return submit_denial(w, d, true);
}

size_t journal_writer_queued(const JournalWriter *w) {
        return w ? w->n_queued : 0;
}

void journal_writer_flush(JournalWriter *w, uint64_t timeout_usec) {
        uint64_t end = now_monotonic_usec() + timeout_usec;

        if (!w)
                return;
        queue_flush(w);
        while (w->head && w->fd >= 0) {
                uint64_t now = now_monotonic_usec();
                if (now >= end)
                        break;
                struct pollfd p = {.fd = w->fd, .events = POLLOUT};
                int ms = (int) ((end - now + 999) / 1000);
                if (poll(&p, 1, ms) < 0 && errno != EINTR)
                        break;
                queue_flush(w);
        }
        if (w->head) {
                uint64_t n = w->n_queued;
                while (w->head)
                        queue_pop(w);
                if (w->stats)
                        w->stats->journal_failed += n;
                log_warning("Journald did not take %" PRIu64 " queued denial%s in time; not "
                            "forwarded.",
                            n, n == 1 ? "" : "s");
                update_queued(w);
        }
}

JournalWriter *journal_writer_free(JournalWriter *w) {
        if (!w)
                return NULL;
        while (w->head)
                queue_pop(w);
        if (w->stats)
                w->stats->journal_queued = 0;
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->retry);
        writer_disconnect(w);
        free(w);
        return NULL;
}
