/* SPDX-License-Identifier: MIT */
#pragma once

/* Raw codec: the original text of an audit event, packed small enough to keep for every stored
 * denial, and unpacked byte for byte (docs/architecture.md "Store").
 *
 * An event's text is compressed on its own (so that any one of them reads back without its
 * neighbours) with zstd and a dictionary trained on earlier events of the same store: records of
 * one host repeat the same field names, contexts, executables and paths, which a shared
 * dictionary captures and a 600-byte input alone cannot. Before that the event's own stamp,
 * "(1713603292.240:1088)", which every record of the event repeats and which the row keeps
 * anyway, is replaced by a one-byte marker.
 *
 * Blob layout (the dictionary's id travels inside, so a row needs no column for it):
 *   byte 0   method (RAW_METHOD_*) | RAW_FLAG_STAMP when the stamp was replaced
 *   varint   dictionary id (method zstd only; 0 = none)
 *   varint   length of the text before compression (after stamp replacement)
 *   payload  the zstd frame (magic-less, no checksum) or the text itself
 *
 * The encoder also keeps a bounded reservoir sample of recent events and says when a new
 * dictionary is due (first after RAW_TRAIN_FIRST events, then less and less often, and again when
 * the compression ratio drifts away from what the dictionary achieved at first); the store keeps
 * dictionaries in its database, forever, since old rows refer to them. Pure: no I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAW_TEXT_MAX (1024 * 1024) /* longest event text accepted (the assembler keeps 256 KiB) */
#define RAW_DICTIONARY_MAX (32 * 1024) /* bytes of one trained dictionary */
#define RAW_SAMPLES_MAX 2000           /* events kept for training */
#define RAW_SAMPLE_BYTES_MAX 4096      /* longer events are sampled by their head */
#define RAW_TRAIN_FIRST 2048           /* events before the first dictionary */
#define RAW_TRAIN_EVERY (1u << 20)     /* at most this many events between two dictionaries */
#define RAW_DRIFT_WINDOW 16384         /* events per compression-ratio measurement */
#define RAW_DECODER_DICTIONARIES 8     /* dictionaries a decoder keeps loaded */

typedef struct RawEncoder RawEncoder;
typedef struct RawDecoder RawDecoder;

/* zstd levels: the default where a thread of its own packs (the reader's), the fast one where
 * the loop thread does (the store's encoder: live input, imports while the loop keeps up), as a
 * frame's fixed cost is then the loop's. At a fast (negative) level the frames with a
 * dictionary come from the codec's own frame writer (zstd-frame.h): on USER_AVC events of the
 * kernel path about 2,500 instructions per event against libzstd's 6,700 at any level, for
 * 1 % more bytes (docs/benchmarks.md); level 6 is three times slower than 3. */
#define RAW_LEVEL_DEFAULT 3
#define RAW_LEVEL_FAST (-1)

int raw_encoder_new(RawEncoder **ret); /* at RAW_LEVEL_DEFAULT */
RawEncoder *raw_encoder_free(RawEncoder *e);

/* Uses dictionary `id` (its content is copied) from now on; id 0 / NULL: none. */
int raw_encoder_use_dictionary(RawEncoder *e, int64_t id, const void *dict, size_t len);
int64_t raw_encoder_dictionary_id(const RawEncoder *e);
/* Before any dictionary is used (-EBUSY after). */
int raw_encoder_set_level(RawEncoder *e, int level);

/* Packs text (len bytes, no NUL inside) of the event stamped (time_ms, serial). *ret points into
 * the encoder and stays valid until the next call. -E2BIG above RAW_TEXT_MAX. */
int raw_encode(RawEncoder *e, const char *text, size_t len, int64_t time_ms, uint64_t serial,
               const void **ret, size_t *ret_len);

/* Whether enough has been seen since the current dictionary to make a new one worthwhile. */
bool raw_encoder_wants_dictionary(const RawEncoder *e);
/* Trains a dictionary from the sampled events: *ret is malloc'd (at most RAW_DICTIONARY_MAX).
 * The caller stores it, then passes it with its id to raw_encoder_use_dictionary(). Returns
 * -ENODATA when there is too little to train on (the encoder then waits for more). */
int raw_encoder_train(RawEncoder *e, void **ret, size_t *ret_len);

/* Training failed or its result could not be kept: wait as long as for a first dictionary
 * before asking again. */
void raw_encoder_postpone(RawEncoder *e);

/* Loads dictionary id for a decoder: *ret malloc'd. -ENOENT when there is no such dictionary. */
typedef int (*RawDictionaryLoad)(int64_t id, void **ret, size_t *ret_len, void *userdata);

int raw_decoder_new(RawDictionaryLoad load, void *userdata, RawDecoder **ret);
/* A decoder that copies each payload behind the frame magic, as raw_decoder_new() does when the
 * library does not read the magic-less format: for the tests of that path. */
int raw_decoder_new_with_magic(RawDictionaryLoad load, void *userdata, RawDecoder **ret);
/* Whether d reads the stored frames where they lie (without a copy behind the magic). */
bool raw_decoder_magicless(const RawDecoder *d);
RawDecoder *raw_decoder_free(RawDecoder *d);
/* Unpacks a blob of the event stamped (time_ms, serial) into the decoder's own buffer: *ret is
 * NUL-terminated (*ret_len bytes before the NUL, when ret_len is not NULL) and lent until the next
 * call on d, raw_decoder_trim() or raw_decoder_free(). -EBADMSG for a blob that is not well formed
 * (or does not decompress, or would unpack to more than RAW_TEXT_MAX), -ENOENT for a missing
 * dictionary. */
int raw_decode(RawDecoder *d, const void *blob, size_t len, int64_t time_ms, uint64_t serial,
               const char **ret, size_t *ret_len);
/* Gives back the buffers a long event made grow past 64 KiB (ends the loan of raw_decode()). */
void raw_decoder_trim(RawDecoder *d);
/* The dictionary id a blob refers to (0 for none), or -EBADMSG. */
int64_t raw_blob_dictionary(const void *blob, size_t len);
