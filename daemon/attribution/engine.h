/* SPDX-License-Identifier: MIT */
#pragma once

/* Engine: a client of one container engine's Docker-compatible API over its AF_UNIX socket
 * (Docker at /run/docker.sock, Podman's compatible API at /run/podman/podman.sock), on the
 * daemon's sd-event loop, never blocking it. It keeps the registry current: the /events stream
 * first (so nothing is missed), then a list of every container and an inspect of each, then an
 * inspect per start / rename / die event and the removal times from destroy / remove. When the
 * engine is absent or goes away it retries with a backoff, says so once in the log, and shows
 * its state in stats. Opaque handle. */

#include <systemd/sd-event.h>

#include "registry.h"
#include "stats.h"

typedef struct Engine Engine;

#define ENGINE_RESPONSE_MAX (16 * 1024 * 1024)        /* one inspect response body (or error) */
#define ENGINE_EVENT_LINE_MAX (64 * 1024)             /* one event of the /events stream */
#define ENGINE_QUEUE_MAX 8192                         /* containers waiting for an inspect */
#define ENGINE_REQUEST_TIMEOUT_USEC (10ULL * 1000000) /* one list or inspect, start to end */
#define ENGINE_RETRY_MIN_USEC (1ULL * 1000000)        /* first retry after a failure ... */
#define ENGINE_RETRY_MAX_USEC (30ULL * 1000000)       /* ... doubling up to this */

/* name: "docker" or "podman" (the engine recorded for its containers). registry and stats
 * (the slot the engine keeps current) are borrowed. Connecting starts at once, in the
 * background. */
int engine_new(sd_event *event, const char *name, const char *socket_path, Registry *registry,
               EngineStats *stats, Engine **ret);
Engine *engine_free(Engine *e);
/* An engine not configured (its socket setting is empty): its slot in stats says so. */
void engine_stats_disabled(EngineStats *stats, const char *name);

/* The engine's event stream is open: its containers' lifetimes are being followed. */
bool engine_is_connected(const Engine *e);
/* The engine its containers are recorded with: the name given to engine_new(), or "podman" once
 * Podman answered on the socket (podman-docker's /run/docker.sock). */
const char *engine_name(const Engine *e);

/* For tests: replaces ENGINE_RETRY_MIN_USEC / _MAX_USEC. */
void engine_set_retry_usec(Engine *e, uint64_t min_usec, uint64_t max_usec);
