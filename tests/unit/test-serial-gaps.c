/* SPDX-License-Identifier: MIT */
/* Serial gaps: in order, reordered within the grace period, late fills that split a range,
 * records of events already seen, the 32-bit wrap, and the bound on open ranges. */

#include <stdint.h>

#include "macro.h"
#include "serial-gaps.h"
#include "tests/unit/test.h"

#define SEC 1000000ULL

typedef struct Report {
        uint64_t count;
        uint32_t first, last;
        int64_t since_ms, until_ms;
} Report;

static Report reports[SERIAL_GAPS_MAX + 16];
static size_t n_reports;
static uint64_t total;

static void on_gap(uint64_t count, uint32_t first, uint32_t last, int64_t since_ms,
                   int64_t until_ms, void *userdata) {
        CHECK(n_reports < ELEMENTSOF(reports));
        reports[n_reports++] = (Report){count, first, last, since_ms, until_ms};
        total += count;
}

static SerialGaps *fresh(void) {
        SerialGaps *g = NULL;
        n_reports = 0;
        total = 0;
        CHECK_RC(serial_gaps_new(on_gap, NULL, &g), 0);
        return g;
}

static void test_in_order(void) {
        SerialGaps *g = fresh();
        for (uint32_t s = 1000; s < 2000; s++)
                serial_gaps_add(g, s, 1000 + s, 1);
        /* later records of events already seen */
        serial_gaps_add(g, 1500, 2500, 2);
        serial_gaps_add(g, 1000, 2000, 2);
        CHECK_RC(serial_gaps_open(g), 0);
        CHECK(serial_gaps_expire(g, 100 * SEC) == UINT64_MAX);
        CHECK_RC(n_reports, 0);
        serial_gaps_free(g);
}

static void test_gap_reported_after_grace(void) {
        SerialGaps *g = fresh();
        serial_gaps_add(g, 10, 5000, 1 * SEC);
        serial_gaps_add(g, 14, 5100, 2 * SEC); /* 11, 12, 13 missing */
        CHECK_RC(serial_gaps_open(g), 1);
        CHECK(serial_gaps_expire(g, 2 * SEC + SERIAL_GAPS_GRACE_USEC - 1) ==
              2 * SEC + SERIAL_GAPS_GRACE_USEC);
        CHECK_RC(n_reports, 0);
        CHECK(serial_gaps_expire(g, 2 * SEC + SERIAL_GAPS_GRACE_USEC) == UINT64_MAX);
        CHECK_RC(n_reports, 1);
        CHECK_RC(reports[0].count, 3);
        CHECK_RC(reports[0].first, 11);
        CHECK_RC(reports[0].last, 13);
        CHECK_RC(reports[0].since_ms, 5000);
        CHECK_RC(reports[0].until_ms, 5100);
        serial_gaps_free(g);
}

static void test_reordered(void) {
        SerialGaps *g = fresh();
        uint32_t order[] = {1, 2, 4, 3, 7, 5, 6, 8, 10, 9};
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                serial_gaps_add(g, order[i], order[i], 1);
        CHECK_RC(serial_gaps_open(g), 0);
        serial_gaps_expire(g, 10 * SEC);
        CHECK_RC(n_reports, 0);
        serial_gaps_free(g);
}

static void test_split(void) {
        SerialGaps *g = fresh();
        serial_gaps_add(g, 1, 100, 1);
        serial_gaps_add(g, 10, 1000, 1); /* 2..9 missing */
        serial_gaps_add(g, 5, 500, 2);   /* late: 2..4 and 6..9 */
        CHECK_RC(serial_gaps_open(g), 2);
        serial_gaps_add(g, 2, 200, 2); /* 3..4 */
        serial_gaps_add(g, 9, 900, 2); /* 6..8 */
        serial_gaps_add(g, 4, 400, 2); /* 3 */
        serial_gaps_add(g, 4, 400, 2); /* again: nothing */
        CHECK_RC(serial_gaps_open(g), 2);
        serial_gaps_expire(g, 1 + SERIAL_GAPS_GRACE_USEC);
        CHECK_RC(n_reports, 2);
        CHECK_RC(total, 4);
        CHECK_RC(reports[0].first, 3);
        CHECK_RC(reports[0].last, 3);
        CHECK_RC(reports[0].since_ms, 200);
        CHECK_RC(reports[0].until_ms, 400);
        CHECK_RC(reports[1].first, 6);
        CHECK_RC(reports[1].last, 8);
        CHECK_RC(reports[1].since_ms, 500);
        CHECK_RC(reports[1].until_ms, 900);
        /* a range filled completely disappears */
        serial_gaps_add(g, 12, 1200, 3 * SEC);
        serial_gaps_add(g, 11, 1100, 3 * SEC);
        CHECK_RC(serial_gaps_open(g), 0);
        serial_gaps_free(g);
}

