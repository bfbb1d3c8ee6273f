/* SPDX-License-Identifier: MIT */
/* Handoff (handoff.h): a ring of item pointers under one mutex, a condition for a producer
 * waiting for room, and an eventfd for the loop.
 *
 * Decisions:
 * - The eventfd is written and read under the mutex, one unit per item (EFD_SEMAPHORE): its count
 *   is the queue's length at every moment, so the loop is woken exactly while there is something
 *   to pop and never by a stale wake-up.
 * - Items are whole batches (the reader thread's hundreds of denials), so the lock is taken a few
 *   times per batch, not per denial: the queue costs nothing next to the work it carries.
 * - No item is ever dropped here: a producer that cannot wait decides what a full queue means. */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "handoff.h"

struct Handoff {
        pthread_mutex_t lock;
        pthread_cond_t room; /* signalled when an item is popped or on cancel */
        void **ring;
        size_t capacity, head, count;
        bool cancelled;
        int fd;
};

int handoff_new(size_t capacity, Handoff **ret) {
        Handoff *h;

        if (capacity == 0 || !ret)
                return -EINVAL;
        h = calloc(1, sizeof(Handoff));
        if (!h)
                return -ENOMEM;
        h->ring = calloc(capacity, sizeof(void *));
        h->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
        if (!h->ring || h->fd < 0) {
                int r = h->fd < 0 ? -errno : -ENOMEM;
                if (h->fd >= 0)
                        close(h->fd);
                free(h->ring);
                free(h);
                return r;
        }
        h->capacity = capacity;
        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->room, NULL);
        *ret = h;
        return 0;
}

Handoff *handoff_free(Handoff *h, void (*free_item)(void *item)) {
        void *item;

        if (!h)
                return NULL;
        while ((item = handoff_pop(h)))
                if (free_item)
                        free_item(item);
        pthread_cond_destroy(&h->room);
        pthread_mutex_destroy(&h->lock);
        close(h->fd);
        free(h->ring);
        free(h);
        return NULL;
}

int handoff_fd(const Handoff *h) {
        return h ? h->fd : -EBADF;
}

int handoff_push(Handoff *h, void *item, bool wait) {
        uint64_t one = 1;
        int r = 0;

        pthread_mutex_lock(&h->lock);
        while (!h->cancelled && h->count == h->capacity && wait)
                pthread_cond_wait(&h->room, &h->lock);
        if (h->cancelled)
                r = -ECANCELED;
        else if (h->count == h->capacity)
                r = -EAGAIN;
        else if (write(h->fd, &one, sizeof(one)) != (ssize_t) sizeof(one))
                /* only at a count of 2^64 - 1: not with a bounded queue */
                r = -EIO;
        else {
                h->ring[(h->head + h->count) % h->capacity] = item;
                h->count++;
        }
        pthread_mutex_unlock(&h->lock);
        return r;
}

bool handoff_cancelled(Handoff *h) {
        bool c;

        pthread_mutex_lock(&h->lock);
        c = h->cancelled;
        pthread_mutex_unlock(&h->lock);
        return c;
}

void *handoff_pop(Handoff *h) {
        void *item = NULL;
        uint64_t one;

        pthread_mutex_lock(&h->lock);
        if (h->count > 0) {
                item = h->ring[h->head];
                h->head = (h->head + 1) % h->capacity;
                h->count--;
                (void) !read(h->fd, &one, sizeof(one)); /* takes one unit: the count follows */
                pthread_cond_signal(&h->room);
        }
        pthread_mutex_unlock(&h->lock);
        return item;
}

size_t handoff_queued(Handoff *h) {
        size_t n;

        pthread_mutex_lock(&h->lock);
        n = h->count;
        pthread_mutex_unlock(&h->lock);
        return n;
}

void handoff_cancel(Handoff *h) {
        pthread_mutex_lock(&h->lock);
        h->cancelled = true;
        pthread_cond_broadcast(&h->room);
        pthread_mutex_unlock(&h->lock);
}
