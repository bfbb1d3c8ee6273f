/* SPDX-License-Identifier: MIT */
#pragma once

/* A small HTTP/1.1 response parser: status line, headers (only Content-Length and
 * Transfer-Encoding are interpreted, and Libpod-Api-Version noted), and a body delimited by
 * Content-Length, by chunked transfer coding, or by the end of the connection. Incremental: feed
 * whatever recv() returned, in pieces of any size; decoded body bytes are handed to a callback as
 * they arrive, so that an endless chunked stream (Docker's /events) is never buffered whole. Pure:
 * no I/O, no allocation. Every piece of framing it has to hold is bounded; violations are -E2BIG,
 * nonsense is -EBADMSG. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX (16 * 1024) /* status line + headers; Docker sends a few hundred bytes */
#define HTTP_CHUNK_LINE_MAX 256   /* "1a2b;ext=...\r\n" */
#define HTTP_CHUNK_SIZE_MAX (UINT64_C(1) << 40) /* a chunk size beyond this is nonsense */

typedef enum HttpState {
        HTTP_STATE_HEAD,
        HTTP_STATE_BODY_LENGTH, /* Content-Length bytes */
        HTTP_STATE_BODY_EOF,    /* until the peer closes */
        HTTP_STATE_CHUNK_SIZE,
        HTTP_STATE_CHUNK_DATA,
        HTTP_STATE_CHUNK_DATA_END, /* the CRLF after a chunk's data */
        HTTP_STATE_TRAILER,
        HTTP_STATE_DONE,
} HttpState;

typedef struct HttpResponse {
        HttpState state;
        int status; /* 100..999 once the head is parsed */
        bool chunked;
        bool libpod;              /* a Libpod-Api-Version header: the server is Podman */
        int64_t content_length;   /* -1 when absent */
        uint64_t remaining;       /* of the body (Content-Length) or of the current chunk */
        uint64_t body_bytes;      /* decoded body bytes so far */
        char line[HTTP_HEAD_MAX]; /* the head, or one chunk-size / trailer line, being collected */
        size_t line_len;
} HttpResponse;

/* Decoded body bytes; return < 0 to stop parsing (that value is returned by http_response_feed). */
typedef int (*http_body_cb)(const char *data, size_t len, void *userdata);

void http_response_init(HttpResponse *r);

/* Feeds len bytes. Returns 1 when the response is complete (bytes after its end are not
 * consumed; *ret_consumed says how many were), 0 when more is needed, -EBADMSG on a malformed
 * response, -E2BIG when a bound is exceeded, or the callback's error. ret_consumed may be NULL. */
int http_response_feed(HttpResponse *r, const char *data, size_t len, http_body_cb cb,
                       void *userdata, size_t *ret_consumed);

/* The peer closed the connection. Returns 1 when that completes the response (a body delimited
 * by the end of the connection, or a response already complete), -EPIPE when it was cut short. */
int http_response_eof(HttpResponse *r);
