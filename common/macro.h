/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers in the style of systemd's macro.h: scoped cleanup, ownership
 * transfer and array sizes. Shared by every module; no I/O, no state. */

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _always_inline_ inline __attribute__((always_inline))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand an owned pointer or fd over: returns the value and clears the variable so
 * that its _cleanup_ handler does nothing. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _tp_ = (p);                                                          \
                (p) = NULL;                                                                        \
                _tp_;                                                                              \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _tf_ = (fd);                                                                   \
                (fd) = -EBADF;                                                                     \
                _tf_;                                                                              \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

/* Defines name##p(type **) calling func(*p) when *p is non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
        static inline void func##p(type *p) {                                                      \
                if (*p)                                                                            \
                        func(*p);                                                                  \
        }

/* Negative errno from the current errno, never 0 (for libc calls that failed). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define STRINGIFY_ARG(x) #x
#define STRINGIFY(x) STRINGIFY_ARG(x)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline const char *strna(const char *s) {
        return s ? s : "n/a";
}
