/* SPDX-License-Identifier: MIT */
/* The file input on its reader thread, through the real loop: every denial reaches the sink
 * once and in the file's order, with a store that cannot keep up (the reader waits, nothing is
 * lost); a policy change arrives between the same two denials as in the file; the counters the
 * loop shows are those of what the sink was handed; a stop part-way hands on everything read,
 * the event still open included; raw text packed on the reader uses only dictionaries the
 * store has answered for. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "raw-codec.h"
#include "reader-thread.h"
#include "tests/unit/test.h"

/* ~4 MiB: many more batches than the queue holds */
#define EVENTS 10000
#define POLICY_AFTER 1234 /* a MAC_POLICY_LOAD record follows this event */

typedef struct Sink {
        sd_event *event;
        unsigned kept, joined, policy_changes, kept_at_policy;
        uint64_t last_serial;
        bool eof;
} Sink;

static int keep(void *userdata, Denial *d, DenialOrigin origin) {
        Sink *s = userdata;

        CHECK_RC(origin, DENIAL_LIVE);
        /* in the file's order, each once */
        CHECK(d->serial > s->last_serial);
        CHECK(d->raw && strstr(d->raw, "type=AVC"));
        if (d->syscall == 2) /* the SYSCALL record was joined on the reader */
                s->joined++;
        s->last_serial = d->serial;
        s->kept++;
        return d->serial % 3 == 0 ? IMPORT_DUPLICATE : IMPORT_STORED;
}

static void policy_changed(void *userdata) {
        Sink *s = userdata;
        s->policy_changes++;
        s->kept_at_policy = s->kept;
}

static void on_eof(void *userdata) {
        Sink *s = userdata;
        s->eof = true;
        sd_event_exit(s->event, 0);
}

/* The file: EVENTS events of AVC + SYSCALL + EOE, a blank line and a malformed one, and a policy
 * load after event POLICY_AFTER. Returns the number of records (non-blank lines). */
static unsigned write_log(const char *path) {
        FILE *f = fopen(path, "we");
        unsigned records = 0;

        CHECK(f);
        for (unsigned i = 1; i <= EVENTS; i++) {
                unsigned serial = 100 + i;
                fprintf(f,
                        "type=AVC msg=audit(1713600000.%03u:%u): avc:  denied  { read } for  "
                        "pid=7 comm=\"cat\" name=\"f\" scontext=system_u:system_r:container_t:s0:"
                        "c1,c2 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0\n",
                        i % 1000, serial);
                fprintf(f,
                        "type=SYSCALL msg=audit(1713600000.%03u:%u): arch=c000003e syscall=2 "
                        "success=no exit=-13 ppid=1 pid=7 uid=0 comm=\"cat\" exe=\"/bin/cat\"\n",
                        i % 1000, serial);
                fprintf(f, "type=EOE msg=audit(1713600000.%03u:%u): \n", i % 1000, serial);
                records += 3;
                if (i == POLICY_AFTER) {
                        fprintf(f, "type=MAC_POLICY_LOAD msg=audit(1713600001.000:99999): "
                                   "auid=4294967295 ses=4294967295 lsm=selinux res=1\n");
                        fprintf(f, "\n"); /* blank: not a record */
                        fprintf(f, "garbage that is no record\n");
                        records += 2;
                }
        }
        CHECK(fclose(f) == 0);
        return records;
}

static ReaderThread *start(sd_event *e, const char *path, Sink *s, IngestStats *st,
                           SourceStats *src) {
        ReaderThread *t;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        CHECK(fd >= 0);
        CHECK_RC(reader_thread_new(
                         e, fd, &(IngestOptions){.mode = ASSEMBLER_POSITION, .origin = DENIAL_LIVE},
                         &(DenialSink){
                                 .keep = keep, .policy_changed = policy_changed, .userdata = s},
                         st, src, on_eof, s, &t),
                 0);
        return t;
}

