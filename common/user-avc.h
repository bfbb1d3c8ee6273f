/* SPDX-License-Identifier: MIT */
#pragma once

/* The text of an AUDIT_USER_AVC message as a denial injector sends it: the kernel stamps it,
 * wraps it as `pid=.. uid=.. auid=.. ses=.. subj=.. msg='TEXT'` and multicasts it to every
 * audit reader (also with audit disabled). Used by avcwatch-inject and `avcctl selftest`.
 * Pure: the caller sends the text (audit_send(fd, AUDIT_USER_AVC, text, len + 1)). */

#include <stddef.h>
#include <stdint.h>

typedef struct UserAvcSpec {
        const char *permissions; /* space separated, e.g. "read write" */
        int64_t pid;             /* < 0: omitted */
        const char *comm;        /* NULL: omitted */
        const char *name;
        const char *path;
        const char *scontext, *tcontext, *tclass;
        int permissive; /* < 0: omitted */
} UserAvcSpec;

/* Writes "avc:  denied  { PERMS } for  pid=.. comm=.. name=.. path=.. scontext=.. tcontext=..
 * tclass=.. permissive=.." into buf. comm/name/path are written like the kernel's
 * audit_log_untrustedstring(): "quoted" when plain printable ASCII without '"' or space, else
 * upper-case hex. Returns the length, -EINVAL for a missing context/tclass/permission or a
 * context with characters a context cannot hold, -ENOBUFS when buf is too small. */
int user_avc_format(const UserAvcSpec *s, char *buf, size_t n);

#define USER_AVC_TEXT_MAX 8192 /* the kernel caps audit messages near MAX_AUDIT_MESSAGE_LENGTH */
