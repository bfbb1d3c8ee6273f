/* SPDX-License-Identifier: MIT */
/* bench-raw-codec: what raw_encode() costs per event and how small it packs (daemon/store/
 * raw-codec.c), on the events of an audit log read into memory first (consecutive lines of one
 * stamp are one event, joined by '\n' as the assembler joins them). A first pass packs every
 * event and trains the dictionaries when the encoder asks, as the store does; then ROUNDS passes
 * pack every event again with the last dictionary (the steady state), and only they are counted:
 * the CPU time per event, the text and the stored bytes per event (the blob, header included).
 * Every blob of the last pass is decoded back and compared. Run it under
 * `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=measured_passes` for the
 * instructions of the counted passes alone (their total divided by events x ROUNDS), which a
 * shared machine does not disturb.
 *
 *   build/bench/bench-raw-codec FILE [LEVEL] [ROUNDS]
 *
 * LEVEL: the zstd level of the encoder (3, RAW_LEVEL_DEFAULT, the reader's; -1, RAW_LEVEL_FAST,
 * the store's). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-file.h"
#include "macro.h"
#include "raw-codec.h"

typedef struct Event {
        char *text;
        size_t len;
        int64_t time_ms;
        uint64_t serial;
} Event;

typedef struct Dicts {
        void *data[64];
        size_t len[64];
        size_t n;
} Dicts;

static int64_t cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The stamp of a line, "msg=audit(SEC.MSEC:SERIAL)": its text (for grouping), time and serial. */
static bool line_stamp(const char *p, size_t len, const char **ret, size_t *ret_len,
                       int64_t *ret_time, uint64_t *ret_serial) {
        const char *s = memmem(p, len, "msg=audit(", 10), *end = p + len;
        unsigned long long sec, ms, serial;
        int n = 0;

        if (!s)
                return false;
        s += 9;
        const char *close = memchr(s, ')', (size_t) (end - s));
        /* sscanf() on the stamp alone: on the file it would measure the rest of it each time */
        char stamp[64];
        if (!close || (size_t) (close + 1 - s) >= sizeof(stamp))
                return false;
        memcpy(stamp, s, (size_t) (close + 1 - s));
        stamp[close + 1 - s] = 0;
        if (sscanf(stamp, "(%llu.%llu:%llu)%n", &sec, &ms, &serial, &n) != 3 || s + n != close + 1)
                return false;
        *ret = s;
        *ret_len = (size_t) (close + 1 - s);
        *ret_time = (int64_t) (sec * 1000 + ms);
        *ret_serial = serial;
        return true;
}

static int dict_load(int64_t id, void **ret, size_t *ret_len, void *userdata) {
        Dicts *d = userdata;

        if (id < 1 || (size_t) id > d->n)
                return -ENOENT;
        *ret = malloc(d->len[id - 1]);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, d->data[id - 1], d->len[id - 1]);
        *ret_len = d->len[id - 1];
        return 0;
}

/* Kept apart (and not inlined) so that callgrind can count these passes alone. */
__attribute__((noinline)) int measured_passes(RawEncoder *e, const Event *ev, size_t n,
                                              unsigned rounds, uint64_t *ret_bytes);
__attribute__((noinline)) int measured_passes(RawEncoder *e, const Event *ev, size_t n,
                                              unsigned rounds, uint64_t *ret_bytes) {
        uint64_t bytes = 0;

        for (unsigned round = 0; round < rounds; round++)
                for (size_t i = 0; i < n; i++) {
                        const void *blob;
                        size_t len;
                        int r = raw_encode(e, ev[i].text, ev[i].len, ev[i].time_ms, ev[i].serial,
                                           &blob, &len);
                        if (r < 0)
                                return r;
                        bytes += len;
                }
        *ret_bytes = bytes;
        return 0;
}

