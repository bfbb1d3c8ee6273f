/* SPDX-License-Identifier: MIT */
/* Names of triage reasons and verdicts (triage-names.h). The order is the daemon's enums'
 * (daemon/triage/verdict.c checks it at compile time) and the stored integers' (the store keeps
 * reason and verdict as these indexes): never reorder, only append. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "triage-names.h"

const char *const triage_reason_names[TRIAGE_REASONS_N] = {
        "te", "boolean", "constraint", "rbac", "bounds", "allowed", "unknown",
};

const char *const triage_verdict_names[TRIAGE_VERDICTS_N] = {
        "escape", "isolation", "volume", "boolean", "policy",
};

int triage_name_index(const char *const *names, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (strcmp(s, names[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

char *triage_names_join(const char *const *names, size_t n, char *buf, size_t size) {
        size_t len = 0;

        if (size == 0)
                return buf;
        buf[0] = 0;
        for (size_t i = 0; i <= n; i++) {
                int k = snprintf(buf + len, size - len, "%s%s", i > 0 ? ", " : "",
                                 i < n ? names[i] : TRIAGE_NONE);
                if (k < 0 || (size_t) k >= size - len)
                        break;
                len += (size_t) k;
        }
        return buf;
}
