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
#define ASSEMBLER_SPARE_EVENTS 16        /* released events kept to fill again */
#define ASSEMBLER_SPARE_RAW_MAX 4096     /* with a raw text buffer no larger */
#define ASSEMBLER_SPARE_TEXT_MAX 4096    /* a string buffer no larger */
#define ASSEMBLER_SPARE_DENIALS 4        /* and a verdict array no longer */
#define ASSEMBLER_BLOCK_KEEP (16 * 1024) /* the denials' block and the path scratch kept */
#define TEXT_NONE SIZE_MAX               /* the offset of NULL in an event's text */

/* A string of the event's context records that a later record of the same type replaces (the
 * last one wins, as it always did): a buffer of its own, overwritten, kept with a recycled event,
 * so that a flood of such records holds one value, not all of them. */
typedef struct Text {
        char *s;
        size_t alloc;
        bool set; /* false: NULL */
} Text;

/* A verdict of the event, until its release: its record's numbers, and its strings by offset
 * into the event's text (TEXT_NONE: NULL), in the order of VERDICT_STRINGS(). */
enum {
        V_RESULT,
        V_PERMISSIONS,
        V_COMM,
        V_EXE,
        V_PATH,
        V_NAME,
        V_SCONTEXT,
        V_TCONTEXT,
        V_TCLASS,
        V_SENDER_SUBJ,
        _V_MAX,
};

typedef struct Verdict {
        int record_type, permissive;
        int64_t pid, sender_pid;
        size_t text[_V_MAX];
        size_t start, len;     /* its strings' part of the event's text: one copy copies them all */
        ContextParts parts[2]; /* its contexts' split, from the record (AvcFields) */
} Verdict;

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

        /* The verdicts' strings and the PATH names, one after the other, NUL terminated: copied
         * once from their records into one buffer (grown, kept with a recycled event), where
         * they used to be a strdup() apiece. Bounded by the verdicts and PATH names kept. */
        char *text;
        size_t text_len, text_alloc;
        Verdict *verdicts;
        unsigned n_verdicts, n_verdicts_alloc;

        bool has_syscall;
        int64_t sys_pid, sys_ppid, sys_uid, sys_syscall;
        Text sys_exe, sys_comm, cwd, proctitle;
        size_t path_names[4]; /* the first PATH items' names (offsets), to complete an AVC's name=
                               */
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
        /* The block a released denial's strings are copied into and lent with it (lend_strings()):
         * one copy, no allocation, per denial. */
        char *block;
        size_t block_alloc;
        char *join; /* a PATH name joined with the CWD, being compared */
        size_t join_alloc;
};

static uint64_t event_hash(const char *node, bool has_node, int64_t time_ms, uint64_t serial) {
        uint64_t h = serial * 0x9E3779B97F4A7C15ULL ^ (uint64_t) time_ms * 0xC2B2AE3D27D4EB4FULL;
        if (has_node)
                for (const char *p = node; *p; p++)
                        h = (h ^ (unsigned char) *p) * 0x100000001B3ULL;
        return h % HASH_BUCKETS;
}

/* Makes room for need bytes in *buf (kept between uses: grown, never shrunk here). */
static int buffer_reserve(char **buf, size_t *alloc, size_t need, size_t least) {
        if (need <= *alloc)
                return 0;
        size_t n = MAX(need, MAX(*alloc * 2, least));
        char *p = realloc(*buf, n);
        if (!p)
                return -ENOMEM;
        *buf = p;
        *alloc = n;
        return 0;
}

/* A buffer grown beyond max is given back (a hostile event's, say); a smaller one is kept. */
static void buffer_trim(char **buf, size_t *alloc, size_t max) {
        if (*alloc > max) {
                free(*buf);
                *buf = NULL;
                *alloc = 0;
        }
}

static int text_set(Text *t, const char *v) {
        if (!v) {
                t->set = false;
                return 0;
        }
        size_t n = strlen(v) + 1;
        int r = buffer_reserve(&t->s, &t->alloc, n, 64);
        if (r < 0)
                return r;
        memcpy(t->s, v, n);
        t->set = true;
        return 0;
}

static const char *text_get(const Text *t) {
        return t->set ? t->s : NULL;
}

/* Emptied, for the next event (its buffer kept unless larger than max). */
static void text_trim(Text *t, size_t max) {
        buffer_trim(&t->s, &t->alloc, max);
        t->set = false;
}

