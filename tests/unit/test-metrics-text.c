/* SPDX-License-Identifier: MIT */
/* metrics-text: the Prometheus exposition of a snapshot, the escaping of hostile label values,
 * the kernel's AVC cache counters, and the endpoint's Listen= forms. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics-text.h"
#include "metrics.h"
#include "tests/unit/test.h"

static char *label(const char *s) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        metrics_write_label_value(f, s);
        fclose(f);
        return buf;
}

static void check_label(const char *in, const char *want) {
        char *got = label(in);
        CHECK_STREQ(got, want);
        free(got);
}

int main(void) {
        /* label values: backslash, quote, newline escaped; UTF-8 kept; other bytes as text */
        check_label("web", "web");
        check_label("a\"b", "a\\\"b");
        check_label("a\\b", "a\\\\b");
        check_label("a\nb", "a\\nb");
        check_label("x\"} 1\nevil{a=\"", "x\\\"} 1\\nevil{a=\\\"");
        check_label("caf\xc3\xa9", "caf\xc3\xa9");
        check_label("a\xff"
                    "b",
                    "a\\\\xffb");
        check_label("\xc0\xaf", "\\\\xc0\\\\xaf");            /* overlong '/' */
        check_label("\xed\xa0\x80", "\\\\xed\\\\xa0\\\\x80"); /* a surrogate */
        check_label(NULL, "");

        /* a snapshot */
        MetricsGroup containers[] = {
                {.name = (char *) "web\"\n", .image = (char *) "nginx", .count = 7},
                {.name = (char *) "db", .image = NULL, .count = 2}};
        MetricsGroup images[] = {{.name = (char *) "nginx", .count = 7},
                                 {.name = NULL, .count = 4}};
        MetricsGroup classes[] = {{.name = (char *) "file", .count = 10},
                                  {.name = (char *) "dir", .count = 3}};
        MetricsGroup namespaces[] = {{.name = (char *) "shop\"\n", .count = 6}};
        Stats st = {};
        st.losses.netlink_dropped = 5;
        st.losses.serials_missed = 4;
        st.source.records_malformed = 2;
        st.ingest.malformed = 1;
        st.pipeline.denials_coalesced = 9;
        st.api.tail_subscribers = 3;
        st.pipeline.new_denials = 2;
        st.pipeline.baseline_untracked = 1;
        st.n_engines = 1;
        snprintf(st.engines[0].name, sizeof(st.engines[0].name), "docker");
        st.engines[0].state = "connected";
        MetricsSnapshot s = {
                .stats = &st,
                .version = "1.2.3",
                .denials = 13,
                .containers = {.groups = containers, .n = 2, .other = 3, .unattributed = 1},
                .images = {.groups = images, .n = 2, .other = 2},
                .tclasses = {.groups = classes, .n = 2},
                .namespaces = {.groups = namespaces, .n = 1, .other = 3, .unattributed = 4},
                .triage = {{"escape", "te", 1}, {NULL, NULL, 12}},
                .n_triage = 2,
                .has_db_bytes = true,
                .db_bytes = 4096,
        };
        char *text = NULL;
        size_t len = 0;
        CHECK_RC(metrics_render(&s, &text, &len), 0);
        CHECK(len == strlen(text));
        static const char *const want[] = {
                "# HELP avcwatch_denials_total ",
                "# TYPE avcwatch_denials_total counter\n",
                "\navcwatch_denials_total{tclass=\"file\"} 10\n",
                "\navcwatch_denials_total{tclass=\"dir\"} 3\n",
                "\navcwatch_container_denials_total{container=\"web\\\"\\n\",image=\"nginx\"} 7\n",
                "\navcwatch_container_denials_total{container=\"db\",image=\"(unknown)\"} 2\n",
                "\navcwatch_container_denials_total{container=\"(unattributed)\",image=\"(unknown)"
                "\"} 1\n",
                "\navcwatch_container_denials_total{container=\"(other)\",image=\"(other)\"} 3\n",
                "\navcwatch_image_denials_total{image=\"nginx\"} 7\n",
                "\navcwatch_image_denials_total{image=\"(unknown)\"} 4\n",
                "\navcwatch_image_denials_total{image=\"(other)\"} 2\n",
                "\navcwatch_namespace_denials_total{namespace=\"shop\\\"\\n\"} 6\n",
                "\navcwatch_namespace_denials_total{namespace=\"(unknown)\"} 4\n",
                "\navcwatch_namespace_denials_total{namespace=\"(other)\"} 3\n",
                "# TYPE avcwatch_triage_denials_total counter\n",
                "\navcwatch_triage_denials_total{verdict=\"escape\",reason=\"te\"} 1\n",
                "\navcwatch_triage_denials_total{verdict=\"(unknown)\",reason=\"(unknown)\"} 12\n",
                "\navcwatch_new_denials_total 2\n",
                "\navcwatch_baseline_untracked_total 1\n",
                "\navcwatch_events_lost_total{cause=\"socket_dropped\"} 5\n",
                "\navcwatch_events_lost_total{cause=\"serial_missed\"} 4\n",
                "\navcwatch_events_lost_total{cause=\"unstored\"} 0\n",
                "\navcwatch_records_malformed_total 3\n",
                "\navcwatch_denials_coalesced_total 9\n",
                "\navcwatch_tail_subscribers 3\n",
                "\navcwatch_engine_connected{engine=\"docker\"} 1\n",
                "\navcwatch_database_bytes 4096\n",
                "\navcwatch_build_info{version=\"1.2.3\"} 1\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (!strstr(text, want[i])) {
                        fprintf(stderr, "missing: %s\n--- text:\n%s", want[i], text);
                        CHECK(false);
                }
        /* every sample line's family has HELP and TYPE, no class sum in (other) when all listed */
        CHECK(!strstr(text, "tclass=\"(other)\""));
        CHECK(!strstr(text, "avcwatch_kernel_avc_cache"));
        free(text);

        /* the kernel's AVC cache counters: a sample of selinuxfs, summed over the CPUs */
        {
                char path[512], buf[4096];
                const char *dir = getenv("AVCWATCH_TEST_DATA");
                snprintf(path, sizeof(path), "%s/selinuxfs/cache_stats", dir ? dir : ".");
                FILE *f = fopen(path, "re");
                CHECK(f);
                size_t n = fread(buf, 1, sizeof(buf) - 1, f);
                fclose(f);
                buf[n] = 0;
                AvcCacheStats c;
                CHECK_RC(avc_cache_stats_parse(buf, &c), 0);
                CHECK(c.lookups == 124456 && c.hits == 120900 && c.misses == 3556);
                CHECK(c.allocations == 3560 && c.reclaims == 2048 && c.frees == 2004);
                s.has_avc_cache = true;
                s.avc_cache = c;
                CHECK_RC(metrics_render(&s, &text, &len), 0);
                CHECK(strstr(text, "\navcwatch_kernel_avc_cache_lookups_total 124456\n"));
                CHECK(strstr(text, "# TYPE avcwatch_kernel_avc_cache_hits_total counter\n"));
                free(text);
                /* columns found by name, whatever their order; junk refused */
                CHECK_RC(avc_cache_stats_parse("hits lookups\n3 4\n", &c), 0);
                CHECK(c.hits == 3 && c.lookups == 4 && c.misses == 0);
                CHECK_RC(avc_cache_stats_parse("lookups hits\n1\n", &c), -EINVAL);
                CHECK_RC(avc_cache_stats_parse("lookups hits\n1 2 3\n", &c), -EINVAL);
                CHECK_RC(avc_cache_stats_parse("lookups hits\n", &c), -EINVAL);
                CHECK_RC(avc_cache_stats_parse("", &c), -EINVAL);
                CHECK_RC(avc_cache_stats_parse("lookups\n-1\n", &c), -EINVAL);
        }

        /* Listen= */
        {
                struct sockaddr_storage ss;
                socklen_t sl;
                CHECK_RC(metrics_parse_listen("127.0.0.1:9774", &ss, &sl), 0);
                CHECK(ss.ss_family == AF_INET);
                CHECK_RC(metrics_parse_listen("[::1]:9774", &ss, &sl), 0);
                CHECK(ss.ss_family == AF_INET6);
                CHECK_RC(metrics_parse_listen("/run/avcwatch/metrics.sock", &ss, &sl), 0);
                CHECK(ss.ss_family == AF_UNIX);
                static const char *const bad[] = {"",
                                                  "9774",
                                                  ":9774",
                                                  "127.0.0.1:",
                                                  "127.0.0.1:0",
                                                  "127.0.0.1:65536",
                                                  "localhost:9774",
                                                  "127.0.0.1:97x",
                                                  "[::1:9774",
                                                  "relative/path"};
                for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                        CHECK_RC(metrics_parse_listen(bad[i], &ss, &sl), -EINVAL);
        }
        return 0;
}
