/* SPDX-License-Identifier: MIT */
#pragma once

/* The reference for record-fields.c: libauparse's split of a record body, the way record.c
 * used it before it had a tokenizer of its own (one canonical line per record on one reused
 * AUSOURCE_BUFFER state). Used by the differential test and fuzz target only; the daemon does
 * not link libauparse. */

#include <stdbool.h>
#include <stddef.h>

#include "record-fields.h"

typedef struct FieldList {
        size_t n, allocated;
        RecordField *fields; /* name and value NUL terminated, owned by the list */
} FieldList;

void field_list_clear(FieldList *l);

/* libauparse's fields of BODY behind "type=AVC msg=audit(1.000:1): " (avc_grammar) or
 * "type=SYSCALL ...: " (any other record type splits the same way), without that type= field
 * and without key= fields (auparse rewrites their values). Returns 0, or -EBADMSG when auparse
 * gives no event (it refused the record), or -ENOMEM. BODY must hold no NUL and no newline. */
int auparse_reference_fields(const char *body, size_t len, bool avc_grammar, FieldList *ret);

/* The same from record-fields.c, key= fields left out alike: 0 or -EBADMSG. */
int record_fields_list(const char *body, size_t len, bool avc_grammar, FieldList *ret);

/* Whether two lists hold the same fields in the same order. */
bool field_list_equal(const FieldList *a, const FieldList *b);

/* Prints a list to stderr, for a failure's report. */
void field_list_dump(const char *label, const FieldList *l);
