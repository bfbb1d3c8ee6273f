/* SPDX-License-Identifier: MIT */
/* Raw codec (raw-codec.h has the format and the why).
 *
 * Decisions:
 * - One zstd frame per event, never per block of events: a query for 100 denials of one container
 *   touches 100 events spread over the whole store, and each must unpack alone (about 0.5 µs with
 *   a loaded dictionary, against inflating a whole block for each).
 * - zstd's stable API, but for one experimental parameter of the decoder and the encoder's frames
 *   with a dictionary (frame_compress(): cheaper than ZSTD_compress2(), the same bytes;
 *   static-linking-only calls of libzstd 1.5, which a later libzstd may drop: then ZSTD_compress2()
 *   with ZSTD_CCtx_refCDict() writes the same frames again). At the fast levels (the store's
 *   encoder, on the loop thread) frames with a dictionary come from zstd-frame.c instead: libzstd
 *   spends about 6,000 instructions on a 300-byte frame with a dictionary whatever the level, that
 *   writer about 1,700 (an event about 2,500 in all), for 1 % more bytes (test-raw-codec,
 *   docs/benchmarks.md); any decoder reads both alike. The 4-byte frame magic is cut off before
 *   storing; the frame carries no checksum, content size or dictionary id (the blob header has the
 *   length and the id), so a frame costs 2-3 bytes of header. The decoder reads the stored frame
 *   where it lies, as zstd's magic-less format (ZSTD_d_format = ZSTD_f_zstd1_magicless: the same
 *   frame without its first four bytes), instead of copying each payload behind the magic. That
 *   parameter is experimental (its number could change in a later libzstd), so raw_decoder_new()
 *   only keeps it when the library accepts it and then decodes a frame made on the spot with it;
 *   otherwise the decoder copies behind the magic, as every version of the library reads.
 * - A bulk Query decodes every row it sends: the decoder writes into buffers of its own, reused
 *   from row to row (no malloc per row), and the caller borrows the text until its next call;
 *   raw_decoder_trim() gives back what one long event made them grow to.
 * - Training (ZDICT_trainFromBuffer on RAW_SAMPLES_MAX sampled events, about 0.1 s) happens
 *   rarely: after RAW_TRAIN_FIRST events, then after 16 times more, and so on up to once every
 *   RAW_TRAIN_EVERY events, or sooner when the ratio drifts (the log's content changed). When the
 *   trainer gives up (too few or too uniform samples) the recent samples themselves become a
 *   raw-content dictionary: nearly as good on uniform input, which is what makes it give up.
 * - The sample is a reservoir (uniform over the events since the last dictionary), bounded to
 *   RAW_SAMPLES_MAX x RAW_SAMPLE_BYTES_MAX, with a fixed-seed generator: runs are reproducible. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
/* ZSTD_d_format and ZSTD_f_zstd1_magicless (the decoder checks at run time that they work) */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "macro.h"
#include "raw-codec.h"
#include "zstd-frame.h"

#define RAW_METHOD_STORED 0
#define RAW_METHOD_ZSTD 1
#define RAW_METHOD_MASK 0x0f
#define RAW_FLAG_STAMP 0x80
#define RAW_STAMP_MARKER '\x01' /* the event's stamp (text holding it is kept as is) */
#define RAW_STAMP_MAX 64        /* "(-9223372036854775.808:18446744073709551615)" */
#define RAW_COMPRESS_MIN 32     /* shorter text is stored as is */
#define RAW_DRIFT_FACTOR 1.5    /* a window this much worse than the first one: retrain */
#define RAW_HEADER_MAX 21       /* method byte + two varints */
#define ZSTD_MAGIC_BYTES 4
#define RAW_DECODER_KEEP (64 * 1024) /* buffer bytes a decoder keeps after raw_decoder_trim() */

static const unsigned char zstd_magic[ZSTD_MAGIC_BYTES] = {0x28, 0xb5, 0x2f, 0xfd};

typedef struct Sample {
        char *data;
        size_t len;
} Sample;

