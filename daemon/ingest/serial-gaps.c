/* SPDX-License-Identifier: MIT */
/* Serial gaps (see serial-gaps.h for what a gap means).
 *
 * Decisions:
 * - Serials are unwrapped into 64 bits against the highest one seen, so that the kernel's 32-bit
 *   counter wrapping is just the next serial (a jump of more than 2^31 either way is taken as
 *   the shorter way round).
 * - Open gaps are ranges [first, last] in an array sorted by serial. They are only ever opened
 *   above the highest serial, at increasing times, so the array is also sorted by age: expiry
 *   takes from the front, a late arrival is found by binary search and splits its range.
 * - The first record seen sets the baseline: what happened before the reader started is not a
 *   loss of this reader (gap backfill is another module's business).
 * - A record far below every open gap (an event that started long ago and logs at syscall exit)
 *   is simply ignored. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "serial-gaps.h"

#define SERIAL_SPACE (UINT64_C(1) << 32)
#define SERIAL_HALF (UINT64_C(1) << 31)

typedef struct Gap {
        uint64_t first, last;       /* unwrapped serials, inclusive */
        int64_t since_ms, until_ms; /* audit times of the records around the range */
        uint64_t opened_usec;
} Gap;

struct SerialGaps {
        serial_gaps_cb cb;
        void *userdata;
        bool started;
        uint64_t highest; /* unwrapped */
        int64_t highest_time_ms;
        Gap *gaps; /* SERIAL_GAPS_MAX, gaps[0..n) sorted */
        size_t n;
};

int serial_gaps_new(serial_gaps_cb cb, void *userdata, SerialGaps **ret) {
        SerialGaps *g;

        if (!cb || !ret)
                return -EINVAL;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->gaps = calloc(SERIAL_GAPS_MAX, sizeof(Gap));
        if (!g->gaps) {
                free(g);
                return -ENOMEM;
        }
        g->cb = cb;
        g->userdata = userdata;
        *ret = g;
        return 0;
}

SerialGaps *serial_gaps_free(SerialGaps *g) {
        if (!g)
                return NULL;
        free(g->gaps);
        free(g);
        return NULL;
}

static uint64_t unwrap(const SerialGaps *g, uint32_t serial) {
        uint64_t base = g->highest & ~(SERIAL_SPACE - 1);
        uint64_t s = base | serial;

        if (s > g->highest && s - g->highest > SERIAL_HALF)
                s -= SERIAL_SPACE; /* just below the highest, across a wrap */
        else if (s < g->highest && g->highest - s > SERIAL_HALF)
                s += SERIAL_SPACE; /* the counter wrapped */
        return s;
}

static void report(SerialGaps *g, const Gap *gap) {
        g->cb(gap->last - gap->first + 1, (uint32_t) gap->first, (uint32_t) gap->last,
              gap->since_ms, gap->until_ms, g->userdata);
}

/* Declares gaps[0..k) lost and removes them. */
static void pop_front(SerialGaps *g, size_t k) {
        for (size_t i = 0; i < k; i++)
                report(g, &g->gaps[i]);
        memmove(g->gaps, g->gaps + k, (g->n - k) * sizeof(Gap));
        g->n -= k;
}

/* The index of the gap holding s, or g->n. */
static size_t find(const SerialGaps *g, uint64_t s) {
        size_t lo = 0, hi = g->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (g->gaps[mid].last < s)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < g->n && g->gaps[lo].first <= s ? lo : g->n;
}

/* s arrived late, inside gaps[i]: it is no longer missing. */
static void fill(SerialGaps *g, size_t i, uint64_t s, int64_t time_ms) {
        Gap *gap = &g->gaps[i];

        if (gap->first == gap->last) {
                memmove(gap, gap + 1, (g->n - i - 1) * sizeof(Gap));
                g->n--;
        } else if (s == gap->first) {
                gap->first++;
                gap->since_ms = time_ms;
        } else if (s == gap->last) {
                gap->last--;
                gap->until_ms = time_ms;
        } else {
                /* Split in two; room is made first (the oldest goes when full). */
                if (g->n == SERIAL_GAPS_MAX) {
                        if (i == 0) {
                                /* The range being split is the oldest: report its lower part. */
                                Gap low = *gap;
                                low.last = s - 1;
                                low.until_ms = time_ms;
                                report(g, &low);
                                gap->first = s + 1;
                                gap->since_ms = time_ms;
                                return;
                        }
                        pop_front(g, 1);
                        i--;
                        gap = &g->gaps[i];
                }
                memmove(gap + 1, gap, (g->n - i) * sizeof(Gap));
                g->n++;
                gap[0].last = s - 1;
                gap[0].until_ms = time_ms;
                gap[1].first = s + 1;
                gap[1].since_ms = time_ms;
        }
}

void serial_gaps_add(SerialGaps *g, uint32_t serial, int64_t time_ms, uint64_t now_usec) {
        uint64_t s;

        if (!g->started) {
                g->started = true;
                /* Unwrapped serials start one lap up, so that a late serial from just before a
                 * wrap still has a place below. */
                g->highest = SERIAL_SPACE | serial;
                g->highest_time_ms = time_ms;
                return;
        }

        s = unwrap(g, serial);
        if (s <= g->highest) {
                /* Late (fills a gap) or another record of an event already seen. */
                size_t i = g->n > 0 && s >= g->gaps[0].first ? find(g, s) : g->n;
                if (i < g->n)
                        fill(g, i, s, time_ms);
                return;
        }

        if (s > g->highest + 1) {
                if (g->n == SERIAL_GAPS_MAX)
                        pop_front(g, 1);
                g->gaps[g->n++] = (Gap){
                        .first = g->highest + 1,
                        .last = s - 1,
                        .since_ms = g->highest_time_ms,
                        .until_ms = time_ms,
                        .opened_usec = now_usec,
                };
        }
        g->highest = s;
        g->highest_time_ms = time_ms;
}

uint64_t serial_gaps_expire(SerialGaps *g, uint64_t now_usec) {
        size_t k = 0;

        while (k < g->n && now_usec - g->gaps[k].opened_usec >= SERIAL_GAPS_GRACE_USEC)
                k++;
        if (k > 0)
                pop_front(g, k);
        return g->n > 0 ? g->gaps[0].opened_usec + SERIAL_GAPS_GRACE_USEC : UINT64_MAX;
}

void serial_gaps_flush(SerialGaps *g) {
        pop_front(g, g->n);
}

size_t serial_gaps_open(const SerialGaps *g) {
        return g->n;
}
