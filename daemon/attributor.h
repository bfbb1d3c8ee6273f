/* SPDX-License-Identifier: MIT */
#pragma once

/* Attributor: names the container behind a denial. In this version: the live pid's cgroup
 * (/proc/<pid>/cgroup), exact and engine-agnostic; the MCS + time registry comes with the
 * registry. proc_root is "/proc" except in tests. */

#include "denial.h"

typedef struct Attributor Attributor;

int attributor_new(const char *proc_root, Attributor **ret);
Attributor *attributor_free(Attributor *a);

/* Sets d->container / d->attribution (ATTRIBUTION_NONE when unknown). */
int attributor_resolve(Attributor *a, Denial *d);