struct RawEncoder {
        ZSTD_CCtx *cctx;
        ZSTD_CDict *cdict;
        ZstdFrameWriter *writer; /* at the fast levels, with a dictionary */
        int level;               /* the CDict's, which rules the frames made with it */
        int64_t dict_id;
        unsigned generation; /* dictionaries used so far: spaces out the next one */

        char *text; /* the text after stamp replacement */
        size_t text_size;
        unsigned char *out; /* header + frame */
        size_t out_size;

        Sample samples[RAW_SAMPLES_MAX];
        size_t n_samples;
        uint64_t seen; /* events since the current dictionary */
        uint64_t rng;

        uint64_t window_events, window_in, window_out;
        double baseline; /* out/in of the first window with this dictionary, 0 when unknown */
        bool drifted;
};

typedef struct LoadedDictionary {
        int64_t id; /* 0: free slot */
        ZSTD_DDict *ddict;
        uint64_t used;
} LoadedDictionary;

struct RawDecoder {
        ZSTD_DCtx *dctx;
        RawDictionaryLoad load;
        void *userdata;
        LoadedDictionary dicts[RAW_DECODER_DICTIONARIES];
        uint64_t tick;
        bool magicless; /* dctx reads the stored frames as they are (ZSTD_f_zstd1_magicless) */
        unsigned char *frame; /* magic + payload, when !magicless */
        size_t frame_size;
        char *text; /* the decompressed text; the result when it has no stamp to put back */
        size_t text_size;
        char *out; /* the text with its stamps back */
        size_t out_size;
};

/* ---- helpers ---- */

static size_t varint_put(unsigned char *p, uint64_t v) {
        size_t n = 0;
        while (v >= 0x80) {
                p[n++] = (unsigned char) (v | 0x80);
                v >>= 7;
        }
        p[n++] = (unsigned char) v;
        return n;
}

