/* SPDX-License-Identifier: MIT */
/* The raw codec: every text comes back byte for byte (stamps, markers, hostile bytes, empty and
 * huge texts), a trained dictionary makes events much smaller, and damaged blobs or a missing
 * dictionary are errors, never garbage. */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "macro.h"
#include "raw-codec.h"
#include "tests/unit/test.h"

typedef struct Dicts {
        void *data[8];
        size_t len[8];
        size_t n;
} Dicts;

static int load(int64_t id, void **ret, size_t *ret_len, void *userdata) {
        Dicts *d = userdata;
        if (id < 1 || (size_t) id > d->n)
                return -ENOENT;
        *ret = malloc(d->len[id - 1]);
        CHECK(*ret);
        memcpy(*ret, d->data[id - 1], d->len[id - 1]);
        *ret_len = d->len[id - 1];
        return 0;
}

/* The decoders under test: raw_decoder_new() (magic-less where the library reads it, as here),
 * and the one that copies each payload behind the magic. */
static bool with_magic;

static RawDecoder *decoder_new(RawDictionaryLoad loader, void *userdata) {
        RawDecoder *d;
        if (with_magic) {
                CHECK_RC(raw_decoder_new_with_magic(loader, userdata, &d), 0);
                CHECK(!raw_decoder_magicless(d));
        } else {
                CHECK_RC(raw_decoder_new(loader, userdata, &d), 0);
                /* libzstd has read the magic-less format since 1.4.0 (the dictionary calls need
                 * it too): this one must, or the fast path is never taken. */
                CHECK(raw_decoder_magicless(d) == (ZSTD_versionNumber() >= 10400));
        }
        return d;
}

static void round_trip(RawEncoder *e, RawDecoder *d, const char *text, int64_t time_ms,
                       uint64_t serial, size_t *ret_len) {
        const void *blob;
        size_t len, back_len = 0;
        const char *back = NULL;

        CHECK_RC(raw_encode(e, text, strlen(text), time_ms, serial, &blob, &len), 0);
        /* The blob lives in the encoder: decode a copy, as the store does. */
        void *copy = malloc(len);
        CHECK(copy);
        memcpy(copy, blob, len);
        CHECK_RC(raw_decode(d, copy, len, time_ms, serial, &back, &back_len), 0);
        CHECK_STREQ(back, text);
        CHECK(back_len == strlen(text));
        free(copy);
        if (ret_len)
                *ret_len = len;
}

/* A full event as auditd writes it, with per-event variation. */
static void make_event(char *buf, size_t n, unsigned i, int64_t *ret_time, uint64_t *ret_serial) {
        static const char *const comms[] = {"nginx", "bash", "postgres", "python3"};
        static const char *const types[] = {"admin_home_t", "shadow_t", "etc_t", "var_log_t"};
        int64_t t = 1713603292240 + (int64_t) i * 37;
        uint64_t serial = 1000 + i;
        const char *comm = comms[i % 4];

        snprintf(buf, n,
                 "type=AVC msg=audit(%lld.%03lld:%llu): avc:  denied  { write } for  pid=%u "
                 "comm=\"%s\" name=\"f%u\" dev=\"overlay\" ino=%u "
                 "scontext=system_u:system_r:container_t:s0:c%u,c%u "
                 "tcontext=system_u:object_r:%s:s0 tclass=dir permissive=0\n"
                 "type=SYSCALL msg=audit(%lld.%03lld:%llu): arch=c000003e syscall=83 success=no "
                 "exit=-13 a0=7ffd%08x a1=1ed items=1 ppid=%u pid=%u auid=4294967295 uid=0 "
                 "gid=0 comm=\"%s\" exe=\"/usr/bin/%s\" "
                 "subj=system_u:system_r:container_t:s0:c%u,c%u key=(null)\n"
                 "type=PROCTITLE msg=audit(%lld.%03lld:%llu): proctitle=%s",
                 (long long) (t / 1000), (long long) (t % 1000), (unsigned long long) serial,
                 4000 + i % 50, comm, i % 97, 100000 + i * 7919 % 900000, i % 30, 100 + i % 30,
                 types[i % 4], (long long) (t / 1000), (long long) (t % 1000),
                 (unsigned long long) serial, i * 2654435761u, 3999 + i % 50, 4000 + i % 50, comm,
                 comm, i % 30, 100 + i % 30, (long long) (t / 1000), (long long) (t % 1000),
                 (unsigned long long) serial, "62617368002D63");
        *ret_time = t;
        *ret_serial = serial;
}

