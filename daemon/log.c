/* SPDX-License-Identifier: MIT */
/* Logging to stderr; journald understands the "<N>" prefix on a stream connected to it, so the
 * daemon needs no journal-specific code for its own messages. %m in formats is the error given
 * (not errno), as in systemd's log_*_errno(). */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static bool prefix_priority = false;
static int max_level = LOG_INFO;

void log_open(void) {
        prefix_priority = getenv("JOURNAL_STREAM") != NULL;
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
