/* SPDX-License-Identifier: MIT */
/* The reason of a denial from a binary policy, with libsepol, as audit2why computes it.
 *
 * What audit2why does (SELinuxProject/selinux, python/audit2why/audit2why.c, and the sepolgen
 * code around it), and what this module does the same way:
 *   - it reads the policy file into a policydb of its own (sepol_policydb_read), makes it
 *     libsepol's current policy with a fresh SID table (sepol_set_policydb, sepol_set_sidtab);
 *   - context strings become SIDs (sepol_context_to_sid), the class and each permission values
 *     (sepol_string_to_security_class, sepol_string_to_av_perm); any of these failing is its
 *     BADSCON/BADTCON/BADTCLASS/BADPERM, which audit2why reports by printing nothing for the
 *     record: here the reason "unknown";
 *   - sepol_compute_av_reason_buffer gives the reason bits (libsepol's services.c,
 *     context_struct_compute_av: TE, then constraints, then RBAC, then bounds). No bits: the
 *     policy allows it ("allowed"). The TE bit wins: audit2why then flips every boolean of the
 *     policy in turn to the other value (sepol_bool_set), recomputes, and lists the booleans
 *     under which no reason is left ("boolean"), else it is a TE miss ("te"; audit2why's
 *     DONTAUDIT, a dontaudit rule covering it, is a TE miss too: TriageResult.dontaudit). Then
 *     constraint (with libsepol's text of the failed constraints), rbac, bounds.
 * One difference, in cost only: audit2why flips all booleans (refpolicy: 298, each flip
 * re-evaluating every conditional block twice: milliseconds per question); we flip only those
 * in the conditions of blocks that hold an allow rule for the question's types and class
 * (relevant_booleans() says why no other can change the answer). triage_policy_set_exhaustive()
 * flips all of them, and the tests check both ways agree.
 *
 * libsepol: Debian 12's libsepol.so.2 (3.4) exports the computation (sepol_compute_av_reason_
 * buffer, sepol_context_to_sid, ...) but not sepol_set_policydb, sepol_set_sidtab or
 * sepol_sidtab_init: the only exported way to install a policy is sepol_set_policydb_from_file,
 * whose policydb stays private to the library, so the booleans could not be flipped in it. This
 * is why audit2why links libsepol statically (libselinux's src/Makefile: audit2why.so against
 * libsepol.a). We do the same: libsepol-dev ships libsepol.a (position independent), and only
 * avcwatchd-core links it (CMakeLists.txt). The cost: a libsepol fix reaches us at rebuild.
 *
 * libsepol computes on one global policy and SID table; every call here first selects its own
 * (two pointer stores), so that several TriagePolicy may exist, as during a reload. Not thread
 * safe, like the rest of the daemon's single event loop.
 *
 * The cache. The answer depends on the two contexts, the class and the permissions; of the
 * contexts it depends on user, role and type (TE rules, RBAC, bounds and the u/r/t terms of
 * constraints) and on the levels only through the relations constraints can test: eq, dom,
 * domby, incomp between l1, h1, l2 and h2 (libsepol's constraint_expr_eval_reason; no constraint
 * names a level literally). So the key is (user:role:type of both, the six relations, class,
 * permissions): the thousands of distinct category pairs of containers share a few entries.
 * The relations are computed from the category sets when all four sensitivities are the same
 * name (MCS: s0); otherwise, or when a level does not parse, the key holds the levels as they
 * are (exact, shared less). Whether a context is valid (sepol_context_to_sid) depends on the
 * whole string: the context table is keyed by it. Both tables are bounded
 * (TRIAGE_REASONS_MAX, TRIAGE_CONTEXTS_MAX) and emptied when full, the SID table with the
 * context table (SIDs index it), so memory stays bounded whatever the input. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sepol/booleans.h>
#include <sepol/debug.h>
#include <sepol/handle.h>
#include <sepol/policydb.h>
#include <sepol/policydb/conditional.h>
#include <sepol/policydb/policydb.h>
#include <sepol/policydb/services.h>
#include <sepol/policydb/sidtab.h>
/* cond_expr_t has a field named bool, which <stdbool.h> (included below) turns into _Bool: read
 * it here, before. */
