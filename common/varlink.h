/* SPDX-License-Identifier: MIT */
#pragma once

/* Varlink message framing (https://varlink.org): JSON objects terminated by a NUL byte over a
 * stream socket. VarlinkReader accumulates bytes and hands out complete messages, bounded.
 * Pure: the caller does the reads and writes. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct VarlinkReader VarlinkReader;

/* max_message: longest message accepted (without its NUL). */
int varlink_reader_new(size_t max_message, VarlinkReader **ret);
VarlinkReader *varlink_reader_free(VarlinkReader *r);

/* Buffer space for the next read: returns a pointer and its size (>= 1). */
void *varlink_reader_space(VarlinkReader *r, size_t *ret_size);
void varlink_reader_advance(VarlinkReader *r, size_t n);

/* Takes the next complete message. Returns 1 and a parsed object (caller puts it), 0 when no
 * complete message is buffered, -EMSGSIZE when the pending message exceeds the bound, -EBADMSG
 * when a message is not a JSON object. After an error the reader is unusable. */
int varlink_reader_next(VarlinkReader *r, json_object **ret);

/* Serialises o (plain JSON, no spaces) followed by the NUL terminator into a malloc'd buffer. */
int varlink_serialize(json_object *o, char **ret, size_t *ret_len);

/* Builds {"error": name, "parameters": params} (params may be NULL: {}). Takes params. */
json_object *varlink_error_new(const char *name, json_object *params);
/* Builds {"parameters": params[, "continues": true]}. Takes params. */
json_object *varlink_reply_new(json_object *params, bool continues);
