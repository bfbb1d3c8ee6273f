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
 * - denial_filter_match() is the live tail's twin of the store's SQL (daemon/store/store.c) and
 * must keep the same semantics: container = name, or id prefix when the value is all hex; image and
 *   pod of the attributed container; perm = member of the space separated permission set;
 *   path = path or name, or with a trailing '*' a byte prefix of path; since inclusive, until
 *   exclusive. */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "filter.h"
#include "macro.h"
#include "strutil.h"

/* Canonical mcs text: c0..c1023 as ranges and singles, always well below this. */
#define FILTER_MCS_TEXT_MAX 8192

typedef enum FilterFieldKind {
        FIELD_STRING,
        FIELD_MCS,
        FIELD_PERM,
        FIELD_TIME,
} FilterFieldKind;

static const struct {
        const char *name;
        FilterFieldKind kind;
        size_t offset; /* of the char * or, for FIELD_TIME, of the int64_t */
        size_t has_offset;
} filter_fields[] = {
        {"container", FIELD_STRING, offsetof(DenialFilter, container), 0},
        {"image", FIELD_STRING, offsetof(DenialFilter, image), 0},
        {"pod", FIELD_STRING, offsetof(DenialFilter, pod), 0},
        {"mcs", FIELD_MCS, offsetof(DenialFilter, mcs), 0},
        {"since", FIELD_TIME, offsetof(DenialFilter, since_ms), offsetof(DenialFilter, has_since)},
        {"until", FIELD_TIME, offsetof(DenialFilter, until_ms), offsetof(DenialFilter, has_until)},
        {"type", FIELD_STRING, offsetof(DenialFilter, source_type), 0},
        {"target_type", FIELD_STRING, offsetof(DenialFilter, target_type), 0},
        {"tclass", FIELD_STRING, offsetof(DenialFilter, tclass), 0},
        {"perm", FIELD_PERM, offsetof(DenialFilter, perm), 0},
        {"comm", FIELD_STRING, offsetof(DenialFilter, comm), 0},
        {"path", FIELD_STRING, offsetof(DenialFilter, path), 0},
};

static char **field_string(DenialFilter *f, size_t i) {
        return (char **) ((char *) f + filter_fields[i].offset);
}

static const char *const *field_string_const(const DenialFilter *f, size_t i) {
        return (const char *const *) ((const char *) f + filter_fields[i].offset);
}

void denial_filter_done(DenialFilter *f) {
        if (!f)
                return;
        for (size_t i = 0; i < ELEMENTSOF(filter_fields); i++)
                if (filter_fields[i].kind != FIELD_TIME)
                        free(*field_string(f, i));
        *f = (DenialFilter){};
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
                } else {
                        const char *s = *field_string_const(f, i);
                        if (!s)
                                continue;
                        v = json_object_new_string(s);
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

static int filter_set_field(DenialFilter *f, size_t i, json_object *v) {
        const char *s;
        char *copy;
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

        r = filter_string_from_json(v, &s);
        if (r < 0)
                return r;

        switch (filter_fields[i].kind) {
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
        case FIELD_PERM:
                /* One permission name: a set would never match as a member. */
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
        free(*field_string(f, i));
        *field_string(f, i) = copy;
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

static bool streq_set(const char *want, const char *have) {
        return !want || (have && strcmp(want, have) == 0);
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

static bool perm_in_set(const char *perm, const char *set) {
        size_t n = strlen(perm);

        if (!set || n == 0)
                return false;
        for (const char *p = set; (p = strstr(p, perm)); p++)
                if ((p == set || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
                        return true;
        return false;
}

static bool path_matches(const char *want, const Denial *d) {
        size_t n = strlen(want);

        if (n > 0 && want[n - 1] == '*')
                return d->path && strncmp(d->path, want, n - 1) == 0;
        return (d->path && strcmp(d->path, want) == 0) || (d->name && strcmp(d->name, want) == 0);
}

bool denial_filter_match(const DenialFilter *f, const Denial *d) {
        if (!f)
                return true;
        if (!d)
                return false;
        if (f->container && !(d->has_container &&
                              container_matches(f->container, f->container_is_name, &d->container)))
                return false;
        if (f->image && !(d->has_container && image_ref_matches(f->image, d->container.image)))
                return false;
        if (f->pod && !(d->has_container && streq_set(f->pod, d->container.pod)))
                return false;
        if (!streq_set(f->mcs, d->mcs))
                return false;
        if (f->has_since && d->time_ms < f->since_ms)
                return false;
        if (f->has_until && d->time_ms >= f->until_ms)
                return false;
        if (!streq_set(f->source_type, d->source_type) ||
            !streq_set(f->target_type, d->target_type) || !streq_set(f->tclass, d->tclass) ||
            !streq_set(f->comm, d->comm))
                return false;
        if (f->perm && !perm_in_set(f->perm, d->permissions))
                return false;
        if (f->path && !path_matches(f->path, d))
                return false;
        return true;
}
