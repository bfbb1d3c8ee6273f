/* SPDX-License-Identifier: MIT */
/* record-fields.c against libauparse, the split it replaced (tests/reference/auparse-fields.c),
 * on every body that can reach it: each record of the corpus (real and damaged input), the
 * saved fuzz inputs of the record parser, mutations of all of those (truncated at every byte,
 * quotes, blanks, braces, punctuation, 0x1d and high bytes inserted at every byte), generated
 * bodies of audit-like words, and bounds (permissions around auparse's 256 bytes, overlong
 * values, hundreds of fields). Any difference in a field's name or value, in their order, or in
 * whether the record is refused fails the test. record.c keeps the first occurrence of each
 * name it knows from that list, so equal lists make equal Records.
 *
 * Also: a line with a NUL is refused, record.c's integers read as strtoll() read them, Records
 * held together keep their strings, and a few of auparse's rules spelled out. */

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "auparse-fields.h"
#include "line-form.h"
#include "macro.h"
#include "record-fields.h"
#include "record.h"
#include "test.h"

static unsigned long compared, refused;

static void print_body(const char *body, size_t len) {
        fputs("body: \"", stderr);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) body[i];
                if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
                        fputc(c, stderr);
                else
                        fprintf(stderr, "\\x%02x", c);
        }
        fputs("\"\n", stderr);
}

/* Both splits of one body, with and without the AVC grammar. */
static void diff_body_grammar(const char *body, size_t len, bool avc) {
        FieldList want, got;
        int rw, rg;

        if (memchr(body, '\0', len) || memchr(body, '\n', len))
                return; /* record.c refuses these before any split */
        rw = auparse_reference_fields(body, len, avc, &want);
        if (rw != 0 && rw != -EBADMSG)
                fprintf(stderr, "reference: %d\n", rw);
        CHECK(rw == 0 || rw == -EBADMSG);
        rg = record_fields_list(body, len, avc, &got);
        if (rw != rg || !field_list_equal(&want, &got)) {
                fprintf(stderr, "record-fields differs from libauparse (avc grammar %s):\n",
                        avc ? "on" : "off");
                print_body(body, len);
                fprintf(stderr, "libauparse: %d, record-fields: %d\n", rw, rg);
                field_list_dump("libauparse", &want);
                field_list_dump("record-fields", &got);
                exit(1);
        }
        compared++;
        if (rw < 0)
                refused++;
        field_list_clear(&want);
        field_list_clear(&got);
}

static void diff_body(const char *body, size_t len) {
        diff_body_grammar(body, len, true);
        diff_body_grammar(body, len, false);
}

/* Inserted at every position of a body. */
static const char *const insertions[] = {
        "\"", " ",     "{",    "}",      "{ ",       " }",          "'",    "=",
        "(",  ")",     ":",    ",",      "\x1d",     "\xff",        "\x80", "\t",
        "\r", "msg='", "avc:", "key=01", "key=4101", "seresult=x ",
};

static void diff_mutations(const char *body, size_t len) {
        char *buf = malloc(len + 16);

        CHECK(buf);
        for (size_t i = 0; i <= len; i++)
                diff_body(body, i); /* truncated */
        for (size_t k = 0; k < ELEMENTSOF(insertions); k++) {
                size_t n = strlen(insertions[k]);
                for (size_t i = 0; i <= len; i++) {
                        memcpy(buf, body, i);
                        memcpy(buf + i, insertions[k], n);
                        memcpy(buf + i + n, body + i, len - i);
                        diff_body(buf, len + n);
                }
        }
        /* a byte replaced by a space, a brace or a quote */
        for (size_t i = 0; i < len; i++) {
                memcpy(buf, body, len);
                buf[i] = ' ';
                diff_body(buf, len);
                buf[i] = '}';
                diff_body(buf, len);
                buf[i] = '"';
                diff_body(buf, len);
        }
        free(buf);
}

/* Distinct bodies seen so far (mutating the same record twice teaches nothing). */
static char **seen;
static size_t n_seen;

