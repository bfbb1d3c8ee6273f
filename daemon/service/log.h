/* SPDX-License-Identifier: MIT */
#pragma once

/* Daemon logging: to stderr, with sd-daemon(3) "<N>" priority prefixes when stderr is connected
 * to the journal (JOURNAL_STREAM) so that journald keeps the priority. Log once, where an error
 * is handled. Functions return the negative errno they were given, for `return log_error_errno(r,
 * ...)`. */

#include <syslog.h>

#include "macro.h"

void log_open(void);
void log_set_max_level(int level);
_printf_(3, 4) int log_full_errno(int level, int error, const char *fmt, ...);

#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error(...) ((void) log_full_errno(LOG_ERR, 0, __VA_ARGS__))
#define log_warning(...) ((void) log_full_errno(LOG_WARNING, 0, __VA_ARGS__))
#define log_notice(...) ((void) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__))
#define log_info(...) ((void) log_full_errno(LOG_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__))
