/* SPDX-License-Identifier: MIT */
/* ContainerInfo and the category set of a container label. Labels come from engines (inspect's
 * ProcessLabel, a user's label=level: option) and from /proc/<pid>/attr/current: all of them
 * untrusted text, validated by the context grammar (context.c) before a category is believed. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

void container_info_done(ContainerInfo *c) {
        if (!c)
                return;
        free(c->id);
        free(c->name);
        free(c->image);
        free(c->engine);
        free(c->pod);
        free(c->pod_namespace);
        free(c->compose_project);
        free(c->compose_service);
        free(c->pod_uid);
        free(c->sandbox_id);
        free(c->label);
        *c = (ContainerInfo){};
}

int container_label_mcs(const char *label, McsSet *ret) {
        char cats[CONTAINER_STRING_MAX + 1];
        const char *text = label;
        McsSet set;
        size_t colons = 0;
        int r;

        if (!label || strlen(label) > CONTAINER_STRING_MAX)
                return -EINVAL;
        for (const char *p = label; *p; p++)
                colons += *p == ':';

        if (strncmp(label, "level:", 6) == 0)
                text = label + 6;
        else if (colons >= 3) {
                /* user:role:type:level — the type may itself start with "c" (container_t), so
                 * the level is found by the context grammar, never by searching for ":c". */
                if (context_split(label, NULL, 0, cats, sizeof(cats)) < 0)
                        return -EINVAL;
                text = cats;
        }
        /* "s0", "s0:c1,c2", "s0-s0:c0.c1023" (the high level's), "c1,c2". */
        r = mcs_set_parse(text, &set);
        if (r < 0)
                return r;
        if (mcs_set_is_empty(&set))
                return 0;
        *ret = set;
        return 1;
}

bool container_id_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > CONTAINER_STRING_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                      (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
                        return false;
        return true;
}
