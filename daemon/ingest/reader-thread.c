/* SPDX-License-Identifier: MIT */
/* ReaderThread (reader-thread.h): the file input's text-to-denials half on a thread of its own.
 *
 * Direction: the thread reads, splits (line-splitter.h) and hands lines to its own Ingest, whose
 * sink is the batch being filled here; a full batch crosses the Handoff; the loop pops it and
 * hands its denials forward to the real DenialSink. Nothing calls back.
 *
 * Decisions:
 * - The split is where the state is. Reading, parsing (record.c, record-fields.c) and assembling
 *   (assembler.c) are pure per instance: the thread owns them alone. Attribution, triage, the
 *   coalescer and the store share the registry, the database connection and the counters with
 *   the API, so they stay on the loop: no lock anywhere in them, and store_add() still answers
 *   stored or duplicate at once, so the outcome counters and the dedup are what they were.
 * - Order: one producer, one FIFO, one consumer; a batch is handed to the sink item by item in
 *   the order the assembler released them, and a MAC_POLICY_LOAD / MAC_CONFIG_CHANGE record
 *   travels as an item between the denials it separates.
 * - A file can wait: the reader blocks on a full queue (READER_THREAD_QUEUE batches), so a slow
 *   store slows the reading and nothing is lost (the kernel's socket cannot wait and is not
 *   read here: source.c reads it on the loop).
 * - Counters: the reader counts into its own blocks, and every batch carries a copy taken after
 *   its last line. The loop writes the shared blocks from that copy when it has handed the batch
 *   on (the outcomes it counts itself from the sink's answers), so a `stats` answer never counts
 *   a denial the sink has not seen, and no counter is written by two threads.
 * - Crash safety is the store's, as before: what is committed is what the sink was handed and
 *   committed; the queue holds at most a few batches of denials read but not yet kept, and they
 *   are lost with a kill -9 exactly as the old source's open batch was: a restart reads the file
 *   again and the store's dedup adds what is missing.
 * - Stop (SIGTERM, end of the loop): the reader is cancelled and joined, then everything it read
 *   is handed on, the events still open released too, as ingest_flush() did before.
 * - The raw text is packed on whichever thread has room: here (raw-codec.h) while the loop has
 *   a batch waiting, by the store on the loop while the loop waits for the reader (see
 *   reader_thread_should_pack()): zstd is about a third of the reader's work, and a quarter of
 *   the loop's when it does it. The store's dictionaries cross the queue both ways in order
 *   (see reader_propose_dictionary()), so no row is stored naming a dictionary the file lacks,
 *   and the store packs with the dictionary it committed last, the reader's too. */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "handoff.h"
#include "line-splitter.h"
#include "log.h"
#include "raw-codec.h"
#include "reader-thread.h"

/* Bytes read per step: one step's lines become one batch. */
#define READER_CHUNK (256 * 1024)
/* A batch's text block: a chunk's events' raw text (each event's text once per verdict) and
 * their packed blobs fit in one, mostly. */
#define READER_TEXT_BLOCK (512 * 1024)
/* Spent batches kept for the reader to fill again (their items array and first text block). */
#define READER_REUSE_MAX 2
/* Like the file source's defer source: below every other priority, so queries, timers and
 * signals are served between two batches. */
#define READER_PRIORITY (SD_EVENT_PRIORITY_IDLE + 10)

typedef struct BatchItem {
        bool policy_changed; /* a marker, not a denial */
        void *dictionary;    /* not NULL: a dictionary the reader trained, not a denial */
        size_t dictionary_size;
        Denial denial;
} BatchItem;

/* Memory the raw texts and packed blobs of a batch's denials are carved from: one copy each
 * without a malloc and a free apiece (they were a tenth of the reader's work), all freed with
 * the batch, or kept for the next batch to fill. */
typedef struct TextBlock {
        struct TextBlock *next;
        size_t used, size;
        char data[];
} TextBlock;

