/* SPDX-License-Identifier: MIT */
#pragma once

/* The Prometheus text exposition (format 0.0.4) of one snapshot of the daemon's counters and the
 * store's aggregates (docs/metrics.md lists every metric). Pure: no I/O, no store, so that the
 * rendering and the escaping of hostile label values are tested on their own. The transport is
 * metrics.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

/* One group of denials as the store counts them: a container (name, image), an image or a class.
 * Strings may be NULL (unknown). */
typedef struct MetricsGroup {
        char *name;
        char *image;
        uint64_t count;
} MetricsGroup;

typedef struct MetricsGroups {
        MetricsGroup *groups;
        size_t n;
        uint64_t other;        /* denials of the groups beyond the top N */
        uint64_t unattributed; /* containers only: denials no container was found for (top N) */
} MetricsGroups;

/* The kernel's AVC cache counters (/sys/fs/selinux/avc/cache_stats), summed over the CPUs. */
typedef struct AvcCacheStats {
        uint64_t lookups, hits, misses, allocations, reclaims, frees;
} AvcCacheStats;

/* Denials of one (verdict, reason) of triage; NULL strings: not triaged. Static strings. */
typedef struct MetricsTriage {
        const char *verdict, *reason;
        uint64_t count;
} MetricsTriage;
#define METRICS_TRIAGE_MAX ((_TRIAGE_VERDICT_MAX + 1) * (_TRIAGE_REASON_MAX + 1))

typedef struct MetricsSnapshot {
        const Stats *stats;
        const char *version;
        uint64_t denials; /* every denial the store counts (its aggregates) */
        MetricsGroups containers, images, tclasses;
        /* the top N namespaces; other: the rest of the namespaced denials, unattributed: those
         * without a namespace */
        MetricsGroups namespaces;
        MetricsTriage triage[METRICS_TRIAGE_MAX];
        size_t n_triage;
        bool has_db_bytes;
        uint64_t db_bytes;
        bool has_avc_cache;
        AvcCacheStats avc_cache;
} MetricsSnapshot;

/* Label values in the names of the series that stand for more than one group. They contain
 * parentheses, which Docker and Podman refuse in names and image references, so that no
 * container can name itself into one of them. */
#define METRICS_LABEL_OTHER "(other)"
#define METRICS_LABEL_UNATTRIBUTED "(unattributed)"
#define METRICS_LABEL_UNKNOWN "(unknown)"

/* The whole exposition into a new buffer (*ret, NUL-terminated, length *ret_len). */
int metrics_render(const MetricsSnapshot *s, char **ret, size_t *ret_len);

/* Writes s as a label value (without the quotes): backslash, double quote and newline escaped as
 * the exposition format wants; bytes that are not valid UTF-8 (Prometheus refuses a whole scrape
 * over one) written as the text \xNN; NULL as "". */
void metrics_write_label_value(FILE *f, const char *s);

/* Parses the text of /sys/fs/selinux/avc/cache_stats: a header line naming the columns, then one
 * line of numbers per CPU; the columns are found by name. -EINVAL when it is not that. */
int avc_cache_stats_parse(const char *text, AvcCacheStats *ret);

void metrics_groups_done(MetricsGroups *g);
