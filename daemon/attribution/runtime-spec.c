/* SPDX-License-Identifier: MIT */
/* OCI config.json (containerd, CRI-O) and CRI-O's inspect reply -> ContainerInfo.
 *
 * Decisions:
 * - One mapping for both runtimes: each field is looked up under containerd's CRI annotation
 *   first, then under CRI-O's (the kubelet's labels, which CRI-O writes into the annotations as
 *   they are, then its own io.kubernetes.cri-o.* keys). A runtime writes only its own, so the
 *   order never chooses between two values a runtime wrote; it only makes the code one table.
 * - The sandbox ("pause") container is recorded with sandbox set: under CRI-O every container of
 *   a pod runs with the sandbox's categories, so the sandbox is what maps them while the pod
 *   lives. Its name is left unknown (the CRI gives the sandbox none: CRI-O's "k8s_POD_..." is an
 *   internal name); it is shown as its pod.
 * - The image: containerd's image-name (podsandbox.image-name for a sandbox); CRI-O's Image (what
 *   the pod spec asked for), then ImageName (one of the image's names), then ImageRef (its id).
 * - The label is process.selinuxLabel. Without one (a runtime that set only the mount label),
 *   linux.mountLabel still carries the categories the runtime gave the container: the categories
 *   are taken from it and the label stays unknown, since a file label is not a process label.
 * - A document without any CRI annotation is a containerd client's own container (Docker's, in
 *   the moby namespace): RUNTIME_SPEC_PLAIN, for the caller to record only what no engine told
 *   it. One that says io.container.manager=libpod is Podman's, which shares CRI-O's storage
 *   directories: RUNTIME_SPEC_FOREIGN, left to the Podman client.
 * - Bounded before parsing (RUNTIME_SPEC_SIZE_MAX, RUNTIME_SPEC_DEPTH_MAX); strings through
 *   engine-json.c's accessors: too long, wrong type, a NUL or not UTF-8 is unknown. */

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "engine-json.h"
#include "macro.h"
#include "runtime-spec.h"
#include "timeparse.h"

static json_object *parse(const char *json, size_t len) {
        json_tokener *tok;
        json_object *o;

        if (!json)
                return NULL;
        tok = json_tokener_new_ex(RUNTIME_SPEC_DEPTH_MAX);
        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, json, (int) len);
        if (o && (json_tokener_get_error(tok) != json_tokener_success ||
                  json_tokener_get_parse_end(tok) != len)) {
                /* Trailing bytes after the object: a file caught half rewritten, or not JSON. */
                size_t end = json_tokener_get_parse_end(tok);
                bool blank = true;
                for (size_t i = end; i < len && blank; i++)
                        blank = json[i] == ' ' || json[i] == '\n' || json[i] == '\t' ||
                                json[i] == '\r';
                if (json_tokener_get_error(tok) != json_tokener_success || !blank) {
                        json_object_put(o);
                        o = NULL;
                }
        }
        json_tokener_free(tok);
        return o;
}

/* The first of keys that a is a bounded string for. */
static const char *first_string(json_object *a, const char *const *keys, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *s = engine_json_get_string(a, keys[i]);
                if (s)
                        return s;
        }
        return NULL;
}

#define FIRST(a, ...)                                                                              \
        first_string(a, (const char *const[]){__VA_ARGS__},                                        \
                     ELEMENTSOF(((const char *const[]){__VA_ARGS__})))

static bool has_cri_annotation(json_object *a) {
        return FIRST(a, "io.kubernetes.cri.container-type", "io.kubernetes.cri.sandbox-id",
                     "io.kubernetes.cri-o.ContainerType", "io.kubernetes.cri-o.SandboxID",
                     "io.kubernetes.pod.name", "io.kubernetes.pod.uid") != NULL;
}

/* Fills c from one annotation map (config.json's "annotations", or an inspect reply's
 * annotations merged with its labels: lookup order is the caller's). */
