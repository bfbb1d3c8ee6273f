/* SPDX-License-Identifier: MIT */
/* Varlink message framing and the few message shapes every Varlink peer builds.
 *
 * A Varlink stream is a sequence of JSON objects, each followed by a NUL byte. The reader keeps
 * one buffer per connection; it never holds more than one pending (incomplete) message, and that
 * one is bounded by max_message: once more than max_message bytes arrived without a NUL the
 * message is refused, so a peer cannot make us buffer without limit.
 *
 * Messages are parsed strictly (RFC 8259, no comments or trailing commas, valid UTF-8 only, a
 * bounded nesting depth), because the other side is either our own serialiser or an untrusted
 * client. Outgoing strings that came from outside go through varlink_string_new(): json-c would
 * pass invalid UTF-8 and DEL through raw, which a strict Varlink peer (systemd's sd-json, Python)
 * refuses, so we escape them ourselves. */

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <json-c/printbuf.h>

#include "macro.h"
#include "strutil.h"
#include "varlink.h"

#define VARLINK_BUFFER_INITIAL 4096 /* first allocation; grows by doubling up to the bound */
#define VARLINK_DEPTH_MAX 32        /* nesting depth of a message; ours need 5 */

struct VarlinkReader {
        char *buf;
        size_t size;        /* allocated */
        size_t start, end;  /* unconsumed bytes are buf[start..end) */
        size_t scanned;     /* bytes after start already known to hold no NUL */
        size_t max_message; /* longest message without its NUL */
        bool broken;
};

int varlink_reader_new(size_t max_message, VarlinkReader **ret) {
        if (max_message < 2 || max_message >= SIZE_MAX / 4)
                return -EINVAL;

        VarlinkReader *r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->max_message = max_message;
        *ret = r;
        return 0;
}

VarlinkReader *varlink_reader_free(VarlinkReader *r) {
        if (!r)
                return NULL;
        free(r->buf);
        free(r);
        return NULL;
}

void *varlink_reader_space(VarlinkReader *r, size_t *ret_size) {
        if (r->start == r->end)
                r->start = r->end = r->scanned = 0;

        if (r->end == r->size && r->start > 0) {
                memmove(r->buf, r->buf + r->start, r->end - r->start);
                r->end -= r->start;
                r->start = 0;
        }

        if (r->end == r->size) {
                /* A caller that drains varlink_reader_next() after each read never has more
                 * than max_message + 1 bytes here; growing past that only happens for a caller
                 * that reads without draining, and next() reports the oversized message. */
                size_t bound = r->max_message + 1;
                size_t n = r->size == 0      ? MIN((size_t) VARLINK_BUFFER_INITIAL, bound)
                           : r->size < bound ? MIN(r->size * 2, bound)
                                             : r->size + VARLINK_BUFFER_INITIAL;
                char *b = realloc(r->buf, n);
                if (!b) {
                        /* No memory: offer nothing new but still a valid byte; the caller's
                         * read then fills what next() will refuse as too long. */
                        *ret_size = r->size > r->end ? r->size - r->end : 0;
                        return r->buf ? r->buf + r->end : NULL;
                }
                r->buf = b;
                r->size = n;
        }

        *ret_size = r->size - r->end;
        return r->buf + r->end;
}

void varlink_reader_advance(VarlinkReader *r, size_t n) {
        r->end += MIN(n, r->size - r->end);
}

size_t varlink_reader_buffered(const VarlinkReader *r) {
        return r->end - r->start;
}

