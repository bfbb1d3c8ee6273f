/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition of a MetricsSnapshot (metrics-text.h).
 *
 * Decisions:
 * - Labels carry only what is bounded and harmless: the container's name and image and the
 *   pod's namespace (the top N by count, the rest in "(other)"), the class, the triage's verdict
 *   and reason (closed sets), the engine, the cause of a loss. Never MCS
 *   categories, pids, paths or contexts: each of those would make a series per denial.
 * - A container's name is the container's own choice: every label value is escaped, and bytes
 *   that are not UTF-8 are written as text, since Prometheus drops the whole scrape over one.
 * - The counts of the store's aggregates are what `avcctl top` shows: they survive retention
 *   and restarts, so a rate over them is right across a restart of the daemon. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics-text.h"

void metrics_groups_done(MetricsGroups *g) {
        for (size_t i = 0; i < g->n; i++) {
                free(g->groups[i].name);
                free(g->groups[i].image);
        }
        free(g->groups);
        *g = (MetricsGroups){};
}

/* Length of the valid UTF-8 sequence at s (1-4), 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s) {
        size_t n;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                n = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond Unicode */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return n;
}

void metrics_write_label_value(FILE *f, const char *s) {
        if (!s)
                return;
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = utf8_sequence(p);
                if (n == 0) {
                        fprintf(f, "\\\\x%02x", *p);
                        p++;
                        continue;
                }
                if (*p == '\\')
                        fputs("\\\\", f);
                else if (*p == '"')
                        fputs("\\\"", f);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fwrite(p, 1, n, f);
                p += n;
        }
}

static void family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, uint64_t value) {
        fprintf(f, "%s %" PRIu64 "\n", name, value);
}

static void one(FILE *f, const char *name, const char *type, const char *help, uint64_t value) {
        family(f, name, type, help);
        sample(f, name, value);
}

static void labelled(FILE *f, const char *name, const char *label, const char *value,
                     uint64_t count) {
        fprintf(f, "%s{%s=\"", name, label);
        metrics_write_label_value(f, value);
        fprintf(f, "\"} %" PRIu64 "\n", count);
}

static void render_denials(FILE *f, const MetricsSnapshot *s) {
        family(f, "avcwatch_denials_total", "counter",
               "Denials the store counts, by object class (its aggregates: kept across "
               "retention and restarts).");
        for (size_t i = 0; i < s->tclasses.n; i++)
                labelled(f, "avcwatch_denials_total", "tclass", s->tclasses.groups[i].name,
                         s->tclasses.groups[i].count);
        if (s->tclasses.other > 0 || s->tclasses.n == 0)
                labelled(f, "avcwatch_denials_total", "tclass", METRICS_LABEL_OTHER,
                         s->tclasses.other);

        family(f, "avcwatch_container_denials_total", "counter",
               "Denials by container name and image: the top N containers by count, the rest "
               "in container=\"(other)\", those no container was found for in "
               "container=\"(unattributed)\".");
        for (size_t i = 0; i < s->containers.n; i++) {
                const MetricsGroup *g = &s->containers.groups[i];
                fputs("avcwatch_container_denials_total{container=\"", f);
                metrics_write_label_value(f, g->name);
                fputs("\",image=\"", f);
                metrics_write_label_value(f, g->image ? g->image : METRICS_LABEL_UNKNOWN);
                fprintf(f, "\"} %" PRIu64 "\n", g->count);
        }
        fprintf(f,
                "avcwatch_container_denials_total{container=\"" METRICS_LABEL_UNATTRIBUTED
                "\",image=\"" METRICS_LABEL_UNKNOWN "\"} %" PRIu64 "\n",
                s->containers.unattributed);
        fprintf(f,
                "avcwatch_container_denials_total{container=\"" METRICS_LABEL_OTHER
                "\",image=\"" METRICS_LABEL_OTHER "\"} %" PRIu64 "\n",
                s->containers.other);

        family(f, "avcwatch_image_denials_total", "counter",
               "Denials by the container's image: the top N images by count, the rest in "
               "image=\"(other)\", those without a known image in image=\"(unknown)\".");
        uint64_t unknown = 0;
        for (size_t i = 0; i < s->images.n; i++) {
                if (!s->images.groups[i].name) {
                        unknown += s->images.groups[i].count;
                        continue;
                }
                labelled(f, "avcwatch_image_denials_total", "image", s->images.groups[i].name,
                         s->images.groups[i].count);
        }
        labelled(f, "avcwatch_image_denials_total", "image", METRICS_LABEL_UNKNOWN, unknown);
        labelled(f, "avcwatch_image_denials_total", "image", METRICS_LABEL_OTHER, s->images.other);

        family(f, "avcwatch_namespace_denials_total", "counter",
               "Denials by the Kubernetes namespace of the container's pod: the top N namespaces "
               "by count, the rest in namespace=\"(other)\", those without a namespace (no "
               "pod, or no container) in namespace=\"(unknown)\".");
        for (size_t i = 0; i < s->namespaces.n; i++)
                labelled(f, "avcwatch_namespace_denials_total", "namespace",
                         s->namespaces.groups[i].name, s->namespaces.groups[i].count);
        labelled(f, "avcwatch_namespace_denials_total", "namespace", METRICS_LABEL_UNKNOWN,
                 s->namespaces.unattributed);
        labelled(f, "avcwatch_namespace_denials_total", "namespace", METRICS_LABEL_OTHER,
                 s->namespaces.other);

        family(f, "avcwatch_triage_denials_total", "counter",
               "Denials by the triage's verdict and the policy's reason (closed sets; "
               "\"(unknown)\": not triaged, no policy). Kept across retention and restarts.");
        for (size_t i = 0; i < s->n_triage; i++) {
                const MetricsTriage *t = &s->triage[i];
                fprintf(f,
                        "avcwatch_triage_denials_total{verdict=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                        t->verdict ?: METRICS_LABEL_UNKNOWN, t->reason ?: METRICS_LABEL_UNKNOWN,
                        t->count);
        }
}

