/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Query: one page of stored denials. Pages use keyset pagination on the row id
 * (after/next), so a query over millions of rows streams in pages and never builds the whole
 * result in memory; a page is bounded in rows (SERVER_QUERY_PAGE_MAX) and in bytes
 * (SERVER_REPLY_BYTES_MAX). */

#include <errno.h>

#include "denial-json.h"
#include "json-add.h"
#include "macro.h"
#include "method.h"
#include "reply-json.h"

int query_page_add(const Denial *d, void *userdata) {
        QueryPage *page = userdata;
        json_object *o;
        size_t len = 0;

        int r = denial_to_json(d, &o);
        if (r < 0)
                return r;
        if (!json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len)) {
                json_object_put(o);
                return -ENOMEM;
        }
        /* Always at least one row per page, or a single huge event could never be paged past. */
        if (page->rows > 0 && page->bytes + len > SERVER_REPLY_BYTES_MAX) {
                json_object_put(o);
                page->full = true;
                return 1;
        }
        if (json_object_array_add(page->denials, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        page->rows++;
        page->bytes += len;
        return 0;
}

bool query_page_fill(Connection *c, const DenialFilter *filter, bool reverse, const int64_t *after,
                     unsigned limit, QueryPage *ret, StorePage *ret_more) {
        QueryPage page = {.denials = json_object_new_array()};

        if (!page.denials) {
                connection_fail(c);
                return false;
        }
        int r = store_query(connection_context(c)->store, filter, reverse, after, limit,
                            query_page_add, &page, ret_more);
        if (r < 0) {
                json_object_put(page.denials);
                connection_send_failure(c, r);
                return false;
        }
        *ret = page;
        return true;
}

void method_query(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "limit", "after", "reverse", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t limit = SERVER_QUERY_PAGE_DEFAULT, after = 0;
        bool reverse = false, has_after;
        QueryPage page;
        StorePage more = {};
        json_object *v;

        has_after = json_object_object_get_ex(params, "after", &v) && v;
        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "limit", 1, SERVER_QUERY_PAGE_MAX, &limit) ||
            !params_get_int(c, params, "after", INT64_MIN, INT64_MAX, &after) ||
            !params_get_bool(c, params, "reverse", &reverse) ||
            !params_get_filter(c, params, &filter) || !params_check_known(c, &filter) ||
            !query_page_fill(c, &filter, reverse, has_after ? &after : NULL, (unsigned) limit,
                             &page, &more))
                return;

        /* next: where the following page starts, null at the end. */
        json_object *p = reply_params_new("denials", page.denials);
        if (p && (more.more ? json_add_int64(p, "next", more.next)
                            : json_add_nullable(p, "next", NULL)) < 0) {
                json_object_put(p);
                p = NULL;
        }
        connection_reply(c, p, false);
}