typedef struct Batch {
        BatchItem *items;
        size_t n, allocated;
        TextBlock *text; /* the newest first; each denial's raw and raw_packed point into it */
        /* the reader's counters after this batch's last line */
        IngestStats ingest;
        uint64_t records_received, records_malformed;
        int error; /* < 0: the reader stopped on it (read_failed: reading, else assembling) */
        bool read_failed;
        bool eof;
        struct Batch *spent_next;
} Batch;

struct ReaderThread {
        /* the loop's side */
        sd_event *event;
        sd_event_source *io;
        DenialSink sink;
        DenialOrigin origin;
        IngestStats *stats;
        SourceStats *source_stats;
        source_eof_cb eof_cb;
        void *eof_userdata;
        Handoff *handoff;
        bool started, stopped, failed;
        unsigned slow_usec; /* test hook: AVCWATCH_TEST_SLOW_WRITER_USEC */

        /* the reader's side (the loop touches it only after the join) */
        pthread_t thread;
        int fd;
        gzFile gz;
        char *chunk;
        LineSplitter lines;
        Ingest *ingest;
        IngestStats own_ingest;
        uint64_t own_records, own_malformed;
        Batch *batch; /* being filled */
        Batch *reuse; /* emptied, to fill next (spent_next links them) */
        size_t n_reuse;
        bool done; /* reached the end or failed: nothing more to read */
        /* Packs each denial's raw text (NULL when the sink cannot take dictionaries: the store
         * packs it then). */
        RawEncoder *encoder;
        bool pack;      /* this chunk's denials are packed here (reader_thread_should_pack) */
        int pack_mode;  /* test hook AVCWATCH_TEST_READER_PACK: 1 always, -1 never, 0 balance */
        void *proposed; /* a trained dictionary sent to the loop, not answered yet */
        size_t proposed_size;

        /* under lock: the loop's answer to the proposed dictionary, and the batches the loop has
         * handed on, for the reader to free */
        pthread_mutex_t lock;
        pthread_cond_t answer_cond;
        bool lock_initialized;
        Batch *spent;
        size_t n_spent;
        bool reader_exited; /* nothing frees spent batches any more but the loop */
        bool answered;
        int64_t answer_id; /* > 0: stored with this id; else not stored */
};

/* Empties b for the reader to fill again: its items array and one text block stay. */
static void batch_reset(Batch *b) {
        for (size_t i = 0; i < b->n; i++) {
                Denial *d = &b->items[i].denial;
                /* the text block's, not the denial's own (its strings: lent, they stay) */
                d->raw = NULL;
                d->raw_packed = NULL;
                denial_done(d);
                free(b->items[i].dictionary);
        }
        b->n = 0;
        while (b->text && b->text->next) {
                TextBlock *next = b->text->next;
                free(b->text);
                b->text = next;
        }
        if (b->text)
                b->text->used = 0;
        BatchItem *items = b->items;
        size_t allocated = b->allocated;
        TextBlock *text = b->text;
        *b = (Batch){.items = items, .allocated = allocated, .text = text};
}

static void batch_free(void *p) {
        Batch *b = p;

        if (!b)
                return;
        batch_reset(b);
        free(b->items);
        free(b->text);
        free(b);
}

/* len bytes of b's text blocks, for the batch's lifetime. */
static void *batch_text(Batch *b, size_t len) {
        TextBlock *k = b->text;

        if (!k || k->size - k->used < len) {
                size_t size = MAX((size_t) READER_TEXT_BLOCK, len);
                k = malloc(offsetof(TextBlock, data) + size);
                if (!k)
                        return NULL;
                *k = (TextBlock){.next = b->text, .size = size};
                b->text = k;
        }
        void *p = k->data + k->used;
        k->used += len;
        return p;
}

static BatchItem *batch_append(Batch *b) {
        if (b->n == b->allocated) {
                size_t n = b->allocated ? b->allocated * 2 : 256;
                BatchItem *items = realloc(b->items, n * sizeof(BatchItem));
                if (!items)
                        return NULL;
                b->items = items;
                b->allocated = n;
        }
        b->items[b->n] = (BatchItem){.denial = DENIAL_NULL};
        return &b->items[b->n++];
}

