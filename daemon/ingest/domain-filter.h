/* SPDX-License-Identifier: MIT */
#pragma once

/* Scope: which denials are container denials. A denial is kept when its source type matches one
 * of the domain patterns (fnmatch globs, e.g. "container_t", "*_container_t", "*.process"), or
 * when its target context carries MCS categories (something touched a container's files) other
 * than the full range c0.c1023 that host domains carry.
 * Pure. */

#include <stdbool.h>

#define DOMAIN_PATTERNS_MAX 64
#define DOMAIN_PATTERN_LEN_MAX 128

/* The default set of DESIGN: the container domains of container-selinux and refpolicy, plus
 * udica-style types. NULL-terminated. */
extern const char *const domain_patterns_default[];

typedef struct DomainFilter {
        char *patterns[DOMAIN_PATTERNS_MAX];
        /* How each pattern is matched (DomainPatternKind, domain-filter.c): most are a name or
         * "*" and a suffix, compared without fnmatch() */
        unsigned char kinds[DOMAIN_PATTERNS_MAX];
        unsigned n_patterns;
        bool target_mcs; /* also keep denials whose target carries categories */
} DomainFilter;

/* Parses a space or comma separated list of patterns. -EINVAL for an invalid pattern (empty,
 * too long, characters outside [A-Za-z0-9_.*?[]-]), -E2BIG for too many. */
int domain_filter_parse(const char *list, DomainFilter *ret);
int domain_filter_default(DomainFilter *ret);
void domain_filter_done(DomainFilter *f);

/* target_mcs: the category text of the target context ("" or NULL when none). */
bool domain_filter_wants(const DomainFilter *f, const char *source_type, const char *target_mcs);
