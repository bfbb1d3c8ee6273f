/* SPDX-License-Identifier: MIT */
/* JSON as text (json-writer.h). Every value goes through put() (or writes the comma itself), which
 * writes the comma an array element needs; a key does it for an object member, so the value after
 * a key takes none. */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "json-add.h"
#include "json-writer.h"
#include "macro.h"
#include "varlink.h"

void json_writer_init(JsonWriter *w, struct printbuf *pb) {
        *w = (JsonWriter){.pb = pb, .first = true};
}

char *json_writer_room_grow(JsonWriter *w, size_t n) {
        struct printbuf *pb = w->pb;

        if (w->failed)
                return NULL;
        if (n >= (size_t) (INT_MAX - pb->bpos)) {
                w->failed = true;
                return NULL;
        }
        if ((size_t) (pb->size - pb->bpos) <= n) {
                /* printbuf has no call that only grows it: grow by writing, then take back. */
                int at = pb->bpos;
                if (printbuf_memset(pb, at, 0, (int) n + 1) < 0) {
                        w->failed = true;
                        return NULL;
                }
                pb->bpos = at;
        }
        return pb->buf + pb->bpos;
}

/* The comma if one is due, then the len bytes of text (ours, written as they are). */
static void put(JsonWriter *w, const char *text, size_t len) {
        char *o = json_writer_room(w, len + 1);
        if (!o)
                return;
        if (!w->first)
                *o++ = ',';
        memcpy(o, text, len);
        json_writer_advance(w, o + len);
        w->first = false;
}

/* One byte that ends a container, never after a comma. */
static void put_end(JsonWriter *w, char c) {
        char *o = json_writer_room(w, 1);
        if (!o)
                return;
        *o++ = c;
        json_writer_advance(w, o);
        w->first = false;
}

void json_writer_object_begin(JsonWriter *w) {
        put(w, "{", 1);
        w->first = true;
}

void json_writer_object_end(JsonWriter *w) {
        put_end(w, '}');
}

void json_writer_array_begin(JsonWriter *w) {
        put(w, "[", 1);
        w->first = true;
}

void json_writer_array_end(JsonWriter *w) {
        put_end(w, ']');
}

void json_writer_null(JsonWriter *w) {
        put(w, "null", 4);
}

void json_writer_string(JsonWriter *w, const char *s) {
        if (!s) {
                json_writer_null(w);
                return;
        }
        json_writer_string_len(w, s, strlen(s));
}

void json_writer_string_len(JsonWriter *w, const char *s, size_t len) {
        if (!w->first)
                put_end(w, ',');
        w->first = false;
        if (!w->failed && varlink_string_append(w->pb, s, len) < 0)
                w->failed = true;
}

/* Digits of u, written backwards from end; returns where they begin (snprintf() was a tenth of
 * the cost of a row). */
static char *format_uint64(uint64_t u, char *end) {
        do {
                *--end = (char) ('0' + u % 10);
                u /= 10;
        } while (u > 0);
        return end;
}

void json_writer_int64(JsonWriter *w, int64_t i) {
        char buf[24], *end = buf + sizeof(buf);
        char *p = format_uint64(i < 0 ? 0 - (uint64_t) i : (uint64_t) i, end);
        if (i < 0)
                *--p = '-';
        put(w, p, (size_t) (end - p));
}

void json_writer_uint64(JsonWriter *w, uint64_t u) {
        char buf[24], *end = buf + sizeof(buf);
        char *p = format_uint64(u, end);
        put(w, p, (size_t) (end - p));
}

void json_writer_bool(JsonWriter *w, bool b) {
        put(w, b ? "true" : "false", b ? 4 : 5);
}

/* The last second formatted, per thread: the rows of a page are mostly of the same few seconds,
 * and gmtime_r() with snprintf() per row showed in the profile. */
#define TIME_CACHE_MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z: no clamping */
static _Thread_local int64_t time_cache_secs = -1;
static _Thread_local char time_cache[32]; /* "\"YYYY-MM-DDTHH:MM:SS." */

void json_writer_time(JsonWriter *w, int64_t time_ms) {
        char buf[32];

        if (time_ms < 0 || time_ms > TIME_CACHE_MAX_MS) {
                format_time_iso8601_ms(time_ms, buf, sizeof(buf));
                json_writer_string(w, buf);
                return;
        }
        int64_t secs = time_ms / 1000;
        unsigned ms = (unsigned) (time_ms % 1000);
        if (secs != time_cache_secs) {
                time_cache[0] = '"';
                format_time_iso8601_ms(secs * 1000, time_cache + 1, sizeof(time_cache) - 1);
                time_cache[21] = 0; /* up to the '.' */
                time_cache_secs = secs;
        }
        memcpy(buf, time_cache, 21);
        buf[21] = (char) ('0' + ms / 100);
        buf[22] = (char) ('0' + ms / 10 % 10);
        buf[23] = (char) ('0' + ms % 10);
        buf[24] = 'Z';
        buf[25] = '"';
        put(w, buf, 26);
}

void json_writer_verbatim(JsonWriter *w, const char *text, size_t len) {
        put(w, text, len);
}

static int verbatim_serializer(json_object *o, struct printbuf *pb, int level, int flags) {
        return printbuf_memappend(pb, json_object_get_string(o), json_object_get_string_len(o)) < 0
                       ? -1
                       : 0;
}

int json_writer_to_object(const struct printbuf *pb, json_object **ret) {
        json_object *o = json_object_new_string_len(pb->buf, pb->bpos);
        if (!o)
                return -ENOMEM;
        json_object_set_serializer(o, verbatim_serializer, NULL, NULL);
        *ret = o;
        return 0;
}
