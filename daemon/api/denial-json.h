/* SPDX-License-Identifier: MIT */
#pragma once

/* The Denial <-> JSON object of DESIGN "Contracts" (docs/api.md). Exactly these keys, in this
 * order, unknown values as null:
 * time serial record_type result permissions pid comm exe path name scontext tcontext tclass
 * permissive source_type target_type mcs container attribution target_container candidates raw
 * (candidates: null unless attribution is "ambiguous", then the containers it may be from). */

#include <json-c/json.h>

#include "denial.h"
#include "json-add.h"
#include "json-writer.h"

/* The object written as text (json-writer.h): the one definition of the contract. The json-c
 * forms below serialise to this text (json_writer_to_object(): opaque, for replies built as
 * trees). */
void denial_write_json(JsonWriter *w, const Denial *d);
void permissions_write_json(JsonWriter *w, const char *permissions);
void container_write_json(JsonWriter *w, const ContainerRef *c);

int denial_to_json(const Denial *d, json_object **ret);
/* Parts of it, for other objects of the API: "read write" -> ["read","write"] (NULL -> []), and
 * the container object {id, name, image, engine, pod}. */
int permissions_to_json(const char *permissions, json_object **ret);
int container_to_json(const ContainerRef *c, json_object **ret);
/* The same, or NULL (null) when !has. */
int container_to_json_nullable(bool has, const ContainerRef *c, json_object **ret);
/* Inverse, for the client: fills *ret (DENIAL_NULL first). -EBADMSG on a missing/mistyped key. */
int denial_from_json(json_object *o, Denial *ret);