/* ---- the reader's side ---- */

/* The raw text packed here, with a dictionary the store holds, so that the loop does not spend
 * its time on zstd (about a quarter of its work otherwise). Without memory it stays unpacked:
 * the store packs it, as it packs any denial the sink is handed otherwise. */
static void reader_pack(ReaderThread *t, Denial *d, size_t raw_len) {
        const void *blob;
        size_t len;

        if (!t->encoder || !t->pack || !d->raw)
                return;
        if (raw_encode(t->encoder, d->raw, raw_len, d->time_ms, d->serial, &blob, &len) < 0)
                return; /* the store says why when it cannot pack it either */
        d->raw_packed = batch_text(t->batch, len);
        if (!d->raw_packed)
                return;
        memcpy(d->raw_packed, blob, len);
        d->raw_packed_size = len;
}

/* The dictionary hand-over. The encoder is the reader's, the dictionaries are the store's (rows
 * refer to them by id). When the codec wants a new one, the reader trains it and sends it in the
 * batch after the denials packed without it; the loop commits what it holds, then the
 * dictionary on its own, and answers with its id; only then does the encoder use it. So every
 * row packed with a dictionary reaches the store after that dictionary was committed, whatever
 * becomes of the batches in between (a failed commit, a kill -9). */
static void reader_propose_dictionary(ReaderThread *t) {
        _cleanup_(freep) void *dict = NULL;
        size_t len;

        if (!t->encoder || t->proposed || !raw_encoder_wants_dictionary(t->encoder) ||
            raw_encoder_train(t->encoder, &dict, &len) < 0)
                return;
        BatchItem *item = batch_append(t->batch);
        void *copy = malloc(len);
        if (!item || !copy) {
                free(copy);
                if (item)
                        t->batch->n--;
                raw_encoder_postpone(t->encoder);
                return;
        }
        memcpy(copy, dict, len);
        item->dictionary = copy;
        item->dictionary_size = len;
        t->proposed = TAKE_PTR(dict);
        t->proposed_size = len;
}

/* After a batch was sent: the loop's answer to the dictionary proposed, if it came. Without any
 * dictionary yet (the first one, which makes frames about three times smaller) the reader waits
 * for it, else packing goes on with the current one meanwhile. */
static void reader_take_answer(ReaderThread *t) {
        bool answered;
        int64_t id;

        if (!t->proposed)
                return;
        bool wait = raw_encoder_dictionary_id(t->encoder) == 0;
        pthread_mutex_lock(&t->lock);
        while (wait && !t->answered && !handoff_cancelled(t->handoff)) {
                /* a bounded wait: a cancel (the loop stopping) is noticed within it */
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 20 * 1000 * 1000;
                if (until.tv_nsec >= 1000 * 1000 * 1000) {
                        until.tv_sec++;
                        until.tv_nsec -= 1000 * 1000 * 1000;
                }
                (void) pthread_cond_timedwait(&t->answer_cond, &t->lock, &until);
        }
        answered = t->answered;
        id = t->answer_id;
        t->answered = false;
        pthread_mutex_unlock(&t->lock);
        if (!answered)
                return;
        if (id <= 0 ||
            raw_encoder_use_dictionary(t->encoder, id, t->proposed, t->proposed_size) < 0)
                raw_encoder_postpone(t->encoder); /* keep the current one, try again later */
        free(t->proposed);
        t->proposed = NULL;
        t->proposed_size = 0;
}

/* The Ingest's sink on the reader: the denial joins the batch (taken over: the assembler lends
 * it and frees what is left, which is then nothing; its strings are the assembler's block and
 * raw the event's, so both are copied, into the batch's text block). The outcome is the real
 * sink's, counted on the loop: _IMPORT_OUTCOME_MAX is counted as none. */