static bool first_time(const char *body, size_t len) {
        for (size_t i = 0; i < n_seen; i++)
                if (strlen(seen[i]) == len && memcmp(seen[i], body, len) == 0)
                        return false;
        seen = realloc(seen, (n_seen + 1) * sizeof(*seen));
        CHECK(seen);
        seen[n_seen] = strndup(body, len);
        CHECK(seen[n_seen]);
        n_seen++;
        return true;
}

static RecordParser *parser;

/* One line of input: what record.c would split (the body; USER_AVC's text), and the line's
 * rest after the stamp with auditd's 0x1d interpretations still on. */
static void diff_line(const char *line, size_t len, bool mutate) {
        LineInfo info;
        Record rec;
        const char *inner;

        /* the whole parser must not fail on it either way */
        if (record_parse(parser, line, len, &rec) == 0)
                record_done(&rec);

        if (line_form_classify(line, len, &info) < 0 || info.body_len == 0)
                return;
        diff_body(info.body, info.body_len);
        diff_body(info.body, (size_t) (line + len - info.body));
        inner = memmem(info.body, info.body_len, "msg='", 5);
        if (inner) {
                const char *close;
                inner += 5;
                close = memrchr(inner, '\'', (size_t) (info.body + info.body_len - inner));
                if (close)
                        diff_body_grammar(inner, (size_t) (close - inner), true);
        }
        if (mutate && first_time(info.body, info.body_len))
                diff_mutations(info.body, info.body_len);
}

static void diff_text(const char *text, size_t len, bool mutate) {
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *e = nl ?: end;
                diff_line(p, (size_t) (e - p), mutate);
                p = nl ? nl + 1 : end;
        }
}

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "rb");
        char *buf;
        size_t n;

        CHECK(f);
        buf = malloc(1024 * 1024);
        CHECK(buf);
        n = fread(buf, 1, 1024 * 1024, f);
        fclose(f);
        *ret_len = n;
        return buf;
}

static unsigned diff_tree(const char *path, bool mutate) {
        struct stat st;
        unsigned files = 0;

        CHECK(stat(path, &st) == 0);
        if (S_ISDIR(st.st_mode)) {
                DIR *d = opendir(path);
                struct dirent *de;
                CHECK(d);
                while ((de = readdir(d))) {
                        char child[4096];
                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
                        files += diff_tree(child, mutate);
                }
                closedir(d);
                return files;
        }
        if (strstr(path, ".jsonl") || strstr(path, ".md"))
                return 0;
        size_t len;
        char *text = read_file(path, &len);
        diff_text(text, len, mutate);
        free(text);
        return 1;
}

/* Generated bodies: audit-like words in random order, seeded (the same bodies every run). */
static const char *const words[] = {
        "avc:",        "denied",     "granted",
        "{",           "}",          "read",
        "write",       "for",        "pid=12",
        "comm=\"a",    "b\"",        "comm=\"x\"",
        "name=",       "path=/a",    "scontext=system_u:system_r:container_t:s0:c1,c2",
        "tclass=file", "msg='",      "msg=audit(1.2:3):",
        "key=",        "key=(null)", "key=\"k\"",
        "key=6101",    "key=00",     "key=0",
        "key=610162",  "key=fg",     "(none)",
        "x=(none)",    "x=(null)",   "x=(a)",
        "x=a):',",     "(pid=1",     "=",
        "==",          "a=b=c",      "'",
        ":",           "seresult=x", "seperms=y",
        "exe=2F62",    "\x1d",       "\xc3\xa9=1",
        "t=\t",        "{read",      "}x",
        "avcx",        "av",         "msg='avc:",
        "msg=",        "msg='a",     "msg=b",
};

static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static void diff_generated(unsigned count) {
        char buf[1024];

        for (unsigned i = 0; i < count; i++) {
                size_t len = 0;
                unsigned n = (unsigned) (rng() % 12);
                for (unsigned k = 0; k < n; k++) {
                        const char *w = words[rng() % ELEMENTSOF(words)];
                        size_t wl = strlen(w);
                        unsigned blanks = (unsigned) (rng() % 3);
                        if (len + wl + blanks >= sizeof(buf))
                                break;
                        memset(buf + len, ' ', blanks);
                        len += blanks;
                        memcpy(buf + len, w, wl);
                        len += wl;
                }
                diff_body(buf, len);
        }
}

