/* SPDX-License-Identifier: MIT */
/* cgroup_parse_container() over real-looking /proc/<pid>/cgroup texts of each engine and
 * cgroup driver. */

#include <errno.h>

#include "cgroup-id.h"
#include "tests/unit/test.h"

#define ID "4dd9367681d8e3b2a6d19f1f5b52f6c8c2e8d2aa0d6c6f8d1f1e3a7b9c0d2e4f"
#define ID2 "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

static void expect(const char *text, const char *id, const char *engine) {
        CgroupContainer c;
        int r = cgroup_parse_container(text, strlen(text), &c);
        if (!id) {
                if (r != 0) {
                        fprintf(stderr, "expected no container in:\n%s\n", text);
                        exit(1);
                }
                return;
        }
        if (r != 1) {
                fprintf(stderr, "expected %s in:\n%s\n(r=%d)\n", id, text, r);
                exit(1);
        }
        CHECK_STREQ(c.id, id);
        if (engine)
                CHECK_STREQ(c.engine, engine);
        else
                CHECK(c.engine == NULL); /* a candidate: only an engine can vouch for it */
}

int main(void) {
        /* docker, systemd driver, cgroup v2 */
        expect("0::/system.slice/docker-" ID ".scope\n", ID, "docker");
        /* docker, cgroupfs driver, cgroup v1 (several controllers) */
        expect("12:pids:/docker/" ID "\n11:memory:/docker/" ID "\n0::/docker/" ID "\n", ID,
               "docker");
        /* podman, systemd driver, root and rootless */
        expect("0::/machine.slice/libpod-" ID ".scope/container\n", ID, "podman");
        expect("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope\n",
               ID, "podman");
        /* podman, cgroupfs driver (the selinux-guest recipe's layout) */
        expect("0::/libpod_parent/libpod-" ID "\n", ID, "podman");
        expect("0::/libpod_parent/" ID "\n", ID, "podman");
        /* conmon's scope is not the container */
        expect("0::/machine.slice/libpod-conmon-" ID ".scope\n", NULL, NULL);
        /* cri-o under kubelet, systemd driver */
        expect("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_"
               "6978_8796_a5b4c3d2e1f0.slice/crio-" ID ".scope\n",
               ID, "cri-o");
        expect("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podx.slice/"
               "crio-conmon-" ID ".scope\n",
               NULL, NULL);
        /* containerd CRI, systemd driver */
        expect("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-" ID ".scope\n", ID,
               "containerd");
        /* containerd, cgroupfs driver: bare id below kubepods */
        expect("0::/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/" ID "\n", ID,
               "containerd");
        /* the innermost container wins (docker-in-docker: outer /docker/ID, inner ID2) */
        expect("0::/docker/" ID "/docker/" ID2 "\n", ID2, "docker");
        /* host processes */
        expect("0::/system.slice/sshd.service\n", NULL, NULL);
        expect("0::/init.scope\n", NULL, NULL);
        expect("0::/user.slice/user-0.slice/session-3.scope\n", NULL, NULL);
        /* near misses: short id, upper case hex */
        expect("0::/system.slice/docker-4dd9367681d8.scope\n", NULL, NULL);
        expect("0::/docker/4DD9367681D8E3B2A6D19F1F5B52F6C8C2E8D2AA0D6C6F8D1F1E3A7B9C0D2E4F\n",
               NULL, NULL);
        /* docker --cgroup-parent=/ci with the cgroupfs driver (real, from this host): a bare id
         * below a parent of the user's choice is a candidate without an engine ... */
        expect("9:name=systemd:/ci/" ID "\n1:cpu:/ci/" ID "\n0::/ci/" ID "\n", ID, NULL);
        expect("0::/random/" ID "\n", ID, NULL);
        expect("0::/a/b/" ID "/sub\n", ID, NULL);
        /* ... and a recognised layout anywhere on the path, or on another line, wins over it */
        expect("0::/docker/" ID "/ci/" ID2 "\n", ID, "docker");
        expect("4:memory:/ci/" ID2 "\n0::/system.slice/docker-" ID ".scope\n", ID, "docker");
        /* 32 hex digits (this host's own memory cgroup) are no container id */
        expect("4:memory:/process_api/f4e5516c0992c908c96180f82f05d4fb\n0::/\n", NULL, NULL);
        /* no trailing newline, empty text */
        expect("0::/system.slice/docker-" ID ".scope", ID, "docker");
        expect("", NULL, NULL);

        CgroupContainer c;
        CHECK_RC(cgroup_parse_container("garbage without colons", 22, &c), -EINVAL);
        printf("cgroup-id: all layouts parsed\n");
        return 0;
}
