/* SPDX-License-Identifier: MIT */
#pragma once

/* Time specifications for --since/--until, like journalctl's: "now", "today", "yesterday",
 * "tomorrow", a weekday ("tuesday", "tue": the last one, today included, from midnight),
 * "N unit(s) ago" / "-N unit" (s, sec, min, h, hour, day, week, month(30d), year),
 * epoch seconds ("1713603292" or "@1713603292[.240]"), ISO 8601 / "YYYY-MM-DD[ T]HH:MM[:SS[.fff]]"
 * with optional Z or +HH:MM (local time without a zone). Pure: `now_ms` is passed in. */

#include <stddef.h>
#include <stdint.h>

int parse_time_spec(const char *s, int64_t now_ms, int64_t *ret_ms);

/* A duration like "1h", "30min", "1h30m", "2 days", "1.5h" (the units above, no "ago"): > 0 ms,
 * else -EINVAL (-ERANGE on overflow). */
int parse_duration(const char *s, int64_t *ret_ms);

/* "2024-04-20T08:54:52.240Z" into buf (>= 32 bytes); UTC, milliseconds, years clamped to
 * 0000..9999: the API's times, the logs' and the journal's. */
void format_time_iso8601_ms(int64_t time_ms, char *buf, size_t n);