/* auparse's permissions buffer is 256 bytes: lists of every total length around it. */
static void diff_bounds(void) {
        static char buf[300 * 1024];
        size_t len;

        for (size_t word = 1; word <= 260; word++)
                for (size_t count = 1; count * (word + 1) < 600; count++) {
                        len = (size_t) snprintf(buf, sizeof(buf), "avc:  denied  {");
                        for (size_t c = 0; c < count; c++) {
                                buf[len++] = ' ';
                                memset(buf + len, 'p', word);
                                len += word;
                        }
                        len += (size_t) snprintf(buf + len, sizeof(buf) - len,
                                                 " } for pid=1 tclass=file");
                        diff_body(buf, len);
                        diff_body(buf, len - strlen(" } for pid=1 tclass=file"));
                }

        /* an overlong value: 256 KiB, four times RECORD_LINE_MAX */
        len = (size_t) snprintf(buf, sizeof(buf), "avc: denied { read } for name=");
        memset(buf + len, 'n', 256 * 1024);
        len += 256 * 1024;
        diff_body(buf, len);

        /* hundreds of fields (auparse grows its array from 36) */
        len = 0;
        for (int i = 0; i < 500; i++)
                len += (size_t) snprintf(buf + len, sizeof(buf) - len, "f%d=%d ", i, i);
        diff_body(buf, len);

        /* only blanks, nothing */
        diff_body("", 0);
        diff_body("     ", 5);
}

/* Some of auparse's rules, spelled out (and each against auparse as well). */
static void check_rules(void) {
        static const char *const bodies[] = {
                "avc:  denied  { read  write } for pid=1",
                "(a=1): b=(null) c=(x) d= e=:",
                "comm=\"a b\" x=1",
                "key=6101620163 denied { read }",
                "key=00 denied { read }",
        };
        FieldList l;

        for (size_t i = 0; i < ELEMENTSOF(bodies); i++)
                diff_body(bodies[i], strlen(bodies[i]));

        CHECK_RC(record_fields_list("avc:  denied  { read  write } for pid=1", 39, true, &l), 0);
        CHECK_RC(l.n, 3);
        CHECK_STREQ(l.fields[0].name, "seresult");
        CHECK_STREQ(l.fields[0].value, "denied");
        CHECK_STREQ(l.fields[1].name, "seperms");
        CHECK_STREQ(l.fields[1].value, "read,write");
        CHECK_STREQ(l.fields[2].value, "1");
        field_list_clear(&l);

        /* trailing punctuation, "(null)" kept, a leading '(' off the name, empty values */
        CHECK_RC(record_fields_list("(a=1): b=(null) c=(x) d= e=:", 28, false, &l), 0);
        CHECK_RC(l.n, 4);
        CHECK_STREQ(l.fields[0].name, "a");
        CHECK_STREQ(l.fields[0].value, "1");
        CHECK_STREQ(l.fields[1].value, "(null)");
        CHECK_STREQ(l.fields[2].value, "(x");
        CHECK_STREQ(l.fields[3].name, "e");
        CHECK_STREQ(l.fields[3].value, "");
        field_list_clear(&l);

        /* a quoted value with a blank is cut there */
        CHECK_RC(record_fields_list("comm=\"a b\" x=1", 14, false, &l), 0);
        CHECK_RC(l.n, 2);
        CHECK_STREQ(l.fields[0].value, "\"a");
        field_list_clear(&l);

        /* key= counts as as many fields as its virtual keys: the verdict moves */
        CHECK_RC(record_fields_list("key=6101620163 denied { read }", 30, true, &l), 0);
        CHECK_RC(l.n, 0);
        CHECK_RC(record_fields_list("key=00 denied { read }", 22, true, &l), 0);
        CHECK_RC(l.n, 2);
        field_list_clear(&l);

        /* permissions past 255 bytes refuse the record */
        {
                char buf[400];
                size_t len = (size_t) snprintf(buf, sizeof(buf), "avc: denied { %0300d }", 0);
                CHECK_RC(record_fields_list(buf, len, true, &l), -EBADMSG);
        }
}

