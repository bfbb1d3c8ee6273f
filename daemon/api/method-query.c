/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Query: one page of stored denials. Pages use keyset pagination on the row id
 * (after/next), so a query over millions of rows streams in pages and never builds the whole
 * result in memory; a page is bounded in rows (SERVER_QUERY_PAGE_MAX) and in bytes
 * (SERVER_REPLY_BYTES_MAX).
 *
 * The reply is written as text, row by row, into the one buffer that is then sent
 * (json-writer.h): no json-c object per row, no second serialisation of the page. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "denial-json.h"
#include "json-writer.h"
#include "macro.h"
#include "method.h"

void query_page_done(QueryPage *page) {
        free(page->starts);
        page->starts = NULL;
}

int query_page_add(const Denial *d, void *userdata) {
        QueryPage *page = userdata;
        size_t start = (size_t) page->pb->bpos;
        JsonWriter w;

        json_writer_init(&w, page->pb);
        w.first = page->rows == 0; /* a comma before every row but the first */
        denial_write_json(&w, d);
        if (json_writer_failed(&w)) {
                printbuf_truncate(page->pb, start);
                return -ENOMEM;
        }
        size_t len = (size_t) page->pb->bpos - start;
        /* Always at least one row per page, or a single huge event could never be paged past. */
        if (page->rows > 0 && page->bytes + len > SERVER_REPLY_BYTES_MAX) {
                printbuf_truncate(page->pb, start);
                page->full = true;
                return 1;
        }
        if ((page->rows & (page->rows + 1)) == 0) { /* 0, 1, 3, 7, ...: grown by doubling */
                size_t *n = reallocarray(page->starts, 2 * page->rows + 1, sizeof(size_t));
                if (!n) {
                        printbuf_truncate(page->pb, start);
                        return -ENOMEM;
                }
                page->starts = n;
        }
        page->starts[page->rows] = start + (page->rows > 0 ? 1 : 0); /* after the comma */
        page->rows++;
        page->bytes += len;
        return 0;
}

const char *query_page_row(const QueryPage *page, size_t i, size_t *ret_len) {
        size_t end = i + 1 < page->rows ? page->starts[i + 1] - 1 : page->row_end;
        *ret_len = end - page->starts[i];
        return page->pb->buf + page->starts[i];
}

bool query_page_fill(Connection *c, const DenialFilter *filter, bool reverse, const int64_t *after,
                     unsigned limit, QueryPage *page, StorePage *ret_more) {
        int r = store_query_flags(connection_context(c)->store, filter, reverse, after, limit,
                                  STORE_QUERY_JSON_FIELDS | (page->no_raw ? STORE_QUERY_NO_RAW : 0),
                                  query_page_add, page, ret_more);
        if (r < 0) {
                connection_send_failure(c, r);
                return false;
        }
        page->row_end = (size_t) page->pb->bpos;
        return true;
}

/* A buffer larger than this after a page is not kept for the next one: a page of 1000 ordinary
 * rows (~1.5 MB) fits, and an idle daemon holds no more than this after a bulk export. */
#define QUERY_TEXT_KEEP_MAX (SERVER_REPLY_BYTES_MAX / 2)

/* The context's reply buffer, emptied. */
static struct printbuf *query_text_take(MethodContext *m) {
        struct printbuf *pb = TAKE_PTR(m->reply_text);
        if (pb)
                printbuf_reset(pb);
        else
                pb = printbuf_new();
        return pb;
}

/* Sends the reply in pb (len bytes with the NUL), handing the buffer itself over when the
 * connection takes it (connection_send_buffer()): pb then holds the connection's old output
 * buffer, or is freed (NULL) when that had none; the buffer comes back through
 * query_text_recycle() once it is sent. printbuf's fields are json-c's public struct; every
 * buffer here is malloc'd. */
static struct printbuf *query_text_send(Connection *c, struct printbuf *pb, size_t len) {
        char *buf = pb->buf;
        size_t size = (size_t) pb->size;

        connection_send_buffer(c, &buf, &size, len);
        if (!buf || size == 0 || size > INT_MAX) {
                free(buf);
                pb->buf = NULL;
                printbuf_free(pb);
                return NULL;
        }
        pb->buf = buf;
        pb->size = (int) size;
        printbuf_reset(pb);
        return pb;
}

static void query_text_give_back(MethodContext *m, struct printbuf *pb) {
        if (!pb)
                return;
        if (m->reply_text || pb->size > QUERY_TEXT_KEEP_MAX)
                printbuf_free(pb);
        else
                m->reply_text = pb;
}

void query_text_recycle(MethodContext *m, char *buf, size_t size) {
        if (!buf)
                return;
        if (size > QUERY_TEXT_KEEP_MAX || size == 0 ||
            (m->reply_text && (size_t) m->reply_text->size >= size)) {
                free(buf);
                return;
        }
        struct printbuf *pb = m->reply_text ? m->reply_text : printbuf_new();
        if (!pb) {
                free(buf);
                return;
        }
        free(pb->buf);
        pb->buf = buf;
        pb->size = (int) size;
        printbuf_reset(pb);
        m->reply_text = pb;
}

void method_query(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "limit", "after", "reverse", "raw", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        struct printbuf *pb = NULL;
        _cleanup_(query_page_done) QueryPage page = {};
        int64_t limit = SERVER_QUERY_PAGE_DEFAULT, after = 0;
        bool reverse = false, raw = true, has_after;
        StorePage more = {};
        JsonWriter w;
        json_object *v;

        has_after = json_object_object_get_ex(params, "after", &v) && v;
        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "limit", 1, SERVER_QUERY_PAGE_MAX, &limit) ||
            !params_get_int(c, params, "after", INT64_MIN, INT64_MAX, &after) ||
            !params_get_bool(c, params, "reverse", &reverse) ||
            !params_get_bool(c, params, "raw", &raw) || !params_get_filter(c, params, &filter) ||
            !params_check_known(c, &filter))
                return;

        /* {"parameters":{"denials":[ROWS],"next":N|null}} and the NUL that ends a message. */
        pb = query_text_take(connection_context(c));
        if (!pb || printbuf_strappend(pb, "{\"parameters\":{\"denials\":[") < 0) {
                query_text_give_back(connection_context(c), pb);
                connection_fail(c);
                return;
        }
        page.pb = pb;
        page.no_raw = !raw;
        if (!query_page_fill(c, &filter, reverse, has_after ? &after : NULL, (unsigned) limit,
                             &page, &more)) {
                query_text_give_back(connection_context(c), pb);
                return;
        }

        json_writer_init(&w, pb);
        w.first = false;
        if (printbuf_strappend(pb, "]") < 0)
                w.failed = true;
        /* next: where the following page starts, null at the end. */
        json_writer_key(&w, "next");
        if (more.more)
                json_writer_int64(&w, more.next);
        else
                json_writer_null(&w);
        if (json_writer_failed(&w) || printbuf_memappend(pb, "}}", 3) < 0) /* with the NUL */
                connection_fail(c);
        else
                pb = query_text_send(c, pb, (size_t) pb->bpos);
        query_text_give_back(connection_context(c), pb);
}
