/* SPDX-License-Identifier: MIT */
#pragma once

/* Minimal test helpers: a failed check prints where and why and exits 1; skip() prints the
 * reason and exits 77, which CTest reports as "Not Run", never as a pass. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
                        exit(1);                                                                   \
                }                                                                                  \
        } while (0)

#define CHECK_RC(expr, expected)                                                                   \
        do {                                                                                       \
                long _r = (long) (expr), _e = (long) (expected);                                   \
                if (_r != _e) {                                                                    \
                        fprintf(stderr, "%s:%d: %s returned %ld, expected %ld\n", __FILE__,        \
                                __LINE__, #expr, _r, _e);                                          \
                        exit(1);                                                                   \
                }                                                                                  \
        } while (0)

#define CHECK_STREQ(a, b)                                                                          \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                if (!((_a == NULL && _b == NULL) || (_a && _b && strcmp(_a, _b) == 0))) {          \
                        fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,        \
                                __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)");             \
                        exit(1);                                                                   \
                }                                                                                  \
        } while (0)

#define SKIP(...)                                                                                  \
        do {                                                                                       \
                printf("SKIP: " __VA_ARGS__);                                                      \
                printf("\n");                                                                      \
                exit(77);                                                                          \
        } while (0)
