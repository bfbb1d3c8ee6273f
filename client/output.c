/* SPDX-License-Identifier: MIT */
/* avcctl's output modes.
 *
 * short: one compact line per denial,
 *   TIME  CONTAINER  COMM[PID]  { PERMS }  SOURCE_TYPE -> TARGET_TYPE:TCLASS  PATH  [MCS]  (HOW)
 * Every string in it went through a container at some point (comm, path and name are chosen by
 * whoever runs inside it, container names and images by whoever started it), and even the
 * contexts come from a daemon we should not have to trust with our terminal: all of them are
 * written with fputs_terminal_safe(), so ESC, CR, BS, C1 controls and broken UTF-8 are shown as
 * \xNN and never act on the terminal.
 * json: the object exactly as the API sent it; json-c escapes control characters itself.
 * raw: the original audit lines, unescaped on purpose when they go to a pipe or file: they are
 * meant for audit2allow / udica, which need the bytes the kernel wrote. On a terminal each line
 * is escaped like short output: a record read from a file may hold any byte. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "output.h"
#include "strutil.h"
#include "timeparse.h"
#include "varlink.h"

/* The container id is shown like `docker ps` does. */
#define OUTPUT_CONTAINER_ID_SHORT 12

static const char *const output_mode_table[_OUTPUT_MODE_MAX] = {
        [OUTPUT_SHORT] = "short",
        [OUTPUT_JSON] = "json",
        [OUTPUT_RAW] = "raw",
};

int output_mode_from_string(const char *s) {
        for (int i = 0; i < _OUTPUT_MODE_MAX; i++)
                if (s && strcmp(s, output_mode_table[i]) == 0)
                        return i;
        return -EINVAL;
}

const char *output_mode_to_string(OutputMode m) {
        if (m < 0 || m >= _OUTPUT_MODE_MAX)
                return NULL;
        return output_mode_table[m];
}

void output_init(Output *o, OutputMode mode, FILE *f) {
        *o = (Output){.mode = mode, .f = f, .to_terminal = isatty(fileno(f)) > 0};
}

/* raw text line by line through the terminal escaper; the line breaks themselves stay. */
static void fwrite_lines_terminal_safe(const char *s, size_t len, FILE *f) {
        const char *end = s + len;

        while (s < end) {
                const char *nl = memchr(s, '\n', end - s);
                size_t n = (nl ? nl : end) - s;
                char *line = strndup(s, n);
                if (line) {
                        fputs_terminal_safe(line, f);
                        free(line);
                }
                if (nl)
                        fputc('\n', f);
                s = nl ? nl + 1 : end;
        }
}

void output_format_local_time(int64_t time_ms, char *buf, size_t n) {
        int64_t sec = time_ms / 1000, ms = time_ms % 1000;
        struct tm tm;
        time_t t;
        size_t len;

        if (ms < 0) {
                ms += 1000;
                sec--;
        }
        t = (time_t) sec;
        if (!localtime_r(&t, &tm) || (len = strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm)) == 0) {
                snprintf(buf, n, "@%" PRId64 ".%03" PRId64, sec, ms);
                return;
        }
        snprintf(buf + len, n - len, ".%03" PRId64, ms);
}