/* Appends v with its NUL to the event's text; its offset in *ret (TEXT_NONE for NULL). */
static int event_text_add(Event *e, const char *v, size_t *ret) {
        if (!v) {
                *ret = TEXT_NONE;
                return 0;
        }
        size_t n = strlen(v) + 1;
        int r = buffer_reserve(&e->text, &e->text_alloc, e->text_len + n, 512);
        if (r < 0)
                return r;
        memcpy(e->text + e->text_len, v, n);
        *ret = e->text_len;
        e->text_len += n;
        return 0;
}

static const char *event_text(const Event *e, size_t offset) {
        return offset == TEXT_NONE ? NULL : e->text + offset;
}

/* Whether p points into the len bytes at block. */
static bool within(const char *p, const char *block, size_t len) {
        return p && block && (uintptr_t) p >= (uintptr_t) block &&
               (uintptr_t) p < (uintptr_t) block + len;
}

static void event_free(Event *e) {
        if (!e)
                return;
        free(e->raw);
        free(e->text);
        free(e->verdicts);
        Text *texts[] = {&e->sys_exe, &e->sys_comm, &e->cwd, &e->proctitle};
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                free(texts[i]->s);
        free(e);
}

/* A released event is kept, emptied, for one of the next (at most ASSEMBLER_SPARE_EVENTS, with
 * their buffers when small): the allocation of each event, its raw text grown by realloc, its
 * strings and its verdict array were a tenth of the malloc time of the reader thread, which
 * assembles about as many events as it frees. */
static void event_recycle(Assembler *a, Event *e) {
        if (a->n_spare >= ASSEMBLER_SPARE_EVENTS) {
                event_free(e);
                return;
        }
        buffer_trim(&e->raw, &e->raw_alloc, ASSEMBLER_SPARE_RAW_MAX);
        buffer_trim(&e->text, &e->text_alloc, ASSEMBLER_SPARE_TEXT_MAX);
        if (e->n_verdicts_alloc > ASSEMBLER_SPARE_DENIALS) {
                free(e->verdicts);
                e->verdicts = NULL;
                e->n_verdicts_alloc = 0;
        }
        Text *texts[] = {&e->sys_exe, &e->sys_comm, &e->cwd, &e->proctitle};
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                text_trim(texts[i], ASSEMBLER_SPARE_TEXT_MAX);
        *e = (Event){.raw = e->raw,
                     .raw_alloc = e->raw_alloc,
                     .text = e->text,
                     .text_alloc = e->text_alloc,
                     .verdicts = e->verdicts,
                     .n_verdicts_alloc = e->n_verdicts_alloc,
                     .sys_exe = e->sys_exe,
                     .sys_comm = e->sys_comm,
                     .cwd = e->cwd,
                     .proctitle = e->proctitle,
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
        free(a->block);
        free(a->join);
        free(a);
        return NULL;
}

/* ---- the denial handed on ---- */

/* The sizes of the buffers a denial's types and MCS were once split into: a longer one is left
 * out (NULL), as it always was, and both of a context when either is. */
#define LEND_TYPE_SIZE 256
#define LEND_MCS_SIZE 4096

/* Whether a context has parts (*p) that fit the bounds above. A valid context's type is never
 * empty: parts with none were not located (a Record made by hand, not by record_parse()), and
 * are now; an invalid context has none, as it had no type and MCS before. */
static bool parts_fit(const char *context, ContextParts *p) {
        if (!context || (p->type_len == 0 && context_locate(context, p) < 0))
                return false;
        return p->type_len + 1 <= LEND_TYPE_SIZE && p->cats_len + 1 <= LEND_MCS_SIZE;
}

/* Copies a context's type and MCS (per parts) to p, pointing *type and *mcs (NULL for no
 * categories) at them; returns the end of what it wrote. */
static char *put_parts(char *p, const char *context, const ContextParts *parts, char **type,
                       char **mcs) {
        *type = memcpy(p, context + parts->type_off, parts->type_len);
        p += parts->type_len;
        *p++ = '\0';
        if (parts->cats_len > 0) {
                *mcs = memcpy(p, context + parts->cats_off, parts->cats_len);
                p += parts->cats_len;
                *p++ = '\0';
        }
        return p;
}

/* d's strings, borrowed until now (from the record, the event, the stack), are copied into the
 * assembler's block, which d is lent with them: no allocation per denial, where twenty strdup()s
 * and as many free()s were. Most of them lie in src (the record's storage, or the verdict's part
 * of the event's text), copied in one piece; the others one by one. source_type, mcs,
 * target_type and target_mcs are copied from the contexts, where parts (the record parser's
 * context_locate(), made when it validated them) says they lie: no second parse. On failure d
 * is left as it was (borrowed). */
static int lend_strings(Assembler *a, Denial *d, const ContextParts given[static 2],
                        const char *src, size_t src_len) {
        ContextParts parts[2] = {given[0], given[1]};
        /* the derived four are NULL until the end (DENIAL_NULL) */
        char **fields[] = {&d->node, &d->result,    &d->permissions, &d->comm,     &d->exe,
                           &d->path, &d->name,      &d->scontext,    &d->tcontext, &d->tclass,
                           &d->cwd,  &d->proctitle, &d->sender_subj};
        /* lens[i]: SIZE_MAX for a string in src (or NULL), else its length. In src is an offset
         * from src below src_len: one comparison (no src: src_len 0, nothing is). */
        size_t lens[ELEMENTSOF(fields)], size;
        uintptr_t from = (uintptr_t) src;
        bool has_s, has_t;
        int r;

        if (!src)
                src_len = 0;
        size = src_len;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *f = *fields[i];

                lens[i] = SIZE_MAX;
                if (f && (uintptr_t) f - from >= src_len) {
                        lens[i] = strlen(f);
                        size += lens[i] + 1;
                }
        }
        has_s = parts_fit(d->scontext, &parts[0]);
        has_t = parts_fit(d->tcontext, &parts[1]);
        if (has_s)
                size += parts[0].type_len + 1 + (parts[0].cats_len ? parts[0].cats_len + 1 : 0);
        if (has_t)
                size += parts[1].type_len + 1 + (parts[1].cats_len ? parts[1].cats_len + 1 : 0);
        r = buffer_reserve(&a->block, &a->block_alloc, MAX(size, (size_t) 1), 1024);
        if (r < 0)
                return r;
        char *p = a->block;
        if (src_len > 0) {
                memcpy(p, src, src_len);
                p += src_len;
        }
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (lens[i] != SIZE_MAX) {
                        *fields[i] = memcpy(p, *fields[i], lens[i] + 1);
                        p += lens[i] + 1;
                } else if (*fields[i])
                        *fields[i] = a->block + (*fields[i] - src);
        if (has_s)
                p = put_parts(p, d->scontext, &parts[0], &d->source_type, &d->mcs);
        if (has_t)
                p = put_parts(p, d->tcontext, &parts[1], &d->target_type, &d->target_mcs);
        d->strings = a->block;
        d->strings_size = size;
        d->strings_lent = true;
        return 0;
}

