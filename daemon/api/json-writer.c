/* SPDX-License-Identifier: MIT */
/* JSON as text (json-writer.h). Every value goes through value_begin(), which writes the comma an
 * array element needs; a key does it for an object member, so the value after a key takes none. */

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

static void append(JsonWriter *w, const char *s, size_t len) {
        if (w->failed)
                return;
        if (len > INT_MAX || printbuf_memappend(w->pb, s, (int) len) < 0)
                w->failed = true;
}

static void value_begin(JsonWriter *w) {
        if (!w->first)
                append(w, ",", 1);
        w->first = false;
}

void json_writer_object_begin(JsonWriter *w) {
        value_begin(w);
        append(w, "{", 1);
        w->first = true;
}

void json_writer_object_end(JsonWriter *w) {
        append(w, "}", 1);
        w->first = false;
}

void json_writer_array_begin(JsonWriter *w) {
        value_begin(w);
        append(w, "[", 1);
        w->first = true;
}

void json_writer_array_end(JsonWriter *w) {
        append(w, "]", 1);
        w->first = false;
}

void json_writer_key(JsonWriter *w, const char *key) {
        size_t len = strlen(key);
        char text[64];

        /* ,"key": in one append: a row has some thirty keys, each was four appends. */
        if (len + 4 <= sizeof(text)) {
                size_t n = 0;
                if (!w->first)
                        text[n++] = ',';
                text[n++] = '"';
                memcpy(text + n, key, len);
                n += len;
                text[n++] = '"';
                text[n++] = ':';
                append(w, text, n);
        } else {
                value_begin(w);
                append(w, "\"", 1);
                append(w, key, len);
                append(w, "\":", 2);
        }
        w->first = true; /* the value that follows takes no comma */
}

void json_writer_null(JsonWriter *w) {
        value_begin(w);
        append(w, "null", 4);
}

void json_writer_string(JsonWriter *w, const char *s) {
        if (!s) {
                json_writer_null(w);
                return;
        }
        json_writer_string_len(w, s, strlen(s));
}

void json_writer_member_string(JsonWriter *w, const char *key, const char *s) {
        json_writer_key(w, key);
        json_writer_string(w, s);
}

void json_writer_string_len(JsonWriter *w, const char *s, size_t len) {
        value_begin(w);
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
        value_begin(w);
        append(w, p, (size_t) (end - p));
}

void json_writer_uint64(JsonWriter *w, uint64_t u) {
        char buf[24], *end = buf + sizeof(buf);
        char *p = format_uint64(u, end);
        value_begin(w);
        append(w, p, (size_t) (end - p));
}

void json_writer_bool(JsonWriter *w, bool b) {
        value_begin(w);
        append(w, b ? "true" : "false", b ? 4 : 5);
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
        value_begin(w);
        append(w, buf, 26);
}

void json_writer_verbatim(JsonWriter *w, const char *text, size_t len) {
        value_begin(w);
        append(w, text, len);
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
