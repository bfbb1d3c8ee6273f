/* SPDX-License-Identifier: MIT */
/* Fuzz target: the line-form detector. Every pointer it hands out must lie inside the line. */

#include <stdint.h>
#include <stdlib.h>

#include "line-form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(const char *line, size_t len, const char *p, size_t n) {
        if (!p)
                return;
        if (p < line || p + n > line + len)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *line = (const char *) data;
        LineInfo info;

        if (line_form_classify(line, size, &info) < 0)
                return 0;
        if (info.form < 0 || info.form >= _LINE_FORM_MAX)
                abort();
        check_span(line, size, info.node, info.node_len);
        check_span(line, size, info.body, info.body_len);
        if (info.node_len > AUDIT_NODE_MAX)
                abort();
        return 0;
}
