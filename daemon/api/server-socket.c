/* SPDX-License-Identifier: MIT */
/* The sockets of the API server: the listening socket it creates when systemd did not pass one,
 * and what the kernel says about a peer (SO_PEERCRED, SO_PEERGROUPS). Access is decided from
 * these alone, never from anything the client says. */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "server-socket.h"
#include "server.h"

#define SERVER_PEER_GROUPS_MAX 65536 /* the kernel's NGROUPS_MAX */
#define SERVER_PEER_GROUPS_GUESS 64  /* first try; most users have few groups */

bool server_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                         gid_t access_gid) {
        if (uid == 0)
                return true;
        if (access_gid == (gid_t) -1)
                return false;
        if (gid == access_gid)
                return true;
        for (size_t i = 0; i < n_groups; i++)
                if (groups[i] == access_gid)
                        return true;
        return false;
}

/* The peer's supplementary groups as the kernel saw them at connect (SO_PEERGROUPS, Linux 4.13),
 * else those of its uid's passwd entry. Returns the count; *ret is malloc'd. */
static int peer_groups(int fd, uid_t uid, gid_t gid, gid_t **ret) {
        socklen_t len = SERVER_PEER_GROUPS_GUESS * sizeof(gid_t);

        for (;;) {
                _cleanup_(freep) gid_t *groups = malloc(len ? len : sizeof(gid_t));
                if (!groups)
                        return -ENOMEM;
                socklen_t got = len;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &got) >= 0) {
                        *ret = TAKE_PTR(groups);
                        return (int) (got / sizeof(gid_t));
                }
                if (errno == ERANGE && got > len && got <= SERVER_PEER_GROUPS_MAX * sizeof(gid_t)) {
                        len = got;
                        continue;
                }
                if (errno != ENOPROTOOPT)
                        return negative_errno();
                break;
        }

        /* Old kernel: the groups of the uid's account (may miss a newgrp'ed group). */
        struct passwd pw, *result = NULL;
        char buf[4096];
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &result) != 0 || !result) {
                *ret = NULL;
                return 0;
        }
        int n = SERVER_PEER_GROUPS_GUESS;
        for (;;) {
                _cleanup_(freep) gid_t *groups = calloc((size_t) n, sizeof(gid_t));
                if (!groups)
                        return -ENOMEM;
                int k = n;
                if (getgrouplist(pw.pw_name, gid, groups, &k) >= 0) {
                        *ret = TAKE_PTR(groups);
                        return k;
                }
                if (k <= n || k > SERVER_PEER_GROUPS_MAX)
                        return -E2BIG;
                n = k;
        }
}

static bool peer_allowed(int fd, gid_t access_gid) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        _cleanup_(freep) gid_t *groups = NULL;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
                return false;
        /* The supplementary groups are only needed when uid and gid did not decide. */
        if (server_peer_allowed(cred.uid, cred.gid, NULL, 0, access_gid))
                return true;
        if (access_gid == (gid_t) -1)
                return false;

        int n = peer_groups(fd, cred.uid, cred.gid, &groups);
        if (n < 0)
                return false;
        return server_peer_allowed(cred.uid, cred.gid, groups, (size_t) n, access_gid);
}

void server_socket_peer(int fd, gid_t access_gid, bool *ret_allowed, bool *ret_root) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        *ret_allowed = peer_allowed(fd, access_gid);
        *ret_root = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) >= 0 &&
                    len == sizeof(cred) && cred.uid == 0;
}

int server_socket_listen(const char *path, gid_t access_gid, int *ret) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;

        if (!path || !path[0])
                return -EINVAL;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        _cleanup_(closep) int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();

        if (lstat(path, &st) >= 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                _cleanup_(closep) int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe < 0)
                        return negative_errno();
                if (connect(probe, (struct sockaddr *) &sa, sizeof(sa)) >= 0)
                        return -EADDRINUSE;
                if (unlink(path) < 0 && errno != ENOENT)
                        return negative_errno();
        } else if (errno != ENOENT)
                return negative_errno();

        /* Created without any access for others from the start; chmod widens it to the group. */
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return negative_errno();
        /* Giving the socket to the access group needs CAP_CHOWN, or membership of that group:
         * a daemon run by hand by another user keeps its own group (peers are checked anyway). */
        if (access_gid != (gid_t) -1 && chown(path, (uid_t) -1, access_gid) < 0) {
                if (errno != EPERM)
                        goto fail;
                log_warning("Cannot give '%s' to the access group (gid %u): only the daemon's "
                            "own user and group can connect to it.",
                            path, (unsigned) access_gid);
        }
        if (chmod(path, 0660) < 0)
                goto fail;
        if (listen(fd, SOMAXCONN) < 0)
                goto fail;

        *ret = TAKE_FD(fd);
        return 0;
fail:
        r = negative_errno();
        (void) unlink(path);
        return r;
}
