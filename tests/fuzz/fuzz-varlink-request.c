/* SPDX-License-Identifier: MIT */
/* Fuzz target: what the API server does with a client's bytes before any method runs: framing
 * (split at arbitrary read boundaries chosen by the first input byte), JSON parsing, and the
 * decoding of a request's filter. The reader must hand out only objects and stay within its
 * bound. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "varlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MESSAGE_MAX (64 * 1024) /* as SERVER_REQUEST_MAX */

static void decode_request(json_object *m) {
        json_object *method, *params, *filter;
        DenialFilter f;
        const char *bad = NULL;

        if (!json_object_is_type(m, json_type_object))
                abort();
        if (json_object_object_get_ex(m, "method", &method))
                (void) json_object_get_string(method);
        if (!json_object_object_get_ex(m, "parameters", &params) ||
            !json_object_is_type(params, json_type_object))
                return;
        if (!json_object_object_get_ex(params, "filter", &filter))
                return;
        if (denial_filter_from_json(filter, &f, &bad) >= 0) {
                json_object *back = NULL;
                if (denial_filter_to_json(&f, &back) < 0)
                        abort();
                json_object_put(back);
                denial_filter_done(&f);
        } else if (!bad)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        VarlinkReader *r;
        size_t step, off = 0;

        if (size == 0)
                return 0;
        step = 1 + data[0] % 64;
        data++;
        size--;
        if (varlink_reader_new(FUZZ_MESSAGE_MAX, &r) < 0)
                abort();
        while (off < size) {
                size_t space, n;
                void *p = varlink_reader_space(r, &space);
                if (!p || space == 0)
                        break;
                n = step < size - off ? step : size - off;
                n = n < space ? n : space;
                memcpy(p, data + off, n);
                varlink_reader_advance(r, n);
                off += n;
                for (;;) {
                        json_object *m = NULL;
                        int k = varlink_reader_next(r, &m);
                        if (k <= 0) {
                                if (k < 0)
                                        off = size; /* a real server closes here */
                                break;
                        }
                        decode_request(m);
                        json_object_put(m);
                }
        }
        varlink_reader_free(r);
        return 0;
}