static int reader_keep(void *userdata, Denial *d, DenialOrigin origin) {
        ReaderThread *t = userdata;
        size_t raw_len = 0;
        char *raw = NULL;
        BatchItem *item;

        if (d->strings) {
                char *block = batch_text(t->batch, d->strings_size);
                if (!block)
                        return -ENOMEM;
                denial_move_strings(d, block); /* lent by the batch now */
        }
        if (d->raw) {
                raw_len = strlen(d->raw);
                raw = batch_text(t->batch, raw_len + 1);
                if (!raw)
                        return -ENOMEM;
                memcpy(raw, d->raw, raw_len + 1);
        }
        item = batch_append(t->batch);
        if (!item)
                return -ENOMEM; /* the copy goes with the batch */
        item->denial = *d;
        item->denial.raw = raw;
        *d = DENIAL_NULL;
        reader_pack(t, &item->denial, raw_len);
        return _IMPORT_OUTCOME_MAX;
}

static int reader_commit(void *userdata) {
        return 0; /* the loop's sink commits */
}

static void reader_policy_changed(void *userdata) {
        ReaderThread *t = userdata;
        BatchItem *item = batch_append(t->batch);

        if (item)
                item->policy_changed = true;
        /* else: no memory for a marker; the policy is read again at the next change */
}

static int reader_line(const char *p, size_t n, void *userdata) {
        ReaderThread *t = userdata;

        /* longer than SOURCE_LINE_MAX (NULL): counted once, skipped, as the file source does */
        if (!line_count(p, n, &t->own_records, &t->own_malformed))
                return 0;
        return ingest_line(p, n, t->ingest);
}

/* The reader's counters after the batch's last line go with it. */
static void reader_stamp(ReaderThread *t, Batch *b) {
        b->ingest = t->own_ingest;
        b->records_received = t->own_records;
        b->records_malformed = t->own_malformed;
}

/* Sends the batch being filled (with the counters so far) and starts a new one. */
static int reader_send(ReaderThread *t) {
        Batch *b = t->batch;
        int r;

        reader_stamp(t, b);
        if (t->reuse) {
                t->batch = t->reuse;
                t->reuse = t->batch->spent_next;
                t->batch->spent_next = NULL;
                t->n_reuse--;
        } else
                t->batch = calloc(1, sizeof(Batch));
        if (!t->batch) {
                t->batch = b; /* keep filling it: sent at the next step */
                return -ENOMEM;
        }
        r = handoff_push(t->handoff, b, /* wait= */ true);
        if (r < 0) { /* cancelled: the loop takes it over after the join */
                batch_free(t->batch);
                t->batch = b;
        }
        return r;
}

