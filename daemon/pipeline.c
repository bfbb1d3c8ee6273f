/* SPDX-License-Identifier: MIT */
/* Pipeline (pipeline.h): scope filter, expiry, attribution, coalescing, batching and commit, and
 * the fan-out of committed denials.
 *
 * Direction: fed through its DenialSink by the ingests (live, backfill, import), it calls
 * forward only: the domain filter, the attributor or the registry, the coalescer, the store, and
 * after a commit the server's tail subscribers and the journal writer. Nothing here calls the
 * manager: the manager only decides when to flush (end of input, shutdown).
 *
 * Decisions:
 * - SQLite writes are batched (STORE_BATCH_ROWS rows or STORE_BATCH_USEC) so that one fsync
 *   covers hundreds of denials; a one-shot tick runs only while a batch is open or storms are
 *   followed, so an idle daemon does not wake up.
 * - Tail subscribers and the journal see a denial once it is committed: what `tail -f` shows is
 *   exactly what a later `query` returns. A copy is kept for them only when there are any:
 *   imports and quiet hosts pay nothing for the live tail.
 * - A failing store does not stop the daemon: every denial that could not be written is counted
 *   (denials_unstored, a loss window), the first failure of a run is logged with SQLite's reason,
 *   and each batch tries again. A file SQLite calls corrupt is not written to again, nor one
 *   deleted or replaced under the daemon (the store refuses it: -ESTALE, until a restart).
 * - Each stored denial of the live input (netlink, stdin) and its backfill is judged against
 *   its image's baseline (store_baseline_note); one whose signature is new there is counted
 *   (new_denials) and, after its commit, also sent to the journal as a new-denial entry.
 *   Imports and --input FILE are history, not news: they neither read nor grow the baseline.
 * - The denials of the kernel's live input move the store's live position (store_note_live):
 *   where the next start's gap backfill begins, whatever dates imported data carries. */

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "clock.h"
#include "coalescer.h"
#include "domain-filter.h"
#include "log.h"
#include "pipeline.h"
#include "selftest.h"

#define PENDING_DENIALS_MAX (STORE_BATCH_ROWS * 2)

struct Pipeline {
        const Config *config;
        bool live;
        bool netlink; /* the live input is the kernel's: its denials move the store's live position
                       */
        Store *store;
        Attributor *attributor;
        Triage *triage; /* borrowed; NULL: no triage */
        Registry *registry;
        Server *server;
        JournalWriter *journal;
        Coalescer *coalescer; /* live storms of identical denials folded, counted exactly */
        PipelineStats *stats; /* its own counters */
        LossLedger *losses;   /* denials that could not be stored */
        const ApiStats *api;  /* read: is anyone tailing? */
        DenialSink sink;
        sd_event_source *tick;
        sd_event_source *store_dir; /* inotify: the database's directory (files deleted, moved) */
        Denial *pending;            /* stored in the open batch, broadcast after commit */
        bool *pending_new;          /* whose signature is new for its baseline: an event too */
        size_t n_pending;
        uint64_t baseline_untracked_logged; /* baseline_untracked when last logged */
        uint64_t baseline_log_usec;
        uint64_t batch_started_usec;
        int64_t batch_started_ms;           /* wall clock: the loss window of a batch that fails */
        uint64_t store_unstored_at_failure; /* denials_unstored when the store started failing */
};

/* A write to the store failed and took rows denials with it: counted and put in a loss window;
 * the first failure of a run of them is logged, with SQLite's reason. */