static int varint_get(const unsigned char **p, const unsigned char *end, uint64_t *ret) {
        uint64_t v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
                if (*p >= end)
                        return -EBADMSG;
                unsigned char b = *(*p)++;
                v |= (uint64_t) (b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

static int ensure_size(void **buf, size_t *size, size_t need) {
        if (*size >= need)
                return 0;
        size_t n = MAX(need, *size * 2);
        void *p = realloc(*buf, n);
        if (!p)
                return -ENOMEM;
        *buf = p;
        *size = n;
        return 0;
}

/* The decimal digits of u at p (at most 20, no NUL); returns how many. Counted from the highest
 * bit (log10(2) is about 1233/4096), then written two at a time from a table, in place: a
 * third of the instructions of one digit at a time into a scratch buffer and a copy. */
static size_t format_digits(char *p, uint64_t u) {
        static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                    "31323334353637383940414243444546474849505152535455565758596061"
                                    "62636465666768697071727374757677787980818283848586878889909192"
                                    "93949596979899";
        static const uint64_t powers[20] = {1ULL,
                                            10ULL,
                                            100ULL,
                                            1000ULL,
                                            10000ULL,
                                            100000ULL,
                                            1000000ULL,
                                            10000000ULL,
                                            100000000ULL,
                                            1000000000ULL,
                                            10000000000ULL,
                                            100000000000ULL,
                                            1000000000000ULL,
                                            10000000000000ULL,
                                            100000000000000ULL,
                                            1000000000000000ULL,
                                            10000000000000000ULL,
                                            100000000000000000ULL,
                                            1000000000000000000ULL,
                                            10000000000000000000ULL};
        unsigned bits = 64 - (unsigned) __builtin_clzll(u | 1);
        size_t t = (bits * 1233) >> 12, n = t + 1 - (u < powers[t]);
        if (n == 0) /* u = 0 */
                n = 1;
        char *q = p + n;
        while (u >= 100) {
                unsigned r = (unsigned) (u % 100);
                u /= 100;
                q -= 2;
                memcpy(q, pairs + 2 * r, 2);
        }
        if (u >= 10)
                memcpy(q - 2, pairs + 2 * u, 2);
        else
                q[-1] = (char) ('0' + u);
        return n;
}

/* "(1713603292.240:1088)"; 0 when the time cannot be written that way (negative). Written by
 * hand: snprintf() was a tenth of what decoding a row cost. */
static size_t stamp_format(char buf[static RAW_STAMP_MAX], int64_t time_ms, uint64_t serial) {
        size_t n = 0;

        if (time_ms < 0)
                return 0;
        buf[n++] = '(';
        n += format_digits(buf + n, (uint64_t) time_ms / 1000);
        unsigned ms = (unsigned) (time_ms % 1000);
        buf[n++] = '.';
        buf[n++] = (char) ('0' + ms / 100);
        buf[n++] = (char) ('0' + ms / 10 % 10);
        buf[n++] = (char) ('0' + ms % 10);
        buf[n++] = ':';
        n += format_digits(buf + n, serial);
        buf[n++] = ')';
        return n; /* at most 1 + 19 + 4 + 1 + 20 + 1 < RAW_STAMP_MAX */
}

/* The first stamp in [p, end), or NULL. What memmem() finds, but the stamp begins with '(',
 * which a record has a few of (each "audit(", "(none)", "(null)"): a memchr() and a compare at
 * each is a third of memmem()'s work here. */
static const char *stamp_find(const char *p, const char *end, const char *stamp, size_t stamp_len) {
        while ((size_t) (end - p) >= stamp_len) {
                const char *open = memchr(p, '(', (size_t) (end - p) - stamp_len + 1);
                if (!open)
                        return NULL;
                if (memcmp(open, stamp, stamp_len) == 0)
                        return open;
                p = open + 1;
        }
        return NULL;
}

static uint64_t rng_next(uint64_t *s) {
        /* xorshift64*: plenty for picking reservoir slots */
        uint64_t x = *s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *s = x;
        return x * 0x2545f4914f6cdd1dULL;
}

/* ---- encoder ---- */

int raw_encoder_new(RawEncoder **ret) {
        _cleanup_(freep) RawEncoder *e = calloc(1, sizeof(RawEncoder));
        if (!e)
                return -ENOMEM;
        e->cctx = ZSTD_createCCtx();
        if (!e->cctx)
                return -ENOMEM;
        if (ZSTD_isError(
                    ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, RAW_LEVEL_DEFAULT)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_contentSizeFlag, 0)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_checksumFlag, 0)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_dictIDFlag, 0))) {
                ZSTD_freeCCtx(e->cctx);
                return -EINVAL;
        }
        e->level = RAW_LEVEL_DEFAULT;
        e->rng = 0x9e3779b97f4a7c15ULL;
        *ret = TAKE_PTR(e);
        return 0;
}

static void samples_clear(RawEncoder *e) {
        for (size_t i = 0; i < e->n_samples; i++)
                free(e->samples[i].data);
        e->n_samples = 0;
}

RawEncoder *raw_encoder_free(RawEncoder *e) {
        if (!e)
                return NULL;
        samples_clear(e);
        zstd_frame_writer_free(e->writer);
        ZSTD_freeCDict(e->cdict);
        ZSTD_freeCCtx(e->cctx);
        free(e->text);
        free(e->out);
        free(e);
        return NULL;
}

/* The dictionary digested for level, with the smallest window: frames made with it by
 * frame_compress() then carry the window ZSTD_compress2() writes for a context that refers to a
 * dictionary (only as large as the text, since a dictionary attached to the context is reached
 * whatever the window), so that a frame comes out byte for byte as it did before frame_compress()
 * (test-raw-codec checks it). The window is the only parameter that differs: the match tables
 * are made for the level, as ZSTD_createCDict() makes them. */
static ZSTD_CDict *cdict_new(const void *dict, size_t len, int level) {
        ZSTD_CCtx_params *params = ZSTD_createCCtxParams();
        ZSTD_CDict *cdict = NULL;

        if (!params)
                return NULL;
        if (!ZSTD_isError(ZSTD_CCtxParams_setParameter(params, ZSTD_c_compressionLevel, level)) &&
            !ZSTD_isError(
                    ZSTD_CCtxParams_setParameter(params, ZSTD_c_windowLog, ZSTD_WINDOWLOG_MIN)))
                cdict = ZSTD_createCDict_advanced2(dict, len, ZSTD_dlm_byCopy, ZSTD_dct_auto,
                                                   params, ZSTD_defaultCMem);
        ZSTD_freeCCtxParams(params);
        return cdict;
}

