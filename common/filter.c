/* SPDX-License-Identifier: MIT */
/* DenialFilter: decoding it from a client's JSON, encoding it, and matching it against a live
 * denial.
 *
 * Decisions:
 * - The JSON comes from a socket client: every key is known, every value has the right type and
 *   a bounded length, or the whole filter is refused with the name of the offending field. A
 *   JSON null is the same as an absent key. Empty strings are refused (they would match nothing
 *   or, for a prefix, everything, and neither is what a user typed).
 * - mcs is parsed and stored canonically (mcs_set_format), so "c393,c170" and "s0:c170,c393"
 *   select the same denials as the canonical text the kernel writes.
 * - A field is a list of 1..FILTER_VALUES_MAX values meaning "any of" (a JSON string is a list
 *   of one); the not_ fields mean "none of". The bound keeps the SQL a query builds and the
 *   live tail's work per denial small.
 * - denial_filter_match() is the live tail's twin of the store's SQL (daemon/store/
 *   store-query-plan.c) and must keep the same semantics: container = name, or id prefix when
 *   the value is all hex, of the attributed container or of one of an ambiguous denial's
 *   candidates; target_container the same of the container whose files were touched; image and
 *   pod of the attributed container; perm = member of the space separated permission set;
 *   path = path or name, or with a trailing '*' a byte prefix of path; type and target_type
 *   with a trailing '*' a byte prefix; since inclusive, until exclusive. */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "filter.h"
#include "macro.h"
#include "strutil.h"
#include "triage-names.h"

/* Canonical mcs text: c0..c1023 as ranges and singles, always well below this. */
#define FILTER_MCS_TEXT_MAX 8192

typedef enum FilterFieldKind {
        FIELD_STRING,
        FIELD_MCS,
        FIELD_PERM,
        FIELD_REASON,  /* a triage reason name or "none" */
        FIELD_VERDICT, /* a triage verdict name or "none" */
        FIELD_TIME,
        FIELD_SERIAL, /* a non-negative integer, with a has_ flag */
        FIELD_BOOL,
} FilterFieldKind;

static const struct {
        const char *name;
        FilterFieldKind kind;
        size_t offset; /* of the FilterValues, for FIELD_TIME the int64_t, for FIELD_BOOL the bool
                        */
        size_t has_offset;
} filter_fields[] = {
        {"container", FIELD_STRING, offsetof(DenialFilter, container), 0},
        {"target_container", FIELD_STRING, offsetof(DenialFilter, target_container), 0},
        {"image", FIELD_STRING, offsetof(DenialFilter, image), 0},
        {"pod", FIELD_STRING, offsetof(DenialFilter, pod), 0},
        {"namespace", FIELD_STRING, offsetof(DenialFilter, pod_namespace), 0},
        {"mcs", FIELD_MCS, offsetof(DenialFilter, mcs), 0},
        {"since", FIELD_TIME, offsetof(DenialFilter, since_ms), offsetof(DenialFilter, has_since)},
        {"until", FIELD_TIME, offsetof(DenialFilter, until_ms), offsetof(DenialFilter, has_until)},
        {"type", FIELD_STRING, offsetof(DenialFilter, source_type), 0},
        {"target_type", FIELD_STRING, offsetof(DenialFilter, target_type), 0},
        {"tclass", FIELD_STRING, offsetof(DenialFilter, tclass), 0},
        {"perm", FIELD_PERM, offsetof(DenialFilter, perm), 0},
        {"comm", FIELD_STRING, offsetof(DenialFilter, comm), 0},
        {"path", FIELD_STRING, offsetof(DenialFilter, path), 0},
        {"not_type", FIELD_STRING, offsetof(DenialFilter, not_source_type), 0},
        {"not_target_type", FIELD_STRING, offsetof(DenialFilter, not_target_type), 0},
        {"not_tclass", FIELD_STRING, offsetof(DenialFilter, not_tclass), 0},
        {"not_perm", FIELD_PERM, offsetof(DenialFilter, not_perm), 0},
        {"not_comm", FIELD_STRING, offsetof(DenialFilter, not_comm), 0},
        {"reason", FIELD_REASON, offsetof(DenialFilter, reason), 0},
        {"verdict", FIELD_VERDICT, offsetof(DenialFilter, verdict), 0},
        {"not_reason", FIELD_REASON, offsetof(DenialFilter, not_reason), 0},
        {"not_verdict", FIELD_VERDICT, offsetof(DenialFilter, not_verdict), 0},
        {"serial", FIELD_SERIAL, offsetof(DenialFilter, serial),
         offsetof(DenialFilter, has_serial)},
        {"include_selftest", FIELD_BOOL, offsetof(DenialFilter, include_selftest), 0},
};

