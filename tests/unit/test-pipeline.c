/* SPDX-License-Identifier: MIT */
/* The pipeline on a real store: what DenialSink.keep says for each kind of denial (stored,
 * filtered, expired, duplicate, folded into a storm on live input), its counters after a commit,
 * and an import through the pipeline's importer factory, which keeps every row. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coalescer.h"
#include "pipeline.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/test.h"

typedef struct Harness {
        char *dir;
        sd_event *event;
        Config config;
        Store *store;
        Registry *registry;
        Attributor *attributor;
        Stats stats;
        Pipeline *pipeline;
} Harness;

static void harness_open(Harness *h, const char *name, bool live) {
        *h = (Harness){.dir = fixture_tmpdir(name)};
        _cleanup_(freep) char *db = fixture_path(h->dir, "avcwatch.db");
        CHECK_RC(sd_event_new(&h->event), 0);
        CHECK_RC(config_init_default(&h->config), 0);
        CHECK_RC(store_open(db, &h->store), 0);
        CHECK_RC(registry_new(h->store, &h->registry), 0);
        CHECK_RC(attributor_new("/proc", &h->attributor), 0);
        attributor_set_registry(h->attributor, h->registry);
        CHECK_RC(pipeline_new(h->event, &h->config, live, h->store, h->attributor, h->registry,
                              NULL, &h->stats.pipeline, &h->stats.losses, &h->stats.api,
                              &h->pipeline),
                 0);
}

static void harness_close(Harness *h) {
        pipeline_flush(h->pipeline);
        pipeline_free(h->pipeline);
        attributor_free(h->attributor);
        registry_free(h->registry);
        store_free(h->store);
        config_done(&h->config);
        sd_event_unref(h->event);
        fixture_tmpdir_remove(h->dir);
}

static int keep(Harness *h, Denial *d, DenialOrigin origin) {
        const DenialSink *sink = pipeline_sink(h->pipeline);
        return sink->keep(sink->userdata, d, origin);
}

static void test_outcomes(void) {
        Harness h;
        int64_t now_ms = (int64_t) time(NULL) * 1000;

        harness_open(&h, "pipeline", false);
        Denial d = fixture_denial(now_ms, 1);
        CHECK_RC(keep(&h, &d, DENIAL_LIVE), IMPORT_STORED);
        set_string(&d.source_type, "unconfined_t");
        free(d.target_mcs);
        d.target_mcs = NULL;
        CHECK_RC(keep(&h, &d, DENIAL_LIVE), IMPORT_FILTERED);
        denial_done(&d);
        CHECK_RC(pipeline_commit(h.pipeline), 0);
        CHECK_RC(h.stats.pipeline.denials_seen, 2);
        CHECK_RC(h.stats.pipeline.denials_filtered, 1);
        CHECK_RC(h.stats.pipeline.denials_stored, 1);

        /* the same verdict again: held already */
        d = fixture_denial(now_ms, 1);
        CHECK_RC(keep(&h, &d, DENIAL_IMPORT), IMPORT_DUPLICATE);
        denial_done(&d);

        /* older than MaxAge= */
        h.config.max_age_ms = 24 * 3600 * 1000;
        d = fixture_denial(FIXTURE_TIME_MS, 2);
        CHECK_RC(keep(&h, &d, DENIAL_BACKFILL), IMPORT_EXPIRED);
        denial_done(&d);
        CHECK_RC(h.stats.pipeline.denials_expired, 1);
        CHECK_RC(h.stats.pipeline.store_errors, 0);
        CHECK(!h.stats.pipeline.store_failing);
        harness_close(&h);
}

/* Live input folds a storm: the first COALESCE_FREE of a second are rows, the rest one summary
 * that carries their number. */
static void test_storm(void) {
        Harness h;
        int64_t now_ms = (int64_t) time(NULL) * 1000;
        unsigned stored = 0, folded = 0;

        harness_open(&h, "pipeline-storm", true);
        for (unsigned i = 0; i < 20; i++) {
                Denial d = fixture_denial(now_ms - now_ms % 1000, 100 + i);
                d.pid = -1; /* not asked of /proc */
                int r = keep(&h, &d, DENIAL_LIVE);
                stored += r == IMPORT_STORED;
                folded += r == IMPORT_FOLDED;
                denial_done(&d);
        }
        CHECK_RC(stored, COALESCE_FREE);
        CHECK_RC(folded, 20 - COALESCE_FREE);
        pipeline_flush(h.pipeline);
        CHECK_RC(h.stats.pipeline.denials_stored, COALESCE_FREE + 1);
        CHECK_RC(h.stats.pipeline.denials_stored + h.stats.pipeline.denials_coalesced, 20);
        harness_close(&h);
}

/* An import through the importer the server gets from the pipeline: every row kept. */
static void test_import(void) {
        Harness h;
        Importer *im;
        ImportCounts k;
        char line[512];
        int64_t now_s = (int64_t) time(NULL);

        harness_open(&h, "pipeline-import", true);
        CHECK_RC(pipeline_new_importer(h.pipeline, &im), 0);
        for (unsigned i = 0; i < 20; i++) {
                int n = snprintf(line, sizeof(line),
                                 "type=AVC msg=audit(%lld.000:%u): avc:  denied  { read } for  "
                                 "pid=7 comm=\"cat\" name=\"f\" "
                                 "scontext=system_u:system_r:container_t:s0:c1,c2 "
                                 "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n",
                                 (long long) now_s, 500 + i);
                CHECK_RC(importer_feed(im, line, (size_t) n), 0);
        }
        CHECK_RC(importer_finish(im), 0);
        importer_counts(im, &k);
        CHECK_RC(k.records, 20);
        CHECK_RC(k.outcomes[IMPORT_STORED], 20); /* an import is never folded */
        CHECK_RC(k.outcomes[IMPORT_FOLDED], 0);
        CHECK_RC(k.store_errors, 0);
        importer_free(im);
        CHECK_RC(h.stats.pipeline.denials_stored, 20);
        harness_close(&h);
}

int main(void) {
        test_outcomes();
        test_storm();
        test_import();
        return 0;
}
