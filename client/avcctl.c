/* SPDX-License-Identifier: MIT */
/* avcctl: the command line client of avcwatchd.
 *
 *   avcctl [--socket PATH] [-o short|json|raw] VERB [options]
 *
 * A verb table dispatches to one file per verb. Global options are accepted before and after the
 * verb ("avcctl query -o json --container web"): main() parses the ones before the verb with
 * getopt's "+" (stop at the verb), and each verb parses the rest with its own options plus the
 * global ones. Exit statuses are part of the contract (DESIGN "Contracts"): 0 success, 1 usage
 * error, 2 daemon not reachable or not usable; they are listed in --help. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"
#include "strutil.h"
#include "verbs.h"

/* Options of all verbs together stay far below this; it bounds the merged getopt table. */
#define OPTIONS_MAX 64

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[], ClientContext *ctx);
} Verb;

static const Verb verbs[] = {
        {"query", verb_query},       {"top", verb_top},           {"import", verb_import},
        {"tail", verb_tail},         {"stats", verb_stats},       {"containers", verb_containers},
        {"selftest", verb_selftest}, {"baseline", verb_baseline}, {"explain", verb_explain},
};

static void help(FILE *f) {
        fprintf(f,
                "avcctl [OPTIONS] VERB [VERB OPTIONS]\n"
                "\n"
                "Ask avcwatchd about the SELinux AVC denials of containers.\n"
                "\n"
                "Verbs:\n"
                "  query [FILTERS] [--reverse]    Show stored denials, oldest first\n"
                "  query --histogram INTERVAL [FILTERS]\n"
                "                                 Count them per INTERVAL (1h, 15min, 1d ...)\n"
                "  tail [-f] [-n N] [FILTERS]     Show the last N (10) denials; -f: follow live\n"
                "                                 (long forms: --follow, --lines N)\n"
                "  top [--by signature|container|image|tclass|verdict|reason|pod|namespace]\n"
                "      [--new] [FILTERS]          The most frequent signatures (or containers,\n"
                "                                 images, classes, triage verdicts or\n"
                "                                 reasons, pods, namespaces), first and last\n"
                "                                 seen; --new: only those first seen since\n"
                "                                 --since; without --since, the signatures new\n"
                "                                 to their image's baseline (not accepted)\n"
                "  baseline [list] [--image IMG] [--new] [--limit N]\n"
                "                                 The signatures each image has shown\n"
                "  baseline accept [--image IMG]  Accept the new ones as known (root)\n"
                "  explain SERIAL [FILTERS]       Why an event's denials happened, what they\n"
                "                                 mean, what to do (reason, booleans,\n"
                "                                 constraint, verdict, hint, container)\n"
                "  explain --last [FILTERS]       The same for the newest matching denial\n"
                "  import FILE...                 Add old audit logs to the store (root):\n"
                "                                 rotated or .gz, '-' for stdin; records\n"
                "                                 already held are skipped\n"
                "  import --journal [--directory DIR] [--since TIME] [--until TIME]\n"
                "                                 The same from the journal's audit records\n"
                "                                 (DIR as journalctl -D)\n"
                "  stats                          Show the daemon's counters and engines\n"
                "  containers [--pod POD] [--namespace NS] [--sandboxes]\n"
                "                                 Show every container known, also removed\n"
                "                                 ones: engine, image, pod, namespace, label,\n"
                "                                 lifetime, denials (pod sandboxes: --sandboxes)\n"
                "  selftest [--timeout SEC]       Send a test denial through the kernel and\n"
                "                                 check that the daemon stores it (5 s)\n"
                "\n"
                "Options (before or after the verb):\n"
                "  -h --help                      Show this help\n"
                "     --version                   Show the version\n"
                "     --socket PATH               The daemon's socket (default $%s,\n"
                "                                 else %s)\n"
                "  -o --output MODE               short (default), json (one object per line),\n"
                "                                 raw (the original audit records, for\n"
                "                                 audit2allow or udica)\n"
                "     --utc                       Show times in UTC (default: local time; both\n"
                "                                 with the zone)\n"
                "     --no-legend                 No header line above tables\n"
                "     --no-color                  No colour on a terminal (also: $NO_COLOR)\n"
                "\n"
                "Filters (query, tail, top; combinable; a repeated option or a comma list\n"
                "means any of, at most 16 values; --mcs, --comm, --path only repeat):\n"
                "     --container NAME|ID-PREFIX  also the ambiguous denials it may have caused\n"
                "     --target-container NAME|ID-PREFIX  denials that touched its files\n"
                "     --image IMAGE  --pod POD  --namespace NAMESPACE (Kubernetes)\n"
                "     --mcs CATEGORIES            e.g. c170,c393\n"
                "     --since TIME --until TIME   e.g. \"2024-04-20 10:54\", "
                "\"2024-04-20T08:54Z\",\n"
                "                                 \"@1713603292\", \"1 hour ago\", \"-30min\", "
                "today\n"
                "     --type SOURCE_TYPE[*]  --target-type TYPE[*]  --tclass CLASS\n"
                "     --perm PERMISSION  --comm COMM\n"
                "     --path PATH[*]              path or name; a trailing * matches a prefix\n"
                "     --not-type T  --not-target-type T  --not-tclass C  --not-perm P\n"
                "     --not-comm C                none of these\n"
                "     --reason R  --verdict V     triage: te, boolean, constraint, rbac, bounds,\n"
                "                                 allowed, unknown / escape, isolation, volume,\n"
                "                                 boolean, policy; none: untriaged\n"
                "     --not-reason R  --not-verdict V  none of these\n"
                "     --limit N                   Stop after N denials (top: N rows, default 20)\n"
                "     --include-selftest          Also the denials of avcctl selftest (left out\n"
                "                                 by default)\n"
                "\n"
                "Exit status:\n"
                "  0  success (also when tail -f is ended by SIGINT or SIGTERM)\n"
                "  1  usage error (unknown verb or option, bad value or time), a parameter the\n"
                "     daemon rejected, a container, image or pod it has never seen, a question too "
                "expensive to answer (narrow it), a failed\n"
                "     selftest, or an output write error\n"
                "  2  the daemon cannot be reached or used: no socket, connection refused or\n"
                "     lost, access denied (root or group %s needed), or an error on its side\n",
                AVCCTL_SOCKET_ENV, AVCWATCH_DEFAULT_SOCKET, AVCCTL_ACCESS_GROUP);
}

