/* SPDX-License-Identifier: MIT */
/* bench-record: what record_parse() costs per record (daemon/ingest/record.c: the line form, the
 * field split of record-fields.c, the decoding), on the lines of an audit log read into memory
 * first, ROUNDS times over. Prints the records parsed and the CPU time per record by kind; run it
 * under `valgrind --tool=callgrind` for instructions, which a shared machine does not disturb.
 *
 *   build/bench/bench-record FILE [ROUNDS] */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-file.h"
#include "record.h"

static int64_t cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char *argv[]) {
        RecordParser *parser;
        unsigned long kinds[RECORD_IGNORED + 1] = {}, malformed = 0, total = 0;
        unsigned rounds = argc > 2 ? (unsigned) strtoul(argv[2], NULL, 10) : 1;
        char *text;
        size_t len = 0;
        int64_t t0, t;

        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE [ROUNDS]\n", argv[0]);
                return 2;
        }
        text = bench_read_file(argv[1], &len);
        if (!text || record_parser_new(&parser) < 0)
                return 1;

        t0 = cpu_ns();
        for (unsigned round = 0; round < rounds; round++)
                for (const char *p = text, *end = text + len; p < end;) {
                        const char *nl = memchr(p, '\n', (size_t) (end - p)) ?: end;
                        Record r;

                        if (record_parse(parser, p, (size_t) (nl - p), &r) == 0) {
                                kinds[r.kind]++;
                                record_done(&r);
                        } else
                                malformed++;
                        total++;
                        p = nl + 1;
                }
        t = cpu_ns() - t0;

        printf("%lu records in %u rounds, %.0f ns of CPU per record\n", total, rounds,
               total ? (double) t / (double) total : 0.0);
        for (int k = 0; k <= RECORD_IGNORED; k++)
                if (kinds[k])
                        printf("  %-10s %lu\n", record_kind_to_string(k), kinds[k]);
        printf("  malformed  %lu\n", malformed);
        record_parser_free(parser);
        free(text);
        return 0;
}
