/* SPDX-License-Identifier: MIT */
/* Fuzz target: the record parser (line forms + libauparse + field decoding) on arbitrary bytes.
 * Besides crashes and sanitizer reports, it checks the parser's promises: a denial always has a
 * verdict and valid contexts, with their split where context_locate() puts it, an AVC always its
 * permissions and class. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static RecordParser *parser;

static bool parts_right(const char *context, const ContextParts *parts) {
        ContextParts p;

        if (context_locate(context, &p) < 0)
                return false;
        return memcmp(&p, parts, sizeof(p)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Record r;

        if (!parser && record_parser_new(&parser) < 0)
                abort();
        if (record_parse(parser, (const char *) data, size, &r) < 0)
                return 0;
        if (r.kind == RECORD_DENIAL) {
                const AvcFields *v = &r.avc;
                if (!v->result)
                        abort();
                if (v->scontext && !parts_right(v->scontext, &v->scontext_parts))
                        abort();
                if (v->tcontext && !parts_right(v->tcontext, &v->tcontext_parts))
                        abort();
                if (r.type != AUDIT_TYPE_SELINUX_ERR &&
                    (!v->permissions || !v->tclass || !v->scontext || !v->tcontext))
                        abort();
        }
        record_done(&r);
        return 0;
}