static void test_exact(void) {
        RawEncoder *e;
        RawDecoder *d;
        char buf[4096];
        size_t len;

        CHECK_RC(raw_encoder_new(&e), 0);
        d = decoder_new(NULL, NULL);
        CHECK_RC(raw_encoder_dictionary_id(e), 0);

        round_trip(e, d, "", 1, 1, &len);
        round_trip(e, d, "x", 1, 1, NULL);
        round_trip(e, d, "type=EOE msg=audit(1.001:1): ", 1001, 1, NULL);
        /* The stamp, several times, and a look-alike that is not the event's own. */
        snprintf(buf, sizeof(buf),
                 "type=AVC msg=audit(1713603292.240:1088): avc:  denied  { write } for pid=1\n"
                 "type=SYSCALL msg=audit(1713603292.240:1088): (1713603292.240:1088)\n"
                 "type=PATH msg=audit(1713603292.240:1089): audit(1713603292.24:1088) "
                 "(1713603292.240:1088");
        round_trip(e, d, buf, 1713603292240, 1088, &len);
        CHECK(len < strlen(buf));
        /* The same text under another stamp is not rewritten, and still exact. */
        round_trip(e, d, buf, 1713603292241, 1088, NULL);
        /* Text that holds the marker byte itself, control characters, invalid UTF-8. */
        round_trip(e, d, "audit(1.000:5): \x01 (\x01) \x1b[31m \xff\xfe \x7f", 1000, 5, NULL);
        /* Negative times: no stamp to write, stored as given. */
        round_trip(e, d, "msg=audit(-1.000:5): abc abc abc abc abc abc abc abc abc abc", -1000, 5,
                   NULL);

        /* The largest text, and one byte more. */
        char *big = malloc(RAW_TEXT_MAX + 2);
        CHECK(big);
        for (size_t i = 0; i < RAW_TEXT_MAX; i++)
                big[i] = (char) ('a' + (i * 7 + i / 13) % 26);
        big[RAW_TEXT_MAX] = 0;
        round_trip(e, d, big, 5, 5, NULL);
        /* The decoder's buffers grew for it: given back, and it decodes on. */
        raw_decoder_trim(d);
        round_trip(e, d, "type=EOE msg=audit(1.001:1): ", 1001, 1, NULL);
        const void *blob;
        big[RAW_TEXT_MAX] = 'z';
        big[RAW_TEXT_MAX + 1] = 0;
        CHECK_RC(raw_encode(e, big, RAW_TEXT_MAX + 1, 5, 5, &blob, &len), -E2BIG);
        free(big);

        raw_encoder_free(e);
        raw_decoder_free(d);
}