/* One frame of src with the encoder's dictionary, if any: magic, no content size, checksum or
 * dictionary id. With a dictionary at the fast levels by zstd-frame.c, unless the text is outside
 * what it takes; otherwise through zstd's one-shot call for a digested dictionary, which
 * takes the frame's parameters from the call and the rest from the dictionary: ZSTD_compress2()
 * on a context that refers to the dictionary writes the same frame, but resolves the parameters
 * anew for every frame and goes through the streaming stage, about 630 instructions of the 7,400
 * a 300-byte event cost (docs/benchmarks.md). That call is marked deprecated (in favour of
 * ZSTD_compress2()), hence the pragma; should a later libzstd drop it, ZSTD_compress2() after
 * ZSTD_CCtx_refCDict() writes the same frames. */
static size_t frame_compress(RawEncoder *e, void *dst, size_t dst_size, const void *src,
                             size_t src_size) {
        static const ZSTD_frameParameters frame = {
                .contentSizeFlag = 0,
                .checksumFlag = 0,
                .noDictIDFlag = 1,
        };

        if (!e->cdict)
                return ZSTD_compress2(e->cctx, dst, dst_size, src, src_size);
        if (e->writer) {
                size_t z = zstd_frame_write(e->writer, dst, dst_size, src, src_size);
                if (z > 0)
                        return z;
        }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        return ZSTD_compress_usingCDict_advanced(e->cctx, dst, dst_size, src, src_size, e->cdict,
                                                 frame);
#pragma GCC diagnostic pop
}

int raw_encoder_use_dictionary(RawEncoder *e, int64_t id, const void *dict, size_t len) {
        ZSTD_CDict *cdict = NULL;
        ZstdFrameWriter *writer = NULL;
        int r;

        if (id < 0 || (id > 0 && (!dict || len == 0)))
                return -EINVAL;
        if (id > 0) {
                cdict = cdict_new(dict, len, e->level);
                if (!cdict)
                        return -ENOMEM;
                if (e->level < 0) {
                        r = zstd_frame_writer_new(dict, len, &writer);
                        if (r == -ENOMEM) {
                                ZSTD_freeCDict(cdict);
                                return r;
                        }
                        /* otherwise (a header libzstd cannot read) libzstd writes every frame */
                }
        }
        ZSTD_freeCDict(e->cdict);
        e->cdict = cdict;
        zstd_frame_writer_free(e->writer);
        e->writer = writer;
        e->dict_id = id;
        e->generation++;
        e->seen = 0;
        e->window_events = e->window_in = e->window_out = 0;
        e->baseline = 0;
        e->drifted = false;
        samples_clear(e);
        return 0;
}

int raw_encoder_set_level(RawEncoder *e, int level) {
        if (!e || level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
                return -EINVAL;
        if (e->cdict)
                return -EBUSY; /* its tables are made for the level it was made with */
        if (ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, level)))
                return -EINVAL;
        e->level = level;
        return 0;
}

int64_t raw_encoder_dictionary_id(const RawEncoder *e) {
        return e ? e->dict_id : 0;
}

static void sample_add(RawEncoder *e, const char *text, size_t len) {
        size_t slot;

        e->seen++;
        if (e->n_samples < RAW_SAMPLES_MAX)
                slot = e->n_samples;
        else {
                uint64_t j = rng_next(&e->rng) % e->seen;
                if (j >= RAW_SAMPLES_MAX)
                        return;
                slot = (size_t) j;
        }
        len = MIN(len, (size_t) RAW_SAMPLE_BYTES_MAX);
        char *copy = malloc(len);
        if (!copy)
                return; /* a smaller sample, no harm */
        memcpy(copy, text, len);
        if (slot < e->n_samples)
                free(e->samples[slot].data);
        else
                e->n_samples++;
        e->samples[slot] = (Sample){.data = copy, .len = len};
}

