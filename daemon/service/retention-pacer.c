/* SPDX-License-Identifier: MIT */
/* Retention pacing (retention-pacer.h).
 *
 * Direction: woken by its own timer; calls forward into the store (store_prune) and the log
 * only. The manager creates it and tells it when a reload changed the limits.
 *
 * Decisions:
 * - One step of `rows` denials at most, then the loop serves everyone else: the next step follows
 *   soon while there is more to remove, else in a minute. The timer is at idle priority, below
 *   the input and the API: a step waits until they have been served.
 * - Rows per step adapt to how long the last step took, whatever the machine and the indexes
 *   cost per row.
 * - One log line per run of steps, with what it cost the loop at most. */

#include <errno.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "retention-pacer.h"

struct RetentionPacer {
        Store *store;
        const Config *config;
        const PipelineStats *stats; /* the pipeline's: is the store damaged? */
        sd_event_source *timer;
        unsigned rows; /* per step, adapted so that a step takes about its target */
        uint64_t removed, steps, longest_usec; /* this run */
};

/* Halved when a step took longer than twice the target, doubled when it took less than half,
 * within [STORE_PRUNE_ROWS_MIN, STORE_PRUNE_ROWS]. */
static unsigned retention_next_rows(unsigned rows, uint64_t took_usec) {
        if (took_usec > 2 * RETENTION_STEP_USEC)
                rows /= 2;
        else if (took_usec < RETENTION_STEP_USEC / 2)
                rows *= 2;
        return MIN(MAX(rows, (unsigned) STORE_PRUNE_ROWS_MIN), (unsigned) STORE_PRUNE_ROWS);
}

static bool retention_wanted(const RetentionPacer *p) {
        return p->config->max_age_ms > 0 || p->config->max_bytes > 0;
}

static int retention_on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        RetentionPacer *p = userdata;
        bool more = false;
        uint64_t next = RETENTION_INTERVAL_USEC;

        if (!retention_wanted(p))
                return 0;
        if (!p->stats->store_damaged) {
                uint64_t t0 = now_monotonic_usec();
                int r = store_prune(p->store, now_realtime_ms(), p->config->max_age_ms,
                                    p->config->max_bytes, p->rows, &more);
                uint64_t took = now_monotonic_usec() - t0;
                if (r > 0)
                        p->rows = retention_next_rows(p->rows, took);
                if (r < 0)
                        log_warning_errno(r, "Retention: failed to remove old denials: %s",
                                          store_last_error(p->store));
                if (r > 0) {
                        p->removed += (uint64_t) r;
                        p->steps++;
                        p->longest_usec = MAX(p->longest_usec, took);
                }
                if (more && r >= 0)
                        next = RETENTION_BUSY_USEC;
                else if (p->removed > 0) {
                        log_info("Retention: removed %" PRIu64 " old denials in %" PRIu64
                                 " steps (the longest %.1f ms); their counts stay in the "
                                 "aggregates.",
                                 p->removed, p->steps, (double) p->longest_usec / 1000);
                        p->removed = p->steps = 0;
                        p->longest_usec = 0;
                }
        }
        (void) sd_event_source_set_time_relative(p->timer, next);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
        return 0;
}

void retention_pacer_restart(RetentionPacer *p) {
        if (!p || !p->timer)
                return;
        if (!retention_wanted(p)) {
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(p->timer, RETENTION_FIRST_USEC);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

int retention_pacer_new(sd_event *e, Store *store, const Config *config, const PipelineStats *stats,
                        RetentionPacer **ret) {
        _cleanup_(retention_pacer_freep) RetentionPacer *p = NULL;
        int r;

        if (!e || !store || !config || !stats || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(RetentionPacer));
        if (!p)
                return -ENOMEM;
        *p = (RetentionPacer){
                .store = store,
                .config = config,
                .stats = stats,
                .rows = STORE_PRUNE_ROWS_MIN * 4,
        };
        r = sd_event_add_time_relative(e, &p->timer, CLOCK_MONOTONIC, RETENTION_FIRST_USEC,
                                       100 * 1000, retention_on_timer, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(p->timer, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_description(p->timer, "retention");
        retention_pacer_restart(p);
        *ret = TAKE_PTR(p);
        return 0;
}

RetentionPacer *retention_pacer_free(RetentionPacer *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timer);
        free(p);
        return NULL;
}