/* Hands d (its strings borrowed) on with raw, lent for the call, then frees what the callee
 * added to it (a container, candidates) and gives back the scratch buffers a hostile denial
 * grew beyond what is worth keeping. */
static int emit_denial(Assembler *a, Denial *d, const ContextParts parts[static 2], const char *src,
                       size_t src_len, char *raw) {
        int r;

        r = lend_strings(a, d, parts, src, src_len);
        if (r < 0)
                return r;
        d->raw = raw;
        r = a->emit(d, a->userdata);
        d->raw = NULL;
        denial_done(d); /* the block is lent: it stays */
        buffer_trim(&a->block, &a->block_alloc, ASSEMBLER_BLOCK_KEEP);
        buffer_trim(&a->join, &a->join_alloc, ASSEMBLER_BLOCK_KEEP);
        return r;
}

/* d (strings borrowed from rec) becomes the verdict of rec, seq the index of the verdict in its
 * event. */
static void denial_from_record(Denial *d, const Record *rec, unsigned seq) {
        const AvcFields *v = &rec->avc;

        *d = DENIAL_NULL;
        d->time_ms = rec->stamp.time_ms;
        d->serial = rec->stamp.serial;
        d->seq = seq;
        d->record_type = rec->type;
        d->pid = v->pid;
        d->permissive = v->permissive;
        d->node = (char *) rec->node;
        d->result = (char *) v->result;
        d->permissions = (char *) v->permissions;
        d->comm = (char *) v->comm;
        d->exe = (char *) v->exe;
        d->path = (char *) v->path;
        d->name = (char *) v->name;
        d->scontext = (char *) v->scontext;
        d->tcontext = (char *) v->tcontext;
        d->tclass = (char *) v->tclass;
        d->sender_pid = v->sender_pid;
        d->sender_subj = (char *) v->sender_subj;
}

