/* SPDX-License-Identifier: MIT */
/* Dropping capabilities after start-up (see privileges.h), with the raw capget/capset system
 * calls: four calls do not justify a library dependency. Order matters: the bounding set can
 * only be reduced while CAP_SETPCAP is still effective, so it goes first, then capset() removes
 * CAP_SETPCAP with the rest. Ambient capabilities would be re-added to permitted on an execve
 * (the daemon never execs, but no_new_privs and an empty ambient set make sure of it). */

#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "privileges.h"

#define CAP_MAX_SANE 63 /* the masks are 64-bit; the kernel has 41 today */

static bool has(uint64_t mask, unsigned cap) {
        return cap <= CAP_MAX_SANE && (mask & ((uint64_t) 1 << cap));
}

static int caps_get(struct __user_cap_data_struct data[2]) {
        struct __user_cap_header_struct header = {
                .version = _LINUX_CAPABILITY_VERSION_3,
                .pid = 0,
        };
        if (syscall(SYS_capget, &header, data) < 0)
                return negative_errno();
        return 0;
}

static uint64_t mask_of(uint32_t low, uint32_t high) {
        return (uint64_t) low | ((uint64_t) high << 32);
}

int privileges_get(uint64_t *ret_permitted, uint64_t *ret_effective, uint64_t *ret_bounding) {
        struct __user_cap_data_struct data[2] = {};
        uint64_t bounding = 0;
        int r;

        r = caps_get(data);
        if (r < 0)
                return r;
        /* PR_CAPBSET_READ says EINVAL past the last capability the kernel knows */
        for (unsigned cap = 0; cap <= CAP_MAX_SANE; cap++) {
                int v = prctl(PR_CAPBSET_READ, (unsigned long) cap, 0, 0, 0);
                if (v < 0)
                        break;
                if (v > 0)
                        bounding |= (uint64_t) 1 << cap;
        }
        if (ret_permitted)
                *ret_permitted = mask_of(data[0].permitted, data[1].permitted);
        if (ret_effective)
                *ret_effective = mask_of(data[0].effective, data[1].effective);
        if (ret_bounding)
                *ret_bounding = bounding;
        return 0;
}

int privileges_drop(uint64_t keep, uint64_t *ret_permitted) {
        struct __user_cap_header_struct header = {
                .version = _LINUX_CAPABILITY_VERSION_3,
                .pid = 0,
        };
        struct __user_cap_data_struct data[2] = {};
        uint64_t permitted;
        int r;

        /* EINVAL: a kernel before 4.3 has no ambient set, so nothing to clear */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return negative_errno();

        r = caps_get(data);
        if (r < 0)
                return r;
        if (data[0].effective & (1U << CAP_SETPCAP))
                for (unsigned cap = 0; cap <= CAP_MAX_SANE; cap++) {
                        if (has(keep, cap))
                                continue;
                        int v = prctl(PR_CAPBSET_READ, (unsigned long) cap, 0, 0, 0);
                        if (v < 0)
                                break; /* past the last capability */
                        if (v > 0 && prctl(PR_CAPBSET_DROP, (unsigned long) cap, 0, 0, 0) < 0)
                                return negative_errno();
                }

        permitted = mask_of(data[0].permitted, data[1].permitted) & keep;
        /* Nothing to take away (e.g. started by systemd with an empty bounding set): no
         * capset(), which a seccomp filter of @privileged calls may refuse. */
        if (permitted != mask_of(data[0].permitted, data[1].permitted) ||
            permitted != mask_of(data[0].effective, data[1].effective) ||
            data[0].inheritable != 0 || data[1].inheritable != 0) {
                for (int i = 0; i < 2; i++) {
                        data[i].permitted = data[i].effective = (uint32_t) (permitted >> (32 * i));
                        data[i].inheritable = 0;
                }
                if (syscall(SYS_capset, &header, data) < 0)
                        return negative_errno();
        }

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();

        /* trust, but verify: a silent partial drop would be worse than none */
        r = privileges_get(&permitted, NULL, NULL);
        if (r < 0)
                return r;
        if (permitted & ~keep)
                return -EPERM;
        if (ret_permitted)
                *ret_permitted = permitted;
        return 0;
}