static void render_stats(FILE *f, const Stats *st) {
        static const struct {
                const char *cause;
                size_t offset;
        } causes[] = {
                {"socket_dropped", offsetof(LossLedger, netlink_dropped)},
                {"serial_missed", offsetof(LossLedger, serials_missed)},
                {"unstored", offsetof(LossLedger, denials_unstored)},
        };

        family(f, "avcwatch_events_lost_total", "counter",
               "Audit events lost, by cause. socket_dropped and serial_missed often count the "
               "same loss: alert on any increase, do not add them up.");
        for (size_t i = 0; i < ELEMENTSOF(causes); i++)
                labelled(f, "avcwatch_events_lost_total", "cause", causes[i].cause,
                         *(const uint64_t *) ((const char *) &st->losses + causes[i].offset));
        one(f, "avcwatch_records_received_total", "counter",
            "Audit records read from the input (datagrams or lines).", st->source.records_received);
        one(f, "avcwatch_records_malformed_total", "counter",
            "Records of the live input in no accepted form, truncated or not from the kernel.",
            st->source.records_malformed + st->ingest.malformed);
        one(f, "avcwatch_denials_stored_total", "counter",
            "Denial rows committed to the database by this daemon since it started.",
            st->pipeline.denials_stored);
        one(f, "avcwatch_denials_coalesced_total", "counter",
            "Denials folded into a storm's summary row instead of a row of their own.",
            st->pipeline.denials_coalesced);
        one(f, "avcwatch_store_errors_total", "counter",
            "Writes or commits to the database that failed.", st->pipeline.store_errors);
        one(f, "avcwatch_store_failing", "gauge", "1 while the last write to the database failed.",
            st->pipeline.store_failing);
        one(f, "avcwatch_tail_subscribers", "gauge", "Current `avcctl tail` subscribers.",
            st->api.tail_subscribers);
        one(f, "avcwatch_api_clients", "gauge", "Current connections to the Varlink API.",
            st->api.clients);
        one(f, "avcwatch_journal_failed_total", "counter",
            "Denials that could not be forwarded to the journal.", st->journal.journal_failed);
        one(f, "avcwatch_new_denials_total", "counter",
            "Live denials whose signature their image's baseline had not seen (not accepted).",
            st->pipeline.new_denials);
        one(f, "avcwatch_baseline_untracked_total", "counter",
            "Live denials the baseline could not judge new or known (full, or unreadable).",
            st->pipeline.baseline_untracked);

        family(f, "avcwatch_engine_connected", "gauge",
               "1 while the container engine's event stream is connected.");
        for (size_t i = 0; i < st->n_engines && i < STATS_ENGINES_MAX; i++)
                labelled(f, "avcwatch_engine_connected", "engine", st->engines[i].name,
                         st->engines[i].state && strcmp(st->engines[i].state, "connected") == 0);
        one(f, "avcwatch_start_time_seconds", "gauge", "When the daemon started, since the epoch.",
            (uint64_t) (st->started_ms / 1000));
}