/* The string value of key, or NULL when absent, null or not a string. */
static const char *get_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static bool get_int(json_object *o, const char *key, int64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

static json_object *get_object(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
                return NULL;
        return v;
}

static void put_safe(const char *s, FILE *f) {
        fputs_terminal_safe(s ? s : "-", f);
}

/* The container's name, else the start of its id, else "-". */
static void put_container(json_object *c, FILE *f) {
        const char *name = c ? get_string(c, "name") : NULL;
        const char *id = c ? get_string(c, "id") : NULL;
        char short_id[OUTPUT_CONTAINER_ID_SHORT + 1];

        if (name && *name) {
                fputs_terminal_safe(name, f);
                return;
        }
        if (id && *id) {
                /* Cut bytes, not characters: escaping shows whatever a cut UTF-8 sequence is. */
                snprintf(short_id, sizeof(short_id), "%s", id);
                fputs_terminal_safe(short_id, f);
                return;
        }
        fputc('-', f);
}

static void put_time(json_object *d, FILE *f) {
        const char *iso = get_string(d, "time");
        char buf[64];
        int64_t ms;

        /* The API's time is ISO 8601 UTC; parse_time_spec() reads exactly that form. */
        if (iso && parse_time_spec(iso, 0, &ms) >= 0) {
                output_format_local_time(ms, buf, sizeof(buf));
                fputs(buf, f);
        } else
                put_safe(iso, f);
}

static void put_permissions(json_object *d, FILE *f) {
        json_object *perms;

        fputs("{", f);
        if (json_object_object_get_ex(d, "permissions", &perms) &&
            json_object_is_type(perms, json_type_array)) {
                size_t n = json_object_array_length(perms);
                for (size_t i = 0; i < n; i++) {
                        json_object *p = json_object_array_get_idx(perms, i);
                        fputc(' ', f);
                        put_safe(json_object_is_type(p, json_type_string)
                                         ? json_object_get_string(p)
                                         : NULL,
                                 f);
                }
        }
        fputs(" }", f);
}

/* An ambiguous denial's candidates: ": web|web-twin". */
static void put_candidates(json_object *d, FILE *f) {
        json_object *cands;

        if (!json_object_object_get_ex(d, "candidates", &cands) ||
            !json_object_is_type(cands, json_type_array) || json_object_array_length(cands) == 0)
                return;
        fputs(": ", f);
        for (size_t i = 0; i < json_object_array_length(cands); i++) {
                json_object *c = json_object_array_get_idx(cands, i);
                if (i > 0)
                        fputc('|', f);
                put_container(json_object_is_type(c, json_type_object) ? c : NULL, f);
        }
}

static void output_denial_short(json_object *d, FILE *f) {
        const char *result = get_string(d, "result");
        const char *target_type = get_string(d, "target_type");
        const char *tclass = get_string(d, "tclass");
        const char *path = get_string(d, "path");
        const char *mcs = get_string(d, "mcs");
        json_object *target_container = get_object(d, "target_container");
        json_object *permissive;
        int64_t pid;

        put_time(d, f);
        fputs("  ", f);
        put_container(get_object(d, "container"), f);
        fputs("  ", f);
        put_safe(get_string(d, "comm"), f);
        if (get_int(d, "pid", &pid))
                fprintf(f, "[%" PRId64 "]", pid);
        fputs("  ", f);
        /* "denied" is the normal case and goes without saying; anything else is shown. */
        if (result && strcmp(result, "denied") != 0) {
                put_safe(result, f);
                fputc(' ', f);
        }
        put_permissions(d, f);
        fputs("  ", f);
        put_safe(get_string(d, "source_type"), f);
        fputs(" -> ", f);
        put_safe(target_type, f);
        fputc(':', f);
        put_safe(tclass, f);
        fputs("  ", f);
        put_safe(path ? path : get_string(d, "name"), f);
        if (mcs && *mcs) {
                fputs("  [", f);
                fputs_terminal_safe(mcs, f);
                fputc(']', f);
        }
        fputs("  (", f);
        put_safe(get_string(d, "attribution"), f);
        put_candidates(d, f);
        if (json_object_object_get_ex(d, "permissive", &permissive) &&
            json_object_is_type(permissive, json_type_boolean) &&
            json_object_get_boolean(permissive))
                fputs(", permissive", f);
        if (target_container) {
                fputs(", target in ", f);
                put_container(target_container, f);
        }
        fputs(")", f);
        /* A storm's summary: this denial and the identical ones of its second folded into it. */
        int64_t count;
        if (get_int(d, "count", &count) && count > 1)
                fprintf(f, "  x%" PRId64 " (storm: %" PRId64 " identical folded into this one)",
                        count, count - 1);
        fputc('\n', f);
}

static void output_denial_raw(Output *o, json_object *d) {
        const char *time = get_string(d, "time");
        json_object *raw;
        int64_t serial;
        bool have_key =
                time && strlen(time) < sizeof(o->last_time) && get_int(d, "serial", &serial);
        size_t len;
        const char *s;

        if (have_key && o->have_last_event && o->last_serial == serial &&
            strcmp(o->last_time, time) == 0)
                return;
        if (!json_object_object_get_ex(d, "raw", &raw) ||
            !json_object_is_type(raw, json_type_string))
                return;

        s = json_object_get_string(raw);
        len = (size_t) json_object_get_string_len(raw);
        if (o->to_terminal)
                fwrite_lines_terminal_safe(s, len, o->f);
        else
                fwrite(s, 1, len, o->f);
        if (len == 0 || s[len - 1] != '\n')
                fputc('\n', o->f);

        o->have_last_event = have_key;
        if (have_key) {
                o->last_serial = serial;
                strcpy(o->last_time, time);
        }
}

/* The daemon's JSON, as received, re-serialised with the daemon's escaping: json-c alone would
 * pass DEL, C1 and bidi controls through raw to the terminal. */
static void output_json_line(json_object *v, FILE *f) {
        varlink_escape_strings(v);
        fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE),
              f);
        fputc('\n', f);
}