static void pipeline_store_failed(Pipeline *p, int r, uint64_t rows, int64_t since_ms) {
        const char *why = store_last_error(p->store);
        char detail[STATS_STORE_ERROR_MAX];

        p->stats->store_errors++;
        if (p->stats->store_damaged)
                snprintf(detail, sizeof(detail), "the database is damaged; not writing to it");
        else
                snprintf(detail, sizeof(detail), "%s", why && why[0] ? why : strerror(-r));
        if (r == -EBADMSG && !p->stats->store_damaged) {
                /* SQLite found the file corrupt: writing on would spread the damage. */
                p->stats->store_damaged = true;
                log_error("The store '%s' is damaged (%s): no more writes to it. Reading and "
                          "counting go on; move the file aside and restart avcwatchd.",
                          p->config->database, detail);
        }
        if (!p->stats->store_failing) {
                p->stats->store_failing = true;
                p->stats->store_failing_since_ms = now_realtime_ms();
                p->store_unstored_at_failure = p->losses->denials_unstored;
                if (r == -ESTALE) /* the file was deleted or replaced: not retried */
                        log_error("The store '%s' is gone: %s. Reading and counting go on; "
                                  "every denial is counted as not stored until then.",
                                  p->config->database, detail);
                else
                        log_error("Failed to write to the store '%s': %s. Reading and counting "
                                  "go on; writes are retried with every batch.",
                                  p->config->database, detail);
        }
        memcpy(p->stats->store_error, detail, sizeof(detail));
        if (rows > 0)
                stats_add_loss(p->losses, LOSS_UNSTORED, rows, since_ms, now_realtime_ms(),
                               now_monotonic_usec(), detail);
}

static void pipeline_store_ok(Pipeline *p) {
        if (!p->stats->store_failing)
                return;
        log_notice("The store '%s' takes writes again, after %.1f s; %" PRIu64
                   " denials could not be stored meanwhile.",
                   p->config->database,
                   (double) (now_realtime_ms() - p->stats->store_failing_since_ms) / 1000.0,
                   p->losses->denials_unstored - p->store_unstored_at_failure);
        p->stats->store_failing = false;
        p->stats->store_error[0] = 0;
}

static void drop_pending(Pipeline *p) {
        for (size_t i = 0; i < p->n_pending; i++)
                denial_done(&p->pending[i]);
        p->n_pending = 0;
}

/* A write of the registry's (engine events, the /proc scan, attribution) that the store saw fail:
 * the same failing state as a failed batch, with the rows it took from the open batch. */
static void pipeline_check_store(Pipeline *p) {
        int r = store_take_failure(p->store);
        if (r >= 0)
                return;
        uint64_t lost = store_take_lost(p->store);
        if (lost > 0)
                drop_pending(p);
        pipeline_store_failed(p, r, lost, p->batch_started_ms);
}

/* Something was deleted, moved or created next to the database: is the store's file still ours?
 * (Without denials to commit nobody would notice, and what a deleted -wal held would go with the
 * next kill -9.) No timer: an idle daemon does not wake up for this. */
static int pipeline_on_store_dir(sd_event_source *s, const struct inotify_event *ev,
                                 void *userdata) {
        Pipeline *p = userdata;
        uint64_t pending = store_pending_denials(p->store);
        int r;

        r = store_check_files(p->store);
        if (r < 0 && (pending > 0 || !p->stats->store_failing)) { /* else: said already */
                drop_pending(p);
                pipeline_store_failed(p, r, pending, p->batch_started_ms);
        }
        return 0;
}

static void pipeline_watch_store_dir(sd_event *e, Pipeline *p) {
        _cleanup_(freep) char *copy = NULL;
        int r;

        if (!p->config->database || !(copy = strdup(p->config->database)))
                return;
        r = sd_event_add_inotify(e, &p->store_dir, dirname(copy),
                                 IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE |
                                         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR,
                                 pipeline_on_store_dir, p);
        if (r < 0) /* the check before each commit remains */
                log_full_errno(LOG_DEBUG, r, "Cannot watch the directory of '%s': %m",
                               p->config->database);
        else
                (void) sd_event_source_set_description(p->store_dir, "store-dir");
}

int pipeline_commit(Pipeline *p) {
        uint64_t duplicates = 0;
        int r;

        pipeline_check_store(p);
        if (store_pending(p->store) == 0 && p->n_pending == 0)
                return 0;
        size_t rows = store_pending(p->store);
        uint64_t denials = store_pending_denials(p->store);
        r = store_commit(p->store, &duplicates);
        if (r < 0) {
                pipeline_store_failed(p, r, denials, p->batch_started_ms);
                drop_pending(p);
                return r;
        }
        if (rows > 0)
                pipeline_store_ok(p);
        p->stats->denials_stored += r;
        p->stats->denials_coalesced += store_take_committed_folded(p->store);
        p->stats->denials_duplicate += duplicates;
        p->stats->new_denials += store_take_committed_new(p->store);
        for (size_t i = 0; i < p->n_pending; i++) {
                if (p->api->tail_subscribers > 0)
                        server_broadcast(p->server, &p->pending[i]);
                if (p->journal) {
                        /* the news first: a reader that has the denial has its news too */
                        if (p->pending_new[i])
                                (void) journal_writer_submit_new_denial(p->journal, &p->pending[i]);
                        (void) journal_writer_submit_denial(p->journal, &p->pending[i]);
                }
        }
        drop_pending(p);
        return 0;
}

