/* SPDX-License-Identifier: MIT */
#pragma once

/* A writer of zstd frames for short texts against a dictionary's content, for the raw codec's
 * fast level (raw-codec.c): what libzstd spends on a 300-byte frame with a dictionary is mostly
 * fixed cost (about 6,000 instructions: copying the dictionary's entropy tables into the
 * context, histograms and tables for two or three sequences), which this writer does not have.
 * The frames are standard zstd frames (RFC 8878) that any zstd decoder given the same
 * dictionary reads: one compressed block of raw literals and sequences coded with the
 * predefined FSE tables; no content size, checksum or dictionary id. Written from the format
 * specification, not from zstd's code. */

#include <stddef.h>

#define ZSTD_FRAME_TEXT_MIN 16          /* shorter texts are left to libzstd */
#define ZSTD_FRAME_TEXT_MAX (16 * 1024) /* longer ones too: one block, a small window */

typedef struct ZstdFrameWriter ZstdFrameWriter;

/* A writer for dict, a whole zstd dictionary as the decoder is given it: a trained one (its
 * content after the entropy header is what frames refer to) or raw content. The content is
 * copied. -EINVAL when libzstd cannot read the dictionary's header. */
int zstd_frame_writer_new(const void *dict, size_t len, ZstdFrameWriter **ret);
ZstdFrameWriter *zstd_frame_writer_free(ZstdFrameWriter *w);

/* The frame of src (n bytes), magic included, into dst: its size, or 0 when n is outside
 * [ZSTD_FRAME_TEXT_MIN, ZSTD_FRAME_TEXT_MAX], the frame might not fit in dst_size bytes, or
 * it would be no smaller than the text (then the text is better stored as is). */
size_t zstd_frame_write(ZstdFrameWriter *w, void *dst, size_t dst_size, const void *src, size_t n);
