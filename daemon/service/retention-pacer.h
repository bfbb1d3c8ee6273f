/* SPDX-License-Identifier: MIT */
#pragma once

/* Retention pacing ([Retention] MaxAge=, MaxSize=): the store removes the oldest denials in
 * steps (store_prune); this drives those steps from a timer at idle priority on the daemon's
 * loop, sized so that one step takes about RETENTION_STEP_USEC, so the loop (and the audit
 * socket behind it) never waits long on retention. */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"
#include "stats.h"
#include "store.h"

typedef struct RetentionPacer RetentionPacer;

#define RETENTION_FIRST_USEC (2 * 1000 * 1000)     /* after start-up or a reload */
#define RETENTION_BUSY_USEC (20 * 1000)            /* between two steps while pruning */
#define RETENTION_STEP_USEC (10 * 1000)            /* what one step is meant to take */
#define RETENTION_INTERVAL_USEC (60 * 1000 * 1000) /* checks when there was nothing to do */

/* config: the running configuration (its limits are read at each step); store_health: the
 * pipeline's counters, read only, to leave a damaged store alone. All borrowed. The first step
 * is RETENTION_FIRST_USEC away. */
int retention_pacer_new(sd_event *e, Store *store, const Config *config,
                        const PipelineStats *store_health, RetentionPacer **ret);
RetentionPacer *retention_pacer_free(RetentionPacer *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(RetentionPacer *, retention_pacer_free);

/* The limits changed (a reload): the next step in RETENTION_FIRST_USEC, or none without limits. */
void retention_pacer_restart(RetentionPacer *p);
