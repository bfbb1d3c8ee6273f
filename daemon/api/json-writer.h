/* SPDX-License-Identifier: MIT */
#pragma once

/* JSON written as text, straight into a buffer, for the replies that carry many denials (Query
 * pages, Tail): a json-c tree per row cost the daemon four times what reading the row from the
 * database did. The text is what varlink_serialize() would make of the same tree: no white space,
 * keys in the order written, strings escaped by varlink_string_append() (the one escaper).
 *
 * Errors are sticky: a chain of calls and one check of json_writer_failed() at the end. The
 * writer tracks commas itself (json_writer_key() after json_writer_object_begin(), values after
 * json_writer_array_begin()); nesting is up to the caller, and bounded by it. */

#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct JsonWriter {
        struct printbuf *pb; /* borrowed */
        bool first;          /* the next member or element takes no comma */
        bool failed;         /* out of memory: the text is not usable */
} JsonWriter;

void json_writer_init(JsonWriter *w, struct printbuf *pb);
/* For _cleanup_. */
static inline void printbuf_freep(struct printbuf **pb) {
        if (*pb)
                printbuf_free(*pb);
}
/* Forgets what was written after pos (a row that did not fit). */
static inline void printbuf_truncate(struct printbuf *pb, size_t pos) {
        pb->bpos = (int) pos;
        pb->buf[pos] = 0;
}
static inline bool json_writer_failed(const JsonWriter *w) {
        return w->failed;
}

/* Room for n more bytes, and the NUL printbuf keeps after them, at the end of w's buffer: where
 * to write them (then json_writer_advance() to where the writing ended), or NULL when the writer
 * has failed. A row is some sixty small pieces: each is written in place, not appended through
 * printbuf_memappend() (a call, a check and a memcpy() call each). */
char *json_writer_room_grow(JsonWriter *w, size_t n);
static inline char *json_writer_room(JsonWriter *w, size_t n) {
        struct printbuf *pb = w->pb;
        if (!w->failed && pb->size > pb->bpos && n < (size_t) (pb->size - pb->bpos))
                return pb->buf + pb->bpos;
        return json_writer_room_grow(w, n);
}
static inline void json_writer_advance(JsonWriter *w, char *end) {
        w->pb->bpos = (int) (end - w->pb->buf);
        *end = 0;
}

void json_writer_object_begin(JsonWriter *w);
void json_writer_object_end(JsonWriter *w);
void json_writer_array_begin(JsonWriter *w);
void json_writer_array_end(JsonWriter *w);
/* The comma if one is due, then "key": (key is ours: plain ASCII, written as it is). Inline, so
 * that a literal key's length is known when compiling. */
static inline void json_writer_key(JsonWriter *w, const char *key) {
        size_t len = strlen(key);
        char *o = json_writer_room(w, len + 4);
        if (!o)
                return;
        if (!w->first)
                *o++ = ',';
        *o++ = '"';
        memcpy(o, key, len);
        o += len;
        *o++ = '"';
        *o++ = ':';
        json_writer_advance(w, o);
        w->first = true; /* the value that follows takes no comma */
}

/* Values: after a key, or as the elements of an array. */
void json_writer_null(JsonWriter *w);
/* s, escaped, or null when s is NULL. */
void json_writer_string(JsonWriter *w, const char *s);
/* key: s (null when NULL), the most common member. */
static inline void json_writer_member_string(JsonWriter *w, const char *key, const char *s) {
        json_writer_key(w, key);
        json_writer_string(w, s);
}
/* The len bytes at s (not NULL), escaped. */
void json_writer_string_len(JsonWriter *w, const char *s, size_t len);
void json_writer_int64(JsonWriter *w, int64_t i);
void json_writer_uint64(JsonWriter *w, uint64_t u);
void json_writer_bool(JsonWriter *w, bool b);
/* format_time_iso8601_ms(), as a string. */
void json_writer_time(JsonWriter *w, int64_t time_ms);
/* Text that already is one JSON value (serialised by us). */
void json_writer_verbatim(JsonWriter *w, const char *text, size_t len);

/* What was written (one JSON value) as a json-c object that serialises to exactly this text, for
 * the replies still built as trees (Top rows): the same bytes as the Query pages, invalid UTF-8
 * escapes included. It is opaque: a string object to json-c, not one to read members from. */
int json_writer_to_object(const struct printbuf *pb, json_object **ret);