int varlink_parse_message(const char *text, size_t len, json_object **ret) {
        json_tokener *tok = json_tokener_new_ex(VARLINK_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

        json_object *o = json_tokener_parse_ex(tok, text, (int) len);
        enum json_tokener_error err = json_tokener_get_error(tok);
        size_t consumed = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        /* A complete value, and nothing but white space after it. */
        if (!o || err != json_tokener_success)
                goto bad;
        for (size_t i = consumed; i < len; i++)
                if (!strchr(" \t\r\n", text[i]))
                        goto bad;
        if (!json_object_is_type(o, json_type_object))
                goto bad;

        *ret = o;
        return 0;
bad:
        json_object_put(o);
        return -EBADMSG;
}

int varlink_reader_next(VarlinkReader *r, json_object **ret) {
        const char *text;
        size_t len;
        json_object *o = NULL;

        int k = varlink_reader_next_text(r, &text, &len);
        if (k <= 0)
                return k;
        k = varlink_parse_message(text, len, &o);
        if (k < 0) {
                r->broken = true;
                return k;
        }
        *ret = o;
        return 1;
}

int varlink_reader_next_text(VarlinkReader *r, const char **ret, size_t *ret_len) {
        if (r->broken)
                return -EBADMSG;

        size_t pending = r->end - r->start;
        char *nul = pending > r->scanned
                            ? memchr(r->buf + r->start + r->scanned, 0, pending - r->scanned)
                            : NULL;
        if (!nul) {
                r->scanned = pending;
                if (pending > r->max_message) {
                        r->broken = true;
                        return -EMSGSIZE;
                }
                return 0;
        }

        size_t len = (size_t) (nul - (r->buf + r->start));
        if (len > r->max_message) {
                r->broken = true;
                return -EMSGSIZE;
        }

        *ret = r->buf + r->start;
        *ret_len = len;
        r->start += len + 1;
        r->scanned = 0;
        return 1;
}

int varlink_serialize(json_object *o, char **ret, size_t *ret_len) {
        size_t len = 0;
        const char *text = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!text)
                return -ENOMEM;

        char *b = malloc(len + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b, text, len);
        b[len] = 0;
        *ret = b;
        *ret_len = len + 1;
        return 0;
}

