/* SPDX-License-Identifier: MIT */
/* Stats as the JSON object of io.avcwatch.Stats: the daemon's counters (stats.h), then the
 * store's totals. Keys in the order of the interface description, so that `avcctl stats` and a
 * generic Varlink tool show them in the same order. The fixed-size text fields of Stats are
 * never trusted to be terminated. */

#include <errno.h>
#include <stdio.h>

#include "json-add.h"
#include "macro.h"
#include "stats-json.h"

static const char *const loss_keys[_LOSS_KIND_MAX] = {
        [LOSS_SOCKET_DROPPED] = "records_dropped",
        [LOSS_SERIAL_MISSED] = "serials_missed",
        [LOSS_UNSTORED] = "denials_unstored",
};

static int window_to_json(const LossWindow *w, bool open, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o || json_add_time(o, "since", w->since_ms) < 0 ||
            json_add_time(o, "until", w->until_ms) < 0)
                return -ENOMEM;
        for (int k = 0; k < _LOSS_KIND_MAX; k++)
                if (json_add_uint64(o, loss_keys[k], w->counts[k]) < 0)
                        return -ENOMEM;
        if (json_add_bool(o, "ongoing", open) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* The recent windows, oldest first. */
static int windows_to_json(const LossLedger *s, json_object **ret) {
        uint64_t n = MIN(s->loss_windows, (uint64_t) STATS_LOSS_WINDOWS_MAX);
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (uint64_t i = s->loss_windows - n; i < s->loss_windows; i++) {
                json_object *o;
                bool open = s->window_open && i == s->loss_windows - 1;
                if (window_to_json(&s->windows[i % STATS_LOSS_WINDOWS_MAX], open, &o) < 0 ||
                    json_append(a, o) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int engine_to_json(const EngineStats *e, json_object **ret) {
        char name[sizeof(e->name) + 1], socket[sizeof(e->socket) + 1],
                error[sizeof(e->last_error) + 1];
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        snprintf(name, sizeof(name), "%.*s", (int) sizeof(e->name), e->name);
        snprintf(socket, sizeof(socket), "%.*s", (int) sizeof(e->socket), e->socket);
        snprintf(error, sizeof(error), "%.*s", (int) sizeof(e->last_error), e->last_error);
        if (json_add_string(o, "name", name) < 0 || json_add_string(o, "socket", socket) < 0 ||
            json_add_string(o, "state", e->state ? e->state : "disabled") < 0 ||
            json_add_time_or_null(o, "since", e->since_ms) < 0 ||
            json_add_uint64(o, "connects", e->connects) < 0 ||
            json_add_uint64(o, "events", e->events) < 0 ||
            json_add_uint64(o, "inspects", e->inspects) < 0 ||
            json_add_uint64(o, "failures", e->failures) < 0 ||
            json_add_string(o, "last_error", error[0] ? error : NULL) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int engines_to_json(const Stats *s, json_object **ret) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_engines && i < STATS_ENGINES_MAX; i++) {
                json_object *e;
                if (engine_to_json(&s->engines[i], &e) < 0 || json_append(a, e) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int runtime_to_json(const RuntimeStats *rt, json_object **ret) {
        char name[sizeof(rt->name) + 1], directory[sizeof(rt->directory) + 1],
                error[sizeof(rt->last_error) + 1];
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        snprintf(name, sizeof(name), "%.*s", (int) sizeof(rt->name), rt->name);
        snprintf(directory, sizeof(directory), "%.*s", (int) sizeof(rt->directory), rt->directory);
        snprintf(error, sizeof(error), "%.*s", (int) sizeof(rt->last_error), rt->last_error);
        if (json_add_string(o, "name", name) < 0 ||
            json_add_string(o, "directory", directory) < 0 ||
            json_add_string(o, "state", rt->state ? rt->state : "disabled") < 0 ||
            json_add_time_or_null(o, "since", rt->since_ms) < 0 ||
            json_add_uint64(o, "containers", rt->containers) < 0 ||
            json_add_uint64(o, "ended", rt->ended) < 0 ||
            json_add_uint64(o, "too_large", rt->too_large) < 0 ||
            json_add_uint64(o, "malformed", rt->malformed) < 0 ||
            json_add_uint64(o, "refused", rt->refused) < 0 ||
            json_add_uint64(o, "inspects", rt->inspects) < 0 ||
            json_add_uint64(o, "failures", rt->failures) < 0 ||
            json_add_string(o, "last_error", error[0] ? error : NULL) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int runtimes_to_json(const Stats *s, json_object **ret) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_runtimes && i < STATS_RUNTIMES_MAX; i++) {
                json_object *rt;
                if (runtime_to_json(&s->runtimes[i], &rt) < 0 || json_append(a, rt) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

/* backfill, backfill_since, backfill_until, backfill_from, backfill_ignored, backfill_files,
 * backfill_records, backfill_denials */
static int backfill_to_json(const BackfillStats *b, json_object *o) {
        char state[sizeof(b->state) + 1], from[sizeof(b->from) + 1];

        snprintf(state, sizeof(state), "%.*s", (int) sizeof(b->state),
                 b->state[0] ? b->state : "off");
        snprintf(from, sizeof(from), "%.*s", (int) sizeof(b->from), b->from);
        if (json_add_string(o, "backfill", state) < 0 ||
            json_add_time_or_null(o, "backfill_since", b->since_ms) < 0 ||
            json_add_time_or_null(o, "backfill_until", b->until_ms) < 0 ||
            (from[0] ? json_add_string(o, "backfill_from", from)
                     : json_add_nullable(o, "backfill_from", NULL)) < 0 ||
            json_add_uint64(o, "backfill_ignored", b->ignored) < 0 ||
            json_add_uint64(o, "backfill_files", b->files) < 0 ||
            json_add_uint64(o, "backfill_records", b->ingest.records) < 0 ||
            json_add_uint64(o, "backfill_denials", b->ingest.outcomes[IMPORT_STORED]) < 0)
                return -ENOMEM;
        return 0;
}

/* store_failing, store_error, store_failing_since: the last two null unless failing. */
static int store_state_to_json(const Stats *s, json_object *o) {
        char error[sizeof(s->pipeline.store_error) + 1];

        snprintf(error, sizeof(error), "%.*s", (int) sizeof(s->pipeline.store_error),
                 s->pipeline.store_error);
        if (json_add_bool(o, "store_failing", s->pipeline.store_failing) < 0 ||
            json_add_string(o, "store_error", s->pipeline.store_failing ? error : NULL) < 0 ||
            (s->pipeline.store_failing
                     ? json_add_time(o, "store_failing_since", s->pipeline.store_failing_since_ms)
                     : json_add_nullable(o, "store_failing_since", NULL)) < 0)
                return -ENOMEM;
        return 0;
}

int stats_to_json(const Stats *s, json_object **ret) {
        const JsonCounter counters[] = {
                {"records_received", s->source.records_received},
                {"records_malformed", s->source.records_malformed + s->ingest.malformed},
                {"records_unstamped", s->ingest.unstamped},
                {"records_ignored", s->ingest.ignored},
                {"denials_seen", s->pipeline.denials_seen},
                {"denials_filtered", s->pipeline.denials_filtered},
                {"denials_stored", s->pipeline.denials_stored},
                {"denials_duplicate", s->pipeline.denials_duplicate},
                {"denials_coalesced", s->pipeline.denials_coalesced},
                {"denials_expired", s->pipeline.denials_expired},
                {"user_avc_from_containers", s->pipeline.user_avc_from_containers},
                {"denials_selftest", s->pipeline.denials_selftest},
                {"store_errors", s->pipeline.store_errors},
                {"events_lost", stats_events_lost(s)},
                {"netlink_enobufs", s->source.netlink_enobufs},
                {"netlink_dropped", s->losses.netlink_dropped},
                {"serials_missed", s->losses.serials_missed},
                {"denials_unstored", s->losses.denials_unstored},
                {"events_evicted", s->ingest.evicted},
                {"tail_subscribers", s->api.tail_subscribers},
                {"clients", s->api.clients},
                {"clients_cut", s->api.clients_cut},
                {"clients_timed_out", s->api.clients_timed_out},
                {"clients_evicted", s->api.clients_evicted},
                {"clients_refused", s->api.clients_refused},
                {"clients_unsent_bytes", s->api.clients_unsent_bytes},
                {"journal_forwarded", s->journal.journal_forwarded},
                {"journal_failed", s->journal.journal_failed},
                {"journal_queued", s->journal.journal_queued},
                {"registry_containers", s->registry_containers},
                {"proc_scans", s->proc_scan.proc_scans},
                {"proc_containers", s->proc_scan.proc_containers},
                {"verdict_escape", s->triage.verdicts[TRIAGE_VERDICT_ESCAPE]},
                {"verdict_isolation", s->triage.verdicts[TRIAGE_VERDICT_ISOLATION]},
                {"verdict_volume", s->triage.verdicts[TRIAGE_VERDICT_VOLUME]},
                {"verdict_boolean", s->triage.verdicts[TRIAGE_VERDICT_BOOLEAN]},
                {"verdict_policy", s->triage.verdicts[TRIAGE_VERDICT_POLICY]},
                {"triage_none", s->triage.untriaged},
                {"new_denials", s->pipeline.new_denials},
                {"baseline_untracked", s->pipeline.baseline_untracked},
                {"triage_pass_triaged", s->triage.pass_triaged},
        };
        char input[sizeof(s->source.input) + 1];
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *losses, *engines, *runtimes;

        if (!o || json_add_counters(o, counters, ELEMENTSOF(counters)) < 0)
                return -ENOMEM;
        snprintf(input, sizeof(input), "%.*s", (int) sizeof(s->source.input), s->source.input);
        if (json_add_string(o, "input", input) < 0 ||
            json_add_bool(o, "input_eof", s->source.input_eof) < 0 ||
            json_add_time(o, "started", s->started_ms) < 0 ||
            json_add_bool(o, "triage_pass_done", s->triage.pass_done) < 0 ||
            json_add_time_or_null(o, "triage_pass_until", s->triage.pass_until_ms) < 0 ||
            backfill_to_json(&s->backfill, o) < 0 || store_state_to_json(s, o) < 0 ||
            json_add_uint64(o, "loss_windows", s->losses.loss_windows) < 0 ||
            windows_to_json(&s->losses, &losses) < 0 || json_add(o, "losses", losses) < 0 ||
            engines_to_json(s, &engines) < 0 || json_add(o, "engines", engines) < 0 ||
            runtimes_to_json(s, &runtimes) < 0 || json_add(o, "runtimes", runtimes) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int stats_reply_to_json(const Stats *s, const StoreCounts *counts, json_object **ret) {
        const JsonCounter totals[] = {
                {"store_denials", counts->denials},       {"store_events", counts->events},
                {"store_signatures", counts->signatures}, {"store_bytes", counts->db_bytes},
                {"store_pruned", counts->pruned},
        };
        _cleanup_(json_object_putp) json_object *o = NULL;

        int r = stats_to_json(s, &o);
        if (r < 0)
                return r;
        if (json_add_counters(o, totals, ELEMENTSOF(totals)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}
