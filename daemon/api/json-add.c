/* SPDX-License-Identifier: MIT */
/* The json-c boilerplate of the API's replies (json-add.h). json_object_object_add() does not
 * take the value on failure and json-c's constructors return NULL when out of memory; handling
 * both at every key is what each reply builder used to write for itself. */

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "json-add.h"
#include "varlink.h"

void format_time_iso8601_ms(int64_t time_ms, char *buf, size_t n) {
        /* Floor division so that times before the epoch still print correctly. */
        int64_t secs = time_ms / 1000, ms = time_ms % 1000;
        if (ms < 0) {
                ms += 1000;
                secs--;
        }

        time_t t = (time_t) secs;
        struct tm tm;
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
                /* Out of the four-digit year range: clamp rather than print a non-ISO year. */
                snprintf(buf, n, "%s",
                         time_ms < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z");
                return;
        }
        snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) ms);
}

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