/* At each level the encoder is given: the store's (fast) and the reader's (default). */
static void test_dictionary(int level) {
        Dicts dicts = {};
        RawEncoder *e;
        RawDecoder *d;
        char buf[4096];
        int64_t t;
        uint64_t serial;
        size_t len, before = 0, after = 0, text = 0;

        CHECK_RC(raw_encoder_new(&e), 0);
        CHECK_RC(raw_encoder_set_level(e, level), 0);
        d = decoder_new(load, &dicts);

        /* Without a dictionary, until enough events were seen. */
        unsigned i = 0;
        for (; !raw_encoder_wants_dictionary(e); i++) {
                CHECK(i <= RAW_TRAIN_FIRST);
                make_event(buf, sizeof(buf), i, &t, &serial);
                round_trip(e, d, buf, t, serial, &len);
                before += len;
                text += strlen(buf);
        }
        CHECK_RC(i, RAW_TRAIN_FIRST);
        double ratio_before = (double) before / (double) text;

        void *dict;
        CHECK_RC(raw_encoder_train(e, &dict, &len), 0);
        CHECK(len > 0 && len <= RAW_DICTIONARY_MAX);
        dicts.data[0] = dict;
        dicts.len[0] = len;
        dicts.n = 1;
        CHECK_RC(raw_encoder_use_dictionary(e, 1, dict, len), 0);
        CHECK_RC(raw_encoder_dictionary_id(e), 1);
        CHECK(!raw_encoder_wants_dictionary(e));
        /* The dictionary's tables are made for the level: it cannot change under them. */
        CHECK_RC(raw_encoder_set_level(e, level == RAW_LEVEL_FAST ? RAW_LEVEL_DEFAULT
                                                                  : RAW_LEVEL_FAST),
                 -EBUSY);

        text = 0;
        for (unsigned j = 0; j < 2000; j++, i++) {
                make_event(buf, sizeof(buf), i, &t, &serial);
                round_trip(e, d, buf, t, serial, &len);
                after += len;
                text += strlen(buf);
        }
        double ratio_after = (double) after / (double) text;
        printf("level %d: compressed to %.1f%% without a dictionary, %.1f%% with one\n", level,
               100 * ratio_before, 100 * ratio_after);
        CHECK(ratio_after < ratio_before * 0.7);
        CHECK(ratio_after < 0.2);

        /* A blob of dictionary 1 cannot be read without it. */
        make_event(buf, sizeof(buf), i, &t, &serial);
        const void *blob;
        CHECK_RC(raw_encode(e, buf, strlen(buf), t, serial, &blob, &len), 0);
        CHECK_RC(raw_blob_dictionary(blob, len), 1);
        RawDecoder *blind = decoder_new(NULL, NULL);
        const char *back = NULL;
        CHECK_RC(raw_decode(blind, blob, len, t, serial, &back, NULL), -ENOENT);
        raw_decoder_free(blind);

        /* Damage: every truncation, and flipped bytes, give an error or the exact text, never
         * a crash (the frame has no checksum: a flip in the payload may decode to other text,
         * which is why the stamp and the length are checked too). */
        unsigned char *copy = malloc(len);
        CHECK(copy);
        for (size_t n = 0; n < len; n++) {
                memcpy(copy, blob, n);
                int r = raw_decode(d, copy, n, t, serial, &back, NULL);
                CHECK(r == -EBADMSG || r == -ENOENT);
        }
        for (size_t k = 0; k < len; k++) {
                memcpy(copy, blob, len);
                copy[k] ^= 0x5a;
                int r = raw_decode(d, copy, len, t, serial, &back, NULL);
                CHECK(r == 0 || r == -EBADMSG || r == -ENOENT);
        }
        copy[0] = 0x0f; /* unknown method */
        CHECK_RC(raw_decode(d, copy, len, t, serial, &back, NULL), -EBADMSG);
        free(copy);

        free(dict);
        raw_encoder_free(e);
        raw_decoder_free(d);
}

/* One decoder, blobs of no dictionary and of two dictionaries in turn: the dictionary each names
 * is the one used (a context keeps the last one it was given). */
static void test_dictionaries_interleaved(void) {
        enum { N = 60 };
        Dicts dicts = {};
        RawEncoder *e;
        char buf[4096], *texts[3][N];
        void *blobs[3][N];
        size_t lens[3][N];
        int64_t times[3][N];
        uint64_t serials[3][N];
        unsigned i = 0;

        CHECK_RC(raw_encoder_new(&e), 0);
        for (int g = 0; g < 3; g++) {
                if (g > 0) {
                        while (!raw_encoder_wants_dictionary(e)) {
                                const void *blob;
                                size_t len;
                                int64_t t;
                                uint64_t serial;
                                make_event(buf, sizeof(buf), i++, &t, &serial);
                                CHECK_RC(raw_encode(e, buf, strlen(buf), t, serial, &blob, &len),
                                         0);
                        }
                        void *dict;
                        size_t len;
                        CHECK_RC(raw_encoder_train(e, &dict, &len), 0);
                        dicts.data[dicts.n] = dict;
                        dicts.len[dicts.n++] = len;
                        CHECK_RC(raw_encoder_use_dictionary(e, (int64_t) dicts.n, dict, len), 0);
                        /* the next one is due as soon as after the first */
                        for (unsigned k = 0; k < RAW_TRAIN_FIRST * 16; k++)
                                raw_encoder_postpone(e);
                }
                for (int k = 0; k < N; k++) {
                        const void *blob;
                        make_event(buf, sizeof(buf), i++, &times[g][k], &serials[g][k]);
                        CHECK_RC(raw_encode(e, buf, strlen(buf), times[g][k], serials[g][k], &blob,
                                            &lens[g][k]),
                                 0);
                        CHECK_RC(raw_blob_dictionary(blob, lens[g][k]), g);
                        blobs[g][k] = malloc(lens[g][k]);
                        texts[g][k] = strdup(buf);
                        CHECK(blobs[g][k] && texts[g][k]);
                        memcpy(blobs[g][k], blob, lens[g][k]);
                }
        }
        CHECK(dicts.n == 2);

        RawDecoder *d = decoder_new(load, &dicts);
        unsigned seed = 7;
        for (int round = 0; round < 6 * N; round++) {
                int g = rand_r(&seed) % 3, k = rand_r(&seed) % N;
                const char *back;
                CHECK_RC(raw_decode(d, blobs[g][k], lens[g][k], times[g][k], serials[g][k], &back,
                                    NULL),
                         0);
                CHECK_STREQ(back, texts[g][k]);
        }
        raw_decoder_free(d);
        for (int g = 0; g < 3; g++)
                for (int k = 0; k < N; k++) {
                        free(blobs[g][k]);
                        free(texts[g][k]);
                }
        for (size_t k = 0; k < dicts.n; k++)
                free(dicts.data[k]);
        raw_encoder_free(e);
}

