/* SPDX-License-Identifier: MIT */
#pragma once

/* The client end of a Varlink connection to avcwatchd: connect, send a call, read its replies
 * one message at a time (common/varlink.h does the framing). Every reply is size bounded and a
 * daemon that goes away is reported as -ECONNRESET, never as a crash or a hang. */

#include <json-c/json.h>
#include <stdbool.h>

#include "macro.h"

/* Longest reply accepted. A Query page holds at most 1000 denials of a few KiB each (raw text
 * included); 16 MiB leaves room for long raw events without letting a confused peer make us
 * allocate without limit. */
#define VARLINK_CLIENT_MESSAGE_MAX (16U * 1024U * 1024U)
/* How long a single call may take before we give up on the daemon. Queries over a large store are
 * bounded by the daemon but may still take seconds. */
#define VARLINK_CLIENT_CALL_TIMEOUT_MS (120 * 1000)

typedef struct VarlinkClient VarlinkClient;

/* One reply. message owns everything; parameters (never NULL: an empty object when the reply had
 * none) and error (NULL for a successful reply) point into it. */
typedef struct VarlinkReply {
        json_object *message;
        json_object *parameters;
        const char *error;
        bool continues;
} VarlinkReply;

void varlink_reply_done(VarlinkReply *r);

/* Connects to the AF_UNIX stream socket at path. -ENAMETOOLONG when path does not fit
 * sun_path, else connect()'s errno (-ENOENT, -ECONNREFUSED, -EACCES, ...). */
int varlink_client_connect(const char *path, VarlinkClient **ret);
VarlinkClient *varlink_client_free(VarlinkClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkClient *, varlink_client_free);

/* While waiting for a reply, also watch fd (a self-pipe written by a signal handler): when it
 * becomes readable the read returns -EINTR. -1 to stop watching. The fd is not owned. */
void varlink_client_set_interrupt_fd(VarlinkClient *c, int fd);

/* Sends {"method": method, "parameters": params, "more": true?}. params may be NULL (sent as
 * {}); it is not taken. -EPIPE/-ECONNRESET when the daemon has gone. */
int varlink_client_send(VarlinkClient *c, const char *method, json_object *params, bool more);

/* Reads the next reply, waiting at most timeout_ms (< 0: forever). -ETIMEDOUT, -EINTR (see
 * above), -ECONNRESET when the daemon closed the connection, -EMSGSIZE for an over-long reply,
 * -EBADMSG for a reply that is not a Varlink reply. After an error the client is unusable. */
int varlink_client_read(VarlinkClient *c, int timeout_ms, VarlinkReply *ret);

/* The same, the reply's text unparsed (NUL-terminated; *ret_len without the NUL), valid until the
 * next read: for a caller that scans the reply itself (Query pages passed through to the output,
 * json-scan.h). varlink_client_reply_parse() parses it as varlink_client_read() would have. */
int varlink_client_read_text(VarlinkClient *c, int timeout_ms, const char **ret, size_t *ret_len);
int varlink_client_reply_parse(VarlinkClient *c, const char *text, size_t len, VarlinkReply *ret);

/* send + read with VARLINK_CLIENT_CALL_TIMEOUT_MS. A Varlink error from the daemon is a
 * successful return with ret->error set. */
int varlink_client_call(VarlinkClient *c, const char *method, json_object *params,
                        VarlinkReply *ret);
