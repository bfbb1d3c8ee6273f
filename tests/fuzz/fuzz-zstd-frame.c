/* SPDX-License-Identifier: MIT */
/* Fuzz target: the zstd frame writer (daemon/store/zstd-frame.c). The input is a dictionary's
 * raw content and a text: two bytes (little-endian) give the content's length, a third the room
 * the frame is given (0: ZSTD_compressBound() of the text, else that many times 8 bytes), the
 * rest is the content, then the text. Whatever the writer makes must be a standard zstd frame
 * that libzstd reads back, with the same content as its dictionary, to exactly the text; a
 * frame that does not fit its room is refused, never written past it. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "zstd-frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 3)
                return 0;
        size_t dict_len = (size_t) data[0] | (size_t) data[1] << 8, room = data[2];
        data += 3;
        size -= 3;
        if (dict_len > size)
                dict_len = size;
        const uint8_t *text = data + dict_len;
        size_t n = size - dict_len;

        /* raw content: a trained dictionary's magic would make libzstd read a header */
        uint8_t *dict = malloc(dict_len + 1);
        if (!dict)
                return 0;
        memcpy(dict, data, dict_len);
        if (dict_len >= 4 && memcmp(dict, "\x37\xa4\x30\xec", 4) == 0)
                dict[0] ^= 1;

        ZstdFrameWriter *w;
        if (zstd_frame_writer_new(dict, dict_len, &w) < 0) {
                free(dict);
                return 0;
        }
        size_t dst_size = room == 0 ? ZSTD_compressBound(n) : room * 8;
        uint8_t *frame = malloc(dst_size ?: 1), *back = malloc(n + 1);
        if (frame && back) {
                size_t z = zstd_frame_write(w, frame, dst_size, text, n);
                if (z > 0) {
                        if (z > dst_size || z - 4 >= n)
                                abort();
                        ZSTD_DCtx *dctx = ZSTD_createDCtx();
                        if (!dctx)
                                abort();
                        size_t r = ZSTD_decompress_usingDict(dctx, back, n + 1, frame, z, dict,
                                                             dict_len);
                        if (ZSTD_isError(r) || r != n || memcmp(back, text, n) != 0)
                                abort();
                        ZSTD_freeDCtx(dctx);
                }
        }
        free(frame);
        free(back);
        free(dict);
        zstd_frame_writer_free(w);
        return 0;
}