static inline uint32_t cond_expr_bool(const cond_expr_t *e) {
        return e->bool;
}
/* libsepol's headers pull in <sys/param.h>, whose MIN/MAX macro.h defines its own way */
#undef MIN
#undef MAX

#include "context.h"
#include "macro.h"
#include "policy.h"

#define TABLE_SLOTS 8192 /* power of two, twice the larger bound: probes stay short */
#define KEY_MAX 2048     /* longer questions are answered without the cache */
#define SENS_MAX 16

typedef struct Answer {
        char *key; /* NULL: free slot */
        TriageReason reason;
        bool dontaudit;
        TriageBoolean *booleans;
        size_t n_booleans;
        char *constraint;
} Answer;

typedef struct Level {
        char sens[SENS_MAX];
        McsSet cats;
} Level;

typedef struct Context {
        char *key; /* the context string; NULL: free slot */
        bool valid;
        sepol_security_id_t sid;
        size_t urt_len; /* length of "user:role:type" */
        bool levels_ok; /* lo and hi parsed */
        Level lo, hi;
} Context;

struct TriagePolicy {
        sepol_handle_t *handle;
        sepol_policydb_t *db;
        sidtab_t sidtab;

        size_t n_booleans;
        size_t bool_capacity;
        char **bool_names;
        bool *bool_values;
        sepol_bool_key_t **bool_keys;
        sepol_bool_t **bools;
        bool bools_in_value_order; /* ours[i] is the policy's boolean value i + 1 */
        bool exhaustive;           /* flip every boolean (triage_policy_set_exhaustive) */
        bool *relevant;            /* scratch: booleans whose rules could allow the question */

        Answer *answers; /* TABLE_SLOTS */
        size_t n_answers;
        Context *contexts; /* TABLE_SLOTS */
        size_t n_contexts;

        bool broken;    /* a boolean could not be restored: answers would be wrong */
        Answer scratch; /* an answer not cached (key too long), owned until the next call */
        uint64_t hits, misses, resets;
};

static uint64_t hash_string(const char *s) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

static void answer_clear(Answer *a) {
        free(a->key);
        free(a->booleans);
        free(a->constraint);
        *a = (Answer){};
}

static void answers_reset(TriagePolicy *p) {
        for (size_t i = 0; i < TABLE_SLOTS; i++)
                if (p->answers[i].key)
                        answer_clear(&p->answers[i]);
        p->n_answers = 0;
}

static int contexts_reset(TriagePolicy *p) {
        for (size_t i = 0; i < TABLE_SLOTS; i++) {
                free(p->contexts[i].key);
                p->contexts[i].key = NULL;
        }
        p->n_contexts = 0;
        sepol_sidtab_destroy(&p->sidtab);
        return sepol_sidtab_init(&p->sidtab) < 0 ? -ENOMEM : 0;
}

static void select_policy(TriagePolicy *p) {
        sepol_set_policydb(&p->db->p);
        sepol_set_sidtab(&p->sidtab);
}

