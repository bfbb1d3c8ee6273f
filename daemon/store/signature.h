/* SPDX-License-Identifier: MIT */
#pragma once

/* What a denial is, apart from the instance that hit it: its signature (the same for every
 * container, process, serial and time), and the baseline it belongs to (the image, else the
 * namespace, else the container; docs/fleet.md "New denials"). Pure functions: the journal's
 * AVCWATCH_SIGNATURE= and the store's baseline (store-baseline.c) use the same text. */

#include <stddef.h>

#include "denial.h"

/* "denied container_t etc_t:file { read write }": result, source type, target type, class
 * ("?" when unknown) and the permissions sorted and each once, so that the order the kernel
 * printed them in does not split a signature. Returns its length, 0 when the denial has no
 * result, source or target type (no signature), -ENOBUFS when n is too small. */
#define SIGNATURE_MAX 2048
int denial_signature(const Denial *d, char *buf, size_t n);

/* Whose baseline a denial's signature is judged against. */
typedef enum BaselineScope {
        BASELINE_IMAGE,     /* the image repository: tag and digest left out */
        BASELINE_NAMESPACE, /* no image known: the pod's namespace */
        BASELINE_CONTAINER, /* neither: the container's name (else its id) */
        BASELINE_NONE,      /* unattributed or ambiguous: one baseline for all of those */
        _BASELINE_SCOPE_MAX,
} BaselineScope;

const char *baseline_scope_to_string(BaselineScope s); /* "image", "namespace", ... */
int baseline_scope_from_string(const char *s);         /* -EINVAL when unknown */

/* The key of an image's baseline: image_ref_key()'s spelling without tag and digest, so that
 * nginx, docker.io/library/nginx:1.25 and localhost/nginx@sha256:.. share one baseline and a new
 * version reports only what it does differently. An image id is kept whole. Returns the length,
 * -ENOBUFS when n is too small, -EINVAL for NULL or "". */
int baseline_image_key(const char *image, char *buf, size_t n);

/* The scope and key (into buf, "" for BASELINE_NONE) of d's baseline. */
#define BASELINE_KEY_MAX 512
BaselineScope denial_baseline_key(const Denial *d, char *buf, size_t n);
