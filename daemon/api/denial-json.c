/* SPDX-License-Identifier: MIT */
/* The Denial <-> JSON object of DESIGN "Contracts": what `avcctl -o json` prints and what the API
 * sends. Users' scripts depend on it, so the shape is fixed here in one place: every key always
 * present, in the documented order, unknown values null.
 *
 * Strings come from inside containers (comm, path, name, exe, the raw text) and may hold any byte.
 * They are built with varlink_string_new(): the serialised text is always valid UTF-8 with no raw
 * control byte, and every string that was valid UTF-8 (which includes the raw audit text: the
 * kernel hex-encodes untrusted values) comes back byte for byte. A byte that is not part of valid
 * UTF-8 is written as \u00XX of its value, so it comes back as U+00XX (two bytes of UTF-8): the
 * only lossy case, chosen over emitting JSON that strict parsers refuse.
 *
 * denial_from_json() is the client's inverse: strict on the types of the keys it knows, tolerant
 * of keys it does not (a newer daemon may add some). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "denial-json.h"
#include "json-add.h"
#include "json-writer.h"
#include "macro.h"
#include "triage.h"
#include "varlink.h"
#include "verdict.h"

#define PERMISSION_MAX 256 /* longest single permission name accepted from JSON */

/* "read write" -> ["read","write"]; NULL -> []. */
void permissions_write_json(JsonWriter *w, const char *permissions) {
        json_writer_array_begin(w);
        for (const char *p = permissions; p && *p;) {
                size_t n = strcspn(p, " ");
                if (n > 0)
                        json_writer_string_len(w, p, n);
                p += n;
                p += strspn(p, " ");
        }
        json_writer_array_end(w);
}

void container_write_json(JsonWriter *w, const ContainerRef *c) {
        json_writer_object_begin(w);
        json_writer_member_string(w, "id", c->id);
        json_writer_member_string(w, "name", c->name);
        json_writer_member_string(w, "image", c->image);
        json_writer_member_string(w, "engine", c->engine);
        json_writer_member_string(w, "pod", c->pod);
        json_writer_member_string(w, "namespace", c->pod_namespace);
        json_writer_object_end(w);
}

static void container_write_json_nullable(JsonWriter *w, bool has, const ContainerRef *c) {
        if (has)
                container_write_json(w, c);
        else
                json_writer_null(w);
}

/* null unless the denial has candidates (ambiguous, pod, namespace): then every candidate
 * container. */
static void candidates_write_json(JsonWriter *w, const Denial *d) {
        if (!attribution_has_candidates(d->attribution)) {
                json_writer_null(w);
                return;
        }
        json_writer_array_begin(w);
        for (size_t i = 0; i < d->n_candidates; i++)
                container_write_json(w, &d->candidates[i]);
        json_writer_array_end(w);
}

void denial_write_json(JsonWriter *w, const Denial *d) {
        /* The order of the keys is the order of the contract. */
        json_writer_object_begin(w);
        json_writer_key(w, "time");
        json_writer_time(w, d->time_ms);
        json_writer_key(w, "serial");
        json_writer_uint64(w, d->serial);
        json_writer_member_string(w, "record_type", record_type_to_name(d->record_type));
        json_writer_member_string(w, "result", d->result);
        json_writer_key(w, "permissions");
        permissions_write_json(w, d->permissions);
        json_writer_key(w, "pid");
        if (d->pid >= 0)
                json_writer_int64(w, d->pid);
        else
                json_writer_null(w);
        json_writer_member_string(w, "comm", d->comm);
        json_writer_member_string(w, "exe", d->exe);
        json_writer_member_string(w, "path", d->path);
        json_writer_member_string(w, "name", d->name);
        json_writer_member_string(w, "scontext", d->scontext);
        json_writer_member_string(w, "tcontext", d->tcontext);
        json_writer_member_string(w, "tclass", d->tclass);
        json_writer_key(w, "permissive");
        if (d->permissive >= 0)
                json_writer_bool(w, d->permissive > 0);
        else
                json_writer_null(w);
        json_writer_member_string(w, "source_type", d->source_type);
        json_writer_member_string(w, "target_type", d->target_type);
        json_writer_member_string(w, "mcs", d->mcs && d->mcs[0] ? d->mcs : NULL);
        json_writer_key(w, "container");
        /* named at its pod or namespace: what its candidates share, without an id */
        ContainerRef level;
        if (denial_level_ref(d, &level))
                container_write_json(w, &level);
        else
                container_write_json_nullable(w, d->has_container, &d->container);
        json_writer_member_string(w, "attribution", attribution_to_string(d->attribution));
        json_writer_key(w, "target_container");
        container_write_json_nullable(w, d->has_target_container, &d->target_container);
        json_writer_key(w, "candidates");
        candidates_write_json(w, d);
        json_writer_key(w, "count");
        json_writer_uint64(w, MAX(d->count, (uint64_t) 1));
        /* triage: reason, booleans, verdict, hint are null, [], null, null when untriaged (no
         * policy). The hint is derived here (triage_denial_hint(): static sentences, never text
         * from the record). */
        json_writer_member_string(w, "reason",
                                  d->triaged ? triage_reason_to_string(d->reason) : NULL);
        json_writer_key(w, "booleans");
        permissions_write_json(w, d->triaged ? d->booleans : NULL);
        json_writer_member_string(w, "verdict",
                                  d->triaged ? triage_verdict_to_string(d->verdict) : NULL);
        json_writer_member_string(w, "hint", triage_denial_hint(d));
        json_writer_member_string(w, "raw", d->raw);
        json_writer_object_end(w);
}

