# SPDX-License-Identifier: MIT
# The docker-style container's entrypoint (busybox sh in container_t:s0:c7,c8, no mount
# namespace: host paths). Denials from the long-lived main process (shell redirections), then
# one from a short-lived child; the main process outlives the daemon's pid lookup, and one
# interval of the daemon's /proc scan (10 s), which is how the registry learns of containers
# whose engine has no API.
R=${0%/test.sh}
B=$R/bin/busybox
exec > $R/../out 2>&1
echo "ctx=$($B cat /proc/self/attr/current) pid=$$"
read -r x < /etc/shadow
read -r x < /var/lib/avcwatch-guest/shared/home-secret
read -r x < /var/lib/avcwatch-guest/shared/beta-data
echo pwned >> /etc/passwd
$B cat /etc/shadow
$B sleep 15