/* An AVC names only the last component; a PATH record of the same object (same last component)
 * gives the whole path, joined with the CWD when relative (also a bare name: `cat shadow` in
 * /etc is /etc/shadow), and cleaned up the way a user writes a path to filter on (`cat ./x` in
 * /srv is /srv/x, not /srv/./x). The path in a->join, or NULL. */
static const char *complete_path(Assembler *a, const Event *e, const char *name) {
        const char *cwd = text_get(&e->cwd);

        for (unsigned k = 0; k < e->n_path_names; k++) {
                const char *pn = event_text(e, e->path_names[k]);
                bool with_cwd = pn[0] != '/' && cwd && cwd[0] == '/';
                size_t cwd_len = with_cwd ? strlen(cwd) : 0, pn_len = strlen(pn);

                /* +2: path_simplify() writes "." for an empty name (the name alone, NUL) */
                if (buffer_reserve(&a->join, &a->join_alloc, cwd_len + 1 + pn_len + 2, 256) < 0)
                        return NULL;
                char *joined = a->join;
                if (with_cwd) {
                        memcpy(joined, cwd, cwd_len);
                        joined[cwd_len] = '/';
                        memcpy(joined + cwd_len + 1, pn, pn_len + 1);
                } else
                        memcpy(joined, pn, pn_len + 1); /* absolute, or to match the name alone */
                path_simplify(joined);
                const char *base = strrchr(joined, '/');
                base = base ? base + 1 : joined;
                if (strcmp(base, name) != 0)
                        continue;
                return joined[0] == '/' ? joined : NULL;
        }
        return NULL;
}

