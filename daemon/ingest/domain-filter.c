/* SPDX-License-Identifier: MIT */
/* Scope filter: decides which denials are container denials. Patterns are fnmatch globs over the
 * source type, so that udica-style types ("*.process") and site-specific ones ("*_container_t")
 * are configurable without code. Pattern characters are restricted so that a typo in the
 * configuration is reported rather than silently matching nothing. */

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "domain-filter.h"
#include "macro.h"

const char *const domain_patterns_default[] = {
        "container_t",        "container_init_t",
        "container_kvm_t",    "container_user_t",
        "container_engine_t", "spc_t",
        "svirt_lxc_net_t",    "*_container_t",
        "*.process",          NULL,
};

/* How a pattern is matched: fnmatch(pattern, type, 0) for every denial was most of the scope
 * filter's cost, and the patterns people write are names ("container_t") or a suffix after a
 * star ("*_container_t", "*.process"). Without FNM_PATHNAME and FNM_PERIOD (and with no backslash,
 * which pattern_is_valid() refuses), a pattern without '*', '?' or '[' matches exactly itself,
 * and "*" followed by such a one every type that ends with it. */
typedef enum DomainPatternKind {
        DOMAIN_PATTERN_GLOB, /* fnmatch() */
        DOMAIN_PATTERN_NAME,
        DOMAIN_PATTERN_SUFFIX, /* "*" and a name */
} DomainPatternKind;

static DomainPatternKind pattern_kind(const char *p) {
        if (!p[strcspn(p, "*?[")])
                return DOMAIN_PATTERN_NAME;
        if (p[0] == '*' && !p[1 + strcspn(p + 1, "*?[")])
                return DOMAIN_PATTERN_SUFFIX;
        return DOMAIN_PATTERN_GLOB;
}

static bool pattern_is_valid(const char *p, size_t len) {
        if (len == 0 || len > DOMAIN_PATTERN_LEN_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = p[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr("_.*?[]-!", c)))
                        return false;
        }
        return true;
}

void domain_filter_done(DomainFilter *f) {
        if (!f)
                return;
        for (unsigned i = 0; i < f->n_patterns; i++)
                free(f->patterns[i]);
        *f = (DomainFilter){};
}

static int domain_filter_add(DomainFilter *f, const char *p, size_t len) {
        if (!pattern_is_valid(p, len))
                return -EINVAL;
        if (f->n_patterns >= DOMAIN_PATTERNS_MAX)
                return -E2BIG;
        char *copy = strndup(p, len);
        if (!copy)
                return -ENOMEM;
        f->kinds[f->n_patterns] = (unsigned char) pattern_kind(copy);
        f->patterns[f->n_patterns++] = copy;
        return 0;
}

int domain_filter_parse(const char *list, DomainFilter *ret) {
        DomainFilter f = {.target_mcs = true};
        const char *p = list;

        while (*p) {
                size_t skip = strspn(p, " \t,");
                p += skip;
                size_t len = strcspn(p, " \t,");
                if (len == 0)
                        break;
                int r = domain_filter_add(&f, p, len);
                if (r < 0) {
                        domain_filter_done(&f);
                        return r;
                }
                p += len;
        }
        *ret = f;
        return 0;
}

int domain_filter_default(DomainFilter *ret) {
        DomainFilter f = {.target_mcs = true};

        for (size_t i = 0; domain_patterns_default[i]; i++) {
                int r = domain_filter_add(&f, domain_patterns_default[i],
                                          strlen(domain_patterns_default[i]));
                if (r < 0) {
                        domain_filter_done(&f);
                        return r;
                }
        }
        *ret = f;
        return 0;
}

static bool pattern_matches(const char *pattern, DomainPatternKind kind, const char *type,
                            size_t type_len) {
        switch (kind) {
        case DOMAIN_PATTERN_NAME:
                return strcmp(pattern, type) == 0;
        case DOMAIN_PATTERN_SUFFIX: {
                size_t n = strlen(pattern + 1);
                return type_len >= n && memcmp(type + type_len - n, pattern + 1, n) == 0;
        }
        default:
                return fnmatch(pattern, type, 0) == 0;
        }
}

bool domain_filter_wants(const DomainFilter *f, const char *source_type, const char *target_mcs) {
        if (source_type) {
                size_t len = strlen(source_type);
                for (unsigned i = 0; i < f->n_patterns; i++)
                        if (pattern_matches(f->patterns[i], f->kinds[i], source_type, len))
                                return true;
        }
        /* c0.c1023 is the whole category range (SystemHigh) that unconfined and host domains
         * carry; it says nothing about a container. */
        return f->target_mcs && target_mcs && target_mcs[0] && strcmp(target_mcs, "c0.c1023") != 0;
}
