/* SPDX-License-Identifier: MIT */
#pragma once

/* Container id from the text of /proc/<pid>/cgroup. Pure. Recognised layouts:
 *   docker (systemd driver)   .../docker-<64hex>.scope
 *   docker (cgroupfs driver)  /docker/<64hex>
 *   podman                    .../libpod-<64hex>.scope, /libpod_parent/libpod-<64hex>[/...]
 *   cri-o                     .../crio-<64hex>.scope, /kubepods/.../crio-<64hex>
 *   containerd (CRI)          .../cri-containerd-<64hex>.scope, /kubepods/.../<64hex>
 * The innermost match wins (a container inside a kubepods slice).
 *   anything else             .../<parent>/<64hex> (docker --cgroup-parent=/<parent>, cgroupfs
 *                             driver): engine NULL, only when no layout above matches. A
 *                             candidate, not a fact: believe it when an engine knows the id. */

#include <stddef.h>

#define CONTAINER_ID_LEN 64

typedef struct CgroupContainer {
        char id[CONTAINER_ID_LEN + 1];
        const char *engine; /* static: "docker", "podman", "cri-o", "containerd"; NULL: unknown */
} CgroupContainer;

/* Returns 1 and fills *ret when a container is named, 0 when not, -EINVAL on nonsense. */
int cgroup_parse_container(const char *text, size_t len, CgroupContainer *ret);
