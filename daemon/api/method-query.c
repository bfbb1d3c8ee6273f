/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Query: one page of stored denials. Pages use keyset pagination on the row id
 * (after/next), so a query over millions of rows streams in pages and never builds the whole
 * result in memory; a page is bounded in rows (SERVER_QUERY_PAGE_MAX) and in bytes
 * (SERVER_REPLY_BYTES_MAX). */

#include <errno.h>

#include "denial-json.h"
#include "macro.h"
#include "method.h"

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

void method_query(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "limit", "after", "reverse", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t limit = SERVER_QUERY_PAGE_DEFAULT, after = 0;
        bool reverse = false, has_after;
        json_object *v;

        has_after = json_object_object_get_ex(params, "after", &v) && v;
        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "limit", 1, SERVER_QUERY_PAGE_MAX, &limit) ||
            !params_get_int(c, params, "after", INT64_MIN, INT64_MAX, &after) ||
            !params_get_bool(c, params, "reverse", &reverse) ||
            !params_get_filter(c, params, &filter))
                return;

        QueryPage page = {.denials = json_object_new_array()};
        StorePage more = {};
        if (!page.denials) {
                connection_fail(c);
                return;
        }
        int r = store_query(connection_context(c)->store, &filter, reverse,
                            has_after ? &after : NULL, (unsigned) limit, query_page_add, &page,
                            &more);
        if (r < 0) {
                json_object_put(page.denials);
                if (r == -ENOMEM)
                        connection_fail(c);
                else
                        connection_send_store_error(c, r);
                return;
        }

        json_object *p = json_object_new_object();
        json_object *next = more.more ? json_object_new_int64(more.next) : NULL;
        if (!p || json_object_object_add(p, "denials", page.denials) < 0) {
                json_object_put(page.denials);
                json_object_put(next);
                json_object_put(p);
                connection_fail(c);
                return;
        }
        if (json_object_object_add(p, "next", next) < 0) {
                json_object_put(next);
                json_object_put(p);
                connection_fail(c);
                return;
        }
        connection_reply(c, p, false);
}
