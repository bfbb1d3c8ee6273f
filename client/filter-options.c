/* SPDX-License-Identifier: MIT */
/* Parsing of the shared filter options. The daemon validates the filter again (it must: any local
 * user in the access group can send one), but catching mistakes here gives the user a message
 * naming their option and exit status 1 instead of a daemon error. --mcs is sent in canonical
 * form so that "c393,c170" and "s0:c170,c393" find the same denials. A repeated option and a comma
 * list add values: the filter then means "any of" (filter-options.h says which options split). */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "filter-options.h"
#include "macro.h"
#include "strutil.h"
#include "timeparse.h"
#include "triage-names.h"

/* Canonical MCS text of a full set: 1024 categories as ranges is short, but a set of scattered
 * categories can need up to ~6 bytes each. */
#define FILTER_MCS_TEXT_MAX (MCS_CATEGORIES_MAX * 6 + 1)

void filter_options_init(FilterOptions *f, int64_t now_ms) {
        *f = (FilterOptions){.now_ms = now_ms};
}

void filter_options_done(FilterOptions *f) {
        denial_filter_done(&f->filter);
}

int parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (__builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, (uint64_t) (*p - '0'), &v))
                        return -ERANGE;
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static void print_bad_value(const char *option, const char *arg, const char *why) {
        fprintf(stderr, "avcctl: invalid value for --%s: '", option);
        fputs_terminal_safe(arg, stderr);
        fprintf(stderr, "': %s\n", why);
}

/* Adds a copy of arg (n bytes) to the field's values after checking it is usable as a filter
 * value. */
static int add_value(FilterValues *field, const char *option, const char *arg, size_t n,
                     bool allow_blank) {
        _cleanup_(freep) char *copy = strndup(arg, n);
        char **v;

        if (!copy) {
                fprintf(stderr, "avcctl: out of memory\n");
                return -ENOMEM;
        }
        if (n == 0) {
                print_bad_value(option, copy, "must not be empty");
                return -EINVAL;
        }
        if (n > FILTER_STRING_MAX) {
                fprintf(stderr, "avcctl: value for --%s is longer than %d bytes\n", option,
                        FILTER_STRING_MAX);
                return -EINVAL;
        }
        if (!allow_blank && strpbrk(copy, " \t\n")) {
                print_bad_value(option, copy, "must be a single word");
                return -EINVAL;
        }
        if (field->n >= FILTER_VALUES_MAX) {
                fprintf(stderr, "avcctl: --%s is given more than %d values\n", option,
                        FILTER_VALUES_MAX);
                return -EINVAL;
        }
        v = reallocarray(field->v, field->n + 1, sizeof(char *));
        if (!v) {
                fprintf(stderr, "avcctl: out of memory\n");
                return -ENOMEM;
        }
        field->v = v;
        field->v[field->n++] = TAKE_PTR(copy);
        return 0;
}

static int set_string(FilterValues *field, const char *option, const char *arg, bool allow_blank) {
        return add_value(field, option, arg, strlen(arg), allow_blank);
}

/* "a,b": every item a value ("a,,b" and a trailing comma are an empty value, refused). */
static int set_list(FilterValues *field, const char *option, const char *arg) {
        for (const char *p = arg;;) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t) (comma - p) : strlen(p);
                int r = add_value(field, option, p, n, false);
                if (r < 0)
                        return r;
                if (!comma)
                        return 0;
                p = comma + 1;
        }
}

/* --reason, --verdict and their negations: a list of names (or "none"), each checked here so
 * that a typo lists the valid ones. */
static int set_triage(FilterValues *field, const char *option, const char *const *names, size_t n,
                      const char *arg) {
        size_t before = field->n;
        char valid[256], why[300];
        int r;

        r = set_list(field, option, arg);
        if (r < 0)
                return r;
        for (size_t i = before; i < field->n; i++)
                if (strcmp(field->v[i], TRIAGE_NONE) != 0 &&
                    triage_name_index(names, n, field->v[i]) < 0) {
                        snprintf(why, sizeof(why), "expected one of %s",
                                 triage_names_join(names, n, valid, sizeof(valid)));
                        print_bad_value(option, field->v[i], why);
                        return -EINVAL;
                }
        return 0;
}

static int set_mcs(FilterOptions *f, const char *arg) {
        char text[FILTER_MCS_TEXT_MAX];
        McsSet set;
        int r;

        if (strlen(arg) > FILTER_STRING_MAX || mcs_set_parse(arg, &set) < 0) {
                print_bad_value("mcs", arg, "expected categories like c170,c393 or c0.c1023");
                return -EINVAL;
        }
        if (mcs_set_is_empty(&set)) {
                print_bad_value("mcs", arg, "no categories given");
                return -EINVAL;
        }
        r = mcs_set_format(&set, text, sizeof(text));
        if (r < 0 || (size_t) r > FILTER_STRING_MAX) {
                print_bad_value("mcs", arg, "too many categories");
                return -EINVAL;
        }
        return set_string(&f->filter.mcs, "mcs", text, false);
}