/* ---- the same as json-c objects that serialise to the text: one definition of each ---- */

typedef void (*write_func)(JsonWriter *w, const void *value);

static int write_to_tree(write_func write, const void *value, json_object **ret) {
        struct printbuf *pb = printbuf_new();
        JsonWriter w;
        int r;

        if (!pb)
                return -ENOMEM;
        json_writer_init(&w, pb);
        write(&w, value);
        r = json_writer_failed(&w) ? -ENOMEM : json_writer_to_object(pb, ret);
        printbuf_free(pb);
        return r;
}

static void write_permissions(JsonWriter *w, const void *value) {
        permissions_write_json(w, value);
}

static void write_container(JsonWriter *w, const void *value) {
        container_write_json(w, value);
}

static void write_denial(JsonWriter *w, const void *value) {
        denial_write_json(w, value);
}

int permissions_to_json(const char *permissions, json_object **ret) {
        return write_to_tree(write_permissions, permissions, ret);
}

int container_to_json(const ContainerRef *c, json_object **ret) {
        return write_to_tree(write_container, c, ret);
}

int container_to_json_nullable(bool has, const ContainerRef *c, json_object **ret) {
        if (!has) {
                *ret = NULL;
                return 0;
        }
        return container_to_json(c, ret);
}

int denial_to_json(const Denial *d, json_object **ret) {
        return write_to_tree(write_denial, d, ret);
}

/* Parses our own time format back: "YYYY-MM-DDTHH:MM:SS.mmmZ" (fraction optional, 1..3 digits). */
static int parse_time_iso8601_ms(const char *s, int64_t *ret) {
        int year, mon, day, hour, min, sec, consumed = 0;
        int64_t ms = 0;

        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min, &sec,
                   &consumed) != 6 ||
            consumed != 19)
                return -EBADMSG;
        const char *p = s + consumed;
        if (*p == '.') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
                        ms = ms * 10 + (*p - '0');
                if (digits == 0)
                        return -EBADMSG;
                for (; digits < 3; digits++)
                        ms *= 10;
        }
        if (strcmp(p, "Z") != 0)
                return -EBADMSG;
        if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 ||
            hour < 0 || min < 0 || sec < 0)
                return -EBADMSG;

        struct tm tm = {.tm_year = year - 1900,
                        .tm_mon = mon - 1,
                        .tm_mday = day,
                        .tm_hour = hour,
                        .tm_min = min,
                        .tm_sec = sec};
        time_t t = timegm(&tm);
        *ret = (int64_t) t * 1000 + ms;
        return 0;
}

/* key must be present, of this type or, when nullable, null (*ret = NULL). */
static int get_value(json_object *o, const char *key, json_type type, bool nullable,
                     json_object **ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || (!v && !nullable) ||
            (v && !json_object_is_type(v, type)))
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* A string (copied into *ret) or, when nullable, null (*ret = NULL). A string with an embedded
 * NUL cannot be a C string: refused. */
