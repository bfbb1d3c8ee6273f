/* SPDX-License-Identifier: MIT */
/* Container ids from /proc/<pid>/cgroup text. Every engine puts the 64-hex container id into the
 * innermost cgroup path component, with an engine-specific prefix (systemd driver: a .scope unit
 * name) or as a bare component below an engine-specific parent (cgroupfs driver). We scan each
 * line's path from the innermost component outwards and stop at the first that names a
 * container, so a container nested in a kubepods slice is named by its own scope. A bare id
 * below a parent no engine is known for (docker --cgroup-parent, cgroupfs driver) is returned
 * without an engine when nothing else on the path is recognised. */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cgroup-id.h"

static bool is_hex64(const char *s, size_t len) {
        if (len != CONTAINER_ID_LEN)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static const struct {
        const char *prefix;
        const char *engine;
} scope_prefixes[] = {
        {"docker-", "docker"}, {"libpod-conmon-", NULL}, /* conmon's own scope: not the container */
        {"libpod-", "podman"}, {"crio-conmon-", NULL},
        {"crio-", "cri-o"},    {"cri-containerd-", "containerd"},
};

/* One path component: "docker-<id>.scope", "libpod-<id>", "<id>" (cgroupfs drivers). parent is
 * the component above it, which tells the engine for bare ids. */
static int component_container(const char *c, size_t len, const char *parent, size_t parent_len,
                               bool in_kubepods, CgroupContainer *ret) {
        if (len > 6 && memcmp(c + len - 6, ".scope", 6) == 0)
                len -= 6;

        for (size_t i = 0; i < sizeof(scope_prefixes) / sizeof(scope_prefixes[0]); i++) {
                size_t pl = strlen(scope_prefixes[i].prefix);
                if (len > pl && memcmp(c, scope_prefixes[i].prefix, pl) == 0) {
                        if (!scope_prefixes[i].engine)
                                return 0;
                        if (!is_hex64(c + pl, len - pl))
                                return 0;
                        memcpy(ret->id, c + pl, CONTAINER_ID_LEN);
                        ret->id[CONTAINER_ID_LEN] = 0;
                        ret->engine = scope_prefixes[i].engine;
                        return 1;
                }
        }

        if (!is_hex64(c, len))
                return 0;
        const char *engine = NULL;
        if (parent_len == 6 && memcmp(parent, "docker", 6) == 0)
                engine = "docker";
        else if (parent_len == 13 && memcmp(parent, "libpod_parent", 13) == 0)
                engine = "podman";
        else if (in_kubepods)
                engine = "containerd"; /* cgroupfs-driver kubelet: containerd's bare ids */
        memcpy(ret->id, c, CONTAINER_ID_LEN);
        ret->id[CONTAINER_ID_LEN] = 0;
        ret->engine = engine;
        /* A bare id below any other parent: docker's cgroupfs driver puts a container started
         * with --cgroup-parent (or under a dockerd --cgroup-parent) there. Only a candidate: the
         * caller believes it when an engine knows the id. */
        return engine ? 1 : 2;
}

/* 1: ret names a container by a recognised layout; 2: ret holds only a candidate (a bare id
 * below an unknown parent, engine NULL); 0: neither. A recognised layout anywhere on the path
 * wins over a candidate, so that everything named before keeps its name. */
static int path_container(const char *path, size_t len, CgroupContainer *ret) {
        CgroupContainer candidate = {};
        bool in_kubepods = false;
        for (size_t i = 0; i + 8 <= len; i++)
                if (memcmp(path + i, "kubepods", 8) == 0) {
                        in_kubepods = true;
                        break;
                }

        /* Walk components from the innermost outwards. */
        size_t end = len;
        while (end > 0) {
                size_t start = end;
                while (start > 0 && path[start - 1] != '/')
                        start--;
                size_t pend = start > 0 ? start - 1 : 0, pstart = pend;
                while (pstart > 0 && path[pstart - 1] != '/')
                        pstart--;
                CgroupContainer c;
                int r = component_container(path + start, end - start, path + pstart, pend - pstart,
                                            in_kubepods, &c);
                if (r == 1) {
                        *ret = c;
                        return 1;
                }
                if (r == 2 && !candidate.id[0])
                        candidate = c;
                if (start == 0)
                        break;
                end = start - 1;
        }
        if (!candidate.id[0])
                return 0;
        *ret = candidate;
        return 2;
}

int cgroup_parse_container(const char *text, size_t len, CgroupContainer *ret) {
        const char *p = text, *e = text + len;
        CgroupContainer candidate = {};

        /* Lines are "hierarchy-id:controllers:path". The unified (0::) line is enough on cgroup
         * v2; on v1/hybrid every controller line carries the same path, so the first match
         * wins either way. */
        while (p < e) {
                const char *nl = memchr(p, '\n', e - p);
                const char *le = nl ? nl : e;
                const char *c1 = memchr(p, ':', le - p);
                const char *c2 = c1 ? memchr(c1 + 1, ':', le - c1 - 1) : NULL;
                if (c2) {
                        CgroupContainer c;
                        int r = path_container(c2 + 1, le - c2 - 1, &c);
                        if (r == 1) {
                                *ret = c;
                                return 1;
                        }
                        if (r == 2 && !candidate.id[0])
                                candidate = c;
                } else if (le > p)
                        return -EINVAL;
                p = nl ? nl + 1 : e;
        }
        if (!candidate.id[0])
                return 0;
        *ret = candidate;
        return 1;
}
