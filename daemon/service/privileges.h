/* SPDX-License-Identifier: MIT */
#pragma once

/* Privileges: once the daemon holds what needed privilege (the audit multicast socket bound,
 * the store open, the API socket listening), it gives up every capability it was started with,
 * so that whatever a hostile record or request might make of it later runs without any. See
 * docs/systemd.md for why none is kept. */

#include <stdint.h>

/* Capabilities kept after start-up, as a bit mask of CAP_* numbers: none.
 * - CAP_AUDIT_READ is checked only by bind() on the audit multicast group;
 * - /proc/<pid>/{cgroup,stat,attr/current} of other users' processes are world-readable;
 * - the engines' API sockets (root:docker, root:root) are reached by the uid (root owns them),
 *   not by a capability;
 * - journald's socket is world-writable. */
#define PRIVILEGES_KEEP ((uint64_t) 0)

/* Clears the ambient set, drops from the bounding set whatever is not in keep (when allowed:
 * CAP_SETPCAP), reduces permitted and effective to keep, clears inheritable, and sets
 * no_new_privs. Returns 0 and the capabilities still permitted in *ret_permitted (may be NULL),
 * or a negative errno when the kernel refused (the daemon must then not go on). */
int privileges_drop(uint64_t keep, uint64_t *ret_permitted);

/* The current permitted/effective/bounding sets (bit masks); any output may be NULL. */
int privileges_get(uint64_t *ret_permitted, uint64_t *ret_effective, uint64_t *ret_bounding);
