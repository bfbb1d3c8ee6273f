/* SPDX-License-Identifier: MIT */
/* The bytes of a Query page, as the daemon sends them, against pages written by the code before
 * the bulk path was made faster (avcwatch a670b48): the escaper's runs, the raw codec's stamps and
 * buffers, the writer's pieces and the rows' lent strings must not change one byte. The rows hold
 * what those paths treat apart: raw text with the event's stamp many times and a look-alike, the
 * marker byte itself, quotes, backslashes, controls, DEL, invalid UTF-8, C1 controls, bidi and
 * line separators, strings longer than the query's string cache keeps, and a raw text of 80 KiB
 * (more than the decoder keeps between calls), the last compared by length and hash.
 *
 * Also: the rows read with only the JSON's fields (STORE_QUERY_JSON_FIELDS, what Query and Tail
 * ask for) write the same bytes as full rows.
 *
 * `test-query-page --print DIR` writes the pages instead (how the expected files were made). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "denial-json.h"
#include "fixtures.h"
#include "json-writer.h"
#include "macro.h"
#include "method.h"
#include "store.h"
#include "tests/unit/test.h"
#include "verdict.h"

#ifndef PAGE_FLAGS
#define PAGE_FLAGS STORE_QUERY_JSON_FIELDS
#endif

#define LONG_RAW_RECORDS 640 /* about 80 KiB of raw text */

static const int64_t t0 = 1713603292240;

static char *long_raw(int64_t time_ms, uint64_t serial) {
        size_t size = LONG_RAW_RECORDS * 256, n = 0;
        char *raw = malloc(size);
        CHECK(raw);
        for (unsigned i = 0; i < LONG_RAW_RECORDS; i++)
                n += (size_t) snprintf(raw + n, size - n,
                                       "%stype=PATH msg=audit(%" PRIi64 ".%03" PRIi64 ":%" PRIu64
                                       "): item=%u name=\"/srv/data/\\\"%u\\\"\\\\x\" "
                                       "inode=%u dev=00:2f mode=0100644\ttab=%u",
                                       i > 0 ? "\n" : "", time_ms / 1000, time_ms % 1000, serial, i,
                                       i * 7919 % 10007, 4000000 + i, i % 9);
        return raw;
}

/* Every row of the golden page, in time order. */
static size_t make_rows(Denial *d) {
        size_t n = 0;
        int64_t t = t0;
        uint64_t serial = 1088;

        /* 0: the stamp in every record, a look-alike of another event, hostile strings, triage */
        d[n] = fixture_denial(t, serial);
        set_string(&d[n].comm, "\x1b[31mevil\"'\\ \x7f");
        set_string(&d[n].path, "/tmp/a \"quoted\" 'path'\n\t\r\b\f\x1b]0;title\x07");
        set_string(&d[n].raw,
                   "type=AVC msg=audit(1713603292.240:1088): avc:  denied  { write } for  "
                   "pid=21476 comm=\"bash\" name=\"root\"\n"
                   "type=SYSCALL msg=audit(1713603292.240:1088): (1713603292.240:1088) "
                   "audit(1713603292.24:1088) (1713603292.240:1089)\n"
                   "type=PROCTITLE msg=audit(1713603292.240:1088): proctitle=2F62696E2F7368");
        d[n].permissive = 1;
        d[n].has_container = true;
        fixture_container(&d[n].container, "aaaa0000", "web", "centos:latest", "docker", NULL);
        d[n].attribution = ATTRIBUTION_PID;
        d[n].triaged = true;
        d[n].reason = TRIAGE_REASON_BOOLEAN;
        d[n].verdict = TRIAGE_VERDICT_BOOLEAN;
        set_string(&d[n].booleans, "container_manage_cgroup virt_use_nfs");
        n++;

        /* 1: invalid UTF-8, C1 controls, bidi, line separators, valid non-ASCII */
        d[n] = fixture_denial(t += 37, ++serial);
        set_string(&d[n].comm, "\xff\xfe\xc0\xaf");
        set_string(&d[n].name, "caf\xc3\xa9 \xf0\x9f\x98\x80");
        set_string(&d[n].path, "/x/\xe2\x80\xaetxt.exe\xe2\x80\xa8\xc2\x9b"
                               "2J\xed\xa0\x80\xe2\x82");
        char *raw = xasprintf("type=AVC msg=audit(%" PRIi64 ".%03" PRIi64 ":%" PRIu64
                              "): comm=\"\xff\xfe\" name=\"caf\xc3\xa9\" \xe2\x80\xae\xc2\x9b\x7f",
                              t / 1000, t % 1000, serial);
        free(d[n].raw);
        d[n].raw = raw;
        d[n].triaged = true;
        d[n].reason = TRIAGE_REASON_TE;
        d[n].verdict = TRIAGE_VERDICT_ESCAPE;
        n++;

        /* 2: the marker byte in the text itself: kept as it is, the stamp not replaced */
        d[n] = fixture_denial(t += 37, ++serial);
        raw = xasprintf("type=AVC msg=audit(%" PRIi64 ".%03" PRIi64 ":%" PRIu64
                        "): \x01 (\x01) marker",
                        t / 1000, t % 1000, serial);
        free(d[n].raw);
        d[n].raw = raw;
        n++;

        /* 3: unknowns: no pid, permissive unknown, coalesced, no raw text */
        d[n] = fixture_denial(t += 37, ++serial);
        d[n].pid = -1;
        d[n].permissive = -1;
        d[n].count = 5;
        free(d[n].raw);
        d[n].raw = NULL;
        n++;

        /* 4: empty raw text, empty MCS (null), a target container */
        d[n] = fixture_denial(t += 37, ++serial);
        set_string(&d[n].raw, "");
        set_string(&d[n].mcs, "");
        set_string(&d[n].target_mcs, "c1,c2");
        d[n].has_target_container = true;
        fixture_container(&d[n].target_container, "bbbb1111", "db", "postgres:16", "podman",
                          "pod-a");
        d[n].attribution = ATTRIBUTION_MCS;
        n++;

        /* 5..12: repeated strings (the cache's hits), strings longer than it keeps, the process
         * fields the JSON does not carry */
        for (int i = 0; i < 8; i++) {
                d[n] = fixture_denial(t += 37, ++serial);
                set_string(&d[n].comm, i % 2 ? "nginx" : "bash");
                char *path = xasprintf("/very/long/%0200d/%d", i % 3, i);
                free(d[n].path);
                d[n].path = path;
                d[n].ppid = 100 + i;
                d[n].uid = i;
                d[n].syscall = 257;
                set_string(&d[n].cwd, i % 2 ? "/" : "/srv");
                set_string(&d[n].proctitle, "nginx -g daemon off;");
                set_string(&d[n].node, "node-1");
                n++;
        }

        /* last: 80 KiB of raw text */
        d[n] = fixture_denial(t += 37, ++serial);
        free(d[n].raw);
        d[n].raw = long_raw(t, serial);
        n++;
        return n;
}

