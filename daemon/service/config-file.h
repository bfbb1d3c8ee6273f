/* SPDX-License-Identifier: MIT */
#pragma once

/* The configuration file of the running daemon: read at start-up and on SIGHUP (config.h is the
 * pure parser), with the settings given on the command line laid over it each time, and what a
 * reload may change told apart from what needs a restart. */

#include <stdbool.h>

#include "config.h"
#include "macro.h"

/* Settings given on the command line: they win over the file, also after a reload. NULL: not
 * given. */
typedef struct ConfigOverrides {
        const char *database;
        const char *socket;
        const char *input;
} ConfigOverrides;

/* Reads the configuration file at path on top of the defaults, then applies overrides (may be
 * NULL). A missing file gives the defaults unless required (a file named on the command line):
 * then it is an error (-ENOENT, logged). Logs every error of an invalid file, each with its line,
 * and returns -EINVAL. Returns 1 when the file was read, 0 when it was absent. */
int config_load(const char *path, bool required, const ConfigOverrides *overrides, Config *ret);

typedef struct ConfigFile ConfigFile;

/* Remembers path (may be NULL: no reload), whether it is required (config_load()) and a copy of
 * overrides (may be NULL). */
int config_file_new(const char *path, bool required, const ConfigOverrides *overrides,
                    ConfigFile **ret);
ConfigFile *config_file_free(ConfigFile *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConfigFile *, config_file_free);
const char *config_file_path(const ConfigFile *f);

/* What a reload changed that the caller has to act on. */
typedef struct ConfigChanges {
        bool retention;       /* MaxAge= / MaxSize=: already in the running configuration */
        bool journal_forward; /* ForwardDenials= differs: the caller applies it, then sets it */
        bool journal_forward_to;
        bool triage_policy; /* [Triage] Policy=: already in the running configuration */
} ConfigChanges;

/* Reads the file again. What can change at run time goes into *running: the scope filter and
 * retention and [Triage] Policy= (journal forwarding is left to the caller, which may fail to apply
 * it). Every setting that needs a restart and changed is named in the log rather than silently
 * ignored (docs/configuration.md). Returns < 0 (logged) when the file cannot be used: *running is
 * then untouched. */
int config_file_reload(const ConfigFile *f, Config *running, ConfigChanges *ret);
