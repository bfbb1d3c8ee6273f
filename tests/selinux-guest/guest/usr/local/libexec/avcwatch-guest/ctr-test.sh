# SPDX-License-Identifier: MIT
# The docker-style container's entrypoint (busybox sh in container_t:s0:c7,c8, no mount
# namespace: host paths). Denials from the long-lived main process (shell redirections) and from
# short-lived children; the main process outlives the daemon's pid lookup, and one interval of
# the daemon's /proc scan (10 s), which is how the registry learns of containers whose engine
# has no API. Then it waits for the workload to turn the boolean container_manage_cgroup on
# (a live policy change), makes its last denial under the changed policy, and waits for the
# workload to let it go.
R=${0%/test.sh}
B=$R/bin/busybox
exec > $R/../out 2>&1
echo "ctx=$($B cat /proc/self/attr/current) pid=$$"
$B sleep 15 & # the least lifetime
read -r x < /etc/shadow
read -r x < /var/lib/avcwatch-guest/shared/home-secret
read -r x < /var/lib/avcwatch-guest/shared/beta-data
echo pwned >> /etc/passwd
# Escape attempts (triage: verdict "escape"): the host's physical memory and a kernel setting
# under /proc/sys, which no container namespace covers.
read -r x < /dev/mem
echo 1 > /proc/sys/kernel/sysrq
$B cat /etc/shadow
# A cgroup of its own: denied now, the boolean container_manage_cgroup would allow it (triage
# "boolean").
$B mkdir /sys/fs/cgroup/avcwatch-guest
$B touch $R/../first-done
# (Polled once a second: each poll is a process, and under TCG a faster poll slows down what
# the guest does meanwhile, audit2why among it.)
i=0
while [ ! -e $R/../boolean-on ] && [ $i -lt 60 ]; do
        $B sleep 1
        i=$((i + 1))
done
# The boolean is on: the same mkdir is allowed now (no denial), and a denial after the change.
$B mkdir /sys/fs/cgroup/avcwatch-guest && echo "cgroup-mkdir-after-boolean allowed" &&
        $B rmdir /sys/fs/cgroup/avcwatch-guest
read -r x < /etc/shadow
# Alive until the workload is done with it: the daemon looks the last denial's pid up.
i=0
while [ ! -e $R/../finish ] && [ $i -lt 60 ]; do
        $B sleep 1
        i=$((i + 1))
done
wait
