/* SPDX-License-Identifier: MIT */
/* Sanitizer canaries: built only with AVCWATCH_SANITIZE. Each mode commits one fault on purpose;
 * CTest expects the sanitizer's report. If leak checking were off (ASAN_OPTIONS=detect_leaks=0,
 * or LeakSanitizer unable to run under the machine's ptrace restrictions) or UBSan were missing,
 * the whole sanitizer run would prove nothing, and these tests fail. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile keep;

int main(int argc, char *argv[]) {
        const char *mode = argc > 1 ? argv[1] : "";

        if (strcmp(mode, "leak") == 0) {
                keep = malloc(4242);
                keep = NULL; /* lost: LeakSanitizer must report 4242 bytes at exit */
                return 0;
        }
        if (strcmp(mode, "overflow") == 0) {
                volatile int x = INT_MAX;
                x = x + argc; /* signed overflow: UBSan must report it */
                printf("%d\n", x);
                return 0;
        }
        if (strcmp(mode, "heap") == 0) {
                char *volatile p = malloc(8);
                p[8] = 1; /* one past the end: ASan must report it */
                free(p);
                return 0;
        }
        fprintf(stderr, "usage: canary leak|overflow|heap\n");
        return 2;
}
