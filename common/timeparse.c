/* SPDX-License-Identifier: MIT */
/* Time specifications for --since/--until, in the spirit of journalctl's (systemd's
 * parse_timestamp()), small enough to reason about:
 *
 *   now | today | yesterday | tomorrow          (the last three at local midnight)
 *   N UNIT [N UNIT ...] ago, -N UNIT..., +N UNIT... (N may have a fraction: "1.5h ago")
 *   1713603292, 1713603292.240, @1713603292[.240]   (epoch seconds)
 *   YYYY-MM-DD[( |T)H[H]:MM[:SS[.fff]]][Z| UTC|+HH:MM|-HH:MM|+HHMM]
 *   H[H]:MM[:SS[.fff]]                          (today, local time)
 *
 * Decisions: a time without a zone is local time (mktime with DST guessed, as journalctl); months
 * are 30 days and years 365 days, so that "1 month ago" does not depend on the calendar; every
 * field is range checked (no silent mktime normalisation of "13:99"); arithmetic is overflow
 * checked; the input length is bounded. The only external state is the TZ database, through
 * localtime_r()/mktime(); the current time is a parameter. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "macro.h"
#include "timeparse.h"

/* Longer specifications are nonsense, not times; bounding them keeps the scanning trivial. */
#define TIME_SPEC_LEN_MAX 128
/* Fraction digits beyond milliseconds are accepted and truncated (nanosecond stamps exist). */
#define FRACTION_DIGITS_MAX 9
/* Numbers in relative specs: more digits than this would overflow any unit anyway. */
#define NUMBER_DIGITS_MAX 12
/* Calendar years we accept: time_t and the millisecond range are safe far beyond this. */
#define YEAR_MIN 1900
#define YEAR_MAX 9999

_Static_assert(sizeof(time_t) >= 8, "a 64-bit time_t is assumed by the range checks");

#define MS_PER_SEC INT64_C(1000)
#define MS_PER_MIN (60 * MS_PER_SEC)
#define MS_PER_HOUR (60 * MS_PER_MIN)
#define MS_PER_DAY (24 * MS_PER_HOUR)

static const struct {
        const char *name;
        int64_t ms;
} time_units[] = {
        {"ms", 1},
        {"msec", 1},
        {"s", MS_PER_SEC},
        {"sec", MS_PER_SEC},
        {"secs", MS_PER_SEC},
        {"second", MS_PER_SEC},
        {"seconds", MS_PER_SEC},
        {"m", MS_PER_MIN},
        {"min", MS_PER_MIN},
        {"mins", MS_PER_MIN},
        {"minute", MS_PER_MIN},
        {"minutes", MS_PER_MIN},
        {"h", MS_PER_HOUR},
        {"hr", MS_PER_HOUR},
        {"hour", MS_PER_HOUR},
        {"hours", MS_PER_HOUR},
        {"d", MS_PER_DAY},
        {"day", MS_PER_DAY},
        {"days", MS_PER_DAY},
        {"w", 7 * MS_PER_DAY},
        {"week", 7 * MS_PER_DAY},
        {"weeks", 7 * MS_PER_DAY},
        {"M", 30 * MS_PER_DAY},
        {"month", 30 * MS_PER_DAY},
        {"months", 30 * MS_PER_DAY},
        {"y", 365 * MS_PER_DAY},
        {"year", 365 * MS_PER_DAY},
        {"years", 365 * MS_PER_DAY},
};

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *p) {
        while (is_blank(*p))
                p++;
        return p;
}

