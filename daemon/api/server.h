/* SPDX-License-Identifier: MIT */
#pragma once

/* API server: Varlink over AF_UNIX stream (docs/api.md, interface io.avcwatch). Every peer's
 * credentials are checked at accept (SO_PEERCRED / SO_PEERGROUPS): root and members of the access
 * group only. Requests are size bounded; a bad request gets a Varlink error and the connection
 * stays usable or is closed, the daemon carries on. Tail subscribers get each new stored denial;
 * a subscriber whose unsent output exceeds its bound is disconnected. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "denial.h"
#include "stats.h"
#include "importer.h"
#include "store.h"

typedef struct Server Server;

#define SERVER_REQUEST_MAX (64 * 1024) /* longest request message */
#define SERVER_CONNECTIONS_MAX 256
#define SERVER_SUBSCRIBERS_MAX 64
#define SERVER_OUTPUT_MAX (8 * 1024 * 1024) /* unsent bytes per connection before it is cut */
/* Unsent bytes of all connections together: beyond, the biggest holder is cut, so that many slow
 * readers cannot make the daemon hold SERVER_CONNECTIONS_MAX x SERVER_OUTPUT_MAX. */
#define SERVER_OUTPUT_TOTAL_MAX (64 * 1024 * 1024)
/* Unsent bytes above which a connection's further requests wait (are not read) until the client
 * has read its replies: a client that pipelines calls and never reads stalls only itself. */
#define SERVER_OUTPUT_PAUSE (256 * 1024)
#define SERVER_QUERY_PAGE_MAX 1000          /* denials per Query reply */
#define SERVER_IDLE_USEC (300ULL * 1000000) /* idle connections without a pending call */
/* A request that has begun must be complete (NUL-terminated) within this, else InvalidRequest and
 * close: a peer cannot hold a connection by trickling bytes. */
#define SERVER_REQUEST_USEC (10ULL * 1000000)
/* Unsent output that makes no progress for this long: the client is not reading, cut. */
#define SERVER_STALL_USEC (30ULL * 1000000)
/* A peer without access gets its AccessDenied answers; it is closed this long after connecting
 * even if it sends nothing, and is the first to go when the connections are all taken. */
#define SERVER_DENIED_USEC (1ULL * 1000000)

/* listen_fd: a listening socket (socket activation; the server owns it on success) or -1 to
 * create one at socket_path (mode 0660, group access_gid; a stale socket is replaced, a live one
 * or a non-socket refused with -EADDRINUSE / -EEXIST; removed again by server_free()).
 * access_gid: (gid_t) -1 for root only. stats: the server writes its own block (stats->api:
 * clients, tail subscribers, ...) and reads the rest for the Stats method. */
int server_new(sd_event *e, int listen_fd, const char *socket_path, gid_t access_gid, Store *store,
               Stats *stats, Server **ret);
Server *server_free(Server *s);

/* The container registry that io.avcwatch.Containers lists (borrowed; NULL: an empty list). */
typedef struct Registry Registry;
void server_set_registry(Server *s, Registry *registry);

/* io.avcwatch.Import: how a connection gets its Importer (the manager wires it to the store). Not
 * set: Import is not offered (MethodNotFound). */
typedef int (*server_new_importer_func)(void *userdata, Importer **ret);
void server_set_importer(Server *s, server_new_importer_func new_importer, void *userdata);

/* The triage stage, which io.avcwatch.Explain asks about a stored denial now (borrowed; NULL:
 * explanations without the policy's answer). */
typedef struct Triage Triage;
void server_set_triage(Server *s, Triage *triage);

/* Sends d to every tail subscriber whose filter matches. */
void server_broadcast(Server *s, const Denial *d);

/* Whether a peer with these credentials may use the API: root, the access group as primary
 * group, or the access group among its supplementary groups. access_gid (gid_t) -1: root only.
 * Pure, so that the decision can be tested without other users. */
bool server_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                         gid_t access_gid);

/* For tests: replace SERVER_IDLE_USEC, SERVER_REQUEST_USEC and SERVER_STALL_USEC. */
void server_set_idle_usec(Server *s, uint64_t usec);
void server_set_request_usec(Server *s, uint64_t usec);
void server_set_stall_usec(Server *s, uint64_t usec);
void server_set_output_total_max(Server *s, size_t bytes); /* SERVER_OUTPUT_TOTAL_MAX */
