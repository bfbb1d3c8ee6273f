/* SPDX-License-Identifier: MIT */
#pragma once

/* A bounded open-addressing hash map of byte strings to int64 (store-map.c): the writer's caches
 * and the aggregate deltas of a batch. Hashing and lookup are inline: they run for every field
 * of every denial stored. */

#include <stdint.h>
#include <string.h>

typedef struct MapSlot {
        char *key; /* NULL: free slot */
        size_t len;
        uint64_t hash;
        int64_t value;
} MapSlot;

typedef struct Map {
        MapSlot *slots;
        size_t mask; /* slots - 1, a power of two; grows up to max_slots */
        size_t n_entries, max_entries, max_slots;
} Map;

static inline uint64_t store_hash_bytes(const void *p, size_t len) {
        /* 8 bytes per step, a multiply-xorshift mix: fast on the short strings we intern. */
        const unsigned char *b = p;
        uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL);

        while (len >= 8) {
                uint64_t k;
                memcpy(&k, b, 8);
                h = (h ^ k) * 0xbf58476d1ce4e5b9ULL;
                h ^= h >> 31;
                b += 8;
                len -= 8;
        }
        uint64_t k = 0;
        memcpy(&k, b, len);
        h = (h ^ k) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 32;
        return h;
}

/* The slot holding key, or the free slot where it would go (slot->key == NULL). */
static inline MapSlot *map_find(Map *m, const void *key, size_t len, uint64_t hash) {
        for (size_t i = hash & m->mask;; i = (i + 1) & m->mask) {
                MapSlot *slot = m->slots + i;
                if (!slot->key)
                        return slot;
                if (slot->hash == hash && slot->len == len && memcmp(slot->key, key, len) == 0)
                        return slot;
        }
}

int map_init(Map *m, size_t max_entries);
void map_clear(Map *m);
void map_done(Map *m);
/* Makes room for one more entry before map_fill(). Returns 0 when the slot map_find() gave is
 * still good, 1 when the table grew (find the slot again), -ENOSPC when max_entries are in
 * (the caller drops them all, then finds the slot again). The load stays <= 1/2, or 3/4 when
 * growing failed, so map_find() always ends on a free slot. */
int map_reserve(Map *m);
/* Fills a free slot from map_find(), after map_reserve(). *ret_key (may be NULL) is the map's
 * copy of the key, stable until the map is cleared. */
int map_fill(Map *m, MapSlot *slot, const void *key, size_t len, uint64_t hash, int64_t value,
             const char **ret_key);