/* Reads exactly n decimal digits. */
static bool read_digits(const char **p, unsigned n, int *ret) {
        int v = 0;

        for (unsigned i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

/* Reads "[.digits]" and returns the value scaled to `scale` units (e.g. scale 1000 gives ms for
 * a fraction of a second), truncated. A '.' must be followed by at least one digit. */
static bool read_fraction(const char **p, int64_t scale, int64_t *ret) {
        const char *q = *p;
        int64_t num = 0, den = 1;
        unsigned n = 0;

        if (*q != '.') {
                *ret = 0;
                return true;
        }
        q++;
        while (isdigit((unsigned char) *q)) {
                if (n >= FRACTION_DIGITS_MAX)
                        return false;
                num = num * 10 + (*q - '0');
                den *= 10;
                n++;
                q++;
        }
        if (n == 0)
                return false;
        /* scale <= 365 days in ms (3.2e10) and num < 1e9: the product fits in int64. */
        *ret = num * scale / den;
        *p = q;
        return true;
}

/* Reads an unsigned decimal integer of 1..max_digits digits. */
static bool read_number(const char **p, unsigned max_digits, int64_t *ret) {
        const char *q = *p;
        int64_t v = 0;
        unsigned n = 0;

        while (isdigit((unsigned char) *q)) {
                if (n >= max_digits)
                        return false;
                v = v * 10 + (*q - '0');
                n++;
                q++;
        }
        if (n == 0)
                return false;
        *p = q;
        *ret = v;
        return true;
}

static int local_midnight(int64_t now_ms, int day_offset, int64_t *ret_ms) {
        time_t now = (time_t) (now_ms / MS_PER_SEC - (now_ms % MS_PER_SEC < 0));
        struct tm tm;
        time_t t;

        if (!localtime_r(&now, &tm))
                return -ERANGE;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mday += day_offset;
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t) -1)
                return -ERANGE;
        *ret_ms = (int64_t) t * MS_PER_SEC;
        return 0;
}

/* 0 (Sunday) .. 6 for "sunday" .. "saturday" and "sun" .. "sat" (any case), else -EINVAL. */
static int weekday_from_name(const char *p) {
        static const char *const days[] = {"sunday",   "monday", "tuesday", "wednesday",
                                           "thursday", "friday", "saturday"};
        for (int i = 0; i < 7; i++)
                if (strcasecmp(p, days[i]) == 0 ||
                    (strlen(p) == 3 && strncasecmp(p, days[i], 3) == 0))
                        return i;
        return -EINVAL;
}

/* "N UNIT [N UNIT ...]" up to the end of the string or up to a trailing "ago"; sign is applied by
 * the caller. Units may be glued to the number ("90min") or separated by blanks. */