/* Stored blobs written here by hand (method 0, the stamp flag 0x80, the length as a varint): the
 * marker between parentheses is the stamp, anywhere else an error; and a blob whose markers would
 * unpack to more than the encoder ever took is refused, not unpacked. */
static void test_stamps_by_hand(void) {
        RawDecoder *d = decoder_new(NULL, NULL);
        const char *back;
        size_t back_len;
        unsigned char blob[16 + 3 * 400000];

        static const struct {
                const char *text, *want; /* want NULL: -EBADMSG */
        } cases[] = {
                {"(\x01)", "(12.345:6)"},
                {"a(\x01)b(\x01)(\x01)", "a(12.345:6)b(12.345:6)(12.345:6)"},
                {"((\x01))", "((12.345:6))"},
                {"\x01)", NULL},
                {"(\x01", NULL},
                {"(\x01)\x01)", NULL},
                {"x(\x01x)", NULL},
                {"", ""},
        };
        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                size_t n = strlen(cases[c].text);
                blob[0] = 0x80;
                blob[1] = (unsigned char) n;
                memcpy(blob + 2, cases[c].text, n);
                int r = raw_decode(d, blob, n + 2, 12345, 6, &back, &back_len);
                if (!cases[c].want)
                        CHECK_RC(r, -EBADMSG);
                else {
                        CHECK_RC(r, 0);
                        CHECK_STREQ(back, cases[c].want);
                        CHECK(back_len == strlen(cases[c].want));
                }
        }

        /* 349,525 markers fit RAW_TEXT_MAX as text, not as stamps of 10 bytes each. */
        size_t n = RAW_TEXT_MAX / 3 * 3;
        blob[0] = 0x80;
        blob[1] = (unsigned char) (0x80 | (n & 0x7f));
        blob[2] = (unsigned char) (0x80 | ((n >> 7) & 0x7f));
        blob[3] = (unsigned char) (n >> 14);
        for (size_t k = 0; k < n; k += 3)
                memcpy(blob + 4 + k, "(\x01)", 3);
        CHECK_RC(raw_decode(d, blob, n + 4, 12345, 6, &back, NULL), -EBADMSG);
        /* As many as the limit allows unpack. */
        size_t fit = RAW_TEXT_MAX / 10 * 3;
        blob[1] = (unsigned char) (0x80 | (fit & 0x7f));
        blob[2] = (unsigned char) (0x80 | ((fit >> 7) & 0x7f));
        blob[3] = (unsigned char) (fit >> 14);
        CHECK_RC(raw_decode(d, blob, fit + 4, 12345, 6, &back, &back_len), 0);
        CHECK(back_len == fit / 3 * 10 && memcmp(back + back_len - 10, "(12.345:6)", 10) == 0);
        raw_decoder_free(d);
}