static void drift_account(RawEncoder *e, size_t in, size_t out) {
        if (!e->cdict)
                return;
        e->window_events++;
        e->window_in += in;
        e->window_out += out;
        if (e->window_events < RAW_DRIFT_WINDOW)
                return;
        double ratio = (double) e->window_out / (double) MAX(e->window_in, (uint64_t) 1);
        if (e->baseline == 0)
                e->baseline = ratio;
        else if (ratio > e->baseline * RAW_DRIFT_FACTOR)
                e->drifted = true;
        e->window_events = e->window_in = e->window_out = 0;
}

int raw_encode(RawEncoder *e, const char *text, size_t len, int64_t time_ms, uint64_t serial,
               const void **ret, size_t *ret_len) {
        char stamp[RAW_STAMP_MAX];
        size_t stamp_len, n = 0, header;
        unsigned char flags = 0;
        int r;

        if (!e || (!text && len > 0) || !ret || !ret_len)
                return -EINVAL;
        if (len > RAW_TEXT_MAX)
                return -E2BIG;

        /* The stamp, wherever the event repeats it, becomes one marker byte. */
        r = ensure_size((void **) &e->text, &e->text_size, len + 1);
        if (r < 0)
                return r;
        stamp_len = stamp_format(stamp, time_ms, serial);
        if (stamp_len > 0 && len > 0 && !memchr(text, RAW_STAMP_MARKER, len)) {
                const char *p = text, *end = text + len, *hit;
                while ((hit = stamp_find(p, end, stamp, stamp_len))) {
                        memcpy(e->text + n, p, (size_t) (hit - p));
                        n += (size_t) (hit - p);
                        e->text[n++] = '(';
                        e->text[n++] = RAW_STAMP_MARKER;
                        e->text[n++] = ')';
                        p = hit + stamp_len;
                        flags = RAW_FLAG_STAMP;
                }
                memcpy(e->text + n, p, (size_t) (end - p));
                n += (size_t) (end - p);
        } else {
                if (len > 0)
                        memcpy(e->text, text, len);
                n = len;
        }

        size_t bound = ZSTD_compressBound(n);
        r = ensure_size((void **) &e->out, &e->out_size, RAW_HEADER_MAX + MAX(bound, n));
        if (r < 0)
                return r;

        if (n >= RAW_COMPRESS_MIN) {
                sample_add(e, e->text, n);
                /* The frame is written after a provisional header with room to spare, then the
                 * magic is cut and the real header placed right before it. */
                unsigned char *frame = e->out + RAW_HEADER_MAX - ZSTD_MAGIC_BYTES;
                size_t z = frame_compress(e, frame, bound, e->text, n);
                if (!ZSTD_isError(z) && z > ZSTD_MAGIC_BYTES &&
                    memcmp(frame, zstd_magic, ZSTD_MAGIC_BYTES) == 0 && z - ZSTD_MAGIC_BYTES < n) {
                        unsigned char h[RAW_HEADER_MAX];
                        h[0] = RAW_METHOD_ZSTD | flags;
                        header = 1;
                        header += varint_put(h + header, (uint64_t) e->dict_id);
                        header += varint_put(h + header, n);
                        unsigned char *start = e->out + RAW_HEADER_MAX - header;
                        memcpy(start, h, header);
                        drift_account(e, n, z - ZSTD_MAGIC_BYTES + header);
                        *ret = start;
                        *ret_len = header + z - ZSTD_MAGIC_BYTES;
                        return 0;
                }
        }

        e->out[0] = RAW_METHOD_STORED | flags;
        header = 1 + varint_put(e->out + 1, n);
        memcpy(e->out + header, e->text, n);
        *ret = e->out;
        *ret_len = header + n;
        return 0;
}

bool raw_encoder_wants_dictionary(const RawEncoder *e) {
        if (!e || e->n_samples == 0)
                return false;
        if (e->drifted)
                return true;
        /* 2048, 32768, 524288, then every RAW_TRAIN_EVERY events */
        uint64_t due = (uint64_t) RAW_TRAIN_FIRST << (4 * MIN(e->generation, 3u));
        return e->seen >= MIN(due, (uint64_t) RAW_TRAIN_EVERY);
}

