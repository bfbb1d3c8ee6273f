/* SPDX-License-Identifier: MIT */
/* parse_time_spec(): every accepted form, relative units, local midnight in UTC and in a zone with
 * an offset and DST, zones on ISO times, fractions, epoch forms, and garbage rejected. */

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "timeparse.h"

/* 2024-04-20T08:54:52.240Z, a Saturday. */
#define NOW INT64_C(1713603292240)
#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2024-04-20T00:00:00Z */
#define MIDNIGHT_UTC INT64_C(1713571200000)

static void set_tz(const char *tz) {
        CHECK(setenv("TZ", tz, 1) == 0);
        tzset();
}

static int64_t parse_ok(const char *s) {
        int64_t v = INT64_MIN;
        int r = parse_time_spec(s, NOW, &v);

        if (r != 0) {
                fprintf(stderr, "parse_time_spec(\"%s\") failed: %d\n", s, r);
                exit(1);
        }
        return v;
}

static void check_bad(const char *s) {
        int64_t v = 4242;
        int r = parse_time_spec(s, NOW, &v);

        if (r >= 0) {
                fprintf(stderr, "parse_time_spec(\"%s\") accepted garbage: %" PRId64 "\n", s, v);
                exit(1);
        }
        CHECK(v == 4242); /* ret untouched on failure */
}

static void test_keywords_utc(void) {
        set_tz("UTC");
        CHECK(parse_ok("now") == NOW);
        CHECK(parse_ok("  now  ") == NOW);
        CHECK(parse_ok("today") == MIDNIGHT_UTC);
        CHECK(parse_ok("yesterday") == MIDNIGHT_UTC - DAY);
        CHECK(parse_ok("tomorrow") == MIDNIGHT_UTC + DAY);
        /* NOW is a Saturday: Saturday is today, Tuesday four days ago, Sunday six. */
        CHECK(parse_ok("saturday") == MIDNIGHT_UTC);
        CHECK(parse_ok("Sat") == MIDNIGHT_UTC);
        CHECK(parse_ok("tuesday") == MIDNIGHT_UTC - 4 * DAY);
        CHECK(parse_ok("TUE") == MIDNIGHT_UTC - 4 * DAY);
        CHECK(parse_ok("friday") == MIDNIGHT_UTC - DAY);
        CHECK(parse_ok("sunday") == MIDNIGHT_UTC - 6 * DAY);
}

static void test_relative(void) {
        CHECK(parse_ok("1 hour ago") == NOW - HOUR);
        CHECK(parse_ok("2 hours ago") == NOW - 2 * HOUR);
        CHECK(parse_ok("30s ago") == NOW - 30 * SEC);
        CHECK(parse_ok("30 sec ago") == NOW - 30 * SEC);
        CHECK(parse_ok("5 min ago") == NOW - 5 * MIN);
        CHECK(parse_ok("5m ago") == NOW - 5 * MIN);
        CHECK(parse_ok("3 days ago") == NOW - 3 * DAY);
        CHECK(parse_ok("1 week ago") == NOW - 7 * DAY);
        CHECK(parse_ok("2 weeks ago") == NOW - 14 * DAY);
        CHECK(parse_ok("1 month ago") == NOW - 30 * DAY);
        CHECK(parse_ok("1 year ago") == NOW - 365 * DAY);
        CHECK(parse_ok("250 ms ago") == NOW - 250);
        CHECK(parse_ok("1h 30min ago") == NOW - HOUR - 30 * MIN);
        CHECK(parse_ok("1.5h ago") == NOW - HOUR - 30 * MIN);
        CHECK(parse_ok("-1h") == NOW - HOUR);
        CHECK(parse_ok("-2 days") == NOW - 2 * DAY);
        CHECK(parse_ok("-1h30m") == NOW - 90 * MIN);
        CHECK(parse_ok("+10min") == NOW + 10 * MIN);
        CHECK(parse_ok("0s ago") == NOW);
}

static void test_epoch(void) {
        CHECK(parse_ok("1713603292") == INT64_C(1713603292000));
        CHECK(parse_ok("@1713603292") == INT64_C(1713603292000));
        CHECK(parse_ok("@1713603292.240") == INT64_C(1713603292240));
        CHECK(parse_ok("1713603292.240") == INT64_C(1713603292240));
        /* sub-millisecond digits are truncated, not rounded */
        CHECK(parse_ok("@1713603292.2409") == INT64_C(1713603292240));
        CHECK(parse_ok("@1713603292.240999999") == INT64_C(1713603292240));
        CHECK(parse_ok("@0") == 0);
}

