/* SPDX-License-Identifier: MIT */
#pragma once

/* Attributor: names the container behind a denial. First the live pid's cgroup
 * (/proc/<pid>/cgroup), exact and engine-agnostic; then, with a registry, MCS + time
 * (registry_resolve_denial). proc_root is "/proc" except in tests. */

#include "denial.h"

typedef struct Attributor Attributor;
typedef struct Registry Registry;

int attributor_new(const char *proc_root, Attributor **ret);
Attributor *attributor_free(Attributor *a);

/* Uses registry (borrowed, may be NULL) to name containers and to resolve by MCS + time. */
void attributor_set_registry(Attributor *a, Registry *registry);

/* Sets d->container / d->attribution (ATTRIBUTION_NONE when unknown) and d->target_container. */
int attributor_resolve(Attributor *a, Denial *d);
