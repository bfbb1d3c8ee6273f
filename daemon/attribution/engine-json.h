/* SPDX-License-Identifier: MIT */
#pragma once

/* The Docker Engine API's JSON (also served by Podman's compatible API) mapped to what the
 * registry keeps. Pure: text in, values out; the I/O is daemon/attribution/engine.c's.
 *
 *   GET /containers/json?all=1    -> engine_list_parse():    the ids
 *   GET /containers/{id}/json     -> engine_inspect_parse(): a ContainerInfo
 *   GET /events (one JSON per line) -> engine_event_parse(): what happened to which container
 *
 * Everything in these documents is under the control of whoever starts containers (names,
 * labels, images, security options): values that are too long or of the wrong type are treated
 * as unknown, never trusted to be bounded or well-formed. */

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"

#define ENGINE_LIST_MAX 4096 /* containers taken from one list (the engine lists newest first) */
#define ENGINE_JSON_DEPTH_MAX 32 /* nesting accepted from an engine */

/* Bounded access to a document whoever starts containers controls (also runtime-spec.c's):
 * the member key of o when o is an object, else NULL; and that member when it is a string of
 * 1..CONTAINER_STRING_MAX bytes, valid UTF-8 and without a NUL, else NULL (unknown). */
json_object *engine_json_get(json_object *o, const char *key);
const char *engine_json_get_string(json_object *o, const char *key);

/* Fills ret with the container's id, name (without the leading '/'), image (as the user named it:
 * Config.Image), engine (the engine argument), pod and namespace (io.kubernetes.pod.name /
 * .namespace labels), compose project and service (com.docker.compose.* labels), label and its
 * categories (ProcessLabel; when empty, a "label=level:..." or "label:level:..." in
 * HostConfig.SecurityOpt, kept as "level:..."), created / started / finished times and state.
 * -EBADMSG when the text is not an inspect document with a valid Id; -ENOMEM. */
int engine_inspect_parse(const char *json, size_t len, const char *engine, ContainerInfo *ret);

/* The ids of a container list, at most ENGINE_LIST_MAX (entries without a valid Id are skipped).
 * *ret_ids is a malloc'd array of malloc'd strings (free with engine_ids_free). -EBADMSG when the
 * text is not a JSON array. */
int engine_list_parse(const char *json, size_t len, char ***ret_ids, size_t *ret_n);
void engine_ids_free(char **ids, size_t n);

/* The same, fed piece by piece as the body arrives, keeping only the ids: the list carries every
 * container's labels, which whoever starts a container may make megabytes long, so it is never
 * held whole (one container with 18 MB of labels made the engine's whole list unreadable). Only
 * the "Id" of each top-level object counts ("Id" keys inside Labels do not); nesting is bounded
 * by ENGINE_JSON_DEPTH_MAX. */
typedef struct EngineListScanner EngineListScanner;
int engine_list_scanner_new(EngineListScanner **ret);
/* -EBADMSG once the text cannot be a JSON array, -ENOMEM. */
int engine_list_scanner_feed(EngineListScanner *s, const char *data, size_t len);
/* The ids, as engine_list_parse() returns them; -EBADMSG when the array is not complete. The
 * scanner is freed either way. */
int engine_list_scanner_finish(EngineListScanner *s, char ***ret_ids, size_t *ret_n);
EngineListScanner *engine_list_scanner_free(EngineListScanner *s);

typedef enum EngineAction {
        ENGINE_ACTION_IGNORE,  /* not a container event, or one that changes nothing we keep */
        ENGINE_ACTION_INSPECT, /* create, start, restart, rename, update...: ask for the details */
        ENGINE_ACTION_DIE,     /* the container's process exited */
        ENGINE_ACTION_REMOVE,  /* destroy (docker), remove (podman) */
} EngineAction;

typedef struct EngineEvent {
        EngineAction action;
        char id[CONTAINER_STRING_MAX + 1];
        int64_t time_ms; /* timeNano, else time; 0 when absent */
        bool starts;     /* start, restart: the container's process runs by time_ms */
        /* What the event itself says (Actor.Attributes), so that a container that lives and dies
         * between two inspects is still named. NULL when absent. Owned. */
        char *name, *image;
} EngineEvent;

/* One line of the /events stream. -EBADMSG when it is not a JSON object. Events of other types
 * (image, network, volume) give ENGINE_ACTION_IGNORE. */
int engine_event_parse(const char *json, size_t len, EngineEvent *ret);
void engine_event_done(EngineEvent *e);
