/* SPDX-License-Identifier: MIT */
/* avcctl import FILE...: old audit logs into the store, for an investigation.
 *
 * The client reads each file with its own rights (plain or gzip-compressed, through zlib: a
 * rotated audit.log.3.gz is read as text; '-' is stdin) and streams its bytes to the daemon with
 * io.avcwatch.Import, base64 in chunks that fit the daemon's request bound. The daemon never opens
 * a path a client names, so being in the access group does not let anyone make the root daemon
 * read /etc/shadow; and Import itself is for root only, since what it stores becomes evidence.
 * Records the store holds already are skipped by the daemon, so importing a file twice, or
 * overlapping rotations, adds nothing.
 *
 * --journal reads the audit records journald keeps (journal-audit.c, with the caller's rights,
 * --directory as journalctl's -D) and sends them as the audit.log lines they were, over the same
 * Import call: the same parser and the same dedup as a file (a record stored live or from
 * audit.log is recognised by its time and serial). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "journal-audit.h"
#include "strutil.h"
#include "timeparse.h"
#include "verbs.h"

/* Bytes of the file per call: 4/3 of it in base64 plus the call stays far below the daemon's 64
 * KiB request bound (io.avcwatch.varlink). */
#define IMPORT_CHUNK (36 * 1024)
#define IMPORT_PROGRESS_USEC (2 * 1000 * 1000) /* progress on a terminal's stderr this often */

static int json_add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int64_t count_of(json_object *counts, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(counts, key, &v) || !json_object_is_type(v, json_type_int))
                return 0;
        return json_object_get_int64(v);
}

