/* SPDX-License-Identifier: MIT */
#pragma once

/* The json-c boilerplate of the API's replies, in one place (daemon/api/ builds every reply
 * object: denial-json.c, reply-json.c, stats-json.c). Each adder consumes its value, also on
 * failure, and returns 0 or -ENOMEM; so a reply is a chain of `r = json_add_...(o, ...)` and
 * one cleanup. Strings go through varlink_string_new(): whatever bytes they hold, the text we
 * send is valid JSON and valid UTF-8. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timeparse.h" /* format_time_iso8601_ms(), which json_add_time() writes */

/* key: v. NULL v (a constructor that failed) is -ENOMEM. */
int json_add(json_object *o, const char *key, json_object *v);
/* key: v, or null when v is NULL (not known: a value that is absent on purpose). */
int json_add_nullable(json_object *o, const char *key, json_object *v);
/* key: s, or null when s is NULL. */
int json_add_string(json_object *o, const char *key, const char *s);
int json_add_int64(json_object *o, const char *key, int64_t i);
int json_add_uint64(json_object *o, const char *key, uint64_t u);
int json_add_bool(json_object *o, const char *key, bool b);
/* key: the time as format_time_iso8601_ms() writes it. */
int json_add_time(json_object *o, const char *key, int64_t time_ms);
/* The same, or null when time_ms <= 0 (not known). */
int json_add_time_or_null(json_object *o, const char *key, int64_t time_ms);
/* A run of counters, added in the order of the array. */
typedef struct JsonCounter {
        const char *key;
        uint64_t value;
} JsonCounter;
int json_add_counters(json_object *o, const JsonCounter *counters, size_t n);
/* Appends v to the array a; NULL v is -ENOMEM. */
int json_append(json_object *a, json_object *v);

/* For _cleanup_: a reference dropped at the end of the scope (TAKE_PTR to keep it). */
static inline void json_object_putp(json_object **o) {
        json_object_put(*o);
}
