/* SPDX-License-Identifier: MIT */
/* The one-off triage pass (triage-pass.h).
 *
 * Direction: woken by its own timer; calls forward into the store (store_triage_step) and the
 * triage stage (triage_denial_again, which does not count the rows as newly kept denials).
 *
 * Decisions:
 * - Rows per step adapt to how long the last step took (halved over twice the target, doubled
 *   under half), and the store cuts a step at TRIAGE_PASS_STEP_MAX_USEC: the first question of
 *   a kind costs up to a few hundred microseconds (the boolean search), later ones hit the cache.
 * - Nothing to do without a policy: the timer looks again every minute, so a policy that comes
 *   later (a reload, a policy load) starts the pass without a hook into either.
 * - A store that is damaged (the pipeline's health) is left alone, as retention does.
 * - One log line when it starts and one when it is done, with what it cost the loop at most. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "triage-pass.h"

struct TriagePass {
        Store *store;
        Triage *triage;
        const PipelineStats *health;
        TriageStats *stats;
        sd_event_source *timer;
        unsigned rows;
        bool logged_start;
        uint64_t steps;
};

static unsigned next_rows(unsigned rows, uint64_t took_usec) {
        if (took_usec > 2 * TRIAGE_PASS_STEP_USEC)
                rows /= 2;
        else if (took_usec < TRIAGE_PASS_STEP_USEC / 2)
                rows *= 2;
        return MIN(MAX(rows, (unsigned) TRIAGE_PASS_ROWS_MIN), (unsigned) TRIAGE_PASS_ROWS_MAX);
}

static int pass_triage(Denial *d, void *userdata) {
        return triage_denial_again(userdata, d);
}

static void pass_arm(TriagePass *p, uint64_t usec) {
        (void) sd_event_source_set_time_relative(p->timer, usec);
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

static int pass_on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        TriagePass *p = userdata;
        StoreTriageStep step;

        if (p->health->store_damaged || !triage_enabled(p->triage)) {
                pass_arm(p, TRIAGE_PASS_IDLE_USEC);
                return 0;
        }
        if (!p->logged_start) {
                log_info("Triage: giving the denials stored before triage their reason, in "
                         "steps.");
                p->logged_start = true;
        }
        uint64_t t0 = now_monotonic_usec();
        int r = store_triage_step(p->store, p->rows, TRIAGE_PASS_STEP_MAX_USEC, pass_triage,
                                  p->triage, &step);
        uint64_t took = now_monotonic_usec() - t0;
        if (r < 0) {
                log_warning_errno(r, "Triage pass: failed to triage stored denials: %s",
                                  store_last_error(p->store));
                pass_arm(p, TRIAGE_PASS_IDLE_USEC);
                return 0;
        }
        p->steps++;
        p->rows = next_rows(p->rows, took);
        p->stats->pass_triaged += step.triaged;
        p->stats->pass_longest_usec = MAX(p->stats->pass_longest_usec, took);
        StoreTriageProgress progress;
        if (store_triage_progress(p->store, &progress) >= 0)
                p->stats->pass_until_ms = progress.until_ms;
        if (step.more) {
                pass_arm(p, TRIAGE_PASS_BUSY_USEC);
                return 0;
        }
        p->stats->pass_done = true;
        log_info("Triage pass done: %" PRIu64 " stored denials given a reason in %" PRIu64
                 " steps (the longest %.1f ms).",
                 p->stats->pass_triaged, p->steps, (double) p->stats->pass_longest_usec / 1000);
        return 0;
}

int triage_pass_new(sd_event *e, Store *store, Triage *triage, const PipelineStats *health,
                    TriageStats *stats, TriagePass **ret) {
        _cleanup_(triage_pass_freep) TriagePass *p = NULL;
        StoreTriageProgress progress;
        int r;

        if (!e || !store || !triage || !health || !stats || !ret)
                return -EINVAL;
        p = calloc(1, sizeof(TriagePass));
        if (!p)
                return -ENOMEM;
        *p = (TriagePass){
                .store = store,
                .triage = triage,
                .health = health,
                .stats = stats,
                .rows = TRIAGE_PASS_ROWS_MIN * 4,
        };
        r = store_triage_progress(store, &progress);
        if (r < 0)
                return r;
        stats->pass_done = progress.done;
        stats->pass_until_ms = progress.until_ms;
        r = sd_event_add_time_relative(e, &p->timer, CLOCK_MONOTONIC, TRIAGE_PASS_FIRST_USEC,
                                       100 * 1000, pass_on_timer, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(p->timer, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_description(p->timer, "triage-pass");
        (void) sd_event_source_set_enabled(p->timer,
                                           progress.done ? SD_EVENT_OFF : SD_EVENT_ONESHOT);
        *ret = TAKE_PTR(p);
        return 0;
}

TriagePass *triage_pass_free(TriagePass *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timer);
        free(p);
        return NULL;
}
