/* SPDX-License-Identifier: MIT */
/* The zstd frame writer: every frame it writes is read back by libzstd, given the same whole
 * dictionary, to the exact text: trained and raw-content dictionaries, texts near and far from
 * the dictionary, at the length limits and at each size boundary of the format (literal sizes
 * of 5, 12 and 20 bits, one- and two-byte sequence counts, literal and match lengths whose
 * codes carry extra bits, matches that overlap their own output or run from the dictionary into
 * the text). A frame that does not fit its buffer is refused, never written past it. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
/* ZSTD_getFrameHeader() */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "macro.h"
#include "tests/unit/test.h"
#include "zstd-frame.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void) {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        return rng * 0x2545f4914f6cdd1dULL;
}

static size_t make_record(char *buf, size_t size, unsigned i) {
        static const char *const comms[] = {"nginx", "bash", "postgres", "python3", "kinstr"};
        static const char *const types[] = {"admin_home_t", "shadow_t", "etc_t", "var_log_t"};
        int n = snprintf(buf, size,
                         "type=AVC msg=audit(1713603292.%03u:%u): avc:  denied  { read } for  "
                         "pid=%u comm=\"%s\" name=\"f%u\" dev=\"overlay\" ino=%u "
                         "scontext=system_u:system_r:container_t:s0:c%u,c%u "
                         "tcontext=system_u:object_r:%s:s0 tclass=file permissive=0",
                         i % 1000, 1000 + i, 4000 + (unsigned) (rnd() % 30000), comms[i % 5],
                         (unsigned) (rnd() % 100000), (unsigned) (rnd() % 1000000), i % 7,
                         100 + i % 300, types[i % 4]);
        CHECK(n > 0 && (size_t) n < size);
        return (size_t) n;
}

typedef struct Checked {
        size_t tried, written, bytes_in, bytes_out;
} Checked;

/* Writes text into a buffer of exactly dst_size bytes and, when a frame comes out, has libzstd
 * read it back. */
static size_t check_frame(ZstdFrameWriter *w, const ZSTD_DDict *ddict, ZSTD_DCtx *dctx,
                          const void *text, size_t n, size_t dst_size, Checked *c) {
        unsigned char *frame = malloc(dst_size ?: 1);
        char *back = malloc(n + 1);
        CHECK(frame && back);

        size_t z = zstd_frame_write(w, frame, dst_size, text, n);
        c->tried++;
        if (z > 0) {
                CHECK(z <= dst_size && z - 4 < n);
                ZSTD_frameHeader h;
                CHECK(ZSTD_getFrameHeader(&h, frame, z) == 0);
                CHECK(h.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN && !h.checksumFlag &&
                      h.dictID == 0 && h.windowSize >= n);
                CHECK(ZSTD_findFrameCompressedSize(frame, z) == z);
                size_t r = ZSTD_decompress_usingDDict(dctx, back, n + 1, frame, z, ddict);
                if (ZSTD_isError(r) || r != n || memcmp(back, text, n) != 0) {
                        fprintf(stderr, "frame of %zu bytes (text %zu) read back as %s\n", z, n,
                                ZSTD_isError(r) ? ZSTD_getErrorName(r) : "other text");
                        CHECK(false);
                }
                c->written++;
                c->bytes_in += n;
                c->bytes_out += z;
        }
        free(frame);
        free(back);
        return z;
}

/* Texts made of the dictionary's pieces, new bytes and repeats of themselves. */
static size_t make_text(char *buf, size_t n, const char *dict, size_t dict_len, unsigned style) {
        size_t o = 0;
        while (o < n) {
                size_t r = (size_t) (1 + rnd() % (style == 2 ? 8 : 300)), k = MIN(n - o, r);
                unsigned what = (unsigned) (rnd() % 4);
                if (what == 0 || dict_len < 16) /* new bytes */
                        for (size_t j = 0; j < k; j++)
                                buf[o + j] = (char) (style == 1 ? 'a' + rnd() % 3 : rnd());
                else if (what == 1 && o > 0) { /* a repeat, overlapping its source when near */
                        size_t back = 1 + rnd() % MIN(o, (size_t) 600);
                        for (size_t j = 0; j < k; j++)
                                buf[o + j] = buf[o + j - back];
                } else { /* a piece of the dictionary */
                        size_t at = rnd() % dict_len;
                        k = MIN(k, dict_len - at);
                        memcpy(buf + o, dict + at, k);
                }
                o += k;
        }
        return n;
}

