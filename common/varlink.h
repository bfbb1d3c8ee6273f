/* SPDX-License-Identifier: MIT */
#pragma once

/* Varlink message framing (https://varlink.org): JSON objects terminated by a NUL byte over a
 * stream socket. VarlinkReader accumulates bytes and hands out complete messages, bounded.
 * Pure: the caller does the reads and writes. */

#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct VarlinkReader VarlinkReader;

/* max_message: longest message accepted (without its NUL). */
int varlink_reader_new(size_t max_message, VarlinkReader **ret);
VarlinkReader *varlink_reader_free(VarlinkReader *r);

/* Buffer space for the next read: returns a pointer and its size (>= 1). */
void *varlink_reader_space(VarlinkReader *r, size_t *ret_size);
void varlink_reader_advance(VarlinkReader *r, size_t n);
/* Bytes received and not yet handed out as messages: > 0 after next() returned 0 means a message
 * has begun and is not complete. */
size_t varlink_reader_buffered(const VarlinkReader *r);

/* Takes the next complete message. Returns 1 and a parsed object (caller puts it), 0 when no
 * complete message is buffered, -EMSGSIZE when the pending message exceeds the bound, -EBADMSG
 * when a message is not a JSON object. After an error the reader is unusable. */
int varlink_reader_next(VarlinkReader *r, json_object **ret);
/* The same without parsing: the next message's text (NUL-terminated; *ret_len without the NUL),
 * valid until the next call on r. For a caller that scans a reply itself and parses it with
 * varlink_parse_message() when it cannot. */
int varlink_reader_next_text(VarlinkReader *r, const char **ret, size_t *ret_len);
/* Parses one message strictly (RFC 8259, valid UTF-8, bounded depth, an object): -EBADMSG. */
int varlink_parse_message(const char *text, size_t len, json_object **ret);

/* Serialises o (plain JSON, no spaces) followed by the NUL terminator into a malloc'd buffer. */
int varlink_serialize(json_object *o, char **ret, size_t *ret_len);

/* Builds {"error": name, "parameters": params} (params may be NULL: {}). Takes params. */
json_object *varlink_error_new(const char *name, json_object *params);
/* Builds {"parameters": params[, "continues": true]}. Takes params. */
json_object *varlink_reply_new(json_object *params, bool continues);

/* A JSON string whose serialisation is always valid UTF-8 and free of raw control bytes, for
 * strings that came from outside (containers, clients, the audit stream): valid UTF-8 passes
 * through; '"' and '\\' are escaped; C0 controls, DEL, C1 controls, U+2028, U+2029 and the bidi
 * controls (unicode_is_bidi_control()) become \uXXXX escapes of the same code point (lossless); a
 * byte that is not part of valid UTF-8 becomes \u00XX of its value (Latin-1 mapping: a reader
 * gets U+00XX, not the byte back).
 * NULL s gives JSON null (NULL). Returns NULL on OOM for a non-NULL s. */
json_object *varlink_string_new(const char *s);
/* Whether varlink_string_new() writes the code point cp as a \u escape (or its short form: \n,
 * \r, \t, \b, \f) rather than as it is: the controls, U+2028/9 and the bidi controls. */
bool varlink_char_escaped(uint32_t cp);
/* The same escaping written straight into pb: the quoted string of len bytes at s. For replies
 * built as text (daemon/api/json-writer.h) rather than as a tree. -1 when out of memory. */
int varlink_string_append(struct printbuf *pb, const char *s, size_t len);
/* Gives every string in the tree o (parsed from a peer, say) varlink_string_new()'s escaping, so
 * that printing it is as safe as printing what we built ourselves. */
void varlink_escape_strings(json_object *o);