int output_denial(Output *o, json_object *d) {
        if (!json_object_is_type(d, json_type_object))
                return -EBADMSG;

        switch (o->mode) {
        case OUTPUT_JSON:
                output_json_line(d, o->f);
                break;
        case OUTPUT_RAW:
                output_denial_raw(o, d);
                break;
        case OUTPUT_SHORT:
        default:
                output_denial_short(d, o->f);
                break;
        }
        return 0;
}

/* One line per element of a list of objects (Stats' loss windows): "since .. until:" when the
 * object has them, then its non-zero counters and its true flags. */
static void output_stats_list(json_object *list, FILE *f) {
        size_t n = json_object_array_length(list);

        if (n == 0) {
                fputs("-\n", f);
                return;
        }
        fputc('\n', f);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i), *since, *until;
                bool first = true;

                fputs("  ", f);
                if (!json_object_is_type(e, json_type_object)) {
                        fputs_terminal_safe(
                                json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN), f);
                        fputc('\n', f);
                        continue;
                }
                if (json_object_object_get_ex(e, "since", &since) &&
                    json_object_object_get_ex(e, "until", &until)) {
                        fputs_terminal_safe(json_object_get_string(since), f);
                        fputs(" .. ", f);
                        fputs_terminal_safe(json_object_get_string(until), f);
                        fputc(':', f);
                        first = false;
                }
                json_object_object_foreach (e, key, value) {
                        if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0)
                                continue;
                        if (json_object_is_type(value, json_type_int) &&
                            json_object_get_int64(value) != 0)
                                fprintf(f, "%s%" PRId64 " ", first ? "" : " ",
                                        json_object_get_int64(value));
                        else if (json_object_is_type(value, json_type_boolean) &&
                                 json_object_get_boolean(value))
                                fputs(first ? "" : " ", f);
                        else
                                continue;
                        fputs_terminal_safe(key, f);
                        first = false;
                }
                fputc('\n', f);
        }
}

/* "engine docker: connected since 2024-04-20 10:54:52.240 (/run/docker.sock), 12 events,
 * 40 inspects, 0 failures" and the last error when there is one. */