int global_option_parse(int c, const char *arg, ClientContext *ctx) {
        int m;

        switch (c) {
        case 'h':
                help(stdout);
                return 1;
        case ARG_GLOBAL_VERSION:
                printf("avcctl " AVCWATCH_VERSION "\n");
                return 1;
        case ARG_GLOBAL_SOCKET:
                if (!*arg) {
                        fprintf(stderr, "avcctl: --socket needs a path\n");
                        return -EINVAL;
                }
                ctx->socket_path = arg;
                return 0;
        case ARG_GLOBAL_UTC:
                ctx->style.utc = true;
                return 0;
        case ARG_GLOBAL_NO_LEGEND:
                ctx->style.no_legend = true;
                return 0;
        case ARG_GLOBAL_NO_COLOR:
                ctx->style.no_color = true;
                return 0;
        case 'o':
                m = output_mode_from_string(arg);
                if (m < 0) {
                        fprintf(stderr, "avcctl: unknown output mode '");
                        fputs_terminal_safe(arg, stderr);
                        fprintf(stderr, "', expected short, json or raw\n");
                        return -EINVAL;
                }
                ctx->output = (OutputMode) m;
                return 0;
        default:
                return -ENOENT;
        }
}

int verb_parse_options(int argc, char *argv[], const struct option *options,
                       const char *short_options, VerbOptionFunc handler, void *userdata,
                       ClientContext *ctx) {
        return verb_parse_options_args(argc, argv, options, short_options, handler, userdata, ctx,
                                       NULL);
}

