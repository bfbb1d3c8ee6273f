/* SPDX-License-Identifier: MIT */
/* Signatures and baseline keys (signature.h). */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "filter.h"
#include "macro.h"
#include "signature.h"

#define SIGNATURE_PERMISSIONS_MAX 64 /* more than any class defines */

static const char *const scope_names[_BASELINE_SCOPE_MAX] = {
        [BASELINE_IMAGE] = "image",
        [BASELINE_NAMESPACE] = "namespace",
        [BASELINE_CONTAINER] = "container",
        [BASELINE_NONE] = "none",
};

const char *baseline_scope_to_string(BaselineScope s) {
        return s >= 0 && s < _BASELINE_SCOPE_MAX ? scope_names[s] : NULL;
}

int baseline_scope_from_string(const char *s) {
        for (int i = 0; s && i < _BASELINE_SCOPE_MAX; i++)
                if (strcmp(s, scope_names[i]) == 0)
                        return i;
        return -EINVAL;
}

/* Appends l bytes of s and a NUL to buf (n bytes, len used), as snprintf() would: false when
 * they do not fit. Once per stored live denial: formatting it with snprintf() cost more than
 * the rest of the baseline's note. */
static bool put(char *buf, size_t n, size_t *len, const char *s, size_t l) {
        if (l >= n - *len)
                return false;
        memcpy(buf + *len, s, l);
        *len += l;
        buf[*len] = 0;
        return true;
}

static bool put_str(char *buf, size_t n, size_t *len, const char *s) {
        return put(buf, n, len, s, strlen(s));
}

int denial_signature(const Denial *d, char *buf, size_t n) {
        char perms[SIGNATURE_MAX];
        const char *words[SIGNATURE_PERMISSIONS_MAX];
        size_t n_words = 0, len = 0;

        if (!d->result || !d->source_type || !d->target_type)
                return 0;
        if (d->permissions) {
                if (strlen(d->permissions) >= sizeof(perms))
                        return -ENOBUFS;
                strcpy(perms, d->permissions);
                for (char *save = NULL, *w = strtok_r(perms, " ", &save);
                     w && n_words < ELEMENTSOF(words); w = strtok_r(NULL, " ", &save))
                        words[n_words++] = w;
        }
        for (size_t i = 1; i < n_words; i++) /* a handful: insertion sort */
                for (size_t j = i; j > 0 && strcmp(words[j - 1], words[j]) > 0; j--) {
                        const char *t = words[j];
                        words[j] = words[j - 1];
                        words[j - 1] = t;
                }
        /* "RESULT SOURCE TARGET:CLASS { PERM... }" */
        if (!put_str(buf, n, &len, d->result) || !put(buf, n, &len, " ", 1) ||
            !put_str(buf, n, &len, d->source_type) || !put(buf, n, &len, " ", 1) ||
            !put_str(buf, n, &len, d->target_type) || !put(buf, n, &len, ":", 1) ||
            !put_str(buf, n, &len, d->tclass ? d->tclass : "?") || !put(buf, n, &len, " {", 2))
                return -ENOBUFS;
        for (size_t i = 0; i < n_words; i++) {
                if (i > 0 && strcmp(words[i], words[i - 1]) == 0)
                        continue;
                if (!put(buf, n, &len, " ", 1) || !put_str(buf, n, &len, words[i]))
                        return -ENOBUFS;
        }
        if (!put(buf, n, &len, " }", 2))
                return -ENOBUFS;
        return (int) len;
}

int baseline_image_key(const char *image, char *buf, size_t n) {
        int len = image_ref_key(image, buf, n);
        char *at, *slash, *colon;

        if (len < 0)
                return len;
        /* An image id names one image: no tag to leave out. */
        if (strncmp(buf, "sha256:", 7) == 0 || !strpbrk(buf, ":@/"))
                return len;
        at = strchr(buf, '@');
        if (at)
                *at = 0;
        slash = strrchr(buf, '/');
        colon = strrchr(slash ? slash : buf, ':'); /* not a registry's port */
        if (colon)
                *colon = 0;
        return (int) strlen(buf);
}

static BaselineScope key_copy(BaselineScope scope, const char *value, char *buf, size_t n) {
        if (strlen(value) >= n) {
                buf[0] = 0;
                return BASELINE_NONE; /* never cut: a cut key would merge baselines */
        }
        strcpy(buf, value);
        return scope;
}

BaselineScope denial_baseline_key(const Denial *d, char *buf, size_t n) {
        if (n == 0)
                return BASELINE_NONE;
        buf[0] = 0;
        if (!d->has_container || d->attribution == ATTRIBUTION_AMBIGUOUS)
                return BASELINE_NONE;
        if (d->container.image && *d->container.image &&
            baseline_image_key(d->container.image, buf, n) > 0)
                return BASELINE_IMAGE;
        buf[0] = 0;
        if (d->container.pod_namespace && *d->container.pod_namespace)
                return key_copy(BASELINE_NAMESPACE, d->container.pod_namespace, buf, n);
        if (d->container.name && *d->container.name)
                return key_copy(BASELINE_CONTAINER, d->container.name, buf, n);
        if (d->container.id && *d->container.id)
                return key_copy(BASELINE_CONTAINER, d->container.id, buf, n);
        return BASELINE_NONE;
}
