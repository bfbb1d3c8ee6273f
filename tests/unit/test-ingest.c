/* SPDX-License-Identifier: MIT */
/* The one parse-and-assemble path: the same counting rules for every input (blank lines are not
 * records, an unreadable line is a malformed record, ignored and unstamped records do not reach
 * the assembler), the backfill's time window, events released to the sink with the sink's
 * outcomes counted, and what a failure of the sink means for each origin. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "macro.h"
#include "tests/unit/test.h"

typedef struct Sink {
        unsigned kept, commits, policy_changes;
        int64_t last_time_ms;
        uint64_t last_serial;
        char last_comm[32];
        int fail; /* < 0: keep fails with it */
        int outcome;
        DenialOrigin origin;
} Sink;

static int keep(void *userdata, Denial *d, DenialOrigin origin) {
        Sink *s = userdata;
        s->kept++;
        s->origin = origin;
        s->last_time_ms = d->time_ms;
        s->last_serial = d->serial;
        snprintf(s->last_comm, sizeof(s->last_comm), "%s", d->comm ? d->comm : "");
        return s->fail < 0 ? s->fail : s->outcome;
}

static void policy_changed(void *userdata) {
        Sink *s = userdata;
        s->policy_changes++;
}

static DenialSink sink_of(Sink *s) {
        return (DenialSink){.keep = keep, .policy_changed = policy_changed, .userdata = s};
}

static int feed(Ingest *i, const char *line) {
        return ingest_line(line, line ? strlen(line) : 0, i);
}

static const char *avc(char *buf, size_t n, unsigned sec, unsigned serial, const char *comm) {
        snprintf(buf, n,
                 "type=AVC msg=audit(%u.000:%u): avc:  denied  { read } for  pid=7 comm=\"%s\" "
                 "name=\"f\" scontext=system_u:system_r:container_t:s0:c1,c2 "
                 "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0",
                 sec, serial, comm);
        return buf;
}

static void test_counting(void) {
        Sink s = {.outcome = IMPORT_STORED};
        DenialSink sink = sink_of(&s);
        IngestStats st = {};
        Ingest *i;
        char line[512];

        CHECK_RC(ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION, .origin = DENIAL_LIVE},
                            &sink, &st, &i),
                 0);
        CHECK_RC(feed(i, avc(line, sizeof(line), 1713603292, 10, "cat")), 0);
        CHECK_RC(feed(i, "type=EOE msg=audit(1713603292.000:10): "), 0);
        CHECK_RC(s.kept, 1);
        CHECK_STREQ(s.last_comm, "cat");
        CHECK_RC(s.origin, DENIAL_LIVE);
        CHECK_RC(feed(i, "   "), 0); /* blank: not a record */
        CHECK_RC(feed(i, NULL), 0);  /* unreadable: a malformed record */
        CHECK_RC(feed(i, "garbage that is no record"), 0);
        CHECK_RC(feed(i, "type=EXECVE msg=audit(1713603292.000:11): argc=1 a0=\"ls\""), 0);
        /* journald without journalctl's time prefix: nothing to date it by */
        CHECK_RC(feed(i, "host audit[1]: AVC avc:  denied  { read } for pid=1 "
                         "comm=\"x\" scontext=a:b:container_t:s0 tcontext=a:b:c:s0 tclass=file"),
                 0);
        CHECK_RC(feed(i, avc(line, sizeof(line), 1713603293, 12, "ls")), 0);
        /* the EXECVE is part of its event (raw text), and that event has no verdict */
        CHECK_RC(ingest_pending(i), 2);
        CHECK_RC(ingest_flush(i), 0);
        CHECK_RC(ingest_pending(i), 0);
        CHECK_RC(s.kept, 2);
        CHECK_RC(st.records, 7);
        CHECK_RC(st.malformed, 2);
        CHECK_RC(st.ignored, 1);
        CHECK_RC(st.unstamped, 1);
        CHECK_RC(st.outside, 0);
        CHECK_RC(st.denials, 2);
        CHECK_RC(st.outcomes[IMPORT_STORED], 2);
        CHECK_RC(st.evicted, 0);
        ingest_free(i);
}

