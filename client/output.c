/* SPDX-License-Identifier: MIT */
/* avcctl's output modes.
 *
 * short: a table, one line per denial, under a header line (the legend, --no-legend omits it):
 *   TIME  CONTAINER  PROCESS  DENIED  SOURCE  TARGET:CLASS  MCS  PATH  NOTES
 * A triaged denial's verdict ends NOTES ("(pid) escape"; escape in bold red, isolation in red
 * with colour), and its hint follows on a line of its own, indented under the row: a sentence
 * of 100-300 characters does not fit in a column of a table already wider than most terminals,
 * and at the end of the row it would push the next row's start out of sight. The hint is cut to
 * the terminal's width (the whole sentence is in `explain` and -o json), written whole into a
 * pipe, and left out when it is the same as the previous row's: a run of one kind of denial
 * shows its advice once. Untriaged denials look as before triage existed.
 * The columns are defined once (denial_columns[]): a cell longer than its column is cut with
 * "…" so that a hostile long value cannot push the next columns out of line; PATH and NOTES
 * (attribution, markers) come last and are never cut: a path is evidence, and nothing after it
 * needs aligning. Widths count
 * display columns of the escaped text, not bytes. Times are local with the zone abbreviation
 * ("2024-04-20 10:54:52.240 CEST"), or UTC with --utc; json keeps the API's ISO 8601 UTC.
 * Colour only on a terminal, never with --no-color or NO_COLOR set (no-color.org).
 * Every string in it went through a container at some point (comm, path and name are chosen by
 * whoever runs inside it, container names and images by whoever started it), and even the
 * contexts come from a daemon we should not have to trust with our terminal: all of them are
 * written with fputs_terminal_safe(), so ESC, CR, BS, C1 controls and broken UTF-8 are shown as
 * \xNN and never act on the terminal; colour codes are ours only, added around escaped cells.
 * json: the object exactly as the API sent it; json-c escapes control characters itself.
 * raw: the original audit lines, unescaped on purpose when they go to a pipe or file: they are
 * meant for audit2allow / udica, which need the bytes the kernel wrote. On a terminal each line
 * is escaped like short output: a record read from a file may hold any byte. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "macro.h"
#include "json-scan.h"
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

bool output_use_color(bool no_color_option, const char *no_color_env, bool to_terminal) {
        /* no-color.org: NO_COLOR set and not empty disables colour, whatever its value. */
        return to_terminal && !no_color_option && !(no_color_env && *no_color_env);
}

void output_init(Output *o, OutputMode mode, FILE *f) {
        struct winsize ws = {};

        *o = (Output){.mode = mode, .f = f, .to_terminal = isatty(fileno(f)) > 0, .legend = true};
        if (o->to_terminal && ioctl(fileno(f), TIOCGWINSZ, &ws) >= 0)
                o->columns = ws.ws_col;
}

