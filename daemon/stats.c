/* SPDX-License-Identifier: MIT */
/* Stats as the JSON object of io.avcwatch.Stats (the daemon's own counters; the server appends
 * the store's totals). Keys in the order of the interface description, so that `avcctl stats`
 * and a generic Varlink tool show them in the same order.
 *
 * Loss windows: every loss is counted and placed in time. Losses come in episodes (an overrun, a
 * full disk), so they are grouped into windows: a window opens with the first loss, and is
 * logged at once ("losing ..."), takes every loss whose time touches it, and is logged again
 * when it has been quiet for STATS_LOSS_QUIET_USEC, with its totals. So the log says when and how
 * much was lost in two lines per episode, however long it lasts, and `stats` keeps the recent
 * windows. A loss found out late (missing serials are known only when a later record arrives)
 * still joins the window of its time, reopening it. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "denial-json.h"
#include "log.h"
#include "macro.h"
#include "stats.h"
#include "varlink.h"

static const char *const loss_keys[_LOSS_KIND_MAX] = {
        [LOSS_SOCKET_DROPPED] = "records_dropped",
        [LOSS_SERIAL_MISSED] = "serials_missed",
        [LOSS_UNSTORED] = "denials_unstored",
};

static const char *const loss_texts[_LOSS_KIND_MAX] = {
        [LOSS_SOCKET_DROPPED] = "records dropped by the audit socket (receive queue full)",
        [LOSS_SERIAL_MISSED] = "audit events never received (missing serials)",
        [LOSS_UNSTORED] = "denials not stored",
};

uint64_t stats_events_lost(const Stats *s) {
        return MAX(s->netlink_dropped, s->serials_missed) + s->denials_unstored;
}

static LossWindow *current_window(Stats *s) {
        return &s->windows[(s->loss_windows - 1) % STATS_LOSS_WINDOWS_MAX];
}

static void window_text(const LossWindow *w, char *buf, size_t n) {
        char since[32], until[32];
        size_t len;

        format_time_iso8601_ms(w->since_ms, since, sizeof(since));
        format_time_iso8601_ms(w->until_ms, until, sizeof(until));
        len = (size_t) snprintf(buf, n, "between %s and %s:", since, until);
        for (int k = 0; k < _LOSS_KIND_MAX && len < n; k++)
                if (w->counts[k] > 0)
                        len += (size_t) snprintf(buf + len, n - len, " %" PRIu64 " %s;",
                                                 w->counts[k], loss_texts[k]);
        if (len > 0 && len < n && buf[len - 1] == ';')
                buf[len - 1] = '.';
}

/* Closes the open window now, with its summary. */
static void close_window(Stats *s) {
        char text[512];

        window_text(current_window(s), text, sizeof(text));
        log_warning("Lost audit data %s In all since the start: %" PRIu64 " events lost.", text,
                    stats_events_lost(s));
        s->window_open = false;
}

void stats_add_loss(Stats *s, LossKind kind, uint64_t n, int64_t since_ms, int64_t until_ms,
                    uint64_t now_usec, const char *detail) {
        LossWindow *w = NULL;

        if (n == 0 || kind < 0 || kind >= _LOSS_KIND_MAX)
                return;
        switch (kind) {
        case LOSS_SOCKET_DROPPED:
                s->netlink_dropped += n;
                break;
        case LOSS_SERIAL_MISSED:
                s->serials_missed += n;
                break;
        case LOSS_UNSTORED:
                s->denials_unstored += n;
                break;
        default:
                break;
        }
        if (since_ms > until_ms)
                since_ms = until_ms;

        /* The same episode when the times touch the newest window: the missing serials of an
         * overrun are known only once a later record arrives, maybe after its window closed. */
        if (s->loss_windows > 0) {
                w = current_window(s);
                if (since_ms > w->until_ms + STATS_LOSS_MERGE_MS ||
                    until_ms < w->since_ms - STATS_LOSS_MERGE_MS) {
                        if (s->window_open)
                                close_window(s);
                        w = NULL;
                }
        }

        if (w) {
                /* Reopened if need be: its summary is logged again, with this loss. */
                w->since_ms = MIN(w->since_ms, since_ms);
                w->until_ms = MAX(w->until_ms, until_ms);
                w->counts[kind] += n;
                w->last_usec = now_usec;
                s->window_open = true;
        } else {
                s->loss_windows++;
                w = current_window(s);
                *w = (LossWindow){.since_ms = since_ms, .until_ms = until_ms};
                w->counts[kind] = n;
                w->last_usec = now_usec;
                s->window_open = true;

                char since[32], until[32];
                format_time_iso8601_ms(since_ms, since, sizeof(since));
                format_time_iso8601_ms(until_ms, until, sizeof(until));
                log_warning("Losing audit data: %" PRIu64 " %s between %s and %s%s%s. Counting "
                            "them; see 'avcctl stats'.",
                            n, loss_texts[kind], since, until, detail ? ": " : "",
                            detail ? detail : "");
        }
        if (s->on_loss)
                s->on_loss(s->on_loss_userdata);
}

