/* SPDX-License-Identifier: MIT */
#pragma once

/* Rendering of denials and counters for avcctl's output modes (-o short|json|raw). Pure
 * formatting onto a FILE: no sockets, no global state, so that the unit tests can link it
 * (avcctl-core). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum OutputMode {
        OUTPUT_SHORT, /* one human line per denial, every string escaped for the terminal */
        OUTPUT_JSON,  /* each denial object as received from the API, one per line */
        OUTPUT_RAW,   /* each event's original audit records, unescaped (audit2allow, udica) */
        _OUTPUT_MODE_MAX,
} OutputMode;

/* -EINVAL when unknown. */
int output_mode_from_string(const char *s);
const char *output_mode_to_string(OutputMode m);

/* ISO time strings from the API are short; anything longer is not a time we remember. */
#define OUTPUT_EVENT_TIME_MAX 64

/* How short output looks (global options --utc, --no-legend, --no-color). */
typedef struct OutputStyle {
        bool utc;       /* times in UTC instead of local time */
        bool no_legend; /* no header line above tables */
        bool no_color;  /* never colour, even on a terminal */
} OutputStyle;

typedef struct Output {
        OutputMode mode;
        FILE *f;
        bool to_terminal; /* raw output is escaped on a terminal, passed through otherwise */
        bool utc;         /* short: times in UTC, else local time; both with the zone */
        bool legend;      /* short: a header line above tables (output_init(): on) */
        bool color;       /* short: ANSI colours (output_init(): off) */
        /* short: the denials' header line is due before the first row (output_denials_header):
         * an answer that turns out to be an error prints no table head above its message. */
        bool header_pending;
        /* raw: the event (time + serial) whose records were printed last. The denials of one
         * event share their raw text and arrive next to each other: print it once. */
        bool have_last_event;
        int64_t last_serial;
        char last_time[OUTPUT_EVENT_TIME_MAX];
        /* short: the terminal's width (0: not a terminal, nothing is cut), and the hint printed
         * last, so that a run of denials with the same hint shows it once. */
        size_t columns;
        bool have_last_hint;
        uint64_t last_hint_hash;
} Output;

/* Local times, legend on, no colour. */
void output_init(Output *o, OutputMode mode, FILE *f);
/* Applies the user's style; colour only when f is a terminal (output_use_color()). */
void output_set_style(Output *o, const OutputStyle *style);
/* Whether to colour: on a terminal, unless --no-color was given or $NO_COLOR is set and not
 * empty (no-color.org). */
bool output_use_color(bool no_color_option, const char *no_color_env, bool to_terminal);

/* The header line of the short denial table (nothing in other modes or without legend), printed
 * with the first row: an answer that is an error gets no table head above its message. */
void output_denials_header(Output *o);
/* Prints the header line now if it is still due: at the end of an answer without rows. */
void output_header_flush(Output *o);

/* Writes one denial object (DESIGN "Contracts") in o's mode. Missing or mistyped fields are shown
 * as "-" in short mode. -EBADMSG when d is not a JSON object (nothing is written). */
int output_denial(Output *o, json_object *d);
/* The same for the object's JSON text, canonical (json-scan.h: what output_denial() would print
 * of its tree in json mode): json prints it as it is, raw reads the three keys it needs, short
 * the members its row shows, without a tree. -EBADMSG when text is not an object. */
int output_denial_text(Output *o, const char *text, size_t len, const char *const *values);
/* The top-level keys of a row whose values output_denial_text() takes found already in o's mode
 * (0: none), for a caller that scans the rows (json-scan.h: QueryPageText's keys): then values[i]
 * is where key i's value begins in text, NULL when the row has none; the row has no duplicate
 * keys. values NULL: output_denial_text() finds them itself. */
size_t output_denial_text_keys(const Output *o, const char *const **ret_keys);

/* Writes the parameters of a Stats reply: "name: value" lines in short mode, the object on one
 * line otherwise. -EBADMSG when params is not an object. */
int output_stats(Output *o, json_object *params);

/* One container of a Containers reply: a table row in short mode (after
 * output_containers_header()), the object on one line otherwise. -EBADMSG when c is not an
 * object. */
void output_containers_header(Output *o);
int output_container(Output *o, json_object *c);

/* The rows of a Top reply grouped by `by` ("signature", "container", "image", "tclass", "verdict",
 * "reason"): a table
 * in short mode (after output_top_header()), one object per line otherwise. -EBADMSG when row is
 * not an object. */
void output_top_header(Output *o, const char *by);
int output_top_row(Output *o, const char *by, json_object *row);

/* The entries of a Baseline reply: a table in short mode (after output_baseline_header()), one
 * object per line otherwise. -EBADMSG when e is not an object. */
void output_baseline_header(Output *o);
int output_baseline_entry(Output *o, json_object *e);

/* The bins of a Histogram reply (interval_ms wide): in short mode a table with a bar per bin,
 * empty bins between others included; one object per line otherwise. -EBADMSG for a malformed
 * reply (nothing is written). */
int output_histogram(Output *o, json_object *bins, int64_t interval_ms);

typedef enum OutputTimePrecision {
        OUTPUT_TIME_MS,      /* "2024-04-20 10:54:52.240 CEST" */
        OUTPUT_TIME_SECONDS, /* "2024-04-20 10:54:52 CEST" */
        OUTPUT_TIME_MINUTES, /* "2024-04-20 10:54 CEST" */
} OutputTimePrecision;

#define OUTPUT_TIME_MAX 64

/* The one convention of short output and stats: local time with the zone's abbreviation for that
 * time (as journalctl), or with utc "2024-04-20 08:54:52.240 UTC". buf: OUTPUT_TIME_MAX. */
void output_format_time(int64_t time_ms, bool utc, OutputTimePrecision precision, char *buf,
                        size_t n);
/* output_format_time(time_ms, false, OUTPUT_TIME_MS, ...) */
void output_format_local_time(int64_t time_ms, char *buf, size_t n);

/* Display columns of UTF-8 text without controls (escaped text): wcwidth() per character, one
 * for a character it does not know. */
size_t output_text_columns(const char *s);

/* A Containers reply object's state for `containers`: "running", "created" (never started),
 * "exited", "removed", or "-" (not known); *ret_ended_key (may be NULL) is the API field that
 * holds when it ended ("finished", "removed"), or NULL. */
const char *output_container_state(json_object *c, const char **ret_ended_key);

/* avcctl explain (output-explain.c). The head line of one event (short mode only): its serial
 * and time from its first denial, n denials in it, one of `events` sharing the serial. Then each
 * ExplainedDenial of Explain's reply: a block of labelled lines in short mode, the object on one
 * line with json, the denial's records with raw. -EBADMSG for a malformed object. */
int output_explain_event_head(Output *o, json_object *denial, size_t n, size_t events);
int output_explain_denial(Output *o, json_object *explained, size_t index, size_t n);
