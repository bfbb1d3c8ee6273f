/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 response parser for the container engines' APIs (Docker Engine API, Podman's
 * compatible API) over AF_UNIX.
 *
 * Decisions:
 * - Only what those servers send is interpreted: the status code, Content-Length and
 *   Transfer-Encoding: chunked. Other headers are skipped but count toward HTTP_HEAD_MAX.
 * - The engine is trusted no more than any other input: a head longer than HTTP_HEAD_MAX, a
 *   chunk-size line longer than HTTP_CHUNK_LINE_MAX, a chunk larger than HTTP_CHUNK_SIZE_MAX,
 *   conflicting Content-Length headers or a missing CRLF after chunk data are errors, never
 *   undefined behaviour. How much body the caller accepts is the caller's bound (the callback
 *   sees every byte and can refuse).
 * - Lines end in CRLF; a bare LF is accepted too (lenient in what we accept from a local peer,
 *   at no cost to safety).
 * - 1xx interim responses are skipped; 204 and 304 have no body. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

void http_response_init(HttpResponse *r) {
        r->state = HTTP_STATE_HEAD;
        r->status = 0;
        r->chunked = false;
        r->libpod = false;
        r->content_length = -1;
        r->remaining = 0;
        r->body_bytes = 0;
        r->line_len = 0;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t';
}

/* Value of a header line "Name: value" when the name matches, trimmed, as (start, length). */
static bool header_match(const char *line, size_t len, const char *name, const char **ret_value,
                         size_t *ret_len) {
        size_t n = strlen(name);

        if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
                return false;
        const char *v = line + n + 1, *end = line + len;
        while (v < end && is_space(*v))
                v++;
        while (end > v && is_space(end[-1]))
                end--;
        *ret_value = v;
        *ret_len = (size_t) (end - v);
        return true;
}

static int parse_u64(const char *s, size_t len, int base, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                int d;
                char c = s[i];
                if (c >= '0' && c <= '9')
                        d = c - '0';
                else if (base == 16 && c >= 'a' && c <= 'f')
                        d = c - 'a' + 10;
                else if (base == 16 && c >= 'A' && c <= 'F')
                        d = c - 'A' + 10;
                else
                        return -EBADMSG;
                if (v > (max - (uint64_t) d) / (uint64_t) base)
                        return -EBADMSG;
                v = v * (uint64_t) base + (uint64_t) d;
        }
        *ret = v;
        return 0;
}

/* The head is complete in r->line (without the final empty line). */
static int parse_head(HttpResponse *r) {
        char *p = r->line, *end = r->line + r->line_len;
        bool first = true;

        r->chunked = false;
        r->libpod = false;
        r->content_length = -1;
        while (p < end) {
                char *nl = memchr(p, '\n', (size_t) (end - p));
                char *eol = nl ? nl : end;
                size_t len = (size_t) (eol - p);
                if (len > 0 && p[len - 1] == '\r')
                        len--;
                if (first) {
                        /* "HTTP/1.1 200 OK" */
                        if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
                            (len > 12 && p[12] != ' '))
                                return -EBADMSG;
                        uint64_t status;
                        if (parse_u64(p + 9, 3, 10, 999, &status) < 0 || status < 100)
                                return -EBADMSG;
                        r->status = (int) status;
                        first = false;
                } else {
                        const char *v;
                        size_t vlen;
                        if (len == 0 || is_space(p[0]) || !memchr(p, ':', len))
                                return -EBADMSG; /* obsolete line folding is refused too */
                        if (header_match(p, len, "Content-Length", &v, &vlen)) {
                                uint64_t cl;
                                if (parse_u64(v, vlen, 10, INT64_MAX, &cl) < 0)
                                        return -EBADMSG;
                                if (r->content_length >= 0 && (uint64_t) r->content_length != cl)
                                        return -EBADMSG;
                                r->content_length = (int64_t) cl;
                        } else if (header_match(p, len, "Transfer-Encoding", &v, &vlen)) {
                                if (vlen == 7 && strncasecmp(v, "chunked", 7) == 0)
                                        r->chunked = true;
                                else if (!(vlen == 8 && strncasecmp(v, "identity", 8) == 0))
                                        return -EBADMSG; /* gzip etc.: we never ask for it */
                        } else if (header_match(p, len, "Libpod-Api-Version", &v, &vlen))
                                r->libpod = true; /* Podman, also behind a Docker socket */
                }
                p = nl ? nl + 1 : end;
        }
        if (first)
                return -EBADMSG;
        return 0;
}

static int head_complete(HttpResponse *r) {
        int k = parse_head(r);
        if (k < 0)
                return k;
        r->line_len = 0;
        if (r->status < 200) {
                r->state = HTTP_STATE_HEAD; /* interim response: the real one follows */
                return 0;
        }
        if (r->status == 204 || r->status == 304)
                r->state = HTTP_STATE_DONE;
        else if (r->chunked)
                r->state = HTTP_STATE_CHUNK_SIZE;
        else if (r->content_length >= 0) {
                r->remaining = (uint64_t) r->content_length;
                r->state = r->remaining > 0 ? HTTP_STATE_BODY_LENGTH : HTTP_STATE_DONE;
        } else
                r->state = HTTP_STATE_BODY_EOF;
        return 0;
}