int verb_parse_options_args(int argc, char *argv[], const struct option *options,
                            const char *short_options, VerbOptionFunc handler, void *userdata,
                            ClientContext *ctx, int *ret_first_arg) {
        static const struct option global_options[] = {GLOBAL_OPTIONS};
        struct option merged[OPTIONS_MAX + ELEMENTSOF(global_options) + 1] = {};
        char shorts[64];
        size_t n = 0;
        int c, r;

        for (; options && options[n].name; n++) {
                if (n >= OPTIONS_MAX)
                        return -E2BIG; /* a programming error, caught by any test */
                merged[n] = options[n];
        }
        for (size_t i = 0; i < ELEMENTSOF(global_options); i++)
                merged[n++] = global_options[i];
        snprintf(shorts, sizeof(shorts), "%s%s", GLOBAL_SHORT_OPTIONS,
                 short_options ? short_options : "");

        optind = 0; /* glibc: re-initialise, main() has used getopt already */
        while ((c = getopt_long(argc, argv, shorts, merged, NULL)) >= 0) {
                if (c == '?')
                        return -EINVAL; /* getopt printed why */
                r = global_option_parse(c, optarg, ctx);
                if (r != -ENOENT) {
                        if (r != 0)
                                return r;
                        continue;
                }
                r = handler ? handler(c, optarg, userdata) : -ENOENT;
                if (r == -ENOENT) {
                        fprintf(stderr, "avcctl: option not handled: %d\n", c);
                        return -EINVAL;
                }
                if (r < 0)
                        return -EINVAL;
        }
        if (ret_first_arg) {
                *ret_first_arg = optind;
                return 0;
        }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '", argv[0]);
                fputs_terminal_safe(argv[optind], stderr);
                fprintf(stderr, "'\n");
                return -EINVAL;
        }
        return 0;
}

void client_output_init(Output *o, const ClientContext *ctx) {
        output_init(o, ctx->output, stdout);
        output_set_style(o, &ctx->style);
}

int client_call(const ClientContext *ctx, const char *method, json_object *params,
                VarlinkReply *reply, const char *key, json_type type, json_object **ret) {
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        int r, status;

        if (!params) {
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        status = client_connect(ctx, &c);
        if (status != AVCCTL_EXIT_SUCCESS) {
                json_object_put(params);
                return status;
        }
        r = varlink_client_call(c, method, params, reply);
        json_object_put(params);
        if (r < 0)
                return client_io_failed(r);
        if (reply->error)
                return client_reply_failed(reply);
        if (!key)
                return AVCCTL_EXIT_SUCCESS;
        if (!json_object_object_get_ex(reply->parameters, key, ret) ||
            !json_object_is_type(*ret, type))
                return client_io_failed(-EBADMSG);
        return AVCCTL_EXIT_SUCCESS;
}

int client_connect(const ClientContext *ctx, VarlinkClient **ret) {
        struct stat st;
        int r;

        r = varlink_client_connect(ctx->socket_path, ret);
        if (r >= 0)
                return AVCCTL_EXIT_SUCCESS;

        fprintf(stderr, "avcctl: cannot connect to avcwatchd at '");
        fputs_terminal_safe(ctx->socket_path, stderr);
        /* connect() to a file that is not a socket says "Connection refused", as if a daemon
         * had been there: name what the path is instead. */
        if (r == -ECONNREFUSED && stat(ctx->socket_path, &st) >= 0 && !S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "': %s is not a socket (--socket or $%s name avcwatchd's socket)\n",
                        S_ISDIR(st.st_mode)   ? "it is a directory, which"
                        : S_ISREG(st.st_mode) ? "it is a regular file, which"
                                              : "this file",
                        AVCCTL_SOCKET_ENV);
                return AVCCTL_EXIT_DAEMON;
        }
        fprintf(stderr, "': %s", strerror(-r));
        if (r == -ENOENT || r == -ECONNREFUSED)
                fprintf(stderr, " (is avcwatchd running? --socket or $%s select another socket)",
                        AVCCTL_SOCKET_ENV);
        else if (r == -EACCES || r == -EPERM)
                fprintf(stderr, " (you need to be root or in group %s)", AVCCTL_ACCESS_GROUP);
        fputc('\n', stderr);
        return AVCCTL_EXIT_DAEMON;
}

