/* SPDX-License-Identifier: MIT */
/* Golden test: every line of the real record corpus ($AVCWATCH_CORPUS_DIR, see its SOURCES.md)
 * through record_parse(), compared with the oracle expected.jsonl. Lines the oracle lists must be
 * complete denials with exactly its fields; no other line may come out as a denial; damaged
 * files whose denials the oracle could not tabulate must yield malformed lines; the AppArmor,
 * EOE and interleaved controls behave as documented. */

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "context.h"
#include "macro.h"
#include "record.h"
#include "strutil.h"
#include "tests/unit/test.h"

#define CORPUS_FILES_MAX 256
#define ORACLE_ROWS_MAX 4096
#define FIELD_TEXT_MAX 1024

typedef struct OracleRow {
        char *file;
        int line;
        json_object *obj;
        bool seen;
} OracleRow;

static OracleRow rows[ORACLE_ROWS_MAX];
static size_t n_rows;
static unsigned failures;

#define EXPECT(cond, ...)                                                                          \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        printf("FAIL %s:%d: ", file, line_no);                                     \
                        printf(__VA_ARGS__);                                                       \
                        printf("\n");                                                              \
                        failures++;                                                                \
                }                                                                                  \
        } while (0)

static const char *jstr(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        return json_object_get_string(v);
}

static bool jnull(json_object *o, const char *key) {
        json_object *v;

        return !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null);
}

static int64_t jint(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return -1;
        return json_object_get_int64(v);
}

