/* SPDX-License-Identifier: MIT */
/* The text of an injected AUDIT_USER_AVC denial, written exactly like the kernel's own AVC
 * records (security/selinux/avc.c + security/lsm_audit.c) so that the one record grammar parses
 * both: "avc:  denied  { perm ... } for  pid=N comm=... scontext=... tcontext=... tclass=...".
 *
 * Untrusted-looking strings (comm, name, path) are encoded the way audit_log_untrustedstring()
 * does: "quoted" when every byte is printable ASCII other than '"' and space, else upper-case hex.
 * Contexts, class and permissions are checked against a loose character set instead of being
 * encoded: the kernel prints them raw, so a space or quote in them would change how the record
 * splits into fields, and the injector must never emit a record that parses as something else. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "user-avc.h"

/* An appender over a caller's buffer that remembers overflow instead of failing each call. */
typedef struct Writer {
        char *buf;
        size_t size, len;
        bool overflow;
} Writer;

static void writer_put(Writer *w, const char *s, size_t n) {
        if (w->overflow)
                return;
        /* keep room for the terminating NUL */
        if (n >= w->size - w->len) {
                w->overflow = true;
                return;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
}

static void writer_puts(Writer *w, const char *s) {
        writer_put(w, s, strlen(s));
}

static void writer_printf(Writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void writer_printf(Writer *w, const char *fmt, ...) {
        char tmp[64];
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (r < 0 || (size_t) r >= sizeof(tmp)) {
                w->overflow = true;
                return;
        }
        writer_put(w, tmp, (size_t) r);
}

/* As the kernel's audit_string_contains_control(): anything outside 0x21..0x7e, or '"'. */
static bool needs_hex(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p == '"' || *p < 0x21 || *p > 0x7e)
                        return true;
        return false;
}

static void writer_put_untrusted(Writer *w, const char *key, const char *value) {
        static const char hex[] = "0123456789ABCDEF";

        writer_put(w, " ", 1);
        writer_puts(w, key);
        writer_put(w, "=", 1);
        if (!needs_hex(value)) {
                writer_put(w, "\"", 1);
                writer_puts(w, value);
                writer_put(w, "\"", 1);
                return;
        }
        for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
                char pair[2] = {hex[*p >> 4], hex[*p & 0xf]};
                writer_put(w, pair, 2);
        }
}

static bool is_context_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == ':' || c == ',' || c == '-';
}

static bool is_word_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_';
}

static bool context_chars_ok(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (!is_context_char(*s))
                        return false;
        return true;
}

static bool word_ok(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (!is_word_char(*s))
                        return false;
        return true;
}

/* Writes " perm1 perm2" from a space separated list; -EINVAL when empty or a permission holds
 * anything but word characters (permission names are C identifiers in every policy). */
static int writer_put_permissions(Writer *w, const char *perms) {
        size_t count = 0;

        if (!perms)
                return -EINVAL;
        for (const char *p = perms; *p;) {
                size_t n;

                if (*p == ' ') {
                        p++;
                        continue;
                }
                n = strcspn(p, " ");
                for (size_t i = 0; i < n; i++)
                        if (!is_word_char(p[i]))
                                return -EINVAL;
                writer_put(w, " ", 1);
                writer_put(w, p, n);
                count++;
                p += n;
        }
        return count > 0 ? 0 : -EINVAL;
}

int user_avc_format(const UserAvcSpec *s, char *buf, size_t n) {
        Writer w = {.buf = buf, .size = n};
        int r;

        if (!s || !buf)
                return -EINVAL;
        if (!context_chars_ok(s->scontext) || !context_chars_ok(s->tcontext) || !word_ok(s->tclass))
                return -EINVAL;
        if (n == 0)
                return -ENOBUFS;
        buf[0] = '\0';

        /* Two blanks after "avc:" and "denied", and "for " followed by " key=" per field: the
         * kernel's spacing, which some tools (setroubleshoot, audit2allow) match literally. */
        writer_puts(&w, "avc:  denied  {");
        r = writer_put_permissions(&w, s->permissions);
        if (r < 0)
                return r;
        writer_puts(&w, " } for ");
        if (s->pid >= 0)
                writer_printf(&w, " pid=%" PRId64, s->pid);
        if (s->comm)
                writer_put_untrusted(&w, "comm", s->comm);
        if (s->name)
                writer_put_untrusted(&w, "name", s->name);
        if (s->path)
                writer_put_untrusted(&w, "path", s->path);
        writer_puts(&w, " scontext=");
        writer_puts(&w, s->scontext);
        writer_puts(&w, " tcontext=");
        writer_puts(&w, s->tcontext);
        writer_puts(&w, " tclass=");
        writer_puts(&w, s->tclass);
        if (s->permissive >= 0)
                writer_printf(&w, " permissive=%d", s->permissive ? 1 : 0);

        if (w.overflow)
                return -ENOBUFS;
        return (int) w.len;
}