/* With a dictionary, rows stored before and after read alike. At the default level the encoder
 * writes exactly the frames it wrote with ZSTD_compress2() on a context that refers to the
 * dictionary (before it used the one-shot call): the same blob byte for byte. At the fast level
 * its own writer's frames (zstd-frame.c) differ, but are standard: libzstd reads each, its magic
 * put back and the whole dictionary given, to the text; they are at most 5 % larger in all; and
 * the blobs ZSTD_compress2() made read back too. Each blob is decoded with the dictionary, and
 * refused without it. Long events (past zstd's cutoff for attaching a dictionary, past the one
 * for taking the dictionary's parameters, and past what the writer takes) come back too. */
static void test_same_frames(int level) {
        Dicts dicts = {};
        RawEncoder *e;
        char buf[4096];
        int64_t t;
        uint64_t serial;
        unsigned i = 0;
        void *dict;
        size_t dict_len;
        const void *blob;
        size_t len;

        CHECK_RC(raw_encoder_new(&e), 0);
        CHECK_RC(raw_encoder_set_level(e, level), 0);
        while (!raw_encoder_wants_dictionary(e)) {
                make_event(buf, sizeof(buf), i++, &t, &serial);
                CHECK_RC(raw_encode(e, buf, strlen(buf), t, serial, &blob, &len), 0);
        }
        CHECK_RC(raw_encoder_train(e, &dict, &dict_len), 0);
        dicts.data[0] = dict;
        dicts.len[0] = dict_len;
        dicts.n = 1;
        CHECK_RC(raw_encoder_use_dictionary(e, 1, dict, dict_len), 0);

        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        ZSTD_CDict *cdict = ZSTD_createCDict(dict, dict_len, level);
        ZSTD_DCtx *dctx = ZSTD_createDCtx();
        size_t bytes_new = 0, bytes_old = 0;
        CHECK(cctx && cdict && dctx);
        CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)));
        CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
        CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0)));
        CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_dictIDFlag, 0)));
        CHECK(!ZSTD_isError(ZSTD_CCtx_refCDict(cctx, cdict)));

        RawDecoder *d = decoder_new(load, &dicts), *blind = decoder_new(NULL, NULL);
        for (unsigned k = 0; k < 300; k++) {
                unsigned char old[4096 + 64], frame[4096 + 64];
                const char *back;
                make_event(buf, sizeof(buf), i++, &t, &serial);
                size_t n = strlen(buf);
                /* a serial of no stamp in the text: nothing replaced, the text is the frame's */
                CHECK_RC(raw_encode(e, buf, n, t, serial + 1000000, &blob, &len), 0);
                size_t z = ZSTD_compress2(cctx, frame, sizeof(frame), buf, n);
                CHECK(!ZSTD_isError(z) && z > 4 && z - 4 < n && n >= 128 && n < 16384);
                /* method zstd, dictionary 1, the length (two varint bytes), the frame's tail */
                old[0] = 0x01;
                old[1] = 1;
                old[2] = (unsigned char) (0x80 | (n & 0x7f));
                old[3] = (unsigned char) (n >> 7);
                memcpy(old + 4, frame + 4, z - 4);
                if (level >= 0)
                        CHECK(len == z && memcmp(blob, old, len) == 0);
                else {
                        /* the same header (method, dictionary, length), then a frame */
                        unsigned char again[4096 + 64];
                        char text[4096];
                        CHECK(len > 4 && len <= sizeof(again) && memcmp(blob, old, 4) == 0);
                        memcpy(again, frame, 4);
                        memcpy(again + 4, (const unsigned char *) blob + 4, len - 4);
                        size_t r = ZSTD_decompress_usingDict(dctx, text, sizeof(text), again, len,
                                                             dict, dict_len);
                        CHECK(!ZSTD_isError(r) && r == n && memcmp(text, buf, n) == 0);
                        memcpy(again, blob, len);
                        CHECK_RC(raw_decode(d, again, len, t, serial + 1000000, &back, NULL), 0);
                        CHECK_STREQ(back, buf);
                        CHECK_RC(raw_decode(blind, again, len, t, serial + 1000000, &back, NULL),
                                 -ENOENT);
                        bytes_new += len;
                        bytes_old += z;
                }
                CHECK_RC(raw_decode(d, old, z, t, serial + 1000000, &back, NULL), 0);
                CHECK_STREQ(back, buf);
                CHECK_RC(raw_decode(blind, old, z, t, serial + 1000000, &back, NULL), -ENOENT);
        }
        CHECK(bytes_new * 100 <= bytes_old * 105);

        for (size_t size = 1000; size <= 400000; size *= 7) {
                char *big = malloc(size + sizeof(buf));
                size_t n = 0;
                CHECK(big);
                while (n < size) {
                        make_event(buf, sizeof(buf), i++, &t, &serial);
                        n += (size_t) sprintf(big + n, "%s\n", buf);
                }
                round_trip(e, d, big, t, serial, &len);
                CHECK(len < n / 4);
                free(big);
        }

        ZSTD_freeCDict(cdict);
        ZSTD_freeCCtx(cctx);
        ZSTD_freeDCtx(dctx);
        raw_decoder_free(d);
        raw_decoder_free(blind);
        raw_encoder_free(e);
        free(dict);
}

