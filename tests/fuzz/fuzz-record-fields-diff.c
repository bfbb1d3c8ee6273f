/* SPDX-License-Identifier: MIT */
/* Differential fuzz target: record-fields.c against libauparse (tests/reference/auparse-fields.c),
 * the split it replaced. The first byte chooses the grammar (odd: an AVC's, with its unnamed
 * verdict and permissions), the rest is a record body. Any difference in the fields, their order
 * or whether the record is refused aborts. Bodies with a NUL or a newline are skipped: record.c
 * refuses those lines before any split. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auparse-fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *body = (const char *) data + 1;
        FieldList want, got;
        size_t len;
        bool avc;
        int rw, rg;

        if (size < 1)
                return 0;
        avc = data[0] & 1;
        len = size - 1;
        if (memchr(body, '\0', len) || memchr(body, '\n', len))
                return 0;
        rw = auparse_reference_fields(body, len, avc, &want);
        if (rw != 0 && rw != -EBADMSG)
                abort();
        rg = record_fields_list(body, len, avc, &got);
        if (rw != rg || !field_list_equal(&want, &got)) {
                fprintf(stderr, "libauparse: %d, record-fields: %d\n", rw, rg);
                field_list_dump("libauparse", &want);
                field_list_dump("record-fields", &got);
                abort();
        }
        field_list_clear(&want);
        field_list_clear(&got);
        return 0;
}