int main(int argc, char *argv[]) {
        int level = argc > 2 ? atoi(argv[2]) : RAW_LEVEL_DEFAULT;
        unsigned rounds = argc > 3 ? (unsigned) strtoul(argv[3], NULL, 10) : 1;
        Event *ev = NULL;
        size_t n_ev = 0, alloc_ev = 0, len = 0, text_bytes = 0;
        Dicts dicts = {};
        RawEncoder *e;
        RawDecoder *d;
        uint64_t bytes = 0, first_bytes = 0;
        char *text;
        int r;

        if (argc < 2 || rounds == 0) {
                fprintf(stderr, "usage: %s FILE [LEVEL] [ROUNDS]\n", argv[0]);
                return 2;
        }
        text = bench_read_file(argv[1], &len);
        if (!text)
                return 1;

        /* The events: runs of lines with the same stamp. */
        const char *prev_stamp = NULL;
        size_t prev_stamp_len = 0;
        for (char *p = text, *end = text + len; p < end;) {
                char *nl = memchr(p, '\n', (size_t) (end - p)) ?: end;
                const char *stamp;
                size_t stamp_len, line_len = (size_t) (nl - p);
                int64_t t;
                uint64_t serial;

                if (line_stamp(p, line_len, &stamp, &stamp_len, &t, &serial)) {
                        if (prev_stamp && stamp_len == prev_stamp_len &&
                            memcmp(stamp, prev_stamp, stamp_len) == 0) {
                                Event *last = &ev[n_ev - 1];
                                last->text = realloc(last->text, last->len + 1 + line_len + 1);
                                if (!last->text)
                                        return 1;
                                last->text[last->len++] = '\n';
                                memcpy(last->text + last->len, p, line_len);
                                last->len += line_len;
                        } else {
                                if (n_ev == alloc_ev) {
                                        alloc_ev = alloc_ev ? alloc_ev * 2 : 1024;
                                        ev = realloc(ev, alloc_ev * sizeof(Event));
                                        if (!ev)
                                                return 1;
                                }
                                ev[n_ev++] = (Event){.text = strndup(p, line_len),
                                                     .len = line_len,
                                                     .time_ms = t,
                                                     .serial = serial};
                                if (!ev[n_ev - 1].text)
                                        return 1;
                        }
                        prev_stamp = stamp;
                        prev_stamp_len = stamp_len;
                }
                p = nl + 1;
        }
        for (size_t i = 0; i < n_ev; i++)
                text_bytes += ev[i].len;
        if (n_ev == 0) {
                fprintf(stderr, "%s: no events\n", argv[1]);
                return 1;
        }

        if (raw_encoder_new(&e) < 0 || raw_encoder_set_level(e, level) < 0 ||
            raw_decoder_new(dict_load, &dicts, &d) < 0)
                return 1;

        /* First pass: the dictionaries, as the store trains them. */
        for (size_t i = 0; i < n_ev; i++) {
                const void *blob;
                size_t blob_len;

                r = raw_encode(e, ev[i].text, ev[i].len, ev[i].time_ms, ev[i].serial, &blob,
                               &blob_len);
                if (r < 0)
                        return 1;
                first_bytes += blob_len;
                if (raw_encoder_wants_dictionary(e) && dicts.n < ELEMENTSOF(dicts.data)) {
                        void *dict;
                        size_t dict_len;
                        if (raw_encoder_train(e, &dict, &dict_len) < 0)
                                continue;
                        dicts.data[dicts.n] = dict;
                        dicts.len[dicts.n++] = dict_len;
                        if (raw_encoder_use_dictionary(e, (int64_t) dicts.n, dict, dict_len) < 0)
                                return 1;
                }
        }

        int64_t t0 = cpu_ns();
        r = measured_passes(e, ev, n_ev, rounds, &bytes);
        int64_t t = cpu_ns() - t0;
        if (r < 0)
                return 1;

        /* Every blob decodes back to its event; a digest of them all (FNV-1a) tells whether two
         * builds store the same bytes. */
        uint64_t digest = 0xcbf29ce484222325ULL;
        size_t bad = 0;
        for (size_t i = 0; i < n_ev; i++) {
                const void *blob;
                size_t blob_len, back_len;
                const char *back;
                void *copy;

                if (raw_encode(e, ev[i].text, ev[i].len, ev[i].time_ms, ev[i].serial, &blob,
                               &blob_len) < 0 ||
                    !(copy = malloc(blob_len)))
                        return 1;
                memcpy(copy, blob, blob_len);
                for (size_t k = 0; k < blob_len; k++)
                        digest = (digest ^ ((const unsigned char *) copy)[k]) * 0x100000001b3ULL;
                if (raw_decode(d, copy, blob_len, ev[i].time_ms, ev[i].serial, &back, &back_len) <
                            0 ||
                    back_len != ev[i].len || memcmp(back, ev[i].text, back_len) != 0)
                        bad++;
                free(copy);
        }

        uint64_t packed = n_ev * rounds;
        printf("%zu events (%.1f bytes of text each), level %d, %zu dictionaries trained in the "
               "first pass (%.1f bytes per event in it)\n",
               n_ev, (double) text_bytes / (double) n_ev, level, dicts.n,
               (double) first_bytes / (double) n_ev);
        printf("%u rounds with dictionary %zu: %.0f ns of CPU per event, %.2f bytes stored per "
               "event (%.2f%% of the text), %zu not read back, digest %016" PRIx64 "\n",
               rounds, dicts.n, (double) t / (double) packed, (double) bytes / (double) packed,
               100.0 * (double) bytes / (double) (text_bytes * rounds), bad, digest);

        raw_encoder_free(e);
        raw_decoder_free(d);
        for (size_t i = 0; i < dicts.n; i++)
                free(dicts.data[i]);
        for (size_t i = 0; i < n_ev; i++)
                free(ev[i].text);
        free(ev);
        free(text);
        return bad ? 1 : 0;
}
