/* SPDX-License-Identifier: MIT */
/* Readers of /proc: bounded reads, the boot time, a process's start time. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "procfs.h"

ssize_t procfs_read(int dir_fd, const char *path, char *buf, size_t size) {
        _cleanup_(closep) int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        size_t len = 0;

        if (size == 0)
                return -EINVAL;
        if (fd < 0)
                return negative_errno();
        while (len < size - 1) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                len += n;
        }
        buf[len] = 0;
        return (ssize_t) len;
}

int64_t procfs_boot_ms(const char *proc_root) {
        char path[512], buf[PROCFS_READ_MAX];

        snprintf(path, sizeof(path), "%s/stat", proc_root);
        if (procfs_read(AT_FDCWD, path, buf, sizeof(buf)) < 0)
                return -1;
        const char *p = strstr(buf, "\nbtime ");
        if (!p)
                return -1;
        return strtoll(p + 7, NULL, 10) * 1000;
}

int procfs_stat_start_ms(const char *stat, int64_t boot_ms, long ticks_per_sec, int64_t *ret) {
        const char *p = strrchr(stat, ')');

        if (!p || boot_ms < 0 || ticks_per_sec <= 0)
                return -EBADMSG;
        p++;
        /* After ')': field 3 (state) is the first; starttime is field 22 -> skip 19 fields. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EBADMSG;
        }
        unsigned long long ticks = strtoull(p + 1, NULL, 10);
        *ret = boot_ms + (int64_t) (ticks * 1000 / (unsigned long long) ticks_per_sec);
        return 0;
}
