/* SPDX-License-Identifier: MIT */
/* zstd frame writer (zstd-frame.h has the why). Written from RFC 8878 (Zstandard compression
 * and the application/zstd media type): section numbers below are the RFC's.
 *
 * Decisions:
 * - Matches are found by hashing 5 bytes: in the dictionary's content through a table made once
 *   per dictionary (4 positions a bucket, the latest first, and the longest match wins: the
 *   dictionary holds many near copies of one event and the latest is seldom the longest), in the
 *   text so far through a small table that is never cleared (an entry left by an earlier text is
 *   refused unless it lies before the current position, and every match is compared byte for
 *   byte before use). A match is extended backwards over the pending literals. Before the
 *   tables, the last offset is tried again (an event differs from its nearest copy by a few
 *   digits); it is then written as repeat offset 1, which needs no history from before the
 *   frame (3.1.1.5: with literals before it, repeat 1 is the last offset, which this frame set).
 * - Everything else is the simplest valid choice: one compressed block (3.1.1.2), literals
 *   stored raw (3.1.1.3.1), the three codes with their predefined distributions (3.1.1.3.2.2),
 *   no content size, checksum or dictionary id, and the smallest window that holds the text
 *   (2^10 at least; matches reach into the dictionary whatever the window, as zstd's own frames
 *   with an attached dictionary do). On the events of a store this writes frames as small as
 *   zstd's fast levels or smaller: the dictionary's own entropy tables save little on two to six
 *   sequences, and raw literals are what zstd chooses for three or four of them.
 * - The dictionary's content and the text lie in one buffer, so that a match may run from the
 *   dictionary into the text as the decoder sees them (the content, then the frame's output). */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>

#include "macro.h"
#include "zstd-frame.h"

#define MIN_MATCH 5
#define DICT_HASH_LOG 13 /* x 4 ways x 4 bytes: 128 KiB, about as good as 2^15 on events */
#define DICT_WAYS 4
#define TEXT_HASH_LOG 10
#define SEQUENCES_MAX (ZSTD_FRAME_TEXT_MAX / MIN_MATCH + 1)
#define TAIL_PAD 16 /* the matcher reads 8 bytes at a time, up to past the text's end */
#define WINDOW_LOG_MIN 10
#define FRAME_HEADER 9 /* magic, descriptor, window, block header */

#define LL_CODES 36
#define ML_CODES 53
#define OF_CODES 29

static const unsigned char frame_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
static const unsigned char dictionary_magic[4] = {0x37, 0xa4, 0x30, 0xec};

/* 3.1.1.3.2.2: the predefined distributions (-1: a probability below 1) */
static const int16_t ll_norm[LL_CODES] = {4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1,  1,  2,  2,
                                          2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1};
static const int16_t ml_norm[ML_CODES] = {
        1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1,  1,  1,  1,  1,  1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1};
static const int16_t of_norm[OF_CODES] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 1,  1,  1,  1,  1, 1,
                                          1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1};

