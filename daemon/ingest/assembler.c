/* SPDX-License-Identifier: MIT */
/* Assembler: joins the records of one audit event and releases its verdicts as Denials.
 *
 * Decisions:
 * - Key (node, time, serial): the kernel's serial is per boot and wraps only after 2^32 events
 *   on older kernels, and forwarded logs (node=) mix hosts, so all three are needed.
 * - Every stamped record opens or joins an event, not only verdicts: ausearch prints PROCTITLE,
 *   SYSCALL and PATH before the AVC, and `raw` must hold every record of the event.
 * - Release as early as is safe: on EOE; live, on PROCTITLE once the verdict and SYSCALL are in
 *   (the kernel writes PROCTITLE last before EOE; a file waits for the EOE, so that an imported
 *   event's raw text is all of its lines); on an ausearch separator; a USER_AVC at once (user
 *   space messages never have companions: one that opens no event of its own key, as always on
 *   the kernel path, is completed and handed on at once without entering the table). Otherwise
 *   after a deadline: ASSEMBLER_DEADLINE_USEC
 *   on the monotonic clock for live input, ASSEMBLER_WINDOW_RECORDS records later for file input
 *   (so an import gives the same result however fast it runs). With audit syscall auditing off,
 *   a kernel AVC has no companions and leaves by the deadline.
 * - Events live in a FIFO list in creation order, which is also deadline order, plus a hash
 *   table on the key: adding, finding, expiring and evicting are all O(1).
 * - Bounded: at most ASSEMBLER_EVENTS_MAX events (the oldest is released early when full), at
 *   most ASSEMBLER_EVENT_RECORDS_MAX records / ASSEMBLER_EVENT_RAW_MAX bytes of raw per event. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assembler.h"
#include "context.h"
#include "macro.h"
#include "strutil.h"

#define HASH_BUCKETS (ASSEMBLER_EVENTS_MAX * 2)
#define ASSEMBLER_SPARE_EVENTS 16    /* released events kept to fill again */
#define ASSEMBLER_SPARE_RAW_MAX 4096 /* with a raw text buffer no larger */
#define ASSEMBLER_SPARE_DENIALS 4    /* and a verdict array no longer */

typedef struct Event Event;
struct Event {
        char node[AUDIT_NODE_MAX + 1];
        bool has_node;
        int64_t time_ms;
        uint64_t serial;
        uint64_t born; /* monotonic usec (clock mode) or record position (position mode) */
        Event *hash_next;
        Event *older, *newer;

        char *raw;
        size_t raw_len, raw_alloc;
        unsigned n_records;
        bool truncated;

        Denial *denials;
        unsigned n_denials, n_denials_alloc;

        bool has_syscall;
        int64_t sys_pid, sys_ppid, sys_uid, sys_syscall;
        char *sys_exe, *sys_comm;
        char *cwd, *proctitle;
        char *path_names[4]; /* the first PATH items, to complete an AVC's name= */
        unsigned n_path_names;
};

struct Assembler {
        AssemblerMode mode;
        assembler_emit_cb emit;
        void *userdata;
        Event *buckets[HASH_BUCKETS];
        Event *oldest, *newest;
        size_t n_events;
        uint64_t position;
        uint64_t evicted;
        uint64_t truncated;
        char *alone_raw; /* the raw text of a USER_AVC handed on alone */
        size_t alone_raw_alloc;
        Event *spare; /* emptied events to fill next (event_recycle()), by hash_next */
        unsigned n_spare;
};

static uint64_t event_hash(const char *node, bool has_node, int64_t time_ms, uint64_t serial) {
        uint64_t h = serial * 0x9E3779B97F4A7C15ULL ^ (uint64_t) time_ms * 0xC2B2AE3D27D4EB4FULL;
        if (has_node)
                for (const char *p = node; *p; p++)
                        h = (h ^ (unsigned char) *p) * 0x100000001B3ULL;
        return h % HASH_BUCKETS;
}

/* What the event holds but its raw text buffer and its verdict array. */
static void event_clear(Event *e) {
        for (unsigned i = 0; i < e->n_denials; i++)
                denial_done(&e->denials[i]);
        free(e->sys_exe);
        free(e->sys_comm);
        free(e->cwd);
        free(e->proctitle);
        for (unsigned i = 0; i < e->n_path_names; i++)
                free(e->path_names[i]);
}

static void event_free(Event *e) {
        if (!e)
                return;
        event_clear(e);
        free(e->raw);
        free(e->denials);
        free(e);
}

/* A released event is kept, emptied, for one of the next (at most ASSEMBLER_SPARE_EVENTS, with
 * their buffers when small): the allocation of each event, its raw text grown by realloc and its
 * verdict array were a tenth of the malloc time of the reader thread, which assembles about as
 * many events as it frees. */