void pipeline_flush(Pipeline *p) {
        if (!p)
                return;
        coalescer_flush(p->coalescer);
        (void) pipeline_commit(p);
}

static void pipeline_arm_tick(Pipeline *p) {
        int enabled = SD_EVENT_OFF;

        sd_event_source_get_enabled(p->tick, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        sd_event_source_set_time_relative(p->tick, PIPELINE_TICK_USEC);
        sd_event_source_set_enabled(p->tick, SD_EVENT_ONESHOT);
}

static int pipeline_on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Pipeline *p = userdata;
        uint64_t now = now_monotonic_usec();

        if (p->live) /* storms that stopped: their last summaries */
                (void) coalescer_expire(p->coalescer, now_realtime_ms());
        if (store_pending(p->store) > 0 && now - p->batch_started_usec >= STORE_BATCH_USEC)
                (void) pipeline_commit(p);
        else
                pipeline_check_store(p);
        if ((p->live && coalescer_keys(p->coalescer) > 0) || store_pending(p->store) > 0)
                pipeline_arm_tick(p);
        return 0;
}

/* Whether the stored live denial d brings a signature new to its image's baseline. One the
 * baseline cannot judge (full, or unreadable) is counted, and said at most once a minute. */
static bool pipeline_baseline_note(Pipeline *p, const Denial *d) {
        int r = store_baseline_note(p->store, d);
        if (r >= 0 || r == -ENODATA) /* no signature: no type, nothing to compare */
                return r > 0;
        p->stats->baseline_untracked += MAX(d->count, 1);
        uint64_t now = now_monotonic_usec();
        if (p->baseline_log_usec != 0 && now - p->baseline_log_usec < 60ULL * 1000 * 1000)
                return false;
        if (r == -ENOSPC)
                log_warning("The baseline holds %d signatures per image, its bound: %" PRIu64
                            " live denial%s of signatures it does not hold could not be judged "
                            "new or known (baseline_untracked; logged at most once a minute).",
                            STORE_BASELINE_MAX,
                            p->stats->baseline_untracked - p->baseline_untracked_logged,
                            p->stats->baseline_untracked - p->baseline_untracked_logged == 1 ? ""
                                                                                             : "s");
        else
                log_warning_errno(r,
                                  "Failed to read the baseline of signatures: %" PRIu64
                                  " live denial%s not judged new or known (baseline_untracked; "
                                  "logged at most once a minute): %m",
                                  p->stats->baseline_untracked - p->baseline_untracked_logged,
                                  p->stats->baseline_untracked - p->baseline_untracked_logged == 1
                                          ? ""
                                          : "s");
        p->baseline_log_usec = now;
        p->baseline_untracked_logged = p->stats->baseline_untracked;
        return false;
}

/* Stores d as a row of its own (a storm's summary too). imported: from `avcctl import` (history:
 * not for tail subscribers nor the journal). Returns what became of it, or < 0 (out of memory). */