void raw_encoder_postpone(RawEncoder *e) {
        if (!e)
                return;
        e->seen = 0;
        e->drifted = false;
        e->window_events = e->window_in = e->window_out = 0;
}

int raw_encoder_train(RawEncoder *e, void **ret, size_t *ret_len) {
        _cleanup_(freep) size_t *sizes = NULL;
        _cleanup_(freep) char *all = NULL;
        _cleanup_(freep) void *dict = NULL;
        size_t total = 0, o = 0, n;

        if (!e || !ret || !ret_len)
                return -EINVAL;
        if (e->n_samples < 8) {
                raw_encoder_postpone(e);
                return -ENODATA;
        }
        sizes = calloc(e->n_samples, sizeof(size_t));
        dict = malloc(RAW_DICTIONARY_MAX);
        for (size_t i = 0; i < e->n_samples; i++)
                total += e->samples[i].len;
        all = malloc(total);
        if (!sizes || !dict || !all)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_samples; i++) {
                memcpy(all + o, e->samples[i].data, e->samples[i].len);
                o += e->samples[i].len;
                sizes[i] = e->samples[i].len;
        }

        n = ZDICT_trainFromBuffer(dict, RAW_DICTIONARY_MAX, all, sizes, (unsigned) e->n_samples);
        if (ZDICT_isError(n) || n < 256) {
                /* Too uniform to train on: the newest samples as raw content. */
                n = MIN(total, (size_t) RAW_DICTIONARY_MAX);
                memcpy(dict, all + total - n, n);
                /* Raw content must not look like a trained dictionary. */
                if (n >= 4 && memcmp(dict, "\x37\xa4\x30\xec", 4) == 0)
                        ((unsigned char *) dict)[0] ^= 1;
        }
        *ret = TAKE_PTR(dict);
        *ret_len = n;
        return 0;
}

/* ---- decoder ---- */

/* Whether d->dctx, set to the magic-less format, reads a frame whose magic was cut as the
 * encoder cuts it: made here with the same library, so that a libzstd that took the parameter
 * for something else is found out before it meets a stored row. */
static bool magicless_works(RawDecoder *d) {
        static const char sample[] = "type=AVC msg=audit(1713603292.240:1088): avc:  denied  "
                                     "{ read } for  pid=1 comm=\"sh\" tclass=file permissive=0";
        unsigned char frame[256];
        char back[sizeof(sample)];

        size_t z = ZSTD_compress(frame, sizeof(frame), sample, sizeof(sample), 1);
        if (ZSTD_isError(z) || z <= ZSTD_MAGIC_BYTES ||
            memcmp(frame, zstd_magic, ZSTD_MAGIC_BYTES) != 0)
                return false;
        size_t n = ZSTD_decompressDCtx(d->dctx, back, sizeof(back), frame + ZSTD_MAGIC_BYTES,
                                       z - ZSTD_MAGIC_BYTES);
        return !ZSTD_isError(n) && n == sizeof(sample) && memcmp(back, sample, n) == 0;
}

static int decoder_new(RawDictionaryLoad load, void *userdata, bool magicless, RawDecoder **ret) {
        _cleanup_(freep) RawDecoder *d = calloc(1, sizeof(RawDecoder));
        if (!d)
                return -ENOMEM;
        d->dctx = ZSTD_createDCtx();
        if (!d->dctx)
                return -ENOMEM;
        d->load = load;
        d->userdata = userdata;
        if (magicless &&
            !ZSTD_isError(ZSTD_DCtx_setParameter(d->dctx, ZSTD_d_format, ZSTD_f_zstd1_magicless)))
                d->magicless = magicless_works(d);
        if (!d->magicless)
                /* Back to the frames with their magic (the parameters only: nothing is loaded). */
                if (ZSTD_isError(ZSTD_DCtx_reset(d->dctx, ZSTD_reset_parameters))) {
                        ZSTD_freeDCtx(d->dctx);
                        return -ENOMEM;
                }
        *ret = TAKE_PTR(d);
        return 0;
}

