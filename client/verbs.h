/* SPDX-License-Identifier: MIT */
#pragma once

/* avcctl's verbs and what they share: the global options (accepted before and after the verb),
 * exit statuses, connecting, and reporting errors the same way everywhere. One file per verb. */

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "output.h"
#include "varlink-client.h"

/* Exit statuses (DESIGN "Contracts"; also in --help). */
#define AVCCTL_EXIT_SUCCESS 0
#define AVCCTL_EXIT_FAILURE 1 /* usage error, invalid parameter, selftest failed, output error */
#define AVCCTL_EXIT_DAEMON                                                                         \
        2 /* daemon unreachable, connection lost, access denied, daemon error                      \
           */

#define AVCCTL_SOCKET_ENV "AVCWATCH_SOCKET"
#define AVCCTL_ACCESS_GROUP "avcwatch"

typedef struct ClientContext {
        const char *socket_path;
        OutputMode output;
        OutputStyle style;
} ClientContext;

enum {
        ARG_GLOBAL_SOCKET = 0x100, /* verb option values start at 0x300, filters at 0x200 */
        ARG_GLOBAL_VERSION,
        ARG_GLOBAL_UTC,
        ARG_GLOBAL_NO_LEGEND,
        ARG_GLOBAL_NO_COLOR,
};

#define GLOBAL_SHORT_OPTIONS "ho:"
#define GLOBAL_OPTIONS                                                                             \
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, ARG_GLOBAL_VERSION},      \
                {"socket", required_argument, NULL, ARG_GLOBAL_SOCKET},                            \
                {"output", required_argument, NULL, 'o'},                                          \
                {"utc", no_argument, NULL, ARG_GLOBAL_UTC},                                        \
                {"no-legend", no_argument, NULL, ARG_GLOBAL_NO_LEGEND}, {                          \
                "no-color", no_argument, NULL, ARG_GLOBAL_NO_COLOR                                 \
        }

/* Handles one global option. 0: handled, go on; 1: --help/--version printed, exit 0; -EINVAL:
 * bad value (message printed); -ENOENT: c is not a global option. */
int global_option_parse(int c, const char *arg, ClientContext *ctx);

/* A verb's own option: 0 applied, -EINVAL bad value (message printed), -ENOENT not its option. */
typedef int (*VerbOptionFunc)(int c, const char *arg, void *userdata);

/* Parses argv (argv[0] names the verb, "avcctl query") with the verb's options (terminated by a
 * zero entry) and the global ones. Returns 0 to run the verb, 1 when --help/--version was handled
 * (exit 0), -EINVAL on a usage error (message printed). Positional arguments are usage errors. */
int verb_parse_options(int argc, char *argv[], const struct option *options,
                       const char *short_options, VerbOptionFunc handler, void *userdata,
                       ClientContext *ctx);

/* The same, for a verb that takes positional arguments: *ret_first_arg is the index in argv of
 * the first one (argc when there are none); getopt has moved them behind the options. */
int verb_parse_options_args(int argc, char *argv[], const struct option *options,
                            const char *short_options, VerbOptionFunc handler, void *userdata,
                            ClientContext *ctx, int *ret_first_arg);

/* output_init() on stdout in the user's mode and style. */
void client_output_init(Output *o, const ClientContext *ctx);

/* Connects to the daemon. Returns AVCCTL_EXIT_SUCCESS, or prints why not and returns
 * AVCCTL_EXIT_DAEMON. */
int client_connect(const ClientContext *ctx, VarlinkClient **ret);
/* Connects, calls method with params (consumed; NULL: out of memory, said) and finds its reply's
 * member key of type into *ret (owned by reply; key NULL: none is looked for, the caller reads
 * reply->parameters itself): AVCCTL_EXIT_SUCCESS, or the exit status of what went wrong, said. */
int client_call(const ClientContext *ctx, const char *method, json_object *params,
                VarlinkReply *reply, const char *key, json_type type, json_object **ret);
/* Reports a failed send/read (negative errno) and returns the exit status for it. */
int client_io_failed(int r);
/* Reports a Varlink error reply and returns the exit status for it: InvalidParameter is the
 * user's mistake (1), everything else is the daemon's side (2). */
int client_reply_failed(const VarlinkReply *reply);
/* Flushes stdout; a write error (full disk, closed pipe with SIGPIPE ignored) is reported and
 * gives AVCCTL_EXIT_FAILURE. */
int client_flush_stdout(void);

/* Pages through io.avcwatch.Query: calls page_func for each denial until `limit` denials (when
 * has_limit) or the end. filter is borrowed. page_func returns 0 to go on, > 0 to stop (success),
 * < 0 on error. Returns an exit status (errors printed). */
typedef int (*QueryDenialFunc)(json_object *denial, void *userdata);
int query_run(VarlinkClient *c, json_object *filter, bool reverse, bool has_limit, uint64_t limit,
              QueryDenialFunc func, void *userdata);
/* The same, with the rows that can be printed as they were sent (json-scan.h) handed to
 * text_func as their JSON text instead: no tree is built for them. without_raw: the rows come
 * without their raw text (Query's raw: false), for output that does not print it. keys (at most
 * QUERY_PAGE_KEYS_MAX): top-level keys whose values are found while the page is scanned, handed
 * to text_func as values (where each begins, NULL when the row has none; NULL without keys). */
typedef int (*QueryDenialTextFunc)(const char *denial, size_t len, const char *const *values,
                                   void *userdata);
int query_run_text(VarlinkClient *c, json_object *filter, bool reverse, bool without_raw,
                   bool has_limit, uint64_t limit, QueryDenialFunc func,
                   QueryDenialTextFunc text_func, const char *const *keys, size_t n_keys,
                   void *userdata);

/* Seconds east of UTC of the local clock at at_ms (0 with utc): the Histogram offset that
 * aligns bins with the times short output shows. */
int64_t query_histogram_offset(int64_t at_ms, bool utc);

int verb_query(int argc, char *argv[], ClientContext *ctx);
int verb_tail(int argc, char *argv[], ClientContext *ctx);
int verb_top(int argc, char *argv[], ClientContext *ctx);
int verb_baseline(int argc, char *argv[], ClientContext *ctx);
/* The baseline's entries (of image, or all; only the new ones when new_only) as a table: avcctl
 * baseline list, and avcctl top --new without --since. Returns the exit status. */
int baseline_list(ClientContext *ctx, const char *image, bool new_only, int64_t limit);
int verb_import(int argc, char *argv[], ClientContext *ctx);
int verb_stats(int argc, char *argv[], ClientContext *ctx);
int verb_containers(int argc, char *argv[], ClientContext *ctx);
int verb_selftest(int argc, char *argv[], ClientContext *ctx);
int verb_explain(int argc, char *argv[], ClientContext *ctx);

/* avcctl __complete container|image|pod|namespace (hidden, for the shell completion): the known
 * names, one per line; nothing and 0 when the daemon cannot be asked. */
int verb_complete(int argc, char *argv[], ClientContext *ctx);
/* Whether the completion may offer s: one plain shell word of printable ASCII. */
bool complete_name_is_offered(const char *s);