static void event_recycle(Assembler *a, Event *e) {
        if (a->n_spare >= ASSEMBLER_SPARE_EVENTS || e->raw_alloc > ASSEMBLER_SPARE_RAW_MAX ||
            e->n_denials_alloc > ASSEMBLER_SPARE_DENIALS) {
                event_free(e);
                return;
        }
        event_clear(e);
        *e = (Event){.raw = e->raw,
                     .raw_alloc = e->raw_alloc,
                     .denials = e->denials,
                     .n_denials_alloc = e->n_denials_alloc,
                     .hash_next = a->spare};
        a->spare = e;
        a->n_spare++;
}

int assembler_new(AssemblerMode mode, assembler_emit_cb emit, void *userdata, Assembler **ret) {
        Assembler *a = calloc(1, sizeof(Assembler));
        if (!a)
                return -ENOMEM;
        a->mode = mode;
        a->emit = emit;
        a->userdata = userdata;
        *ret = a;
        return 0;
}

static void unlink_event(Assembler *a, Event *e) {
        Event **pp = &a->buckets[event_hash(e->node, e->has_node, e->time_ms, e->serial)];
        while (*pp && *pp != e)
                pp = &(*pp)->hash_next;
        if (*pp)
                *pp = e->hash_next;
        if (e->older)
                e->older->newer = e->newer;
        else
                a->oldest = e->newer;
        if (e->newer)
                e->newer->older = e->older;
        else
                a->newest = e->older;
        a->n_events--;
}

Assembler *assembler_free(Assembler *a) {
        if (!a)
                return NULL;
        while (a->oldest) {
                Event *e = a->oldest;
                unlink_event(a, e);
                event_free(e);
        }
        while (a->spare) {
                Event *e = a->spare;
                a->spare = e->hash_next;
                event_free(e);
        }
        free(a->alone_raw);
        free(a);
        return NULL;
}

static char *strdup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

/* Completes each verdict with what the event's other records know, then hands it on. */
static int release(Assembler *a, Event *e) {
        int r = 0;

        unlink_event(a, e);
        if (e->truncated)
                a->truncated++;

        for (unsigned i = 0; i < e->n_denials && r >= 0; i++) {
                Denial *d = &e->denials[i];
                if (e->has_syscall) {
                        if (d->pid < 0)
                                d->pid = e->sys_pid;
                        d->ppid = e->sys_ppid;
                        d->uid = e->sys_uid;
                        d->syscall = e->sys_syscall;
                        if (!d->exe && e->sys_exe)
                                d->exe = strdup(e->sys_exe);
                        if (!d->comm && e->sys_comm)
                                d->comm = strdup(e->sys_comm);
                }
                if (e->cwd && !d->cwd)
                        d->cwd = strdup(e->cwd);
                if (e->proctitle && !d->proctitle)
                        d->proctitle = strdup(e->proctitle);
                /* An AVC names only the last component; a PATH record of the same object (same
                 * last component) gives the whole path, joined with the CWD when relative (also
                 * a bare name: `cat shadow` in /etc is /etc/shadow), and cleaned up the way a
                 * user writes a path to filter on (`cat ./x` in /srv is /srv/x, not /srv/./x). */
                if (!d->path && d->name)
                        for (unsigned k = 0; k < e->n_path_names; k++) {
                                const char *pn = e->path_names[k];
                                _cleanup_(freep) char *joined = NULL;

                                if (pn[0] == '/')
                                        joined = strdup(pn);
                                else if (e->cwd && e->cwd[0] == '/') {
                                        if (asprintf(&joined, "%s/%s", e->cwd, pn) < 0)
                                                joined = NULL;
                                } else
                                        joined = strdup(pn); /* to match the name alone */
                                if (!joined)
                                        break;
                                path_simplify(joined);
                                const char *base = strrchr(joined, '/');
                                base = base ? base + 1 : joined;
                                if (strcmp(base, d->name) != 0)
                                        continue;
                                if (joined[0] == '/')
                                        d->path = TAKE_PTR(joined);
                                break;
                        }
                d->raw = e->raw;
                r = a->emit(d, a->userdata);
                d->raw = NULL;
        }
        event_recycle(a, e);
        return r;
}

static Event *find_event(Assembler *a, const Record *rec) {
        bool has_node = rec->node != NULL;
        Event *e =
                a->buckets[event_hash(rec->node, has_node, rec->stamp.time_ms, rec->stamp.serial)];
        for (; e; e = e->hash_next)
                if (e->serial == rec->stamp.serial && e->time_ms == rec->stamp.time_ms &&
                    e->has_node == has_node && (!has_node || strcmp(e->node, rec->node) == 0))
                        return e;
        return NULL;
}

