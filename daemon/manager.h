/* SPDX-License-Identifier: MIT */
#pragma once

/* Manager: owns the event loop and wires the stages: source -> ingest (record parser, assembler)
 * -> pipeline (scope filter, attributor, coalescer, store batch) -> tail subscribers, and the API
 * server; the gap backfill and imports feed the same pipeline. */

#include "config-file.h"
#include "macro.h"

typedef struct Manager Manager;

/* Takes ownership of *config's contents (also on failure; *config is emptied). config_path is
 * re-read on SIGHUP (may be NULL; it must still exist if config_required), with overrides
 * (copied; may be NULL) applied again. */
int manager_new(Config *config, const char *config_path, bool config_required,
                const ConfigOverrides *overrides, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
int manager_run(Manager *m); /* until SIGTERM/SIGINT, or stdin's end; flushes first */