static bool field_is_values(size_t i) {
        return filter_fields[i].kind != FIELD_TIME && filter_fields[i].kind != FIELD_BOOL &&
               filter_fields[i].kind != FIELD_SERIAL;
}

static FilterValues *field_values(DenialFilter *f, size_t i) {
        return (FilterValues *) ((char *) f + filter_fields[i].offset);
}

static const FilterValues *field_values_const(const DenialFilter *f, size_t i) {
        return (const FilterValues *) ((const char *) f + filter_fields[i].offset);
}

static void filter_values_done(FilterValues *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        *l = (FilterValues){};
}

void denial_filter_done(DenialFilter *f) {
        if (!f)
                return;
        for (size_t i = 0; i < ELEMENTSOF(filter_fields); i++)
                if (field_is_values(i))
                        filter_values_done(field_values(f, i));
        *f = (DenialFilter){};
}

bool filter_value_is_prefix(const char *value) {
        size_t n = value ? strlen(value) : 0;
        return n > 0 && value[n - 1] == '*';
}

static json_object *filter_values_to_json(const FilterValues *l) {
        json_object *a;

        if (l->n == 1)
                return json_object_new_string(l->v[0]);
        a = json_object_new_array();
        for (size_t i = 0; a && i < l->n; i++) {
                json_object *s = json_object_new_string(l->v[i]);
                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}

int denial_filter_to_json(const DenialFilter *f, json_object **ret) {
        json_object *o;

        if (!f || !ret)
                return -EINVAL;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(filter_fields); i++) {
                json_object *v = NULL;

                if (filter_fields[i].kind == FIELD_TIME) {
                        bool has = *(const bool *) ((const char *) f + filter_fields[i].has_offset);
                        if (!has)
                                continue;
                        v = json_object_new_int64(
                                *(const int64_t *) ((const char *) f + filter_fields[i].offset));
                } else if (filter_fields[i].kind == FIELD_SERIAL) {
                        if (!f->has_serial)
                                continue;
                        if (f->serial > (uint64_t) INT64_MAX) {
                                json_object_put(o);
                                return -EINVAL;
                        }
                        v = json_object_new_int64((int64_t) f->serial);
                } else if (filter_fields[i].kind == FIELD_BOOL) {
                        if (!*(const bool *) ((const char *) f + filter_fields[i].offset))
                                continue; /* false is the default: older daemons never see it */
                        v = json_object_new_boolean(true);
                } else {
                        const FilterValues *l = field_values_const(f, i);
                        if (l->n == 0)
                                continue;
                        v = filter_values_to_json(l);
                }
                if (!v || json_object_object_add(o, filter_fields[i].name, v) < 0) {
                        json_object_put(v);
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        *ret = o;
        return 0;
}

/* Validates one string value: a JSON string of 1..FILTER_STRING_MAX bytes without NUL. */
static int filter_string_from_json(json_object *v, const char **ret) {
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        const char *s = json_object_get_string(v);
        size_t len = (size_t) json_object_get_string_len(v);
        if (!s || len == 0 || len > FILTER_STRING_MAX || strlen(s) != len)
                return -EINVAL;
        *ret = s;
        return 0;
}

/* A validated, canonical copy of one value of a field of that kind. */
static int filter_value_copy(FilterFieldKind kind, json_object *v, char **ret) {
        const char *s;
        char *copy;
        int r;

        r = filter_string_from_json(v, &s);
        if (r < 0)
                return r;

        switch (kind) {
        case FIELD_MCS: {
                McsSet set;
                char text[FILTER_MCS_TEXT_MAX];

                if (mcs_set_parse(s, &set) < 0 || mcs_set_is_empty(&set))
                        return -EINVAL;
                if (mcs_set_format(&set, text, sizeof(text)) < 0)
                        return -EINVAL;
                copy = strdup(text);
                break;
        }
        case FIELD_REASON:
        case FIELD_VERDICT:
                if (strcmp(s, TRIAGE_NONE) != 0 &&
                    (kind == FIELD_REASON
                             ? triage_name_index(triage_reason_names, TRIAGE_REASONS_N, s)
                             : triage_name_index(triage_verdict_names, TRIAGE_VERDICTS_N, s)) < 0)
                        return -EINVAL;
                copy = strdup(s);
                break;
        case FIELD_PERM:
                /* One permission name per value: a set would never match as a member. */
                if (strpbrk(s, " \t\n"))
                        return -EINVAL;
                copy = strdup(s);
                break;
        default:
                copy = strdup(s);
                break;
        }
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

static int filter_set_field(DenialFilter *f, size_t i, json_object *v) {
        _cleanup_(filter_values_done) FilterValues l = {};
        size_t n;
        int r;

        if (filter_fields[i].kind == FIELD_TIME) {
                /* json-c parses any integer literal as int64 (saturating), doubles are refused. */
                if (!json_object_is_type(v, json_type_int))
                        return -EINVAL;
                errno = 0;
                int64_t t = json_object_get_int64(v);
                if (errno != 0)
                        return -EINVAL;
                *(int64_t *) ((char *) f + filter_fields[i].offset) = t;
                *(bool *) ((char *) f + filter_fields[i].has_offset) = true;
                return 0;
        }
        if (filter_fields[i].kind == FIELD_SERIAL) {
                if (!json_object_is_type(v, json_type_int))
                        return -EINVAL;
                errno = 0;
                int64_t serial = json_object_get_int64(v);
                if (errno != 0 || serial < 0)
                        return -EINVAL;
                f->serial = (uint64_t) serial;
                f->has_serial = true;
                return 0;
        }
        if (filter_fields[i].kind == FIELD_BOOL) {
                if (!json_object_is_type(v, json_type_boolean))
                        return -EINVAL;
                *(bool *) ((char *) f + filter_fields[i].offset) = json_object_get_boolean(v);
                return 0;
        }

        /* A string is one value, an array of strings "any of"; an empty or over-long array is
         * refused as an empty string is. */
        bool is_array = json_object_is_type(v, json_type_array);
        n = is_array ? json_object_array_length(v) : 1;
        if (n == 0 || n > FILTER_VALUES_MAX)
                return -EINVAL;
        l.v = calloc(n, sizeof(char *));
        if (!l.v)
                return -ENOMEM;
        for (size_t j = 0; j < n; j++) {
                r = filter_value_copy(filter_fields[i].kind,
                                      is_array ? json_object_array_get_idx(v, j) : v, &l.v[j]);
                if (r < 0)
                        return r;
                l.n++;
        }
        filter_values_done(field_values(f, i));
        *field_values(f, i) = l;
        l = (FilterValues){};
        return 0;
}

int denial_filter_from_json(json_object *o, DenialFilter *ret, const char **ret_bad_field) {
        _cleanup_(denial_filter_done) DenialFilter f = {};
        int r;

        if (!ret)
                return -EINVAL;
        if (o && !json_object_is_type(o, json_type_object)) {
                if (ret_bad_field)
                        *ret_bad_field = "filter";
                return -EINVAL;
        }
        if (o) {
                json_object_object_foreach (o, key, v) {
                        size_t i;

                        for (i = 0; i < ELEMENTSOF(filter_fields); i++)
                                if (strcmp(key, filter_fields[i].name) == 0)
                                        break;
                        if (i >= ELEMENTSOF(filter_fields)) {
                                /* Points into o: valid as long as the caller holds o. */
                                if (ret_bad_field)
                                        *ret_bad_field = key;
                                return -EINVAL;
                        }
                        if (!v || json_object_is_type(v, json_type_null))
                                continue;
                        r = filter_set_field(&f, i, v);
                        if (r < 0) {
                                if (ret_bad_field)
                                        *ret_bad_field = filter_fields[i].name;
                                return r;
                        }
                }
        }
        *ret = f;
        f = (DenialFilter){};
        return 0;
}

/* A filter value against a denial's field: equal, or with a trailing '*' (when prefix is
 * allowed) a byte prefix. A field the denial lacks matches no value. */
static bool value_matches(const char *want, const char *have, bool prefix) {
        if (!have)
                return false;
        if (prefix && filter_value_is_prefix(want))
                return strncmp(have, want, strlen(want) - 1) == 0;
        return strcmp(want, have) == 0;
}

static bool any_matches(const FilterValues *l, const char *have, bool prefix) {
        for (size_t i = 0; i < l->n; i++)
                if (value_matches(l->v[i], have, prefix))
                        return true;
        return false;
}

/* An image reference split into its parts; each points into the text (len 0: absent). */
typedef struct ImageRef {
        const char *registry, *repo, *tag, *digest;
        size_t registry_len, repo_len, tag_len, digest_len;
} ImageRef;

static bool span_eq(const char *a, size_t an, const char *b, size_t bn) {
        return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool registry_is_docker_hub(const char *r, size_t n) {
        return span_eq(r, n, "docker.io", 9) || span_eq(r, n, "index.docker.io", 15) ||
               span_eq(r, n, "registry-1.docker.io", 20);
}

/* [REGISTRY/]REPO[:TAG][@DIGEST], as docker and podman spell references. The first component is
 * a registry when more follow and it looks like a host (a '.' or ':', or "localhost"). */
static ImageRef image_ref_split(const char *s) {
        ImageRef r = {};
        const char *end = s + strlen(s), *at, *slash, *colon, *last_slash;

        at = memchr(s, '@', (size_t) (end - s));
        if (at) {
                r.digest = at + 1;
                r.digest_len = (size_t) (end - at - 1);
                end = at;
        }
        slash = memchr(s, '/', (size_t) (end - s));
        if (slash) {
                size_t n = (size_t) (slash - s);
                if (memchr(s, '.', n) || memchr(s, ':', n) || span_eq(s, n, "localhost", 9)) {
                        r.registry = s;
                        r.registry_len = n;
                        s = slash + 1;
                }
        }
        last_slash = memrchr(s, '/', (size_t) (end - s));
        colon = memrchr(last_slash ? last_slash : s, ':', (size_t) (end - (last_slash ?: s)));
        if (colon) {
                r.tag = colon + 1;
                r.tag_len = (size_t) (end - colon - 1);
                end = colon;
        }
        if (r.registry && registry_is_docker_hub(r.registry, r.registry_len))
                r.registry_len = 0;
        if (r.registry_len == 0 && (size_t) (end - s) > 8 && memcmp(s, "library/", 8) == 0)
                s += 8;
        r.repo = s;
        r.repo_len = (size_t) (end - s);
        return r;
}

bool image_ref_matches(const char *want, const char *image) {
        ImageRef w, h;

        if (!want || !image)
                return false;
        if (strcmp(want, image) == 0)
                return true;
        w = image_ref_split(want);
        h = image_ref_split(image);
        if (w.repo_len == 0 || !span_eq(w.repo, w.repo_len, h.repo, h.repo_len))
                return false;
        if (w.registry && !span_eq(w.registry, w.registry_len, h.registry, h.registry_len))
                return false;
        if (w.tag && !span_eq(w.tag, w.tag_len, h.tag ?: "latest", h.tag ? h.tag_len : 6))
                return false;
        if (w.digest && !span_eq(w.digest, w.digest_len, h.digest, h.digest_len))
                return false;
        return true;
}

ContainerValue container_value_kind(const char *value) {
        if (!string_is_hex(value))
                return CONTAINER_VALUE_NAME;
        /* 64: the length of docker, podman, cri-o and containerd ids (CONTAINER_ID_LEN) */
        return strlen(value) == 64 ? CONTAINER_VALUE_ID : CONTAINER_VALUE_NAME_OR_PREFIX;
}

int image_ref_key(const char *image, char *buf, size_t n) {
        ImageRef r;
        int len;

        if (!image || !*image)
                return -EINVAL;
        /* An image id (`docker run ID`) names one image already: as it is. */
        if (strncmp(image, "sha256:", 7) == 0 || string_is_hex(image)) {
                len = snprintf(buf, n, "%s", image);
                return len < 0 || (size_t) len >= n ? -ENOBUFS : len;
        }
        r = image_ref_split(image);
        /* Podman names a local image localhost/NAME where Docker says NAME: one image. */
        if (r.registry && span_eq(r.registry, r.registry_len, "localhost", 9))
                r.registry_len = 0;
        len = snprintf(buf, n, "%.*s%s%.*s%s%.*s%s%.*s", (int) r.registry_len, r.registry ?: "",
                       r.registry_len > 0 ? "/" : "", (int) r.repo_len, r.repo,
                       r.tag || !r.digest ? ":" : "",
                       (int) (r.tag      ? r.tag_len
                              : r.digest ? 0
                                         : 6),
                       r.tag ?: "latest", r.digest ? "@" : "", (int) r.digest_len, r.digest ?: "");
        if (len < 0 || (size_t) len >= n)
                return -ENOBUFS;
        return len;
}

static bool container_matches(const char *want, bool name_only, const ContainerRef *c) {
        ContainerValue kind = container_value_kind(want);

        if (kind == CONTAINER_VALUE_ID)
                return c->id && strcmp(c->id, want) == 0;
        if (c->name && strcmp(c->name, want) == 0)
                return true;
        return kind == CONTAINER_VALUE_NAME_OR_PREFIX && !name_only && c->id &&
               strncmp(c->id, want, strlen(want)) == 0;
}

static bool any_container_matches(const FilterValues *l, uint32_t is_name, const ContainerRef *c) {
        for (size_t i = 0; i < l->n; i++)
                if (container_matches(l->v[i], i < 32 && (is_name & (UINT32_C(1) << i)), c))
                        return true;
        return false;
}

/* The denial's container, or for an ambiguous one any of its candidates. */
static bool denial_container_matches(const DenialFilter *f, const Denial *d) {
        if (d->has_container &&
            any_container_matches(&f->container, f->container_is_name, &d->container))
                return true;
        for (size_t i = 0; i < d->n_candidates; i++)
                if (any_container_matches(&f->container, f->container_is_name, &d->candidates[i]))
                        return true;
        return false;
}

static bool perm_in_set(const char *perm, const char *set) {
        size_t n = strlen(perm);

        if (!set || n == 0)
                return false;
        for (const char *p = set; (p = strstr(p, perm)); p++)
                if ((p == set || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
                        return true;
        return false;
}

static bool any_perm_in_set(const FilterValues *l, const char *set) {
        for (size_t i = 0; i < l->n; i++)
                if (perm_in_set(l->v[i], set))
                        return true;
        return false;
}

static bool path_matches(const char *want, const Denial *d) {
        if (filter_value_is_prefix(want))
                return value_matches(want, d->path, true);
        return value_matches(want, d->path, false) || value_matches(want, d->name, false);
}

static bool any_image_matches(const FilterValues *l, const char *image) {
        for (size_t i = 0; i < l->n; i++)
                if (image_ref_matches(l->v[i], image))
                        return true;
        return false;
}

static bool any_path_matches(const FilterValues *l, const Denial *d) {
        for (size_t i = 0; i < l->n; i++)
                if (path_matches(l->v[i], d))
                        return true;
        return false;
}

/* A reason or verdict filter against a denial's (index, or "none" when untriaged). */
static bool any_triage_matches(const FilterValues *l, const char *const *names, size_t n,
                               bool triaged, int value) {
        const char *have = !triaged                           ? TRIAGE_NONE
                           : value >= 0 && (size_t) value < n ? names[value]
                                                              : NULL;
        return any_matches(l, have, false);
}

static bool reason_matches(const FilterValues *l, const Denial *d) {
        return any_triage_matches(l, triage_reason_names, TRIAGE_REASONS_N, d->triaged, d->reason);
}

static bool verdict_matches(const FilterValues *l, const Denial *d) {
        return any_triage_matches(l, triage_verdict_names, TRIAGE_VERDICTS_N, d->triaged,
                                  d->verdict);
}

/* A set field must match one of its values, a negated one none. */
#define WANT(l, match) ((l).n == 0 || (match))
#define REFUSE(l, match) ((l).n > 0 && (match))

bool denial_filter_match(const DenialFilter *f, const Denial *d) {
        if (!f)
                return true;
        if (!d)
                return false;
        if (f->container.n > 0 && !denial_container_matches(f, d))
                return false;
        if (!WANT(f->target_container,
                  d->has_target_container &&
                          any_container_matches(&f->target_container, f->target_container_is_name,
                                                &d->target_container)))
                return false;
        if (!WANT(f->image, d->has_container && any_image_matches(&f->image, d->container.image)))
                return false;
        if (!WANT(f->pod, d->has_container && any_matches(&f->pod, d->container.pod, false)))
                return false;
        if (!WANT(f->pod_namespace,
                  d->has_container &&
                          any_matches(&f->pod_namespace, d->container.pod_namespace, false)))
                return false;
        if (!WANT(f->mcs, any_matches(&f->mcs, d->mcs, false)))
                return false;
        if (!f->include_selftest && d->result && strcmp(d->result, DENIAL_RESULT_SELFTEST) == 0)
                return false;
        if (f->has_since && d->time_ms < f->since_ms)
                return false;
        if (f->has_until && d->time_ms >= f->until_ms)
                return false;
        if (f->has_serial && d->serial != f->serial)
                return false;
        if (!WANT(f->source_type, any_matches(&f->source_type, d->source_type, true)) ||
            !WANT(f->target_type, any_matches(&f->target_type, d->target_type, true)) ||
            !WANT(f->tclass, any_matches(&f->tclass, d->tclass, false)) ||
            !WANT(f->comm, any_matches(&f->comm, d->comm, false)) ||
            !WANT(f->perm, any_perm_in_set(&f->perm, d->permissions)) ||
            !WANT(f->path, any_path_matches(&f->path, d)))
                return false;
        if (REFUSE(f->not_source_type, any_matches(&f->not_source_type, d->source_type, true)) ||
            REFUSE(f->not_target_type, any_matches(&f->not_target_type, d->target_type, true)) ||
            REFUSE(f->not_tclass, any_matches(&f->not_tclass, d->tclass, false)) ||
            REFUSE(f->not_comm, any_matches(&f->not_comm, d->comm, false)) ||
            REFUSE(f->not_perm, any_perm_in_set(&f->not_perm, d->permissions)))
                return false;
        if (!WANT(f->reason, reason_matches(&f->reason, d)) ||
            !WANT(f->verdict, verdict_matches(&f->verdict, d)) ||
            REFUSE(f->not_reason, reason_matches(&f->not_reason, d)) ||
            REFUSE(f->not_verdict, verdict_matches(&f->not_verdict, d)))
                return false;
        return true;
}
