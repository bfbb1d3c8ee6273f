/* SPDX-License-Identifier: MIT */
/* io.avcwatch.Tail: the newest `lines` stored denials that match (oldest first), then every new
 * one as it is stored. The call turns the connection into a subscription (the transport keeps
 * the subscribers, their filters and their bounds, and sends them what server_broadcast() is
 * given). */

#include <limits.h>

#include "json-writer.h"
#include "macro.h"
#include "method.h"
#include "strutil.h"

int tail_message_write(struct printbuf *pb, const char *denial, size_t len) {
        static const char head[] = "{\"parameters\":{\"denial\":", tail[] = "},\"continues\":true}";

        if (len > INT_MAX || printbuf_memappend(pb, head, sizeof(head) - 1) < 0 ||
            printbuf_memappend(pb, denial, (int) len) < 0 ||
            printbuf_memappend(pb, tail, sizeof(tail)) < 0) /* with the NUL */
                return -ENOMEM;
        return 0;
}

/* The newest `lines` matches, newest first from the store, sent oldest first. */
static void tail_send_backlog(Connection *c, const DenialFilter *filter, unsigned lines) {
        _cleanup_(printbuf_freep) struct printbuf *pb = printbuf_new(), *message = printbuf_new();
        _cleanup_(query_page_done) QueryPage page = {.pb = pb};

        if (!pb || !message) {
                connection_fail(c);
                return;
        }
        if (!query_page_fill(c, filter, true, NULL, lines, &page, NULL))
                return;
        for (size_t i = page.rows; i > 0 && !connection_failed(c); i--) {
                size_t len;
                const char *row = query_page_row(&page, i - 1, &len);

                printbuf_reset(message);
                if (tail_message_write(message, row, len) < 0) {
                        connection_fail(c);
                        return;
                }
                connection_send_message(c, message->buf, (size_t) message->bpos);
        }
}

void method_tail(Connection *c, json_object *params) {
        static const char *const known[] = {"filter", "lines", NULL};
        _cleanup_(denial_filter_done) DenialFilter filter = {};
        int64_t lines = 0;

        if (connection_n_subscribers(c) >= SERVER_SUBSCRIBERS_MAX) {
                connection_send_error(c, ERROR_TOO_MANY_SUBSCRIBERS, "max",
                                      json_object_new_int(SERVER_SUBSCRIBERS_MAX));
                return;
        }
        if (!params_check_keys(c, params, known) ||
            !params_get_int(c, params, "lines", 0, SERVER_TAIL_LINES_MAX, &lines) ||
            !params_get_filter(c, params, &filter) || !params_check_known(c, &filter))
                return;

        /* As the store's queries do: a known name is a name, not an id prefix. */
        const struct {
                const FilterValues *l;
                uint32_t *is_name;
        } names[] = {
                {&filter.container, &filter.container_is_name},
                {&filter.target_container, &filter.target_container_is_name},
        };
        for (size_t k = 0; k < ELEMENTSOF(names); k++)
                for (size_t i = 0; i < names[k].l->n && i < 32; i++) {
                        if (container_value_kind(names[k].l->v[i]) !=
                            CONTAINER_VALUE_NAME_OR_PREFIX)
                                continue;
                        int r = store_container_name_known(connection_context(c)->store,
                                                           names[k].l->v[i]);
                        if (r < 0) {
                                connection_send_store_error(c, r);
                                return;
                        }
                        if (r > 0)
                                *names[k].is_name |= UINT32_C(1) << i;
                }

        if (lines > 0) {
                tail_send_backlog(c, &filter, (unsigned) lines);
                if (connection_failed(c))
                        return;
        }
        connection_subscribe(c, &filter);
}
