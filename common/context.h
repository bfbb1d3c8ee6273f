/* SPDX-License-Identifier: MIT */
#pragma once

/* SELinux security contexts and MCS category sets. Pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Splits "user:role:type[:level]" with validation: user/role/type are identifiers
 * ([A-Za-z0-9_.-]+), level matches sN[-sN][:cats] where cats is cN or cN.cM ranges,
 * comma separated, N < 1024. Writes the type (NUL terminated) into ret_type (size n_type)
 * and the category part of the high level ("c170,c393", "c0.c1023", "" when none) into ret_mcs.
 * Either output may be NULL. Returns 0, -EINVAL for an invalid context, -ENOBUFS when an
 * output does not fit. */
int context_split(const char *context, char *ret_type, size_t n_type, char *ret_mcs, size_t n_mcs);

bool context_is_valid(const char *context);

/* Where a valid context's type and the categories of its high level (what context_split()
 * copies out) lie in it, as offsets and lengths. A caller that has validated a context keeps
 * these, so that splitting it later costs no second parse nor memo lookup. */
typedef struct ContextParts {
        size_t type_off, type_len, cats_off, cats_len;
} ContextParts;

/* 0 and *ret filled for a valid context (the same grammar as context_split()), or -EINVAL. */
int context_locate(const char *context, ContextParts *ret);

/* A set of MCS categories c0..c1023. */
#define MCS_CATEGORIES_MAX 1024
typedef struct McsSet {
        uint64_t bits[MCS_CATEGORIES_MAX / 64];
} McsSet;

/* Parses "c170,c393", "c0.c1023", "s0:c1,c2" (a level prefix is skipped). Empty string gives an
 * empty set. -EINVAL on syntax errors or categories out of range. */
int mcs_set_parse(const char *s, McsSet *ret);
bool mcs_set_is_empty(const McsSet *s);
bool mcs_set_equal(const McsSet *a, const McsSet *b);
/* Canonical text: ascending, ranges of 3+ as cA.cB, comma separated; "" when empty.
 * Returns the length written or -ENOBUFS. */
int mcs_set_format(const McsSet *s, char *buf, size_t n);
