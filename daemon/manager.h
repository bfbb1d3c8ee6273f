/* SPDX-License-Identifier: MIT */
#pragma once

/* Manager: owns the event loop and wires the stages: source -> record parser -> assembler ->
 * scope filter -> attributor -> store (batched) -> tail subscribers, and the API server. */

#include "config.h"

typedef struct Manager Manager;

int manager_new(const Config *config, Manager **ret);
Manager *manager_free(Manager *m);
int manager_run(Manager *m); /* until SIGTERM/SIGINT, or stdin's end; flushes first */