/* 3.1.1.3.2.1.1: the codes' baselines and extra bits */
static const uint8_t ll_bits[LL_CODES] = {0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0,
                                          0, 0, 0, 0, 1, 1,  1,  1,  2,  2,  3,  3,
                                          4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint32_t ll_base[LL_CODES] = {
        0,  1,  2,  3,  4,  5,  6,  7,  8,   9,   10,  11,   12,   13,   14,   15,    16,    18,
        20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
static const uint8_t ml_bits[ML_CODES] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0, 0,
        0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint32_t ml_base[ML_CODES] = {
        3,  4,  5,  6,  7,  8,  9,  10,  11,  12,  13,   14,   15,   16,   17,    18,    19,   20,
        21, 22, 23, 24, 25, 26, 27, 28,  29,  30,  31,   32,   33,   34,   35,    37,    39,   41,
        43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539};

/* An FSE encoding table (4.1): the states in spread order per symbol, and per symbol what turns
 * a state into the bits to write and the next state. */
typedef struct FseSymbol {
        uint32_t delta_bits;
        int32_t delta_state;
} FseSymbol;

typedef struct FseTable {
        unsigned log;
        uint16_t state[64];
        FseSymbol symbol[ML_CODES];
} FseTable;

typedef struct Sequence {
        uint32_t literals, match, offset;
} Sequence;

struct ZstdFrameWriter {
        unsigned char *buf; /* the dictionary's content, then room for the text */
        size_t content_len;
        uint32_t dict_hash[1 << DICT_HASH_LOG][DICT_WAYS]; /* content position + 1, 0: none */
        uint16_t text_hash[1 << TEXT_HASH_LOG];            /* text position + 1 */
        FseTable ll, ml, of;
        uint8_t ll_code_small[64], ml_code_small[128];

        Sequence seq[SEQUENCES_MAX];
        uint32_t offset_value[SEQUENCES_MAX];
        uint8_t ll_code[SEQUENCES_MAX], ml_code[SEQUENCES_MAX], of_code[SEQUENCES_MAX];
        unsigned char literals[ZSTD_FRAME_TEXT_MAX];
};

static unsigned highbit(uint32_t v) {
        return 31u - (unsigned) __builtin_clz(v);
}

/* 4.1.1: the decoder's spread of the states, and from it the encoder's transform. */
static void fse_table_build(FseTable *t, const int16_t *norm, unsigned n, unsigned log) {
        unsigned size = 1u << log, mask = size - 1, high = size - 1, pos = 0, total = 0;
        unsigned step = (size >> 1) + (size >> 3) + 3, cumul[ML_CODES + 1];
        uint8_t spread[64];

        t->log = log;
        cumul[0] = 0;
        for (unsigned s = 0; s < n; s++)
                if (norm[s] == -1) {
                        cumul[s + 1] = cumul[s] + 1;
                        spread[high--] = (uint8_t) s;
                } else
                        cumul[s + 1] = cumul[s] + (unsigned) norm[s];
        for (unsigned s = 0; s < n; s++)
                for (int k = 0; k < norm[s]; k++) {
                        spread[pos] = (uint8_t) s;
                        do
                                pos = (pos + step) & mask;
                        while (pos > high);
                }
        for (unsigned u = 0; u < size; u++)
                t->state[cumul[spread[u]]++] = (uint16_t) (size + u);
        for (unsigned s = 0; s < n; s++) {
                int c = norm[s];
                if (c == -1 || c == 1) {
                        t->symbol[s].delta_bits = (log << 16) - size;
                        t->symbol[s].delta_state = (int32_t) total - 1;
                        total++;
                } else {
                        unsigned bits_out = log - highbit((uint32_t) c - 1);
                        t->symbol[s].delta_bits = (bits_out << 16) - ((unsigned) c << bits_out);
                        t->symbol[s].delta_state = (int32_t) total - c;
                        total += (unsigned) c;
                }
        }
}

static uint64_t read64(const unsigned char *p) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static uint32_t hash5(const unsigned char *p, unsigned log) {
        return (uint32_t) (((read64(p) << 24) * 0xcf1bbcdcbbULL) >> (64 - log));
}

int zstd_frame_writer_new(const void *dict, size_t len, ZstdFrameWriter **ret) {
        size_t header = 0;

        if (!dict || !ret)
                return -EINVAL;
        if (len >= sizeof(dictionary_magic) &&
            memcmp(dict, dictionary_magic, sizeof(dictionary_magic)) == 0) {
                header = ZDICT_getDictHeaderSize(dict, len);
                if (ZDICT_isError(header) || header > len)
                        return -EINVAL;
        }

        _cleanup_(freep) ZstdFrameWriter *w = calloc(1, sizeof(ZstdFrameWriter));
        if (!w)
                return -ENOMEM;
        w->content_len = len - header;
        w->buf = calloc(1, w->content_len + ZSTD_FRAME_TEXT_MAX + TAIL_PAD);
        if (!w->buf)
                return -ENOMEM;
        memcpy(w->buf, (const unsigned char *) dict + header, w->content_len);
        for (size_t p = 0; p + sizeof(uint64_t) <= w->content_len; p++) {
                uint32_t *b = w->dict_hash[hash5(w->buf + p, DICT_HASH_LOG)];
                memmove(b + 1, b, (DICT_WAYS - 1) * sizeof(*b));
                b[0] = (uint32_t) p + 1;
        }

        fse_table_build(&w->ll, ll_norm, LL_CODES, 6);
        fse_table_build(&w->ml, ml_norm, ML_CODES, 6);
        fse_table_build(&w->of, of_norm, OF_CODES, 5);
        for (unsigned v = 0, c = 0; v < ELEMENTSOF(w->ll_code_small); v++) {
                while (c + 1 < LL_CODES && ll_base[c + 1] <= v)
                        c++;
                w->ll_code_small[v] = (uint8_t) c;
        }
        for (unsigned v = 0, c = 0; v < ELEMENTSOF(w->ml_code_small); v++) {
                while (c + 1 < ML_CODES && ml_base[c + 1] - 3 <= v)
                        c++;
                w->ml_code_small[v] = (uint8_t) c;
        }
        *ret = TAKE_PTR(w);
        return 0;
}

ZstdFrameWriter *zstd_frame_writer_free(ZstdFrameWriter *w) {
        if (!w)
                return NULL;
        free(w->buf);
        free(w);
        return NULL;
}

/* How many bytes at p equal those at q (q < p), up to end. */
static size_t match_length(const unsigned char *p, const unsigned char *q,
                           const unsigned char *end) {
        const unsigned char *start = p;

        while (p + sizeof(uint64_t) <= end) {
                uint64_t x = read64(p) ^ read64(q);
                if (x)
                        return (size_t) (p - start) + ((unsigned) __builtin_ctzll(x) >> 3);
                p += sizeof(uint64_t);
                q += sizeof(uint64_t);
        }
        while (p < end && *p == *q) {
                p++;
                q++;
        }
        return (size_t) (p - start);
}

/* The text (at w->buf + content_len, n bytes) as sequences and literals; returns how many
 * sequences, *ret_literals how many literal bytes. */
static size_t find_sequences(ZstdFrameWriter *w, size_t n, size_t *ret_literals) {
        const unsigned char *text = w->buf + w->content_len, *end = text + n;
        size_t ip = 0, anchor = 0, nseq = 0, nlit = 0;
        uint32_t last = 0;

        while (ip + sizeof(uint64_t) < n) {
                const unsigned char *p = text + ip;
                size_t here = w->content_len + ip, best = 0, from = 0;

                if (last > 0 && ip > anchor && last <= here) {
                        size_t l = match_length(p, p - last, end);
                        if (l >= MIN_MATCH - 1) {
                                best = l;
                                from = here - last;
                        }
                }
                /* a new offset costs about two bytes more than the last one again */
                const uint32_t *bucket = w->dict_hash[hash5(p, DICT_HASH_LOG)];
                for (unsigned k = 0; k < DICT_WAYS && bucket[k] > 0; k++) {
                        const unsigned char *q = w->buf + bucket[k] - 1;
                        if (best > 0 && q[best] != p[best])
                                continue;
                        size_t l = match_length(p, q, end);
                        if (l >= MIN_MATCH && l > best + 1) {
                                best = l;
                                from = bucket[k] - 1;
                        }
                }
                uint16_t *slot = &w->text_hash[hash5(p, TEXT_HASH_LOG)];
                if (*slot > 0 && *slot - 1u < ip) {
                        size_t l = match_length(p, text + *slot - 1, end);
                        if (l >= MIN_MATCH && l > best + 1) {
                                best = l;
                                from = w->content_len + *slot - 1;
                        }
                }
                *slot = (uint16_t) (ip + 1);
                if (best == 0) {
                        ip++;
                        continue;
                }
                while (ip > anchor && from > 0 && w->buf[from - 1] == text[ip - 1]) {
                        ip--;
                        here--;
                        from--;
                        best++;
                }
                memcpy(w->literals + nlit, text + anchor, ip - anchor);
                nlit += ip - anchor;
                last = (uint32_t) (here - from);
                w->seq[nseq++] = (Sequence){
                        .literals = (uint32_t) (ip - anchor),
                        .match = (uint32_t) best,
                        .offset = last,
                };
                ip += best;
                anchor = ip;
        }
        memcpy(w->literals + nlit, text + anchor, n - anchor);
        *ret_literals = nlit + (n - anchor);
        return nseq;
}

/* 4.1: a little-endian bit stream, written forwards, read backwards by the decoder. */
typedef struct BitWriter {
        uint64_t bits;
        unsigned count;
        unsigned char *p;
} BitWriter;

static void bits_add(BitWriter *b, uint64_t v, unsigned n) {
        b->bits |= (v & ((UINT64_C(1) << n) - 1)) << b->count;
        b->count += n;
}

static void bits_flush(BitWriter *b) {
        unsigned bytes = b->count >> 3;
        memcpy(b->p, &b->bits, sizeof(b->bits)); /* the room is checked before */
        b->p += bytes;
        b->count &= 7;
        b->bits = bytes == 8 ? 0 : b->bits >> (bytes * 8);
}

static uint32_t fse_first(const FseTable *t, unsigned symbol) {
        const FseSymbol *s = &t->symbol[symbol];
        uint32_t bits_out = (s->delta_bits + (1u << 15)) >> 16;
        uint32_t value = (bits_out << 16) - s->delta_bits;
        return t->state[(int32_t) (value >> bits_out) + s->delta_state];
}

static void fse_add(BitWriter *b, uint32_t *state, const FseTable *t, unsigned symbol) {
        const FseSymbol *s = &t->symbol[symbol];
        uint32_t bits_out = (*state + s->delta_bits) >> 16;
        bits_add(b, *state, bits_out);
        *state = t->state[(int32_t) (*state >> bits_out) + s->delta_state];
}

/* 3.1.1.3.2: the codes of the sequences, and the most bytes their bit stream can take. */
static size_t sequences_code(ZstdFrameWriter *w, size_t nseq) {
        size_t bits = 6 + 6 + 5 + 1; /* the final states and the end mark */

        for (size_t i = 0; i < nseq; i++) {
                const Sequence *s = &w->seq[i];
                uint32_t ml = s->match - 3;
                w->ll_code[i] = s->literals < 64 ? w->ll_code_small[s->literals]
                                                 : (uint8_t) (highbit(s->literals) + 19);
                w->ml_code[i] = ml < 128 ? w->ml_code_small[ml] : (uint8_t) (highbit(ml) + 36);
                /* 3.1.1.5: with literals before it, repeat offset 1 is the previous one */
                w->offset_value[i] = i > 0 && s->literals > 0 && s->offset == w->seq[i - 1].offset
                                             ? 1
                                             : s->offset + 3;
                w->of_code[i] = (uint8_t) highbit(w->offset_value[i]);
                bits += 6 + 6 + 5 + ll_bits[w->ll_code[i]] + ml_bits[w->ml_code[i]] + w->of_code[i];
        }
        return (bits + 7) / 8;
}

/* 3.1.1.3.2.1: the sequences' bit stream, the last sequence first. */
static unsigned char *sequences_write(ZstdFrameWriter *w, size_t nseq, unsigned char *p) {
        BitWriter b = {.p = p};
        size_t k = nseq - 1;
        uint32_t ll_state, ml_state, of_state;

        ml_state = fse_first(&w->ml, w->ml_code[k]);
        of_state = fse_first(&w->of, w->of_code[k]);
        ll_state = fse_first(&w->ll, w->ll_code[k]);
        for (;;) {
                const Sequence *s = &w->seq[k];
                bits_add(&b, s->literals - ll_base[w->ll_code[k]], ll_bits[w->ll_code[k]]);
                bits_add(&b, s->match - ml_base[w->ml_code[k]], ml_bits[w->ml_code[k]]);
                bits_flush(&b);
                bits_add(&b, w->offset_value[k], w->of_code[k]);
                bits_flush(&b);
                if (k-- == 0)
                        break;
                fse_add(&b, &of_state, &w->of, w->of_code[k]);
                fse_add(&b, &ml_state, &w->ml, w->ml_code[k]);
                fse_add(&b, &ll_state, &w->ll, w->ll_code[k]);
                bits_flush(&b);
        }
        bits_add(&b, ml_state, w->ml.log);
        bits_add(&b, of_state, w->of.log);
        bits_add(&b, ll_state, w->ll.log);
        bits_add(&b, 1, 1);
        bits_flush(&b);
        return b.p + (b.count > 0);
}

size_t zstd_frame_write(ZstdFrameWriter *w, void *dst, size_t dst_size, const void *src, size_t n) {
        size_t nlit, nseq;
        unsigned char *o = dst;

        if (!w || !dst || !src || n < ZSTD_FRAME_TEXT_MIN || n > ZSTD_FRAME_TEXT_MAX)
                return 0;
        memcpy(w->buf + w->content_len, src, n);
        nseq = find_sequences(w, n, &nlit);

        /* Literals header 1-3 bytes, sequences header up to 3, the bit stream, and the 8 bytes
         * the last flush of the bit stream writes whole. */
        size_t most = FRAME_HEADER + 3 + nlit + 3 + sequences_code(w, nseq) + sizeof(uint64_t);
        if (most > dst_size)
                return 0;

        unsigned window_log = WINDOW_LOG_MIN;
        while (((size_t) 1 << window_log) < n)
                window_log++;
        memcpy(o, frame_magic, sizeof(frame_magic));
        o += sizeof(frame_magic);
        *o++ = 0;                                              /* 3.1.1.1.1: no flags */
        *o++ = (uint8_t) ((window_log - WINDOW_LOG_MIN) << 3); /* 3.1.1.1.2: mantissa 0 */
        unsigned char *block_header = o, *block = o + 3;
        o = block;

        /* 3.1.1.3.1.1: raw literals, their size in 5, 12 or 20 bits */
        if (nlit < 32)
                *o++ = (uint8_t) (nlit << 3);
        else if (nlit < 4096) {
                *o++ = (uint8_t) ((nlit << 4) | (1 << 2));
                *o++ = (uint8_t) (nlit >> 4);
        } else {
                *o++ = (uint8_t) ((nlit << 4) | (3 << 2));
                *o++ = (uint8_t) (nlit >> 4);
                *o++ = (uint8_t) (nlit >> 12);
        }
        memcpy(o, w->literals, nlit);
        o += nlit;

        /* 3.1.1.3.2.1: the number of sequences, then the three modes (0: predefined) */
        if (nseq < 128)
                *o++ = (uint8_t) nseq;
        else {
                *o++ = (uint8_t) ((nseq >> 8) + 0x80);
                *o++ = (uint8_t) nseq;
        }
        if (nseq > 0) {
                *o++ = 0;
                o = sequences_write(w, nseq, o);
        }

        /* 3.1.1.2: the last block, compressed; smaller than the text, so within the window */
        size_t block_size = (size_t) (o - block);
        if (block_size + 5 >= n)
                return 0;
        uint32_t h = 1u | (2u << 1) | (uint32_t) (block_size << 3);
        block_header[0] = (uint8_t) h;
        block_header[1] = (uint8_t) (h >> 8);
        block_header[2] = (uint8_t) (h >> 16);
        return (size_t) (o - (unsigned char *) dst);
}