TriagePolicy *triage_policy_free(TriagePolicy *p) {
        if (!p)
                return NULL;
        if (p->answers)
                answers_reset(p);
        free(p->answers);
        if (p->contexts)
                for (size_t i = 0; i < TABLE_SLOTS; i++)
                        free(p->contexts[i].key);
        free(p->contexts);
        answer_clear(&p->scratch);
        sepol_sidtab_destroy(&p->sidtab);
        for (size_t i = 0; i < p->n_booleans; i++) {
                free(p->bool_names ? p->bool_names[i] : NULL);
                if (p->bool_keys && p->bool_keys[i])
                        sepol_bool_key_free(p->bool_keys[i]);
                if (p->bools && p->bools[i])
                        sepol_bool_free(p->bools[i]);
        }
        free(p->bool_names);
        free(p->bool_values);
        free(p->bool_keys);
        free(p->bools);
        free(p->relevant);
        if (p->db)
                sepol_policydb_free(p->db);
        if (p->handle)
                sepol_handle_destroy(p->handle);
        free(p);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(TriagePolicy *, triage_policy_free);

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static void policy_file_freep(sepol_policy_file_t **pf) {
        if (*pf)
                sepol_policy_file_free(*pf);
}

typedef struct BoolCollect {
        TriagePolicy *p;
        int r;
} BoolCollect;

static int collect_boolean(const sepol_bool_t *b, void *userdata) {
        BoolCollect *c = userdata;
        TriagePolicy *p = c->p;
        size_t i = p->n_booleans;
        const char *name = sepol_bool_get_name(b);

        if (i >= p->bool_capacity || !name) {
                c->r = -EBADMSG;
                return -1;
        }

        p->bool_names[i] = strdup(name);
        if (!p->bool_names[i]) {
                c->r = -ENOMEM;
                return -1;
        }
        p->n_booleans++;
        p->bool_values[i] = sepol_bool_get_value(b);
        if (sepol_bool_key_create(p->handle, name, &p->bool_keys[i]) < 0 ||
            sepol_bool_clone(p->handle, b, &p->bools[i]) < 0) {
                c->r = -ENOMEM;
                return -1;
        }
        return 0;
}

static int load_booleans(TriagePolicy *p) {
        unsigned count = 0;
        if (sepol_bool_count(p->handle, p->db, &count) < 0)
                return -EBADMSG;
        if (count == 0)
                return 0;
        p->bool_names = calloc(count, sizeof(char *));
        p->bool_values = calloc(count, sizeof(bool));
        p->bool_keys = calloc(count, sizeof(sepol_bool_key_t *));
        p->bools = calloc(count, sizeof(sepol_bool_t *));
        if (!p->bool_names || !p->bool_values || !p->bool_keys || !p->bools)
                return -ENOMEM;
        p->bool_capacity = count;
        BoolCollect c = {p, 0};
        if (sepol_bool_iterate(p->handle, p->db, collect_boolean, &c) < 0 || c.r < 0)
                return c.r < 0 ? c.r : -EBADMSG;

        /* The pruned search (relevant_booleans) maps a conditional's boolean values to ours:
         * libsepol iterates in value order; should it not, every boolean is flipped. */
        const policydb_t *db = &p->db->p;
        p->bools_in_value_order = p->n_booleans == db->p_bools.nprim;
        for (size_t i = 0; p->bools_in_value_order && i < p->n_booleans; i++)
                p->bools_in_value_order = db->p_bool_val_to_name[i] &&
                                          strcmp(db->p_bool_val_to_name[i], p->bool_names[i]) == 0;
        p->relevant = calloc(p->n_booleans, sizeof(bool));
        return p->relevant ? 0 : -ENOMEM;
}

int triage_policy_load(const char *path, TriagePolicy **ret, const char **ret_why) {
        _cleanup_(triage_policy_freep) TriagePolicy *p = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_(policy_file_freep) sepol_policy_file_t *pf = NULL;
        const char *why_dummy;
        struct stat st;
        int r;

        if (!ret_why)
                ret_why = &why_dummy;

        /* libsepol reports through its default handle to stderr; the daemon logs itself. */
        sepol_debug(0);

        f = fopen(path, "re");
        if (!f) {
                *ret_why = "cannot open the policy file";
                return negative_errno();
        }
        if (fstat(fileno(f), &st) < 0) {
                *ret_why = "cannot stat the policy file";
                return negative_errno();
        }
        if (S_ISDIR(st.st_mode)) {
                *ret_why = "the policy path is a directory";
                return -EISDIR;
        }
        /* /sys/fs/selinux/policy reports its size; a larger file is not a policy. */
        if (S_ISREG(st.st_mode) && (uint64_t) st.st_size > TRIAGE_POLICY_SIZE_MAX) {
                *ret_why = "the policy file is larger than any binary policy";
                return -EFBIG;
        }

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->answers = calloc(TABLE_SLOTS, sizeof(Answer));
        p->contexts = calloc(TABLE_SLOTS, sizeof(Context));
        p->handle = sepol_handle_create();
        if (!p->answers || !p->contexts || !p->handle) {
                *ret_why = "out of memory";
                return -ENOMEM;
        }
        sepol_msg_set_callback(p->handle, NULL, NULL);
        if (sepol_sidtab_init(&p->sidtab) < 0) {
                *ret_why = "out of memory";
                return -ENOMEM;
        }

        if (sepol_policy_file_create(&pf) < 0 || sepol_policydb_create(&p->db) < 0) {
                *ret_why = "out of memory";
                return -ENOMEM;
        }
        sepol_policy_file_set_fp(pf, f);
        sepol_policy_file_set_handle(pf, p->handle);
        if (sepol_policydb_read(p->db, pf) < 0) {
                *ret_why = "not a binary SELinux policy (damaged, truncated or of another kind)";
                return -EBADMSG;
        }
        /* A module (.pp's inner policy) reads too, but has no expanded rules to compute on. */
        if (p->db->p.policy_type != POLICY_KERN) {
                *ret_why = "a policy module, not a kernel policy";
                return -EBADMSG;
        }

        r = load_booleans(p);
        if (r < 0) {
                *ret_why = r == -ENOMEM ? "out of memory" : "cannot read the policy's booleans";
                return r;
        }

        *ret_why = NULL;
        *ret = TAKE_PTR(p);
        return 0;
}

void triage_policy_forget(TriagePolicy *p) {
        answers_reset(p);
        (void) contexts_reset(p);
}

void triage_policy_stats(const TriagePolicy *p, TriagePolicyStats *ret) {
        *ret = (TriagePolicyStats){
                .hits = p->hits,
                .misses = p->misses,
                .resets = p->resets,
                .answers = p->n_answers,
                .contexts = p->n_contexts,
                .booleans = p->n_booleans,
        };
}

/* "sN" or "sN:cats" into l; false when it does not parse. */
static bool level_parse(const char *s, size_t n, Level *l) {
        const char *colon = memchr(s, ':', n);
        size_t sens_len = colon ? (size_t) (colon - s) : n;
        char cats[1024];

        if (sens_len == 0 || sens_len >= SENS_MAX)
                return false;
        memcpy(l->sens, s, sens_len);
        l->sens[sens_len] = 0;
        if (!colon) {
                l->cats = (McsSet){};
                return true;
        }
        size_t cats_len = n - sens_len - 1;
        if (cats_len == 0 || cats_len >= sizeof(cats))
                return false;
        memcpy(cats, colon + 1, cats_len);
        cats[cats_len] = 0;
        return mcs_set_parse(cats, &l->cats) >= 0;
}

static void context_parse(Context *c) {
        const char *s = c->key, *p = s;
        for (int i = 0; i < 3; i++) {
                p = strchr(p, ':');
                if (!p) {
                        c->urt_len = strlen(s);
                        c->levels_ok = false;
                        return;
                }
                if (i < 2)
                        p++;
        }
        c->urt_len = (size_t) (p - s);
        const char *range = p + 1, *dash = strchr(range, '-');
        size_t n = strlen(range);
        if (dash)
                c->levels_ok = level_parse(range, (size_t) (dash - range), &c->lo) &&
                               level_parse(dash + 1, n - (size_t) (dash - range) - 1, &c->hi);
        else
                c->levels_ok = level_parse(range, n, &c->lo) && level_parse(range, n, &c->hi);
}

static const Context *context_lookup(TriagePolicy *p, const char *s) {
        uint64_t h = hash_string(s);
        size_t i = h & (TABLE_SLOTS - 1);

        for (; p->contexts[i].key; i = (i + 1) & (TABLE_SLOTS - 1))
                if (strcmp(p->contexts[i].key, s) == 0)
                        return &p->contexts[i];

        if (p->n_contexts >= TRIAGE_CONTEXTS_MAX) {
                p->resets++;
                if (contexts_reset(p) < 0)
                        return NULL;
                i = h & (TABLE_SLOTS - 1);
        }
        Context *c = &p->contexts[i];
        *c = (Context){.key = strdup(s)};
        if (!c->key)
                return NULL;
        p->n_contexts++;
        c->valid = sepol_context_to_sid(s, strlen(s) + 1, &c->sid) >= 0;
        context_parse(c);
        return c;
}

static bool cats_contain(const McsSet *a, const McsSet *b) {
        for (size_t i = 0; i < ELEMENTSOF(a->bits); i++)
                if (b->bits[i] & ~a->bits[i])
                        return false;
        return true;
}

static char relation(const Level *a, const Level *b) {
        bool ab = cats_contain(&a->cats, &b->cats), ba = cats_contain(&b->cats, &a->cats);
        return ab && ba ? '=' : ab ? '>' : ba ? '<' : 'x';
}

typedef struct KeyBuf {
        char *p;
        size_t n, used;
        bool overflow;
} KeyBuf;

static void key_add(KeyBuf *k, const char *s, size_t n) {
        if (k->overflow || n >= k->n - k->used) {
                k->overflow = true;
                return;
        }
        memcpy(k->p + k->used, s, n);
        k->used += n;
        k->p[k->used] = 0;
}

static void key_add_str(KeyBuf *k, const char *s) {
        key_add(k, s, strlen(s));
}

static void key_add_char(KeyBuf *k, char c) {
        key_add(k, &c, 1);
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20)
                        return true;
        return false;
}

