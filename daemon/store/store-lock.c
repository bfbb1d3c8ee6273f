/* SPDX-License-Identifier: MIT */
/* The database's lock file (store-lock.h): one daemon per database. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-lock.h"

struct StoreLock {
        char *path;
        int fd;
};

/* The pid the holder wrote, 0 when there is none (yet). */
static pid_t read_holder(int fd) {
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        char *end;

        if (n <= 0)
                return 0;
        buf[n] = 0;
        errno = 0;
        long pid = strtol(buf, &end, 10); /* skips the leading blanks */
        if (errno != 0 || end == buf || (*end != '\n' && *end != 0) || pid <= 0 || pid > INT32_MAX)
                return 0;
        if (kill((pid_t) pid, 0) < 0 && errno == ESRCH)
                return 0; /* a previous holder's, not yet overwritten */
        return (pid_t) pid;
}

int store_lock_take(const char *db_path, StoreLock **ret, pid_t *ret_holder) {
        _cleanup_(store_lock_releasep) StoreLock *l = NULL;
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        char pid[32];
        int n;

        if (ret_holder)
                *ret_holder = 0;
        l = calloc(1, sizeof(StoreLock));
        if (!l)
                return -ENOMEM;
        l->fd = -EBADF;
        if (asprintf(&l->path, "%s.lock", db_path) < 0) {
                l->path = NULL;
                return -ENOMEM;
        }
        l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0640);
        if (l->fd < 0)
                return negative_errno();
        if (fcntl(l->fd, F_OFD_SETLK, &fl) < 0) {
                if (errno != EAGAIN && errno != EACCES)
                        return negative_errno();
                if (ret_holder)
                        *ret_holder = read_holder(l->fd);
                return -EBUSY;
        }
        /* Fixed width, written over the previous holder's: on a full file system a lock file
         * that exists needs no new block, so the real error is met where it belongs. */
        n = snprintf(pid, sizeof(pid), "%10d\n", (int) getpid());
        errno = 0;
        if (pwrite(l->fd, pid, n, 0) != n || ftruncate(l->fd, n) < 0)
                return errno ? negative_errno() : -EIO;
        *ret = TAKE_PTR(l);
        return 0;
}

const char *store_lock_path(const StoreLock *l) {
        return l ? l->path : NULL;
}

StoreLock *store_lock_release(StoreLock *l) {
        if (!l)
                return NULL;
        if (l->fd >= 0)
                (void) close(l->fd); /* the kernel drops the lock with the description */
        free(l->path);
        free(l);
        return NULL;
}
