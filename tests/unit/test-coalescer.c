/* SPDX-License-Identifier: MIT */
/* Coalescer: nothing happens below the free allowance; a storm is folded into one summary per
 * window with the exact count, the last denial kept whole; kinds stay apart; windows follow
 * audit time; the table's bound closes the oldest window early, never losing a count. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalescer.h"
#include "fixtures.h"
#include "macro.h"
#include "tests/unit/test.h"

typedef struct Sink {
        size_t n;
        uint64_t total;
        Denial last;
        int fail;
} Sink;

static int on_emit(Denial *d, void *userdata) {
        Sink *s = userdata;
        CHECK(d->count > 1 || d->count == 1);
        s->n++;
        s->total += d->count;
        denial_done(&s->last);
        CHECK_RC(denial_copy(d, &s->last), 0);
        return s->fail;
}

static Denial make(const char *comm, int64_t time_ms, uint64_t serial) {
        Denial d = fixture_denial(time_ms, serial);
        set_string(&d.comm, comm);
        set_string(&d.name, "shadow");
        d.pid = (int64_t) serial; /* a new process each time: still the same kind */
        return d;
}

/* Adds one; returns what coalescer_add said. */
static int add(Coalescer *c, const char *comm, int64_t time_ms, uint64_t serial) {
        Denial d = make(comm, time_ms, serial);
        int r = coalescer_add(c, &d);
        denial_done(&d);
        CHECK(r >= 0);
        return r;
}

/* The summary of the triage storm below: the last folded denial, with the first's sender and
 * triage. */
static void check_summary(const Sink *sink, size_t n, uint64_t serial) {
        CHECK_RC(sink->n, n);
        CHECK_RC(sink->last.count, 3);
        CHECK_RC(sink->last.serial, serial);
        CHECK_RC(sink->last.pid, (int64_t) serial);
        CHECK_STREQ(sink->last.cwd, "/even");
        CHECK_RC(sink->last.sender_pid, 500);
        CHECK_STREQ(sink->last.sender_subj, "first_t");
        CHECK(sink->last.triaged);
        CHECK_RC(sink->last.reason, 1);
        CHECK_RC(sink->last.verdict, 3);
        CHECK_STREQ(sink->last.booleans, "b_first");
        CHECK_STREQ(sink->last.comm, "triaged");
        CHECK_STREQ(sink->last.scontext, FIXTURE_SCONTEXT);
}

