/* SPDX-License-Identifier: MIT */
/* Logging to stderr; journald understands the "<N>" prefix on a stream connected to it, so the
 * daemon needs no journal-specific code for its own messages and each one keeps its priority
 * (journalctl -u avcwatchd -p warning). The prefix is used only when stderr really is the
 * journal stream named by $JOURNAL_STREAM ("<device>:<inode>", set by systemd): a shell started
 * from a service inherits the variable with its stderr pointing elsewhere. %m in formats is the
 * error given (not errno), as in systemd's log_*_errno(). */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static bool prefix_priority = false;
static int max_level = LOG_INFO;

static bool stderr_is_journal_stream(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int n = 0;

        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != 0)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_open(void) {
        prefix_priority = stderr_is_journal_stream();
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_full_errno(int level, int error, const char *fmt, ...) {
        int saved = errno;
        va_list ap;

        if (error < 0)
                error = -error;
        if (level <= max_level) {
                char buf[2048];
                errno = error;
                va_start(ap, fmt);
                vsnprintf(buf, sizeof(buf), fmt, ap);
                va_end(ap);
                if (prefix_priority)
                        fprintf(stderr, "<%d>%s\n", level, buf);
                else
                        fprintf(stderr, "avcwatchd: %s\n", buf);
        }
        errno = saved;
        return -error;
}