static void output_engines_short(json_object *engines, FILE *f) {
        for (size_t i = 0; i < json_object_array_length(engines); i++) {
                json_object *e = json_object_array_get_idx(engines, i);
                int64_t events = 0, inspects = 0, failures = 0;
                const char *error;

                if (!json_object_is_type(e, json_type_object))
                        continue;
                fputs("engine ", f);
                put_safe(get_string(e, "name"), f);
                fputs(": ", f);
                put_safe(get_string(e, "state"), f);
                if (get_string(e, "since")) {
                        fputs(" since ", f);
                        json_object *since = json_object_new_object();
                        json_object *v;
                        if (since && json_object_object_get_ex(e, "since", &v) &&
                            json_object_object_add(since, "time", json_object_get(v)) >= 0)
                                put_time(since, f);
                        json_object_put(since);
                }
                if (get_string(e, "socket")) {
                        fputs(" (", f);
                        put_safe(get_string(e, "socket"), f);
                        fputc(')', f);
                }
                (void) get_int(e, "events", &events);
                (void) get_int(e, "inspects", &inspects);
                (void) get_int(e, "failures", &failures);
                fprintf(f, ", %" PRId64 " events, %" PRId64 " inspects, %" PRId64 " failures",
                        events, inspects, failures);
                error = get_string(e, "last_error");
                if (error) {
                        fputs(", last error: ", f);
                        fputs_terminal_safe(error, f);
                }
                fputc('\n', f);
        }
}

int output_stats(Output *o, json_object *params) {
        if (!json_object_is_type(params, json_type_object))
                return -EBADMSG;

        /* raw has no meaning for counters: it gets the machine-readable form too. */
        if (o->mode != OUTPUT_SHORT) {
                output_json_line(params, o->f);
                return 0;
        }

        json_object_object_foreach (params, key, value) {
                if (strcmp(key, "engines") == 0 && json_object_is_type(value, json_type_array)) {
                        output_engines_short(value, o->f);
                        continue;
                }
                fputs_terminal_safe(key, o->f);
                fputc(':', o->f);
                if (!json_object_is_type(value, json_type_array) ||
                    json_object_array_length(value) == 0)
                        fputc(' ', o->f);
                switch (json_object_get_type(value)) {
                case json_type_int:
                        fprintf(o->f, "%" PRId64, json_object_get_int64(value));
                        break;
                case json_type_boolean:
                        fputs(json_object_get_boolean(value) ? "yes" : "no", o->f);
                        break;
                case json_type_string:
                        fputs_terminal_safe(json_object_get_string(value), o->f);
                        break;
                case json_type_null:
                        fputc('-', o->f);
                        break;
                case json_type_array:
                        output_stats_list(value, o->f);
                        continue; /* ends its own lines */
                default:
                        fputs_terminal_safe(
                                json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN),
                                o->f);
                        break;
                }
                fputc('\n', o->f);
        }
        return 0;
}

/* s escaped for the terminal, then padded to width columns (counted in bytes of the escaped
 * text: names are mostly ASCII, and a wide name only shifts its own row). */
static void put_column(const char *s, int width, FILE *f) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);

        if (!m) {
                put_safe(s, f);
                return;
        }
        put_safe(s, m);
        fclose(m);
        fputs(buf, f);
        for (int i = (int) len; i < width; i++)
                fputc(' ', f);
        free(buf);
}

/* "container_t:s0:c1,c2" of a full label, "s0:c1,c2" of "level:s0:c1,c2": what tells
 * containers apart, short enough for a table. */
static const char *label_short(const char *label) {
        if (!label)
                return NULL;
        if (strncmp(label, "level:", 6) == 0)
                return label + 6;
        const char *p = label;
        for (int i = 0; i < 2 && p; i++) {
                p = strchr(p, ':');
                if (p)
                        p++;
        }
        return p && *p ? p : label;
}

static void put_time_column(json_object *c, const char *key, int width, FILE *f) {
        const char *iso = get_string(c, key);
        char buf[64];
        int64_t ms;

        if (iso && parse_time_spec(iso, 0, &ms) >= 0) {
                output_format_local_time(ms, buf, sizeof(buf));
                buf[19] = 0; /* seconds are enough here */
                put_column(buf, width, f);
        } else
                put_column(NULL, width, f);
}

