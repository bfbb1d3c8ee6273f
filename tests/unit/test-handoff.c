/* SPDX-License-Identifier: MIT */
/* The queue between the reader thread and the loop: items come out in the order they went in,
 * however the two sides race; a producer that waits is held while the queue is full and loses
 * nothing; one that cannot wait is told -EAGAIN (its loss to count) and keeps its item; the
 * eventfd is readable exactly while items are queued; cancel wakes a blocked producer. */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "handoff.h"
#include "tests/unit/test.h"

#define ITEMS 20000

static bool readable(Handoff *h) {
        struct pollfd p = {.fd = handoff_fd(h), .events = POLLIN};
        return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void test_fd_follows_count(void) {
        Handoff *h;
        int a = 1, b = 2;

        CHECK_RC(handoff_new(2, &h), 0);
        CHECK(!readable(h));
        CHECK(handoff_pop(h) == NULL);
        CHECK_RC(handoff_push(h, &a, false), 0);
        CHECK(readable(h));
        CHECK_RC(handoff_push(h, &b, false), 0);
        CHECK_RC(handoff_push(h, &b, false), -EAGAIN); /* full: the caller's to count */
        CHECK_RC(handoff_queued(h), 2);
        CHECK(handoff_pop(h) == &a);
        CHECK(readable(h)); /* one left */
        CHECK(handoff_pop(h) == &b);
        CHECK(!readable(h));
        CHECK(handoff_pop(h) == NULL);
        handoff_free(h, NULL);
}

typedef struct Producer {
        Handoff *h;
        bool wait;
        uintptr_t pushed, refused;
} Producer;

static void *produce(void *userdata) {
        Producer *p = userdata;

        for (uintptr_t i = 1; i <= ITEMS; i++) {
                int r = handoff_push(p->h, (void *) i, p->wait);
                if (r == -EAGAIN)
                        p->refused++;
                else if (r == 0)
                        p->pushed++;
                else
                        break;
        }
        return NULL;
}

/* A slow consumer: every item of a waiting producer arrives, in order. */
static void test_order_and_backpressure(void) {
        Producer p = {.wait = true};
        pthread_t t;
        uintptr_t expect = 1;

        CHECK_RC(handoff_new(4, &p.h), 0);
        CHECK_RC(pthread_create(&t, NULL, produce, &p), 0);
        while (expect <= ITEMS) {
                struct pollfd pf = {.fd = handoff_fd(p.h), .events = POLLIN};
                CHECK_RC(poll(&pf, 1, 10000), 1);
                uintptr_t got = (uintptr_t) handoff_pop(p.h);
                CHECK(got != 0); /* readable means an item is there */
                CHECK_RC(got, expect);
                CHECK(handoff_queued(p.h) <= 4);
                if (expect % 1000 == 0)
                        usleep(2000); /* the writer stalls: the producer must wait */
                expect++;
        }
        CHECK_RC(pthread_join(t, NULL), 0);
        CHECK_RC(p.pushed, ITEMS);
        CHECK(handoff_pop(p.h) == NULL);
        handoff_free(p.h, NULL);
}

/* A producer that cannot wait: what it was refused plus what arrived is all it had, and what
 * arrived is still in order. */
static void test_refused_are_counted(void) {
        Producer p = {.wait = false};
        pthread_t t;
        uintptr_t last = 0, got_n = 0;
        void *got;

        CHECK_RC(handoff_new(2, &p.h), 0);
        CHECK_RC(pthread_create(&t, NULL, produce, &p), 0);
        for (;;) {
                while ((got = handoff_pop(p.h))) {
                        CHECK((uintptr_t) got > last);
                        last = (uintptr_t) got;
                        got_n++;
                }
                struct pollfd pf = {.fd = handoff_fd(p.h), .events = POLLIN};
                if (poll(&pf, 1, 50) == 0 && pthread_tryjoin_np(t, NULL) == 0)
                        break;
        }
        while ((got = handoff_pop(p.h)))
                got_n++;
        CHECK_RC(got_n, p.pushed);
        CHECK_RC(p.pushed + p.refused, ITEMS);
        handoff_free(p.h, NULL);
}

static void *push_one_more(void *userdata) {
        Producer *p = userdata;
        return (void *) (intptr_t) handoff_push(p->h, (void *) 3, true);
}

static void free_item(void *item) {
        (*(int *) item)++;
}

static void test_cancel_wakes_producer(void) {
        Producer p = {};
        pthread_t t;
        void *r;
        int freed = 0;

        CHECK_RC(handoff_new(1, &p.h), 0);
        CHECK_RC(handoff_push(p.h, &freed, true), 0);
        CHECK_RC(pthread_create(&t, NULL, push_one_more, &p), 0);
        usleep(20000); /* it is blocked now (or about to be): either way cancel must free it */
        handoff_cancel(p.h);
        CHECK_RC(pthread_join(t, &r), 0);
        CHECK_RC((intptr_t) r, -ECANCELED);
        CHECK(handoff_cancelled(p.h));
        CHECK_RC(handoff_push(p.h, &freed, false), -ECANCELED);
        handoff_free(p.h, free_item); /* the one queued is handed to free_item */
        CHECK_RC(freed, 1);
}

int main(void) {
        test_fd_follows_count();
        test_order_and_backpressure();
        test_refused_are_counted();
        test_cancel_wakes_producer();
        return 0;
}
