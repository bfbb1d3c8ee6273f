/* SPDX-License-Identifier: MIT */
/* Store, the bounded hash map behind the writer's caches (strings, containers, signatures) and
 * the aggregate deltas of a batch: open addressing on byte strings, growing from a small table
 * (which stays in the CPU caches) up to a bound; when full, the caller drops it whole. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "store-map.h"

#define MAP_SLOTS_MIN 1024 /* a map's first table; doubles as it fills */
#define MAP_HUGE_PAGE (2 * 1024 * 1024)

/* A zeroed table of n slots. One of 2 MiB or more is aligned to, and asks for, huge pages (the
 * strings cache's, 4 MiB full): a lookup of a new string reads one slot at random, and its page
 * is then one the TLB knows, not a walk of the page tables (of a virtual machine's, two) per
 * lookup. */
static MapSlot *slots_alloc(size_t n) {
        size_t size = n * sizeof(MapSlot);
        void *p;

        if (size < MAP_HUGE_PAGE)
                return calloc(n, sizeof(MapSlot));
        if (posix_memalign(&p, MAP_HUGE_PAGE, size) != 0)
                return NULL;
        (void) madvise(p, size, MADV_HUGEPAGE); /* a hint: without it, small pages */
        memset(p, 0, size);
        return p;
}

int map_init(Map *m, size_t max_entries) {
        size_t max_slots = MAP_SLOTS_MIN;

        while (max_slots < max_entries * 2)
                max_slots <<= 1;
        /* Start small: a small table stays in the CPU caches, a sparse big one does not. */
        m->slots = calloc(MAP_SLOTS_MIN, sizeof(MapSlot));
        if (!m->slots)
                return -ENOMEM;
        m->mask = MAP_SLOTS_MIN - 1;
        m->n_entries = 0;
        m->max_entries = max_entries;
        m->max_slots = max_slots;
        return 0;
}

void map_clear(Map *m) {
        if (!m->slots || m->n_entries == 0)
                return;
        for (size_t i = 0; i <= m->mask; i++)
                free(m->slots[i].key);
        memset(m->slots, 0, (m->mask + 1) * sizeof(MapSlot));
        m->n_entries = 0;
}

void map_done(Map *m) {
        map_clear(m);
        free(m->slots);
        *m = (Map){};
}

int map_reserve(Map *m) {
        size_t n_slots = m->mask + 1;
        MapSlot *slots;

        if (m->n_entries >= m->max_entries)
                return -ENOSPC;
        if ((m->n_entries + 1) * 2 <= n_slots || n_slots >= m->max_slots)
                return 0;
        slots = slots_alloc(n_slots * 2);
        if (!slots)
                return (m->n_entries + 1) * 4 <= n_slots * 3 ? 0 : -ENOSPC;
        for (size_t i = 0; i < n_slots; i++) {
                if (!m->slots[i].key)
                        continue;
                size_t j = m->slots[i].hash & (n_slots * 2 - 1);
                while (slots[j].key)
                        j = (j + 1) & (n_slots * 2 - 1);
                slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->mask = n_slots * 2 - 1;
        return 1;
}

int map_fill(Map *m, MapSlot *slot, const void *key, size_t len, uint64_t hash, int64_t value,
             const char **ret_key) {
        char *copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, key, len);
        copy[len] = 0;
        *slot = (MapSlot){.key = copy, .len = len, .hash = hash, .value = value};
        m->n_entries++;
        if (ret_key)
                *ret_key = copy;
        return 0;
}