static void test_dictionary(const void *dict, size_t dict_len, const char *content,
                            size_t content_len) {
        ZstdFrameWriter *w;
        ZSTD_DDict *ddict = ZSTD_createDDict(dict, dict_len);
        ZSTD_DCtx *dctx = ZSTD_createDCtx();
        char *text = malloc(ZSTD_FRAME_TEXT_MAX + 1);
        Checked c = {};
        size_t n;

        CHECK(ddict && dctx && text);
        CHECK_RC(zstd_frame_writer_new(dict, dict_len, &w), 0);

        /* records like the dictionary's */
        for (unsigned i = 0; i < 2000; i++) {
                n = make_record(text, ZSTD_FRAME_TEXT_MAX, i * 7);
                check_frame(w, ddict, dctx, text, n, ZSTD_compressBound(n), &c);
        }
        CHECK(c.written >= 1900);
        /* and joined, up to the longest text the writer takes */
        for (size_t want = 300; want <= ZSTD_FRAME_TEXT_MAX; want = want * 3 / 2) {
                n = 0;
                do
                        n += make_record(text + n, ZSTD_FRAME_TEXT_MAX - n, (unsigned) (n + want));
                while (n + 600 < want);
                CHECK(check_frame(w, ddict, dctx, text, n, ZSTD_compressBound(n), &c) > 0);
        }

        /* every length near the format's boundaries, in three styles */
        static const size_t lengths[] = {
                16,   17,   31,   32,   33,   63,   64,   65,   127,  128,   129,
                1023, 1024, 1025, 4095, 4096, 4097, 8191, 8192, 8193, 16383, ZSTD_FRAME_TEXT_MAX};
        for (unsigned style = 0; style < 3; style++)
                for (size_t i = 0; i < ELEMENTSOF(lengths); i++)
                        for (unsigned k = 0; k < 20; k++) {
                                n = make_text(text, lengths[i], content, content_len, style);
                                check_frame(w, ddict, dctx, text, n, ZSTD_compressBound(n), &c);
                        }
        /* random lengths */
        for (unsigned k = 0; k < 3000; k++) {
                n = ZSTD_FRAME_TEXT_MIN + rnd() % (ZSTD_FRAME_TEXT_MAX - ZSTD_FRAME_TEXT_MIN + 1);
                if (k % 2)
                        n = n % 700 + ZSTD_FRAME_TEXT_MIN;
                make_text(text, n, content, content_len, (unsigned) (k % 3));
                check_frame(w, ddict, dctx, text, n, ZSTD_compressBound(n), &c);
        }

        /* 4,096+ literals and 128+ sequences in one frame: new bytes between short repeats */
        n = 0;
        while (n + 40 < 12000) {
                for (unsigned j = 0; j < 33; j++)
                        text[n++] = (char) rnd();
                memcpy(text + n, "tclass=file permissive=0", 24);
                n += 24;
        }
        CHECK(check_frame(w, ddict, dctx, text, n, ZSTD_compressBound(n), &c) > 0);
        /* runs: matches that overlap what they copy */
        memset(text, 'x', 9000);
        CHECK(check_frame(w, ddict, dctx, text, 9000, ZSTD_compressBound(9000), &c) > 0);

        /* limits: too short, too long, no room (never a write past dst: ASan) */
        n = make_record(text, ZSTD_FRAME_TEXT_MAX, 1);
        CHECK(check_frame(w, ddict, dctx, text, ZSTD_FRAME_TEXT_MIN - 1, 64, &c) == 0);
        CHECK(check_frame(w, ddict, dctx, text, ZSTD_FRAME_TEXT_MAX + 1,
                          ZSTD_compressBound(ZSTD_FRAME_TEXT_MAX + 1), &c) == 0);
        size_t z = check_frame(w, ddict, dctx, text, n, ZSTD_compressBound(n), &c);
        CHECK(z > 0);
        for (size_t room = 0; room < z; room++)
                CHECK(check_frame(w, ddict, dctx, text, n, room, &c) == 0);
        /* incompressible: no frame (the text is better stored) */
        for (size_t j = 0; j < 500; j++)
                text[j] = (char) rnd();
        CHECK(check_frame(w, ddict, dctx, text, 500, ZSTD_compressBound(500), &c) == 0);

        fprintf(stderr, "%zu texts, %zu frames, %zu bytes in, %zu out\n", c.tried, c.written,
                c.bytes_in, c.bytes_out);
        zstd_frame_writer_free(w);
        ZSTD_freeDDict(ddict);
        ZSTD_freeDCtx(dctx);
        free(text);
}

int main(void) {
        enum { SAMPLES = 1500 };
        char *all = malloc(SAMPLES * 512), *dict = malloc(32768);
        size_t sizes[SAMPLES], total = 0;
        CHECK(all && dict);

        for (unsigned i = 0; i < SAMPLES; i++) {
                sizes[i] = make_record(all + total, 512, i);
                total += sizes[i];
        }
        size_t dict_len = ZDICT_trainFromBuffer(dict, 32768, all, sizes, SAMPLES);
        CHECK(!ZDICT_isError(dict_len) && dict_len > 1024);
        size_t header = ZDICT_getDictHeaderSize(dict, dict_len);
        CHECK(!ZDICT_isError(header) && header < dict_len);
        test_dictionary(dict, dict_len, dict + header, dict_len - header);

        /* raw content: the samples themselves, as the codec keeps them when training gives up */
        test_dictionary(all + total - 20000, 20000, all + total - 20000, 20000);
        /* a few bytes of raw content (libzstd takes fewer than 8 as content too) */
        test_dictionary("type=", 5, "type=", 5);

        /* a trained dictionary's magic with a broken header */
        char bad[64] = "\x37\xa4\x30\xec";
        ZstdFrameWriter *w;
        CHECK_RC(zstd_frame_writer_new(bad, sizeof(bad), &w), -EINVAL);

        free(all);
        free(dict);
        return 0;
}