static void test_all_in_order_with_a_slow_writer(const char *path, unsigned records) {
        Sink s = {};
        IngestStats st = {};
        SourceStats src = {};
        ReaderThread *t;

        /* each batch waits: the queue fills and the reader has to wait for room */
        CHECK(setenv("AVCWATCH_TEST_SLOW_WRITER_USEC", "3000", 1) == 0);
        CHECK_RC(sd_event_new(&s.event), 0);
        t = start(s.event, path, &s, &st, &src);
        CHECK_RC(sd_event_loop(s.event), 0);
        CHECK(s.eof);
        CHECK(src.input_eof);
        CHECK_RC(s.kept, EVENTS);
        CHECK_RC(s.joined, EVENTS); /* a stop part-way may release an event before its SYSCALL */
        CHECK_RC(s.policy_changes, 1);
        CHECK_RC(s.kept_at_policy, POLICY_AFTER);
        CHECK_RC(src.records_received, records);
        CHECK_RC(st.records, records);
        CHECK_RC(st.malformed, 1);
        CHECK_RC(st.denials, EVENTS);
        CHECK_RC(st.outcomes[IMPORT_DUPLICATE], EVENTS / 3);
        CHECK_RC(st.outcomes[IMPORT_STORED], EVENTS - EVENTS / 3);
        reader_thread_free(t);
        CHECK_RC(s.kept, EVENTS); /* nothing twice after the end */
        sd_event_unref(s.event);
        CHECK(unsetenv("AVCWATCH_TEST_SLOW_WRITER_USEC") == 0);
}

/* Stopped after a few batches: what the reader read is handed on, nothing is dropped, and the
 * counters agree with what the sink saw. */
static void test_stop_hands_on_what_was_read(const char *path) {
        Sink s = {};
        IngestStats st = {};
        SourceStats src = {};
        ReaderThread *t;

        CHECK(setenv("AVCWATCH_TEST_SLOW_WRITER_USEC", "2000", 1) == 0);
        CHECK_RC(sd_event_new(&s.event), 0);
        t = start(s.event, path, &s, &st, &src);
        for (int i = 0; i < 3; i++)
                CHECK(sd_event_run(s.event, 5 * 1000 * 1000) >= 0);
        reader_thread_stop(t);
        CHECK(s.kept > 0);
        CHECK_RC(s.kept, st.denials);
        CHECK_RC(st.outcomes[IMPORT_STORED] + st.outcomes[IMPORT_DUPLICATE], s.kept);
        CHECK(s.kept < EVENTS); /* stopped part-way, not at the end */
        CHECK(!src.input_eof);
        CHECK_RC(src.records_received, st.records);
        unsigned kept = s.kept;
        reader_thread_free(t);
        CHECK_RC(s.kept, kept); /* stop is once */
        sd_event_unref(s.event);
        CHECK(unsetenv("AVCWATCH_TEST_SLOW_WRITER_USEC") == 0);
}

/* ---- raw text packed on the reader, with the store's dictionaries ---- */

typedef struct DictSink {
        sd_event *event;
        unsigned kept, packed_with, proposals, kept_at_stored;
        int64_t stored_id; /* 0 until a dictionary was "stored" */
        void *stored;
        size_t stored_size;
        RawDecoder *decoder;
        bool eof;
} DictSink;

static int dict_load(int64_t id, void **ret, size_t *ret_len, void *userdata) {
        DictSink *s = userdata;

        CHECK(s->stored_id > 0 && id == s->stored_id);
        *ret = malloc(s->stored_size);
        CHECK(*ret);
        memcpy(*ret, s->stored, s->stored_size);
        *ret_len = s->stored_size;
        return 0;
}

static int dict_keep(void *userdata, Denial *d, DenialOrigin origin) {
        DictSink *s = userdata;
        const char *text;
        int64_t id;

        CHECK(d->raw && d->raw_packed);
        id = raw_blob_dictionary(d->raw_packed, d->raw_packed_size);
        /* none, or the one the store answered with, and only once it had answered */
        CHECK(id == 0 || (s->stored_id > 0 && id == s->stored_id));
        s->packed_with += id > 0;
        CHECK_RC(raw_decode(s->decoder, d->raw_packed, d->raw_packed_size, d->time_ms, d->serial,
                            &text, NULL),
                 0);
        CHECK_STREQ(text, d->raw);
        s->kept++;
        return IMPORT_STORED;
}

