/* SPDX-License-Identifier: MIT */
/* The json-c boilerplate of the API's replies (json-add.h). json_object_object_add() does not
 * take the value on failure and json-c's constructors return NULL when out of memory; handling
 * both at every key is what each reply builder used to write for itself. */

#include <errno.h>
#include <stdio.h>

#include "json-add.h"
#include "varlink.h"

int json_add_nullable(json_object *o, const char *key, json_object *v) {
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int json_add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        return json_add_nullable(o, key, v);
}

int json_add_string(json_object *o, const char *key, const char *s) {
        return s ? json_add(o, key, varlink_string_new(s)) : json_add_nullable(o, key, NULL);
}

int json_add_int64(json_object *o, const char *key, int64_t i) {
        return json_add(o, key, json_object_new_int64(i));
}

int json_add_uint64(json_object *o, const char *key, uint64_t u) {
        return json_add(o, key, json_object_new_uint64(u));
}

int json_add_bool(json_object *o, const char *key, bool b) {
        return json_add(o, key, json_object_new_boolean(b));
}

int json_add_time(json_object *o, const char *key, int64_t time_ms) {
        char buf[32];
        format_time_iso8601_ms(time_ms, buf, sizeof(buf));
        return json_add_string(o, key, buf);
}

int json_add_time_or_null(json_object *o, const char *key, int64_t time_ms) {
        return time_ms > 0 ? json_add_time(o, key, time_ms) : json_add_nullable(o, key, NULL);
}

int json_add_counters(json_object *o, const JsonCounter *counters, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (json_add_uint64(o, counters[i].key, counters[i].value) < 0)
                        return -ENOMEM;
        return 0;
}

int json_append(json_object *a, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}