uint64_t stats_close_loss_window(Stats *s, uint64_t now_usec) {
        if (!s->window_open)
                return UINT64_MAX;

        LossWindow *w = current_window(s);
        if (now_usec - w->last_usec < STATS_LOSS_QUIET_USEC)
                return w->last_usec + STATS_LOSS_QUIET_USEC;
        close_window(s);
        return UINT64_MAX;
}

static int window_to_json(const LossWindow *w, bool open, json_object **ret) {
        char since[32], until[32];
        json_object *o = json_object_new_object(), *v = NULL;

        if (!o)
                return -ENOMEM;
        format_time_iso8601_ms(w->since_ms, since, sizeof(since));
        format_time_iso8601_ms(w->until_ms, until, sizeof(until));
        if (!(v = varlink_string_new(since)) || json_object_object_add(o, "since", v) < 0)
                goto fail;
        if (!(v = varlink_string_new(until)) || json_object_object_add(o, "until", v) < 0)
                goto fail;
        for (int k = 0; k < _LOSS_KIND_MAX; k++)
                if (!(v = json_object_new_uint64(w->counts[k])) ||
                    json_object_object_add(o, loss_keys[k], v) < 0)
                        goto fail;
        if (!(v = json_object_new_boolean(open)) || json_object_object_add(o, "ongoing", v) < 0)
                goto fail;
        *ret = o;
        return 0;
fail:
        json_object_put(v);
        json_object_put(o);
        return -ENOMEM;
}

/* The recent windows, oldest first. */
static int windows_to_json(const Stats *s, json_object **ret) {
        uint64_t n = MIN(s->loss_windows, (uint64_t) STATS_LOSS_WINDOWS_MAX);
        json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (uint64_t i = s->loss_windows - n; i < s->loss_windows; i++) {
                json_object *o = NULL;
                bool open = s->window_open && i == s->loss_windows - 1;
                if (window_to_json(&s->windows[i % STATS_LOSS_WINDOWS_MAX], open, &o) < 0 ||
                    json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        *ret = a;
        return 0;
}

static int engine_to_json(const EngineStats *e, json_object **ret) {
        char since[32], name[sizeof(e->name) + 1], socket[sizeof(e->socket) + 1],
                error[sizeof(e->last_error) + 1];
        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        /* Fixed arrays: never trust them to be terminated. */
        snprintf(name, sizeof(name), "%.*s", (int) sizeof(e->name), e->name);
        snprintf(socket, sizeof(socket), "%.*s", (int) sizeof(e->socket), e->socket);
        snprintf(error, sizeof(error), "%.*s", (int) sizeof(e->last_error), e->last_error);
        format_time_iso8601_ms(e->since_ms, since, sizeof(since));
        const struct {
                const char *key;
                json_object *v;
                bool may_be_null;
        } fields[] = {
                {"name", varlink_string_new(name), false},
                {"socket", varlink_string_new(socket), false},
                {"state", varlink_string_new(e->state ? e->state : "disabled"), false},
                {"since", e->since_ms > 0 ? varlink_string_new(since) : NULL, true},
                {"connects", json_object_new_uint64(e->connects), false},
                {"events", json_object_new_uint64(e->events), false},
                {"inspects", json_object_new_uint64(e->inspects), false},
                {"failures", json_object_new_uint64(e->failures), false},
                {"last_error", error[0] ? varlink_string_new(error) : NULL, true},
        };
        int r = 0;
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                if (r < 0 || (!fields[i].v && !fields[i].may_be_null) ||
                    json_object_object_add(o, fields[i].key, fields[i].v) < 0) {
                        json_object_put(fields[i].v);
                        r = -ENOMEM;
                }
        }
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        *ret = o;
        return 0;
}

static int engines_to_json(const Stats *s, json_object **ret) {
        json_object *a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_engines && i < STATS_ENGINES_MAX; i++) {
                json_object *e;
                if (engine_to_json(&s->engines[i], &e) < 0)
                        goto oom;
                if (json_object_array_add(a, e) < 0) {
                        json_object_put(e);
                        goto oom;
                }
        }
        *ret = a;
        return 0;
oom:
        json_object_put(a);
        return -ENOMEM;
}