static ssize_t reader_read(ReaderThread *t) {
        ssize_t n;

        if (t->gz) {
                int z = gzread(t->gz, t->chunk, READER_CHUNK);
                if (z < 0) {
                        int e;
                        (void) gzerror(t->gz, &e);
                        return e == Z_ERRNO ? -errno : -EBADMSG;
                }
                return z;
        }
        do
                n = read(t->fd, t->chunk, READER_CHUNK);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

/* Frees the batches the loop handed back, but for a few it keeps to fill again. exiting: and
 * from now on the loop frees them. */
static void reader_free_spent(ReaderThread *t, bool exiting) {
        Batch *b;

        pthread_mutex_lock(&t->lock);
        b = t->spent;
        t->spent = NULL;
        t->n_spent = 0;
        if (exiting)
                t->reader_exited = true;
        pthread_mutex_unlock(&t->lock);
        while (b) {
                Batch *next = b->spent_next;
                if (!exiting && t->n_reuse < READER_REUSE_MAX) {
                        batch_reset(b);
                        b->spent_next = t->reuse;
                        t->reuse = b;
                        t->n_reuse++;
                } else
                        batch_free(b);
                b = next;
        }
}

bool reader_thread_should_pack(size_t queued, bool has_dictionary) {
        return !has_dictionary || queued > 0;
}

/* Decided per chunk: the queue changes a batch at a time. */
static void reader_decide_packing(ReaderThread *t) {
        if (!t->encoder)
                t->pack = false;
        else if (t->pack_mode != 0)
                t->pack = t->pack_mode > 0;
        else
                t->pack = reader_thread_should_pack(handoff_queued(t->handoff),
                                                    raw_encoder_dictionary_id(t->encoder) > 0);
}

static void *reader_main(void *userdata) {
        ReaderThread *t = userdata;
        int r;

        while (!handoff_cancelled(t->handoff)) {
                reader_free_spent(t, false);
                reader_decide_packing(t);
                ssize_t n = reader_read(t);

                if (n < 0) {
                        t->batch->error = (int) n;
                        t->batch->read_failed = true;
                        t->done = true;
                } else if (n == 0) {
                        /* a last line without a newline, then the events still open */
                        r = line_splitter_finish(&t->lines, reader_line, t);
                        if (r >= 0)
                                r = ingest_flush(t->ingest);
                        t->batch->error = MIN(r, 0);
                        t->batch->eof = r >= 0;
                        t->done = true;
                } else {
                        r = line_splitter_feed(&t->lines, t->chunk, (size_t) n, reader_line, t);
                        if (r < 0) {
                                t->batch->error = r;
                                t->done = true;
                        }
                }
                if (!t->done)
                        reader_propose_dictionary(t);
                if (reader_send(t) == -ECANCELED || t->done)
                        break;
                reader_take_answer(t);
        }
        reader_free_spent(t, true);
        return NULL;
}

/* ---- the loop's side ---- */

/* Stores the reader's dictionary and answers with its id (0: not stored; the reader's encoder
 * then keeps its current one and tries again later). Not a failure of the input. */
static void reader_answer_dictionary(ReaderThread *t, const BatchItem *item) {
        int64_t id = 0;
        int r;

        r = t->sink.add_raw_dictionary(t->sink.userdata, item->dictionary, item->dictionary_size,
                                       &id);
        if (r < 0) {
                log_full_errno(LOG_DEBUG, r,
                               "Cannot store the raw codec's new dictionary, keeping the "
                               "current one: %m");
                id = 0;
        }
        pthread_mutex_lock(&t->lock);
        t->answered = true;
        t->answer_id = id;
        pthread_cond_signal(&t->answer_cond);
        pthread_mutex_unlock(&t->lock);
}

/* Hands one batch to the sink and takes over its counters. Returns < 0 when the input stops. */
static int reader_hand_on(ReaderThread *t, Batch *b) {
        int r;

        for (size_t i = 0; i < b->n && !t->failed; i++) {
                BatchItem *item = &b->items[i];

                if (item->policy_changed) {
                        if (t->sink.policy_changed)
                                t->sink.policy_changed(t->sink.userdata);
                        continue;
                }
                if (item->dictionary) {
                        reader_answer_dictionary(t, item);
                        continue;
                }
                /* the denial is freed with its batch (reader_recycle) */
                r = t->sink.keep(t->sink.userdata, &item->denial, t->origin);
                if (r < 0) {
                        /* as ingest.c says it for the live input; the input stops */
                        t->failed = true;
                        return log_error_errno(r, "Failed to assemble audit records: %m");
                }
                if (r < _IMPORT_OUTCOME_MAX)
                        t->stats->outcomes[r]++;
        }
        uint64_t outcomes[_IMPORT_OUTCOME_MAX];
        memcpy(outcomes, t->stats->outcomes, sizeof(outcomes));
        *t->stats = b->ingest;
        memcpy(t->stats->outcomes, outcomes, sizeof(outcomes));
        t->source_stats->records_received = b->records_received;
        t->source_stats->records_malformed = b->records_malformed;

        if (b->error < 0) {
                t->failed = true;
                if (b->read_failed)
                        return log_error_errno(b->error, "Failed to read the input: %m");
                return b->error; /* the reader's Ingest said why (ingest.c) */
        }
        if (b->eof) {
                t->source_stats->input_eof = true;
                if (t->eof_cb)
                        t->eof_cb(t->eof_userdata);
        }
        return 0;
}

/* A batch handed on goes back to the reader, which frees it between two chunks: its denials'
 * strings were allocated there, and freeing them on the loop (about twenty per denial, each
 * into the reader's malloc arena, under its lock) was a tenth of the loop's remaining work.
 * At most READER_THREAD_QUEUE wait (the reader may be waiting for room itself); past that, or
 * once the reader has ended, the loop frees them. */
static void reader_recycle(ReaderThread *t, Batch *b) {
        pthread_mutex_lock(&t->lock);
        if (!t->reader_exited && t->n_spent < READER_THREAD_QUEUE) {
                b->spent_next = t->spent;
                t->spent = b;
                t->n_spent++;
                b = NULL;
        }
        pthread_mutex_unlock(&t->lock);
        batch_free(b);
}

static int reader_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ReaderThread *t = userdata;
        Batch *b = handoff_pop(t->handoff);
        int r;

        if (!b)
                return 0;
        if (t->slow_usec > 0)
                usleep(t->slow_usec); /* the test hook: a store that cannot keep up */
        r = reader_hand_on(t, b);
        reader_recycle(t, b);
        if (r < 0) {
                /* as a source's callback failing: the loop ends with the error */
                (void) sd_event_source_set_enabled(t->io, SD_EVENT_OFF);
                handoff_cancel(t->handoff);
                sd_event_exit(t->event, r);
        }
        return 0;
}