static int dict_newest(void *userdata, int64_t *ret_id, void **ret, size_t *ret_len) {
        *ret_id = 0;
        *ret = NULL;
        *ret_len = 0;
        return 0;
}

/* The first proposal is refused (the store could not write it), the second stored. */
static int dict_add(void *userdata, const void *dict, size_t len, int64_t *ret_id) {
        DictSink *s = userdata;

        CHECK(len > 0 && len <= RAW_DICTIONARY_MAX);
        CHECK_RC(s->stored_id, 0);
        if (++s->proposals == 1)
                return -ENOSPC;
        s->stored = malloc(len);
        CHECK(s->stored);
        memcpy(s->stored, dict, len);
        s->stored_size = len;
        s->stored_id = 42;
        s->kept_at_stored = s->kept;
        *ret_id = s->stored_id;
        return 0;
}

static void dict_eof(void *userdata) {
        DictSink *s = userdata;
        s->eof = true;
        sd_event_exit(s->event, 0);
}

/* The file through a reader thread to keep_fn, with a store that takes dictionaries (dict_add),
 * the raw text packed where pack (AVCWATCH_TEST_READER_PACK) says, to the end. */
static void run_with_dictionaries(const char *path, const char *pack,
                                  int (*keep_fn)(void *, Denial *, DenialOrigin), DictSink *s) {
        IngestStats st = {};
        SourceStats src = {};
        ReaderThread *t;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        CHECK(fd >= 0);
        CHECK(setenv("AVCWATCH_TEST_READER_PACK", pack, 1) == 0);
        CHECK_RC(sd_event_new(&s->event), 0);
        CHECK_RC(reader_thread_new(
                         s->event, fd,
                         &(IngestOptions){.mode = ASSEMBLER_POSITION, .origin = DENIAL_LIVE},
                         &(DenialSink){.keep = keep_fn,
                                       .raw_dictionary = dict_newest,
                                       .add_raw_dictionary = dict_add,
                                       .userdata = s},
                         &st, &src, dict_eof, s, &t),
                 0);
        CHECK_RC(sd_event_loop(s->event), 0);
        CHECK(s->eof);
        CHECK_RC(s->kept, EVENTS);
        reader_thread_free(t);
        s->event = sd_event_unref(s->event);
        CHECK(unsetenv("AVCWATCH_TEST_READER_PACK") == 0);
}

/* Every denial arrives packed, and its blob unpacks to its raw text; a dictionary is used only
 * after the sink answered with its id, never one the sink refused; the reader trains again
 * after a refusal. */
static void test_packed_with_stored_dictionaries(const char *path) {
        DictSink s = {};

        CHECK(setenv("AVCWATCH_TEST_SLOW_WRITER_USEC", "1000", 1) == 0);
        CHECK_RC(raw_decoder_new(dict_load, &s, &s.decoder), 0);
        run_with_dictionaries(path, "always", dict_keep, &s);
        CHECK_RC(s.proposals, 2);
        CHECK_RC(s.stored_id, 42);
        /* the first dictionary is waited for: every later denial has it */
        CHECK_RC(s.packed_with, EVENTS - s.kept_at_stored);
        raw_decoder_free(s.decoder);
        free(s.stored);
        CHECK(unsetenv("AVCWATCH_TEST_SLOW_WRITER_USEC") == 0);
}

/* Who packs: the reader while the loop has a batch waiting (the loop is the busier thread),
 * the store while the loop waits for the reader; the reader always until it has a dictionary
 * (the first one is trained from what it packed). */
