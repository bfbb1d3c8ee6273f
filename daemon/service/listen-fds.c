/* SPDX-License-Identifier: MIT */
/* Socket handover and paths (listen-fds.h).
 *
 * Direction: called by the manager at start-up; calls libsystemd and libc only.
 *
 * Decisions:
 * - Passed sockets are told apart by type, not by name: FileDescriptorName= names all the
 *   sockets of one unit alike. The one exception is the metrics endpoint on a Unix socket, which
 *   has a unit of its own (avcwatchd-metrics.socket) and is named "metrics" there. Anything else is
 * closed rather than kept open for the daemon's lifetime.
 * - Directories are created with exactly their mode: a umask must not make /run/avcwatch
 *   unreachable for the access group. */

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "listen-fds.h"
#include "log.h"
#include "macro.h"

void listen_fds_take(int *ret_api, int *ret_netlink, int *ret_metrics) {
        char **names = NULL;
        int n;

        *ret_api = *ret_netlink = *ret_metrics = -EBADF;
        n = sd_listen_fds_with_names(true, &names);
        if (n < 0) {
                log_warning_errno(n, "Ignoring the sockets passed by the service manager: %m");
                return;
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "unnamed";

                if (*ret_metrics < 0 && (sd_is_socket(fd, AF_INET, SOCK_STREAM, 1) > 0 ||
                                         sd_is_socket(fd, AF_INET6, SOCK_STREAM, 1) > 0 ||
                                         (strcmp(name, "metrics") == 0 &&
                                          sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) > 0))) {
                        *ret_metrics = fd;
                        log_info("Using the metrics socket passed by the service manager (fd %d, "
                                 "%s).",
                                 fd, name);
                } else if (*ret_api < 0 && sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) > 0) {
                        *ret_api = fd;
                        log_info("Using the API socket passed by the service manager (fd %d, %s).",
                                 fd, name);
                } else if (*ret_netlink < 0 && sd_is_socket(fd, AF_NETLINK, SOCK_RAW, -1) > 0) {
                        *ret_netlink = fd;
                        log_info("Using the audit socket passed by the service manager (fd %d, "
                                 "%s).",
                                 fd, name);
                } else {
                        log_warning("Closing unexpected file descriptor %d (%s) passed by the "
                                    "service manager.",
                                    fd, name);
                        (void) close(fd);
                }
        }
        if (names)
                for (char **p = names; *p; p++)
                        free(*p);
        free(names);
}

void listen_fds_api_path(int api_fd, const char *configured, char *buf, size_t n) {
        struct sockaddr_un sa = {};
        socklen_t l = sizeof(sa);

        snprintf(buf, n, "%s", configured);
        if (api_fd < 0)
                return;
        if (getsockname(api_fd, (struct sockaddr *) &sa, &l) >= 0 &&
            l > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0] != 0) {
                snprintf(buf, n, "%.*s", (int) (l - offsetof(struct sockaddr_un, sun_path)),
                         sa.sun_path);
                if (strcmp(buf, configured) != 0)
                        log_notice("The service manager passed the API socket %s; Socket=%s is "
                                   "not used.",
                                   buf, configured);
        }
}

int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_(freep) char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = 0;
                struct stat st;
                if (mkdir(copy, mode) >= 0)
                        (void) chmod(copy, mode); /* exactly this mode, whatever the umask */
                else if (errno != EEXIST && !(stat(copy, &st) >= 0 && S_ISDIR(st.st_mode)))
                        return negative_errno(); /* EACCES on a parent that exists is fine */
                *p = '/';
        }
        return 0;
}

gid_t access_group_lookup(const char *group) {
        struct group *g;

        if (!group || !group[0])
                return (gid_t) -1;
        g = getgrnam(group);
        if (!g) {
                log_notice("Access group '%s' does not exist; only root may use the API.", group);
                return (gid_t) -1;
        }
        return g->gr_gid;
}