static int get_string(json_object *o, const char *key, bool nullable, char **ret) {
        json_object *v;

        if (get_value(o, key, json_type_string, nullable, &v) < 0)
                return -EBADMSG;
        if (!v) {
                *ret = NULL;
                return 0;
        }
        const char *s = json_object_get_string(v);
        if (strlen(s) != (size_t) json_object_get_string_len(v))
                return -EBADMSG;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int get_int(json_object *o, const char *key, bool nullable, int64_t min, int64_t *ret,
                   bool *ret_null) {
        json_object *v;

        if (get_value(o, key, json_type_int, nullable, &v) < 0)
                return -EBADMSG;
        if (!v) {
                *ret_null = true;
                return 0;
        }
        errno = 0;
        int64_t i = json_object_get_int64(v);
        if (errno != 0 || i < min)
                return -EBADMSG;
        *ret = i;
        *ret_null = false;
        return 0;
}

/* A list of words (permissions, booleans) at key, joined with spaces; [] is NULL. */
static int words_from_json(json_object *o, const char *key, char **ret) {
        json_object *a;

        if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
                return -EBADMSG;

        size_t n = json_object_array_length(a), total = 1;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string))
                        return -EBADMSG;
                size_t len = (size_t) json_object_get_string_len(e);
                const char *s = json_object_get_string(e);
                /* Each is one word: no separator inside, not empty, bounded. */
                if (len == 0 || len > PERMISSION_MAX || strlen(s) != len || strchr(s, ' '))
                        return -EBADMSG;
                total += len + 1;
        }
        if (n == 0) {
                *ret = NULL;
                return 0;
        }

        char *joined = malloc(total), *p = joined;
        if (!joined)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (i > 0)
                        *p++ = ' ';
                p = stpcpy(p, json_object_get_string(e));
        }
        *ret = joined;
        return 0;
}

static int container_from_json(json_object *o, const char *key, bool *ret_has, ContainerRef *ret) {
        ContainerRef c = {};
        json_object *v;
        int r;

        if (!json_object_object_get_ex(o, key, &v))
                return -EBADMSG;
        if (!v) {
                *ret_has = false;
                return 0;
        }
        if (!json_object_is_type(v, json_type_object))
                return -EBADMSG;
        /* id null: a pod or a namespace (denial_level_ref()), checked by the caller */
        if ((r = get_string(v, "id", true, &c.id)) < 0 ||
            (r = get_string(v, "name", true, &c.name)) < 0 ||
            (r = get_string(v, "image", true, &c.image)) < 0 ||
            (r = get_string(v, "engine", true, &c.engine)) < 0 ||
            (r = get_string(v, "pod", true, &c.pod)) < 0) {
                container_ref_done(&c);
                return r;
        }
        /* Optional, for daemons older than the key. */
        if (json_object_object_get_ex(v, "namespace", NULL) &&
            (r = get_string(v, "namespace", true, &c.pod_namespace)) < 0) {
                container_ref_done(&c);
                return r;
        }
        *ret = c;
        *ret_has = true;
        return 0;
}