void output_containers_header(Output *o) {
        if (o->mode != OUTPUT_SHORT)
                return;
        fprintf(o->f, "%-12s  %-20s  %-7s  %-24s  %-28s  %-19s  %-19s  %s\n", "ID", "NAME",
                "ENGINE", "IMAGE", "LABEL", "STARTED", "ENDED", "DENIALS");
}

int output_container(Output *o, json_object *c) {
        char short_id[OUTPUT_CONTAINER_ID_SHORT + 1];
        int64_t denials = 0, ambiguous = 0;
        json_object *running;

        if (!json_object_is_type(c, json_type_object))
                return -EBADMSG;
        if (o->mode != OUTPUT_SHORT) {
                output_json_line(c, o->f);
                return 0;
        }
        snprintf(short_id, sizeof(short_id), "%s", get_string(c, "id") ? get_string(c, "id") : "-");
        put_column(short_id, 12, o->f);
        fputs("  ", o->f);
        put_column(get_string(c, "name"), 20, o->f);
        fputs("  ", o->f);
        put_column(get_string(c, "engine"), 7, o->f);
        fputs("  ", o->f);
        put_column(get_string(c, "image"), 24, o->f);
        fputs("  ", o->f);
        put_column(label_short(get_string(c, "label")), 28, o->f);
        fputs("  ", o->f);
        put_time_column(c, get_string(c, "started") ? "started" : "created", 19, o->f);
        fputs("  ", o->f);
        if (json_object_object_get_ex(c, "running", &running) && json_object_get_boolean(running) &&
            !get_string(c, "removed"))
                put_column("running", 19, o->f);
        else
                put_time_column(c, get_string(c, "removed") ? "removed" : "finished", 19, o->f);
        fputs("  ", o->f);
        (void) get_int(c, "denials", &denials);
        (void) get_int(c, "ambiguous", &ambiguous);
        fprintf(o->f, "%" PRId64, denials);
        if (ambiguous > 0)
                fprintf(o->f, " (+%" PRId64 " ambiguous)", ambiguous);
        fputc('\n', o->f);
        return 0;
}

/* ---- top ---- */

static int top_by_index(const char *by) {
        static const char *const names[] = {"signature", "container", "image", "tclass"};
        for (size_t i = 0; by && i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(by, names[i]) == 0)
                        return (int) i;
        return 0;
}

void output_top_header(Output *o, const char *by) {
        static const char *const headers[] = {
                "COUNT     CTRS  FIRST                LAST                 SIGNATURE (IMAGE)",
                "COUNT     SIGS  FIRST                LAST                 CONTAINER (IMAGE)",
                "COUNT     CTRS  SIGS  FIRST                LAST                 IMAGE",
                "COUNT     CTRS  SIGS  FIRST                LAST                 CLASS",
        };
        if (o->mode != OUTPUT_SHORT)
                return;
        fprintf(o->f, "%s\n", headers[top_by_index(by)]);
}

int output_top_row(Output *o, const char *by, json_object *row) {
        int64_t count = 0, containers = 0, signatures = 0;
        FILE *f = o->f;
        int k = top_by_index(by);

        if (!json_object_is_type(row, json_type_object))
                return -EBADMSG;
        if (o->mode != OUTPUT_SHORT) {
                output_json_line(row, f);
                return 0;
        }
        (void) get_int(row, "count", &count);
        (void) get_int(row, "containers", &containers);
        (void) get_int(row, "signatures", &signatures);
        fprintf(f, "%-8" PRId64 "  %4" PRId64 "  ", count, k == 1 ? signatures : containers);
        if (k >= 2)
                fprintf(f, "%4" PRId64 "  ", signatures);
        put_time_column(row, "first", 19, f);
        fputs("  ", f);
        put_time_column(row, "last", 19, f);
        fputs("  ", f);
        switch (k) {
        case 0: {
                const char *result = get_string(row, "result");
                if (result && strcmp(result, "denied") != 0) {
                        put_safe(result, f);
                        fputc(' ', f);
                }
                put_permissions(row, f);
                fputc(' ', f);
                put_safe(get_string(row, "source_type"), f);
                fputs(" -> ", f);
                put_safe(get_string(row, "target_type"), f);
                fputc(':', f);
                put_safe(get_string(row, "tclass"), f);
                break;
        }
        case 1: {
                json_object *c = get_object(row, "container");
                if (c)
                        put_container(c, f);
                else {
                        fputs("unattributed ", f);
                        put_safe(get_string(row, "mcs"), f);
                }
                break;
        }
        case 2:
                put_safe(get_string(row, "image"), f);
                break;
        default:
                put_safe(get_string(row, "tclass"), f);
                break;
        }
        if (k <= 1 && get_string(row, "image")) {
                fputs(" (", f);
                put_safe(get_string(row, "image"), f);
                fputc(')', f);
        }
        fputc('\n', f);
        return 0;
}

