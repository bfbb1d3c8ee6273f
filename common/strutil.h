/* SPDX-License-Identifier: MIT */
#pragma once

/* String helpers shared by both programs. Pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s to f with every byte that could act on a terminal made visible: C0 controls, DEL and
 * C1 controls (and invalid UTF-8) as \xNN, backslash as \\, and the invisible characters
 * (unicode_is_invisible()) as \uXXXX, or \UXXXXXXXX beyond U+FFFF. Printable UTF-8 passes
 * through. */
void fputs_terminal_safe(const char *s, FILE *f);
/* The same into a malloc'd string; NULL on OOM. */
char *terminal_safe_dup(const char *s);
/* Every byte becomes at most "\xNN"; an invisible character of n bytes "\uXXXX" (2 <= n <= 3)
 * or "\UXXXXXXXX" (n == 4). */
#define TERMINAL_SAFE_EXPANSION_MAX 4
/* The same into out, which has room for strlen(s) * TERMINAL_SAFE_EXPANSION_MAX + 1 bytes:
 * NUL-terminated, the length without the NUL. For text built in memory (avcctl's table cells). */
size_t terminal_safe_escape(const char *s, char *out);

/* Decodes the UTF-8 sequence at s: returns its length (1..4) and the code point, or 0 for an
 * invalid, overlong or surrogate sequence (a NUL inside ends it). s[0] == 0 gives 1 and U+0000. */
size_t utf8_decode_char(const unsigned char *s, uint32_t *ret_cp);
/* Whether the NUL-terminated s is valid UTF-8 throughout (utf8_decode_char()'s rules). */
bool utf8_is_valid(const char *s);

/* The invisible characters that reorder how the text around them is displayed (U+061C,
 * U+200E/F, U+202A..U+202E, U+2066..U+2069): a name holding them can show as another name. */
bool unicode_is_bidi_control(uint32_t cp);
/* The characters a terminal shows as nothing, or that change how others show, so that a name
 * holding them displays as another name: the bidi controls and the rest of general category Cf
 * (format: U+00AD soft hyphen, U+200B..U+200D zero-width space and (non-)joiners, U+2060 word
 * joiner, U+FEFF, the tag characters U+E0001 and U+E0020..U+E007F, ...), Zl and Zp (U+2028,
 * U+2029), and what else Unicode lists as Default_Ignorable_Code_Point: the Hangul fillers
 * U+115F, U+1160, U+3164, U+FFA0, U+034F, U+17B4/5, the variation selectors (U+180B..U+180F,
 * U+FE00..U+FE0F, U+E0100..U+E01EF: they select a glyph, so an emoji's VS16 is shown escaped
 * too, the price of never hiding one after another character) and the reserved ranges of that
 * property. A superset of unicode_is_bidi_control(). */
bool unicode_is_invisible(uint32_t cp);

/* The length of the leading run of s[0..len) that JSON writes as it is, without an escape: the
 * bytes 0x20..0x7e but '"' and '\\'. Every JSON writer and scanner of both programs skips such
 * runs with it (copied with one memcpy, or stepped over) instead of looking at each byte: a raw
 * audit record is ~600 bytes with a quote every few words. 32 bytes a step with SSE2, 8 with
 * integer arithmetic elsewhere (little-endian), a table for what is shorter. */
size_t json_plain_span(const char *s, size_t len);
/* The same run, copied to dst in the same pass (for a writer): returns its length n. dst has room
 * for len bytes; those after the run, dst[n..len), may have been written too. */
size_t json_plain_copy(char *dst, const char *s, size_t len);

bool string_has_prefix(const char *s, const char *prefix);
/* Lexical clean-up of a path as a program typed it, in place: repeated slashes become one, "."
 * components go, and so does a trailing slash ("/srv//./d/" is "/srv/d"). ".." stays: with a
 * symlink before it, dropping it would name another file. */
void path_simplify(char *p);
/* The value of one hex digit (either case), or -EINVAL. */
int unhex_char(char c);
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
