/* SPDX-License-Identifier: MIT */
/* Coalescer (see coalescer.h for what and why).
 *
 * Decisions:
 * - A kind is its fields written one after the other into one block (each string with its length,
 *   NULL apart from ""), found by a hash of the block and confirmed by comparing the blocks: two
 *   kinds never share a window. The block is the only copy a kind holds until it folds: most
 *   kinds never do (every denial of a busy host that differs from the others), and a whole copy
 *   of each (twenty strings, the raw text) used to be made and freed for every one of them.
 * - Once folding starts the kind holds one copy of a denial, the last one of its window, and it
 *   is replaced by every folded denial, but only in the fields that differ within a kind (stamp,
 *   pid, raw text, cwd, proctitle ...), not in the dozen strings that define the kind: a storm
 *   costs a few small copies per denial. What is neither (the sender, the triage) is the first
 *   denial's of the kind, kept in the block for that, as when the whole first denial was kept.
 * - Kinds are listed by the start of their window, oldest first, so expiry takes from the front
 *   and a full table gives up the oldest window. */

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coalescer.h"
#include "macro.h"

/* Entries that left are kept for the kinds that come next, each with room for a kind of at most
 * COALESCE_SPARE_KEY bytes, as many as the table has room for (so the table and its spares never
 * hold more entries than a full table), COALESCE_SPARE_IDLE after a flush: on a busy host nearly
 * every denial is a kind of its own, so at 50,000 a second each one closes the oldest entry (a
 * full table) or the tick closes them all (windows that ended), and each allocated its own entry,
 * of a size that varies with its strings. The spares stay when the table empties on a tick: the
 * next tick's kinds take them again. */
#define COALESCE_SPARE_IDLE 64
#define COALESCE_SPARE_KEY 4096

/* Open addressing, linear probing, at most half full: a slot holds the kind's hash next to its
 * entry, so that a probe (every denial) and a removal (every kind that leaves) read the slots
 * only, not the entries, which a busy host's stream of distinct kinds has long pushed out of the
 * cache. */
#define COALESCE_SLOTS (COALESCE_KEYS_MAX * 2)

static_assert((COALESCE_SLOTS & (COALESCE_SLOTS - 1)) == 0, "a power of two");

typedef struct Entry Entry;
struct Entry {
        Entry *older, *newer;
        uint64_t hash;
        int64_t start_ms; /* audit time of the window's first denial */
        unsigned n;       /* denials of the window so far */
        uint64_t folded;  /* of them, folded */
        /* The window's last folded denial, once folding started (NULL before): apart, so that
         * an entry is small (most never fold) and its malloc() and free() are cheap ones. */
        Denial *rep;
        /* The first denial's sender and triage, which a summary carries (see above). */
        int64_t first_sender_pid;
        bool first_triaged;
        int first_reason, first_verdict;
        const char *first_sender_subj, *first_booleans; /* in key[], after the kind; or NULL */
        size_t key_len;                                 /* the kind: key[0 .. key_len) */
        size_t key_alloc;                               /* the room key[] has */
        char key[];
};

struct Coalescer {
        coalescer_emit_cb emit;
        void *userdata;
        struct {
                uint64_t hash;
                Entry *entry; /* NULL: free */
        } slots[COALESCE_SLOTS];
        Entry *oldest, *newest;
        size_t n;
        char *scratch; /* the kind of the denial at hand */
        size_t scratch_alloc;
        Entry *spare; /* entries that left, to hold the next kinds (by newer) */
        size_t n_spare;
};