/* journalctl's text form: dated with the reference's year, keyed by a serial from its text. */
static void test_journalctl_text(void) {
        Sink s = {.outcome = IMPORT_STORED};
        DenialSink sink = sink_of(&s);
        IngestStats st = {};
        Ingest *i;
        const char *a = "Jul 20 20:55:38 host audit[7568]: AVC avc:  denied  { read } for  pid=7 "
                        "comm=\"cat\" scontext=system_u:system_r:container_t:s0:c1,c2 "
                        "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0";
        const char *b = "Jul 20 20:55:38 host audit[7568]: AVC avc:  denied  { write } for  pid=7 "
                        "comm=\"cat\" scontext=system_u:system_r:container_t:s0:c1,c2 "
                        "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0";
        uint64_t serial_a;

        setenv("TZ", "UTC", 1);
        tzset();
        CHECK_RC(ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION,
                                             .origin = DENIAL_IMPORT,
                                             .year_ref_ms = INT64_C(1721520000000)},
                            &sink, &st, &i),
                 0);
        CHECK_RC(feed(i, a), 0);
        CHECK_RC(ingest_flush(i), 0);
        CHECK_RC(s.kept, 1);
        CHECK(s.last_time_ms == INT64_C(1721508938000));
        CHECK(s.last_serial >= SYNTHETIC_SERIAL_BASE);
        serial_a = s.last_serial;
        CHECK_RC(feed(i, b), 0);
        CHECK_RC(ingest_flush(i), 0);
        CHECK_RC(s.kept, 2);
        CHECK(s.last_serial != serial_a); /* other text, same second: another key */
        CHECK_RC(feed(i, a), 0);
        CHECK_RC(ingest_flush(i), 0);
        CHECK(s.last_serial == serial_a); /* the same text: the same key (a re-import) */
        CHECK_RC(st.unstamped, 0);
        CHECK_RC(st.denials, 3);
        ingest_free(i);
}

static void test_window(void) {
        Sink s = {.outcome = IMPORT_DUPLICATE};
        DenialSink sink = sink_of(&s);
        IngestStats st = {};
        Ingest *i;
        char line[512];

        CHECK_RC(ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION,
                                             .origin = DENIAL_BACKFILL,
                                             .windowed = true,
                                             .since_ms = 2000000000000,
                                             .until_ms = 2000000010000},
                            &sink, &st, &i),
                 0);
        CHECK_RC(feed(i, avc(line, sizeof(line), 1999999999, 1, "before")), 0);
        CHECK_RC(feed(i, avc(line, sizeof(line), 2000000000, 2, "first")), 0);
        CHECK_RC(feed(i, avc(line, sizeof(line), 2000000010, 3, "last")), 0);
        CHECK_RC(feed(i, avc(line, sizeof(line), 2000000011, 4, "after")), 0);
        CHECK_RC(feed(i, "----"), 0); /* a separator has no time: not in the window */
        CHECK_RC(ingest_flush(i), 0);
        CHECK_RC(s.kept, 2);
        CHECK_STREQ(s.last_comm, "last");
        CHECK_RC(s.origin, DENIAL_BACKFILL);
        CHECK_RC(st.records, 5);
        CHECK_RC(st.outside, 2);
        CHECK_RC(st.outcomes[IMPORT_DUPLICATE], 2);
        ingest_free(i);
}

/* A sink that fails: the live input stops, the backfill goes on, an import stops and keeps
 * saying so. */
