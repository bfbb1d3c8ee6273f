/* SPDX-License-Identifier: MIT */
/* Configuration parser: a small INI dialect like systemd's unit files ([Section], Key=Value,
 * '#' and ';' comments). Strict on purpose: an unknown key or a bad value is an error with its
 * line number, so that `avcwatchd --check-config` finds typos before a reload does. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "config.h"
#include "store.h"
#include "timeparse.h"
#include "macro.h"
#include "metrics.h"

#define CONFIG_LINE_MAX 4096

static int set_string(char **field, const char *value) {
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

int config_init_default(Config *ret) {
        Config c = {};
        int r;

        if (set_string(&c.database, CONFIG_DEFAULT_DATABASE) < 0 ||
            set_string(&c.socket, CONFIG_DEFAULT_SOCKET) < 0 ||
            set_string(&c.access_group, CONFIG_DEFAULT_ACCESS_GROUP) < 0 ||
            set_string(&c.input, "netlink") < 0 ||
            set_string(&c.audit_log, CONFIG_DEFAULT_AUDIT_LOG) < 0 ||
            set_string(&c.docker_socket, CONFIG_DEFAULT_DOCKER_SOCKET) < 0 ||
            set_string(&c.podman_socket, CONFIG_DEFAULT_PODMAN_SOCKET) < 0 ||
            set_string(&c.containerd_state, CONFIG_DEFAULT_CONTAINERD_STATE) < 0 ||
            set_string(&c.crio_run_root, CONFIG_DEFAULT_CRIO_RUN_ROOT) < 0 ||
            set_string(&c.crio_socket, CONFIG_DEFAULT_CRIO_SOCKET) < 0) {
                config_done(&c);
                return -ENOMEM;
        }
        c.proc_scan = true;
        c.metrics_top = CONFIG_DEFAULT_METRICS_TOP;
        c.check_database = STORE_CHECK_AUTO;
        r = domain_filter_default(&c.domains);
        if (r < 0) {
                config_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void config_done(Config *c) {
        if (!c)
                return;
        free(c->database);
        free(c->socket);
        free(c->access_group);
        free(c->input);
        free(c->audit_log);
        free(c->journal_directory);
        free(c->docker_socket);
        free(c->podman_socket);
        free(c->containerd_state);
        free(c->crio_run_root);
        free(c->crio_socket);
        free(c->metrics_listen);
        free(c->triage_policy);
        domain_filter_done(&c->domains);
        *c = (Config){};
}

static int parse_boolean(const char *v) {
        static const char *const yes[] = {"1", "yes", "true", "on"};
        static const char *const no[] = {"0", "no", "false", "off"};
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* "2G", "500M", "1.5T", "4096" (bytes); K, M, G, T are powers of 1024 (an optional B or iB
 * after them is accepted). */
static int parse_size(const char *v, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } units[] = {
                {"", 1},
                {"B", 1},
                {"K", UINT64_C(1) << 10},
                {"M", UINT64_C(1) << 20},
                {"G", UINT64_C(1) << 30},
                {"T", UINT64_C(1) << 40},
        };
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (errno != 0 || end == v || !(d >= 0) || v[0] == '-' || v[0] == '+')
                return -EINVAL;
        while (*end == ' ')
                end++;
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                size_t n = strlen(units[i].suffix);
                if (strncasecmp(end, units[i].suffix, n) != 0)
                        continue;
                const char *rest = end + n;
                if (n > 0 && i >= 2 && (strcasecmp(rest, "B") == 0 || strcasecmp(rest, "iB") == 0))
                        rest = "";
                if (*rest != 0)
                        continue;
                double bytes = d * (double) units[i].factor;
                if (bytes >= 18446744073709551616.0)
                        return -ERANGE;
                *ret = (uint64_t) bytes;
                return 0;
        }
        return -EINVAL;
}

static char *strip(char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = 0;
        return s;
}