int coalescer_new(coalescer_emit_cb emit, void *userdata, Coalescer **ret) {
        Coalescer *c;

        if (!emit || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->emit = emit;
        c->userdata = userdata;
        *ret = c;
        return 0;
}

/* ---- the kind of a denial ---- */

/* The strings that make a kind, in the order they are written. */
#define KIND_STRINGS(d)                                                                            \
        {                                                                                          \
                (d)->node, (d)->result, (d)->permissions, (d)->scontext, (d)->tcontext,            \
                        (d)->tclass, (d)->comm, (d)->exe, (d)->path, (d)->name, (d)->container.id, \
                        (d)->target_container.id                                                   \
        }
#define KIND_STRINGS_N 12
#define KIND_NULL UINT32_MAX /* the length written for NULL */

/* Writes the kind of d into c->scratch: the integers, then each string as its length and its
 * bytes. Returns its length, or 0 when out of memory. */
static size_t kind_write(Coalescer *c, const Denial *d) {
        const char *strings[] = KIND_STRINGS(d);
        const int64_t ints[] = {
                d->record_type,   d->permissive,          d->uid, d->syscall, d->attribution,
                d->has_container, d->has_target_container};
        uint32_t lens[KIND_STRINGS_N];
        size_t need = sizeof(ints) + sizeof(lens), at;

        static_assert(ELEMENTSOF(strings) == KIND_STRINGS_N, "KIND_STRINGS_N");
        for (size_t i = 0; i < KIND_STRINGS_N; i++) {
                size_t l = strings[i] ? strlen(strings[i]) : 0;
                if (l >= KIND_NULL)
                        return 0;
                lens[i] = strings[i] ? (uint32_t) l : KIND_NULL;
                need += l;
        }
        if (need > c->scratch_alloc) {
                size_t n = MAX(need, MAX(c->scratch_alloc * 2, (size_t) 1024));
                char *p = realloc(c->scratch, n);
                if (!p)
                        return 0;
                c->scratch = p;
                c->scratch_alloc = n;
        }
        memcpy(c->scratch, ints, sizeof(ints));
        memcpy(c->scratch + sizeof(ints), lens, sizeof(lens));
        at = sizeof(ints) + sizeof(lens);
        for (size_t i = 0; i < KIND_STRINGS_N; i++)
                if (lens[i] != KIND_NULL) {
                        memcpy(c->scratch + at, strings[i], lens[i]);
                        at += lens[i];
                }
        return at;
}

/* A word at a time: the block is a few hundred bytes, hashed for every denial. */
static uint64_t kind_hash(const char *p, size_t n) {
        uint64_t h = 0xcbf29ce484222325ULL ^ n;

        for (; n >= 8; p += 8, n -= 8) {
                uint64_t w;
                memcpy(&w, p, 8);
                h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
                h ^= h >> 29;
        }
        for (; n > 0; p++, n--)
                h = (h ^ (unsigned char) *p) * 0x100000001b3ULL;
        return h ^ (h >> 32);
}

/* ---- the table ---- */

static size_t slot_home(uint64_t hash) {
        return hash & (COALESCE_SLOTS - 1);
}

static Entry *find(Coalescer *c, uint64_t hash, size_t key_len) {
        for (size_t i = slot_home(hash); c->slots[i].entry; i = (i + 1) & (COALESCE_SLOTS - 1)) {
                Entry *e = c->slots[i].entry;
                if (c->slots[i].hash == hash && e->key_len == key_len &&
                    memcmp(e->key, c->scratch, key_len) == 0)
                        return e;
        }
        return NULL;
}

static void slot_insert(Coalescer *c, Entry *e) {
        size_t i = slot_home(e->hash);

        while (c->slots[i].entry)
                i = (i + 1) & (COALESCE_SLOTS - 1);
        c->slots[i].hash = e->hash;
        c->slots[i].entry = e;
}

/* Removes e's slot and moves back the ones after it that would no longer be found. */
static void slot_remove(Coalescer *c, const Entry *e) {
        size_t i = slot_home(e->hash);

        while (c->slots[i].entry != e)
                i = (i + 1) & (COALESCE_SLOTS - 1);
        for (size_t j = (i + 1) & (COALESCE_SLOTS - 1); c->slots[j].entry;
             j = (j + 1) & (COALESCE_SLOTS - 1)) {
                size_t home = slot_home(c->slots[j].hash);
                /* j stays where it is when its home lies cyclically in (i, j] */
                bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
                if (!stays) {
                        c->slots[i] = c->slots[j];
                        i = j;
                }
        }
        c->slots[i].entry = NULL;
}

static void list_unlink(Coalescer *c, Entry *e) {
        if (e->older)
                e->older->newer = e->newer;
        else
                c->oldest = e->newer;
        if (e->newer)
                e->newer->older = e->older;
        else
                c->newest = e->older;
        e->older = e->newer = NULL;
}

static void list_append(Coalescer *c, Entry *e) {
        e->older = c->newest;
        e->newer = NULL;
        if (c->newest)
                c->newest->newer = e;
        else
                c->oldest = e;
        c->newest = e;
}

static void entry_free(Coalescer *c, Entry *e) {
        slot_remove(c, e);
        list_unlink(c, e);
        if (e->rep) {
                denial_done(e->rep);
                free(e->rep);
                e->rep = NULL;
        }
        c->n--;
        if (c->n + c->n_spare >= COALESCE_KEYS_MAX || e->key_alloc > COALESCE_SPARE_KEY) {
                free(e);
                return;
        }
        e->newer = c->spare;
        c->spare = e;
        c->n_spare++;
}

/* The table is empty (the end of the input, a stop): most spares go back. */
static void spares_trim(Coalescer *c) {
        while (c->n == 0 && c->n_spare > COALESCE_SPARE_IDLE) {
                Entry *e = c->spare;
                c->spare = e->newer;
                c->n_spare--;
                free(e);
        }
}

/* An entry with room for a kind of need bytes: the spare that left last, grown when too small,
 * or a new one. */
static Entry *entry_alloc(Coalescer *c, size_t need) {
        Entry *e = c->spare;

        if (e) {
                c->spare = e->newer;
                c->n_spare--;
                if (e->key_alloc >= need)
                        return e;
                free(e);
        }
        /* rounded up, so that a spare fits the next kinds, which differ by a few bytes */
        size_t room = (need + 63) & ~(size_t) 63;
        e = malloc(sizeof(Entry) + room);
        if (!e)
                return NULL;
        e->key_alloc = room;
        return e;
}

/* The window of e ends: its summary goes out when something was folded. */
static int entry_close(Coalescer *c, Entry *e) {
        int r = 0;

        if (e->folded > 0) {
                e->rep->count = e->folded;
                r = c->emit(e->rep, c->userdata);
                e->rep->count = 0;
                e->folded = 0;
        }
        return r;
}

/* The first fold: rep becomes a copy of d with the first denial's sender and triage. */
static int entry_start_rep(Entry *e, const Denial *d) {
        Denial *rep = malloc(sizeof(Denial));
        int r;

        if (!rep)
                return -ENOMEM;
        r = denial_copy(d, rep);
        if (r < 0) {
                free(rep);
                return r;
        }
        if (denial_set_string(rep, &rep->sender_subj, e->first_sender_subj) < 0 ||
            denial_set_string(rep, &rep->booleans, e->first_booleans) < 0) {
                denial_done(rep);
                free(rep);
                return -ENOMEM;
        }
        rep->sender_pid = e->first_sender_pid;
        rep->triaged = e->first_triaged;
        rep->reason = e->first_reason;
        rep->verdict = e->first_verdict;
        rep->count = 0;
        e->rep = rep;
        return 0;
}

/* rep becomes d: only what may differ within a kind is copied. */
static int entry_take(Entry *e, const Denial *d) {
        Denial *rep = e->rep;
        int r;

        if (!rep)
                return entry_start_rep(e, d);

        /* (types and categories follow from the contexts, which are the kind's) */
        if ((r = denial_set_string(rep, &rep->raw, d->raw)) < 0 ||
            (r = denial_set_string(rep, &rep->cwd, d->cwd)) < 0 ||
            (r = denial_set_string(rep, &rep->proctitle, d->proctitle)) < 0)
                return r;
        denial_clear_candidates(rep);
        for (size_t i = 0; i < d->n_candidates; i++)
                if ((r = denial_add_candidate(rep, &d->candidates[i])) < 0)
                        return r;
        /* names of the same container may be learnt meanwhile */
        container_ref_done(&rep->container);
        container_ref_done(&rep->target_container);
        if ((d->has_container && (r = container_ref_copy(&d->container, &rep->container)) < 0) ||
            (d->has_target_container &&
             (r = container_ref_copy(&d->target_container, &rep->target_container)) < 0))
                return r;
        rep->time_ms = d->time_ms;
        rep->serial = d->serial;
        rep->seq = d->seq;
        rep->pid = d->pid;
        rep->ppid = d->ppid;
        rep->id = d->id;
        return 0;
}

/* A new kind, d its first denial; the kind is in c->scratch. */
static Entry *entry_new(Coalescer *c, const Denial *d, uint64_t hash, size_t key_len) {
        size_t subj = d->sender_subj ? strlen(d->sender_subj) + 1 : 0;
        size_t booleans = d->booleans ? strlen(d->booleans) + 1 : 0;
        Entry *e = entry_alloc(c, key_len + subj + booleans);

        if (!e)
                return NULL;
        *e = (Entry){
                .key_alloc = e->key_alloc,
                .hash = hash,
                .start_ms = d->time_ms,
                .n = 1,
                .first_sender_pid = d->sender_pid,
                .first_triaged = d->triaged,
                .first_reason = d->reason,
                .first_verdict = d->verdict,
                .key_len = key_len,
        };
        memcpy(e->key, c->scratch, key_len);
        if (subj > 0)
                e->first_sender_subj = memcpy(e->key + key_len, d->sender_subj, subj);
        if (booleans > 0)
                e->first_booleans = memcpy(e->key + key_len + subj, d->booleans, booleans);
        return e;
}

int coalescer_add(Coalescer *c, const Denial *d) {
        uint64_t hash;
        size_t key_len;
        Entry *e;
        int r;

        if (!c || !d)
                return -EINVAL;
        key_len = kind_write(c, d);
        if (key_len == 0)
                return -ENOMEM;
        hash = kind_hash(c->scratch, key_len);
        e = find(c, hash, key_len);
        if (!e) {
                if (c->n >= COALESCE_KEYS_MAX) {
                        Entry *oldest = c->oldest;
                        r = entry_close(c, oldest);
                        entry_free(c, oldest);
                        if (r < 0)
                                return r;
                }
                e = entry_new(c, d, hash, key_len);
                if (!e)
                        return -ENOMEM;
                slot_insert(c, e);
                list_append(c, e);
                c->n++;
                return 1;
        }

        if (d->time_ms < e->start_ms)
                return 1; /* older than the window (a late record, a backfill): as itself */
        if (d->time_ms >= e->start_ms + COALESCE_WINDOW_MS) {
                /* a new window: the old one's summary first */
                r = entry_close(c, e);
                if (r < 0)
                        return r;
                e->start_ms = d->time_ms;
                e->n = 1;
                list_unlink(c, e);
                list_append(c, e);
                return 1;
        }
        if (++e->n <= COALESCE_FREE)
                return 1;
        r = entry_take(e, d);
        if (r < 0) {
                e->n--;
                return r;
        }
        e->folded++;
        return 0;
}

int64_t coalescer_expire(Coalescer *c, int64_t now_ms) {
        int r = 0;

        while (c->oldest && c->oldest->start_ms + COALESCE_WINDOW_MS <= now_ms) {
                Entry *e = c->oldest;
                int k = entry_close(c, e);
                if (k < 0 && r == 0)
                        r = k;
                entry_free(c, e);
        }
        return c->oldest ? c->oldest->start_ms + COALESCE_WINDOW_MS : INT64_MAX;
}

void coalescer_flush(Coalescer *c) {
        while (c && c->oldest) {
                Entry *e = c->oldest;
                (void) entry_close(c, e);
                entry_free(c, e);
        }
        if (c)
                spares_trim(c);
}

Coalescer *coalescer_free(Coalescer *c) {
        if (!c)
                return NULL;
        while (c->oldest)
                entry_free(c, c->oldest);
        while (c->spare) {
                Entry *e = c->spare;
                c->spare = e->newer;
                free(e);
        }
        free(c->scratch);
        free(c);
        return NULL;
}

size_t coalescer_keys(const Coalescer *c) {
        return c ? c->n : 0;
}
