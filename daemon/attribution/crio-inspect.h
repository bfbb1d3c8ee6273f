/* SPDX-License-Identifier: MIT */
#pragma once

/* CrioInspect: CRI-O's own HTTP API on its AF_UNIX socket (/var/run/crio/crio.sock), asked
 * GET /containers/{id} for a container whose config.json runtime-state.c could not read, on the
 * daemon's sd-event loop, one request at a time, never blocking it. The reply is handed to a
 * callback as it came (runtime-spec.c parses it). Opaque handle. */

#include <stddef.h>
#include <systemd/sd-event.h>

typedef struct CrioInspect CrioInspect;

/* error < 0: the request failed (-ENOENT: CRI-O does not know the container, HTTP 404;
 * -E2BIG: the reply is over RUNTIME_INSPECT_RESPONSE_MAX; -ETIMEDOUT, -ECONNREFUSED, ...). */
typedef void (*crio_inspect_cb)(const char *id, const char *body, size_t len, int error,
                                void *userdata);

int crio_inspect_new(sd_event *event, const char *socket_path, crio_inspect_cb cb, void *userdata,
                     CrioInspect **ret);
CrioInspect *crio_inspect_free(CrioInspect *c);
/* Queues an inspect of id (a valid container id), or with id "" a GET /info (its reply handed to
 * the callback with id ""); -EXFULL when RUNTIME_INSPECT_QUEUE_MAX wait. */
int crio_inspect_queue(CrioInspect *c, const char *id);