static void test_pack_decision(void) {
        CHECK(reader_thread_should_pack(READER_THREAD_QUEUE, true)); /* full: the loop lags */
        CHECK(reader_thread_should_pack(1, true));
        CHECK(!reader_thread_should_pack(0, true)); /* empty: the loop waits */
        CHECK(reader_thread_should_pack(0, false));
        CHECK(reader_thread_should_pack(READER_THREAD_QUEUE, false));
}

static int unpacked_keep(void *userdata, Denial *d, DenialOrigin origin) {
        DictSink *s = userdata;

        /* left to the store: the text, nothing packed */
        CHECK(d->raw && !d->raw_packed && d->raw_packed_size == 0);
        s->kept++;
        return IMPORT_STORED;
}

/* Denials the reader leaves unpacked arrive with their text for the store to pack, and no
 * dictionary is trained from nothing. */
static void test_left_unpacked(const char *path) {
        DictSink s = {};

        run_with_dictionaries(path, "never", unpacked_keep, &s);
        CHECK_RC(s.proposals, 0);
}

/* A sink that fails stops the input and ends the loop with the error, as a source's does. */
static int keep_fail(void *userdata, Denial *d, DenialOrigin origin) {
        return -EIO;
}

static void test_sink_failure_ends_the_loop(const char *path) {
        sd_event *e;
        IngestStats st = {};
        SourceStats src = {};
        ReaderThread *t;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        CHECK(fd >= 0);
        CHECK_RC(sd_event_new(&e), 0);
        CHECK_RC(reader_thread_new(
                         e, fd, &(IngestOptions){.mode = ASSEMBLER_POSITION, .origin = DENIAL_LIVE},
                         &(DenialSink){.keep = keep_fail}, &st, &src, NULL, NULL, &t),
                 0);
        CHECK_RC(sd_event_loop(e), -EIO);
        reader_thread_free(t);
        sd_event_unref(e);
}

/* A signal sent to the process while the reader runs waits for the loop: the reader has every
 * signal blocked. With SIGTERM unblocked in the reader (the daemon blocks it after the input is
 * set up), kill -TERM during an import ended the process by the default action, storing nothing
 * of what was pending and exiting 143 instead of 0. SIGUSR1 stands for it here: unblocked in the
 * reader, the test dies of it. */
static void test_signals_wait_for_the_loop(const char *path) {
        Sink s = {};
        IngestStats st = {};
        SourceStats src = {};
        ReaderThread *t;
        sigset_t usr1;
        struct timespec no_wait = {};

        CHECK(setenv("AVCWATCH_TEST_SLOW_WRITER_USEC", "3000", 1) == 0);
        CHECK_RC(sd_event_new(&s.event), 0);
        t = start(s.event, path, &s, &st, &src); /* SIGUSR1 not blocked yet, as in the daemon */
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        CHECK_RC(sigprocmask(SIG_BLOCK, &usr1, NULL), 0);
        CHECK(sd_event_run(s.event, 5 * 1000 * 1000) >= 0); /* the reader is busy: queue full */
        CHECK_RC(kill(getpid(), SIGUSR1), 0);
        usleep(20000);
        CHECK_RC(sigtimedwait(&usr1, NULL, &no_wait), SIGUSR1); /* pending, for the loop */
        CHECK(s.kept < EVENTS);                                 /* the reader was still at it */
        reader_thread_free(t);
        CHECK_RC(sigprocmask(SIG_UNBLOCK, &usr1, NULL), 0);
        sd_event_unref(s.event);
        CHECK(unsetenv("AVCWATCH_TEST_SLOW_WRITER_USEC") == 0);
}

int main(void) {
        char *dir = fixture_tmpdir("reader-thread");
        char *path = fixture_path(dir, "audit.log");
        unsigned records = write_log(path);

        test_all_in_order_with_a_slow_writer(path, records);
        test_stop_hands_on_what_was_read(path);
        test_packed_with_stored_dictionaries(path);
        test_pack_decision();
        test_left_unpacked(path);
        test_sink_failure_ends_the_loop(path);
        test_signals_wait_for_the_loop(path);
        free(path);
        fixture_tmpdir_remove(dir);
        return 0;
}
