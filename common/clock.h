/* SPDX-License-Identifier: MIT */
#pragma once

/* The clocks the daemon and the client read: one place for the conversions. */

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* For intervals and deadlines: never goes back. */
static inline uint64_t now_monotonic_usec(void) {
        return clock_usec(CLOCK_MONOTONIC);
}

static inline int64_t now_monotonic_ms(void) {
        return (int64_t) (now_monotonic_usec() / 1000);
}

/* Wall-clock time, as audit records and the store have it: milliseconds since the epoch. */
static inline int64_t now_realtime_ms(void) {
        return (int64_t) (clock_usec(CLOCK_REALTIME) / 1000);
}

/* The same two clocks as the kernel's timekeeping read them at its last tick (1-10 ms behind):
 * for what is done per denial or per record on the kernel path (retention's age, the pid cache,
 * the assembler's 300 ms deadlines), where the precise clocks' read costs more than those
 * milliseconds matter. */
static inline uint64_t now_monotonic_coarse_usec(void) {
        return clock_usec(CLOCK_MONOTONIC_COARSE);
}

static inline int64_t now_realtime_coarse_ms(void) {
        return (int64_t) (clock_usec(CLOCK_REALTIME_COARSE) / 1000);
}