static void test_wrap(void) {
        SerialGaps *g = fresh();
        serial_gaps_add(g, UINT32_MAX - 1, 1, 1);
        serial_gaps_add(g, UINT32_MAX, 2, 1);
        serial_gaps_add(g, 0, 3, 1); /* the counter passes 0 once per lap */
        serial_gaps_add(g, 1, 4, 1);
        serial_gaps_add(g, 3, 5, 1);          /* 2 missing */
        serial_gaps_add(g, UINT32_MAX, 6, 1); /* late record of an event seen: nothing */
        serial_gaps_expire(g, 10 * SEC);
        CHECK_RC(n_reports, 1);
        CHECK_RC(reports[0].count, 1);
        CHECK_RC(reports[0].first, 2);
        serial_gaps_free(g);

        /* A late serial from just before a wrap the reader started after. */
        g = fresh();
        serial_gaps_add(g, 5, 1, 1);
        serial_gaps_add(g, UINT32_MAX, 0, 1);
        serial_gaps_add(g, 6, 2, 1);
        serial_gaps_expire(g, 10 * SEC);
        CHECK_RC(n_reports, 0);
        serial_gaps_free(g);

        /* Missing serials across the wrap: one range, counted right. */
        g = fresh();
        serial_gaps_add(g, UINT32_MAX - 2, 1, 1);
        serial_gaps_add(g, 2, 2, 1); /* UINT32_MAX - 1, UINT32_MAX, 0, 1 missing */
        serial_gaps_expire(g, 10 * SEC);
        CHECK_RC(n_reports, 1);
        CHECK_RC(reports[0].count, 4);
        CHECK_RC(reports[0].first, UINT32_MAX - 1);
        CHECK_RC(reports[0].last, 1);
        serial_gaps_free(g);
}

static void test_bound(void) {
        SerialGaps *g = fresh();
        /* every other serial: one open range per record */
        for (uint32_t i = 0; i <= SERIAL_GAPS_MAX + 10; i++)
                serial_gaps_add(g, 2 * i + 1, i, 1);
        CHECK_RC(serial_gaps_open(g), SERIAL_GAPS_MAX);
        /* the oldest went early, reported, never silently */
        CHECK_RC(n_reports, 10);
        CHECK_RC(reports[0].first, 2);
        /* a split at the bound keeps the count exact */
        serial_gaps_add(g, 2 * SERIAL_GAPS_MAX + 30, 0, 2); /* one more range: 2N+22 .. 2N+29 */
        serial_gaps_add(g, 2 * SERIAL_GAPS_MAX + 25, 0, 2); /* split it */
        CHECK_RC(serial_gaps_open(g), SERIAL_GAPS_MAX);
        serial_gaps_flush(g);
        CHECK_RC(serial_gaps_open(g), 0);
        /* 1, 3, 5 ... 2N+21 seen, then 2N+30 and 2N+25: the N+10 even numbers up to 2N+20, and
         * 2N+22 .. 2N+29 but 2N+25 */
        CHECK_RC(total, (uint64_t) (SERIAL_GAPS_MAX + 10) + 7);
        serial_gaps_free(g);
}

int main(void) {
        test_in_order();
        test_gap_reported_after_grace();
        test_reordered();
        test_split();
        test_wrap();
        test_bound();
        printf("ok\n");
        return 0;
}