static int pipeline_store_row(Pipeline *p, Denial *d, bool imported) {
        int r, added;

        if (store_pending(p->store) == 0) {
                p->batch_started_usec = now_monotonic_usec();
                p->batch_started_ms = now_realtime_ms();
        }
        if (p->stats->store_damaged) {
                pipeline_store_failed(p, -EUCLEAN, MAX(d->count, 1), now_realtime_ms());
                return IMPORT_LOST;
        }
        r = added = store_add(p->store, d);
        if (r < 0) {
                /* This denial is lost; when SQLite gave the transaction up, the rows already in
                 * the batch are too (and their copies for the subscribers go). */
                uint64_t lost = store_take_lost(p->store);
                if (lost > 0)
                        drop_pending(p);
                pipeline_store_failed(p, r, MAX(d->count, 1) + lost, now_realtime_ms());
                return IMPORT_LOST;
        }
        if (p->netlink && !imported)
                store_note_live(p->store, d->time_ms); /* where the next start's backfill begins */
        /* News only: the live input's (netlink, stdin) and its backfill's (what came while we
         * were down); an import or a file read with --input FILE is history. */
        bool is_new = added > 0 && !imported && p->live && pipeline_baseline_note(p, d);
        if (added > 0 && !imported && (p->api->tail_subscribers > 0 || p->journal) &&
            p->n_pending < PENDING_DENIALS_MAX) {
                r = denial_copy(d, &p->pending[p->n_pending]);
                if (r < 0)
                        return log_error_errno(r, "Out of memory.");
                p->pending_new[p->n_pending] = is_new;
                p->n_pending++;
        }
        if (store_pending(p->store) >= (p->live ? STORE_BATCH_ROWS : STORE_BATCH_ROWS_IMPORT) ||
            p->n_pending >= PENDING_DENIALS_MAX)
                (void) pipeline_commit(p);
        pipeline_arm_tick(p);
        return added > 0 ? IMPORT_STORED : IMPORT_DUPLICATE;
}

/* A storm's summary from the coalescer: the last folded denial, standing for d->count. */
static int pipeline_on_coalesced(Denial *d, void *userdata) {
        int r = pipeline_store_row(userdata, d, false);
        return r < 0 ? r : 0;
}

/* A released verdict: keep it if it is a container denial, name its container, fold it into a
 * storm or store it. The live input's pids are asked first (on netlink and stdin, where they are
 * recent), the backfill's too (the attributor does not trust a process younger than the denial);
 * an imported file's pids are long gone (or reused): only the registry's history of categories
 * and lifetimes can name those. */
static int pipeline_keep(void *userdata, Denial *d, DenialOrigin origin) {
        Pipeline *p = userdata;
        bool imported = origin == DENIAL_IMPORT;
        bool by_pid = origin == DENIAL_BACKFILL || (origin == DENIAL_LIVE && p->live);
        int r;

        p->stats->denials_seen++;
        if (!domain_filter_wants(&p->config->domains, d->source_type, d->target_mcs)) {
                p->stats->denials_filtered++;
                return IMPORT_FILTERED;
        }
        /* Older than the retention keeps (an old log): it would be removed at once. */
        if (p->config->max_age_ms > 0 &&
            store_is_expired(d->time_ms, now_realtime_coarse_ms(), p->config->max_age_ms)) {
                p->stats->denials_expired++;
                return IMPORT_EXPIRED;
        }

        if (p->live && !imported)
                store_prefetch(p->store, d); /* the strings cache's slots, while we attribute */
        r = by_pid ? attributor_resolve(p->attributor, d) : registry_resolve_denial(p->registry, d);
        if (r < 0)
                log_warning_errno(r, "Failed to attribute a denial, storing it unattributed: %m");
        if (d->attribution == ATTRIBUTION_SENDER)
                p->stats->user_avc_from_containers++;
        /* avcctl selftest's own denial, when the daemon can vouch for it (ingest/selftest.c) */
        r = selftest_mark(d, &p->config->domains, by_pid);
        if (r < 0)
                return r;
        if (r > 0)
                p->stats->denials_selftest++;

        /* Why the policy refused it and what that means (triage.h): a cache lookup per denial
         * once its kind has been seen. Before coalescing, so a storm's summary carries it. */
        if (p->triage) {
                r = triage_denial(p->triage, d);
                if (r < 0)
                        log_warning_errno(r, "Failed to triage a denial, storing it untriaged: %m");
        }

        /* Storms are folded on live input, where they could make the daemon fall behind; an
         * import keeps every row, at its own pace. */
        if (p->live && !imported) {
                r = coalescer_add(p->coalescer, d);
                if (r == 0) {
                        pipeline_arm_tick(p); /* counted; its window's summary is stored */
                        return IMPORT_FOLDED;
                }
                if (r < 0)
                        log_warning_errno(r,
                                          "Failed to coalesce a denial, storing it as it is: %m");
        }
        return pipeline_store_row(p, d, imported);
}

/* The end of an import or of the backfill: storms that are over are summarised, and the batch
 * is committed. */
