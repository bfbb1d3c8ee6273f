/* SPDX-License-Identifier: MIT */
/* Denial: the plain value every stage hands on. Only ownership helpers and name tables here. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "denial.h"
#include "macro.h"

void container_ref_done(ContainerRef *c) {
        if (!c)
                return;
        /* most denials have no container: one test, no call for nothing */
        if (c->id || c->name || c->image || c->engine || c->pod || c->pod_namespace) {
                free(c->id);
                free(c->name);
                free(c->image);
                free(c->engine);
                free(c->pod);
                free(c->pod_namespace);
        }
        *c = (ContainerRef){};
}

static int strdup_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int container_ref_copy(const ContainerRef *src, ContainerRef *ret) {
        ContainerRef c = {};

        if (strdup_null(src->id, &c.id) < 0 || strdup_null(src->name, &c.name) < 0 ||
            strdup_null(src->image, &c.image) < 0 || strdup_null(src->engine, &c.engine) < 0 ||
            strdup_null(src->pod, &c.pod) < 0 ||
            strdup_null(src->pod_namespace, &c.pod_namespace) < 0) {
                container_ref_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

/* Every string of a Denial but the containers' and the candidates': X(d, field) for each, comma
 * separated. */
#define DENIAL_STRING_FIELDS(X, d)                                                                 \
        X(d, node), X(d, result), X(d, permissions), X(d, comm), X(d, exe), X(d, path),            \
                X(d, name), X(d, scontext), X(d, tcontext), X(d, tclass), X(d, source_type),       \
                X(d, target_type), X(d, mcs), X(d, target_mcs), X(d, cwd), X(d, proctitle),        \
                X(d, raw), X(d, sender_subj), X(d, booleans)
#define STRING_ADDRESS(d, f) &(d)->f
/* The addresses of every string of DENIAL_STRING_FIELDS(), for an array. */
#define DENIAL_STRINGS(d)                                                                          \
        { DENIAL_STRING_FIELDS(STRING_ADDRESS, d) }

/* s (a string of a denial whose block starts at block and holds size bytes) is freed unless it
 * lives in the block: its offset from the start is below the size (no block: size 0, nothing
 * is). */
static inline void free_outside(char *s, uintptr_t block, size_t size) {
        if (s && (uintptr_t) s - block >= size)
                free(s);
}
#define FREE_OUTSIDE(d, f) free_outside((d)->f, block, size)

void denial_done(Denial *d) {
        if (!d)
                return;
        /* Once per denial on the live path: the block's bounds are read once, and the strings
         * are tested one after the other, unrolled, without an array of them. */
        uintptr_t block = (uintptr_t) d->strings;
        size_t size = d->strings ? d->strings_size : 0;
        DENIAL_STRING_FIELDS(FREE_OUTSIDE, d);
        if (!d->strings_lent)
                free(d->strings);
        free(d->raw_packed);
        container_ref_done(&d->container);
        container_ref_done(&d->target_container);
        if (d->candidates)
                denial_clear_candidates(d);
        *d = DENIAL_NULL;
}

int denial_set_string(Denial *d, char **field, const char *value) {
        char *copy = NULL;

        if (value && !(copy = strdup(value)))
                return -ENOMEM;
        if (!denial_string_in_block(d, *field))
                free(*field);
        *field = copy;
        return 0;
}

void denial_move_strings(Denial *d, char *to) {
        char **strings[] = DENIAL_STRINGS(d);

        if (!d->strings)
                return;
        memcpy(to, d->strings, d->strings_size);
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (denial_string_in_block(d, *strings[i]))
                        *strings[i] = to + (*strings[i] - d->strings);
        if (!d->strings_lent)
                free(d->strings);
        d->strings = to;
        d->strings_lent = true;
}

void denial_clear_candidates(Denial *d) {
        for (size_t i = 0; i < d->n_candidates; i++)
                container_ref_done(&d->candidates[i]);
        free(d->candidates);
        d->candidates = NULL;
        d->n_candidates = 0;
}

int denial_add_candidate(Denial *d, const ContainerRef *c) {
        ContainerRef copy;
        int r;

        if (d->n_candidates >= DENIAL_CANDIDATES_MAX)
                return -E2BIG;
        if (!d->candidates) {
                d->candidates = calloc(DENIAL_CANDIDATES_MAX, sizeof(ContainerRef));
                if (!d->candidates)
                        return -ENOMEM;
        }
        r = container_ref_copy(c, &copy);
        if (r < 0)
                return r;
        d->candidates[d->n_candidates++] = copy;
        return 0;
}

static const char *const attribution_table[_ATTRIBUTION_MAX] = {
        [ATTRIBUTION_NONE] = "none",
        [ATTRIBUTION_PID] = "pid",
        [ATTRIBUTION_MCS] = "mcs",
        [ATTRIBUTION_AMBIGUOUS] = "ambiguous",
        [ATTRIBUTION_SENDER] = "sender",
        [ATTRIBUTION_POD] = "pod",
        [ATTRIBUTION_NAMESPACE] = "namespace",
};

bool attribution_has_candidates(Attribution a) {
        return a == ATTRIBUTION_AMBIGUOUS || a == ATTRIBUTION_POD || a == ATTRIBUTION_NAMESPACE;
}

bool denial_level_ref(const Denial *d, ContainerRef *ret) {
        if (d->has_container || d->n_candidates == 0 ||
            (d->attribution != ATTRIBUTION_POD && d->attribution != ATTRIBUTION_NAMESPACE))
                return false;
        const ContainerRef *first = &d->candidates[0];
        char *engine = first->engine;
        for (size_t i = 1; i < d->n_candidates; i++)
                if (!engine || !d->candidates[i].engine ||
                    strcmp(engine, d->candidates[i].engine) != 0)
                        engine = NULL;
        *ret = (ContainerRef){
                .engine = engine,
                .pod = d->attribution == ATTRIBUTION_POD ? first->pod : NULL,
                .pod_namespace = first->pod_namespace,
        };
        return true;
}

const char *attribution_to_string(Attribution a) {
        if (a < 0 || a >= _ATTRIBUTION_MAX)
                return NULL;
        return attribution_table[a];
}

int attribution_from_string(const char *s) {
        for (int i = 0; i < _ATTRIBUTION_MAX; i++)
                if (s && strcmp(s, attribution_table[i]) == 0)
                        return i;
        return -EINVAL;
}

static const struct {
        int type;
        const char *name;
} record_type_table[] = {
        {1400, "AVC"},
        {1107, "USER_AVC"},
        {1401, "SELINUX_ERR"},
};

const char *record_type_to_name(int type) {
        for (size_t i = 0; i < ELEMENTSOF(record_type_table); i++)
                if (record_type_table[i].type == type)
                        return record_type_table[i].name;
        return NULL;
}

int record_type_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(record_type_table); i++)
                if (name && strcmp(record_type_table[i].name, name) == 0)
                        return record_type_table[i].type;
        return -EINVAL;
}