static bool streq_null(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void load_oracle(const char *dir) {
        char path[PATH_MAX];
        _cleanup_(freep) char *buf = NULL;
        size_t n = 0;
        ssize_t k;
        FILE *f;

        snprintf(path, sizeof(path), "%s/expected.jsonl", dir);
        f = fopen(path, "re");
        if (!f)
                SKIP("cannot open %s: %s", path, strerror(errno));
        while ((k = getline(&buf, &n, f)) > 0) {
                json_object *o = json_tokener_parse(buf);
                CHECK(o);
                CHECK(n_rows < ORACLE_ROWS_MAX);
                CHECK(jstr(o, "file"));
                rows[n_rows] = (OracleRow){
                        .file = strdup(jstr(o, "file")), .line = (int) jint(o, "line"), .obj = o};
                CHECK(rows[n_rows].file && rows[n_rows].line > 0);
                n_rows++;
        }
        fclose(f);
        printf("oracle: %zu rows from %s\n", n_rows, path);
        CHECK(n_rows > 0);
}

static OracleRow *oracle_find(const char *file, int line) {
        for (size_t i = 0; i < n_rows; i++)
                if (rows[i].line == line && strcmp(rows[i].file, file) == 0)
                        return &rows[i];
        return NULL;
}

/* The oracle keeps the hex text of a hex-encoded path; decode it the way the parser does. */
static char *oracle_path(const char *v) {
        char *d;
        size_t len;
        bool hex = v && strlen(v) % 2 == 0 && strlen(v) > 0;

        for (const char *c = v; hex && *c; c++)
                hex = (*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'F');
        if (!hex)
                return v ? strdup(v) : NULL;
        CHECK(hex_decode(v, strlen(v), &d, &len) == 0);
        for (size_t i = 0; i < len; i++)
                if (d[i] == '\0')
                        d[i] = i == 0 ? '@' : ' ';
        return d;
}

static LineForm oracle_form(const char *form) {
        if (strcmp(form, "raw-auditd") == 0)
                return LINE_FORM_RAW;
        if (strcmp(form, "journald") == 0)
                return LINE_FORM_JOURNALD;
        if (strcmp(form, "dmesg") == 0 || strcmp(form, "syslog-kernel") == 0 ||
            strcmp(form, "kernel-msg") == 0)
                return LINE_FORM_KERNEL_LOG;
        return LINE_FORM_BARE; /* "other": prefix stripped down to avc: */
}

static void compare_context(const char *file, int line_no, const char *what, const char *ctx,
                            const char *type_exp, const char *mcs_exp) {
        char type[FIELD_TEXT_MAX], mcs[FIELD_TEXT_MAX];

        if (!ctx) {
                EXPECT(false, "%s missing", what);
                return;
        }
        EXPECT(context_split(ctx, type, sizeof(type), mcs, sizeof(mcs)) == 0,
               "%s '%s' does not split", what, ctx);
        if (type_exp)
                EXPECT(strcmp(type, type_exp) == 0, "%s type '%s', oracle '%s'", what, type,
                       type_exp);
        /* The oracle writes "" for a context without categories. */
        if (mcs_exp)
                EXPECT(strcmp(mcs, mcs_exp) == 0, "%s mcs '%s', oracle '%s'", what, mcs, mcs_exp);
}

static void compare_denial(const char *file, int line_no, const Record *r, json_object *o) {
        const AvcFields *a = &r->avc;
        char perms[FIELD_TEXT_MAX] = "", stamp[64];
        json_object *arr;
        const char *rec_type = jstr(o, "record"), *audit_id = jstr(o, "audit_id"), *comm;
        _cleanup_(freep) char *opath = oracle_path(jstr(o, "path"));
        int exp_type = strcmp(rec_type, "USER_AVC") == 0      ? AUDIT_TYPE_USER_AVC
                       : strcmp(rec_type, "SELINUX_ERR") == 0 ? AUDIT_TYPE_SELINUX_ERR
                                                              : AUDIT_TYPE_AVC;

        EXPECT(r->type == exp_type, "type %d, oracle %s", r->type, rec_type);
        EXPECT(r->form == oracle_form(jstr(o, "form")), "form %s, oracle %s",
               line_form_to_string(r->form), jstr(o, "form"));
        EXPECT(streq_null(a->result, jstr(o, "decision")), "result '%s', oracle '%s'",
               strna(a->result), strna(jstr(o, "decision")));

        CHECK(json_object_object_get_ex(o, "perms", &arr));
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                if (i > 0)
                        strcat(perms, " ");
                CHECK(strlen(perms) +
                              strlen(json_object_get_string(json_object_array_get_idx(arr, i))) <
                      sizeof(perms));
                strcat(perms, json_object_get_string(json_object_array_get_idx(arr, i)));
        }
        EXPECT(streq_null(a->permissions, perms), "permissions '%s', oracle '%s'",
               strna(a->permissions), perms);

        EXPECT(a->pid == jint(o, "pid"), "pid %lld, oracle %lld", (long long) a->pid,
               (long long) jint(o, "pid"));
        comm = jstr(o, "comm_decoded") ?: jstr(o, "comm");
        EXPECT(streq_null(a->comm, comm), "comm '%s', oracle '%s'", strna(a->comm), strna(comm));
        EXPECT(streq_null(a->name, jstr(o, "name")), "name '%s', oracle '%s'", strna(a->name),
               strna(jstr(o, "name")));
        EXPECT(streq_null(a->path, opath), "path '%s', oracle '%s'", strna(a->path), strna(opath));
        EXPECT(streq_null(a->scontext, jstr(o, "scontext")), "scontext '%s', oracle '%s'",
               strna(a->scontext), strna(jstr(o, "scontext")));
        EXPECT(streq_null(a->tcontext, jstr(o, "tcontext")), "tcontext '%s', oracle '%s'",
               strna(a->tcontext), strna(jstr(o, "tcontext")));
        EXPECT(streq_null(a->tclass, jstr(o, "tclass")), "tclass '%s', oracle '%s'",
               strna(a->tclass), strna(jstr(o, "tclass")));
        EXPECT(a->permissive == (jnull(o, "permissive") ? -1 : jint(o, "permissive")),
               "permissive %d, oracle %lld", a->permissive,
               (long long) (jnull(o, "permissive") ? -1 : jint(o, "permissive")));
        compare_context(file, line_no, "scontext", a->scontext, jstr(o, "scontext_type"),
                        jstr(o, "scontext_mcs"));
        compare_context(file, line_no, "tcontext", a->tcontext, jstr(o, "tcontext_type"),
                        jstr(o, "tcontext_mcs"));

        if (!audit_id)
                EXPECT(!r->has_stamp, "has a stamp, oracle has no audit id");
        else if (strchr(audit_id, '/')) {
                /* ausearch -i date form: local time; the serial is what must match */
                const char *serial = strrchr(audit_id, ':');
                EXPECT(r->has_stamp && serial && r->stamp.serial == strtoull(serial + 1, NULL, 10),
                       "serial %llu, oracle audit id %s", (unsigned long long) r->stamp.serial,
                       audit_id);
        } else {
                snprintf(stamp, sizeof(stamp), "%lld.%03lld:%llu",
                         (long long) (r->stamp.time_ms / 1000),
                         (long long) (r->stamp.time_ms % 1000),
                         (unsigned long long) r->stamp.serial);
                EXPECT(r->has_stamp && strcmp(stamp, audit_id) == 0,
                       "stamp %s (has_stamp %d), oracle %s", stamp, r->has_stamp, audit_id);
        }
}

