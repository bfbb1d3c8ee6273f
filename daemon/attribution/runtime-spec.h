/* SPDX-License-Identifier: MIT */
#pragma once

/* The OCI bundle config.json a CRI runtime writes for each container (and CRI-O's HTTP inspect
 * reply) mapped to what the registry keeps: pod, namespace, pod uid, container name, image,
 * sandbox id and whether the container is the pod's sandbox, its label and categories. Pure:
 * bytes in, a ContainerInfo out; the files are found and read by runtime-state.c.
 *
 * Where the runtimes write what (read from their source, docs/kubernetes.md cites the files):
 *   containerd  <state>/io.containerd.runtime.v2.task/<namespace>/<id>/config.json
 *               annotations io.kubernetes.cri.{sandbox-name,sandbox-namespace,sandbox-uid,
 *               sandbox-id,container-name,container-type,image-name,podsandbox.image-name}
 *   CRI-O       <runroot>/overlay-containers/<id>/userdata/config.json
 *               annotations io.kubernetes.pod.{name,namespace,uid}, io.kubernetes.container.name
 *               (the kubelet's labels, which CRI-O also writes as annotations),
 *               io.kubernetes.cri-o.{ContainerType,SandboxID,Image,ImageName,ImageRef,Created,
 *               Namespace}
 *   both        process.selinuxLabel (the process label), linux.mountLabel (the same categories)
 *
 * Everything in these documents is the tenant's (pod and container names, images, labels,
 * annotations): strings over CONTAINER_STRING_MAX, of the wrong JSON type, with a NUL or not
 * UTF-8 are unknown, never cut; a document over RUNTIME_SPEC_SIZE_MAX is not parsed at all. */

#include <stddef.h>

#include "container.h"

/* A real config.json is a few KiB (tens with many mounts or environment variables); the
 * annotations a pod can set are limited to 256 KiB by the API server. 4 MiB leaves room for
 * both and bounds what a hostile one costs. */
#define RUNTIME_SPEC_SIZE_MAX (4 * 1024 * 1024)
#define RUNTIME_SPEC_DEPTH_MAX 32 /* JSON nesting accepted (an OCI spec needs about 6) */

typedef enum RuntimeSpecKind {
        RUNTIME_SPEC_CRI,     /* a CRI container or sandbox: pod metadata filled */
        RUNTIME_SPEC_PLAIN,   /* no CRI annotations: a containerd client's own (Docker's moby) */
        RUNTIME_SPEC_FOREIGN, /* another manager's (io.container.manager=libpod: Podman) */
} RuntimeSpecKind;

/* Parses a config.json of container id (the name of its directory; the document carries none)
 * recorded with engine ("containerd", "cri-o"). Fills ret (id, engine, and what the annotations,
 * process.selinuxLabel and linux.mountLabel say; created_ms from CRI-O's Created annotation) and
 * returns its RuntimeSpecKind; -EFBIG when len > RUNTIME_SPEC_SIZE_MAX, -EBADMSG when the text is
 * not a JSON object, -EINVAL for an invalid id, -ENOMEM. */
int runtime_spec_parse(const char *json, size_t len, const char *id, const char *engine,
                       ContainerInfo *ret);

/* CRI-O's GET /containers/{id} reply (its pkg/types ContainerInfo: name, image, image_ref,
 * created_time in ns, labels, annotations, crio_annotations, sandbox): the same fields, from the
 * same annotations. Returns RUNTIME_SPEC_CRI or an error as above. */
int runtime_crio_inspect_parse(const char *json, size_t len, const char *id, ContainerInfo *ret);

/* CRI-O's GET /info reply: its storage_root (malloc'd; NULL when absent). -EBADMSG, -ENOMEM. */
int runtime_crio_info_parse(const char *json, size_t len, char **ret_storage_root);