/* The answer's key: user:role:type of both, the six relations of the levels (or the levels as
 * they are), class, permissions, separated by control characters no field may hold. -ENOBUFS
 * when it does not fit or a field holds one: the question is answered without the cache. */
static int answer_key(const Context *s, const Context *t, const char *tclass,
                      const char *const *perms, size_t n_perms, char *buf, size_t n) {
        KeyBuf k = {buf, n, 0, false};

        key_add(&k, s->key, s->urt_len);
        key_add_char(&k, '\x1f');
        key_add(&k, t->key, t->urt_len);
        key_add_char(&k, '\x1f');
        if (s->levels_ok && t->levels_ok && strcmp(s->lo.sens, s->hi.sens) == 0 &&
            strcmp(s->lo.sens, t->lo.sens) == 0 && strcmp(s->lo.sens, t->hi.sens) == 0) {
                const char rel[] = {'R',
                                    relation(&s->lo, &t->lo),
                                    relation(&s->lo, &t->hi),
                                    relation(&s->hi, &t->lo),
                                    relation(&s->hi, &t->hi),
                                    relation(&s->lo, &s->hi),
                                    relation(&t->lo, &t->hi)};
                key_add(&k, rel, sizeof(rel));
        } else {
                key_add_char(&k, 'L');
                key_add_str(&k, s->key + s->urt_len);
                key_add_char(&k, '\x1f');
                key_add_str(&k, t->key + t->urt_len);
        }
        key_add_char(&k, '\x1f');
        if (has_control(tclass))
                return -ENOBUFS;
        key_add_str(&k, tclass);
        key_add_char(&k, '\x1f');
        for (size_t i = 0; i < n_perms; i++) {
                if (has_control(perms[i]))
                        return -ENOBUFS;
                key_add_str(&k, perms[i]);
                key_add_char(&k, '\x1e');
        }
        return k.overflow ? -ENOBUFS : 0;
}

