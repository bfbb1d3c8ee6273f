/* SPDX-License-Identifier: MIT */
/* The importer on a real store: a log fed in chunks of any size (1 byte, odd sizes, whole) gives
 * the same denials and counts, a line cut between chunks is joined, an over-long line is counted
 * malformed without losing the next ones, the last line without a newline counts, importing the
 * same log again stores nothing new, and a client leaving mid-file keeps what it completed. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "importer.h"
#include "macro.h"
#include "store.h"
#include "tests/unit/test.h"

static char *tmpdir;

typedef struct Harness {
        Store *store;
        uint64_t store_errors;
        unsigned commits;
} Harness;

/* What the daemon's pipeline does, short: the domain filter, then the store. */
static int keep(void *userdata, Denial *d, DenialOrigin origin) {
        CHECK_RC(origin, DENIAL_IMPORT);
        Harness *h = userdata;
        if (!d->source_type || strcmp(d->source_type, "container_t") != 0)
                return IMPORT_FILTERED;
        int r = store_add(h->store, d);
        if (r < 0) {
                h->store_errors++;
                return IMPORT_LOST;
        }
        return r > 0 ? IMPORT_STORED : IMPORT_DUPLICATE;
}

static int commit(void *userdata) {
        Harness *h = userdata;
        h->commits++;
        int r = store_commit(h->store, NULL);
        if (r < 0)
                h->store_errors++;
        return r < 0 ? r : 0;
}

static uint64_t store_errors(void *userdata) {
        return ((Harness *) userdata)->store_errors;
}

static DenialSink sink_of(Harness *h) {
        return (DenialSink){
                .keep = keep, .commit = commit, .store_errors = store_errors, .userdata = h};
}

/* 40 events: whole ones (AVC SYSCALL PROCTITLE EOE), lone AVCs, a non-container one, a
 * journald line without a stamp; the last line has no newline. */
static char *make_log(void) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        CHECK(f);
        for (unsigned i = 0; i < 40; i++) {
                const char *type = i % 10 == 9 ? "unconfined_t" : "container_t";
                char stamp[64];
                snprintf(stamp, sizeof(stamp), "audit(1713603292.%03u:%u)", i, 2000 + i);
                fprintf(f,
                        "type=AVC msg=%s: avc:  denied  { read } for  pid=%u comm=\"cat\" "
                        "name=\"f%u\" scontext=system_u:system_r:%s:s0:c1,c2 "
                        "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n",
                        stamp, 100 + i, i, type);
                if (i % 2 == 0)
                        fprintf(f,
                                "type=SYSCALL msg=%s: arch=c000003e syscall=257 success=no "
                                "exit=-13 a0=ffffff9c a1=7ffd0000 a2=0 a3=0 items=1 ppid=1 "
                                "pid=%u auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 "
                                "egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"cat\" "
                                "exe=\"/bin/cat\" key=(null)\ntype=PROCTITLE msg=%s: "
                                "proctitle=636174\ntype=EOE msg=%s: \n",
                                stamp, 100 + i, stamp, stamp);
                if (i == 20)
                        fputs("host audit[1]: AVC avc:  denied  { read } for "
                              "pid=1 comm=\"x\" scontext=a:b:container_t:s0 tcontext=a:b:c:s0 "
                              "tclass=file\n",
                              f);
        }
        fclose(f);
        CHECK(size > 0 && buf[size - 1] == '\n');
        buf[size - 1] = 0; /* the last line without its newline */
        return buf;
}

static void run(const char *path, const char *log, size_t chunk, ImportCounts *ret) {
        Harness h = {};
        Importer *im;

        CHECK_RC(store_open(path, &h.store), 0);
        DenialSink sink = sink_of(&h);
        CHECK_RC(importer_new(&sink, &im), 0);
        size_t len = strlen(log);
        for (size_t o = 0; o < len; o += chunk)
                CHECK_RC(importer_feed(im, log + o, MIN(chunk, len - o)), 0);
        CHECK_RC(importer_finish(im), 0);
        CHECK(h.commits >= 1);
        importer_counts(im, ret);
        importer_free(im);
        store_free(h.store);
}