int main(void) {
        Sink sink = {.last = DENIAL_NULL};
        Coalescer *c = NULL;
        const int64_t t0 = 1713603292000;
        size_t stored = 0;

        CHECK_RC(coalescer_new(on_emit, &sink, &c), 0);

        /* Below the allowance: every one stored as itself, nothing to emit. */
        for (int i = 0; i < COALESCE_FREE; i++)
                CHECK_RC(add(c, "cat", t0 + i, 1 + i), 1);
        CHECK(coalescer_expire(c, t0 + COALESCE_WINDOW_MS) == INT64_MAX);
        CHECK_RC(sink.n, 0);
        CHECK_RC(coalescer_keys(c), 0);

        /* A storm: 10000 in one second. The first few as themselves, the rest folded into one
         * summary: the last denial, carrying the number folded. */
        for (int i = 0; i < 10000; i++)
                stored += (size_t) add(c, "cat", t0 + 10000 + i / 10, 100 + i);
        CHECK_RC(stored, COALESCE_FREE);
        CHECK(coalescer_expire(c, t0 + 10999) == t0 + 10000 + COALESCE_WINDOW_MS);
        CHECK_RC(sink.n, 0);
        coalescer_expire(c, t0 + 11000);
        CHECK_RC(sink.n, 1);
        CHECK_RC(sink.total, 10000 - COALESCE_FREE);
        CHECK_RC(sink.last.serial, 100 + 9999);
        CHECK_RC(sink.last.time_ms, t0 + 10999);
        CHECK_RC(sink.last.pid, 100 + 9999);
        CHECK(strstr(sink.last.raw, ":10099)"));
        CHECK_STREQ(sink.last.comm, "cat");

        /* Two kinds interleaved (comm differs; NULL is not ""): apart, each exact. */
        sink.n = sink.total = 0;
        stored = 0;
        for (int i = 0; i < 3000; i++) {
                const char *comm = i % 3 == 0 ? "cat" : i % 3 == 1 ? "" : NULL;
                stored += (size_t) add(c, comm, t0 + 20000 + i / 10, 20000 + i);
        }
        CHECK_RC(coalescer_keys(c), 3);
        coalescer_flush(c);
        CHECK_RC(sink.n, 3);
        CHECK_RC(stored, 3 * COALESCE_FREE);
        CHECK_RC(sink.total + stored, 3000);

        /* A storm over 3.5 s at 1000/s: one window per second, the count exact in all. */
        sink.n = sink.total = 0;
        stored = 0;
        for (int i = 0; i < 3500; i++) {
                stored += (size_t) add(c, "cat", t0 + 30000 + i, 30000 + i);
                coalescer_expire(c, t0 + 30000 + i); /* live: the clock moves on */
        }
        coalescer_flush(c);
        CHECK_RC(sink.n, 4);
        CHECK_RC(stored, 4 * COALESCE_FREE);
        CHECK_RC(sink.total + stored, 3500);

        /* Older than its kind's open window (a late record): as itself, and counts nothing. */
        sink.n = sink.total = 0;
        for (int i = 0; i < 20; i++)
                add(c, "cat", t0 + 40000 + i, 40000 + i);
        CHECK_RC(add(c, "cat", t0 + 39000, 39999), 1);
        coalescer_flush(c);
        CHECK_RC(sink.total, 20 - COALESCE_FREE);

        /* The bound: one kind more than the table holds, each folding. The oldest window is
         * closed early with its summary; every count arrives. */
        sink.n = sink.total = 0;
        stored = 0;
        char comm[32];
        for (int k = 0; k <= COALESCE_KEYS_MAX; k++) {
                snprintf(comm, sizeof(comm), "p%d", k);
                for (int i = 0; i < COALESCE_FREE + 2; i++)
                        stored += (size_t) add(c, comm, t0 + 50000, (uint64_t) (k * 100 + i));
        }
        CHECK_RC(coalescer_keys(c), COALESCE_KEYS_MAX);
        CHECK_RC(sink.n, 1); /* p0, closed early */
        coalescer_flush(c);
        CHECK_RC(sink.n, COALESCE_KEYS_MAX + 1);
        CHECK_RC(sink.total + stored, (uint64_t) (COALESCE_KEYS_MAX + 1) * (COALESCE_FREE + 2));

        /* Kinds leave the table (oldest first) while others stay: every kind that stays is
         * still found afterwards, however the table's probing was rearranged. */
        coalescer_flush(c);
        sink.n = sink.total = 0;
        for (int k = 0; k < COALESCE_KEYS_MAX + COALESCE_KEYS_MAX / 2; k++) {
                snprintf(comm, sizeof(comm), "k%d", k);
                CHECK_RC(add(c, comm, t0 + 55000, (uint64_t) k), 1);
        }
        CHECK_RC(coalescer_keys(c), COALESCE_KEYS_MAX);
        stored = 0;
        size_t folded = 0;
        for (int k = COALESCE_KEYS_MAX / 2; k < COALESCE_KEYS_MAX + COALESCE_KEYS_MAX / 2; k++) {
                snprintf(comm, sizeof(comm), "k%d", k);
                for (int i = 0; i < COALESCE_FREE; i++) {
                        int r = add(c, comm, t0 + 55000, (uint64_t) (100000 + k * 100 + i));
                        stored += (size_t) r;
                        folded += r == 0;
                }
        }
        CHECK_RC(stored, (size_t) COALESCE_KEYS_MAX * (COALESCE_FREE - 1));
        CHECK_RC(folded, COALESCE_KEYS_MAX);
        CHECK_RC(coalescer_keys(c), COALESCE_KEYS_MAX);
        CHECK_RC(sink.n, 0);
        coalescer_flush(c);
        CHECK_RC(sink.n, COALESCE_KEYS_MAX);
        CHECK_RC(sink.total, COALESCE_KEYS_MAX);

        /* Kinds are compared field by field: the same bytes split otherwise between two fields,
         * or one integer apart, are other kinds. */
        sink.n = sink.total = 0;
        stored = 0;
        for (int i = 0; i < 3 * (COALESCE_FREE + 1); i++) {
                Denial d = make("ab", t0 + 60000, 60000 + i);
                if (i % 3 == 1) {
                        set_string(&d.comm, "a");
                        set_string(&d.name, "bshadow");
                } else if (i % 3 == 2)
                        d.uid = 1000;
                int r = coalescer_add(c, &d);
                CHECK(r >= 0);
                stored += (size_t) r;
                denial_done(&d);
        }
        CHECK_RC(coalescer_keys(c), 3);
        coalescer_flush(c);
        CHECK_RC(sink.n, 3);
        CHECK_RC(stored, 3 * COALESCE_FREE);

        /* A summary is the last folded denial in what varies within a kind, and the kind's first
         * denial in the sender and the triage (a policy reload in between does not change a
         * kind), in every window of the kind. */
        sink.n = 0;
        for (int w = 0; w < 2; w++)
                for (int i = 0; i < COALESCE_FREE + 3; i++) {
                        Denial d = make("triaged", t0 + 70000 + w * COALESCE_WINDOW_MS,
                                        70000 + w * 100 + i);
                        bool first = i == 0 && w == 0;
                        d.sender_pid = 500 + w * 100 + i;
                        set_string(&d.sender_subj, first ? "first_t" : "later_t");
                        d.triaged = true;
                        d.reason = first ? 1 : 2;
                        d.verdict = first ? 3 : 4;
                        set_string(&d.booleans, first ? "b_first" : NULL);
                        set_string(&d.cwd, i % 2 ? "/odd" : "/even");
                        CHECK(coalescer_add(c, &d) >= 0);
                        denial_done(&d);
                        if (w == 1 && i == 0) /* the second window closed the first */
                                check_summary(&sink, 1, 70000 + COALESCE_FREE + 2);
                }
        coalescer_expire(c, t0 + 70000 + 2 * COALESCE_WINDOW_MS);
        check_summary(&sink, 2, 70100 + COALESCE_FREE + 2);
        coalescer_flush(c);

        /* Entries that left hold the next kinds: a kind longer than the entry it gets (grown),
         * one too long to be kept at all, then short ones again; each keeps its own first
         * sender and triage (written after the kind in the entry's room), and a short kind in
         * a long one's entry is not the long one. */
        static const size_t lens[] = {4, 900, 5000, 4, 900, 3};
        char *long_comm = malloc(5001);
        CHECK(long_comm);
        for (int round = 0; round < 2; round++)
                for (size_t k = 0; k < ELEMENTSOF(lens); k++) {
                        int64_t t = t0 + 80000 + (int64_t) (round * ELEMENTSOF(lens) + k) * 2000;
                        memset(long_comm, 'a' + (int) k, lens[k]);
                        long_comm[lens[k]] = 0;
                        sink.n = 0;
                        for (int i = 0; i < COALESCE_FREE + 2; i++) {
                                Denial d = make(long_comm, t, (uint64_t) (80000 + k * 100 + i));
                                char subj[32];
                                snprintf(subj, sizeof(subj), "subj_%zu_t", k);
                                set_string(&d.sender_subj, i == 0 ? subj : "later_t");
                                set_string(&d.booleans, i == 0 ? "b_entry" : NULL);
                                CHECK_RC(coalescer_add(c, &d), i < COALESCE_FREE ? 1 : 0);
                                denial_done(&d);
                        }
                        /* the next kind's window closes this one: the old entry leaves */
                        coalescer_expire(c, t + COALESCE_WINDOW_MS);
                        CHECK_RC(sink.n, 1);
                        CHECK_RC(sink.last.count, 2);
                        CHECK_STREQ(sink.last.comm, long_comm);
                        char subj[32];
                        snprintf(subj, sizeof(subj), "subj_%zu_t", k);
                        CHECK_STREQ(sink.last.sender_subj, subj);
                        CHECK_STREQ(sink.last.booleans, "b_entry");
                        CHECK_RC(coalescer_keys(c), 0);
                }
        free(long_comm);

        denial_done(&sink.last);
        c = coalescer_free(c);
        printf("ok\n");
        return 0;
}