/* backfill, backfill_since, backfill_until, backfill_files, backfill_records, backfill_denials */
static int stats_backfill_to_json(const BackfillStats *s, json_object *o) {
        char state[sizeof(s->state) + 1], since[32], until[32];
        json_object *v;

        snprintf(state, sizeof(state), "%.*s", (int) sizeof(s->state),
                 s->state[0] ? s->state : "off");
        format_time_iso8601_ms(s->since_ms, since, sizeof(since));
        format_time_iso8601_ms(s->until_ms, until, sizeof(until));
        const struct {
                const char *key;
                json_object *value;
        } fields[] = {
                {"backfill", varlink_string_new(state)},
                {"backfill_since", s->since_ms > 0 ? varlink_string_new(since) : NULL},
                {"backfill_until", s->until_ms > 0 ? varlink_string_new(until) : NULL},
                {"backfill_files", json_object_new_uint64(s->files)},
                {"backfill_records", json_object_new_uint64(s->ingest.records)},
                {"backfill_denials", json_object_new_uint64(s->ingest.outcomes[IMPORT_STORED])},
        };
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                v = fields[i].value;
                bool want = i < 1 || i > 2 || (i == 1 ? s->since_ms > 0 : s->until_ms > 0);
                if ((want && !v) || r < 0 || json_object_object_add(o, fields[i].key, v) < 0) {
                        json_object_put(v);
                        r = -ENOMEM;
                }
        }
        return r;
}

int stats_to_json(const Stats *s, json_object **ret) {
        const struct {
                const char *key;
                uint64_t value;
        } counters[] = {
                {"records_received", s->records_received},
                {"records_malformed", s->records_malformed + s->ingest.malformed},
                {"records_unstamped", s->ingest.unstamped},
                {"records_ignored", s->ingest.ignored},
                {"denials_seen", s->denials_seen},
                {"denials_filtered", s->denials_filtered},
                {"denials_stored", s->denials_stored},
                {"denials_duplicate", s->denials_duplicate},
                {"denials_coalesced", s->denials_coalesced},
                {"denials_expired", s->denials_expired},
                {"store_errors", s->store_errors},
                {"events_lost", stats_events_lost(s)},
                {"netlink_enobufs", s->netlink_enobufs},
                {"netlink_dropped", s->netlink_dropped},
                {"serials_missed", s->serials_missed},
                {"denials_unstored", s->denials_unstored},
                {"events_evicted", s->ingest.evicted},
                {"tail_subscribers", s->tail_subscribers},
                {"clients", s->clients},
                {"clients_cut", s->clients_cut},
                {"clients_timed_out", s->clients_timed_out},
                {"clients_evicted", s->clients_evicted},
                {"clients_refused", s->clients_refused},
                {"clients_unsent_bytes", s->clients_unsent_bytes},
                {"journal_forwarded", s->journal_forwarded},
                {"journal_failed", s->journal_failed},
                {"journal_queued", s->journal_queued},
                {"registry_containers", s->registry_containers},
                {"proc_scans", s->proc_scans},
                {"proc_containers", s->proc_containers},
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
        if (stats_backfill_to_json(&s->backfill, o) < 0)
                goto oom;
        if (!(v = json_object_new_boolean(s->store_failing)) ||
            json_object_object_add(o, "store_failing", v) < 0)
                goto oom_v;
        if (s->store_failing) {
                char error[sizeof(s->store_error) + 1];
                snprintf(error, sizeof(error), "%.*s", (int) sizeof(s->store_error),
                         s->store_error);
                if (!(v = varlink_string_new(error)))
                        goto oom_v;
        } else
                v = NULL;
        if (json_object_object_add(o, "store_error", v) < 0)
                goto oom_v;
        if (s->store_failing) {
                char since[32];
                format_time_iso8601_ms(s->store_failing_since_ms, since, sizeof(since));
                if (!(v = varlink_string_new(since)))
                        goto oom_v;
        } else
                v = NULL;
        if (json_object_object_add(o, "store_failing_since", v) < 0)
                goto oom_v;
        if (!(v = json_object_new_uint64(s->loss_windows)) ||
            json_object_object_add(o, "loss_windows", v) < 0)
                goto oom_v;
        v = NULL;
        if (windows_to_json(s, &v) < 0 || json_object_object_add(o, "losses", v) < 0)
                goto oom_v;
        v = NULL;
        if (engines_to_json(s, &v) < 0 || json_object_object_add(o, "engines", v) < 0)
                goto oom_v;

        *ret = o;
        return 0;
oom_v:
        json_object_put(v);
oom:
        json_object_put(o);
        return -ENOMEM;
}