static int fill_from_annotations(ContainerInfo *c, json_object *const *maps, size_t n_maps) {
        const char *name = NULL, *image = NULL, *pod = NULL, *ns = NULL, *uid = NULL,
                   *sandbox_id = NULL, *type = NULL, *created = NULL;

        /* The first map that has a value wins, field by field. */
        for (size_t i = 0; i < n_maps; i++) {
                json_object *a = maps[i];
                if (!type)
                        type = FIRST(a, "io.kubernetes.cri.container-type",
                                     "io.kubernetes.cri-o.ContainerType");
                if (!pod)
                        pod = FIRST(a, "io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name");
                if (!ns)
                        ns = FIRST(a, "io.kubernetes.cri.sandbox-namespace",
                                   "io.kubernetes.pod.namespace", "io.kubernetes.cri-o.Namespace");
                if (!uid)
                        uid = FIRST(a, "io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid");
                if (!sandbox_id)
                        sandbox_id = FIRST(a, "io.kubernetes.cri.sandbox-id",
                                           "io.kubernetes.cri-o.SandboxID");
                if (!name)
                        name = FIRST(a, "io.kubernetes.cri.container-name",
                                     "io.kubernetes.container.name");
                if (!image)
                        image = FIRST(a, "io.kubernetes.cri.image-name",
                                      "io.kubernetes.cri.podsandbox.image-name",
                                      "io.kubernetes.cri-o.Image", "io.kubernetes.cri-o.ImageName",
                                      "io.kubernetes.cri-o.ImageRef");
                if (!created)
                        created = engine_json_get_string(a, "io.kubernetes.cri-o.Created");
        }

        c->sandbox = type && strcmp(type, "sandbox") == 0;
        if (c->sandbox)
                name = NULL; /* "POD" or CRI-O's internal name: the sandbox is shown as its pod */

        const struct {
                const char *value;
                char **dst;
        } strings[] = {
                {name, &c->name},        {image, &c->image}, {pod, &c->pod},
                {ns, &c->pod_namespace}, {uid, &c->pod_uid}, {sandbox_id, &c->sandbox_id},
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (strings[i].value && !(*strings[i].dst = strdup(strings[i].value)))
                        return -ENOMEM;

        int64_t ms;
        if (created && strchr(created, 'T') && parse_time_spec(created, 0, &ms) >= 0 && ms > 0)
                c->created_ms = ms;
        return 0;
}

static int fill_label(ContainerInfo *c, const char *label, const char *mount_label) {
        McsSet set;

        if (label) {
                c->label = strdup(label);
                if (!c->label)
                        return -ENOMEM;
                if (container_label_mcs(label, &set) > 0) {
                        c->mcs = set;
                        c->has_mcs = true;
                        return 0;
                }
        }
        if (mount_label && container_label_mcs(mount_label, &set) > 0) {
                c->mcs = set;
                c->has_mcs = true;
        }
        return 0;
}

static int start(const char *json, size_t len, const char *id, const char *engine,
                 json_object **ret_o, ContainerInfo *c) {
        if (len > RUNTIME_SPEC_SIZE_MAX)
                return -EFBIG;
        if (!container_id_is_valid(id))
                return -EINVAL;
        json_object *o = parse(json, len);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        c->id = strdup(id);
        c->engine = strdup(engine);
        if (!c->id || !c->engine) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret_o = o;
        return 0;
}

int runtime_spec_parse(const char *json, size_t len, const char *id, const char *engine,
                       ContainerInfo *ret) {
        _cleanup_(container_info_done) ContainerInfo c = {};
        json_object *o = NULL;
        int r;

        if (!engine || !ret)
                return -EINVAL;
        r = start(json, len, id, engine, &o, &c);
        if (r < 0)
                return r;

        json_object *annotations = engine_json_get(o, "annotations");
        RuntimeSpecKind kind = RUNTIME_SPEC_PLAIN;
        const char *manager = engine_json_get_string(annotations, "io.container.manager");
        if (manager && strcmp(manager, "libpod") == 0)
                kind = RUNTIME_SPEC_FOREIGN;
        else if (has_cri_annotation(annotations)) {
                kind = RUNTIME_SPEC_CRI;
                r = fill_from_annotations(&c, &annotations, 1);
        }
        if (r >= 0)
                r = fill_label(
                        &c, engine_json_get_string(engine_json_get(o, "process"), "selinuxLabel"),
                        engine_json_get_string(engine_json_get(o, "linux"), "mountLabel"));
        json_object_put(o);
        if (r < 0)
                return r;
        *ret = c;
        c = (ContainerInfo){};
        return kind;
}

int runtime_crio_inspect_parse(const char *json, size_t len, const char *id, ContainerInfo *ret) {
        _cleanup_(container_info_done) ContainerInfo c = {};
        json_object *o = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = start(json, len, id, "cri-o", &o, &c);
        if (r < 0)
                return r;
        /* The kubelet's labels are in "labels", CRI-O's own keys in "crio_annotations" (and the
         * kubelet's annotations in "annotations"). */
        json_object *maps[] = {engine_json_get(o, "labels"), engine_json_get(o, "crio_annotations"),
                               engine_json_get(o, "annotations")};
        bool cri = false;
        for (size_t i = 0; i < ELEMENTSOF(maps); i++)
                cri = cri || has_cri_annotation(maps[i]);
        if (!cri) {
                json_object_put(o);
                return -EBADMSG;
        }
        r = fill_from_annotations(&c, maps, ELEMENTSOF(maps));
        if (r >= 0 && !c.image) {
                const char *image = engine_json_get_string(o, "image");
                if (image && !(c.image = strdup(image)))
                        r = -ENOMEM;
        }
        if (r >= 0 && !c.sandbox_id) {
                const char *sandbox = engine_json_get_string(o, "sandbox");
                if (sandbox && !(c.sandbox_id = strdup(sandbox)))
                        r = -ENOMEM;
        }
        json_object *created = engine_json_get(o, "created_time");
        if (c.created_ms == 0 && created && json_object_is_type(created, json_type_int)) {
                int64_t ns = json_object_get_int64(created);
                if (ns > 0)
                        c.created_ms = ns / 1000000;
        }
        json_object_put(o);
        if (r < 0)
                return r;
        *ret = c;
        c = (ContainerInfo){};
        return RUNTIME_SPEC_CRI;
}

int runtime_crio_info_parse(const char *json, size_t len, char **ret_storage_root) {
        if (!ret_storage_root)
                return -EINVAL;
        if (len > RUNTIME_SPEC_SIZE_MAX)
                return -EFBIG;
        json_object *o = parse(json, len);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        const char *root = engine_json_get_string(o, "storage_root");
        char *copy = NULL;
        if (root && root[0] == '/' && !(copy = strdup(root))) {
                json_object_put(o);
                return -ENOMEM;
        }
        json_object_put(o);
        *ret_storage_root = copy;
        return 0;
}
