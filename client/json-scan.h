/* SPDX-License-Identifier: MIT */
#pragma once

/* Query pages passed through without a json-c tree: avcctl -o json and -o raw print what the
 * daemon sent, and building a tree per row only to print it again cost more than the daemon
 * spent on the row.
 *
 * The scanner is strict (RFC 8259, valid UTF-8, bounded depth) and also says whether a value is
 * canonical: printed as it is, it is byte for byte what parsing it with json-c and printing it the
 * way avcctl always did (varlink_escape_strings(), JSON_C_TO_STRING_PLAIN | NOSLASHESCAPE) would
 * give: no white space, integers only, keys of [A-Za-z0-9_], strings escaped exactly as
 * varlink_string_new() escapes. What the daemon writes is canonical except for invalid UTF-8 in
 * stored strings (sent as \u00XX, printed by the tree path as U+00XX); a row that is not
 * canonical goes the old way, so the output stays what it was for every input. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One JSON value at p, which must end before end (the text is NUL-terminated at or after end).
 * 0 and *ret_end just past it; *canonical is cleared when the value is not canonical (left as it
 * was otherwise). -EBADMSG when it is not valid JSON. */
int json_scan_value(const char *p, const char *end, const char **ret_end, bool *canonical);

/* The next member of a canonical object, with *p at its '{' or after the previous member: 1 and
 * the key (without quotes) and the value's extent, *p after the value; 0 at the closing '}';
 * -EBADMSG otherwise. */
typedef struct JsonMember {
        const char *key;
        size_t key_len;
        const char *value, *value_end;
} JsonMember;
int json_scan_member(const char **p, const char *end, JsonMember *ret);
/* The same in two steps, so that a value is read only once (a raw record is decoded as it is
 * scanned): json_scan_member_key() returns 1, the key and ret->value (value_end NULL), *p at the
 * value; the caller then reads the value with json_scan_member_value() (0, value_end and *p
 * after it, -EBADMSG) or with json_scan_string_decode_into() and sets *p to its end. */
int json_scan_member_key(const char **p, const char *end, JsonMember *ret);
int json_scan_member_value(const char **p, const char *end, JsonMember *m);

/* A canonical string value [p, end) (quotes included) decoded into a malloc'd buffer (NUL-
 * terminated; *ret_len without it). -EBADMSG when it is not a canonical string, -ENOMEM. */
int json_scan_string_decode(const char *p, const char *end, char **ret, size_t *ret_len);
/* A canonical string value at p (its opening quote) that ends before end, decoded into out, which
 * has room for end - p bytes (decoding never makes a string longer), in the one pass that also
 * checks it as json_scan_value() does: 0, *ret_end past its closing quote, *ret_len (the decoded
 * bytes, NUL-terminated, without the NUL). -EBADMSG when no canonical string starts at p. */
int json_scan_string_decode_into(const char *p, const char *end, const char **ret_end, char *out,
                                 size_t *ret_len);

/* A Query reply page as the daemon writes it:
 *   {"parameters":{"denials":[ROW,...],"next":N|null}}
 * (next may be absent). -EBADMSG for any other text, valid or not: the caller then parses it as
 * any reply (an error, another daemon's key order). */
#define QUERY_PAGE_KEYS_MAX 20
typedef struct QueryPageText {
        const char **rows; /* where each row begins */
        size_t *lens;
        bool *canonical;
        size_t n, allocated;
        bool has_next; /* a non-null next */
        int64_t next;
        /* Set by the caller: top-level keys of a row whose values are found while the row is
         * scanned, so that a caller that needs a few of a row's members (-o raw: time, serial,
         * raw) does not scan it again. values + i * n_keys: where each key's value begins in
         * row i (of the last of duplicate keys), NULL when the row has none. */
        const char *keys[QUERY_PAGE_KEYS_MAX];
        size_t n_keys;
        const char **values;
} QueryPageText;
void query_page_text_done(QueryPageText *t);
int query_page_text_parse(const char *text, size_t len, QueryPageText *t);
/* The cursor at the end of a Query page's text, read from its last bytes alone (the page is not
 * checked): so that the next page can be asked for before this one is scanned. 0 with
 * *ret_has_next (and *ret_next), -EBADMSG when the tail is not one the daemon writes; a page that
 * query_page_text_parse() accepts has this same cursor, which the caller checks afterwards. */
int query_page_text_peek_next(const char *text, size_t len, bool *ret_has_next, int64_t *ret_next);
