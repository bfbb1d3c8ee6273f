/* SPDX-License-Identifier: MIT */
/* Stats as the JSON object of io.avcwatch.Stats (the daemon's own counters; the server appends
 * the store's totals). Keys in the order of the interface description, so that `avcctl stats`
 * and a generic Varlink tool show them in the same order. */

#include <errno.h>
#include <stdio.h>

#include "denial-json.h"
#include "stats.h"
#include "varlink.h"

int stats_to_json(const Stats *s, json_object **ret) {
        const struct {
                const char *key;
                uint64_t value;
        } counters[] = {
                {"records_received", s->records_received},
                {"records_malformed", s->records_malformed},
                {"records_unstamped", s->records_unstamped},
                {"records_ignored", s->records_ignored},
                {"denials_seen", s->denials_seen},
                {"denials_filtered", s->denials_filtered},
                {"denials_stored", s->denials_stored},
                {"denials_duplicate", s->denials_duplicate},
                {"store_errors", s->store_errors},
                {"events_lost", s->events_lost},
                {"netlink_enobufs", s->netlink_enobufs},
                {"netlink_dropped", s->netlink_dropped},
                {"events_evicted", s->events_evicted},
                {"tail_subscribers", s->tail_subscribers},
                {"clients", s->clients},
                {"clients_cut", s->clients_cut},
                {"clients_refused", s->clients_refused},
        };
        char started[32], input[sizeof(s->input) + 1];

        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
                json_object *v = json_object_new_uint64(counters[i].value);
                if (!v || json_object_object_add(o, counters[i].key, v) < 0) {
                        json_object_put(v);
                        goto oom;
                }
        }

        /* input is a fixed array: never trust it to be terminated. */
        snprintf(input, sizeof(input), "%.*s", (int) sizeof(s->input), s->input);
        format_time_iso8601_ms(s->started_ms, started, sizeof(started));

        json_object *v;
        if (!(v = varlink_string_new(input)) || json_object_object_add(o, "input", v) < 0)
                goto oom_v;
        if (!(v = json_object_new_boolean(s->input_eof)) ||
            json_object_object_add(o, "input_eof", v) < 0)
                goto oom_v;
        if (!(v = varlink_string_new(started)) || json_object_object_add(o, "started", v) < 0)
                goto oom_v;

        *ret = o;
        return 0;
oom_v:
        json_object_put(v);
oom:
        json_object_put(o);
        return -ENOMEM;
}
