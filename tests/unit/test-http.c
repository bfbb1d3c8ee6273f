/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 response parser: Content-Length, chunked, until-EOF bodies; every split of the input;
 * bounds; malformed responses. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "macro.h"
#include "test.h"

typedef struct Body {
        char buf[4096];
        size_t len;
        size_t max; /* 0: no limit */
} Body;

static int on_body(const char *data, size_t len, void *userdata) {
        Body *b = userdata;
        if (b->max && b->len + len > b->max)
                return -EFBIG;
        CHECK(b->len + len <= sizeof(b->buf));
        memcpy(b->buf + b->len, data, len);
        b->len += len;
        return 0;
}

/* Feeds text in pieces of `step` bytes; returns the final feed result. */
static int feed_split(HttpResponse *r, const char *text, size_t step, Body *b,
                      size_t *ret_consumed) {
        size_t len = strlen(text), pos = 0;
        int k = 0;

        while (pos < len) {
                size_t n = MIN(step, len - pos), used = 0;
                k = http_response_feed(r, text + pos, n, on_body, b, &used);
                if (k != 0) {
                        *ret_consumed = pos + used;
                        return k;
                }
                CHECK(used == n);
                pos += n;
        }
        *ret_consumed = pos;
        return k;
}

static const char chunked[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\n"
                              "\r\n"
                              "5\r\nhello\r\n"
                              "1;ext=1\r\n \r\n"
                              "A\r\n0123456789\r\n"
                              "0\r\n"
                              "X-Trailer: 1\r\n"
                              "\r\n"
                              "NEXT";

static void test_chunked_every_split(void) {
        for (size_t step = 1; step <= sizeof(chunked); step++) {
                HttpResponse *r = malloc(sizeof(HttpResponse));
                Body b = {};
                size_t used;
                CHECK(r);
                http_response_init(r);
                CHECK_RC(feed_split(r, chunked, step, &b, &used), 1);
                CHECK_RC(r->status, 200);
                CHECK(r->chunked);
                CHECK(!r->libpod); /* Docker's head has no Libpod-Api-Version */
                CHECK_RC(b.len, 16);
                CHECK(memcmp(b.buf, "hello 0123456789", 16) == 0);
                /* "NEXT" is not part of the response and is left unconsumed. */
                CHECK_RC(used, strlen(chunked) - 4);
                free(r);
        }
}

/* Podman's compatible API, as a real `podman system service` 4.3 answers (also on a
 * /run/docker.sock that podman-docker links to it). */
static void test_libpod_server(void) {
        static const char text[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"
                                   "Content-Type: application/json\r\n"
                                   "Libpod-Api-Version: 4.3.1\r\n"
                                   "Server: Libpod/4.3.1 (linux)\r\nContent-Length: 2\r\n\r\n[]";
        HttpResponse *r = malloc(sizeof(HttpResponse));
        Body b = {};
        size_t used;
        CHECK(r);
        http_response_init(r);
        CHECK_RC(feed_split(r, text, 7, &b, &used), 1);
        CHECK(r->libpod);
        CHECK_RC(b.len, 2);
        http_response_init(r); /* the flag belongs to one response */
        CHECK(!r->libpod);
        free(r);
}

static void test_content_length(void) {
        static const char text[] = "HTTP/1.0 404 Not Found\nContent-Length: 3\n\nabcdef";
        HttpResponse r;
        Body b = {};
        size_t used;

        http_response_init(&r);
        CHECK_RC(http_response_feed(&r, text, strlen(text), on_body, &b, &used), 1);
        CHECK_RC(r.status, 404);
        CHECK_RC(b.len, 3);
        CHECK(memcmp(b.buf, "abc", 3) == 0);
        CHECK_RC(used, strlen(text) - 3);

        /* Zero length and 204: complete with the head. */
        static const char empty[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        http_response_init(&r);
        CHECK_RC(http_response_feed(&r, empty, strlen(empty), on_body, &b, NULL), 1);
        static const char nc[] = "HTTP/1.1 204 No Content\r\n\r\n";
        http_response_init(&r);
        CHECK_RC(http_response_feed(&r, nc, strlen(nc), on_body, &b, NULL), 1);
        CHECK_RC(r.status, 204);

        /* Cut short: EOF before the body is complete. */
        http_response_init(&r);
        CHECK_RC(http_response_feed(&r, text, 43, on_body, &b, NULL), 0);
        CHECK_RC(http_response_eof(&r), -EPIPE);
}

static void test_until_eof_and_interim(void) {
        static const char text[] = "HTTP/1.1 100 Continue\r\n\r\n"
                                   "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n{\"a\":1}";
        HttpResponse r;
        Body b = {};

        http_response_init(&r);
        CHECK_RC(http_response_feed(&r, text, strlen(text), on_body, &b, NULL), 0);
        CHECK_RC(r.status, 200);
        CHECK_RC(http_response_eof(&r), 1);
        CHECK_RC(b.len, 7);
        CHECK(memcmp(b.buf, "{\"a\":1}", 7) == 0);
}

static int expect_error(const char *text) {
        HttpResponse *r = malloc(sizeof(HttpResponse));
        Body b = {};
        CHECK(r);
        http_response_init(r);
        int k = http_response_feed(r, text, strlen(text), on_body, &b, NULL);
        free(r);
        return k;
}

static void test_malformed(void) {
        CHECK_RC(expect_error("\r\n"), -EBADMSG);
        CHECK_RC(expect_error("SMTP/1.1 200 OK\r\n\r\n"), -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 2x0 OK\r\n\r\n"), -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 099 Low\r\n\r\n"), -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"), -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n"), -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"),
                 -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
                 -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
                 -EBADMSG);
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "3\r\nabcX\r\n"),
                 -EBADMSG);
        /* A chunk size above HTTP_CHUNK_SIZE_MAX (2^40). */
        CHECK_RC(expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "10000000001\r\n"),
                 -EBADMSG);
}