void triage_policy_set_exhaustive(TriagePolicy *p, bool on) {
        p->exhaustive = on;
}

static bool ebitmap_has(const ebitmap_t *e, uint32_t bit) {
        for (const ebitmap_node_t *n = e->node; n && n->startbit <= bit; n = n->next)
                if (bit < n->startbit + MAPSIZE)
                        return (n->map >> (bit - n->startbit)) & 1;
        return false;
}

static bool av_list_matters(const policydb_t *db, const cond_av_list_t *l, uint32_t stype,
                            uint32_t ttype, sepol_security_class_t cls) {
        for (; l; l = l->next) {
                const avtab_key_t *k = &l->node->key;
                if (k->target_class == cls && (k->specified & AVTAB_ALLOWED) &&
                    ebitmap_has(&db->type_attr_map[stype - 1], k->source_type - 1u) &&
                    ebitmap_has(&db->type_attr_map[ttype - 1], k->target_type - 1u))
                        return true;
        }
        return false;
}

/* Marks the booleans that could change the answer: those in the expression of a conditional
 * block holding an allow rule for the question's type pair (through their attributes, as
 * libsepol's context_struct_compute_av looks rules up) and class. Flipping any other boolean
 * enables or disables no rule the computation reads, so it leaves the reason as it is and
 * audit2why would not list it: skipping it gives audit2why's answer without its cost (a TE
 * miss: 2-7 ms for refpolicy's 298 booleans, docs/benchmarks.md). */