/* ---- histogram ---- */

#define OUTPUT_HISTOGRAM_BAR 50         /* characters of the longest bar */
#define OUTPUT_HISTOGRAM_FILL_MAX 10000 /* empty bins shown between others, at most */

static void put_bin(FILE *f, int64_t start_ms, int64_t interval_ms, uint64_t count, uint64_t max) {
        char buf[64];

        output_format_local_time(start_ms, buf, sizeof(buf));
        /* As precise as the bins are: minutes, or seconds for sub-minute bins. */
        buf[interval_ms % 60000 == 0 ? 16 : 19] = 0;
        fprintf(f, "%s  %10" PRIu64 "  ", buf, count);
        size_t bar = max > 0 ? (size_t) ((count * OUTPUT_HISTOGRAM_BAR + max - 1) / max) : 0;
        for (size_t i = 0; i < bar; i++)
                fputc('#', f);
        fputc('\n', f);
}

int output_histogram(Output *o, json_object *bins, int64_t interval_ms) {
        uint64_t max = 0;
        int64_t first = 0, last = 0;
        size_t n;

        if (!json_object_is_type(bins, json_type_array) || interval_ms <= 0)
                return -EBADMSG;
        n = json_object_array_length(bins);
        if (o->mode != OUTPUT_SHORT) {
                for (size_t i = 0; i < n; i++)
                        output_json_line(json_object_array_get_idx(bins, i), o->f);
                return 0;
        }

        /* Parse once; empty bins between two others are shown too (it is a histogram) unless
         * there would be too many of them. */
        int64_t *starts = calloc(n ? n : 1, sizeof(int64_t));
        uint64_t *counts = calloc(n ? n : 1, sizeof(uint64_t));
        if (!starts || !counts) {
                free(starts);
                free(counts);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *b = json_object_array_get_idx(bins, i);
                const char *iso = get_string(b, "start");
                int64_t c = 0;
                if (!iso || parse_time_spec(iso, 0, &starts[i]) < 0 || !get_int(b, "count", &c) ||
                    c < 0 || (i > 0 && starts[i] <= starts[i - 1])) {
                        free(starts);
                        free(counts);
                        return -EBADMSG;
                }
                counts[i] = (uint64_t) c;
                max = MAX(max, counts[i]);
        }
        if (n > 0) {
                first = starts[0];
                last = starts[n - 1];
        }
        bool fill = n > 0 && (last - first) / interval_ms < OUTPUT_HISTOGRAM_FILL_MAX;
        fprintf(o->f, "%-16s  %10s\n", "START", "DENIALS");
        for (size_t i = 0; i < n; i++) {
                if (fill && i > 0)
                        for (int64_t t = starts[i - 1] + interval_ms; t < starts[i];
                             t += interval_ms)
                                put_bin(o->f, t, interval_ms, 0, max);
                put_bin(o->f, starts[i], interval_ms, counts[i], max);
        }
        free(starts);
        free(counts);
        return 0;
}
