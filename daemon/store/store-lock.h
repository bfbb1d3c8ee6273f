/* SPDX-License-Identifier: MIT */
#pragma once

/* One daemon per database: a lock file beside it, "<database>.lock", locked for as long as the
 * store is open. A second avcwatchd on the same database is refused before it opens (or creates)
 * anything, and told who holds the lock.
 *
 * Decisions:
 * - A lock file, not SQLite's locking_mode=EXCLUSIVE: that would also shut out the daemon's own
 *   read-only query connection (and an administrator's sqlite3 shell), and it is only taken at
 *   the first write, after two daemons have both started.
 * - An open file description lock (F_OFD_SETLK) on the whole file: the kernel drops it when the
 *   holder dies, also by SIGKILL, so a stale lock never outlives its process; and unlike a
 *   classic POSIX lock it is not lost when the process closes some other descriptor of the file.
 * - F_OFD_GETLK does not say who holds a lock, so the holder writes its pid into the file once
 *   it has it. The pid is read only while the lock is held, so a pid left by a dead holder is
 *   not reported (it is overwritten by the next one; in the instant between the lock and the
 *   write the previous pid is still there: one that is no process is not reported). The pid is
 *   as the holder's pid namespace numbers it.
 * - The file is never removed: removing it while another process has it open would let two
 *   processes lock two different files of the same name. */

#include <sys/types.h>

#include "macro.h"

typedef struct StoreLock StoreLock;

/* Creates (mode 0640 with the umask) and locks "<db_path>.lock". -EBUSY when another process
 * holds it: *ret_holder is then its pid (0 when it is not known: the holder has not written it
 * yet, or what the file says is no process). Other errors are those of open(2) on the lock file
 * (its path is "<db_path>.lock"), or of fcntl(2). */
int store_lock_take(const char *db_path, StoreLock **ret, pid_t *ret_holder);
/* The lock file's path, as taken. */
const char *store_lock_path(const StoreLock *l);
StoreLock *store_lock_release(StoreLock *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreLock *, store_lock_release);