static void test_errors(void) {
        char line[512];
        const struct {
                DenialOrigin origin;
                int first, next;
        } cases[] = {
                {DENIAL_LIVE, -ENOMEM, 0},
                {DENIAL_BACKFILL, 0, 0},
                {DENIAL_IMPORT, -ENOMEM, -ENOMEM},
        };

        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                Sink s = {.fail = -ENOMEM};
                DenialSink sink = sink_of(&s);
                IngestStats st = {};
                Ingest *i;

                CHECK_RC(ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION,
                                                     .origin = cases[k].origin},
                                    &sink, &st, &i),
                         0);
                CHECK_RC(feed(i, avc(line, sizeof(line), 1713603292, 1, "a")), 0);
                CHECK_RC(feed(i, "type=EOE msg=audit(1713603292.000:1): "), cases[k].first);
                CHECK_RC(ingest_error(i), -ENOMEM);
                CHECK_RC(feed(i, "type=EXECVE msg=audit(1713603292.000:2): argc=1 a0=\"ls\""),
                         cases[k].next);
                CHECK_RC(st.denials, 1);
                CHECK_RC(st.outcomes[IMPORT_STORED], 0);
                ingest_free(i);
        }
}

/* Clock mode on a loop: a lone AVC is released by the ingest's own timer at its deadline. */
static void test_clock(void) {
        Sink s = {.outcome = IMPORT_STORED};
        DenialSink sink = sink_of(&s);
        IngestStats st = {};
        sd_event *e = NULL;
        Ingest *i;
        char line[512];

        CHECK_RC(sd_event_new(&e), 0);
        CHECK_RC(ingest_new(&(IngestOptions){.mode = ASSEMBLER_CLOCK,
                                             .origin = DENIAL_LIVE,
                                             .event = e},
                            &sink, &st, &i),
                 0);
        CHECK_RC(feed(i, avc(line, sizeof(line), 1713603292, 1, "a")), 0);
        CHECK_RC(ingest_pending(i), 1);
        for (unsigned n = 0; n < 100 && s.kept == 0; n++)
                CHECK(sd_event_run(e, 100 * 1000) >= 0);
        CHECK_RC(s.kept, 1);
        CHECK_RC(ingest_pending(i), 0);
        ingest_free(i);
        sd_event_unref(e);
}

/* MAC_POLICY_LOAD and MAC_CONFIG_CHANGE on the live input tell the sink (triage reads the policy
 * again); the same records in history (backfill, import) do not. */
static void test_policy_change(void) {
        static const char *const lines[] = {
                "type=MAC_POLICY_LOAD msg=audit(1713603292.100:20): auid=4294967295 ses=4294967295 "
                "lsm=selinux res=1",
                "type=MAC_CONFIG_CHANGE msg=audit(1713603292.200:21): bool=container_use_nfs val=1 "
                "old_val=0 auid=0 ses=1",
                "type=EXECVE msg=audit(1713603292.300:22): argc=1 a0=\"ls\"",
        };
        for (DenialOrigin o = DENIAL_LIVE; o <= DENIAL_IMPORT; o++) {
                Sink s = {.outcome = IMPORT_STORED};
                DenialSink sink = sink_of(&s);
                IngestStats st = {};
                Ingest *i;
                CHECK_RC(ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION,
                                                     .origin = o,
                                                     .until_ms = INT64_MAX},
                                    &sink, &st, &i),
                         0);
                for (size_t k = 0; k < ELEMENTSOF(lines); k++)
                        CHECK_RC(feed(i, lines[k]), 0);
                CHECK_RC(s.policy_changes, o == DENIAL_LIVE ? 2 : 0);
                CHECK_RC(st.ignored, 3);
                ingest_free(i);
        }
        /* A sink without the hook. */
        Sink s = {.outcome = IMPORT_STORED};
        DenialSink sink = {.keep = keep, .userdata = &s};
        IngestStats st = {};
        Ingest *i;
        CHECK_RC(ingest_new(&(IngestOptions){.mode = ASSEMBLER_POSITION, .origin = DENIAL_LIVE},
                            &sink, &st, &i),
                 0);
        CHECK_RC(feed(i, lines[0]), 0);
        ingest_free(i);
}

int main(void) {
        Ingest *i;
        IngestStats st;

        test_counting();
        test_journalctl_text();
        test_window();
        test_errors();
        test_clock();
        test_policy_change();
        CHECK_RC(ingest_new(&(IngestOptions){}, NULL, &st, &i), -EINVAL);
        return 0;
}