/* One Import call; *ret_counts (owned by the caller) on success. Returns an exit status. */
static int import_call(VarlinkClient *c, const void *data, size_t len, bool final,
                       json_object **ret_counts) {
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        _cleanup_(freep) char *encoded = NULL;
        json_object *params = json_object_new_object();
        int r;

        if (len > 0 && !(encoded = base64_encode(data, len))) {
                json_object_put(params);
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (!params || (encoded && json_add(params, "data", json_object_new_string(encoded)) < 0) ||
            (final && json_add(params, "final", json_object_new_boolean(true)) < 0)) {
                json_object_put(params);
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        r = varlink_client_call(c, "io.avcwatch.Import", params, &reply);
        json_object_put(params);
        if (r < 0)
                return client_io_failed(r);
        if (reply.error)
                return client_reply_failed(&reply);
        if (!json_object_is_type(reply.parameters, json_type_object))
                return client_io_failed(-EBADMSG);
        *ret_counts = json_object_get(reply.parameters);
        return AVCCTL_EXIT_SUCCESS;
}

static void print_counts(const ClientContext *ctx, const char *name, json_object *counts) {
        if (ctx->output == OUTPUT_JSON) {
                json_object *o = json_object_new_object();
                if (!o || json_add(o, "file", json_object_new_string(name)) < 0) {
                        json_object_put(o);
                        return;
                }
                json_object_object_foreach (counts, key, value)
                        (void) json_add(o, key, json_object_get(value));
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
                return;
        }
        fputs_terminal_safe(name, stdout);
        printf(": %" PRId64 " records", count_of(counts, "records"));
        if (count_of(counts, "malformed") > 0)
                printf(" (%" PRId64 " malformed)", count_of(counts, "malformed"));
        printf(", %" PRId64 " denials stored, %" PRId64 " already held, %" PRId64
               " not from containers",
               count_of(counts, "stored"), count_of(counts, "duplicates"),
               count_of(counts, "filtered"));
        if (count_of(counts, "expired") > 0)
                printf(", %" PRId64 " older than the retention", count_of(counts, "expired"));
        if (count_of(counts, "lost") > 0)
                printf(", %" PRId64 " LOST", count_of(counts, "lost"));
        if (count_of(counts, "unstamped") > 0)
                printf(", %" PRId64 " without an audit stamp (not stored)",
                       count_of(counts, "unstamped"));
        putchar('\n');
}

/* Imports one file on connection c. Returns an exit status. */
static int import_file(VarlinkClient *c, const ClientContext *ctx, const char *name,
                       bool *ret_losses) {
        _cleanup_(freep) char *buf = malloc(IMPORT_CHUNK);
        json_object *counts = NULL;
        uint64_t sent = 0, last_progress = now_monotonic_usec();
        bool progress = isatty(STDERR_FILENO) > 0;
        bool is_stdin = strcmp(name, "-") == 0;
        gzFile gz;
        int fd, status;

        if (!buf) {
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        fd = is_stdin ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
                      : open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                fprintf(stderr, "avcctl import: cannot open '");
                fputs_terminal_safe(name, stderr);
                fprintf(stderr, "': %m\n");
                return AVCCTL_EXIT_FAILURE;
        }
        gz = gzdopen(fd, "rb"); /* plain files are read as they are */
        if (!gz) {
                close(fd);
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }

        status = AVCCTL_EXIT_SUCCESS;
        for (;;) {
                int n = gzread(gz, buf, IMPORT_CHUNK);
                if (n < 0) {
                        int e;
                        const char *why = gzerror(gz, &e);
                        fprintf(stderr, "avcctl import: cannot read '");
                        fputs_terminal_safe(name, stderr);
                        fprintf(stderr, "': %s; what was read before is imported\n",
                                e == Z_ERRNO ? strerror(errno) : why);
                        status = AVCCTL_EXIT_FAILURE;
                        break;
                }
                if (n == 0) {
                        /* zlib hands back what it could inflate and then ends as at a clean
                         * end, also when the file stops in the middle of a gzip stream (a
                         * copy cut short, a disk that filled): that is not the whole log. */
                        int e;
                        (void) gzerror(gz, &e);
                        if (e == Z_BUF_ERROR) {
                                fprintf(stderr, "avcctl import: cannot read '");
                                fputs_terminal_safe(name, stderr);
                                fprintf(stderr, "': the compressed data ends in the middle "
                                                "(truncated?); what was read before is "
                                                "imported\n");
                                status = AVCCTL_EXIT_FAILURE;
                        }
                        break;
                }
                json_object_put(counts);
                counts = NULL;
                int k = import_call(c, buf, (size_t) n, false, &counts);
                if (k != AVCCTL_EXIT_SUCCESS) {
                        (void) gzclose(gz);
                        return k;
                }
                sent += (uint64_t) n;
                if (progress && now_monotonic_usec() - last_progress >= IMPORT_PROGRESS_USEC) {
                        fprintf(stderr, "\r%" PRIu64 " MiB read, %" PRId64 " denials stored ...",
                                sent >> 20, count_of(counts, "stored"));
                        last_progress = now_monotonic_usec();
                }
        }
        (void) gzclose(gz);
        json_object_put(counts);
        counts = NULL;
        int k = import_call(c, NULL, 0, true, &counts);
        if (progress && sent >= IMPORT_CHUNK)
                fputs("\r\033[K", stderr);
        if (k != AVCCTL_EXIT_SUCCESS)
                return k;
        print_counts(ctx, name, counts);
        if (count_of(counts, "lost") > 0 || count_of(counts, "store_errors") > 0)
                *ret_losses = true;
        if (count_of(counts, "records") == count_of(counts, "malformed")) {
                /* README.md, a binary, an empty file: "0 denials stored" alone would read as
                 * a log with no container denials in it. */
                fprintf(stderr, "avcctl import: '");
                fputs_terminal_safe(name, stderr);
                if (count_of(counts, "records") == 0)
                        fprintf(stderr, "' is empty: 0 audit records found\n");
                else
                        fprintf(stderr,
                                "': 0 audit records found (%" PRId64 " lines in no audit log "
                                "form: audit.log, ausearch --raw, dmesg or syslog lines)\n",
                                count_of(counts, "records"));
                status = AVCCTL_EXIT_FAILURE;
        }
        json_object_put(counts);
        return status;
}

/* --journal: the journal's lines go out in chunks of whole lines, as a file's bytes would. */
typedef struct JournalImport {
        VarlinkClient *c;
        char *buf;
        size_t used;
        json_object *counts;
        int status;
} JournalImport;

static int journal_send(JournalImport *ji, bool final) {
        json_object_put(ji->counts);
        ji->counts = NULL;
        ji->status = import_call(ji->c, ji->buf, ji->used, final, &ji->counts);
        ji->used = 0;
        return ji->status == AVCCTL_EXIT_SUCCESS ? 0 : -EIO;
}

static int journal_line(const char *line, size_t len, void *userdata) {
        JournalImport *ji = userdata;
        int r;

        if (ji->used + len > IMPORT_CHUNK) {
                r = journal_send(ji, false);
                if (r < 0)
                        return r;
        }
        if (len > IMPORT_CHUNK) {
                /* longer than a chunk (a record is at most 64 KiB): sent alone, in pieces */
                for (size_t o = 0; o < len; o += IMPORT_CHUNK) {
                        ji->used = MIN(IMPORT_CHUNK, len - o);
                        memcpy(ji->buf, line + o, ji->used);
                        r = journal_send(ji, false);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        memcpy(ji->buf + ji->used, line, len);
        ji->used += len;
        return 0;
}

static int import_journal(VarlinkClient *c, const ClientContext *ctx,
                          const JournalAuditRange *range, bool *ret_losses) {
        _cleanup_(freep) char *buf = malloc(IMPORT_CHUNK);
        JournalImport ji = {.c = c, .buf = buf, .status = AVCCTL_EXIT_SUCCESS};
        _cleanup_(journal_audit_freep) JournalAudit *j = NULL;
        const char *name = range->directory ?: "journal";
        int r, status = AVCCTL_EXIT_SUCCESS;

        if (!buf) {
                fprintf(stderr, "avcctl: out of memory\n");
                return AVCCTL_EXIT_FAILURE;
        }
        r = journal_audit_open(range, &j);
        if (r >= 0)
                r = journal_audit_read(j, SIZE_MAX, journal_line, &ji);
        if (r < 0 && ji.status != AVCCTL_EXIT_SUCCESS) {
                json_object_put(ji.counts);
                return ji.status; /* the daemon said why */
        }
        if (r < 0) {
                fprintf(stderr, "avcctl import: cannot read the journal");
                if (range->directory) {
                        fprintf(stderr, " in '");
                        fputs_terminal_safe(range->directory, stderr);
                        fprintf(stderr, "'");
                }
                fprintf(stderr, ": %s; what was read before is imported\n", strerror(-r));
                status = AVCCTL_EXIT_FAILURE;
        }
        if (journal_send(&ji, true) < 0)
                return ji.status;
        print_counts(ctx, name, ji.counts);
        if (j && journal_audit_counts(j)->skipped > 0)
                fprintf(stderr,
                        "avcctl import: %" PRIu64 " audit entries of the journal without a "
                        "serial or time (_AUDIT_ID, _SOURCE_REALTIME_TIMESTAMP) not sent\n",
                        journal_audit_counts(j)->skipped);
        if (count_of(ji.counts, "lost") > 0 || count_of(ji.counts, "store_errors") > 0)
                *ret_losses = true;
        json_object_put(ji.counts);
        return status;
}

enum {
        ARG_JOURNAL = 0x300,
        ARG_DIRECTORY,
        ARG_SINCE,
        ARG_UNTIL,
};

typedef struct ImportArgs {
        bool journal;
        JournalAuditRange range;
} ImportArgs;

static int import_option(int c, const char *arg, void *userdata) {
        ImportArgs *a = userdata;
        int64_t *ms;

        switch (c) {
        case ARG_JOURNAL:
                a->journal = true;
                return 0;
        case ARG_DIRECTORY:
                a->range.directory = arg;
                return 0;
        case ARG_SINCE:
        case ARG_UNTIL:
                ms = c == ARG_SINCE ? &a->range.since_ms : &a->range.until_ms;
                if (parse_time_spec(arg, now_realtime_ms(), ms) < 0) {
                        fprintf(stderr, "avcctl import: cannot read the time '");
                        fputs_terminal_safe(arg, stderr);
                        fprintf(stderr, "'\n");
                        return -EINVAL;
                }
                if (c == ARG_SINCE)
                        a->range.has_since = true;
                else
                        a->range.has_until = true;
                return 0;
        default:
                return -ENOENT;
        }
}

int verb_import(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {
                {"journal", no_argument, NULL, ARG_JOURNAL},
                {"directory", required_argument, NULL, ARG_DIRECTORY},
                {"since", required_argument, NULL, ARG_SINCE},
                {"until", required_argument, NULL, ARG_UNTIL},
                {},
        };
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        ImportArgs args = {};
        bool losses = false;
        int first, r, status;

        r = verb_parse_options_args(argc, argv, options, "", import_option, &args, ctx, &first);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;
        if (!args.journal &&
            (args.range.directory || args.range.has_since || args.range.has_until)) {
                fprintf(stderr, "avcctl import: --directory, --since and --until are for "
                                "--journal\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (args.journal && first < argc) {
                fprintf(stderr, "avcctl import: --journal reads the journal, not files\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (args.range.has_since && args.range.has_until &&
            args.range.since_ms >= args.range.until_ms) {
                fprintf(stderr, "avcctl: --since must be before --until\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (!args.journal && first >= argc) {
                fprintf(stderr, "avcctl import: which files? (audit.log, audit.log.1, "
                                "audit.log.2.gz ..., - for stdin, or --journal)\n");
                return AVCCTL_EXIT_FAILURE;
        }
        if (ctx->output == OUTPUT_RAW) {
                fprintf(stderr, "avcctl import: -o raw is for query and tail\n");
                return AVCCTL_EXIT_FAILURE;
        }
        status = client_connect(ctx, &c);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;

        if (args.journal)
                status = import_journal(c, ctx, &args.range, &losses);
        for (int i = first; i < argc; i++) {
                int k = import_file(c, ctx, argv[i], &losses);
                if (k == AVCCTL_EXIT_DAEMON)
                        return k; /* the connection or the daemon failed: stop here */
                if (k != AVCCTL_EXIT_SUCCESS)
                        status = k;
                fflush(stdout);
        }
        if (status == AVCCTL_EXIT_DAEMON)
                return status;
        if (losses) {
                fprintf(stderr, "avcctl import: the store could not take everything; see "
                                "'avcctl stats'\n");
                status = AVCCTL_EXIT_DAEMON;
        }
        r = client_flush_stdout();
        return status != AVCCTL_EXIT_SUCCESS ? status : r;
}