static void check_nul_refused(void) {
        static const char line[] =
                "type=AVC msg=audit(1.000:1): avc:  denied  { read } for pid=1 comm=\"a\" "
                "scontext=system_u:system_r:container_t:s0:c1,c2 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0";
        char buf[sizeof(line) + 1];
        Record rec;

        CHECK_RC(record_parse(parser, line, sizeof(line) - 1, &rec), 0);
        CHECK(rec.kind == RECORD_DENIAL);
        record_done(&rec);
        for (size_t i = 0; i < sizeof(line) - 1; i++) {
                memcpy(buf, line, i);
                buf[i] = '\0';
                memcpy(buf + i + 1, line + i, sizeof(line) - 1 - i);
                CHECK_RC(record_parse(parser, buf, sizeof(line), &rec), -EBADMSG);
        }
}

/* record.c's own integer parser against strtoll() as it used before, on pid= of a denial. */
static int64_t strtoll_reference(const char *v) {
        char *end;
        long long x;

        if (!((*v >= '0' && *v <= '9') || *v == '-'))
                return -1;
        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno != 0 || *end != '\0' || end == v)
                return -1;
        return x;
}

static void check_integers(void) {
        static const char *const pids[] = {
                "0",
                "1",
                "-1",
                "-0",
                "007",
                "+5",
                "-",
                "--5",
                "5-",
                "12a",
                "4294967295",
                "9223372036854775807",
                "9223372036854775808",
                "-9223372036854775808",
                "-9223372036854775809",
                "18446744073709551615",
                "18446744073709551616",
                "99999999999999999999999",
                "\t5",
                "5\t",
                "(none)",
        };

        for (size_t i = 0; i < ELEMENTSOF(pids); i++) {
                char line[512];
                Record rec;
                int want;
                int n = snprintf(line, sizeof(line),
                                 "type=AVC msg=audit(1.000:1): avc:  denied  { read } for pid=%s "
                                 "scontext=system_u:system_r:container_t:s0:c1,c2 "
                                 "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=%s",
                                 pids[i], pids[i]);
                CHECK_RC(record_parse(parser, line, (size_t) n, &rec), 0);
                if (rec.avc.pid != strtoll_reference(pids[i])) {
                        fprintf(stderr, "pid=%s: %" PRId64 ", strtoll: %" PRId64 "\n", pids[i],
                                rec.avc.pid, strtoll_reference(pids[i]));
                        exit(1);
                }
                /* permissive= as record.c reads it: the integer cut to an int, then 0 or 1 */
                want = (int) strtoll_reference(pids[i]);
                CHECK_RC(rec.avc.permissive, want == 0 || want == 1 ? want : -1);
                record_done(&rec);
        }
}

/* The parser lends its block to one Record at a time: Records held together stay intact. */
static void check_records_held_together(void) {
        static const char *const lines[] = {
                "type=AVC msg=audit(1.000:1): avc:  denied  { read } for pid=1 comm=\"a\" "
                "scontext=system_u:system_r:container_t:s0:c1,c2 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=file",
                "type=AVC msg=audit(1.000:2): avc:  denied  { write } for pid=2 comm=\"b\" "
                "scontext=system_u:system_r:container_t:s0:c3,c4 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=dir",
                "type=AVC msg=audit(1.000:3): avc:  denied  { open } for pid=3 comm=\"c\" "
                "scontext=system_u:system_r:container_t:s0:c5,c6 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=sock_file",
        };
        Record a, b, c;

        CHECK_RC(record_parse(parser, lines[0], strlen(lines[0]), &a), 0);
        CHECK(a.lender == parser);
        CHECK_RC(record_parse(parser, lines[1], strlen(lines[1]), &b), 0);
        CHECK(!b.lender); /* the block is a's: b has its own */
        CHECK_STREQ(a.avc.comm, "a");
        CHECK_STREQ(a.avc.tclass, "file");
        CHECK_STREQ(b.avc.comm, "b");
        record_done(&a);
        CHECK_RC(record_parse(parser, lines[2], strlen(lines[2]), &c), 0);
        CHECK(c.lender == parser); /* given back by a */
        CHECK_STREQ(b.avc.permissions, "write");
        CHECK_STREQ(b.avc.tclass, "dir");
        CHECK_STREQ(c.avc.comm, "c");
        CHECK_STREQ(c.avc.tclass, "sock_file");
        record_done(&b);
        record_done(&c);
}