static void test_bounds(void) {
        /* A head of exactly HTTP_HEAD_MAX bytes is accepted, one more byte is not. */
        size_t fixed = strlen("HTTP/1.1 200 OK\r\nX: \r\n\r\n");
        for (int extra = 0; extra <= 1; extra++) {
                size_t pad = HTTP_HEAD_MAX - fixed + (size_t) extra;
                char *text = malloc(HTTP_HEAD_MAX + 64);
                CHECK(text);
                int n = sprintf(text, "HTTP/1.1 200 OK\r\nX: ");
                memset(text + n, 'a', pad);
                strcpy(text + n + pad, "\r\n\r\n");
                HttpResponse *r = malloc(sizeof(HttpResponse));
                CHECK(r);
                http_response_init(r);
                int k = http_response_feed(r, text, strlen(text), on_body, NULL, NULL);
                CHECK_RC(k, extra ? -E2BIG : 0);
                if (!extra)
                        CHECK_RC(r->state, HTTP_STATE_BODY_EOF);
                free(r);
                free(text);
        }

        /* A chunk-size line longer than HTTP_CHUNK_LINE_MAX. */
        char line[HTTP_CHUNK_LINE_MAX + 64] =
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;";
        size_t l = strlen(line);
        memset(line + l, 'e', HTTP_CHUNK_LINE_MAX);
        line[l + HTTP_CHUNK_LINE_MAX] = 0;
        CHECK_RC(expect_error(line), -E2BIG);

        /* The callback refuses more body than it wants: its error is returned. */
        static const char big[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
        HttpResponse r;
        Body b = {.max = 5};
        http_response_init(&r);
        CHECK_RC(http_response_feed(&r, big, strlen(big), on_body, &b, NULL), -EFBIG);
}

int main(void) {
        test_chunked_every_split();
        test_libpod_server();
        test_content_length();
        test_until_eof_and_interim();
        test_malformed();
        test_bounds();
        return 0;
}