int client_io_failed(int r) {
        switch (r) {
        case -ECONNRESET:
        case -EPIPE:
                fprintf(stderr, "avcctl: connection to avcwatchd lost\n");
                break;
        case -ETIMEDOUT:
                fprintf(stderr, "avcctl: avcwatchd did not answer within %d s\n",
                        VARLINK_CLIENT_CALL_TIMEOUT_MS / 1000);
                break;
        case -EMSGSIZE:
                fprintf(stderr, "avcctl: reply from avcwatchd longer than %u bytes\n",
                        VARLINK_CLIENT_MESSAGE_MAX);
                break;
        case -EBADMSG:
                fprintf(stderr, "avcctl: malformed reply from avcwatchd\n");
                break;
        default:
                fprintf(stderr, "avcctl: talking to avcwatchd failed: %s\n", strerror(-r));
                break;
        }
        return AVCCTL_EXIT_DAEMON;
}

static const char *reply_string(const VarlinkReply *reply, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(reply->parameters, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* "no container named 'wbe' is known; did you mean 'web'?" */
static void print_unknown_container(const VarlinkReply *reply) {
        const char *field = strna(reply_string(reply, "field"));
        json_object *closest = NULL;
        size_t n = 0;

        if (strcmp(field, "image") == 0)
                fprintf(stderr, "avcctl: no container of image '");
        else if (strcmp(field, "pod") == 0)
                fprintf(stderr, "avcctl: no pod named '");
        else if (strcmp(field, "namespace") == 0)
                fprintf(stderr, "avcctl: no namespace named '");
        else
                fprintf(stderr, "avcctl: no container named '");
        fputs_terminal_safe(strna(reply_string(reply, "value")), stderr);
        fprintf(stderr, "' is known");
        if (json_object_object_get_ex(reply->parameters, "closest", &closest) &&
            json_object_is_type(closest, json_type_array))
                n = json_object_array_length(closest);
        for (size_t i = 0, shown = 0; i < n && shown < 3; i++) {
                json_object *v = json_object_array_get_idx(closest, i);
                if (!json_object_is_type(v, json_type_string))
                        continue;
                fprintf(stderr, "%s'", shown == 0 ? "; did you mean " : " or ");
                fputs_terminal_safe(json_object_get_string(v), stderr);
                fputc('\'', stderr);
                shown++;
        }
        fprintf(stderr, n > 0 ? "?\n" : " (avcctl containers lists the known ones)\n");
}

int client_reply_failed(const VarlinkReply *reply) {
        const char *e = reply->error;
        json_object *v;

        if (strcmp(e, "io.avcwatch.AccessDenied") == 0) {
                fprintf(stderr,
                        "avcctl: access denied: you need to be root or in avcwatchd's access "
                        "group (AccessGroup=, by default %s)\n",
                        AVCCTL_ACCESS_GROUP);
                return AVCCTL_EXIT_DAEMON;
        }
        if (strcmp(e, "org.varlink.service.InvalidParameter") == 0) {
                fprintf(stderr, "avcctl: avcwatchd rejected the parameter '");
                fputs_terminal_safe(strna(reply_string(reply, "parameter")), stderr);
                fprintf(stderr, "'\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (strcmp(e, "io.avcwatch.ImportDenied") == 0) {
                fprintf(stderr, "avcctl import: only root may import audit logs\n");
                return AVCCTL_EXIT_DAEMON;
        }
        if (strcmp(e, "io.avcwatch.AcceptDenied") == 0) {
                fprintf(stderr, "avcctl baseline: only root may accept new signatures\n");
                return AVCCTL_EXIT_DAEMON;
        }
        if (strcmp(e, "io.avcwatch.TooManyImports") == 0) {
                fprintf(stderr, "avcctl import: avcwatchd is running too many imports already\n");
                return AVCCTL_EXIT_DAEMON;
        }
        if (strcmp(e, "io.avcwatch.UnknownContainer") == 0) {
                print_unknown_container(reply);
                return AVCCTL_EXIT_FAILURE;
        }
        if (strcmp(e, "io.avcwatch.QueryTooExpensive") == 0) {
                fprintf(stderr, "avcctl: ");
                fputs_terminal_safe(strna(reply_string(reply, "message")), stderr);
                fputc('\n', stderr);
                return AVCCTL_EXIT_FAILURE;
        }
        if (strcmp(e, "io.avcwatch.StoreError") == 0) {
                fprintf(stderr, "avcctl: avcwatchd's store failed: ");
                fputs_terminal_safe(strna(reply_string(reply, "message")), stderr);
                fputc('\n', stderr);
                return AVCCTL_EXIT_DAEMON;
        }
        if (strcmp(e, "io.avcwatch.TooManySubscribers") == 0) {
                fprintf(stderr, "avcctl: avcwatchd has too many live tails already");
                if (json_object_object_get_ex(reply->parameters, "max", &v) &&
                    json_object_is_type(v, json_type_int))
                        fprintf(stderr, " (max %" PRId64 ")", json_object_get_int64(v));
                fputc('\n', stderr);
                return AVCCTL_EXIT_DAEMON;
        }
        if (strcmp(e, "org.varlink.service.MethodNotFound") == 0 ||
            strcmp(e, "org.varlink.service.InterfaceNotFound") == 0) {
                fprintf(stderr,
                        "avcctl: avcwatchd does not know this call (version %s of avcctl "
                        "against an older daemon?)\n",
                        AVCWATCH_VERSION);
                return AVCCTL_EXIT_DAEMON;
        }
        fprintf(stderr, "avcctl: avcwatchd failed: ");
        fputs_terminal_safe(e, stderr);
        fputc(' ', stderr);
        fputs_terminal_safe(
                json_object_to_json_string_ext(reply->parameters, JSON_C_TO_STRING_PLAIN), stderr);
        fputc('\n', stderr);
        return AVCCTL_EXIT_DAEMON;
}

int client_flush_stdout(void) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "avcctl: cannot write output: %m\n");
                return AVCCTL_EXIT_FAILURE;
        }
        return AVCCTL_EXIT_SUCCESS;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {GLOBAL_OPTIONS, {}};
        const char *env = getenv(AVCCTL_SOCKET_ENV);
        ClientContext ctx = {
                .socket_path = env && *env ? env : AVCWATCH_DEFAULT_SOCKET,
                .output = OUTPUT_SHORT,
        };
        int c, r;

        /* Only the character type: display widths of names in tables (wcwidth()); messages and
         * numbers stay in the C locale. */
        (void) setlocale(LC_CTYPE, "");

        /* getopt names argv[0] in its messages: "avcctl: invalid option -- 'x'", not the path
         * avcctl was run from (as the verbs' "avcctl query: ..." below). */
        if (argc > 0)
                argv[0] = (char *) "avcctl";
        /* "+": stop at the verb; its own options come after it. */
        while ((c = getopt_long(argc, argv, "+" GLOBAL_SHORT_OPTIONS, options, NULL)) >= 0) {
                if (c == '?')
                        return AVCCTL_EXIT_FAILURE;
                r = global_option_parse(c, optarg, &ctx);
                if (r > 0)
                        return AVCCTL_EXIT_SUCCESS;
                if (r < 0)
                        return AVCCTL_EXIT_FAILURE;
        }

        if (optind >= argc) {
                fprintf(stderr, "avcctl: no verb given. See 'avcctl --help'.\n");
                return AVCCTL_EXIT_FAILURE;
        }
        /* the shell completion's helper, not a verb for people */
        if (strcmp(argv[optind], "__complete") == 0)
                return verb_complete(argc - optind, argv + optind, &ctx);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(argv[optind], verbs[i].name) == 0) {
                        /* getopt names argv[0] in its messages: "avcctl query: unrecognized
                         * option '--frob'" */
                        char verb_argv0[64];
                        snprintf(verb_argv0, sizeof(verb_argv0), "avcctl %s", verbs[i].name);
                        argv[optind] = verb_argv0;
                        return verbs[i].run(argc - optind, argv + optind, &ctx);
                }

        fprintf(stderr, "avcctl: unknown verb '");
        fputs_terminal_safe(argv[optind], stderr);
        fprintf(stderr, "'. See 'avcctl --help'.\n");
        return AVCCTL_EXIT_FAILURE;
}