_printf_(3, 4) static int fail(char *err, size_t n_err, const char *fmt, ...) {
        va_list ap;
        if (err && n_err > 0) {
                va_start(ap, fmt);
                vsnprintf(err, n_err, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* sun_path of struct sockaddr_un, with its terminating NUL. */
#define SOCKET_PATH_MAX sizeof(((struct sockaddr_un *) NULL)->sun_path)

static int socket_path_too_long(char *err, size_t n_err, unsigned line, const char *key) {
        return fail(err, n_err, "line %u: %s= is too long for a socket path (at most %zu bytes)",
                    line, key, SOCKET_PATH_MAX - 1);
}

/* An optional absolute path of at most max_len bytes (SOCKET_PATH_MAX - 1 for a socket, which
 * must fit sun_path); empty turns what it names off. */
static int set_optional_path(char **field, const char *value, size_t max_len, unsigned line,
                             const char *key, char *err, size_t n_err) {
        if (value[0] == 0) {
                free(*field);
                *field = NULL;
                return 0;
        }
        if (value[0] != '/')
                return fail(err, n_err, "line %u: %s= needs an absolute path", line, key);
        if (strlen(value) > max_len)
                return max_len == SOCKET_PATH_MAX - 1
                               ? socket_path_too_long(err, n_err, line, key)
                               : fail(err, n_err, "line %u: %s= is too long (at most %zu bytes)",
                                      line, key, max_len);
        return set_string(field, value);
}

static bool section_is_known(const char *section) {
        static const char *const known[] = {"Daemon",    "Filter", "Engines", "Journal",
                                            "Retention", "Triage", "Metrics"};
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (strcmp(section, known[i]) == 0)
                        return true;
        return false;
}

static const char *const backfill_mode_table[_BACKFILL_MODE_MAX] = {
        [BACKFILL_AUTO] = "auto",
        [BACKFILL_AUDITLOG] = "auditlog",
        [BACKFILL_JOURNAL] = "journal",
        [BACKFILL_NO] = "no",
};

const char *backfill_mode_to_string(BackfillMode m) {
        if ((unsigned) m >= _BACKFILL_MODE_MAX)
                return NULL;
        return backfill_mode_table[m];
}

static int apply(Config *c, const char *section, const char *key, const char *value, unsigned line,
                 char *err, size_t n_err) {
        int r;

        if (strcmp(section, "Daemon") == 0) {
                if (strcmp(key, "Database") == 0 || strcmp(key, "Socket") == 0) {
                        if (value[0] != '/')
                                return fail(err, n_err, "line %u: %s= needs an absolute path", line,
                                            key);
                        if (key[0] == 'S' && strlen(value) >= SOCKET_PATH_MAX)
                                return socket_path_too_long(err, n_err, line, key);
                        return set_string(key[0] == 'D' ? &c->database : &c->socket, value);
                }
                if (strcmp(key, "AccessGroup") == 0)
                        return set_string(&c->access_group, value);
                if (strcmp(key, "Input") == 0)
                        return set_string(&c->input, value);
                if (strcmp(key, "CheckDatabase") == 0) {
                        r = store_check_mode_from_string(value);
                        if (r < 0)
                                return fail(err, n_err, "line %u: %s= needs auto, always or never",
                                            line, key);
                        c->check_database = r;
                        return 0;
                }
                if (strcmp(key, "AuditLog") == 0)
                        return set_optional_path(&c->audit_log, value, SIZE_MAX, line, key, err,
                                                 n_err);
                if (strcmp(key, "Backfill") == 0) {
                        for (BackfillMode m = 0; m < _BACKFILL_MODE_MAX; m++)
                                if (strcmp(value, backfill_mode_table[m]) == 0) {
                                        c->backfill = m;
                                        return 0;
                                }
                        return fail(err, n_err,
                                    "line %u: Backfill= needs auto, auditlog, journal or no", line);
                }
                if (strcmp(key, "JournalDirectory") == 0)
                        return set_optional_path(&c->journal_directory, value, SIZE_MAX, line, key,
                                                 err, n_err);
        } else if (strcmp(section, "Filter") == 0) {
                if (strcmp(key, "Domains") == 0) {
                        DomainFilter f;
                        r = domain_filter_parse(value, &f);
                        if (r < 0)
                                return fail(err, n_err, "line %u: invalid domain pattern list",
                                            line);
                        f.target_mcs = c->domains.target_mcs;
                        domain_filter_done(&c->domains);
                        c->domains = f;
                        return 0;
                }
                if (strcmp(key, "TargetCategories") == 0) {
                        r = parse_boolean(value);
                        if (r < 0)
                                return fail(err, n_err, "line %u: %s= needs a boolean", line, key);
                        c->domains.target_mcs = r;
                        return 0;
                }
        } else if (strcmp(section, "Engines") == 0) {
                if (strcmp(key, "Docker") == 0 || strcmp(key, "Podman") == 0) {
                        char **field = key[0] == 'D' ? &c->docker_socket : &c->podman_socket;
                        return set_optional_path(field, value, SOCKET_PATH_MAX - 1, line, key, err,
                                                 n_err);
                }
                if (strcmp(key, "ContainerdState") == 0 || strcmp(key, "CrioRunRoot") == 0 ||
                    strcmp(key, "CrioSocket") == 0) {
                        char **field = strcmp(key, "ContainerdState") == 0 ? &c->containerd_state
                                       : strcmp(key, "CrioRunRoot") == 0   ? &c->crio_run_root
                                                                           : &c->crio_socket;
                        /* The socket must fit sun_path; a directory gets names appended. */
                        return set_optional_path(field, value,
                                                 field == &c->crio_socket
                                                         ? SOCKET_PATH_MAX - 1
                                                         : CONFIG_RUNTIME_DIRECTORY_MAX,
                                                 line, key, err, n_err);
                }
                if (strcmp(key, "ProcScan") == 0) {
                        r = parse_boolean(value);
                        if (r < 0)
                                return fail(err, n_err, "line %u: %s= needs a boolean", line, key);
                        c->proc_scan = r;
                        return 0;
                }
        } else if (strcmp(section, "Journal") == 0) {
                if (strcmp(key, "ForwardDenials") == 0) {
                        r = parse_boolean(value);
                        if (r < 0)
                                return fail(err, n_err, "line %u: %s= needs a boolean", line, key);
                        c->journal_forward = r;
                        return 0;
                }
        } else if (strcmp(section, "Retention") == 0) {
                if (strcmp(key, "MaxAge") == 0) {
                        int64_t ms = 0;
                        if (value[0] != 0 && strcmp(value, "0") != 0 &&
                            parse_duration(value, &ms) < 0)
                                return fail(err, n_err,
                                            "line %u: %s= needs a duration like 90d or 12h", line,
                                            key);
                        c->max_age_ms = ms;
                        return 0;
                }
                if (strcmp(key, "MaxSize") == 0) {
                        uint64_t bytes = 0;
                        if (value[0] != 0 && strcmp(value, "0") != 0 &&
                            (parse_size(value, &bytes) < 0 || bytes < CONFIG_MAX_SIZE_MIN))
                                return fail(err, n_err,
                                            "line %u: %s= needs a size of at least 1M, like 500M "
                                            "or 2G",
                                            line, key);
                        c->max_bytes = bytes;
                        return 0;
                }
        } else if (strcmp(section, "Triage") == 0) {
                if (strcmp(key, "Policy") == 0)
                        return set_optional_path(&c->triage_policy, value, SIZE_MAX, line, key, err,
                                                 n_err);
        } else if (strcmp(section, "Metrics") == 0) {
                if (strcmp(key, "Listen") == 0) {
                        struct sockaddr_storage ss;
                        socklen_t len;
                        if (value[0] == 0) {
                                free(c->metrics_listen);
                                c->metrics_listen = NULL;
                                return 0;
                        }
                        if (metrics_parse_listen(value, &ss, &len) < 0)
                                return fail(err, n_err,
                                            "line %u: %s= needs ADDRESS:PORT (127.0.0.1:9774, "
                                            "[::1]:9774) or the absolute path of a socket",
                                            line, key);
                        return set_string(&c->metrics_listen, value);
                }
                if (strcmp(key, "TopContainers") == 0) {
                        char *end;
                        errno = 0;
                        unsigned long n = strtoul(value, &end, 10);
                        if (errno != 0 || end == value || *end != 0 || value[0] == '-' || n < 1 ||
                            n > CONFIG_METRICS_TOP_MAX)
                                return fail(err, n_err, "line %u: %s= needs a number from 1 to %d",
                                            line, key, CONFIG_METRICS_TOP_MAX);
                        c->metrics_top = (unsigned) n;
                        return 0;
                }
        } else
                return fail(err, n_err, "line %u: unknown section [%s]", line, section);

        return fail(err, n_err, "line %u: unknown key '%s' in [%s]", line, key, section);
}

/* The messages of one parse, one a line, in a buffer of the caller's size: whole lines only, and
 * when the next no longer fits (with room kept for it), a count of the ones left out. */
typedef struct Errors {
        char *buf;
        size_t size, len;
        unsigned n, left_out;
} Errors;

#define ERRORS_TAIL_MAX sizeof("\n(4294967295 more errors)")

static void errors_add(Errors *e, const char *msg) {
        size_t n = strlen(msg);

        e->n++;
        if (!e->buf || e->size == 0)
                return;
        if (e->len == 0) { /* the first one always, cut if it must be */
                snprintf(e->buf, e->size, "%s", msg);
                e->len = MIN(n, e->size - 1);
                return;
        }
        if (e->left_out > 0 || e->len + 1 + n + ERRORS_TAIL_MAX > e->size) {
                e->left_out++;
                return;
        }
        e->len += snprintf(e->buf + e->len, e->size - e->len, "\n%s", msg);
}

static int errors_finish(Errors *e) {
        if (e->n == 0)
                return 0;
        if (e->left_out > 0 && e->buf && e->len + ERRORS_TAIL_MAX <= e->size)
                snprintf(e->buf + e->len, e->size - e->len, "\n(%u more error%s)", e->left_out,
                         e->left_out == 1 ? "" : "s");
        return -EINVAL;
}

/* Goes on after an error, to the end of the text, so that --check-config lists every mistake of a
 * file at once, each with its line. The settings of a section that is not known are skipped
 * without a message each: the section's own line says it. */
int config_parse(Config *c, const char *text, size_t len, char *err, size_t n_err) {
        Errors errors = {.buf = err, .size = n_err};
        char section[64] = "", msg[512];
        bool skip_section = false;
        unsigned line = 0;
        const char *p = text, *e = text + len;

        if (err && n_err > 0)
                err[0] = 0;
        if (len > CONFIG_FILE_MAX)
                return fail(err, n_err, "configuration larger than %d bytes", CONFIG_FILE_MAX);

        while (p < e) {
                const char *nl = memchr(p, '\n', e - p);
                size_t n = (nl ? nl : e) - p;
                char buf[CONFIG_LINE_MAX];
                const char *start = p;

                line++;
                p = nl ? nl + 1 : e;
                if (n >= sizeof(buf)) {
                        fail(msg, sizeof(msg), "line %u: too long", line);
                        errors_add(&errors, msg);
                        continue;
                }
                memcpy(buf, start, n);
                buf[n] = 0;
                if (memchr(buf, 0, n)) {
                        fail(msg, sizeof(msg), "line %u: NUL byte", line);
                        errors_add(&errors, msg);
                        continue;
                }

                char *s = strip(buf);
                if (*s == 0 || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        char *close = strchr(s, ']');
                        section[0] = 0;
                        skip_section = true;
                        if (!close || close[1] != 0 || close - s - 1 <= 0 ||
                            (size_t) (close - s - 1) >= sizeof(section)) {
                                fail(msg, sizeof(msg), "line %u: bad section header", line);
                                errors_add(&errors, msg);
                                continue;
                        }
                        *close = 0;
                        if (!section_is_known(s + 1)) {
                                fail(msg, sizeof(msg), "line %u: unknown section [%s]", line,
                                     s + 1);
                                errors_add(&errors, msg);
                                continue;
                        }
                        strcpy(section, s + 1);
                        skip_section = false;
                        continue;
                }
                if (skip_section)
                        continue;
                char *eq = strchr(s, '=');
                if (!eq) {
                        fail(msg, sizeof(msg), "line %u: expected Key=Value", line);
                        errors_add(&errors, msg);
                        continue;
                }
                if (section[0] == 0) {
                        fail(msg, sizeof(msg), "line %u: setting outside a [section]", line);
                        errors_add(&errors, msg);
                        continue;
                }
                *eq = 0;
                int r = apply(c, section, strip(s), strip(eq + 1), line, msg, sizeof(msg));
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        errors_add(&errors, msg);
        }
        return errors_finish(&errors);
}

/* The units MaxAge= accepts, largest first: a value is shown in the largest that divides it, so
 * that what is printed reads back as the same value. */
static void format_duration(int64_t ms, char *buf, size_t n) {
        static const struct {
                const char *unit;
                int64_t ms;
        } units[] = {{"d", 86400000}, {"h", 3600000}, {"min", 60000}, {"s", 1000}};

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (ms % units[i].ms == 0) {
                        snprintf(buf, n, "%" PRIi64 "%s", ms / units[i].ms, units[i].unit);
                        return;
                }
        snprintf(buf, n, "%.3fs", (double) ms / 1000);
}

static void format_size(uint64_t bytes, char *buf, size_t n) {
        static const char units[] = "TGMK";

        for (size_t i = 0; i < 4; i++) {
                uint64_t factor = UINT64_C(1) << (10 * (4 - i));
                if (bytes % factor == 0) {
                        snprintf(buf, n, "%" PRIu64 "%c", bytes / factor, units[i]);
                        return;
                }
        }
        snprintf(buf, n, "%" PRIu64, bytes);
}

static const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

static const char *strempty(const char *s) {
        return s ? s : "";
}

/* Key=value, after a comment line when there is something to say about it. */
static void dump_setting(FILE *f, const char *key, const char *value, const char *note) {
        if (note)
                fprintf(f, "# %s\n", note);
        fprintf(f, "%s=%s\n", key, value);
}

void config_dump(const Config *c, FILE *f) {
        char age[32] = "", size[32] = "", n_patterns[32];

        if (c->max_age_ms > 0)
                format_duration(c->max_age_ms, age, sizeof(age));
        if (c->max_bytes > 0)
                format_size(c->max_bytes, size, sizeof(size));
        snprintf(n_patterns, sizeof(n_patterns), "%u pattern%s", c->domains.n_patterns,
                 c->domains.n_patterns == 1 ? "" : "s");

        fputs("[Daemon]\n", f);
        dump_setting(f, "Database", c->database, NULL);
        dump_setting(f, "Socket", c->socket, NULL);
        dump_setting(f, "AccessGroup", c->access_group, NULL);
        dump_setting(f, "Input", c->input, NULL);
        dump_setting(f, "AuditLog", strempty(c->audit_log),
                     c->audit_log                      ? NULL
                     : c->backfill == BACKFILL_JOURNAL ? "none"
                                                       : "none: no backfill of the records missed "
                                                         "while down");
        dump_setting(f, "Backfill", backfill_mode_to_string(c->backfill), NULL);
        dump_setting(f, "JournalDirectory", strempty(c->journal_directory),
                     c->journal_directory ? NULL : "this host's journal");
        dump_setting(f, "CheckDatabase", store_check_mode_to_string(c->check_database),
                     c->check_database == STORE_CHECK_AUTO
                             ? "every page at start-up after a stop that was not clean"
                             : NULL);
        fputs("\n[Filter]\n", f);
        fprintf(f, "# %s\nDomains=", n_patterns);
        for (unsigned i = 0; i < c->domains.n_patterns; i++)
                fprintf(f, "%s%s", i > 0 ? " " : "", c->domains.patterns[i]);
        fputs("\n", f);
        dump_setting(f, "TargetCategories", yes_no(c->domains.target_mcs), NULL);
        fputs("\n[Engines]\n", f);
        dump_setting(f, "Docker", strempty(c->docker_socket), c->docker_socket ? NULL : "disabled");
        dump_setting(f, "Podman", strempty(c->podman_socket), c->podman_socket ? NULL : "disabled");
        dump_setting(f, "ProcScan", yes_no(c->proc_scan), NULL);
        dump_setting(f, "ContainerdState", strempty(c->containerd_state),
                     c->containerd_state ? NULL : "disabled");
        dump_setting(f, "CrioRunRoot", strempty(c->crio_run_root),
                     c->crio_run_root ? NULL : "disabled");
        dump_setting(f, "CrioSocket", strempty(c->crio_socket), c->crio_socket ? NULL : "disabled");
        fputs("\n[Journal]\n", f);
        dump_setting(f, "ForwardDenials", yes_no(c->journal_forward), NULL);
        fputs("\n[Retention]\n", f);
        dump_setting(f, "MaxAge", age,
                     c->max_age_ms > 0 ? NULL : "none: denials are kept whatever their age");
        dump_setting(f, "MaxSize", size,
                     c->max_bytes > 0 ? NULL : "none: the database grows without a limit");
        fputs("\n[Triage]\n", f);
        dump_setting(f, "Policy", strempty(c->triage_policy),
                     c->triage_policy ? NULL
                                      : "the kernel's (" CONFIG_KERNEL_POLICY
                                        "), when SELinux is on");
        fputs("\n[Metrics]\n", f);
        dump_setting(f, "Listen", strempty(c->metrics_listen),
                     c->metrics_listen ? NULL : "none: no metrics endpoint");
        fprintf(f, "TopContainers=%u\n", c->metrics_top);
}