int main(void) {
        _cleanup_(freep) char *log = make_log();
        char path[128];
        ImportCounts first, k;

        tmpdir = fixture_tmpdir("importer");

        /* The same log in chunks of every kind of size: the same counts, fresh each time. */
        const size_t chunks[] = {strlen(log), 1, 7, 100, 4096};
        for (size_t i = 0; i < ELEMENTSOF(chunks); i++) {
                snprintf(path, sizeof(path), "%s/chunks-%zu.db", tmpdir, i);
                run(path, log, chunks[i], &k);
                if (i == 0)
                        first = k;
                CHECK_RC(k.bytes, strlen(log));
                CHECK_RC(k.records, 40 + 20 * 3 + 1);
                CHECK_RC(k.malformed, 0);
                CHECK_RC(k.unstamped, 1);
                CHECK_RC(k.outcomes[IMPORT_STORED], 36);
                CHECK_RC(k.outcomes[IMPORT_FILTERED], 4);
                CHECK_RC(k.outcomes[IMPORT_DUPLICATE], 0);
                CHECK_RC(k.store_errors, 0);
                CHECK(memcmp(&k, &first, sizeof(k)) == 0);
        }

        /* Again into the same store: all held already. */
        snprintf(path, sizeof(path), "%s/chunks-0.db", tmpdir);
        run(path, log, 333, &k);
        CHECK_RC(k.outcomes[IMPORT_STORED], 0);
        CHECK_RC(k.outcomes[IMPORT_DUPLICATE], 36);

        /* An over-long line among others: counted once, the lines around it are kept. */
        size_t big = IMPORTER_LINE_MAX + 10;
        char *with_long = malloc(strlen(log) + big + 2);
        CHECK(with_long);
        memset(with_long, 'x', big);
        with_long[big] = '\n';
        strcpy(with_long + big + 1, log);
        snprintf(path, sizeof(path), "%s/long.db", tmpdir);
        run(path, with_long, 5000, &k);
        CHECK_RC(k.malformed, 1);
        CHECK_RC(k.outcomes[IMPORT_STORED], 36);
        free(with_long);

        /* A client that leaves half way: the events it completed are kept. */
        Harness h = {};
        Importer *im;
        snprintf(path, sizeof(path), "%s/partial.db", tmpdir);
        CHECK_RC(store_open(path, &h.store), 0);
        DenialSink sink = sink_of(&h);
        CHECK_RC(importer_new(&sink, &im), 0);
        CHECK_RC(importer_feed(im, log, strlen(log) / 2), 0);
        importer_free(im);
        CHECK_RC(store_commit(h.store, NULL) > 0, 1);
        StoreCounts c;
        CHECK_RC(store_counts(h.store, &c), 0);
        CHECK(c.denials > 10 && c.denials < 36);
        store_free(h.store);

        /* journalctl's text form: stored (dated, with a serial from the text); again: nothing
         * added. */
        const char *jtext =
                "Jul 20 20:55:38 host audit[7568]: AVC avc:  denied  { read } for  pid=7 "
                "comm=\"cat\" name=\"a\" scontext=system_u:system_r:container_t:s0:c1,c2 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n"
                "Jul 20 20:55:38 host audit[7568]: AVC avc:  denied  { read } for  pid=7 "
                "comm=\"cat\" name=\"b\" scontext=system_u:system_r:container_t:s0:c1,c2 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n"
                "Jul 20 20:55:39.250000 host audit[7568]: AVC avc:  denied  { read } for  pid=7 "
                "comm=\"cat\" name=\"a\" scontext=system_u:system_r:container_t:s0:c1,c2 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n";
        snprintf(path, sizeof(path), "%s/journalctl.db", tmpdir);
        run(path, jtext, 100, &k);
        CHECK_RC(k.unstamped, 0);
        CHECK_RC(k.outcomes[IMPORT_STORED], 3);
        run(path, jtext, 7, &k);
        CHECK_RC(k.outcomes[IMPORT_STORED], 0);
        CHECK_RC(k.outcomes[IMPORT_DUPLICATE], 3);

        CHECK_RC(importer_new(NULL, &im), -EINVAL);
        fixture_tmpdir_remove(tmpdir);
        return 0;
}
