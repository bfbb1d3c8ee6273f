/* SPDX-License-Identifier: MIT */
#pragma once

/* Pipeline: what becomes of an assembled denial, whatever input it came from. It is the
 * DenialSink every Ingest hands its verdicts to (live input, gap backfill, imports): scope
 * filter -> expiry ([Retention] MaxAge=) -> attribution -> triage -> storm coalescing (live input)
 * -> the store's open batch; after each commit the batch's denials go to the tail subscribers and
 * the journal. Owned by the manager, which builds it and hands pipeline_sink() to the stages
 * that feed it; it calls forward only (attributor, registry, triage, coalescer, store, server,
 * journal), never back into the manager. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "attributor.h"
#include "config.h"
#include "importer.h"
#include "journal.h"
#include "macro.h"
#include "registry.h"
#include "server.h"
#include "sink.h"
#include "stats.h"
#include "store.h"
#include "triage.h"

typedef struct Pipeline Pipeline;

/* How often the open batch and the storms are looked at, while there are any. */
#define PIPELINE_TICK_USEC (50 * 1000)

/* stats: the pipeline's own counters; losses: where unstored denials are counted; api: read for
 * whether anyone is tailing. config: the running configuration (read on every denial, so a reload
 * applies at once); live: netlink or stdin input (storms are folded; batches of STORE_BATCH_ROWS).
 * Every pointer is borrowed and must outlive the pipeline. */
int pipeline_new(sd_event *e, const Config *config, bool live, Store *store, Attributor *attributor,
                 Registry *registry, Server *server, PipelineStats *stats, LossLedger *losses,
                 const ApiStats *api, Pipeline **ret);
/* Frees without storing what is pending: pipeline_flush() first. */
Pipeline *pipeline_free(Pipeline *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pipeline *, pipeline_free);

const DenialSink *pipeline_sink(Pipeline *p);
/* Committed denials are also sent there (NULL: none). */
void pipeline_set_journal(Pipeline *p, JournalWriter *journal);
/* Kept denials are triaged there, after attribution (NULL: not at all). */
void pipeline_set_triage(Pipeline *p, Triage *triage);
/* A server_new_importer_func: an import whose denials go into this pipeline. */
int pipeline_new_importer(void *userdata, Importer **ret);

/* Commits the open batch. */
int pipeline_commit(Pipeline *p);
/* The summaries of every storm, then a commit (end of input, shutdown). */
void pipeline_flush(Pipeline *p);
/* The store was found damaged outside a write (the background check): no more writes, said as
 * for SQLITE_CORRUPT in a commit (stats: store_failing, store_error). */
void pipeline_store_damaged(Pipeline *p);