/* A full table releases its oldest event early (counted) before another comes in. */
static int make_room(Assembler *a) {
        if (a->n_events < ASSEMBLER_EVENTS_MAX)
                return 0;
        a->evicted++;
        return release(a, a->oldest);
}

static int new_event(Assembler *a, const Record *rec, uint64_t now_usec, Event **ret) {
        int r;

        r = make_room(a);
        if (r < 0)
                return r;

        Event *e = a->spare;
        if (e) {
                a->spare = e->hash_next;
                a->n_spare--;
                e->hash_next = NULL;
        } else if (!(e = calloc(1, sizeof(Event))))
                return -ENOMEM;
        if (rec->node) {
                size_t n = strlen(rec->node);
                if (n > AUDIT_NODE_MAX)
                        n = AUDIT_NODE_MAX;
                memcpy(e->node, rec->node, n);
                e->has_node = true;
        }
        e->time_ms = rec->stamp.time_ms;
        e->serial = rec->stamp.serial;
        e->born = a->mode == ASSEMBLER_CLOCK ? now_usec : a->position;
        e->sys_pid = e->sys_ppid = e->sys_uid = e->sys_syscall = -1;

        uint64_t h = event_hash(e->node, e->has_node, e->time_ms, e->serial);
        e->hash_next = a->buckets[h];
        a->buckets[h] = e;
        e->older = a->newest;
        if (a->newest)
                a->newest->newer = e;
        else
                a->oldest = e;
        a->newest = e;
        a->n_events++;
        *ret = e;
        return 0;
}

static int append_raw(Event *e, const char *raw, size_t len) {
        if (e->n_records >= ASSEMBLER_EVENT_RECORDS_MAX ||
            e->raw_len + len + 2 > ASSEMBLER_EVENT_RAW_MAX) {
                e->truncated = true;
                return 0;
        }
        size_t need = e->raw_len + len + 2;
        if (need > e->raw_alloc) {
                size_t n = MAX(need, e->raw_alloc * 2);
                /* most events fit at once (and the buffer is reused: event_recycle()) */
                n = MAX(n, (size_t) 1536);
                char *p = realloc(e->raw, n);
                if (!p)
                        return -ENOMEM;
                e->raw = p;
                e->raw_alloc = n;
        }
        if (e->raw_len > 0)
                e->raw[e->raw_len++] = '\n';
        memcpy(e->raw + e->raw_len, raw, len);
        e->raw_len += len;
        e->raw[e->raw_len] = 0;
        e->n_records++;
        return 0;
}

/* d becomes the verdict of rec, seq the index of the verdict in its event. -ENOMEM. */
static int denial_from_record(Denial *d, const Record *rec, unsigned seq) {
        const AvcFields *v = &rec->avc;
        char type[256], mcs[4096];

        *d = DENIAL_NULL;
        d->time_ms = rec->stamp.time_ms;
        d->serial = rec->stamp.serial;
        d->seq = seq;
        d->record_type = rec->type;
        d->pid = v->pid;
        d->permissive = v->permissive;
        d->node = strdup_or_null(rec->node);
        d->result = strdup_or_null(v->result);
        d->permissions = strdup_or_null(v->permissions);
        d->comm = strdup_or_null(v->comm);
        d->exe = strdup_or_null(v->exe);
        d->path = strdup_or_null(v->path);
        d->name = strdup_or_null(v->name);
        d->scontext = strdup_or_null(v->scontext);
        d->tcontext = strdup_or_null(v->tcontext);
        d->tclass = strdup_or_null(v->tclass);
        d->sender_pid = v->sender_pid;
        d->sender_subj = strdup_or_null(v->sender_subj);
        if (v->scontext && context_split(v->scontext, type, sizeof(type), mcs, sizeof(mcs)) >= 0) {
                d->source_type = strdup(type);
                if (mcs[0])
                        d->mcs = strdup(mcs);
        }
        if (v->tcontext && context_split(v->tcontext, type, sizeof(type), mcs, sizeof(mcs)) >= 0) {
                d->target_type = strdup(type);
                if (mcs[0])
                        d->target_mcs = strdup(mcs);
        }
        if ((v->scontext && !d->scontext) || (v->result && !d->result) ||
            (v->sender_subj && !d->sender_subj))
                return -ENOMEM;
        return 0;
}

static int add_verdict(Event *e, const Record *rec) {
        if (e->n_denials >= ASSEMBLER_EVENT_RECORDS_MAX)
                return 0;
        if (e->n_denials == e->n_denials_alloc) {
                unsigned n = e->n_denials_alloc ? e->n_denials_alloc * 2 : 2;
                Denial *p = realloc(e->denials, n * sizeof(Denial));
                if (!p)
                        return -ENOMEM;
                e->denials = p;
                e->n_denials_alloc = n;
        }
        /* counted even when a string could not be copied: freed with the event */
        unsigned seq = e->n_denials++;
        return denial_from_record(&e->denials[seq], rec, seq);
}