int denial_copy(const Denial *src, Denial *ret) {
        Denial d = DENIAL_NULL;
        char *const *from[] = DENIAL_STRINGS(src);
        char **to[] = DENIAL_STRINGS(&d);
        size_t lens[ELEMENTSOF(from)], size = 0;
        bool failed = false;

        d.time_ms = src->time_ms;
        d.serial = src->serial;
        d.seq = src->seq;
        d.record_type = src->record_type;
        d.pid = src->pid;
        d.permissive = src->permissive;
        d.ppid = src->ppid;
        d.uid = src->uid;
        d.syscall = src->syscall;
        d.sender_pid = src->sender_pid;
        d.attribution = src->attribution;
        d.id = src->id;
        d.count = src->count;
        d.triaged = src->triaged;
        d.reason = src->reason;
        d.verdict = src->verdict;
        /* the strings in one block: one allocation, not one each */
        for (size_t i = 0; i < ELEMENTSOF(from); i++) {
                lens[i] = *from[i] ? strlen(*from[i]) : 0;
                size += *from[i] ? lens[i] + 1 : 0;
        }
        if (size > 0) {
                d.strings = malloc(size);
                if (!d.strings)
                        return -ENOMEM;
                d.strings_size = size;
                char *p = d.strings;
                for (size_t i = 0; i < ELEMENTSOF(from); i++)
                        if (*from[i]) {
                                *to[i] = memcpy(p, *from[i], lens[i] + 1);
                                p += lens[i] + 1;
                        }
        }
        if (src->has_container) {
                d.has_container = true;
                failed = container_ref_copy(&src->container, &d.container) < 0;
        }
        if (!failed && src->has_target_container) {
                d.has_target_container = true;
                failed = container_ref_copy(&src->target_container, &d.target_container) < 0;
        }
        for (size_t i = 0; !failed && i < src->n_candidates; i++)
                failed = denial_add_candidate(&d, &src->candidates[i]) < 0;
        if (failed) {
                denial_done(&d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}