int reader_thread_new(sd_event *e, int fd, const IngestOptions *o, const DenialSink *sink,
                      IngestStats *stats, SourceStats *source_stats, source_eof_cb eof,
                      void *eof_userdata, ReaderThread **ret) {
        _cleanup_(reader_thread_freep) ReaderThread *t = NULL;
        IngestOptions options;
        const char *slow;
        int r;

        if (!e || fd < 0 || !o || o->mode != ASSEMBLER_POSITION || !sink || !sink->keep || !stats ||
            !source_stats || !ret)
                return -EINVAL;
        t = calloc(1, sizeof(ReaderThread));
        if (!t)
                return -ENOMEM;
        t->fd = -EBADF;
        t->event = sd_event_ref(e);
        t->sink = *sink;
        t->origin = o->origin;
        t->stats = stats;
        t->source_stats = source_stats;
        t->eof_cb = eof;
        t->eof_userdata = eof_userdata;
        t->own_ingest = *stats;
        t->own_records = source_stats->records_received;
        t->own_malformed = source_stats->records_malformed;
        slow = secure_getenv("AVCWATCH_TEST_SLOW_WRITER_USEC");
        if (slow)
                t->slow_usec = (unsigned) strtoul(slow, NULL, 10);
        /* the test hook: where the raw text is packed, whatever the queue says */
        const char *pack = secure_getenv("AVCWATCH_TEST_READER_PACK");
        if (pack)
                t->pack_mode = strcmp(pack, "always") == 0  ? 1
                               : strcmp(pack, "never") == 0 ? -1
                                                            : 0;

        t->chunk = malloc(READER_CHUNK);
        t->batch = calloc(1, sizeof(Batch));
        if (!t->chunk || !t->batch || line_splitter_init(&t->lines, SOURCE_LINE_MAX) < 0)
                return -ENOMEM;
        options = *o;
        options.event = NULL;
        r = -pthread_mutex_init(&t->lock, NULL);
        if (r < 0)
                return r;
        r = -pthread_cond_init(&t->answer_cond, NULL);
        if (r < 0) {
                pthread_mutex_destroy(&t->lock);
                return r;
        }
        t->lock_initialized = true;
        if (sink->raw_dictionary && sink->add_raw_dictionary) {
                _cleanup_(freep) void *dict = NULL;
                int64_t id = 0;
                size_t len = 0;

                r = raw_encoder_new(&t->encoder);
                if (r < 0)
                        return r;
                /* the store's newest, as the store's own encoder resumes with it */
                r = sink->raw_dictionary(sink->userdata, &id, &dict, &len);
                if (r >= 0 && id > 0)
                        r = raw_encoder_use_dictionary(t->encoder, id, dict, len);
                if (r < 0)
                        return r;
        }
        r = ingest_new(&options,
                       &(DenialSink){.keep = reader_keep,
                                     .commit = reader_commit,
                                     .policy_changed = reader_policy_changed,
                                     .userdata = t},
                       &t->own_ingest, &t->ingest);
        if (r < 0)
                return r;
        r = handoff_new(READER_THREAD_QUEUE, &t->handoff);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &t->io, handoff_fd(t->handoff), EPOLLIN, reader_on_io, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_priority(t->io, READER_PRIORITY);
        (void) sd_event_source_set_description(t->io, "audit-input-reader");

        /* A compressed rotation (audit.log.2.gz) is read as its text. */
        unsigned char magic[2];
        if (pread(fd, magic, sizeof(magic), 0) == (ssize_t) sizeof(magic) && magic[0] == 0x1f &&
            magic[1] == 0x8b) {
                int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (copy < 0)
                        return -errno;
                t->gz = gzdopen(copy, "rb");
                if (!t->gz) {
                        close(copy);
                        return -ENOMEM;
                }
        }
        t->fd = fd; /* ours from here on, unless the thread cannot start */
        /* No signal is ever delivered to the reader (it inherits this mask): the daemon takes
         * SIGTERM and the others through its loop, and may not have blocked them yet when the
         * input is set up; a thread with them unblocked would die of them, and the process with
         * it, before anything pending is stored. */
        sigset_t all, saved;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&t->thread, NULL, reader_main, t);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0) {
                t->fd = -EBADF;
                return r;
        }
        t->started = true;
        snprintf(source_stats->input, sizeof(source_stats->input), "file");
        *ret = TAKE_PTR(t);
        return 0;
}