static void relevant_booleans(TriagePolicy *p, sepol_security_id_t ssid, sepol_security_id_t tsid,
                              sepol_security_class_t cls) {
        const policydb_t *db = &p->db->p;
        const context_struct_t *sc = sepol_sidtab_search(&p->sidtab, ssid),
                               *tc = sepol_sidtab_search(&p->sidtab, tsid);
        bool all = p->exhaustive || !p->bools_in_value_order || !sc || !tc;

        for (size_t i = 0; i < p->n_booleans; i++)
                p->relevant[i] = all;
        if (all)
                return;
        for (const cond_node_t *c = db->cond_list; c; c = c->next) {
                if (!av_list_matters(db, c->true_list, sc->type, tc->type, cls) &&
                    !av_list_matters(db, c->false_list, sc->type, tc->type, cls))
                        continue;
                for (const cond_expr_t *e = c->expr; e; e = e->next)
                        if (e->expr_type == COND_BOOL && cond_expr_bool(e) >= 1 &&
                            cond_expr_bool(e) <= p->n_booleans)
                                p->relevant[cond_expr_bool(e) - 1] = true;
        }
}

/* audit2why's boolean search: each boolean alone flipped, the computation repeated (only the
 * relevant ones: relevant_booleans()). */
static int find_booleans(TriagePolicy *p, sepol_security_id_t ssid, sepol_security_id_t tsid,
                         sepol_security_class_t tclass, sepol_access_vector_t av, Answer *a) {
        _cleanup_(freep) TriageBoolean *found = NULL;
        size_t n = 0;
        int r = 0;

        relevant_booleans(p, ssid, tsid, tclass);
        for (size_t i = 0; i < p->n_booleans; i++) {
                struct sepol_av_decision avd;
                unsigned reason = 0;
                bool value = p->bool_values[i];

                if (!p->relevant[i])
                        continue;

                sepol_bool_set_value(p->bools[i], !value);
                if (sepol_bool_set(p->handle, p->db, p->bool_keys[i], p->bools[i]) < 0) {
                        p->broken = true; /* half done: the state is unknown */
                        return -EIO;
                }
                int k = sepol_compute_av_reason(ssid, tsid, tclass, av, &avd, &reason);
                sepol_bool_set_value(p->bools[i], value);
                if (sepol_bool_set(p->handle, p->db, p->bool_keys[i], p->bools[i]) < 0) {
                        /* The policy is left with this boolean flipped: every later answer
                         * would be wrong, so this TriagePolicy answers nothing any more. */
                        p->broken = true;
                        return -EIO;
                }
                if (k < 0) {
                        r = -EIO;
                        break;
                }
                if (reason != 0)
                        continue;
                if (!found) {
                        found = calloc(p->n_booleans, sizeof(TriageBoolean));
                        if (!found)
                                return -ENOMEM;
                }
                found[n++] = (TriageBoolean){p->bool_names[i], !value};
        }
        if (r < 0)
                return r;
        a->booleans = TAKE_PTR(found);
        a->n_booleans = n;
        return 0;
}