static int pipeline_sink_commit(void *userdata) {
        Pipeline *p = userdata;

        if (p->live)
                (void) coalescer_expire(p->coalescer, now_realtime_ms());
        return pipeline_commit(p);
}

/* The kernel loaded a policy or changed a boolean: read the policy again (the configured file
 * too: `semodule -i` rewrites the file the kernel then loads). */
static void pipeline_policy_changed(void *userdata) {
        Pipeline *p = userdata;

        if (p->triage &&
            triage_reload(p->triage, p->config->triage_policy, "policy load record") < 0)
                log_error("Out of memory reloading the triage policy; triage is off.");
}

static int pipeline_raw_dictionary(void *userdata, int64_t *ret_id, void **ret, size_t *ret_len) {
        Pipeline *p = userdata;
        return store_raw_dictionary(p->store, ret_id, ret, ret_len);
}

/* A dictionary trained by the reader thread: the open batch is committed first, so that the
 * dictionary is committed on its own and no rollback of a batch can take it away from the rows
 * packed with it later. */
static int pipeline_add_raw_dictionary(void *userdata, const void *dict, size_t len,
                                       int64_t *ret_id) {
        Pipeline *p = userdata;
        int r;

        if (p->stats->store_damaged)
                return -EUCLEAN;
        r = pipeline_commit(p);
        if (r < 0)
                return r;
        return store_add_raw_dictionary(p->store, dict, len, ret_id);
}

static uint64_t pipeline_store_errors(void *userdata) {
        Pipeline *p = userdata;
        return p->stats->store_errors;
}

int pipeline_new(sd_event *e, const Config *config, bool live, Store *store, Attributor *attributor,
                 Registry *registry, Server *server, PipelineStats *stats, LossLedger *losses,
                 const ApiStats *api, Pipeline **ret) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        int r;

        if (!e || !config || !store || !attributor || !registry || !stats || !losses || !api ||
            !ret)
                return -EINVAL;
        p = calloc(1, sizeof(Pipeline));
        if (!p)
                return -ENOMEM;
        *p = (Pipeline){
                .config = config,
                .live = live,
                .netlink = config->input && strcmp(config->input, "netlink") == 0,
                .store = store,
                .attributor = attributor,
                .registry = registry,
                .server = server,
                .stats = stats,
                .losses = losses,
                .api = api,
                .sink = {.keep = pipeline_keep,
                         .commit = pipeline_sink_commit,
                         .store_errors = pipeline_store_errors,
                         .policy_changed = pipeline_policy_changed,
                         .raw_dictionary = pipeline_raw_dictionary,
                         .add_raw_dictionary = pipeline_add_raw_dictionary,
                         .userdata = p},
        };
        p->pending = calloc(PENDING_DENIALS_MAX, sizeof(Denial));
        p->pending_new = calloc(PENDING_DENIALS_MAX, sizeof(bool));
        if (!p->pending || !p->pending_new)
                return -ENOMEM;
        r = coalescer_new(pipeline_on_coalesced, p, &p->coalescer);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(e, &p->tick, CLOCK_MONOTONIC, PIPELINE_TICK_USEC, 10 * 1000,
                                       pipeline_on_tick, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->tick, "pipeline-batch");
        (void) sd_event_source_set_enabled(p->tick, SD_EVENT_OFF);
        pipeline_watch_store_dir(e, p);
        *ret = TAKE_PTR(p);
        return 0;
}

Pipeline *pipeline_free(Pipeline *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->tick);
        sd_event_source_disable_unref(p->store_dir);
        coalescer_free(p->coalescer);
        if (p->pending) {
                drop_pending(p);
                free(p->pending);
        }
        free(p->pending_new);
        free(p);
        return NULL;
}

const DenialSink *pipeline_sink(Pipeline *p) {
        return &p->sink;
}

void pipeline_set_triage(Pipeline *p, Triage *triage) {
        p->triage = triage;
}

void pipeline_set_journal(Pipeline *p, JournalWriter *journal) {
        p->journal = journal;
}

int pipeline_new_importer(void *userdata, Importer **ret) {
        Pipeline *p = userdata;
        return importer_new(&p->sink, ret);
}

void pipeline_store_damaged(Pipeline *p) {
        if (p)
                pipeline_store_failed(p, -EBADMSG, 0, now_realtime_ms());
}