json_object *varlink_error_new(const char *name, json_object *params) {
        json_object *o = json_object_new_object();
        if (!o) {
                json_object_put(params);
                return NULL;
        }
        if (!params)
                params = json_object_new_object();
        if (!params || json_object_object_add(o, "error", json_object_new_string(name)) < 0 ||
            json_object_object_add(o, "parameters", params) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

json_object *varlink_reply_new(json_object *params, bool continues) {
        json_object *o = json_object_new_object();
        if (!o) {
                json_object_put(params);
                return NULL;
        }
        if (!params)
                params = json_object_new_object();
        if (!params || json_object_object_add(o, "parameters", params) < 0) {
                json_object_put(o);
                return NULL;
        }
        if (continues &&
            json_object_object_add(o, "continues", json_object_new_boolean(true)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int append_escape(struct printbuf *pb, uint32_t cp) {
        static const char hex[] = "0123456789abcdef";
        char e[6] = {'\\',
                     'u',
                     hex[(cp >> 12) & 0xf],
                     hex[(cp >> 8) & 0xf],
                     hex[(cp >> 4) & 0xf],
                     hex[cp & 0xf]};
        return printbuf_memappend(pb, e, sizeof(e));
}

bool varlink_char_escaped(uint32_t cp) {
        return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
               unicode_is_bidi_control(cp);
}

/* The opening quote and the plain head of a string: printable ASCII, quotes, backslashes,
 * newlines and tabs, written straight into pb's buffer (at most two bytes a byte, room made once)
 * instead of one printbuf_memappend() per run between escapes: a raw audit record has a quote
 * every few words and a newline per record. The runs between those are found and copied in
 * one pass (json_plain_copy(): its room is the 2 bytes a byte made above). When that is all of s,
 * the closing quote too (*ret_closed). Returns how many bytes of s it wrote, -1 without memory;
 * the rest (from a control character or a non-ASCII byte on) goes through the loop of
 * varlink_string_append(). */
static ssize_t append_plain(struct printbuf *pb, const unsigned char *s, size_t len,
                            bool *ret_closed) {
        *ret_closed = false;
        if (len > INT_MAX / 4 ||
            pb->bpos > INT_MAX / 4) /* the loop's printbuf_memappend() decides */
                return printbuf_memappend(pb, "\"", 1) < 0 ? -1 : 0;
        int need = (int) (2 * len + 3), at = pb->bpos;
        if (pb->size - pb->bpos < need) {
                /* printbuf has no call that only grows it: grow by writing, then take back. */
                if (printbuf_memset(pb, at, 0, need) < 0)
                        return -1;
                pb->bpos = at;
        }
        char *o = pb->buf + pb->bpos;
        size_t i = 0;
        *o++ = '"';
        for (;;) {
                size_t n = json_plain_copy(o, (const char *) s + i, len - i);
                o += n;
                i += n;
                if (i == len)
                        break;
                char e;
                if (s[i] == '"' || s[i] == '\\')
                        e = (char) s[i];
                else if (s[i] == '\n')
                        e = 'n';
                else if (s[i] == '\t')
                        e = 't';
                else
                        break;
                *o++ = '\\';
                *o++ = e;
                i++;
        }
        if (i == len) {
                *o++ = '"';
                *ret_closed = true;
        }
        pb->bpos = (int) (o - pb->buf);
        *o = 0;
        return (ssize_t) i;
}

int varlink_string_append(struct printbuf *pb, const char *text, size_t len) {
        const unsigned char *s = (const unsigned char *) text;
        size_t i = 0, run = 0; /* run: bytes at s[i - run .. i) to copy as they are */
        ssize_t plain;
        bool closed;

#define FLUSH_RUN()                                                                                \
        do {                                                                                       \
                if (run > 0 && printbuf_memappend(pb, (const char *) s + i - run, (int) run) < 0)  \
                        return -1;                                                                 \
                run = 0;                                                                           \
        } while (0)

        plain = append_plain(pb, s, len, &closed);
        if (plain < 0)
                return -1;
        if (closed)
                return 0;
        i = (size_t) plain;
        while (i < len) {
                uint32_t cp;
                const char *shortform = NULL;

                /* Printable ASCII is most of every string (a raw audit record is all of it):
                 * copied as it is without decoding. */
                size_t plain_run = json_plain_span((const char *) s + i, len - i);
                if (plain_run > 0) {
                        run += plain_run;
                        i += plain_run;
                        continue;
                }
                size_t n = s[i] == 0 ? 1 : utf8_decode_char(s + i, &cp);

                if (s[i] == 0)
                        cp = 0;
                if (n == 0) {
                        /* Not UTF-8: the byte's value as a code point (Latin-1). */
                        FLUSH_RUN();
                        if (append_escape(pb, s[i]) < 0)
                                return -1;
                        i++;
                        continue;
                }
                switch (cp) {
                case '"':
                        shortform = "\\\"";
                        break;
                case '\\':
                        shortform = "\\\\";
                        break;
                case '\n':
                        shortform = "\\n";
                        break;
                case '\r':
                        shortform = "\\r";
                        break;
                case '\t':
                        shortform = "\\t";
                        break;
                case '\b':
                        shortform = "\\b";
                        break;
                case '\f':
                        shortform = "\\f";
                        break;
                }
                if (shortform || varlink_char_escaped(cp)) {
                        FLUSH_RUN();
                        if ((shortform ? printbuf_memappend(pb, shortform, 2)
                                       : append_escape(pb, cp)) < 0)
                                return -1;
                        i += n;
                        continue;
                }
                i += n;
                run += n;
        }
        FLUSH_RUN();
#undef FLUSH_RUN
        return printbuf_memappend(pb, "\"", 1) < 0 ? -1 : 0;
}

static int string_to_json_escaped(json_object *jso, struct printbuf *pb, int level, int flags) {
        return varlink_string_append(pb, json_object_get_string(jso),
                                     (size_t) json_object_get_string_len(jso));
}

json_object *varlink_string_new(const char *s) {
        if (!s)
                return NULL;
        json_object *o = json_object_new_string(s);
        if (!o)
                return NULL;
        json_object_set_serializer(o, string_to_json_escaped, NULL, NULL);
        return o;
}

void varlink_escape_strings(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_string:
                json_object_set_serializer(o, string_to_json_escaped, NULL, NULL);
                break;
        case json_type_array:
                for (size_t i = 0, n = json_object_array_length(o); i < n; i++)
                        varlink_escape_strings(json_object_array_get_idx(o, i));
                break;
        case json_type_object: {
                struct json_object_iterator it = json_object_iter_begin(o);
                struct json_object_iterator end = json_object_iter_end(o);
                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
                        varlink_escape_strings(json_object_iter_peek_value(&it));
                break;
        }
        default:
                break;
        }
}