/* The record types every denial brings, which line-form.c finds ahead of its table search,
 * and USER_AVCs whose sender's part holds quotes before msg=', or tabs. */
static void check_types_and_user_avc(void) {
        static const struct {
                const char *name;
                int type;
        } types[] = {
                {"AVC", AUDIT_TYPE_AVC},
                {"EOE", AUDIT_TYPE_EOE},
                {"CWD", AUDIT_TYPE_CWD},
                {"PATH", AUDIT_TYPE_PATH},
                {"SYSCALL", AUDIT_TYPE_SYSCALL},
                {"USER_AVC", AUDIT_TYPE_USER_AVC},
                {"PROCTITLE", AUDIT_TYPE_PROCTITLE},
                {"SELINUX_ERR", AUDIT_TYPE_SELINUX_ERR},
                {"MAC_POLICY_LOAD", AUDIT_TYPE_MAC_POLICY_LOAD},
                {"AVCX", 0},
                {"PATHS", 0},
        };
        static const char *const user_avc[] = {
                "type=USER_AVC msg=audit(1.000:1): pid=7 uid=0 subj=system_u:system_r:init_t:s0 "
                "msg='avc:  denied  { start } for pid=9 comm=\"c\" "
                "scontext=system_u:system_r:container_t:s0:c1,c2 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=service'",
                "type=USER_AVC msg=audit(1.000:1): pid=7 uid=0 x='y msg=z' "
                "subj=system_u:system_r:init_t:s0 msg='avc:  denied  { start } for pid=9 "
                "comm=\"c\" scontext=system_u:system_r:container_t:s0:c1,c2 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=service'",
                /* tabs between the sender's fields: words end there too */
                "type=USER_AVC msg=audit(1.000:1): pid=7\tuid=0\tsubj=system_u:system_r:init_t:s0 "
                "msg='avc:  denied  { start } for pid=9 comm=\"c\" "
                "scontext=system_u:system_r:container_t:s0:c1,c2 "
                "tcontext=system_u:object_r:etc_t:s0 tclass=service'",
        };

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                char line[128];
                LineInfo info;
                int n = snprintf(line, sizeof(line), "type=%s msg=audit(1.000:1): x=1",
                                 types[i].name);
                CHECK_RC(line_form_classify(line, (size_t) n, &info), 0);
                CHECK_RC(info.type, types[i].type);
        }
        for (size_t i = 0; i < ELEMENTSOF(user_avc); i++) {
                Record rec;
                CHECK_RC(record_parse(parser, user_avc[i], strlen(user_avc[i]), &rec), 0);
                CHECK(rec.kind == RECORD_DENIAL);
                CHECK_RC(rec.avc.pid, 9);
                CHECK_RC(rec.avc.sender_pid, 7);
                CHECK_STREQ(rec.avc.sender_subj, "system_u:system_r:init_t:s0");
                CHECK_STREQ(rec.avc.permissions, "start");
                record_done(&rec);
        }
}

int main(void) {
        const char *corpus = getenv("AVCWATCH_CORPUS_DIR"), *data = getenv("AVCWATCH_TEST_DATA");
        char fuzz[4096];
        unsigned files;

        CHECK_RC(record_parser_new(&parser), 0);
        check_rules();
        check_nul_refused();
        check_integers();
        check_records_held_together();
        check_types_and_user_avc();
        diff_bounds();
        diff_generated(50000);

        if (!corpus || !data)
                SKIP("AVCWATCH_CORPUS_DIR and AVCWATCH_TEST_DATA not set (run through ctest)");
        files = diff_tree(corpus, true);
        CHECK(files > 10);
        snprintf(fuzz, sizeof(fuzz), "%s/../../fuzz/corpus/record", data);
        files += diff_tree(fuzz, false);
        snprintf(fuzz, sizeof(fuzz), "%s/../../fuzz/corpus/record-fields-diff", data);
        files += diff_tree(fuzz, false);

        printf("%u files, %zu distinct bodies mutated, %lu bodies compared (%lu refused by both)\n",
               files, n_seen, compared, refused);
        for (size_t i = 0; i < n_seen; i++)
                free(seen[i]);
        free(seen);
        record_parser_free(parser);
        return 0;
}
