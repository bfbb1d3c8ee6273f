/* SPDX-License-Identifier: MIT */
#pragma once

/* Sources of audit records on the daemon's sd-event loop: the kernel's audit netlink multicast
 * stream, a file, or stdin. Each hands complete lines ("type=NAME msg=audit(...): body" for
 * netlink datagrams; lines as read for files) to the line callback, in bounded batches per loop
 * iteration so that queries keep being served during a flood. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "stats.h"

typedef struct Source Source;

#define SOURCE_BATCH_MAX 256                     /* records per wake-up before yielding */
#define SOURCE_NETLINK_RCVBUF (64 * 1024 * 1024) /* SO_RCVBUFFORCE; SO_RCVBUF fallback */
#define SOURCE_LINE_MAX (64 * 1024)              /* longer file lines are malformed */

/* line is not NUL terminated; it excludes the line terminator. Return negative errno to stop
 * the daemon (fatal), anything else to go on. */
typedef int (*source_line_cb)(const char *line, size_t len, void *userdata);
/* Called once when a file or stdin input reaches its end. */
typedef void (*source_eof_cb)(void *userdata);

/* stats: the source's own counters; losses (netlink only): where dropped records and missing
 * serials are counted. fd: an already bound audit netlink socket (socket activation), or -1 to
 * open and bind one.
 * Needs CAP_AUDIT_READ to bind. */
int source_new_netlink(sd_event *e, int fd, SourceStats *stats, LossLedger *losses,
                       source_line_cb cb, void *userdata, Source **ret);
/* path: a file, or "-" for stdin. Lines go to cb (with userdata), the end to eof (may be NULL;
 * with eof_userdata): the reader of the lines and the owner of the input's life need not be the
 * same object. */
int source_new_file(sd_event *e, const char *path, SourceStats *stats, source_line_cb cb,
                    void *userdata, source_eof_cb eof, void *eof_userdata, Source **ret);
/* An open file (read from its current offset); the source owns fd on success. */
int source_new_file_fd(sd_event *e, int fd, SourceStats *stats, source_line_cb cb, void *userdata,
                       source_eof_cb eof, void *eof_userdata, Source **ret);
Source *source_free(Source *s);