static int set_time(FilterOptions *f, const char *option, const char *arg, bool *has,
                    int64_t *field) {
        int64_t v;

        if (parse_time_spec(arg, f->now_ms, &v) < 0) {
                print_bad_value(option, arg,
                                "expected e.g. \"2024-04-20 10:54\", \"2024-04-20T08:54:52Z\", "
                                "\"@1713603292\", \"1 hour ago\", \"-30min\", \"today\"");
                return -EINVAL;
        }
        *has = true;
        *field = v;
        return 0;
}

int filter_options_parse_one(FilterOptions *f, int c, const char *arg) {
        DenialFilter *d = &f->filter;
        int r;

        switch (c) {
        case ARG_FILTER_CONTAINER:
                r = set_list(&d->container, "container", arg);
                break;
        case ARG_FILTER_TARGET_CONTAINER:
                r = set_list(&d->target_container, "target-container", arg);
                break;
        case ARG_FILTER_IMAGE:
                r = set_list(&d->image, "image", arg);
                break;
        case ARG_FILTER_POD:
                r = set_list(&d->pod, "pod", arg);
                break;
        case ARG_FILTER_NAMESPACE:
                r = set_list(&d->pod_namespace, "namespace", arg);
                break;
        case ARG_FILTER_MCS:
                r = set_mcs(f, arg);
                break;
        case ARG_FILTER_SINCE:
                r = set_time(f, "since", arg, &d->has_since, &d->since_ms);
                break;
        case ARG_FILTER_UNTIL:
                r = set_time(f, "until", arg, &d->has_until, &d->until_ms);
                break;
        case ARG_FILTER_TYPE:
                r = set_list(&d->source_type, "type", arg);
                break;
        case ARG_FILTER_TARGET_TYPE:
                r = set_list(&d->target_type, "target-type", arg);
                break;
        case ARG_FILTER_TCLASS:
                r = set_list(&d->tclass, "tclass", arg);
                break;
        case ARG_FILTER_PERM:
                r = set_list(&d->perm, "perm", arg);
                break;
        case ARG_FILTER_NOT_TYPE:
                r = set_list(&d->not_source_type, "not-type", arg);
                break;
        case ARG_FILTER_NOT_TARGET_TYPE:
                r = set_list(&d->not_target_type, "not-target-type", arg);
                break;
        case ARG_FILTER_NOT_TCLASS:
                r = set_list(&d->not_tclass, "not-tclass", arg);
                break;
        case ARG_FILTER_NOT_PERM:
                r = set_list(&d->not_perm, "not-perm", arg);
                break;
        case ARG_FILTER_REASON:
        case ARG_FILTER_NOT_REASON:
                r = set_triage(c == ARG_FILTER_REASON ? &d->reason : &d->not_reason,
                               c == ARG_FILTER_REASON ? "reason" : "not-reason",
                               triage_reason_names, TRIAGE_REASONS_N, arg);
                break;
        case ARG_FILTER_VERDICT:
        case ARG_FILTER_NOT_VERDICT:
                r = set_triage(c == ARG_FILTER_VERDICT ? &d->verdict : &d->not_verdict,
                               c == ARG_FILTER_VERDICT ? "verdict" : "not-verdict",
                               triage_verdict_names, TRIAGE_VERDICTS_N, arg);
                break;
        case ARG_FILTER_COMM:
                /* comm and paths may legitimately contain blanks and commas */
                r = set_string(&d->comm, "comm", arg, true);
                break;
        case ARG_FILTER_NOT_COMM:
                r = set_string(&d->not_comm, "not-comm", arg, true);
                break;
        case ARG_FILTER_PATH:
                r = set_string(&d->path, "path", arg, true);
                break;
        case ARG_FILTER_INCLUDE_SELFTEST:
                d->include_selftest = true;
                return 1;
        case ARG_FILTER_LIMIT:
                r = parse_count(arg, 1, FILTER_LIMIT_MAX, &f->limit);
                if (r < 0) {
                        print_bad_value("limit", arg, "expected a positive number");
                        return -EINVAL;
                }
                f->has_limit = true;
                return 1;
        default:
                return 0;
        }
        return r < 0 ? -EINVAL : 1;
}

int filter_options_finish(FilterOptions *f) {
        if (f->filter.has_since && f->filter.has_until &&
            f->filter.since_ms >= f->filter.until_ms) {
                fprintf(stderr, "avcctl: --since must be before --until\n");
                return -EINVAL;
        }
        return 0;
}
