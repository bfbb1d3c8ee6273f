/* SPDX-License-Identifier: MIT */
/* Journal forwarding over journald's native protocol, written here rather than through
 * sd_journal_send() because:
 * - the socket path must be replaceable by a test (AVCWATCH_JOURNAL_SOCKET), which sd-journal
 *   does not allow, and a test must see the exact bytes;
 * - sending must never block the event loop: the socket is non-blocking and a full journald
 *   queue costs the entry (-EAGAIN, counted by the caller), not the daemon's liveness.
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "denial-json.h"
#include "journal.h"
#include "strutil.h"

#define CONTAINER_ID_SHORT 12 /* Docker's short id, as its journald driver's CONTAINER_ID= */

struct JournalWriter {
        int fd;
        struct sockaddr_un address;
        socklen_t address_len;
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

int journal_entry_from_denial(const Denial *d, JournalEntry *ret) {
        _cleanup_(journal_entry_done) JournalEntry e = {};
        _cleanup_(freep) Summary *m = NULL;
        char num[32], time_text[64];
        int r = 0;

        if (!d || !ret)
                return -EINVAL;
        m = malloc(sizeof(Summary));
        if (!m)
                return -ENOMEM;
        summary_of_denial(d, m);

#define ADD(field, value)                                                                          \
        do {                                                                                       \
                r = journal_entry_add_string(&e, field, value);                                    \
                if (r < 0)                                                                         \
                        return r;                                                                  \
        } while (0)

        ADD("MESSAGE_ID", JOURNAL_DENIAL_MESSAGE_ID);
        ADD("MESSAGE", m->buf);
        snprintf(num, sizeof(num), "%d", JOURNAL_DENIAL_PRIORITY);
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
#undef ADD

        *ret = e;
        e = (JournalEntry){};
        return 0;
}

int journal_writer_new(const char *socket_path, JournalWriter **ret) {
        _cleanup_(journal_writer_freep) JournalWriter *w = NULL;
        const char *path = socket_path;
        int size = JOURNAL_SNDBUF;

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
        w->address.sun_family = AF_UNIX;
        strcpy(w->address.sun_path, path);
        w->address_len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
        w->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (w->fd < 0)
                return negative_errno();
        /* The kernel caps this at net.core.wmem_max; what does not fit goes by memfd. */
        (void) setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));

        *ret = TAKE_PTR(w);
        return 0;
}

JournalWriter *journal_writer_free(JournalWriter *w) {
        if (!w)
                return NULL;
        if (w->fd >= 0)
                close(w->fd);
        free(w);
        return NULL;
}

static int send_via_memfd(JournalWriter *w, const JournalEntry *e) {
        _cleanup_(closep) int fd = -EBADF;
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = {
                .msg_name = &w->address,
                .msg_namelen = w->address_len,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *cmsg;
        size_t done = 0;

        fd = memfd_create("avcwatch-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        while (done < e->len) {
                ssize_t n = write(fd, e->buf + done, e->len - done);
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

int journal_writer_send(JournalWriter *w, const JournalEntry *e) {
        if (!w || !e || e->len == 0)
                return -EINVAL;
        if (sendto(w->fd, e->buf, e->len, MSG_NOSIGNAL | MSG_DONTWAIT,
                   (struct sockaddr *) &w->address, w->address_len) >= 0)
                return 0;
        if (errno != EMSGSIZE && errno != ENOBUFS)
                return negative_errno();
        return send_via_memfd(w, e);
}

int journal_writer_send_denial(JournalWriter *w, const Denial *d) {
        _cleanup_(journal_entry_done) JournalEntry e = {};
        int r;

        r = journal_entry_from_denial(d, &e);
        if (r < 0)
                return r;
        return journal_writer_send(w, &e);
}