void output_set_style(Output *o, const OutputStyle *style) {
        o->utc = style->utc;
        o->legend = !style->no_legend;
        o->color = output_use_color(style->no_color, getenv("NO_COLOR"), o->to_terminal);
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

/* strftime()'s "%Y-%m-%d %H:%M:%S" (":%S" only with seconds) of tm into buf (OUTPUT_TIME_MAX),
 * written by hand for the years it writes with four digits: a short row formats a time per row,
 * and strftime() took several times what these few digits take. */
static size_t format_tm(const struct tm *tm, bool seconds, char *buf) {
        int year = tm->tm_year + 1900;
        int fields[] = {tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec};
        size_t len = 0;

        if (year < 1000 || year > 9999)
                goto slow;
        for (int d = 1000; d > 0; d /= 10)
                buf[len++] = (char) ('0' + year / d % 10);
        for (size_t i = 0; i < (seconds ? 5U : 4U); i++) {
                if (fields[i] < 0 || fields[i] > 99)
                        goto slow;
                buf[len++] = "-- ::"[i];
                buf[len++] = (char) ('0' + fields[i] / 10);
                buf[len++] = (char) ('0' + fields[i] % 10);
        }
        buf[len] = 0;
        return len;
slow:
        return seconds ? strftime(buf, OUTPUT_TIME_MAX, "%Y-%m-%d %H:%M:%S", tm)
                       : strftime(buf, OUTPUT_TIME_MAX, "%Y-%m-%d %H:%M", tm);
}

void output_format_time(int64_t time_ms, bool utc, OutputTimePrecision precision, char *buf,
                        size_t n) {
        int64_t sec = time_ms / 1000, ms = time_ms % 1000;
        char out[OUTPUT_TIME_MAX];
        const char *zone;
        struct tm tm;
        time_t t;
        size_t len;

        if (ms < 0) {
                ms += 1000;
                sec--;
        }
        t = (time_t) sec;
        if (!(utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) ||
            (len = format_tm(&tm, precision != OUTPUT_TIME_MINUTES, out)) == 0) {
                snprintf(buf, n, "@%" PRId64 ".%03" PRId64, sec, ms);
                return;
        }
        if (precision == OUTPUT_TIME_MS) {
                /* at most 23 bytes so far */
                out[len++] = '.';
                out[len++] = (char) ('0' + ms / 100);
                out[len++] = (char) ('0' + ms / 10 % 10);
                out[len++] = (char) ('0' + ms % 10);
                out[len] = 0;
        }
        /* The zone as journalctl names it: the abbreviation of the time's own offset (CET or
         * CEST), "UTC" with --utc. strftime()'s %Z is tm_zone when it has one. */
        zone = utc ? "UTC" : tm.tm_zone;
        if (zone && *zone && sizeof(out) - len > strlen(zone) + 1) {
                out[len] = ' ';
                strcpy(out + len + 1, zone);
        } else if (strftime(out + len, sizeof(out) - len, " %Z", &tm) == 0)
                out[len] = 0;
        /* buf: OUTPUT_TIME_MAX by the contract; a shorter one gets the head */
        len = MIN(strlen(out), n > 0 ? n - 1 : 0);
        if (n > 0) {
                memcpy(buf, out, len);
                buf[len] = 0;
        }
}

void output_format_local_time(int64_t time_ms, char *buf, size_t n) {
        output_format_time(time_ms, false, OUTPUT_TIME_MS, buf, n);
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

/* Text built in memory: a short row's cells, one after the other, each NUL-terminated. Out of
 * memory it keeps what it has and says so (failed). */
typedef struct TextBuf {
        char *text;
        size_t len, size;
        bool failed;
} TextBuf;

static void text_done(TextBuf *t) {
        free(t->text);
        *t = (TextBuf){};
}

/* Room for n more bytes and a NUL at the end; NULL out of memory. */
static char *text_room(TextBuf *t, size_t n) {
        if (t->failed)
                return NULL;
        if (t->size - t->len <= n) {
                size_t size = MAX(MAX(t->size * 2, (size_t) 512), t->len + n + 1);
                char *p = size > t->len + n ? realloc(t->text, size) : NULL;
                if (!p) {
                        t->failed = true;
                        return NULL;
                }
                t->text = p;
                t->size = size;
        }
        return t->text + t->len;
}

static void text_add(TextBuf *t, const char *s, size_t n) {
        char *o = text_room(t, n);
        if (!o)
                return;
        memcpy(o, s, n);
        t->len += n;
        t->text[t->len] = 0;
}

static void text_puts(TextBuf *t, const char *s) {
        text_add(t, s, strlen(s));
}

static void text_putc(TextBuf *t, char c) {
        text_add(t, &c, 1);
}

/* put_safe() into t. */
static void text_safe(TextBuf *t, const char *s) {
        size_t n;
        char *o;

        s = s ?: "-";
        n = strlen(s);
        o = n <= (SIZE_MAX - 1) / TERMINAL_SAFE_EXPANSION_MAX
                    ? text_room(t, n * TERMINAL_SAFE_EXPANSION_MAX)
                    : NULL;
        if (!o) {
                t->failed = true;
                return;
        }
        t->len += terminal_safe_escape(s, o);
}

/* Ends a cell: its offset is where it began; the next one begins after its NUL. */
static void text_end_cell(TextBuf *t) {
        text_add(t, "", 1);
}

/* What a row shows of a container object: its strings as get_string() gives them (NULL: absent,
 * null, not a string); is_object false when there is no object (all NULL). */
typedef struct ContainerView {
        bool is_object;
        const char *name, *id, *pod, *namespace;
} ContainerView;

static void container_view_from_tree(json_object *c, ContainerView *v) {
        *v = (ContainerView){.is_object = c != NULL};
        if (!c)
                return;
        v->name = get_string(c, "name");
        v->id = get_string(c, "id");
        v->pod = get_string(c, "pod");
        v->namespace = get_string(c, "namespace");
}

/* The container's name, else the start of its id, else "-". */
static void text_container(TextBuf *t, const ContainerView *c) {
        if (c->name && *c->name) {
                text_safe(t, c->name);
                return;
        }
        if (c->id && *c->id) {
                /* Cut bytes, not characters: escaping shows whatever a cut UTF-8 sequence is. */
                char short_id[OUTPUT_CONTAINER_ID_SHORT + 1];
                snprintf(short_id, sizeof(short_id), "%s", c->id);
                text_safe(t, short_id);
                return;
        }
        /* A denial named at the level of a pod ("pod NAMESPACE/POD") or a namespace. */
        if (c->pod || c->namespace) {
                text_puts(t, c->pod ? "pod " : "namespace ");
                if (c->namespace)
                        text_safe(t, c->namespace);
                if (c->pod && c->namespace)
                        text_putc(t, '/');
                if (c->pod)
                        text_safe(t, c->pod);
                return;
        }
        text_putc(t, '-');
}

static void put_text(TextBuf *t, FILE *f) {
        if (!t->failed && t->len > 0)
                fwrite(t->text, 1, t->len, f);
        text_done(t);
}

static void put_container(json_object *c, FILE *f) {
        TextBuf t = {};
        ContainerView v;

        container_view_from_tree(c, &v);
        text_container(&t, &v);
        put_text(&t, f);
}

/* An ISO 8601 UTC time of the API ("time", "first", "since" ...) in the short convention into
 * buf (OUTPUT_TIME_MAX); false when it is not one. */
static bool format_iso_time(const Output *o, const char *iso, OutputTimePrecision precision,
                            char *buf) {
        int64_t ms;

        /* The API's time is ISO 8601 UTC; parse_time_spec() reads exactly that form. */
        if (!iso || parse_time_spec(iso, 0, &ms) < 0)
                return false;
        output_format_time(ms, o->utc, precision, buf, OUTPUT_TIME_MAX);
        return true;
}

static void put_iso_time(const Output *o, const char *iso, OutputTimePrecision precision, FILE *f) {
        char buf[OUTPUT_TIME_MAX];

        if (format_iso_time(o, iso, precision, buf))
                fputs(buf, f);
        else
                put_safe(iso, f);
}

static void text_iso_time(const Output *o, TextBuf *t, const char *iso,
                          OutputTimePrecision precision) {
        char buf[OUTPUT_TIME_MAX];

        if (format_iso_time(o, iso, precision, buf))
                text_puts(t, buf);
        else
                text_safe(t, iso);
}

/* ---- table cells ---- */

#define ANSI_RESET "\033[0m"
#define ANSI_BOLD "\033[1m"
#define ANSI_RED "\033[31m"
#define ANSI_GREEN "\033[32m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_GREY "\033[90m"

#define OUTPUT_CUT_MARK "…" /* one display column */

/* A cell's text, rendered (escaped) by the put_*() helpers into memory first, so that it can be
 * measured and cut before it is written. */
typedef struct Cell {
        char *text;
        size_t len;
        FILE *f;
} Cell;

static FILE *cell_open(Cell *c) {
        *c = (Cell){};
        c->f = open_memstream(&c->text, &c->len);
        return c->f;
}

/* The text written so far; never NULL (out of memory: ""). */
static const char *cell_text(Cell *c) {
        if (c->f) {
                if (fclose(c->f) != 0) {
                        free(c->text);
                        c->text = NULL;
                }
                c->f = NULL;
        }
        return c->text ?: "";
}

static void cell_done(Cell *c) {
        (void) cell_text(c);
        free(c->text);
        *c = (Cell){};
}

/* Length of the UTF-8 sequence at s and its display width. Escaped text is valid UTF-8 without
 * controls; a width wcwidth() does not know (C locale) counts as one column. */
static size_t utf8_next(const char *s, int *ret_columns) {
        unsigned char b = (unsigned char) s[0];
        size_t n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        wchar_t wc = b;

        for (size_t i = 1; i < n; i++)
                if (((unsigned char) s[i] & 0xc0) != 0x80) {
                        n = 1;
                        break;
                }
        if (n > 1) {
                wc = (wchar_t) (b & (0x7f >> n));
                for (size_t i = 1; i < n; i++)
                        wc = (wc << 6) | ((unsigned char) s[i] & 0x3f);
        }
        int w = b < 0x80 ? 1 : wcwidth(wc);
        *ret_columns = w < 0 ? 1 : w;
        return n;
}

size_t output_text_columns(const char *s) {
        size_t cols = 0;
        int w;

        while (s && *s) {
                if ((unsigned char) *s < 0x80) { /* one column, as utf8_next() says */
                        s++;
                        cols++;
                        continue;
                }
                s += utf8_next(s, &w);
                cols += (size_t) w;
        }
        return cols;
}

typedef struct Column {
        const char *header;
        int width;   /* display columns; 0: the last column, neither cut nor padded */
        bool no_cut; /* fixed-format text (times): never cut */
        bool free;   /* neither cut nor padded, two blanks after it: a last column but one */
} Column;

/* The length of the unit of escaped text at s that a cut must not split: an escape written by
 * fputs_terminal_safe() (\\, \xNN, \uNNNN, \UNNNNNNNN: each character one column), else
 * one UTF-8 character. Its display width into *ret_columns. */
static size_t escaped_unit(const char *s, int *ret_columns) {
        static const struct {
                char c;
                size_t len;
        } escapes[] = {{'\\', 2}, {'x', 4}, {'u', 6}, {'U', 10}};

        if (s[0] == '\\')
                for (size_t i = 0; i < ELEMENTSOF(escapes); i++)
                        if (s[1] == escapes[i].c && strnlen(s, escapes[i].len) == escapes[i].len) {
                                *ret_columns = (int) escapes[i].len;
                                return escapes[i].len;
                        }
        return utf8_next(s, ret_columns);
}

/* Escaped text cut to width display columns (0: no limit) at its end, the cut marked with
 * OUTPUT_CUT_MARK and never inside an escape: how many bytes of text are kept (*ret_keep), whether
 * it is cut, and the columns it takes. */
static size_t cut_text(const char *text, size_t width, size_t *ret_keep, bool *ret_cut) {
        size_t cols = output_text_columns(text), len = strlen(text), keep = 0;
        const char *end = text + len;
        int w;

        if (width > 0 && cols > width) {
                end = text;
                while (*end) {
                        size_t n = escaped_unit(end, &w);
                        if (keep + (size_t) w > width - 1)
                                break;
                        keep += (size_t) w;
                        end += n;
                }
                cols = keep + 1;
        }
        *ret_keep = (size_t) (end - text);
        *ret_cut = end != text + len;
        return cols;
}

/* Writes text cut as cut_text() says. Returns the columns written. */
static size_t put_cut(const char *text, size_t width, FILE *f) {
        size_t keep;
        bool cut;
        size_t cols = cut_text(text, width, &keep, &cut);

        fwrite(text, 1, keep, f);
        if (cut)
                fputs(OUTPUT_CUT_MARK, f);
        return cols;
}

/* The same onto t, for text at offset at of t itself (it may move as t grows). */
static void text_cut(TextBuf *t, size_t at, size_t width) {
        size_t keep;
        bool cut;

        if (t->failed)
                return;
        (void) cut_text(t->text + at, width, &keep, &cut);
        if (!text_room(t, keep + strlen(OUTPUT_CUT_MARK)))
                return;
        memcpy(t->text + t->len, t->text + at, keep);
        t->len += keep;
        t->text[t->len] = 0;
        if (cut)
                text_puts(t, OUTPUT_CUT_MARK);
}

/* The escaped text of a cell onto t: cut when wider than the column, coloured when color is set,
 * padded to the column's width unless it is the last one. */
static void text_cell(const Output *o, TextBuf *t, const Column *col, const char *text,
                      const char *color) {
        size_t cols, keep;
        bool cut;

        if (color && o->color)
                text_puts(t, color);
        cols = cut_text(text, col->no_cut || col->free ? 0 : (size_t) col->width, &keep, &cut);
        text_add(t, text, keep);
        if (cut)
                text_puts(t, OUTPUT_CUT_MARK);
        if (color && o->color)
                text_puts(t, ANSI_RESET);
        if (col->free) {
                text_puts(t, "  ");
                return;
        }
        if (col->width > 0) {
                /* the padding and the two blanks between columns */
                size_t n = (cols < (size_t) col->width ? (size_t) col->width - cols : 0) + 2;
                char *p = text_room(t, n);
                if (!p)
                        return;
                memset(p, ' ', n);
                t->len += n;
                t->text[t->len] = 0;
        }
}

/* The same written to o's FILE. */
static void put_cell(const Output *o, const Column *col, const char *text, const char *color) {
        TextBuf t = {};

        text_cell(o, &t, col, text, color);
        put_text(&t, o->f);
}

/* The legend of a table: its column names, bold on a terminal. */
static void put_header(const Output *o, const Column *cols, size_t n) {
        if (o->mode != OUTPUT_SHORT || !o->legend)
                return;
        for (size_t i = 0; i < n; i++) {
                Column c = cols[i];
                if (i + 1 == n)
                        c.width = 0;
                put_cell(o, &c, c.header, ANSI_BOLD);
        }
        fputc('\n', o->f);
}

/* What a short row shows of a denial, read from its tree (denial_view_from_tree()) or from its
 * canonical text (denial_view_from_text()), so that both print the same. Strings as get_string()
 * gives them: NUL-terminated, NULL when absent, null or not a string. */
typedef struct DenialView {
        const char *time, *result, *path, *name, *mcs, *comm, *source_type, *target_type, *tclass,
                *attribution, *verdict, *hint;
        bool has_pid, has_count, permissive;
        int64_t pid, count;
        ContainerView container, target_container; /* is_object false: none */
        bool has_permissions;                      /* an array */
        size_t n_permissions, n_candidates;
        const char **permissions;  /* NULL for an element that is not a string */
        ContainerView *candidates; /* is_object false for an element that is not an object */
        size_t permissions_allocated, candidates_allocated;
} DenialView;

/* The members of a row a DenialView holds: the strings first, in the order of
 * denial_view_string_offsets[]. */
enum {
        VIEW_TIME,
        VIEW_RESULT,
        VIEW_PATH,
        VIEW_NAME,
        VIEW_MCS,
        VIEW_COMM,
        VIEW_SOURCE_TYPE,
        VIEW_TARGET_TYPE,
        VIEW_TCLASS,
        VIEW_ATTRIBUTION,
        VIEW_VERDICT,
        VIEW_HINT,
        _VIEW_STRING_MAX,
        VIEW_PID = _VIEW_STRING_MAX,
        VIEW_COUNT,
        VIEW_PERMISSIVE,
        VIEW_CONTAINER,
        VIEW_TARGET_CONTAINER,
        VIEW_PERMISSIONS,
        VIEW_CANDIDATES,
        _VIEW_KEY_MAX,
};

static const char *const denial_view_keys[_VIEW_KEY_MAX] = {
        [VIEW_TIME] = "time",
        [VIEW_RESULT] = "result",
        [VIEW_PATH] = "path",
        [VIEW_NAME] = "name",
        [VIEW_MCS] = "mcs",
        [VIEW_COMM] = "comm",
        [VIEW_SOURCE_TYPE] = "source_type",
        [VIEW_TARGET_TYPE] = "target_type",
        [VIEW_TCLASS] = "tclass",
        [VIEW_ATTRIBUTION] = "attribution",
        [VIEW_VERDICT] = "verdict",
        [VIEW_HINT] = "hint",
        [VIEW_PID] = "pid",
        [VIEW_COUNT] = "count",
        [VIEW_PERMISSIVE] = "permissive",
        [VIEW_CONTAINER] = "container",
        [VIEW_TARGET_CONTAINER] = "target_container",
        [VIEW_PERMISSIONS] = "permissions",
        [VIEW_CANDIDATES] = "candidates",
};

static const size_t denial_view_string_offsets[_VIEW_STRING_MAX] = {
        [VIEW_TIME] = offsetof(DenialView, time),
        [VIEW_RESULT] = offsetof(DenialView, result),
        [VIEW_PATH] = offsetof(DenialView, path),
        [VIEW_NAME] = offsetof(DenialView, name),
        [VIEW_MCS] = offsetof(DenialView, mcs),
        [VIEW_COMM] = offsetof(DenialView, comm),
        [VIEW_SOURCE_TYPE] = offsetof(DenialView, source_type),
        [VIEW_TARGET_TYPE] = offsetof(DenialView, target_type),
        [VIEW_TCLASS] = offsetof(DenialView, tclass),
        [VIEW_ATTRIBUTION] = offsetof(DenialView, attribution),
        [VIEW_VERDICT] = offsetof(DenialView, verdict),
        [VIEW_HINT] = offsetof(DenialView, hint),
};

static const char **denial_view_string(DenialView *v, size_t i) {
        return (const char **) ((char *) v + denial_view_string_offsets[i]);
}

static void denial_view_done(DenialView *v) {
        free(v->permissions);
        free(v->candidates);
        *v = (DenialView){};
}

static int view_add_permission(DenialView *v, const char *p) {
        if (v->n_permissions == v->permissions_allocated) {
                size_t n = MAX(v->permissions_allocated * 2, (size_t) 4);
                const char **a = reallocarray(v->permissions, n, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                v->permissions = a;
                v->permissions_allocated = n;
        }
        v->permissions[v->n_permissions++] = p;
        return 0;
}

static ContainerView *view_add_candidate(DenialView *v) {
        if (v->n_candidates == v->candidates_allocated) {
                size_t n = MAX(v->candidates_allocated * 2, (size_t) 2);
                ContainerView *a = reallocarray(v->candidates, n, sizeof(*a));
                if (!a)
                        return NULL;
                v->candidates = a;
                v->candidates_allocated = n;
        }
        v->candidates[v->n_candidates] = (ContainerView){};
        return &v->candidates[v->n_candidates++];
}

static int view_permissions_from_tree(json_object *d, DenialView *v) {
        json_object *perms;

        if (!json_object_object_get_ex(d, "permissions", &perms) ||
            !json_object_is_type(perms, json_type_array))
                return 0;
        v->has_permissions = true;
        for (size_t i = 0; i < json_object_array_length(perms); i++) {
                json_object *p = json_object_array_get_idx(perms, i);
                int r = view_add_permission(v, json_object_is_type(p, json_type_string)
                                                       ? json_object_get_string(p)
                                                       : NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "{ read write }" */
static void text_permissions(TextBuf *t, const DenialView *v) {
        text_putc(t, '{');
        for (size_t i = 0; i < v->n_permissions; i++) {
                text_putc(t, ' ');
                text_safe(t, v->permissions[i]);
        }
        text_puts(t, " }");
}

static void put_permissions(json_object *d, FILE *f) {
        _cleanup_(denial_view_done) DenialView v = {};
        TextBuf t = {};

        if (view_permissions_from_tree(d, &v) < 0)
                return;
        text_permissions(&t, &v);
        put_text(&t, f);
}

/* The candidates of an ambiguous (pod, namespace) denial: ": web|web-twin". */
static void text_candidates(TextBuf *t, const DenialView *v) {
        if (v->n_candidates == 0)
                return;
        text_puts(t, ": ");
        for (size_t i = 0; i < v->n_candidates; i++) {
                if (i > 0)
                        text_putc(t, '|');
                text_container(t, &v->candidates[i]);
        }
}

static int denial_view_from_tree(json_object *d, DenialView *v) {
        json_object *permissive, *cands;
        int r;

        for (size_t i = 0; i < _VIEW_STRING_MAX; i++)
                *denial_view_string(v, i) = get_string(d, denial_view_keys[i]);
        v->has_pid = get_int(d, "pid", &v->pid);
        v->has_count = get_int(d, "count", &v->count);
        v->permissive = json_object_object_get_ex(d, "permissive", &permissive) &&
                        json_object_is_type(permissive, json_type_boolean) &&
                        json_object_get_boolean(permissive);
        container_view_from_tree(get_object(d, "container"), &v->container);
        container_view_from_tree(get_object(d, "target_container"), &v->target_container);
        r = view_permissions_from_tree(d, v);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(d, "candidates", &cands) &&
            json_object_is_type(cands, json_type_array))
                for (size_t i = 0; i < json_object_array_length(cands); i++) {
                        json_object *c = json_object_array_get_idx(cands, i);
                        ContainerView *cv = view_add_candidate(v);
                        if (!cv)
                                return -ENOMEM;
                        container_view_from_tree(
                                json_object_is_type(c, json_type_object) ? c : NULL, cv);
                }
        return 0;
}

/* A string member's value of a canonical row: decoded into arena at the value's own offset
 * (decoded text is never longer than its JSON, so values never overlap), or NULL when it is not
 * a string. *p after the value. */
static int text_member_string(const char **p, const char *end, JsonMember *m, const char *text,
                              char *arena, const char **ret) {
        size_t n;
        int r;

        *ret = NULL;
        if (*m->value != '"')
                return json_scan_member_value(p, end, m);
        r = json_scan_string_decode_into(m->value, end, p, arena + (m->value - text), &n);
        if (r < 0)
                return r;
        *ret = arena + (m->value - text);
        return 0;
}

/* Whether member m's key is the string literal key. */
#define KEY_IS(m, k) ((m)->key_len == sizeof(k) - 1 && memcmp((m)->key, k, sizeof(k) - 1) == 0)

/* A container object at *p (or any other value: is_object false), *p after it. */
static int container_view_from_text(const char **p, const char *end, const char *text, char *arena,
                                    ContainerView *v) {
        JsonMember m;
        const char *q = *p;
        int r;

        *v = (ContainerView){};
        if (*q != '{') {
                m = (JsonMember){.value = q};
                /* the value of an array or a member: checked at the depth of the row's members */
                return json_scan_member_value(p, end, &m);
        }
        v->is_object = true;
        while ((r = json_scan_member_key(&q, end, &m)) > 0) {
                const char **dst = KEY_IS(&m, "name")        ? &v->name
                                   : KEY_IS(&m, "id")        ? &v->id
                                   : KEY_IS(&m, "pod")       ? &v->pod
                                   : KEY_IS(&m, "namespace") ? &v->namespace
                                                             : NULL;
                r = dst ? text_member_string(&q, end, &m, text, arena, dst)
                        : json_scan_member_value(&q, end, &m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        /* at the '}' after the last member, or at the '{' of "{}" */
        *p = q + (*q == '{' ? 2 : 1);
        return 0;
}

/* The elements of an array at *p for each(), which reads one and moves *p past it; *p after the
 * array. A value that is not an array: nothing, *p after it, 0. */
static int text_array(const char **p, const char *end, bool *ret_array,
                      int (*each)(const char **p, const char *end, const char *text, char *arena,
                                  DenialView *v),
                      const char *text, char *arena, DenialView *v) {
        const char *q = *p;
        int r;

        *ret_array = *q == '[';
        if (!*ret_array) {
                JsonMember m = {.value = q};
                return json_scan_member_value(p, end, &m);
        }
        q++;
        if (q < end && *q == ']') {
                *p = q + 1;
                return 0;
        }
        for (;;) {
                r = each(&q, end, text, arena, v);
                if (r < 0)
                        return r;
                if (q < end && *q == ']') {
                        *p = q + 1;
                        return 0;
                }
                if (q >= end || *q != ',')
                        return -EBADMSG;
                q++;
        }
}

static int text_permission(const char **p, const char *end, const char *text, char *arena,
                           DenialView *v) {
        JsonMember m = {.value = *p};
        const char *s;
        int r;

        r = text_member_string(p, end, &m, text, arena, &s);
        return r < 0 ? r : view_add_permission(v, s);
}

static int text_candidate(const char **p, const char *end, const char *text, char *arena,
                          DenialView *v) {
        ContainerView *cv = view_add_candidate(v);
        if (!cv)
                return -ENOMEM;
        return container_view_from_text(p, end, text, arena, cv);
}

/* The value at *p of the member k (VIEW_*) of a row's canonical text into v; *p after it. */
static int view_read(DenialView *v, size_t k, const char **p, const char *end, const char *text,
                     char *arena) {
        JsonMember m = {.value = *p};
        bool array;

        switch (k) {
        case VIEW_PID:
        case VIEW_COUNT: {
                /* an integer: canonical ones have at most 18 digits */
                bool is_int = *m.value == '-' || (*m.value >= '0' && *m.value <= '9');
                *(k == VIEW_PID ? &v->has_pid : &v->has_count) = is_int;
                if (is_int)
                        *(k == VIEW_PID ? &v->pid : &v->count) = strtoll(m.value, NULL, 10);
                return json_scan_member_value(p, end, &m);
        }
        case VIEW_PERMISSIVE:
                v->permissive = *m.value == 't';
                return json_scan_member_value(p, end, &m);
        case VIEW_CONTAINER:
        case VIEW_TARGET_CONTAINER:
                return container_view_from_text(p, end, text, arena,
                                                k == VIEW_CONTAINER ? &v->container
                                                                    : &v->target_container);
        case VIEW_PERMISSIONS:
                return text_array(p, end, &v->has_permissions, text_permission, text, arena, v);
        case VIEW_CANDIDATES:
                return text_array(p, end, &array, text_candidate, text, arena, v);
        default:
                return text_member_string(p, end, &m, text, arena, denial_view_string(v, k));
        }
}

/* From a row's canonical text (json-scan.h: no duplicate keys, no white space, integers only);
 * the decoded strings in arena (len bytes). values: where the members of denial_view_keys[]
 * begin (output_denial_text_keys()), else they are looked for here. */
static int denial_view_from_text(const char *text, size_t len, const char *const *values,
                                 char *arena, DenialView *v) {
        const char *p = text, *end = text + len;
        JsonMember m;
        int r;

        if (values) {
                for (size_t k = 0; k < _VIEW_KEY_MAX; k++)
                        if (values[k]) {
                                p = values[k];
                                r = view_read(v, k, &p, end, text, arena);
                                if (r < 0)
                                        return r;
                        }
                return 0;
        }
        while ((r = json_scan_member_key(&p, end, &m)) > 0) {
                size_t k;

                for (k = 0; k < _VIEW_KEY_MAX; k++)
                        if (m.key_len == strlen(denial_view_keys[k]) &&
                            memcmp(m.key, denial_view_keys[k], m.key_len) == 0)
                                break;
                r = k < _VIEW_KEY_MAX ? view_read(v, k, &p, end, text, arena)
                                      : json_scan_member_value(&p, end, &m);
                if (r < 0)
                        return r;
        }
        return r;
}

/* The indent of a hint line under its denial's row. */
#define OUTPUT_HINT_PREFIX "    hint: "
#define OUTPUT_HINT_COLUMNS_MIN 40 /* a terminal narrower than this cuts nothing */

static uint64_t text_hash(const char *s) {
        uint64_t h = 14695981039346656037ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

/* A verdict, coloured when it is one a person must look at. */
static void put_verdict_text(const Output *o, const char *verdict) {
        const char *color = !verdict                            ? NULL
                            : strcmp(verdict, "escape") == 0    ? ANSI_BOLD ANSI_RED
                            : strcmp(verdict, "isolation") == 0 ? ANSI_RED
                                                                : NULL;
        if (!verdict) {
                put_safe(NULL, o->f);
                return;
        }
        if (color && o->color)
                fputs(color, o->f);
        fputs_terminal_safe(verdict, o->f);
        if (color && o->color)
                fputs(ANSI_RESET, o->f);
}

/* " escape": the verdict at the end of NOTES. */
static void put_verdict(const Output *o, const char *verdict) {
        if (!verdict)
                return;
        fputc(' ', o->f);
        put_verdict_text(o, verdict);
}

/* The hint's own line, unless the previous row had the same one. */
static void put_hint_line(Output *o, const char *hint) {
        TextBuf t = {};

        if (!hint || !*hint) {
                o->have_last_hint = false;
                return;
        }
        uint64_t h = text_hash(hint);
        if (o->have_last_hint && o->last_hint_hash == h)
                return;
        o->have_last_hint = true;
        o->last_hint_hash = h;
        text_safe(&t, hint);
        if (!t.failed) {
                size_t prefix = strlen(OUTPUT_HINT_PREFIX);
                fputs(OUTPUT_HINT_PREFIX, o->f);
                (void) put_cut(t.text,
                               o->columns >= OUTPUT_HINT_COLUMNS_MIN ? o->columns - prefix - 1 : 0,
                               o->f);
                fputc('\n', o->f);
        }
        text_done(&t);
}

/* The short table of denials. NOTES holds, in this order: the
 * attribution "(pid)" with an ambiguous denial's candidates "(ambiguous: web|web-twin)",
 * ", permissive", ", target in NAME", the triage verdict, and a storm's "xN (storm: ...)". */
enum {
        DENIAL_TIME,
        DENIAL_CONTAINER,
        DENIAL_PROCESS,
        DENIAL_DENIED,
        DENIAL_SOURCE,
        DENIAL_TARGET,
        DENIAL_MCS,
        DENIAL_PATH,
        DENIAL_NOTES,
        _DENIAL_COLUMN_MAX,
};

static const Column denial_columns[_DENIAL_COLUMN_MAX] = {
        /* "2024-04-20 10:54:52.240 CEST": a longer zone name only shifts its own row */
        [DENIAL_TIME] = {"TIME", 28, .no_cut = true},
        [DENIAL_CONTAINER] = {"CONTAINER", 20},
        [DENIAL_PROCESS] = {"PROCESS", 26},
        [DENIAL_DENIED] = {"DENIED", 20},
        [DENIAL_SOURCE] = {"SOURCE", 20},
        [DENIAL_TARGET] = {"TARGET:CLASS", 32},
        [DENIAL_MCS] = {"MCS", 16},
        [DENIAL_PATH] = {"PATH", 0, .free = true},
        [DENIAL_NOTES] = {"NOTES", 0},
};

void output_denials_header(Output *o) {
        o->header_pending = true;
}

void output_header_flush(Output *o) {
        if (!o->header_pending)
                return;
        o->header_pending = false;
        put_header(o, denial_columns, _DENIAL_COLUMN_MAX);
}

/* "[1234]" into buf (32 bytes), as "[%" PRId64 "]" writes it. */
static void format_pid(int64_t pid, char *buf) {
        char digits[24];
        size_t n = 0, len = 0;
        uint64_t u = pid < 0 ? 0 - (uint64_t) pid : (uint64_t) pid;

        do
                digits[n++] = (char) ('0' + u % 10);
        while ((u /= 10) > 0);
        buf[len++] = '[';
        if (pid < 0)
                buf[len++] = '-';
        while (n > 0)
                buf[len++] = digits[--n];
        buf[len++] = ']';
        buf[len] = 0;
}

/* One row of the table, its cells rendered into one buffer first so that each can be measured
 * and cut before it is written. */
static void output_denial_short(Output *o, const DenialView *v) {
        bool denied = !v->result || strcmp(v->result, "denied") == 0;
        size_t cell[_DENIAL_COLUMN_MAX], comm;
        TextBuf t = {}, line = {};

        cell[DENIAL_TIME] = t.len;
        text_iso_time(o, &t, v->time, OUTPUT_TIME_MS);
        text_end_cell(&t);

        cell[DENIAL_CONTAINER] = t.len;
        text_container(&t, &v->container);
        text_end_cell(&t);

        /* comm is cut, never the pid behind it */
        {
                char pid_text[32] = "";
                if (v->has_pid)
                        format_pid(v->pid, pid_text);
                comm = t.len;
                text_safe(&t, v->comm);
                text_end_cell(&t);
                cell[DENIAL_PROCESS] = t.len;
                text_cut(&t, comm,
                         (size_t) MAX(1, denial_columns[DENIAL_PROCESS].width -
                                                 (int) strlen(pid_text)));
                text_puts(&t, pid_text);
                text_end_cell(&t);
        }

        /* "denied" is the normal case and goes without saying; anything else is shown. */
        cell[DENIAL_DENIED] = t.len;
        if (!denied) {
                text_safe(&t, v->result);
                text_putc(&t, ' ');
        }
        text_permissions(&t, v);
        text_end_cell(&t);

        cell[DENIAL_SOURCE] = t.len;
        text_safe(&t, v->source_type);
        text_end_cell(&t);

        cell[DENIAL_TARGET] = t.len;
        text_safe(&t, v->target_type);
        text_putc(&t, ':');
        text_safe(&t, v->tclass);
        text_end_cell(&t);

        cell[DENIAL_PATH] = t.len;
        text_safe(&t, v->path ? v->path : v->name);
        text_end_cell(&t);

        cell[DENIAL_MCS] = t.len;
        text_safe(&t, v->mcs && *v->mcs ? v->mcs : NULL);
        text_end_cell(&t);

        cell[DENIAL_NOTES] = t.len;
        text_putc(&t, '(');
        text_safe(&t, v->attribution);
        text_candidates(&t, v);
        if (v->permissive)
                text_puts(&t, ", permissive");
        if (v->target_container.is_object) {
                text_puts(&t, ", target in ");
                text_container(&t, &v->target_container);
        }
        text_putc(&t, ')');
        text_end_cell(&t);

        if (t.failed)
                goto finish;
        /* the row's cells into one line, written at once */
        for (size_t i = 0; i < _DENIAL_COLUMN_MAX; i++) {
                const char *color = i == DENIAL_CONTAINER ? ANSI_BOLD
                                    : i == DENIAL_DENIED  ? (denied ? ANSI_RED : ANSI_YELLOW)
                                    : i == DENIAL_NOTES   ? (v->permissive ? ANSI_YELLOW : NULL)
                                                          : NULL;
                text_cell(o, &line, &denial_columns[i], t.text + cell[i], color);
        }
        if (line.failed)
                goto finish;
        fwrite(line.text, 1, line.len, o->f);
        put_verdict(o, v->verdict);
        /* A storm's summary: this denial and the identical ones of its second folded into it. */
        if (v->has_count && v->count > 1)
                fprintf(o->f, "  x%" PRId64 " (storm: %" PRId64 " identical folded into this one)",
                        v->count, v->count - 1);
        fputc('\n', o->f);
        put_hint_line(o, v->hint);
finish:
        text_done(&t);
        text_done(&line);
}

static int output_denial_short_tree(Output *o, json_object *d) {
        _cleanup_(denial_view_done) DenialView v = {};
        int r;

        r = denial_view_from_tree(d, &v);
        if (r < 0)
                return r;
        output_denial_short(o, &v);
        return 0;
}

static int output_denial_short_text(Output *o, const char *text, size_t len,
                                    const char *const *values) {
        _cleanup_(denial_view_done) DenialView v = {};
        _cleanup_(freep) char *arena = malloc(len);
        int r;

        if (!arena)
                return -ENOMEM;
        r = denial_view_from_text(text, len, values, arena, &v);
        if (r < 0)
                return r;
        output_denial_short(o, &v);
        return 0;
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
        output_header_flush(o);

        switch (o->mode) {
        case OUTPUT_JSON:
                output_json_line(d, o->f);
                break;
        case OUTPUT_RAW:
                output_denial_raw(o, d);
                break;
        case OUTPUT_SHORT:
        default:
                return output_denial_short_tree(o, d);
        }
        return 0;
}

/* raw mode for a row given as canonical text: the same as output_denial_raw() on its tree. The
 * last of duplicate keys counts, as in json-c's tree. The raw record, most of the row, is read
 * once: decoded as it is scanned, or only scanned when its event was printed already (time and
 * serial come before it in the daemon's rows). */
static int output_denial_raw_text(Output *o, const char *text, size_t len,
                                  const char *const *values) {
        const char *p = text, *end = text + len;
        JsonMember m, raw = {};
        /* time decoded into [0, len), raw into [len, 2 len): each fits where it came from */
        _cleanup_(freep) char *buf = malloc(2 * len);
        const char *time_text = NULL, *raw_text = NULL;
        bool have_time = false, time_refused = false, have_serial = false;
        size_t time_len, raw_len = 0;
        int64_t serial_value = 0;
        int r = 0;

        if (!buf)
                return -ENOMEM;
        if (values) {
                /* found by the page's scan (output_denial_text_keys()); no duplicate keys */
                if (values[0]) {
                        have_time = *values[0] == '"';
                        time_refused = have_time && json_scan_string_decode_into(
                                                            values[0], end, &p, buf, &time_len) < 0;
                }
                if (values[1]) {
                        have_serial = *values[1] == '-' || (*values[1] >= '0' && *values[1] <= '9');
                        if (have_serial)
                                serial_value = strtoll(values[1], NULL, 10);
                }
                raw.value = values[2];
                goto found;
        }
        while ((r = json_scan_member_key(&p, end, &m)) > 0) {
                if (m.key_len == 4 && memcmp(m.key, "time", 4) == 0) {
                        /* a string without NUL; one that is not canonical is refused */
                        have_time = *m.value == '"';
                        time_refused = have_time && json_scan_string_decode_into(
                                                            m.value, end, &p, buf, &time_len) < 0;
                        if (have_time && !time_refused)
                                continue;
                } else if (m.key_len == 6 && memcmp(m.key, "serial", 6) == 0) {
                        /* an integer (canonical: at most 18 digits) */
                        have_serial = *m.value == '-' || (*m.value >= '0' && *m.value <= '9');
                        if (have_serial)
                                serial_value = strtoll(m.value, NULL, 10);
                } else if (m.key_len == 3 && memcmp(m.key, "raw", 3) == 0) {
                        raw = m;
                        raw_text = NULL;
                        /* Decoded now unless its event was printed last (so far). */
                        if (*m.value == '"' &&
                            !(have_time && !time_refused && have_serial && o->have_last_event &&
                              o->last_serial == serial_value && strcmp(o->last_time, buf) == 0) &&
                            json_scan_string_decode_into(m.value, end, &p, buf + len, &raw_len) >=
                                    0) {
                                raw_text = buf + len;
                                raw.value_end = p;
                                continue;
                        }
                }
                r = json_scan_member_value(&p, end, &m);
                if (r < 0)
                        return r;
                if (m.value == raw.value)
                        raw.value_end = p;
        }
        if (r < 0)
                return r;
found:
        if (time_refused)
                return -EBADMSG;
        if (have_time)
                time_text = buf;

        bool have_key = time_text && strlen(time_text) < sizeof(o->last_time) && have_serial;

        if (have_key && o->have_last_event && o->last_serial == serial_value &&
            strcmp(o->last_time, time_text) == 0)
                return 0;
        if (!raw.value || *raw.value != '"')
                return 0;
        if (!raw_text) {
                /* skipped above for an event that a later member showed to be another one, or
                 * not canonical (then refused) */
                r = json_scan_string_decode_into(raw.value, raw.value_end ?: end, &p, buf + len,
                                                 &raw_len);
                if (r < 0)
                        return r;
                raw_text = buf + len;
        }

        if (o->to_terminal)
                fwrite_lines_terminal_safe(raw_text, raw_len, o->f);
        else
                fwrite(raw_text, 1, raw_len, o->f);
        if (raw_len == 0 || raw_text[raw_len - 1] != '\n')
                fputc('\n', o->f);

        o->have_last_event = have_key;
        if (have_key) {
                o->last_serial = serial_value;
                strcpy(o->last_time, time_text);
        }
        return 0;
}

size_t output_denial_text_keys(const Output *o, const char *const **ret_keys) {
        static const char *const raw_keys[] = {"time", "serial", "raw"};

        switch (o->mode) {
        case OUTPUT_RAW:
                *ret_keys = raw_keys;
                return ELEMENTSOF(raw_keys);
        case OUTPUT_SHORT:
                *ret_keys = denial_view_keys;
                return _VIEW_KEY_MAX;
        default:
                *ret_keys = NULL;
                return 0;
        }
}

int output_denial_text(Output *o, const char *text, size_t len, const char *const *values) {
        if (len == 0 || text[0] != '{')
                return -EBADMSG;
        output_header_flush(o);

        switch (o->mode) {
        case OUTPUT_JSON:
                fwrite(text, 1, len, o->f);
                fputc('\n', o->f);
                return 0;
        case OUTPUT_RAW:
                return output_denial_raw_text(o, text, len, values);
        case OUTPUT_SHORT:
        default:
                return output_denial_short_text(o, text, len, values);
        }
}

/* The API writes times as ISO 8601 UTC, "2024-04-20T08:54:52.240Z": stats shows them in the
 * short convention like every other time; any other string as it is, escaped. */
static bool is_api_time(const char *s) {
        size_t n = s ? strlen(s) : 0;
        return n >= 20 && n < OUTPUT_TIME_MAX && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
               s[n - 1] == 'Z';
}

static void put_stats_string(const Output *o, const char *s, FILE *f) {
        if (is_api_time(s))
                put_iso_time(o, s, OUTPUT_TIME_MS, f);
        else
                put_safe(s, f);
}

/* One line per element of a list of objects (Stats' loss windows): "since .. until:" when the
 * object has them, then its non-zero counters and its true flags. */
static void output_stats_list(const Output *o, json_object *list, FILE *f) {
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
                        put_stats_string(o, json_object_get_string(since), f);
                        fputs(" .. ", f);
                        put_stats_string(o, json_object_get_string(until), f);
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

/* One line of a source stats watches, an engine or a runtime: "KIND NAME: STATE since TIME
 * (PATH), N COUNTER, ...", and the last error when there is one. PATH (the engine's socket, the
 * runtime's state directory) is left out when NULL; a counter missing is 0, its underscores
 * written as spaces. */
static void output_source_short(const Output *o, const char *kind, json_object *s, const char *path,
                                const char *const *counters, size_t n_counters, FILE *f) {
        const char *error;

        fputs(kind, f);
        fputc(' ', f);
        put_safe(get_string(s, "name"), f);
        fputs(": ", f);
        put_safe(get_string(s, "state"), f);
        if (get_string(s, "since")) {
                fputs(" since ", f);
                put_iso_time(o, get_string(s, "since"), OUTPUT_TIME_MS, f);
        }
        if (path) {
                fputs(" (", f);
                put_safe(path, f);
                fputc(')', f);
        }
        for (size_t k = 0; k < n_counters; k++) {
                int64_t n = 0;
                (void) get_int(s, counters[k], &n);
                fprintf(f, ", %" PRId64 " ", n);
                for (const char *c = counters[k]; *c; c++)
                        fputc(*c == '_' ? ' ' : *c, f);
        }
        error = get_string(s, "last_error");
        if (error) {
                fputs(", last error: ", f);
                fputs_terminal_safe(error, f);
        }
        fputc('\n', f);
}

/* "runtime containerd: watching since ... (/run/containerd/io.containerd.runtime.v2.task), 12
 * containers, 3 ended, 0 too large, 0 malformed, 0 refused, 0 inspects, 0 failures"; an empty
 * directory is not shown. */
static void output_runtimes_short(const Output *o, json_object *runtimes, FILE *f) {
        static const char *const counters[] = {"containers", "ended",    "too_large", "malformed",
                                               "refused",    "inspects", "failures"};
        for (size_t i = 0; i < json_object_array_length(runtimes); i++) {
                json_object *rt = json_object_array_get_idx(runtimes, i);
                const char *directory;

                if (!json_object_is_type(rt, json_type_object))
                        continue;
                directory = get_string(rt, "directory");
                output_source_short(o, "runtime", rt, directory && directory[0] ? directory : NULL,
                                    counters, ELEMENTSOF(counters), f);
        }
}

/* "engine docker: connected since 2024-04-20 10:54:52.240 (/run/docker.sock), 12 events,
 * 40 inspects, 0 failures" and the last error when there is one. */
static void output_engines_short(const Output *o, json_object *engines, FILE *f) {
        static const char *const counters[] = {"events", "inspects", "failures"};
        for (size_t i = 0; i < json_object_array_length(engines); i++) {
                json_object *e = json_object_array_get_idx(engines, i);

                if (!json_object_is_type(e, json_type_object))
                        continue;
                output_source_short(o, "engine", e, get_string(e, "socket"), counters,
                                    ELEMENTSOF(counters), f);
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
                        output_engines_short(o, value, o->f);
                        continue;
                }
                if (strcmp(key, "runtimes") == 0 && json_object_is_type(value, json_type_array)) {
                        output_runtimes_short(o, value, o->f);
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
                        put_stats_string(o, json_object_get_string(value), o->f);
                        break;
                case json_type_null:
                        fputc('-', o->f);
                        break;
                case json_type_array:
                        output_stats_list(o, value, o->f);
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

/* An escaped string as a cell ("-" when NULL). */
static void put_text_cell(const Output *o, const Column *col, const char *s, const char *color) {
        Cell c = {};

        if (cell_open(&c))
                put_safe(s, c.f);
        put_cell(o, col, cell_text(&c), color);
        cell_done(&c);
}

/* The time of an API field key as a cell: seconds are enough in tables; "-" when absent. */
static void put_time_cell(const Output *o, const Column *col, json_object *obj, const char *key) {
        Cell c = {};

        const char *iso = get_string(obj, key);
        int64_t ms;

        /* a time that does not parse is "-" in a table, like a missing one */
        if (cell_open(&c))
                put_iso_time(o, iso && parse_time_spec(iso, 0, &ms) >= 0 ? iso : NULL,
                             OUTPUT_TIME_SECONDS, c.f);
        put_cell(o, col, cell_text(&c), NULL);
        cell_done(&c);
}

/* ---- containers ---- */

enum {
        CONTAINER_ID,
        CONTAINER_NAME,
        CONTAINER_ENGINE,
        CONTAINER_IMAGE,
        CONTAINER_POD,
        CONTAINER_NAMESPACE,
        CONTAINER_LABEL,
        CONTAINER_CREATED,
        CONTAINER_STARTED,
        CONTAINER_STATE,
        CONTAINER_ENDED,
        CONTAINER_DENIALS,
        _CONTAINER_COLUMN_MAX,
};

#define OUTPUT_TIME_COLUMN 24 /* "2024-04-20 10:54:52 CEST" */

static const Column container_columns[_CONTAINER_COLUMN_MAX] = {
        [CONTAINER_ID] = {"ID", OUTPUT_CONTAINER_ID_SHORT},
        [CONTAINER_NAME] = {"NAME", 20},
        [CONTAINER_ENGINE] = {"ENGINE", 7},
        [CONTAINER_IMAGE] = {"IMAGE", 28},
        [CONTAINER_POD] = {"POD", 24},
        [CONTAINER_NAMESPACE] = {"NAMESPACE", 16},
        [CONTAINER_LABEL] = {"LABEL", 28},
        [CONTAINER_CREATED] = {"CREATED", OUTPUT_TIME_COLUMN, .no_cut = true},
        [CONTAINER_STARTED] = {"STARTED", OUTPUT_TIME_COLUMN, .no_cut = true},
        [CONTAINER_STATE] = {"STATE", 7},
        [CONTAINER_ENDED] = {"ENDED", OUTPUT_TIME_COLUMN, .no_cut = true},
        [CONTAINER_DENIALS] = {"DENIALS", 0},
};

void output_containers_header(Output *o) {
        put_header(o, container_columns, _CONTAINER_COLUMN_MAX);
}

const char *output_container_state(json_object *c, const char **ret_ended_key) {
        json_object *running;
        const char *state, *ended = NULL;

        /* Removal ends everything; "running" is the engine's word; a container that finished
         * exited; one never started was only created. Known only by a pid: "-". */
        if (get_string(c, "removed")) {
                state = "removed";
                ended = "removed";
        } else if (json_object_object_get_ex(c, "running", &running) &&
                   json_object_get_boolean(running))
                state = "running";
        else if (get_string(c, "finished")) {
                state = "exited";
                ended = "finished";
        } else if (get_string(c, "created") && !get_string(c, "started"))
                state = "created";
        else
                state = "-";
        if (ret_ended_key)
                *ret_ended_key = ended;
        return state;
}

int output_container(Output *o, json_object *c) {
        const Column *col = container_columns;
        char short_id[OUTPUT_CONTAINER_ID_SHORT + 1];
        int64_t denials = 0, ambiguous = 0;
        const char *state, *ended;

        if (!json_object_is_type(c, json_type_object))
                return -EBADMSG;
        if (o->mode != OUTPUT_SHORT) {
                output_json_line(c, o->f);
                return 0;
        }
        snprintf(short_id, sizeof(short_id), "%s", get_string(c, "id") ?: "-");
        put_text_cell(o, &col[CONTAINER_ID], short_id, NULL);
        put_text_cell(o, &col[CONTAINER_NAME], get_string(c, "name"), ANSI_BOLD);
        put_text_cell(o, &col[CONTAINER_ENGINE], get_string(c, "engine"), NULL);
        put_text_cell(o, &col[CONTAINER_IMAGE], get_string(c, "image"), NULL);
        put_text_cell(o, &col[CONTAINER_POD], get_string(c, "pod"), NULL);
        put_text_cell(o, &col[CONTAINER_NAMESPACE], get_string(c, "namespace"), NULL);
        put_text_cell(o, &col[CONTAINER_LABEL], label_short(get_string(c, "label")), NULL);
        put_time_cell(o, &col[CONTAINER_CREATED], c, "created");
        put_time_cell(o, &col[CONTAINER_STARTED], c, "started");
        state = output_container_state(c, &ended);
        put_text_cell(o, &col[CONTAINER_STATE], state,
                      strcmp(state, "running") == 0 ? ANSI_GREEN : NULL);
        if (ended)
                put_time_cell(o, &col[CONTAINER_ENDED], c, ended);
        else
                put_text_cell(o, &col[CONTAINER_ENDED], NULL, NULL);
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
        static const char *const names[] = {"signature", "container", "image", "tclass",
                                            "verdict",   "reason",    "pod",   "namespace"};
        for (size_t i = 0; by && i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(by, names[i]) == 0)
                        return (int) i;
        return 0;
}

/* Per grouping: COUNT, one or two of CTRS / SIGS, FIRST, LAST, and what is grouped (last). */
static const Column top_columns[][6] = {
        {{"COUNT", 8},
         {"CTRS", 4},
         {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"SIGNATURE (IMAGE)", 0}},
        {{"COUNT", 8},
         {"SIGS", 4},
         {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"CONTAINER (IMAGE)", 0}},
        {{"COUNT", 8},
         {"CTRS", 4},
         {"SIGS", 4},
         {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"IMAGE", 0}},
        {{"COUNT", 8},
         {"CTRS", 4},
         {"SIGS", 4},
         {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"CLASS", 0}},
        {{"COUNT", 8},
         {"CTRS", 4},
         {"SIGS", 4},
         {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"VERDICT", 0}},
        {{"COUNT", 8},
         {"CTRS", 4},
         {"SIGS", 4},
         {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"REASON", 0}},
        {{"COUNT", 8},
         {"CTRS", 4},
         {"SIGS", 4},
         {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"NAMESPACE/POD", 0}},
        {{"COUNT", 8},
         {"CTRS", 4},
         {"SIGS", 4},
         {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
         {"NAMESPACE", 0}},
};

static size_t top_columns_n(int k) {
        return k >= 2 ? 6 : 5;
}

void output_top_header(Output *o, const char *by) {
        int k = top_by_index(by);
        put_header(o, top_columns[k], top_columns_n(k));
}

int output_top_row(Output *o, const char *by, json_object *row) {
        int64_t count = 0, containers = 0, signatures = 0;
        FILE *f = o->f;
        int k = top_by_index(by);
        const Column *col = top_columns[k];
        char num[32];

        if (!json_object_is_type(row, json_type_object))
                return -EBADMSG;
        if (o->mode != OUTPUT_SHORT) {
                output_json_line(row, f);
                return 0;
        }
        (void) get_int(row, "count", &count);
        (void) get_int(row, "containers", &containers);
        (void) get_int(row, "signatures", &signatures);
        snprintf(num, sizeof(num), "%" PRId64, count);
        put_cell(o, col++, num, ANSI_BOLD);
        snprintf(num, sizeof(num), "%" PRId64, k == 1 ? signatures : containers);
        put_cell(o, col++, num, NULL);
        if (k >= 2) {
                snprintf(num, sizeof(num), "%" PRId64, signatures);
                put_cell(o, col++, num, NULL);
        }
        put_time_cell(o, col++, row, "first");
        put_time_cell(o, col++, row, "last");
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
        case 4:
                put_verdict_text(o, get_string(row, "verdict"));
                break;
        case 5:
                put_safe(get_string(row, "reason"), f);
                break;
        case 6:
        case 7:
                /* Tenant-chosen names: escaped like every other string of a row. */
                if (!get_string(row, "namespace") && !get_string(row, "pod")) {
                        fputs(k == 6 ? "(no pod)" : "(no namespace)", f);
                        break;
                }
                put_safe(get_string(row, "namespace") ?: "-", f);
                if (k == 6) {
                        fputc('/', f);
                        put_safe(get_string(row, "pod") ?: "-", f);
                }
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

#define OUTPUT_HISTOGRAM_START 24 /* "2024-04-20 08:00:01 CEST" */

static void put_bin(const Output *o, int64_t start_ms, int64_t interval_ms, uint64_t count,
                    uint64_t max) {
        FILE *f = o->f;
        char buf[OUTPUT_TIME_MAX];

        /* As precise as the bins are: minutes, or seconds for sub-minute bins. */
        output_format_time(start_ms, o->utc,
                           interval_ms % 60000 == 0 ? OUTPUT_TIME_MINUTES : OUTPUT_TIME_SECONDS,
                           buf, sizeof(buf));
        fprintf(f, "%-*s  %10" PRIu64 "  ", OUTPUT_HISTOGRAM_START, buf, count);
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
        if (o->legend)
                fprintf(o->f, "%-*s  %10s\n", OUTPUT_HISTOGRAM_START, "START", "DENIALS");
        for (size_t i = 0; i < n; i++) {
                if (fill && i > 0)
                        for (int64_t t = starts[i - 1] + interval_ms; t < starts[i];
                             t += interval_ms)
                                put_bin(o, t, interval_ms, 0, max);
                put_bin(o, starts[i], interval_ms, counts[i], max);
        }
        free(starts);
        free(counts);
        return 0;
}

/* ---- baseline ---- */

static const Column baseline_columns[] = {
        {"COUNT", 8},
        {"FIRST", OUTPUT_TIME_COLUMN, .no_cut = true},
        {"LAST", OUTPUT_TIME_COLUMN, .no_cut = true},
        {"ACCEPTED", OUTPUT_TIME_COLUMN, .no_cut = true},
        {"BASELINE", 0, .free = true},
        {"SIGNATURE", 0},
};

void output_baseline_header(Output *o) {
        put_header(o, baseline_columns, ELEMENTSOF(baseline_columns));
}

int output_baseline_entry(Output *o, json_object *e) {
        const Column *col = baseline_columns;
        const char *scope, *key;
        int64_t count = 0;
        char num[32];

        if (!json_object_is_type(e, json_type_object))
                return -EBADMSG;
        if (o->mode != OUTPUT_SHORT) {
                output_json_line(e, o->f);
                return 0;
        }
        (void) get_int(e, "count", &count);
        snprintf(num, sizeof(num), "%" PRId64, count);
        put_cell(o, col++, num, ANSI_BOLD);
        put_time_cell(o, col++, e, "first");
        put_time_cell(o, col++, e, "last");
        if (get_string(e, "accepted"))
                put_time_cell(o, col++, e, "accepted");
        else
                put_cell(o, col++, "new", ANSI_BOLD);
        scope = get_string(e, "scope");
        key = get_string(e, "key");
        put_safe(scope, o->f);
        if (key && *key) {
                fputc(' ', o->f);
                put_safe(key, o->f);
        }
        fputs("  ", o->f);
        put_safe(get_string(e, "signature"), o->f);
        fputc('\n', o->f);
        return 0;
}
