/* SPDX-License-Identifier: MIT */
/* avcwatchd: command line (DESIGN "Contracts"); the configuration file is read by
 * service/config-file.c, everything else is wired by manager.c. Options given on
 * the command line override the configuration file. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "manager.h"
#include "store.h"

static const char *arg_config = CONFIG_DEFAULT_PATH;
static bool arg_config_given = false; /* then the file must exist: only the default may be absent */
static const char *arg_database = NULL;
static const char *arg_socket = NULL;
static const char *arg_input = NULL;
static bool arg_check_config = false;
static bool arg_check_db = false; /* [Daemon] CheckDatabase=always for this start */

static void help(void) {
        printf("Usage: avcwatchd [OPTIONS]\n\n"
               "Watch the kernel's SELinux AVC denials, keep those of containers, name the\n"
               "container, store them in SQLite and serve them to avcctl over a Varlink socket.\n\n"
               "  -h --help              Show this help and exit\n"
               "     --version           Show the version and exit\n"
               "     --config FILE       Configuration file (default %s;\n"
               "                         only the default may be missing)\n"
               "     --db FILE           Database (default %s)\n"
               "     --socket PATH       API socket (default %s)\n"
               "     --input SOURCE      netlink (default), a file of audit lines, or - for stdin\n"
               "     --check-config      Validate the configuration and exit\n"
               "     --check-db          Check every page of the database before starting\n"
               "                         (CheckDatabase=always for this start)\n\n"
               "Signals: SIGTERM flushes and exits 0; SIGHUP reloads the configuration.\n"
               "See avcwatchd(8) and avcwatchd.conf(5).\n",
               CONFIG_DEFAULT_PATH, CONFIG_DEFAULT_DATABASE, CONFIG_DEFAULT_SOCKET);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CONFIG,
                ARG_DB,
                ARG_SOCKET,
                ARG_INPUT,
                ARG_CHECK,
                ARG_CHECK_DB
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"config", required_argument, NULL, ARG_CONFIG},
                {"db", required_argument, NULL, ARG_DB},
                {"socket", required_argument, NULL, ARG_SOCKET},
                {"input", required_argument, NULL, ARG_INPUT},
                {"check-config", no_argument, NULL, ARG_CHECK},
                {"check-db", no_argument, NULL, ARG_CHECK_DB},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("avcwatchd %s\n", AVCWATCH_VERSION);
                        return 0;
                case ARG_CONFIG:
                        arg_config = optarg;
                        arg_config_given = true;
                        break;
                case ARG_DB:
                        arg_database = optarg;
                        break;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_INPUT:
                        arg_input = optarg;
                        break;
                case ARG_CHECK:
                        arg_check_config = true;
                        break;
                case ARG_CHECK_DB:
                        arg_check_db = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "avcwatchd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config config;
        int r;

        /* The database and its WAL reveal host activity: no access for others. The API socket
         * gets its mode explicitly (0660, root:AccessGroup). */
        umask(0027);
        log_open();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 1 : 0;

        ConfigOverrides overrides = {arg_database, arg_socket, arg_input};
        r = config_load(arg_config, arg_config_given, &overrides, &config);
        if (r < 0)
                return 1;
        if (arg_check_db)
                config.check_database = STORE_CHECK_ALWAYS;
        if (arg_check_config) {
                /* what the daemon would run with, the command line's options included */
                printf("# %s: OK%s\n", arg_config, r == 0 ? " (absent: the defaults)" : "");
                config_dump(&config, stdout);
                config_done(&config);
                return 0;
        }

        r = manager_new(&config, arg_config, arg_config_given, &overrides, &m);
        if (r < 0)
                return 1;
        r = manager_run(m);
        return r < 0 ? 1 : 0;
}