int raw_decoder_new(RawDictionaryLoad load, void *userdata, RawDecoder **ret) {
        return decoder_new(load, userdata, true, ret);
}

int raw_decoder_new_with_magic(RawDictionaryLoad load, void *userdata, RawDecoder **ret) {
        return decoder_new(load, userdata, false, ret);
}

bool raw_decoder_magicless(const RawDecoder *d) {
        return d && d->magicless;
}

RawDecoder *raw_decoder_free(RawDecoder *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(d->dicts); i++)
                ZSTD_freeDDict(d->dicts[i].ddict);
        ZSTD_freeDCtx(d->dctx);
        free(d->frame);
        free(d->text);
        free(d->out);
        free(d);
        return NULL;
}

static void buffer_trim(void **buf, size_t *size) {
        if (*size <= RAW_DECODER_KEEP)
                return;
        free(*buf);
        *buf = NULL;
        *size = 0;
}

void raw_decoder_trim(RawDecoder *d) {
        if (!d)
                return;
        buffer_trim((void **) &d->frame, &d->frame_size);
        buffer_trim((void **) &d->text, &d->text_size);
        buffer_trim((void **) &d->out, &d->out_size);
}

static int decoder_dictionary(RawDecoder *d, int64_t id, ZSTD_DDict **ret) {
        LoadedDictionary *victim = &d->dicts[0];
        _cleanup_(freep) void *data = NULL;
        size_t len = 0;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(d->dicts); i++) {
                if (d->dicts[i].id == id && d->dicts[i].ddict) {
                        d->dicts[i].used = ++d->tick;
                        *ret = d->dicts[i].ddict;
                        return 0;
                }
                if (d->dicts[i].used < victim->used)
                        victim = &d->dicts[i];
        }
        if (!d->load)
                return -ENOENT;
        r = d->load(id, &data, &len, d->userdata);
        if (r < 0)
                return r;
        ZSTD_DDict *ddict = ZSTD_createDDict(data, len);
        if (!ddict)
                return -ENOMEM;
        ZSTD_freeDDict(victim->ddict);
        *victim = (LoadedDictionary){.id = id, .ddict = ddict, .used = ++d->tick};
        *ret = ddict;
        return 0;
}

typedef struct BlobHeader {
        unsigned method, flags;
        uint64_t dict_id, text_len;
        const unsigned char *payload;
        size_t payload_len;
} BlobHeader;

static int blob_parse(const void *blob, size_t len, BlobHeader *ret) {
        const unsigned char *p = blob, *end = p + len;
        BlobHeader h = {};

        if (!blob || len < 2)
                return -EBADMSG;
        h.method = p[0] & RAW_METHOD_MASK;
        h.flags = p[0] & ~RAW_METHOD_MASK;
        p++;
        if (h.flags & ~RAW_FLAG_STAMP)
                return -EBADMSG;
        if (h.method == RAW_METHOD_ZSTD) {
                if (varint_get(&p, end, &h.dict_id) < 0 || h.dict_id > INT64_MAX)
                        return -EBADMSG;
        } else if (h.method != RAW_METHOD_STORED)
                return -EBADMSG;
        if (varint_get(&p, end, &h.text_len) < 0 || h.text_len > RAW_TEXT_MAX)
                return -EBADMSG;
        h.payload = p;
        h.payload_len = (size_t) (end - p);
        if (h.method == RAW_METHOD_STORED && h.payload_len != h.text_len)
                return -EBADMSG;
        *ret = h;
        return 0;
}

int64_t raw_blob_dictionary(const void *blob, size_t len) {
        BlobHeader h;
        int r = blob_parse(blob, len, &h);
        return r < 0 ? r : (int64_t) h.dict_id;
}