void reader_thread_stop(ReaderThread *t) {
        Batch *b;

        if (!t || t->stopped)
                return;
        t->stopped = true;
        if (t->handoff)
                handoff_cancel(t->handoff);
        if (t->started)
                (void) pthread_join(t->thread, NULL);
        if (t->lock_initialized)
                reader_free_spent(t, true); /* the reader is gone: on the loop */
        if (!t->handoff)
                return;
        /* What was read is handed on: the queued batches, then the one being filled with the
         * events still open (the reader is gone: its state is ours now). */
        while ((b = handoff_pop(t->handoff))) {
                if (!t->failed)
                        (void) reader_hand_on(t, b);
                batch_free(b);
        }
        if (t->started && !t->done && !t->failed && t->batch) {
                if (ingest_flush(t->ingest) >= 0) {
                        reader_stamp(t, t->batch);
                        (void) reader_hand_on(t, t->batch);
                }
        }
        t->io = sd_event_source_disable_unref(t->io);
}

ReaderThread *reader_thread_free(ReaderThread *t) {
        if (!t)
                return NULL;
        reader_thread_stop(t);
        sd_event_source_disable_unref(t->io);
        t->handoff = handoff_free(t->handoff, batch_free);
        batch_free(t->batch);
        while (t->reuse) {
                Batch *next = t->reuse->spent_next;
                batch_free(t->reuse);
                t->reuse = next;
        }
        ingest_free(t->ingest);
        raw_encoder_free(t->encoder);
        free(t->proposed);
        if (t->lock_initialized) {
                pthread_cond_destroy(&t->answer_cond);
                pthread_mutex_destroy(&t->lock);
        }
        line_splitter_done(&t->lines);
        free(t->chunk);
        if (t->gz)
                (void) gzclose(t->gz);
        if (t->fd >= 0)
                close(t->fd);
        sd_event_unref(t->event);
        free(t);
        return NULL;
}