/* The stamp as the text says, read independently of the parser. */
static bool text_stamp(const char *line, AuditStamp *ret) {
        const char *p = strstr(line, "audit(");
        unsigned long long sec, serial;
        unsigned ms;

        if (!p || sscanf(p, "audit(%llu.%3u:%llu)", &sec, &ms, &serial) != 3)
                return false;
        *ret = (AuditStamp){.time_ms = (int64_t) sec * 1000 + ms, .serial = serial};
        return true;
}

typedef struct FileStats {
        unsigned lines, records, denials, malformed, avc_lines, oracle_rows;
} FileStats;

static void run_file(RecordParser *parser, const char *dir, const char *file, bool damaged) {
        char path[PATH_MAX];
        _cleanup_(freep) char *buf = NULL;
        bool apparmor_control = strstr(file, "apparmor") != NULL;
        bool interleaved_control = strstr(file, "interleaved") != NULL;
        unsigned apparmor_seen = 0, eoe_seen = 0, stamps_checked = 0;
        FileStats st = {};
        size_t n = 0;
        ssize_t k;
        int line_no = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, file);
        f = fopen(path, "re");
        CHECK(f);
        while ((k = getline(&buf, &n, f)) > 0) {
                OracleRow *row;
                Record r;
                int rc;

                line_no++;
                st.lines++;
                if (strstr(buf, "avc:") && (strstr(buf, "denied") || strstr(buf, "granted")))
                        st.avc_lines++;
                row = oracle_find(file, line_no);
                rc = record_parse(parser, buf, (size_t) k, &r);
                if (rc == -EBADMSG)
                        st.malformed++;
                else if (rc == 0)
                        st.records++;
                EXPECT(rc == 0 || rc == -EBADMSG || rc == -ENODATA, "unexpected error %d", rc);

                if (row) {
                        row->seen = true;
                        st.oracle_rows++;
                        EXPECT(rc == 0 && r.kind == RECORD_DENIAL,
                               "oracle lists a denial, parser says rc=%d kind=%s", rc,
                               rc == 0 ? record_kind_to_string(r.kind) : "-");
                        if (rc == 0 && r.kind == RECORD_DENIAL)
                                compare_denial(file, line_no, &r, row->obj);
                } else
                        EXPECT(rc != 0 || r.kind != RECORD_DENIAL,
                               "parser made a denial of a line the oracle does not list");

                if (rc == 0 && r.kind == RECORD_DENIAL)
                        st.denials++;

                if (apparmor_control && strstr(buf, "apparmor=")) {
                        EXPECT(rc == 0 && r.kind == RECORD_IGNORED && r.type == AUDIT_TYPE_AVC,
                               "AppArmor type=AVC must be RECORD_IGNORED (rc=%d)", rc);
                        apparmor_seen++;
                }
                if (strstr(buf, "type=EOE ")) {
                        EXPECT(rc == 0 && r.kind == RECORD_EOE && r.has_stamp,
                               "EOE record must be RECORD_EOE (rc=%d)", rc);
                        eoe_seen++;
                }
                if (interleaved_control) {
                        AuditStamp want;
                        CHECK(text_stamp(buf, &want));
                        EXPECT(rc == 0 && r.has_stamp && r.stamp.time_ms == want.time_ms &&
                                       r.stamp.serial == want.serial,
                               "stamp %lld:%llu, text says %lld:%llu",
                               rc == 0 ? (long long) r.stamp.time_ms : -1LL,
                               rc == 0 ? (unsigned long long) r.stamp.serial : 0ULL,
                               (long long) want.time_ms, (unsigned long long) want.serial);
                        stamps_checked++;
                }
                if (rc == 0)
                        record_done(&r);
        }
        fclose(f);

        printf("%-70s lines=%u records=%u denials=%u malformed=%u\n", file, st.lines, st.records,
               st.denials, st.malformed);

        line_no = 0;
        if (damaged && st.avc_lines > st.oracle_rows)
                /* the damage broke denials the oracle could not tabulate: they must have been
                 * refused, not half-parsed */
                EXPECT(st.malformed > 0, "damaged file with %u broken denial lines, none malformed",
                       st.avc_lines - st.oracle_rows);
        if (apparmor_control) {
                EXPECT(apparmor_seen == 1, "AppArmor control: %u apparmor lines", apparmor_seen);
                EXPECT(eoe_seen == 1, "AppArmor control: %u EOE lines", eoe_seen);
        }
        if (interleaved_control)
                EXPECT(stamps_checked >= 4, "interleaved control: %u stamps", stamps_checked);
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Runs every *.log in dir/sub (sub "" for the top level), in name order. */
static unsigned run_dir(RecordParser *parser, const char *root, const char *sub) {
        char dir[PATH_MAX], *names[CORPUS_FILES_MAX];
        size_t n_names = 0;
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s%s%s", root, *sub ? "/" : "", sub);
        d = opendir(dir);
        if (!d) {
                printf("FAIL: cannot open %s: %s\n", dir, strerror(errno));
                failures++;
                return 0;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (len < 5 || strcmp(de->d_name + len - 4, ".log") != 0)
                        continue;
                CHECK(n_names < CORPUS_FILES_MAX);
                CHECK(asprintf(&names[n_names++], "%s%s%s", sub, *sub ? "/" : "", de->d_name) >= 0);
        }
        closedir(d);
        qsort(names, n_names, sizeof(names[0]), compare_names);
        for (size_t i = 0; i < n_names; i++) {
                run_file(parser, root, names[i], strcmp(sub, "damaged") == 0);
                free(names[i]);
        }
        return (unsigned) n_names;
}

int main(void) {
        const char *root = getenv("AVCWATCH_CORPUS_DIR");
        RecordParser *parser;
        unsigned files = 0, unseen = 0;
        struct stat st;
        const char *file = "-";
        int line_no = 0;

        if (!root || !*root)
                SKIP("AVCWATCH_CORPUS_DIR is not set");
        if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
                SKIP("corpus directory %s is missing", root);

        load_oracle(root);
        CHECK_RC(record_parser_new(&parser), 0);

        files += run_dir(parser, root, "");
        files += run_dir(parser, root, "controls");
        files += run_dir(parser, root, "damaged");
        EXPECT(files > 0, "no *.log files in %s", root);

        for (size_t i = 0; i < n_rows; i++)
                if (!rows[i].seen) {
                        printf("FAIL: oracle row %s:%d matches no corpus line\n", rows[i].file,
                               rows[i].line);
                        unseen++;
                }
        failures += unseen;

        for (size_t i = 0; i < n_rows; i++) {
                json_object_put(rows[i].obj);
                free(rows[i].file);
        }
        record_parser_free(parser);

        printf("%u files, %zu oracle rows, %u failures\n", files, n_rows, failures);
        return failures == 0 ? 0 : 1;
}
