/* SPDX-License-Identifier: MIT */
#pragma once

/* The metrics endpoint ([Metrics] Listen=, docs/metrics.md): plain HTTP/1.1, GET /metrics only,
 * answered with the Prometheus text exposition (metrics-text.h); anything else gets 404 (another
 * path) or 405 (another method). One request per connection (the answer says Connection: close).
 * Bounded like the API server: connections (METRICS_CONNECTIONS_MAX, the oldest closed for a
 * newcomer), request size (METRICS_REQUEST_MAX, then 414/431 and close), time (the whole request
 * within METRICS_REQUEST_USEC of the connect, the answer read within METRICS_STALL_USEC). No
 * credentials are asked: it binds to loopback or a Unix socket of the administrator's choice and
 * shows only counts. */

#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "stats.h"
#include "store.h"

#define METRICS_CONNECTIONS_MAX 64
#define METRICS_REQUEST_MAX (8 * 1024)
#define METRICS_REQUEST_USEC (10ULL * 1000000)
#define METRICS_STALL_USEC (10ULL * 1000000)
/* The store's part of a scrape (top N, counts) is kept this long: a scrape every second costs
 * one store query every few seconds. */
#define METRICS_CACHE_USEC (5ULL * 1000000)
#define METRICS_TOP_DEFAULT 100
#define METRICS_DEFAULT_PORT 9774
#define METRICS_AVC_CACHE_STATS "/sys/fs/selinux/avc/cache_stats"

typedef struct MetricsServer MetricsServer;

/* listen_fd: a listening stream socket handed over (owned on success), or -1 to bind listen
 * (metrics_parse_listen()); a Unix socket path is created with mode 0660 and removed again by
 * metrics_server_free(). top_n: containers and images with a series of their own. */
int metrics_server_new(sd_event *e, int listen_fd, const char *address, Store *store,
                       const Stats *stats, unsigned top_n, MetricsServer **ret);
MetricsServer *metrics_server_free(MetricsServer *m);

/* "127.0.0.1:PORT", "[::1]:PORT" or an absolute path of a Unix socket. -EINVAL otherwise. */
int metrics_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* For tests: replaces the file of the kernel's AVC cache counters. */
void metrics_server_set_avc_cache_path(MetricsServer *m, const char *path);