/* The zstd payload of h into d->text, with ddict (NULL: none). */
static int decoder_decompress(RawDecoder *d, const BlobHeader *h, const ZSTD_DDict *ddict) {
        const void *src = h->payload;
        size_t src_len = h->payload_len;
        int r;

        if (src_len == 0) /* not a frame, which the magic-less decoder would take for none */
                return -EBADMSG;
        if (!d->magicless) {
                r = ensure_size((void **) &d->frame, &d->frame_size, src_len + ZSTD_MAGIC_BYTES);
                if (r < 0)
                        return r;
                memcpy(d->frame, zstd_magic, ZSTD_MAGIC_BYTES);
                memcpy(d->frame + ZSTD_MAGIC_BYTES, src, src_len);
                src = d->frame;
                src_len += ZSTD_MAGIC_BYTES;
        }
        /* The dictionary is sticky in the context: set (or cleared) for every blob. */
        if (ZSTD_isError(ZSTD_DCtx_refDDict(d->dctx, ddict)))
                return -EBADMSG;
        size_t z = ZSTD_decompressDCtx(d->dctx, d->text, h->text_len, src, src_len);
        if (ZSTD_isError(z) || z != h->text_len)
                return -EBADMSG;
        return 0;
}

/* d->text (len bytes) with the stamp back wherever the marker stands, into d->out. */
static int decoder_put_stamp_back(RawDecoder *d, size_t len, int64_t time_ms, uint64_t serial,
                                  const char **ret, size_t *ret_len) {
        const char *text = d->text, *end = text + len, *p, *m;
        char stamp[RAW_STAMP_MAX];
        size_t stamp_len = stamp_format(stamp, time_ms, serial), markers = 0;
        int r;

        if (stamp_len == 0)
                return -EBADMSG;
        for (p = text; (m = memchr(p, RAW_STAMP_MARKER, (size_t) (end - p))); p = m + 1)
                markers++;
        /* Each "(marker)" gives back the stamp it replaced: the text the encoder took, which was
         * at most RAW_TEXT_MAX long. More is a damaged blob. */
        size_t out_len = len + markers * (stamp_len - 3);
        if (out_len > RAW_TEXT_MAX)
                return -EBADMSG;
        r = ensure_size((void **) &d->out, &d->out_size, out_len + 1);
        if (r < 0)
                return r;
        char *o = d->out;
        for (p = text; (m = memchr(p, RAW_STAMP_MARKER, (size_t) (end - p))); p = m + 2) {
                /* The marker always stands between the parentheses it replaced (and the one
                 * before cannot be the ')' of the previous stamp: m[-1] would be that). */
                if (m == text || m[-1] != '(' || m + 1 >= end || m[1] != ')')
                        return -EBADMSG;
                memcpy(o, p, (size_t) (m - 1 - p));
                o += m - 1 - p;
                memcpy(o, stamp, stamp_len);
                o += stamp_len;
        }
        memcpy(o, p, (size_t) (end - p));
        o += end - p;
        *o = 0;
        *ret = d->out;
        if (ret_len)
                *ret_len = (size_t) (o - d->out);
        return 0;
}

int raw_decode(RawDecoder *d, const void *blob, size_t len, int64_t time_ms, uint64_t serial,
               const char **ret, size_t *ret_len) {
        ZSTD_DDict *ddict = NULL;
        BlobHeader h;
        int r;

        if (!d || !ret)
                return -EINVAL;
        r = blob_parse(blob, len, &h);
        if (r < 0)
                return r;

        r = ensure_size((void **) &d->text, &d->text_size, h.text_len + 1);
        if (r < 0)
                return r;
        if (h.method == RAW_METHOD_STORED)
                memcpy(d->text, h.payload, h.text_len);
        else {
                if (h.dict_id > 0) {
                        r = decoder_dictionary(d, (int64_t) h.dict_id, &ddict);
                        if (r < 0)
                                return r;
                }
                r = decoder_decompress(d, &h, ddict);
                if (r < 0)
                        return r;
        }
        d->text[h.text_len] = 0;
        if (memchr(d->text, 0, h.text_len))
                return -EBADMSG;

        if (h.flags & RAW_FLAG_STAMP)
                return decoder_put_stamp_back(d, h.text_len, time_ms, serial, ret, ret_len);
        *ret = d->text;
        if (ret_len)
                *ret_len = h.text_len;
        return 0;
}