static uint64_t fnv1a(const char *s, size_t len) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char) s[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* The page of every row, as Query writes it ("[" first, the rows, "]" after the last): *ret_last
 * is where the last row begins. */
static char *page_text(Store *s, StoreQueryFlags flags, size_t n, size_t *ret_last) {
        _cleanup_(query_page_done) QueryPage page = {.no_raw = flags & STORE_QUERY_NO_RAW};
        StorePage more;

        page.pb = printbuf_new();
        CHECK(page.pb);
        CHECK(printbuf_memappend(page.pb, "[", 1) == 1);
        store_set_query_budget(s, UINT64_MAX);
        CHECK_RC(store_query_flags(s, NULL, false, NULL, 0, flags, query_page_add, &page, &more),
                 0);
        CHECK(!more.more);
        CHECK_RC(page.rows, n);
        CHECK(printbuf_memappend(page.pb, "]", 1) == 1);
        char *text = xstrdup(page.pb->buf);
        CHECK(strlen(text) == (size_t) page.pb->bpos);
        *ret_last = page.starts[n - 1];
        printbuf_free(page.pb);
        return text;
}

int main(int argc, char *argv[]) {
        char *dir = fixture_tmpdir("query-page");
        _cleanup_(freep) char *path = fixture_path(dir, "store.db");
        const char *print_dir = argc == 3 && strcmp(argv[1], "--print") == 0 ? argv[2] : NULL;
        Denial d[32];
        Store *s;

        size_t n = make_rows(d);
        CHECK(n <= ELEMENTSOF(d));
        CHECK_RC(store_open(path, &s), 0);
        fixture_store_all(s, d, n, 5);
        for (size_t i = 0; i < n; i++)
                denial_done(&d[i]);

        /* Each page's rows but the last, byte for byte; the last (the long one) by length and
         * hash, in long-rows.txt. */
        static const struct {
                const char *file;
                StoreQueryFlags flags;
        } pages[] = {
                {"page.json", PAGE_FLAGS},
                {"page-noraw.json", PAGE_FLAGS | STORE_QUERY_NO_RAW},
        };
        _cleanup_(freep) char *long_rows = NULL;
        size_t long_rows_len = 0;
        FILE *out = NULL;
        if (print_dir) {
                _cleanup_(freep) char *p = xasprintf("%s/long-rows.txt", print_dir);
                out = fopen(p, "we");
                CHECK(out);
        } else
                long_rows = fixture_data("query-page", "long-rows.txt", &long_rows_len);

        for (size_t i = 0; i < ELEMENTSOF(pages); i++) {
                size_t last;
                _cleanup_(freep) char *text = page_text(s, pages[i].flags, n, &last);
                size_t long_len = strlen(text + last) - 1; /* without the closing ']' */
                uint64_t long_hash = fnv1a(text + last, long_len);
                char line[128];
                snprintf(line, sizeof(line), "%s %zu %016" PRIx64 "\n", pages[i].file, long_len,
                         long_hash);
                if (print_dir) {
                        _cleanup_(freep) char *p = xasprintf("%s/%s", print_dir, pages[i].file);
                        FILE *f = fopen(p, "we");
                        CHECK(f);
                        CHECK(fwrite(text, 1, last, f) == last);
                        CHECK(fclose(f) == 0);
                        fputs(line, out);
                        continue;
                }
                size_t want_len;
                _cleanup_(freep) char *want = fixture_data("query-page", pages[i].file, &want_len);
                if (want_len != last || memcmp(want, text, last) != 0) {
                        size_t k = 0;
                        while (k < want_len && k < last && want[k] == text[k])
                                k++;
                        fprintf(stderr, "%s differs at byte %zu: \"%.60s\" expected \"%.60s\"\n",
                                pages[i].file, k, text + k, want + k);
                        return 1;
                }
                if (!strstr(long_rows, line)) {
                        fprintf(stderr, "the long row of %s is not as expected: %s", pages[i].file,
                                line);
                        return 1;
                }
        }
        if (out)
                CHECK(fclose(out) == 0);

        /* Only the JSON's fields read, or all of them: the same bytes. */
        size_t last_json, last_all;
        _cleanup_(freep) char *json = page_text(s, STORE_QUERY_JSON_FIELDS, n, &last_json);
        _cleanup_(freep) char *all = page_text(s, 0, n, &last_all);
        CHECK_STREQ(json, all);
        store_free(s);
        fixture_tmpdir_remove(dir);
        return 0;
}