/* A USER_AVC that opens no event: what new_event(), append_raw(), add_verdict() and release()
 * would do with it, without an event. Its raw text is its line alone. */
static int release_alone(Assembler *a, const Record *rec, const char *raw, size_t raw_len) {
        _cleanup_(denial_done) Denial d = DENIAL_NULL;
        int r;

        r = make_room(a);
        if (r < 0)
                return r;
        r = denial_from_record(&d, rec, 0);
        if (r < 0)
                return r;
        if (raw_len + 2 > ASSEMBLER_EVENT_RAW_MAX)
                a->truncated++; /* as an event's: no raw text at all */
        else {
                if (raw_len + 1 > a->alone_raw_alloc) {
                        size_t n = MAX(raw_len + 1, (size_t) 1024);
                        char *p = realloc(a->alone_raw, n);
                        if (!p)
                                return -ENOMEM;
                        a->alone_raw = p;
                        a->alone_raw_alloc = n;
                }
                memcpy(a->alone_raw, raw, raw_len);
                a->alone_raw[raw_len] = 0;
                d.raw = a->alone_raw;
        }
        r = a->emit(&d, a->userdata);
        d.raw = NULL;
        return r;
}

static void add_context(Event *e, const Record *rec) {
        switch (rec->kind) {
        case RECORD_SYSCALL:
                e->has_syscall = true;
                e->sys_pid = rec->syscall.pid;
                e->sys_ppid = rec->syscall.ppid;
                e->sys_uid = rec->syscall.uid;
                e->sys_syscall = rec->syscall.syscall;
                free(e->sys_exe);
                e->sys_exe = strdup_or_null(rec->syscall.exe);
                free(e->sys_comm);
                e->sys_comm = strdup_or_null(rec->syscall.comm);
                break;
        case RECORD_CWD:
                free(e->cwd);
                e->cwd = strdup_or_null(rec->cwd);
                break;
        case RECORD_PATH:
                if (rec->path.name && e->n_path_names < ELEMENTSOF(e->path_names))
                        e->path_names[e->n_path_names++] = strdup(rec->path.name);
                break;
        case RECORD_PROCTITLE:
                free(e->proctitle);
                e->proctitle = strdup_or_null(rec->proctitle);
                break;
        default:
                break;
        }
}

int assembler_add(Assembler *a, const Record *rec, const char *raw, size_t raw_len,
                  uint64_t now_usec) {
        Event *e;
        int r;

        a->position++;

        if (rec->kind == RECORD_SEPARATOR)
                return assembler_flush(a);
        if (!rec->has_stamp)
                return 0; /* nothing to join on; the caller decides what to do with it */

        e = find_event(a, rec);
        if (!e && rec->kind == RECORD_DENIAL && rec->type == 1107)
                return release_alone(a, rec, raw, raw_len);
        if (!e) {
                r = new_event(a, rec, now_usec, &e);
                if (r < 0)
                        return r;
        }

        r = append_raw(e, raw, raw_len);
        if (r < 0)
                return r;

        if (rec->kind == RECORD_DENIAL) {
                r = add_verdict(e, rec);
                if (r < 0)
                        return r;
        } else
                add_context(e, rec);

        /* A file has the whole event at hand: wait for its EOE so that raw holds that too. */
        if (rec->kind == RECORD_EOE || (rec->kind == RECORD_DENIAL && rec->type == 1107) ||
            (rec->kind == RECORD_PROCTITLE && e->n_denials > 0 && e->has_syscall &&
             a->mode == ASSEMBLER_CLOCK))
                return release(a, e);

        if (a->mode == ASSEMBLER_POSITION)
                while (a->oldest && a->position - a->oldest->born > ASSEMBLER_WINDOW_RECORDS) {
                        r = release(a, a->oldest);
                        if (r < 0)
                                return r;
                }
        return 0;
}

uint64_t assembler_expire(Assembler *a, uint64_t now_usec) {
        if (a->mode != ASSEMBLER_CLOCK)
                return UINT64_MAX; /* position mode releases in assembler_add() */
        while (a->oldest && now_usec - a->oldest->born >= ASSEMBLER_DEADLINE_USEC)
                if (release(a, a->oldest) < 0)
                        break;
        return a->oldest ? a->oldest->born + ASSEMBLER_DEADLINE_USEC : UINT64_MAX;
}

int assembler_flush(Assembler *a) {
        while (a->oldest) {
                int r = release(a, a->oldest);
                if (r < 0)
                        return r;
        }
        return 0;
}

size_t assembler_pending(const Assembler *a) {
        return a->n_events;
}

uint64_t assembler_evicted(const Assembler *a) {
        return a->evicted;
}