static int parse_relative(const char *p, bool allow_ago, int64_t *ret_ms, bool *ret_ago) {
        int64_t total = 0;
        bool ago = false;
        unsigned n_terms = 0;

        for (;;) {
                int64_t number, fraction_ms, term;
                char unit[16];
                size_t len = 0;
                bool found = false;

                p = skip_blanks(p);
                if (*p == '\0')
                        break;
                if (allow_ago && n_terms > 0 && strncmp(p, "ago", 3) == 0 &&
                    *skip_blanks(p + 3) == '\0') {
                        ago = true;
                        break;
                }
                if (!read_number(&p, NUMBER_DIGITS_MAX, &number))
                        return -EINVAL;
                /* The fraction is scaled once the unit is known: keep its text. */
                const char *fraction = p;
                if (*p == '.') {
                        p++;
                        while (isdigit((unsigned char) *p))
                                p++;
                }
                p = skip_blanks(p);
                while (isalpha((unsigned char) p[len])) {
                        if (len >= sizeof(unit) - 1)
                                return -EINVAL;
                        unit[len] = p[len];
                        len++;
                }
                unit[len] = '\0';
                if (len == 0)
                        return -EINVAL;
                p += len;

                for (size_t i = 0; i < ELEMENTSOF(time_units); i++)
                        if (strcmp(unit, time_units[i].name) == 0) {
                                if (!read_fraction(&fraction, time_units[i].ms, &fraction_ms))
                                        return -EINVAL;
                                if (__builtin_mul_overflow(number, time_units[i].ms, &term) ||
                                    __builtin_add_overflow(term, fraction_ms, &term) ||
                                    __builtin_add_overflow(total, term, &total))
                                        return -ERANGE;
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;
                n_terms++;
        }

        if (n_terms == 0)
                return -EINVAL;
        *ret_ms = total;
        if (ret_ago)
                *ret_ago = ago;
        return 0;
}

/* "1713603292", "1713603292.240", with the '@' already stripped. */
static int parse_epoch(const char *p, int64_t *ret_ms) {
        int64_t sec, frac, ms;

        /* 12 digits of seconds reach the year 33658: plenty, and no overflow in ms. */
        if (!read_number(&p, 12, &sec))
                return -EINVAL;
        if (!read_fraction(&p, MS_PER_SEC, &frac))
                return -EINVAL;
        if (*skip_blanks(p) != '\0')
                return -EINVAL;
        ms = sec * MS_PER_SEC + frac;
        *ret_ms = ms;
        return 0;
}

static bool is_leap_year(int y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int year, int month) {
        static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/* "H[H]:MM[:SS[.fff]]" (one hour digit as journalctl, through strptime's %H, takes it) */
static bool read_clock(const char **p, int *ret_h, int *ret_m, int *ret_s, int64_t *ret_frac) {
        int h, m, s = 0;
        int64_t frac = 0;

        if (!read_digits(p, isdigit((unsigned char) (*p)[1]) ? 2 : 1, &h) || **p != ':')
                return false;
        (*p)++;
        if (!read_digits(p, 2, &m))
                return false;
        if (**p == ':') {
                (*p)++;
                if (!read_digits(p, 2, &s))
                        return false;
                if (!read_fraction(p, MS_PER_SEC, &frac))
                        return false;
        }
        if (h > 23 || m > 59 || s > 59)
                return false;
        *ret_h = h;
        *ret_m = m;
        *ret_s = s;
        *ret_frac = frac;
        return true;
}

/* Zone suffix: "", "Z", " UTC", "+HH:MM", "-HH:MM", "+HHMM", "+HH". Sets *ret_has_zone and the
 * offset east of UTC in seconds. */
static bool read_zone(const char **p, bool *ret_has_zone, int *ret_offset) {
        const char *q = *p;
        int sign, h, m = 0;

        if (*q == 'Z' || *q == 'z') {
                *p = q + 1;
                *ret_has_zone = true;
                *ret_offset = 0;
                return true;
        }
        if (strncasecmp(skip_blanks(q), "UTC", 3) == 0) {
                *p = skip_blanks(q) + 3;
                *ret_has_zone = true;
                *ret_offset = 0;
                return true;
        }
        if (*q != '+' && *q != '-') {
                *ret_has_zone = false;
                *ret_offset = 0;
                return true;
        }
        sign = *q == '-' ? -1 : 1;
        q++;
        if (!read_digits(&q, 2, &h))
                return false;
        if (*q == ':') {
                q++;
                if (!read_digits(&q, 2, &m))
                        return false;
        } else if (isdigit((unsigned char) *q)) {
                if (!read_digits(&q, 2, &m))
                        return false;
        }
        if (h > 23 || m > 59)
                return false;
        *p = q;
        *ret_has_zone = true;
        *ret_offset = sign * (h * 3600 + m * 60);
        return true;
}

static int tm_to_ms(struct tm *tm, bool utc, int offset_sec, int64_t frac_ms, int64_t *ret_ms) {
        time_t t;

        /* The fields are range checked and the year bounded, so with a 64-bit time_t neither
         * conversion can fail; (time_t) -1 is then the valid 1969-12-31T23:59:59Z. */
        if (utc)
                t = timegm(tm) - offset_sec;
        else {
                tm->tm_isdst = -1; /* let the zone rules decide whether DST applies */
                t = mktime(tm);
        }
        *ret_ms = (int64_t) t * MS_PER_SEC + frac_ms;
        return 0;
}

/* "YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][zone]" */
static int parse_iso(const char *p, int64_t *ret_ms) {
        struct tm tm = {};
        int year, month, day, h = 0, m = 0, s = 0, offset = 0;
        int64_t frac = 0;
        bool has_zone = false;

        if (!read_digits(&p, 4, &year) || *p != '-')
                return -EINVAL;
        p++;
        if (!read_digits(&p, 2, &month) || *p != '-')
                return -EINVAL;
        p++;
        if (!read_digits(&p, 2, &day))
                return -EINVAL;
        if (year < YEAR_MIN || year > YEAR_MAX || month < 1 || month > 12 || day < 1 ||
            day > days_in_month(year, month))
                return -EINVAL;

        if (*p == 'T' || *p == 't' || (is_blank(*p) && isdigit((unsigned char) *skip_blanks(p)))) {
                p = *p == 'T' || *p == 't' ? p + 1 : skip_blanks(p);
                if (!read_clock(&p, &h, &m, &s, &frac))
                        return -EINVAL;
                if (!read_zone(&p, &has_zone, &offset))
                        return -EINVAL;
        }
        if (*skip_blanks(p) != '\0')
                return -EINVAL;

        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day;
        tm.tm_hour = h;
        tm.tm_min = m;
        tm.tm_sec = s;
        return tm_to_ms(&tm, has_zone, offset, frac, ret_ms);
}

/* "HH:MM[:SS[.fff]][zone]": that time today (today in local time). */
static int parse_clock_today(const char *p, int64_t now_ms, int64_t *ret_ms) {
        time_t now = (time_t) (now_ms / MS_PER_SEC - (now_ms % MS_PER_SEC < 0));
        struct tm tm;
        int h, m, s, offset;
        int64_t frac;
        bool has_zone;

        if (!read_clock(&p, &h, &m, &s, &frac) || !read_zone(&p, &has_zone, &offset))
                return -EINVAL;
        if (*skip_blanks(p) != '\0')
                return -EINVAL;
        if (!(has_zone ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)))
                return -ERANGE;
        tm.tm_hour = h;
        tm.tm_min = m;
        tm.tm_sec = s;
        return tm_to_ms(&tm, has_zone, offset, frac, ret_ms);
}

int parse_time_spec(const char *s, int64_t now_ms, int64_t *ret_ms) {
        char buf[TIME_SPEC_LEN_MAX + 1];
        const char *p;
        size_t len;
        int64_t v, delta;
        bool ago;
        int r;

        if (!s)
                return -EINVAL;
        s = skip_blanks(s);
        len = strnlen(s, TIME_SPEC_LEN_MAX + 1);
        if (len == 0 || len > TIME_SPEC_LEN_MAX)
                return -EINVAL;
        memcpy(buf, s, len + 1);
        while (len > 0 && is_blank(buf[len - 1]))
                buf[--len] = '\0';
        p = buf;

        if (strcmp(p, "now") == 0) {
                *ret_ms = now_ms;
                return 0;
        }
        if (strcmp(p, "today") == 0)
                return local_midnight(now_ms, 0, ret_ms);
        if (strcmp(p, "yesterday") == 0)
                return local_midnight(now_ms, -1, ret_ms);
        if (strcmp(p, "tomorrow") == 0)
                return local_midnight(now_ms, +1, ret_ms);
        r = weekday_from_name(p);
        if (r >= 0) {
                /* The most recent such day (today if it is one), from midnight: "new since
                 * Tuesday". */
                time_t now = (time_t) (now_ms / MS_PER_SEC - (now_ms % MS_PER_SEC < 0));
                struct tm tm;
                if (!localtime_r(&now, &tm))
                        return -ERANGE;
                return local_midnight(now_ms, -((tm.tm_wday - r + 7) % 7), ret_ms);
        }

        if (*p == '@')
                return parse_epoch(p + 1, ret_ms);

        if (*p == '-' || *p == '+') {
                r = parse_relative(p + 1, false, &delta, NULL);
                if (r < 0)
                        return r;
                if (*p == '-' ? __builtin_sub_overflow(now_ms, delta, &v)
                              : __builtin_add_overflow(now_ms, delta, &v))
                        return -ERANGE;
                *ret_ms = v;
                return 0;
        }

        /* Shapes by their first separator: "YYYY-" is a date, "HH:" a clock, digits only (with
         * an optional fraction) epoch seconds, anything else must be "N unit ... ago". */
        len = strspn(p, "0123456789");
        if (len == 4 && p[4] == '-')
                return parse_iso(p, ret_ms);
        if ((len == 1 || len == 2) && p[len] == ':')
                return parse_clock_today(p, now_ms, ret_ms);
        if (len > 0 && (p[len] == '\0' || (p[len] == '.' && isdigit((unsigned char) p[len + 1]) &&
                                           p[len + 1 + strspn(p + len + 1, "0123456789")] == '\0')))
                return parse_epoch(p, ret_ms);

        r = parse_relative(p, true, &delta, &ago);
        if (r < 0)
                return r;
        if (!ago)
                return -EINVAL; /* "5 min" alone: past or future? Refuse rather than guess. */
        if (__builtin_sub_overflow(now_ms, delta, &v))
                return -ERANGE;
        *ret_ms = v;
        return 0;
}

int parse_duration(const char *s, int64_t *ret_ms) {
        int64_t ms;
        int r;

        if (!s || !ret_ms)
                return -EINVAL;
        r = parse_relative(s, false, &ms, NULL);
        if (r < 0)
                return r;
        if (ms <= 0)
                return -EINVAL;
        *ret_ms = ms;
        return 0;
}

void format_time_iso8601_ms(int64_t time_ms, char *buf, size_t n) {
        /* Floor division so that times before the epoch still print correctly. */
        int64_t secs = time_ms / 1000, ms = time_ms % 1000;
        if (ms < 0) {
                ms += 1000;
                secs--;
        }

        time_t t = (time_t) secs;
        struct tm tm;
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
                /* Out of the four-digit year range: clamp rather than print a non-ISO year. */
                snprintf(buf, n, "%s",
                         time_ms < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z");
                return;
        }
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) ms);
}
