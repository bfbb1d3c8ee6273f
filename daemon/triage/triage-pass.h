/* SPDX-License-Identifier: MIT */
#pragma once

/* The one-off triage pass: the denials stored before triage existed get their reason, booleans
 * and verdict from the policy in use (store_triage_step), in steps paced from the daemon's loop
 * like retention: at idle priority, each step sized to take about TRIAGE_PASS_STEP_USEC and cut
 * at TRIAGE_PASS_STEP_MAX_USEC whatever its size, so the loop (and the audit socket behind it)
 * never waits long. It waits while triage is off (no policy) and stops for good once the store
 * says it reached the end. Progress is in stats (triage_pass_*) and in the store (a restart goes
 * on from where it got to). */

#include <systemd/sd-event.h>

#include "macro.h"
#include "stats.h"
#include "store.h"
#include "triage.h"

typedef struct TriagePass TriagePass;

#define TRIAGE_PASS_FIRST_USEC (3 * 1000 * 1000) /* after start-up */
#define TRIAGE_PASS_BUSY_USEC (20 * 1000)        /* between two steps */
#define TRIAGE_PASS_STEP_USEC (10 * 1000)        /* what one step is meant to take */
#define TRIAGE_PASS_STEP_MAX_USEC (40 * 1000)    /* a step stops reading rows after this */
#define TRIAGE_PASS_IDLE_USEC (60 * 1000 * 1000) /* looks again while triage is off */
#define TRIAGE_PASS_ROWS_MIN 16
#define TRIAGE_PASS_ROWS_MAX 4096

/* store, triage, stats: borrowed (stats->pass_* are written). Reads the store's progress and,
 * when the pass is not done, arms its timer. */
int triage_pass_new(sd_event *e, Store *store, Triage *triage, const PipelineStats *store_health,
                    TriageStats *stats, TriagePass **ret);
TriagePass *triage_pass_free(TriagePass *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(TriagePass *, triage_pass_free);