static void test_iso_utc(void) {
        set_tz("UTC");
        CHECK(parse_ok("2024-04-20T08:54:52.240Z") == NOW);
        CHECK(parse_ok("2024-04-20T08:54:52Z") == NOW - 240);
        CHECK(parse_ok("2024-04-20 08:54:52.240Z") == NOW);
        CHECK(parse_ok("2024-04-20T10:54:52.240+02:00") == NOW);
        CHECK(parse_ok("2024-04-20T10:54:52.240+0200") == NOW);
        CHECK(parse_ok("2024-04-20T03:54:52.240-05:00") == NOW);
        CHECK(parse_ok("2024-04-20 08:54:52.240 UTC") == NOW);
        /* without a zone: local time, here UTC */
        CHECK(parse_ok("2024-04-20 08:54:52.240") == NOW);
        CHECK(parse_ok("2024-04-20 08:54") == NOW - 52240);
        CHECK(parse_ok("2024-04-20") == MIDNIGHT_UTC);
        CHECK(parse_ok("2024-02-29") == MIDNIGHT_UTC - 51 * DAY);
        CHECK(parse_ok("08:54:52") == NOW - 240);
        CHECK(parse_ok("08:54") == NOW - 52240);
        /* a one-digit hour, as journalctl (strptime's %H) takes it */
        CHECK(parse_ok("8:54:52") == NOW - 240);
        CHECK(parse_ok("8:54") == NOW - 52240);
        CHECK(parse_ok("2024-04-20 8:54") == NOW - 52240);
        CHECK(parse_ok("0:00") == MIDNIGHT_UTC);
        CHECK(parse_ok("1970-01-01T00:00:00Z") == 0);
}

static void test_berlin(void) {
        if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) < 0) {
                printf("note: no tzdata, skipping the Europe/Berlin cases\n");
                return;
        }
        set_tz("Europe/Berlin");
        /* CEST, UTC+2, in April */
        CHECK(parse_ok("2024-04-20 10:54:52.240") == NOW);
        CHECK(parse_ok("today") == MIDNIGHT_UTC - 2 * HOUR);
        CHECK(parse_ok("yesterday") == MIDNIGHT_UTC - DAY - 2 * HOUR);
        /* an explicit zone wins over TZ */
        CHECK(parse_ok("2024-04-20T08:54:52.240Z") == NOW);
        /* CET, UTC+1, in January */
        CHECK(parse_ok("2024-01-15 12:00") == INT64_C(1705316400000)); /* 11:00Z */

        /* DST ends on 2024-10-27: "yesterday" seen from the 28th must be midnight of the 27th,
         * 25 hours before midnight of the 28th, not 24. */
        int64_t oct28_noon = INT64_C(1730113200000); /* 2024-10-28T11:00:00Z, 12:00 CET */
        int64_t today, yesterday;
        CHECK_RC(parse_time_spec("today", oct28_noon, &today), 0);
        CHECK_RC(parse_time_spec("yesterday", oct28_noon, &yesterday), 0);
        CHECK(today == INT64_C(1730070000000)); /* 2024-10-27T23:00:00Z */
        CHECK(today - yesterday == 25 * HOUR);
        set_tz("UTC");
}

static void test_garbage(void) {
        check_bad("tues");
        check_bad("tuesday 5");
        set_tz("UTC");
        check_bad("");
        check_bad("   ");
        check_bad("2 parsecs ago");
        check_bad("13:99");
        check_bad("123:00");
        check_bad(":54");
        check_bad("8:5");
        check_bad("2024-04-20 8");
        check_bad("24:00");
        check_bad("12:60:00");
        check_bad("2024-13-01");
        check_bad("2024-02-30");
        check_bad("2023-02-29");
        check_bad("2024-04-20T");
        check_bad("2024-04-20T08:54:52.Z");
        check_bad("2024-04-20T08:54:52+25:00");
        check_bad("2024-04-20T08:54:52 junk");
        check_bad("5 min"); /* neither "ago" nor a sign */
        check_bad("ago");
        check_bad("1 hour ago ago");
        check_bad("-");
        check_bad("-h");
        check_bad("@");
        check_bad("@abc");
        check_bad("@12.");
        check_bad("1.");
        check_bad("yesterday 10:00");
        check_bad("nowish");
        check_bad("1 hour ago\n");
        check_bad("99999999999999999999 years ago");
        check_bad("9999999999 years ago"); /* overflows int64 milliseconds */
        check_bad(NULL);

        /* bounded length */
        char longspec[512];
        memset(longspec, '1', sizeof(longspec) - 1);
        longspec[sizeof(longspec) - 1] = '\0';
        check_bad(longspec);
}

static void test_duration(void) {
        int64_t ms;
        const struct {
                const char *s;
                int64_t ms;
        } good[] = {
                {"1h", 3600000},       {"15min", 900000},     {"1h30m", 5400000},
                {"2 days", 172800000}, {"1.5h", 5400000},     {"90s", 90000},
                {"1w", 604800000},     {" 1 hour ", 3600000}, {"1ms", 1},
        };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                CHECK_RC(parse_duration(good[i].s, &ms), 0);
                CHECK_RC(ms, good[i].ms);
        }
        const char *bad[] = {"", "h", "1", "0h", "-1h", "1 hour ago", "1 fortnight", "1h x", NULL};
        for (size_t i = 0; bad[i]; i++)
                CHECK(parse_duration(bad[i], &ms) < 0);
        CHECK(parse_duration(NULL, &ms) < 0);
        CHECK(parse_duration("99999999999999999999 years", &ms) < 0);
}

int main(void) {
        test_duration();
        test_keywords_utc();
        test_relative();
        test_epoch();
        test_iso_utc();
        test_berlin();
        test_garbage();
        return 0;
}
