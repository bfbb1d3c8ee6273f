/* SPDX-License-Identifier: MIT */
#pragma once

/* The filter options shared by `query` and `tail` (DESIGN "Contracts"), parsed into a
 * DenialFilter plus the --limit count. A repeated option adds a value ("any of"), and so does
 * every item of a comma list where a value cannot contain a comma (all but --mcs, --comm,
 * --not-comm and --path); at most FILTER_VALUES_MAX values per option. Values are validated here so
 * that a mistake is a usage error with a clear message before anything is sent to the daemon. */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "filter.h"

/* --limit: any positive count; the client pages, so memory does not grow with it. */
#define FILTER_LIMIT_MAX ((uint64_t) INT64_MAX)

enum {
        ARG_FILTER_CONTAINER = 0x200, /* above the global options' values (see verbs.h) */
        ARG_FILTER_IMAGE,
        ARG_FILTER_POD,
        ARG_FILTER_NAMESPACE,
        ARG_FILTER_MCS,
        ARG_FILTER_SINCE,
        ARG_FILTER_UNTIL,
        ARG_FILTER_TYPE,
        ARG_FILTER_TARGET_TYPE,
        ARG_FILTER_TCLASS,
        ARG_FILTER_PERM,
        ARG_FILTER_COMM,
        ARG_FILTER_PATH,
        ARG_FILTER_LIMIT,
        ARG_FILTER_TARGET_CONTAINER,
        ARG_FILTER_NOT_TYPE,
        ARG_FILTER_NOT_TARGET_TYPE,
        ARG_FILTER_NOT_TCLASS,
        ARG_FILTER_NOT_PERM,
        ARG_FILTER_NOT_COMM,
        ARG_FILTER_INCLUDE_SELFTEST,
        ARG_FILTER_REASON,
        ARG_FILTER_VERDICT,
        ARG_FILTER_NOT_REASON,
        ARG_FILTER_NOT_VERDICT,
};

/* struct option entries for a verb's option table. */
#define FILTER_OPTIONS                                                                             \
        {"container", required_argument, NULL, ARG_FILTER_CONTAINER},                              \
                {"image", required_argument, NULL, ARG_FILTER_IMAGE},                              \
                {"pod", required_argument, NULL, ARG_FILTER_POD},                                  \
                {"namespace", required_argument, NULL, ARG_FILTER_NAMESPACE},                      \
                {"mcs", required_argument, NULL, ARG_FILTER_MCS},                                  \
                {"since", required_argument, NULL, ARG_FILTER_SINCE},                              \
                {"until", required_argument, NULL, ARG_FILTER_UNTIL},                              \
                {"type", required_argument, NULL, ARG_FILTER_TYPE},                                \
                {"target-type", required_argument, NULL, ARG_FILTER_TARGET_TYPE},                  \
                {"tclass", required_argument, NULL, ARG_FILTER_TCLASS},                            \
                {"perm", required_argument, NULL, ARG_FILTER_PERM},                                \
                {"comm", required_argument, NULL, ARG_FILTER_COMM},                                \
                {"path", required_argument, NULL, ARG_FILTER_PATH},                                \
                {"target-container", required_argument, NULL, ARG_FILTER_TARGET_CONTAINER},        \
                {"not-type", required_argument, NULL, ARG_FILTER_NOT_TYPE},                        \
                {"not-target-type", required_argument, NULL, ARG_FILTER_NOT_TARGET_TYPE},          \
                {"not-tclass", required_argument, NULL, ARG_FILTER_NOT_TCLASS},                    \
                {"not-perm", required_argument, NULL, ARG_FILTER_NOT_PERM},                        \
                {"not-comm", required_argument, NULL, ARG_FILTER_NOT_COMM},                        \
                {"reason", required_argument, NULL, ARG_FILTER_REASON},                            \
                {"verdict", required_argument, NULL, ARG_FILTER_VERDICT},                          \
                {"not-reason", required_argument, NULL, ARG_FILTER_NOT_REASON},                    \
                {"not-verdict", required_argument, NULL, ARG_FILTER_NOT_VERDICT},                  \
                {"include-selftest", no_argument, NULL, ARG_FILTER_INCLUDE_SELFTEST}, {            \
                "limit", required_argument, NULL, ARG_FILTER_LIMIT                                 \
        }

typedef struct FilterOptions {
        DenialFilter filter;
        int64_t now_ms; /* the one "now" that relative --since/--until are taken from */
        bool has_limit;
        uint64_t limit;
} FilterOptions;

void filter_options_init(FilterOptions *f, int64_t now_ms);
void filter_options_done(FilterOptions *f);

/* Handles option c (a getopt_long value) with argument arg. Returns 1 when c is a filter option
 * and was applied, 0 when c is not a filter option, -EINVAL for a bad value (a message naming
 * the option has been printed to stderr). */
int filter_options_parse_one(FilterOptions *f, int c, const char *arg);

/* Checks across options once all are parsed (--since before --until). -EINVAL with a message. */
int filter_options_finish(FilterOptions *f);

/* A decimal count in [min, max], nothing else (no sign, no blanks, no suffix). -EINVAL, -ERANGE. */
int parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