/* Appends bytes up to and including a '\n' to r->line. Returns 1 when a line is complete
 * (without its line end in r->line), 0 when the input ran out. */
static int collect_line(HttpResponse *r, const char *data, size_t len, size_t max, size_t *pos) {
        while (*pos < len) {
                char c = data[(*pos)++];
                if (c == '\n') {
                        if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
                                r->line_len--;
                        return 1;
                }
                if (r->line_len >= max)
                        return -E2BIG;
                r->line[r->line_len++] = c;
        }
        return 0;
}

static int chunk_size_line(HttpResponse *r) {
        size_t n = 0;
        uint64_t size;

        while (n < r->line_len && r->line[n] != ';' && !is_space(r->line[n]))
                n++;
        if (parse_u64(r->line, n, 16, HTTP_CHUNK_SIZE_MAX, &size) < 0)
                return -EBADMSG;
        r->line_len = 0;
        r->remaining = size;
        r->state = size > 0 ? HTTP_STATE_CHUNK_DATA : HTTP_STATE_TRAILER;
        return 0;
}

int http_response_feed(HttpResponse *r, const char *data, size_t len, http_body_cb cb,
                       void *userdata, size_t *ret_consumed) {
        size_t pos = 0;
        int k;

        while (pos < len && r->state != HTTP_STATE_DONE) {
                switch (r->state) {
                case HTTP_STATE_HEAD: {
                        /* Collect until an empty line; the head stays in r->line. */
                        char c = data[pos++];
                        if (r->line_len >= sizeof(r->line))
                                return -E2BIG;
                        r->line[r->line_len++] = c;
                        if (c != '\n')
                                break;
                        size_t l = r->line_len;
                        bool blank = (l >= 2 && r->line[l - 2] == '\n') ||
                                     (l >= 3 && r->line[l - 2] == '\r' && r->line[l - 3] == '\n');
                        if (l == 1 || (l == 2 && r->line[0] == '\r'))
                                return -EBADMSG; /* a response starting with an empty line */
                        if (!blank)
                                break;
                        r->line_len -= r->line[l - 2] == '\r' ? 2 : 1;
                        k = head_complete(r);
                        if (k < 0)
                                return k;
                        break;
                }
                case HTTP_STATE_BODY_LENGTH:
                case HTTP_STATE_CHUNK_DATA: {
                        size_t n = len - pos;
                        if ((uint64_t) n > r->remaining)
                                n = (size_t) r->remaining;
                        if (cb) {
                                k = cb(data + pos, n, userdata);
                                if (k < 0)
                                        return k;
                        }
                        pos += n;
                        r->remaining -= n;
                        r->body_bytes += n;
                        if (r->remaining == 0)
                                r->state = r->state == HTTP_STATE_BODY_LENGTH
                                                   ? HTTP_STATE_DONE
                                                   : HTTP_STATE_CHUNK_DATA_END;
                        break;
                }
                case HTTP_STATE_BODY_EOF: {
                        size_t n = len - pos;
                        if (cb) {
                                k = cb(data + pos, n, userdata);
                                if (k < 0)
                                        return k;
                        }
                        pos += n;
                        r->body_bytes += n;
                        break;
                }
                case HTTP_STATE_CHUNK_SIZE:
                        k = collect_line(r, data, len, HTTP_CHUNK_LINE_MAX, &pos);
                        if (k < 0)
                                return k;
                        if (k > 0) {
                                k = chunk_size_line(r);
                                if (k < 0)
                                        return k;
                        }
                        break;
                case HTTP_STATE_CHUNK_DATA_END:
                        k = collect_line(r, data, len, 1, &pos);
                        if (k < 0)
                                return -EBADMSG;
                        if (k > 0) {
                                if (r->line_len != 0)
                                        return -EBADMSG;
                                r->state = HTTP_STATE_CHUNK_SIZE;
                        }
                        break;
                case HTTP_STATE_TRAILER:
                        /* Trailer fields until an empty line; ignored, but bounded. */
                        k = collect_line(r, data, len, HTTP_CHUNK_LINE_MAX, &pos);
                        if (k < 0)
                                return k;
                        if (k > 0) {
                                if (r->line_len == 0)
                                        r->state = HTTP_STATE_DONE;
                                r->line_len = 0;
                        }
                        break;
                case HTTP_STATE_DONE:
                        break;
                }
        }
        if (ret_consumed)
                *ret_consumed = pos;
        return r->state == HTTP_STATE_DONE;
}

int http_response_eof(HttpResponse *r) {
        if (r->state == HTTP_STATE_DONE)
                return 1;
        if (r->state == HTTP_STATE_BODY_EOF) {
                r->state = HTTP_STATE_DONE;
                return 1;
        }
        return -EPIPE;
}
