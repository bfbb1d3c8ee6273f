/* SPDX-License-Identifier: MIT */
/* Signatures and baseline keys (signature.h). */

#include <errno.h>
#include <stdio.h>
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

int denial_signature(const Denial *d, char *buf, size_t n) {
        char perms[SIGNATURE_MAX];
        const char *words[SIGNATURE_PERMISSIONS_MAX];
        size_t n_words = 0, len;
        int k;

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
        k = snprintf(buf, n, "%s %s %s:%s {", d->result, d->source_type, d->target_type,
                     d->tclass ? d->tclass : "?");
        if (k < 0 || (size_t) k >= n)
                return -ENOBUFS;
        len = (size_t) k;
        for (size_t i = 0; i < n_words; i++) {
                if (i > 0 && strcmp(words[i], words[i - 1]) == 0)
                        continue;
                k = snprintf(buf + len, n - len, " %s", words[i]);
                if (k < 0 || (size_t) k >= n - len)
                        return -ENOBUFS;
                len += (size_t) k;
        }
        k = snprintf(buf + len, n - len, " }");
        if (k < 0 || (size_t) k >= n - len)
                return -ENOBUFS;
        return (int) (len + (size_t) k);
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