/* The encoder finds the stamp as auditd writes it (printf's digits) for any time and serial, from
 * one digit to the widest: the blob says the stamp was replaced, and the text comes back. */
static void test_stamp_digits(void) {
        static const uint64_t serials[] = {0,
                                           7,
                                           9,
                                           10,
                                           99,
                                           100,
                                           12345,
                                           999999999,
                                           1000000000,
                                           9999999999999999999ULL,
                                           10000000000000000000ULL,
                                           UINT64_MAX};
        static const int64_t times[] = {0, 9, 10, 999, 1000, 9999, 1713603292240, INT64_MAX};
        RawEncoder *e;
        RawDecoder *d = decoder_new(NULL, NULL);
        char text[256];
        const void *blob;
        size_t len;

        uint64_t all[ELEMENTSOF(serials) + 2 * 19];
        size_t n = 0;
        for (size_t j = 0; j < ELEMENTSOF(serials); j++)
                all[n++] = serials[j];
        for (uint64_t power = 10; n < ELEMENTSOF(all); power *= 10) {
                all[n++] = power - 1;
                all[n++] = power;
        }

        CHECK_RC(raw_encoder_new(&e), 0);
        for (size_t i = 0; i < ELEMENTSOF(times); i++)
                for (size_t j = 0; j < n; j++) {
                        snprintf(text, sizeof(text),
                                 "type=AVC msg=audit(%lld.%03lld:%llu): avc:  denied  { read } "
                                 "for  pid=1 comm=\"sh\" tclass=file permissive=0",
                                 (long long) (times[i] / 1000), (long long) (times[i] % 1000),
                                 (unsigned long long) all[j]);
                        CHECK_RC(raw_encode(e, text, strlen(text), times[i], all[j], &blob, &len),
                                 0);
                        CHECK(((const unsigned char *) blob)[0] & 0x80);
                        round_trip(e, d, text, times[i], all[j], NULL);
                }
        raw_encoder_free(e);
        raw_decoder_free(d);
}

/* Identical events: the trainer gives up, the codec still gets a dictionary. */
static void test_uniform(void) {
        RawEncoder *e;
        const char *text = "type=AVC msg=audit(1.000:1): avc:  denied  { read } for  pid=1 "
                           "comm=\"x\" scontext=a:b:c:s0 tcontext=a:b:d:s0 tclass=file";
        const void *blob;
        void *dict;
        size_t len;

        CHECK_RC(raw_encoder_new(&e), 0);
        while (!raw_encoder_wants_dictionary(e))
                CHECK_RC(raw_encode(e, text, strlen(text), 2000, 2, &blob, &len), 0);
        CHECK_RC(raw_encoder_train(e, &dict, &len), 0);
        CHECK(len > 0);
        free(dict);
        raw_encoder_free(e);
}

int main(void) {
        for (int magic = 0; magic < 2; magic++) {
                with_magic = magic;
                test_exact();
                test_dictionary(RAW_LEVEL_DEFAULT);
                test_dictionary(RAW_LEVEL_FAST);
                test_dictionaries_interleaved();
                test_stamps_by_hand();
                test_stamp_digits();
        }
        test_same_frames(RAW_LEVEL_DEFAULT);
        test_same_frames(RAW_LEVEL_FAST);
        test_uniform();
        RawEncoder *e;
        CHECK_RC(raw_encoder_new(&e), 0);
        CHECK_RC(raw_encoder_set_level(e, 1000), -EINVAL);
        raw_encoder_free(e);
        return 0;
}