static int compute(TriagePolicy *p, const Context *s, const Context *t, const char *tclass,
                   const char *const *perms, size_t n_perms, Answer *a) {
        sepol_security_class_t cls;
        sepol_access_vector_t av = 0;
        struct sepol_av_decision avd;
        unsigned reason = 0;
        _cleanup_(freep) char *text = NULL;
        int r;

        if (!s->valid || !t->valid || sepol_string_to_security_class(tclass, &cls) < 0) {
                a->reason = TRIAGE_REASON_UNKNOWN;
                return 0;
        }
        for (size_t i = 0; i < n_perms; i++) {
                sepol_access_vector_t perm;
                if (sepol_string_to_av_perm(cls, perms[i], &perm) < 0) {
                        a->reason = TRIAGE_REASON_UNKNOWN;
                        return 0;
                }
                av |= perm;
        }

        if (sepol_compute_av_reason_buffer(s->sid, t->sid, cls, av, &avd, &reason, &text, 0) < 0)
                return -EIO;

        if (reason == 0) {
                a->reason = TRIAGE_REASON_ALLOWED;
                return 0;
        }
        if (reason & SEPOL_COMPUTEAV_TE) {
                r = find_booleans(p, s->sid, t->sid, cls, av, a);
                if (r < 0)
                        return r;
                a->reason = a->n_booleans > 0 ? TRIAGE_REASON_BOOLEAN : TRIAGE_REASON_TE;
                a->dontaudit = a->n_booleans == 0 && (av & ~avd.auditdeny) != 0;
                return 0;
        }
        if (reason & SEPOL_COMPUTEAV_CONS) {
                a->reason = TRIAGE_REASON_CONSTRAINT;
                if (text) {
                        if (strlen(text) > TRIAGE_CONSTRAINT_TEXT_MAX)
                                text[TRIAGE_CONSTRAINT_TEXT_MAX] = 0;
                        a->constraint = TAKE_PTR(text);
                }
                return 0;
        }
        if (reason & SEPOL_COMPUTEAV_RBAC) {
                a->reason = TRIAGE_REASON_RBAC;
                return 0;
        }
        if (reason & SEPOL_COMPUTEAV_BOUNDS) {
                a->reason = TRIAGE_REASON_BOUNDS;
                return 0;
        }
        return -EIO; /* a reason bit this libsepol did not have: audit2why's BADCOMPUTE */
}

static void answer_out(const Answer *a, TriageResult *ret) {
        *ret = (TriageResult){
                .reason = a->reason,
                .dontaudit = a->dontaudit,
                .booleans = a->booleans,
                .n_booleans = a->n_booleans,
                .constraint = a->constraint,
        };
}

int triage_policy_reason(TriagePolicy *p, const char *scontext, const char *tcontext,
                         const char *tclass, const char *const *perms, size_t n_perms,
                         TriageResult *ret) {
        char key[KEY_MAX];
        int r;

        if (p->broken)
                return -EIO;
        select_policy(p);
        answer_clear(&p->scratch);

        const Context *s = context_lookup(p, scontext);
        if (!s)
                return -ENOMEM;
        const Context *t = context_lookup(p, tcontext);
        if (!t)
                return -ENOMEM;
        /* The target's lookup may have emptied the table (full): look the source up again. */
        if (!s->key || strcmp(s->key, scontext) != 0) {
                s = context_lookup(p, scontext);
                if (!s)
                        return -ENOMEM;
        }

        /* An invalid context is "unknown" whatever else is asked; the context table keeps that,
         * and it must not be cached under a key a valid context shares (the key holds the
         * relations of the levels, not the levels). */
        if (!s->valid || !t->valid) {
                p->hits++;
                p->scratch.reason = TRIAGE_REASON_UNKNOWN;
                answer_out(&p->scratch, ret);
                return 0;
        }

        if (answer_key(s, t, tclass, perms, n_perms, key, sizeof(key)) < 0) {
                p->misses++;
                r = compute(p, s, t, tclass, perms, n_perms, &p->scratch);
                if (r < 0) {
                        answer_clear(&p->scratch);
                        return r;
                }
                answer_out(&p->scratch, ret);
                return 0;
        }

        uint64_t h = hash_string(key);
        size_t i = h & (TABLE_SLOTS - 1);
        for (; p->answers[i].key; i = (i + 1) & (TABLE_SLOTS - 1))
                if (strcmp(p->answers[i].key, key) == 0) {
                        p->hits++;
                        answer_out(&p->answers[i], ret);
                        return 0;
                }

        p->misses++;
        Answer a = {};
        r = compute(p, s, t, tclass, perms, n_perms, &a);
        if (r < 0) {
                answer_clear(&a);
                return r;
        }
        a.key = strdup(key);
        if (!a.key) {
                answer_clear(&a);
                return -ENOMEM;
        }
        if (p->n_answers >= TRIAGE_REASONS_MAX) {
                p->resets++;
                answers_reset(p);
                i = h & (TABLE_SLOTS - 1);
        }
        p->answers[i] = a;
        p->n_answers++;
        answer_out(&p->answers[i], ret);
        return 0;
}
