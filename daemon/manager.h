/* SPDX-License-Identifier: MIT */
#pragma once

/* Manager: owns the event loop and wires the stages: source -> record parser -> assembler ->
 * scope filter -> attributor -> store (batched) -> tail subscribers, and the API server. */

#include "config.h"
#include "macro.h"

typedef struct Manager Manager;

/* Settings given on the command line: they win over the file, also after a reload. NULL: not
 * given. */
typedef struct ConfigOverrides {
        const char *database;
        const char *socket;
        const char *input;
} ConfigOverrides;

/* Reads the configuration file at path on top of the defaults (a missing file gives the
 * defaults), then applies overrides (may be NULL). Logs and returns -EINVAL on an invalid
 * file. */
int manager_load_config(const char *path, const ConfigOverrides *overrides, Config *ret);

/* Takes ownership of *config's contents (also on failure; *config is emptied). config_path is
 * re-read on SIGHUP (may be NULL), with overrides (copied; may be NULL) applied again. */
int manager_new(Config *config, const char *config_path, const ConfigOverrides *overrides,
                Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
int manager_run(Manager *m); /* until SIGTERM/SIGINT, or stdin's end; flushes first */
