/* SPDX-License-Identifier: MIT */
#pragma once

/* Small readers of /proc shared by the attributor and the /proc scan. proc_root is "/proc"
 * except in tests. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_READ_MAX (16 * 1024) /* /proc/<pid>/{cgroup,stat} are small; cap what we read */

/* Reads at most size - 1 bytes of path (relative to dir_fd, or AT_FDCWD) and terminates them.
 * Returns the length or negative errno. */
ssize_t procfs_read(int dir_fd, const char *path, char *buf, size_t size);

/* The boot time in ms since the epoch (btime of <proc_root>/stat), -1 when unknown. */
int64_t procfs_boot_ms(const char *proc_root);

/* The start time in ms since the epoch of the process whose <pid>/stat text this is: field 22
 * (starttime, in clock ticks after boot), counted after the last ')' since comm may hold spaces
 * and parentheses. -EBADMSG when it does not parse. */
int procfs_stat_start_ms(const char *stat, int64_t boot_ms, long ticks_per_sec, int64_t *ret);
