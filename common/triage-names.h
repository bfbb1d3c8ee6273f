/* SPDX-License-Identifier: MIT */
#pragma once

/* The names of triage reasons and verdicts (docs/triage.md), shared by the daemon (its
 * TriageReason and TriageVerdict values are the indexes: daemon/triage/verdict.h) and avcctl
 * (--reason, --verdict, top --by verdict), so that both spell and validate them alike. "none"
 * is not a reason: it is what a filter says to ask for denials without one (JSON null). */

#include <stddef.h>

#define TRIAGE_REASONS_N 7
#define TRIAGE_VERDICTS_N 5
#define TRIAGE_NONE "none"

extern const char *const triage_reason_names[TRIAGE_REASONS_N];
extern const char *const triage_verdict_names[TRIAGE_VERDICTS_N];

/* The index of s in names (n of them), -EINVAL when it is none of them. */
int triage_name_index(const char *const *names, size_t n, const char *s);
/* The names joined with ", " into buf, for a message listing the valid values ("none" last).
 * Returns buf. */
char *triage_names_join(const char *const *names, size_t n, char *buf, size_t size);
