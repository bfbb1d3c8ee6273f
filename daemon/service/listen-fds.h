/* SPDX-License-Identifier: MIT */
#pragma once

/* What the daemon is handed or has to make before it can listen: the sockets passed by the
 * service manager (socket activation), the directories of its paths, the API's access group. */

#include <stddef.h>
#include <sys/types.h>

/* Sockets handed over by the service manager (avcwatchd.socket, or systemd-socket-activate): the
 * API's listening AF_UNIX stream socket, the audit netlink socket (ListenNetlink=audit 1) and
 * the metrics endpoint's (avcwatchd-metrics.socket: a TCP socket, or a Unix one named "metrics"
 * by FileDescriptorName=), each -EBADF when not passed. Anything else passed is closed. */
void listen_fds_take(int *ret_api, int *ret_netlink, int *ret_metrics);

/* The path api_fd is bound to, into buf (size n); configured when api_fd is < 0 or unnamed. A
 * passed socket that is not the configured one is said in the log. */
void listen_fds_api_path(int api_fd, const char *configured, char *buf, size_t n);

/* Creates the missing parent directories of path with exactly mode (whatever the umask). */
int mkdir_parents(const char *path, mode_t mode);

/* The gid of the API's access group; (gid_t) -1 when none is set or it does not exist (logged:
 * then only root may use the API). */
gid_t access_group_lookup(const char *group);
