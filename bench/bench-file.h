/* SPDX-License-Identifier: MIT */
#pragma once

/* The C benchmarks' input: a whole file read into memory. */

#include <stdio.h>
#include <stdlib.h>

/* The contents of path, NUL-terminated, its length in *ret_len; NULL (and perror) on failure. */
static inline char *bench_read_file(const char *path, size_t *ret_len) {
        size_t len = 0, allocated = 1 << 20, n;
        char *text = malloc(allocated), *grown;
        FILE *f = fopen(path, "rb");

        if (!f) {
                perror(path);
                free(text);
                return NULL;
        }
        while (text && (n = fread(text + len, 1, allocated - len - 1, f)) > 0) {
                len += n;
                if (len == allocated - 1) {
                        grown = realloc(text, allocated *= 2);
                        if (!grown)
                                free(text);
                        text = grown;
                }
        }
        fclose(f);
        if (!text) {
                fprintf(stderr, "%s: out of memory\n", path);
                return NULL;
        }
        text[len] = '\0';
        *ret_len = len;
        return text;
}