/* Completes each verdict with what the event's other records know, then hands it on. */
static int release(Assembler *a, Event *e) {
        int r = 0;

        unlink_event(a, e);
        if (e->truncated)
                a->truncated++;

        for (unsigned i = 0; i < e->n_verdicts && r >= 0; i++) {
                const Verdict *v = &e->verdicts[i];
                Denial d = DENIAL_NULL;
                char **strings[_V_MAX] = {
                        [V_RESULT] = &d.result,     [V_PERMISSIONS] = &d.permissions,
                        [V_COMM] = &d.comm,         [V_EXE] = &d.exe,
                        [V_PATH] = &d.path,         [V_NAME] = &d.name,
                        [V_SCONTEXT] = &d.scontext, [V_TCONTEXT] = &d.tcontext,
                        [V_TCLASS] = &d.tclass,     [V_SENDER_SUBJ] = &d.sender_subj,
                };

                d.time_ms = e->time_ms;
                d.serial = e->serial;
                d.seq = i;
                d.record_type = v->record_type;
                d.pid = v->pid;
                d.permissive = v->permissive;
                d.sender_pid = v->sender_pid;
                d.node = e->has_node ? e->node : NULL;
                for (size_t k = 0; k < _V_MAX; k++)
                        *strings[k] = (char *) event_text(e, v->text[k]);
                if (e->has_syscall) {
                        if (d.pid < 0)
                                d.pid = e->sys_pid;
                        d.ppid = e->sys_ppid;
                        d.uid = e->sys_uid;
                        d.syscall = e->sys_syscall;
                        if (!d.exe)
                                d.exe = (char *) text_get(&e->sys_exe);
                        if (!d.comm)
                                d.comm = (char *) text_get(&e->sys_comm);
                }
                d.cwd = (char *) text_get(&e->cwd);
                d.proctitle = (char *) text_get(&e->proctitle);
                if (!d.path && d.name)
                        d.path = (char *) complete_path(a, e, d.name);
                r = emit_denial(a, &d, v->parts, e->text + v->start, v->len, e->raw);
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

static int add_verdict(Event *e, const Record *rec) {
        const AvcFields *a = &rec->avc;
        const char *strings[_V_MAX] = {
                [V_RESULT] = a->result,     [V_PERMISSIONS] = a->permissions,
                [V_COMM] = a->comm,         [V_EXE] = a->exe,
                [V_PATH] = a->path,         [V_NAME] = a->name,
                [V_SCONTEXT] = a->scontext, [V_TCONTEXT] = a->tcontext,
                [V_TCLASS] = a->tclass,     [V_SENDER_SUBJ] = a->sender_subj,
        };
        Verdict *v;
        int r;

        if (e->n_verdicts >= ASSEMBLER_EVENT_RECORDS_MAX)
                return 0;
        if (e->n_verdicts == e->n_verdicts_alloc) {
                unsigned n = e->n_verdicts_alloc ? e->n_verdicts_alloc * 2 : 2;
                Verdict *p = realloc(e->verdicts, n * sizeof(Verdict));
                if (!p)
                        return -ENOMEM;
                e->verdicts = p;
                e->n_verdicts_alloc = n;
        }
        v = &e->verdicts[e->n_verdicts];
        *v = (Verdict){.record_type = rec->type,
                       .permissive = a->permissive,
                       .pid = a->pid,
                       .sender_pid = a->sender_pid,
                       .start = e->text_len,
                       .parts = {a->scontext_parts, a->tcontext_parts}};
        /* the record's storage in one piece (it holds them all), then any string from
         * elsewhere */
        if (rec->storage && rec->storage_size > 0) {
                r = buffer_reserve(&e->text, &e->text_alloc, e->text_len + rec->storage_size, 512);
                if (r < 0)
                        return r;
                memcpy(e->text + e->text_len, rec->storage, rec->storage_size);
                e->text_len += rec->storage_size;
        }
        for (size_t k = 0; k < _V_MAX; k++) {
                if (within(strings[k], rec->storage, rec->storage_size))
                        v->text[k] = v->start + (size_t) (strings[k] - rec->storage);
                else {
                        r = event_text_add(e, strings[k], &v->text[k]);
                        if (r < 0)
                                return r;
                }
        }
        v->len = e->text_len - v->start;
        e->n_verdicts++;
        return 0;
}

/* A USER_AVC that opens no event: what new_event(), append_raw(), add_verdict() and release()
 * would do with it, without an event. Its raw text is its line alone. */
static int release_alone(Assembler *a, const Record *rec, const char *raw, size_t raw_len) {
        char *text = NULL;
        Denial d;
        int r;

        r = make_room(a);
        if (r < 0)
                return r;
        if (raw_len + 2 > ASSEMBLER_EVENT_RAW_MAX)
                a->truncated++; /* as an event's: no raw text at all */
        else {
                r = buffer_reserve(&a->alone_raw, &a->alone_raw_alloc, raw_len + 1, 1024);
                if (r < 0)
                        return r;
                memcpy(a->alone_raw, raw, raw_len);
                a->alone_raw[raw_len] = 0;
                text = a->alone_raw;
        }
        denial_from_record(&d, rec, 0);
        return emit_denial(a, &d,
                           (ContextParts[2]){rec->avc.scontext_parts, rec->avc.tcontext_parts},
                           rec->storage, rec->storage_size, text);
}

static int add_context(Event *e, const Record *rec) {
        switch (rec->kind) {
        case RECORD_SYSCALL:
                e->has_syscall = true;
                e->sys_pid = rec->syscall.pid;
                e->sys_ppid = rec->syscall.ppid;
                e->sys_uid = rec->syscall.uid;
                e->sys_syscall = rec->syscall.syscall;
                if (text_set(&e->sys_exe, rec->syscall.exe) < 0 ||
                    text_set(&e->sys_comm, rec->syscall.comm) < 0)
                        return -ENOMEM;
                return 0;
        case RECORD_CWD:
                return text_set(&e->cwd, rec->cwd);
        case RECORD_PATH:
                if (rec->path.name && e->n_path_names < ELEMENTSOF(e->path_names)) {
                        int r = event_text_add(e, rec->path.name, &e->path_names[e->n_path_names]);
                        if (r < 0)
                                return r;
                        e->n_path_names++;
                }
                return 0;
        case RECORD_PROCTITLE:
                return text_set(&e->proctitle, rec->proctitle);
        default:
                return 0;
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

        r = rec->kind == RECORD_DENIAL ? add_verdict(e, rec) : add_context(e, rec);
        if (r < 0)
                return r;

        /* A file has the whole event at hand: wait for its EOE so that raw holds that too. */
        if (rec->kind == RECORD_EOE || (rec->kind == RECORD_DENIAL && rec->type == 1107) ||
            (rec->kind == RECORD_PROCTITLE && e->n_verdicts > 0 && e->has_syscall &&
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
