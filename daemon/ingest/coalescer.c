/* SPDX-License-Identifier: MIT */
/* Coalescer (see coalescer.h for what and why).
 *
 * Decisions:
 * - A kind is found by hash (FNV-1a over the kind's fields, each with its length, NULL apart from
 *   "") and confirmed field by field: two kinds never share a window.
 * - Each kind holds one copy of a denial: the last one of its window. While nothing is folded it
 *   only serves the comparison; once folding starts it is replaced by every folded denial, but
 *   only in the fields that differ within a kind (stamp, pid, raw text, cwd, proctitle ...),
 *   not in the dozen strings that define the kind: a storm costs a few small copies per denial.
 * - Kinds are listed by the start of their window, oldest first, so expiry takes from the front
 *   and a full table gives up the oldest window. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coalescer.h"
#include "macro.h"

#define COALESCE_BUCKETS (COALESCE_KEYS_MAX * 2)

typedef struct Entry Entry;
struct Entry {
        Entry *hash_next;
        Entry *older, *newer;
        uint64_t hash;
        int64_t start_ms; /* audit time of the window's first denial */
        unsigned n;       /* denials of the window so far */
        uint64_t folded;  /* of them, folded */
        Denial rep;       /* the window's last denial */
};

struct Coalescer {
        coalescer_emit_cb emit;
        void *userdata;
        Entry *buckets[COALESCE_BUCKETS];
        Entry *oldest, *newest;
        size_t n;
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

static uint64_t hash_mix(uint64_t h, const void *p, size_t n) {
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++) {
                h ^= b[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static uint64_t hash_str(uint64_t h, const char *s) {
        size_t n = s ? strlen(s) + 1 : 0; /* the NUL too: NULL and "" differ */
        h = hash_mix(h, &n, sizeof(n));
        return s ? hash_mix(h, s, n) : h;
}

/* The strings that make a kind; the same order in kind_hash() and same_kind(). */
#define KIND_STRINGS(d)                                                                            \
        {                                                                                          \
                (d)->node, (d)->result, (d)->permissions, (d)->scontext, (d)->tcontext,            \
                        (d)->tclass, (d)->comm, (d)->exe, (d)->path, (d)->name, (d)->container.id, \
                        (d)->target_container.id                                                   \
        }

static uint64_t kind_hash(const Denial *d) {
        const char *strings[] = KIND_STRINGS(d);
        const int64_t ints[] = {
                d->record_type,   d->permissive,          d->uid, d->syscall, d->attribution,
                d->has_container, d->has_target_container};
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                h = hash_str(h, strings[i]);
        return hash_mix(h, ints, sizeof(ints));
}

static bool streq_null(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_kind(const Denial *a, const Denial *b) {
        const char *sa[] = KIND_STRINGS(a);
        const char *sb[] = KIND_STRINGS(b);

        if (a->record_type != b->record_type || a->permissive != b->permissive ||
            a->uid != b->uid || a->syscall != b->syscall || a->attribution != b->attribution ||
            a->has_container != b->has_container ||
            a->has_target_container != b->has_target_container)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(sa); i++)
                if (!streq_null(sa[i], sb[i]))
                        return false;
        return true;
}

/* ---- the table ---- */

static Entry **bucket(Coalescer *c, uint64_t hash) {
        return &c->buckets[hash % COALESCE_BUCKETS];
}

static Entry *find(Coalescer *c, uint64_t hash, const Denial *d) {
        for (Entry *e = *bucket(c, hash); e; e = e->hash_next)
                if (e->hash == hash && same_kind(&e->rep, d))
                        return e;
        return NULL;
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
        for (Entry **p = bucket(c, e->hash); *p; p = &(*p)->hash_next)
                if (*p == e) {
                        *p = e->hash_next;
                        break;
                }
        list_unlink(c, e);
        denial_done(&e->rep);
        free(e);
        c->n--;
}

/* The window of e ends: its summary goes out when something was folded. */
static int entry_close(Coalescer *c, Entry *e) {
        int r = 0;

        if (e->folded > 0) {
                e->rep.count = e->folded;
                r = c->emit(&e->rep, c->userdata);
                e->rep.count = 0;
                e->folded = 0;
        }
        return r;
}

static int dup_into(char **dst, const char *src) {
        char *copy = NULL;
        if (src && !(copy = strdup(src)))
                return -ENOMEM;
        free(*dst);
        *dst = copy;
        return 0;
}

/* rep becomes d: only what may differ within a kind is copied. */
static int entry_take(Entry *e, const Denial *d) {
        Denial *rep = &e->rep;
        int r;

        /* (types and categories follow from the contexts, which are the kind's) */
        if ((r = dup_into(&rep->raw, d->raw)) < 0 || (r = dup_into(&rep->cwd, d->cwd)) < 0 ||
            (r = dup_into(&rep->proctitle, d->proctitle)) < 0)
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

int coalescer_add(Coalescer *c, const Denial *d) {
        uint64_t hash;
        Entry *e;
        int r;

        if (!c || !d)
                return -EINVAL;
        hash = kind_hash(d);
        e = find(c, hash, d);
        if (!e) {
                if (c->n >= COALESCE_KEYS_MAX) {
                        Entry *oldest = c->oldest;
                        r = entry_close(c, oldest);
                        entry_free(c, oldest);
                        if (r < 0)
                                return r;
                }
                e = calloc(1, sizeof(*e));
                if (!e)
                        return -ENOMEM;
                r = denial_copy(d, &e->rep);
                if (r < 0) {
                        free(e);
                        return r;
                }
                e->rep.count = 0;
                e->hash = hash;
                e->start_ms = d->time_ms;
                e->n = 1;
                e->hash_next = *bucket(c, hash);
                *bucket(c, hash) = e;
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
}

Coalescer *coalescer_free(Coalescer *c) {
        if (!c)
                return NULL;
        while (c->oldest)
                entry_free(c, c->oldest);
        free(c);
        return NULL;
}

size_t coalescer_keys(const Coalescer *c) {
        return c ? c->n : 0;
}