/* Optional, for daemons older than the key: absent and null are the same. */
static int candidates_from_json(json_object *o, Denial *d) {
        json_object *a;

        if (!json_object_object_get_ex(o, "candidates", &a) || !a)
                return 0;
        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        size_t n = json_object_array_length(a);
        if (n > DENIAL_CANDIDATES_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                json_object *wrap = json_object_new_object();
                bool has = false;
                ContainerRef c = {};
                int r;

                if (!wrap)
                        return -ENOMEM;
                if (json_object_object_add(wrap, "c",
                                           json_object_get(json_object_array_get_idx(a, i))) < 0) {
                        json_object_put(wrap);
                        return -ENOMEM;
                }
                r = container_from_json(wrap, "c", &has, &c);
                json_object_put(wrap);
                if (r < 0)
                        return r;
                if (!has || !c.id) {
                        container_ref_done(&c);
                        return -EBADMSG;
                }
                r = denial_add_candidate(d, &c);
                container_ref_done(&c);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* reason, verdict, booleans: optional (a reader of older output); the hint is derived again. */
static int triage_from_json(json_object *o, Denial *d) {
        _cleanup_(freep) char *reason = NULL, *verdict = NULL;
        json_object *v;
        int r;

        if (!json_object_object_get_ex(o, "reason", &v) || !v)
                return 0;
        if ((r = get_string(o, "reason", true, &reason)) < 0 ||
            (r = get_string(o, "verdict", true, &verdict)) < 0)
                return r;
        if (!reason)
                return 0;
        r = triage_reason_from_string(reason);
        int vr = verdict ? triage_verdict_from_string(verdict) : -EBADMSG;
        if (r < 0 || vr < 0)
                return -EBADMSG;
        d->triaged = true;
        d->reason = r;
        d->verdict = vr;
        if (json_object_object_get_ex(o, "booleans", &v) && v) {
                r = words_from_json(o, "booleans", &d->booleans);
                if (r < 0)
                        return r;
        }
        return 0;
}

int denial_from_json(json_object *o, Denial *ret) {
        Denial d = DENIAL_NULL;
        _cleanup_(freep) char *time_text = NULL, *record_type = NULL, *attribution = NULL;
        int64_t serial = 0, pid = -1;
        bool is_null;
        json_object *v;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;

        if ((r = get_string(o, "time", false, &time_text)) < 0 ||
            (r = parse_time_iso8601_ms(time_text, &d.time_ms)) < 0 ||
            (r = get_int(o, "serial", false, 0, &serial, &is_null)) < 0 ||
            (r = get_string(o, "record_type", true, &record_type)) < 0 ||
            (r = get_string(o, "result", true, &d.result)) < 0 ||
            (r = words_from_json(o, "permissions", &d.permissions)) < 0 ||
            (r = get_int(o, "pid", true, 0, &pid, &is_null)) < 0)
                goto fail;
        d.serial = (uint64_t) serial;
        d.pid = is_null ? -1 : pid;

        if (record_type) {
                r = record_type_from_name(record_type);
                if (r < 0) {
                        r = -EBADMSG;
                        goto fail;
                }
                d.record_type = r;
        }

        if ((r = get_string(o, "comm", true, &d.comm)) < 0 ||
            (r = get_string(o, "exe", true, &d.exe)) < 0 ||
            (r = get_string(o, "path", true, &d.path)) < 0 ||
            (r = get_string(o, "name", true, &d.name)) < 0 ||
            (r = get_string(o, "scontext", true, &d.scontext)) < 0 ||
            (r = get_string(o, "tcontext", true, &d.tcontext)) < 0 ||
            (r = get_string(o, "tclass", true, &d.tclass)) < 0)
                goto fail;

        if (!json_object_object_get_ex(o, "permissive", &v) ||
            (v && !json_object_is_type(v, json_type_boolean))) {
                r = -EBADMSG;
                goto fail;
        }
        d.permissive = v ? json_object_get_boolean(v) : -1;

        if ((r = get_string(o, "source_type", true, &d.source_type)) < 0 ||
            (r = get_string(o, "target_type", true, &d.target_type)) < 0 ||
            (r = get_string(o, "mcs", true, &d.mcs)) < 0 ||
            (r = container_from_json(o, "container", &d.has_container, &d.container)) < 0 ||
            (r = get_string(o, "attribution", false, &attribution)) < 0 ||
            (r = container_from_json(o, "target_container", &d.has_target_container,
                                     &d.target_container)) < 0 ||
            (r = candidates_from_json(o, &d)) < 0 || (r = get_string(o, "raw", true, &d.raw)) < 0)
                goto fail;
        /* count: required in what we write; a reader of older output takes 1 */
        if (json_object_object_get_ex(o, "count", &v)) {
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1) {
                        r = -EBADMSG;
                        goto fail;
                }
                d.count = (uint64_t) json_object_get_int64(v);
        }

        r = attribution_from_string(attribution);
        if (r < 0) {
                r = -EBADMSG;
                goto fail;
        }
        d.attribution = r;
        /* A container without an id is the pod or namespace a denial was named at, which its
         * candidates make (denial_level_ref()); anywhere else it is not a container. */
        if (d.has_container && !d.container.id) {
                if (d.attribution != ATTRIBUTION_POD && d.attribution != ATTRIBUTION_NAMESPACE) {
                        r = -EBADMSG;
                        goto fail;
                }
                container_ref_done(&d.container);
                d.has_container = false;
        }
        r = triage_from_json(o, &d);
        if (r < 0)
                goto fail;

        *ret = d;
        return 0;
fail:
        denial_done(&d);
        return r;
}
