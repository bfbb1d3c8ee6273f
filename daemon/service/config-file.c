/* SPDX-License-Identifier: MIT */
/* The configuration file (config-file.h): reading it, the command line's overrides, and a
 * reload's differences from the running configuration.
 *
 * Direction: called by the manager (start-up, SIGHUP) and main (--check-config); calls only the
 * pure parser (config.c) and the log. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-file.h"
#include "log.h"

struct ConfigFile {
        char *path;
        bool required; /* named on the command line: it must exist, also at a reload */
        char *database, *socket, *input; /* the overrides */
};

/* 1 when the file was read, 0 when it is absent and not required (the defaults). */
static int load_config_file(const char *path, bool required, Config *c) {
        char err[CONFIG_ERRORS_MAX] = "";
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0;
        int r;

        r = config_init_default(c);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                /* Only the default path may be absent: a file named on the command line that is
                 * not there is a typo, not a wish for the defaults. */
                if (errno == ENOENT && !required)
                        return 0;
                if (errno == ENOENT) {
                        log_error("Configuration file '%s' does not exist (only the default, "
                                  "%s, may be absent).",
                                  path, CONFIG_DEFAULT_PATH);
                        config_done(c);
                        return -ENOENT;
                }
                r = log_error_errno(negative_errno(), "Failed to open '%s': %m", path);
                config_done(c);
                return r;
        }
        buf = malloc(CONFIG_FILE_MAX + 1);
        if (!buf) {
                config_done(c);
                return -ENOMEM;
        }
        for (;;) {
                ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
                if (n < 0) {
                        r = log_error_errno(negative_errno(), "Failed to read '%s': %m", path);
                        config_done(c);
                        return r;
                }
                if (n == 0)
                        break;
                len += n;
                if (len > CONFIG_FILE_MAX)
                        break;
        }
        r = config_parse(c, buf, len, err, sizeof(err));
        if (r < 0) {
                /* every error on a line of its own, each with the file's name */
                for (char *line = err, *next; line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        log_error("%s: %s", path, line);
                }
                config_done(c);
                return r;
        }
        return 1;
}

static int override(char **field, const char *value) {
        if (!value)
                return 0;
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

int config_load(const char *path, bool required, const ConfigOverrides *o, Config *ret) {
        Config c;
        int r, read;

        r = read = load_config_file(path, required, &c);
        if (r < 0)
                return r;
        if (o && (override(&c.database, o->database) < 0 || override(&c.socket, o->socket) < 0 ||
                  override(&c.input, o->input) < 0)) {
                config_done(&c);
                return log_error_errno(-ENOMEM, "Out of memory.");
        }
        *ret = c;
        return read;
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

int config_file_new(const char *path, bool required, const ConfigOverrides *o, ConfigFile **ret) {
        _cleanup_(config_file_freep) ConfigFile *f = calloc(1, sizeof(ConfigFile));

        if (!f)
                return -ENOMEM;
        f->required = required;
        if (strdup_or_null(path, &f->path) < 0 ||
            (o && (strdup_or_null(o->database, &f->database) < 0 ||
                   strdup_or_null(o->socket, &f->socket) < 0 ||
                   strdup_or_null(o->input, &f->input) < 0)))
                return -ENOMEM;
        *ret = TAKE_PTR(f);
        return 0;
}

ConfigFile *config_file_free(ConfigFile *f) {
        if (!f)
                return NULL;
        free(f->path);
        free(f->database);
        free(f->socket);
        free(f->input);
        free(f);
        return NULL;
}

const char *config_file_path(const ConfigFile *f) {
        return f ? f->path : NULL;
}

static bool string_differs(const char *a, const char *b) {
        if (!a || !b)
                return a != b;
        return strcmp(a, b) != 0;
}

/* The settings a reload does not apply: those that differ in the new file are logged by name. */
static void log_restart_only_changes(const Config *running, const Config *loaded) {
        const struct {
                const char *name;
                bool differs;
        } settings[] = {
                {"Database=", string_differs(running->database, loaded->database)},
                {"Socket=", string_differs(running->socket, loaded->socket)},
                {"AccessGroup=", string_differs(running->access_group, loaded->access_group)},
                {"Input=", string_differs(running->input, loaded->input)},
                {"AuditLog=", string_differs(running->audit_log, loaded->audit_log)},
                {"Docker=", string_differs(running->docker_socket, loaded->docker_socket)},
                {"Podman=", string_differs(running->podman_socket, loaded->podman_socket)},
                {"ProcScan=", running->proc_scan != loaded->proc_scan},
                {"ContainerdState=",
                 string_differs(running->containerd_state, loaded->containerd_state)},
                {"CrioRunRoot=", string_differs(running->crio_run_root, loaded->crio_run_root)},
                {"CrioSocket=", string_differs(running->crio_socket, loaded->crio_socket)},
                {"Listen=", string_differs(running->metrics_listen, loaded->metrics_listen)},
                {"TopContainers=", running->metrics_top != loaded->metrics_top},
        };
        char names[256] = "";
        size_t len = 0;

        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (settings[i].differs && len < sizeof(names))
                        len += snprintf(names + len, sizeof(names) - len, "%s%s", len ? " " : "",
                                        settings[i].name);
        if (len > 0)
                log_notice("Changed settings take effect at the next restart: %s", names);
}

int config_file_reload(const ConfigFile *f, Config *running, ConfigChanges *ret) {
        ConfigOverrides o;
        Config c;
        int r;

        if (!f || !f->path)
                return -ENOENT;
        o = (ConfigOverrides){f->database, f->socket, f->input};
        r = config_load(f->path, f->required, &o, &c);
        if (r < 0)
                return r;

        log_restart_only_changes(running, &c);
        *ret = (ConfigChanges){};
        domain_filter_done(&running->domains);
        running->domains = c.domains;
        c.domains = (DomainFilter){};
        if (c.max_age_ms != running->max_age_ms || c.max_bytes != running->max_bytes) {
                running->max_age_ms = c.max_age_ms;
                running->max_bytes = c.max_bytes;
                ret->retention = true;
        }
        if (string_differs(c.triage_policy, running->triage_policy)) {
                free(running->triage_policy);
                running->triage_policy = TAKE_PTR(c.triage_policy);
                ret->triage_policy = true;
        }
        ret->journal_forward = c.journal_forward != running->journal_forward;
        ret->journal_forward_to = c.journal_forward;
        config_done(&c);
        return 0;
}