static void render_avc_cache(FILE *f, const AvcCacheStats *c) {
        static const struct {
                const char *name, *help;
                size_t offset;
        } fields[] = {
                {"lookups", "lookups", offsetof(AvcCacheStats, lookups)},
                {"hits", "hits", offsetof(AvcCacheStats, hits)},
                {"misses", "misses", offsetof(AvcCacheStats, misses)},
                {"allocations", "entries allocated", offsetof(AvcCacheStats, allocations)},
                {"reclaims", "entries reclaimed", offsetof(AvcCacheStats, reclaims)},
                {"frees", "entries freed", offsetof(AvcCacheStats, frees)},
        };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                char name[64], help[128];
                snprintf(name, sizeof(name), "avcwatch_kernel_avc_cache_%s_total", fields[i].name);
                snprintf(help, sizeof(help),
                         "The kernel's SELinux AVC cache: %s, all CPUs "
                         "(/sys/fs/selinux/avc/cache_stats).",
                         fields[i].help);
                one(f, name, "counter", help,
                    *(const uint64_t *) ((const char *) c + fields[i].offset));
        }
}

int metrics_render(const MetricsSnapshot *s, char **ret, size_t *ret_len) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        render_denials(f, s);
        if (s->stats)
                render_stats(f, s->stats);
        if (s->has_db_bytes)
                one(f, "avcwatch_database_bytes", "gauge",
                    "Size of the database file (pages in use and free).", s->db_bytes);
        if (s->has_avc_cache)
                render_avc_cache(f, &s->avc_cache);
        family(f, "avcwatch_build_info", "gauge", "The daemon's version, always 1.");
        labelled(f, "avcwatch_build_info", "version", s->version, 1);
        if (ferror(f)) {
                fclose(f);
                free(buf);
                return -ENOMEM;
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

int avc_cache_stats_parse(const char *text, AvcCacheStats *ret) {
        static const struct {
                const char *name;
                size_t offset;
        } columns[] = {
                {"lookups", offsetof(AvcCacheStats, lookups)},
                {"hits", offsetof(AvcCacheStats, hits)},
                {"misses", offsetof(AvcCacheStats, misses)},
                {"allocations", offsetof(AvcCacheStats, allocations)},
                {"reclaims", offsetof(AvcCacheStats, reclaims)},
                {"frees", offsetof(AvcCacheStats, frees)},
        };
#define AVC_CACHE_COLUMNS_MAX 16
        ssize_t map[AVC_CACHE_COLUMNS_MAX]; /* column -> offset, -1 unknown */
        size_t n_columns = 0, n_rows = 0;
        AvcCacheStats sum = {};
        const char *p = text, *eol;

        eol = strchrnul(p, '\n');
        for (const char *w = p; w < eol;) {
                w += strspn(w, " \t");
                size_t n = strcspn(w, " \t\n");
                if (n == 0)
                        break;
                if (n_columns >= AVC_CACHE_COLUMNS_MAX)
                        return -EINVAL;
                map[n_columns] = -1;
                for (size_t i = 0; i < ELEMENTSOF(columns); i++)
                        if (strlen(columns[i].name) == n && strncmp(w, columns[i].name, n) == 0)
                                map[n_columns] = (ssize_t) columns[i].offset;
                n_columns++;
                w += n;
        }
        if (n_columns == 0)
                return -EINVAL;

        for (p = *eol ? eol + 1 : eol; *p; p = *eol ? eol + 1 : eol) {
                eol = strchrnul(p, '\n');
                if (p + strspn(p, " \t") == eol)
                        continue; /* a blank line */
                const char *w = p;
                for (size_t c = 0; c < n_columns; c++) {
                        char *end;
                        w += strspn(w, " \t");
                        if (w >= eol || *w < '0' || *w > '9')
                                return -EINVAL;
                        errno = 0;
                        unsigned long long v = strtoull(w, &end, 10);
                        if (errno != 0 || end == w || end > eol)
                                return -EINVAL;
                        if (map[c] >= 0)
                                *(uint64_t *) ((char *) &sum + map[c]) += v;
                        w = end;
                }
                if (w + strspn(w, " \t") != eol)
                        return -EINVAL;
                n_rows++;
        }
        if (n_rows == 0)
                return -EINVAL;
        *ret = sum;
        return 0;
}
