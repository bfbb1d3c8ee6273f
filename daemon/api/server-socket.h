/* SPDX-License-Identifier: MIT */
#pragma once

/* The sockets of the API server (server.c): the listening socket and the peer's credentials. */

#include <stdbool.h>
#include <sys/types.h>

/* Creates, binds and listens on an AF_UNIX stream socket at path (mode 0660, group access_gid
 * when we may give it away). A stale socket file is replaced; a live one (a daemon answers on
 * it) is refused with -EADDRINUSE, a file that is not a socket with -EEXIST. */
int server_socket_listen(const char *path, gid_t access_gid, int *ret);

/* What the kernel says about the peer of a connected socket: whether it may use the API
 * (server_peer_allowed() with its SO_PEERCRED and SO_PEERGROUPS) and whether it is root. A peer
 * whose credentials cannot be read is neither. */
void server_socket_peer(int fd, gid_t access_gid, bool *ret_allowed, bool *ret_root);
