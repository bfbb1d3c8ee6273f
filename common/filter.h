/* SPDX-License-Identifier: MIT */
#pragma once

/* DenialFilter: the filters shared by `tail`, `query` and `top` (DESIGN "Contracts"). The client
 * builds one from its options, it travels as a JSON object in Varlink calls, the store turns it
 * into SQL and the live tail matches it against each new denial. Every set field must match. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "denial.h"

#define FILTER_STRING_MAX 512 /* longest filter value accepted from a client */
#define FILTER_VALUES_MAX 16  /* values one field may list ("any of"), from JSON or options */

/* The values of one field, any of which matches (a negated field: none of which). A plain JSON
 * string is one value, an array of strings a list (--container a --container b, --perm r,w). */
typedef struct FilterValues {
        char **v;
        size_t n;
} FilterValues;

/* One value, for a filter built in code: (DenialFilter){.comm = FILTER_ONE("nginx")}. */
#define FILTER_ONE(s) ((FilterValues){.v = (char *[]){(char *) (s)}, .n = 1})

/* The result the daemon gives a self-test denial it vouches for (daemon/ingest/selftest.c):
 * left out of query, tail and top unless a filter has include_selftest. */
#define DENIAL_RESULT_SELFTEST "selftest"
/* The target type of avcctl selftest's denial: no policy defines it. */
#define SELFTEST_TARGET_TYPE "avcwatch_selftest_t"

typedef struct DenialFilter {
        FilterValues container;        /* name, id prefix or full id: container_value_kind() */
        FilterValues target_container; /* the container whose files were touched, as container */
        FilterValues image;            /* see image_ref_matches() */
        FilterValues pod;
        FilterValues pod_namespace; /* the pod's Kubernetes namespace ("namespace" in JSON) */
        FilterValues mcs;           /* canonical category text, e.g. "c170,c393" */
        bool has_since, has_until;
        int64_t since_ms, until_ms; /* inclusive since, exclusive until */
        FilterValues source_type;   /* --type; a trailing '*' makes it a prefix match */
        FilterValues target_type;   /* as source_type */
        FilterValues tclass;
        FilterValues perm; /* permissions; matches when the denial's set contains one */
        FilterValues comm;
        FilterValues path; /* matches path or name; a trailing '*' makes it a prefix match */
        /* Negations (--not-type ...): a denial matches when it matches none of the values. A
         * denial without the field (no comm) matches every negation of it. */
        FilterValues not_source_type, not_target_type, not_tclass, not_perm, not_comm;
        /* Triage (triage-names.h): a reason or verdict name, or "none" for a denial without one
         * (stored before triage, or no policy). Validated against the names. */
        FilterValues reason, verdict, not_reason, not_verdict;
        /* The audit serial of the event (avcctl explain SERIAL); several events may share one
         * (serials restart at boot, and every node counts its own). */
        bool has_serial;
        uint64_t serial;
        /* Self-test denials (result DENIAL_RESULT_SELFTEST) match only when set. */
        bool include_selftest;
        /* Not part of the JSON: set by whoever knows the registry when a container of that name
         * exists, so that `container` is that name only, never also an id prefix ("db" would
         * else find a container whose id starts with db, as docker's own lookup never does).
         * Ignored for a full id, which is never a name. Bit i is value i (true is the first
         * value). */
        uint32_t container_is_name, target_container_is_name;
} DenialFilter;

void denial_filter_done(DenialFilter *f);

/* JSON field names: container target_container image pod namespace mcs
 * since until type target_type tclass
 * perm comm path not_type not_target_type not_tclass not_perm not_comm reason verdict not_reason
 * not_verdict serial include_selftest;
 * since/until are integers in ms since the epoch, serial a non-negative integer, include_selftest a
 * boolean (written only when true), the others a string or an array of 1..FILTER_VALUES_MAX
 * strings. One value is written as a string, so that an older daemon still reads it. */
int denial_filter_to_json(const DenialFilter *f, json_object **ret);
/* -EINVAL with *ret_bad_field set (static string) on a wrong type, an over-long string, an
 * invalid mcs, or an unknown key. A NULL object gives the empty filter. */
int denial_filter_from_json(json_object *o, DenialFilter *ret, const char **ret_bad_field);

/* How a --container value is read (the order avcctl(1) documents). 64 hex digits are a full id,
 * always that id and never a name: docker accepts a name made of 64 hex digits, and a container
 * named with another's id must not take that one's denials away from `query` and `top`. Any other
 * value is the name of a container when one of that name is known (also a removed one or an old
 * name: docker's own lookup order), and when none is and the value is hex, an id prefix. */
typedef enum ContainerValue {
        CONTAINER_VALUE_NAME,           /* not hex: a name only */
        CONTAINER_VALUE_NAME_OR_PREFIX, /* 1-63 hex digits: a known name wins, else an id prefix */
        CONTAINER_VALUE_ID,             /* 64 hex digits: the full id only */
} ContainerValue;

ContainerValue container_value_kind(const char *value);

/* A --container value also matches an ambiguous denial that has the container among its
 * candidates (the denial's attribution and candidates show it in every output). */
bool denial_filter_match(const DenialFilter *f, const Denial *d);

/* Whether value (a --type, --target-type or --path) ends with the '*' of a prefix match. */
bool filter_value_is_prefix(const char *value);

/* Whether the image reference `want` (a filter's --image) names `image` (as an engine reported
 * it): equal text, or the same repository with the parts `want` leaves out taken as "any". So
 * "nginx" names nginx:1.25, docker.io/library/nginx:latest and nginx@sha256:..; "nginx:1.25"
 * only that tag (a missing tag is "latest"); "quay.io/x/nginx" only that registry (docker.io,
 * index.docker.io and none are one registry, where "library/" is implied). */
bool image_ref_matches(const char *want, const char *image);

/* The one spelling of an image reference that `top --by image` groups by: the registry left out
 * for Docker Hub (with its "library/") and for "localhost" (Podman's prefix for the local images
 * Docker names without one), ":latest" when neither tag nor digest is given. So
 * docker.io/library/nginx:1.25, nginx:1.25 and localhost/nginx:1.25 are all "nginx:1.25".
 * Returns the length written to buf, -ENOBUFS when n is too small (strlen(image) + 8 is enough),
 * -EINVAL for NULL or "". */
int image_ref_key(const char *image, char *buf, size_t n);
