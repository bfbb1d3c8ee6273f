/* SPDX-License-Identifier: MIT */
#pragma once

/* String helpers shared by both programs. Pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s to f with every byte that could act on a terminal made visible: C0 controls, DEL and
 * C1 controls (and invalid UTF-8) as \xNN, backslash as \\, and the bidirectional controls
 * (unicode_is_bidi_control()) as \uXXXX. Printable UTF-8 passes through. */
void fputs_terminal_safe(const char *s, FILE *f);
/* The same into a malloc'd string; NULL on OOM. */
char *terminal_safe_dup(const char *s);

/* Decodes the UTF-8 sequence at s: returns its length (1..4) and the code point, or 0 for an
 * invalid, overlong or surrogate sequence (a NUL inside ends it). s[0] == 0 gives 1 and U+0000. */
size_t utf8_decode_char(const unsigned char *s, uint32_t *ret_cp);

/* The invisible characters that reorder how the text around them is displayed (U+061C,
 * U+200E/F, U+202A..U+202E, U+2066..U+2069): a name holding them can show as another name. */
bool unicode_is_bidi_control(uint32_t cp);

bool string_has_prefix(const char *s, const char *prefix);
/* Lexical clean-up of a path as a program typed it, in place: repeated slashes become one, "."
 * components go, and so does a trailing slash ("/srv//./d/" is "/srv/d"). ".." stays: with a
 * symlink before it, dropping it would name another file. */
void path_simplify(char *p);
/* Non-empty and only hex digits (either case). */
bool string_is_hex(const char *s);
/* Decodes an even-length string of hex digits into a malloc'd NUL-terminated buffer;
 * -EINVAL when s is not hex. ret_len excludes the NUL. */
int hex_decode(const char *s, size_t len, char **ret, size_t *ret_len);

/* Base64 (RFC 4648, standard alphabet, '=' padding). encode: a malloc'd NUL-terminated string,
 * NULL on OOM. decode: strict (no blanks, no missing padding), a malloc'd buffer (NUL-terminated
 * for convenience, *ret_len without it); -EINVAL on anything else. */
char *base64_encode(const void *data, size_t len);
int base64_decode(const char *s, size_t len, void **ret, size_t *ret_len);
