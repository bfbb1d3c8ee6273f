/* SPDX-License-Identifier: MIT */
/* Record parser: one line of audit text in, one typed Record out.
 *
 * Decisions:
 * - The line is classified first (line-form.c: stamp, type, body), then the body of a record
 *   we use is split into fields by record-fields.c, which splits it exactly as libauparse (3.0)
 *   does (its rules, and why they are kept, are there), in one pass without a copy.
 *   libauparse itself is off the hot path: fed one canonical line per record, it cost half of
 *   the parsing (about 15 % of all instructions per stored denial), in copies and allocations.
 * - Records we do not use are never split (speed, and less attack surface). EOE and other
 *   records without a body need no fields.
 * - A denial is only a RECORD_DENIAL when complete: verdict, permissions, both contexts valid
 *   and a class. Anything less is malformed, because a half-parsed denial stored as a real one
 *   (wrapped or truncated lines are common in the wild) would mislead the administrator.
 * - USER_AVC: the denied subject is described inside msg='...', not by the sender's fields, so
 *   the inner text is parsed with the AVC grammar on its own. The sender's pid= and subj= (the
 *   kernel's, before msg=) are kept apart: the text inside is only the sender's claim, and who
 *   sent it decides whether it is believed (daemon/attribution/attributor.c).
 * - Untrusted values are decoded (quotes stripped, upper-case hex decoded) but their bytes are
 *   kept: escaping for a terminal is the output layer's job. NUL bytes cannot be kept in C
 *   strings: '@' at the start of a path (abstract socket), ' ' elsewhere.
 * - All strings of one Record live in one block sized from the line: the parser's own, lent to
 *   one Record at a time (no malloc, no free per record), or one allocation when a caller holds
 *   two Records of one parser at once. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "macro.h"
#include "record-fields.h"
#include "record.h"

/* Room in a Record's storage beyond the body's own bytes: the node's NUL and the constant
 * strings ("denied", "error" ...) that do not come from the body. Every decoded value is at most
 * as long as its "key=value" token, so body_len bytes hold all values and their NULs. */
#define RECORD_STORAGE_SLACK 64
/* The most a record's storage needs: node, its NUL, body (both within the line) and the slack. */
#define RECORD_STORAGE_MAX (RECORD_LINE_MAX + 1 + RECORD_STORAGE_SLACK)

struct RecordParser {
        RecordFields fields; /* reused: it holds the permissions' buffer */
        /* Lent to one Record at a time as its storage, so that the common case (parse, use,
         * record_done(), parse the next) costs no malloc and no free; a Record parsed while
         * another still holds it gets an allocation of its own. */
        bool lent;
        char storage[RECORD_STORAGE_MAX];
};

/* A bump allocator over the Record's storage block. */
typedef struct Storage {
        char *buf;
        size_t size, used;
} Storage;

typedef enum ValueKind {
        VALUE_PLAIN,     /* contexts, classes, numbers: copied as they are */
        VALUE_UNTRUSTED, /* comm, proctitle: quotes stripped, hex decoded, NUL -> ' ' */
        VALUE_PATH,      /* path, name, exe, cwd: as UNTRUSTED, but a leading NUL -> '@' */
} ValueKind;

int record_parser_new(RecordParser **ret) {
        RecordParser *p;

        if (!ret)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

RecordParser *record_parser_free(RecordParser *p) {
        free(p);
        return NULL;
}

void record_done(Record *r) {
        if (!r)
                return;
        if (r->lender)
                r->lender->lent = false;
        else
                free(r->storage);
        *r = (Record){};
}

static const char *storage_add(Storage *s, const char *v, size_t n) {
        char *d;

        if (n + 1 > s->size - s->used)
                return NULL;
        d = s->buf + s->used;
        memcpy(d, v, n);
        d[n] = '\0';
        s->used += n + 1;
        return d;
}

static int unhex_upper(char c) {
        /* The kernel writes hex with upper-case digits (audit_log_n_hex); an unquoted lower-case
         * word such as "cafe" is a plain value, not hex. */
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static bool is_upper_hex(const char *v, size_t n) {
        if (n == 0 || n % 2 != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (unhex_upper(v[i]) < 0)
                        return false;
        return true;
}

/* Decodes hex into storage, replacing NUL bytes. */
static const char *storage_add_hex(Storage *s, const char *v, size_t n, ValueKind kind) {
        size_t len = n / 2;
        char *d;

        if (len + 1 > s->size - s->used)
                return NULL;
        d = s->buf + s->used;
        for (size_t i = 0; i < len; i++)
                d[i] = (char) (unhex_upper(v[2 * i]) << 4 | unhex_upper(v[2 * i + 1]));
        if (kind == VALUE_UNTRUSTED)
                /* proctitle's arguments end in NUL: drop the trailing ones */
                while (len > 0 && d[len - 1] == '\0')
                        len--;
        for (size_t i = 0; i < len; i++)
                if (d[i] == '\0')
                        d[i] = (i == 0 && kind == VALUE_PATH) ? '@' : ' ';
        d[len] = '\0';
        s->used += len + 1;
        return d;
}

/* Decodes one value (length n) into storage. *ret is NULL for the "unknown" spellings. Returns
 * -EBADMSG for a broken quoted value (fields split `"a b"` at the space: a kernel never writes
 * that, so it is garbage), -ENOBUFS when storage is full. Inline: it runs for every field kept,
 * and as a call its prologue and epilogue were a fifth of its cost. */
static _always_inline_ int storage_add_value(Storage *s, const char *v, size_t n, ValueKind kind,
                                             bool interpreted, const char **ret) {
        const char *d;

        if (!v || (n == 1 && v[0] == '?') || (n == 6 && memcmp(v, "(null)", 6) == 0)) {
                *ret = NULL;
                return 0;
        }
        /* n == 0: a value the split emptied of its trailing punctuation ("pid=:") */
        if (n > 0 && v[0] == '"') {
                if (n < 2 || v[n - 1] != '"')
                        return -EBADMSG;
                d = storage_add(s, v + 1, n - 2);
        } else if (kind != VALUE_PLAIN && !interpreted && is_upper_hex(v, n))
                d = storage_add_hex(s, v, n, kind);
        else
                d = storage_add(s, v, n);
        if (!d)
                return -ENOBUFS;
        *ret = d;
        return 0;
}

/* A decimal integer, the whole string; -1 when it is none or out of range (as strtoll() would
 * refuse it: the sign, then digits only, no blanks, no '+'). */
static int64_t parse_int(const char *v) {
        const char *p = v;
        uint64_t x = 0;
        bool negative;

        if (!v)
                return -1;
        negative = *p == '-';
        if (negative)
                p++;
        if (*p < '0' || *p > '9')
                return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
                /* x * 10 + d beyond UINT64_MAX (without the division that asked it before) */
                if (__builtin_mul_overflow(x, 10, &x) ||
                    __builtin_add_overflow(x, (unsigned) (*p - '0'), &x))
                        return -1;
        }
        if (*p != '\0')
                return -1;
        if (negative)
                return x > (uint64_t) INT64_MAX + 1 ? -1 : (int64_t) (0 - x);
        return x > (uint64_t) INT64_MAX ? -1 : (int64_t) x;
}

static const char *skip_blanks(const char *p, const char *end) {
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        return p;
}

enum {
        F_RESULT,
        F_PERMS,
        F_PID,
        F_COMM,
        F_EXE,
        F_PATH,
        F_NAME,
        F_SCONTEXT,
        F_TCONTEXT,
        F_TCLASS,
        F_PERMISSIVE,
        F_OLDCONTEXT,
        F_NEWCONTEXT,
        F_TASKCONTEXT,
        F_APPARMOR,
        F_SYSCALL,
        F_PPID,
        F_UID,
        F_SUCCESS,
        F_ITEM,
        F_ERR_PERMS,
        _F_MAX,
};

/* How each field's value is decoded. */
static const ValueKind field_kind[_F_MAX] = {
        [F_COMM] = VALUE_UNTRUSTED,
        [F_EXE] = VALUE_PATH,
        [F_PATH] = VALUE_PATH,
        [F_NAME] = VALUE_PATH, /* every other field: VALUE_PLAIN */
};

/* The field a name stands for, or -1: by length first, since most names of a record (a0=,
 * auid=, ses= ...) are none of ours. */
static int field_lookup(const char *name, size_t n) {
#define IS(s) (memcmp(name, s, sizeof(s) - 1) == 0)
        switch (n) {
        case 3:
                return IS("pid") ? F_PID : IS("exe") ? F_EXE : IS("uid") ? F_UID : -1;
        case 4:
                return IS("comm")   ? F_COMM
                       : IS("path") ? F_PATH
                       : IS("name") ? F_NAME
                       : IS("ppid") ? F_PPID
                       : IS("item") ? F_ITEM
                                    : -1;
        case 5:
                return IS("perms") ? F_ERR_PERMS : -1; /* SELINUX_ERR: "read,write" */
        case 6:
                return IS("tclass") ? F_TCLASS : -1;
        case 7:
                return IS("seperms")   ? F_PERMS
                       : IS("syscall") ? F_SYSCALL
                       : IS("success") ? F_SUCCESS
                                       : -1;
        case 8:
                return IS("seresult")   ? F_RESULT
                       : IS("scontext") ? F_SCONTEXT
                       : IS("tcontext") ? F_TCONTEXT
                       : IS("apparmor") ? F_APPARMOR
                                        : -1;
        case 10:
                return IS("permissive")   ? F_PERMISSIVE
                       : IS("oldcontext") ? F_OLDCONTEXT
                       : IS("newcontext") ? F_NEWCONTEXT
                                          : -1;
        case 11:
                return IS("taskcontext") ? F_TASKCONTEXT : -1;
        default:
                return -1;
        }
#undef IS
}

/* Splits BODY into fields (record-fields.c) and decodes the first occurrence of each field we
 * know into storage. values[] must have _F_MAX entries; found[] says which were present.
 * avc_grammar: an AVC's body (or a USER_AVC's text), with its unnamed verdict and permissions. */
static int collect_fields(RecordParser *p, Storage *s, const char *body, size_t len,
                          bool avc_grammar, bool interpreted, const char **values, bool *found) {
        RecordField field;
        int r;

        /* A record is one line: an embedded newline is two records run together. */
        if (memchr(body, '\n', len))
                return -EBADMSG;
        /* every body here is a LineInfo's (or the text inside a USER_AVC's), which ends before
         * any 0x1d */
        record_fields_init_uncut(&p->fields, body, len, avc_grammar);
        while ((r = record_fields_next(&p->fields, &field)) > 0) {
                int f = field_lookup(field.name, field.name_len);

                if (f < 0 || found[f])
                        continue;
                r = storage_add_value(s, field.value, field.value_len, field_kind[f], interpreted,
                                      &values[f]);
                if (r < 0)
                        return r;
                found[f] = true;
        }
        return r;
}

static bool is_blank_text(const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
                        return false;
        return true;
}

/* Body of an AVC (or, user_avc, the inner text of a USER_AVC). Returns 1 for an AppArmor
 * record. */
static int parse_avc_body(RecordParser *p, Storage *s, const char *body, size_t len,
                          bool interpreted, bool user_avc, AvcFields *ret) {
        const char *v[_F_MAX] = {};
        bool found[_F_MAX] = {};
        const char *q, *end = body + len;
        ContextParts sparts, tparts;
        char *perms;
        int r;

        q = skip_blanks(body, end);
        /* AppArmor writes its records as type 1400 too; they begin with apparmor="..." */
        if ((size_t) (end - q) >= 9 && memcmp(q, "apparmor=", 9) == 0)
                return 1;

        r = collect_fields(p, s, body, len, true, interpreted, v, found);
        if (r < 0)
                return r;
        if (found[F_APPARMOR])
                return 1;

        if (!v[F_RESULT] ||
            !(strcmp(v[F_RESULT], "denied") == 0 || strcmp(v[F_RESULT], "granted") == 0))
                return -EBADMSG;
        if (!v[F_PERMS] || v[F_PERMS][0] == '\0')
                return -EBADMSG;
        if (context_locate(v[F_SCONTEXT], &sparts) < 0 ||
            context_locate(v[F_TCONTEXT], &tparts) < 0)
                return -EBADMSG;
        if (!v[F_TCLASS] || v[F_TCLASS][0] == '\0')
                return -EBADMSG;

        /* the field split joins the permissions with commas; the record and our users use
         * spaces */
        perms = (char *) v[F_PERMS]; /* points into our own storage */
        for (char *c = perms; *c; c++)
                if (*c == ',')
                        *c = ' ';

        *ret = (AvcFields){
                .result = v[F_RESULT],
                .permissions = perms,
                .pid = parse_int(v[F_PID]),
                .comm = v[F_COMM],
                .exe = v[F_EXE],
                .path = v[F_PATH],
                .name = v[F_NAME],
                .scontext = v[F_SCONTEXT],
                .tcontext = v[F_TCONTEXT],
                .tclass = v[F_TCLASS],
                .permissive = v[F_PERMISSIVE] ? (int) parse_int(v[F_PERMISSIVE]) : -1,
                .sender_pid = -1,
                .scontext_parts = sparts,
                .tcontext_parts = tparts,
        };
        if (ret->permissive != 0 && ret->permissive != 1)
                ret->permissive = -1;
        if (user_avc)
                /* libaudit's audit_log_user_avc_message() ends the text with the sender's own
                 * exe= (dbus-daemon, systemd), never the denied subject's. (dbus's spid= is not
                 * taken for pid either: pid is what the message says pid= of, as auditd's tools
                 * read it.) */
                ret->exe = NULL;
        return 0;
}

/* The first "msg='" in [p, end), found by its quotes: the sender's fields before it hold none
 * as the kernel writes them, so the first quote is usually the one (memmem() cost a twentieth
 * of a USER_AVC's parsing). */
static const char *find_msg_quote(const char *p, const char *end) {
        for (const char *q = p; (q = memchr(q, '\'', (size_t) (end - q))); q++)
                if (q - p >= 4 && memcmp(q - 4, "msg=", 4) == 0)
                        return q - 4;
        return NULL;
}

/* The sender's fields the kernel writes before msg=' (audit_log_common_recv_msg()): "pid=N
 * uid=N auid=N ses=N subj=CONTEXT ", subj= only with an LSM. Only pid= and subj= are kept; both
 * are the kernel's, unlike anything inside msg='...', which the sender writes. */
static int parse_user_avc_sender(Storage *s, const char *p, const char *end, int64_t *ret_pid,
                                 const char **ret_subj) {
        /* Words end at a blank; without a tab anywhere (as the kernel writes them), memchr()
         * finds the end faster than a walk over the bytes. */
        bool tabs = memchr(p, '\t', (size_t) (end - p)) != NULL;

        *ret_pid = -1;
        *ret_subj = NULL;
        while ((p = skip_blanks(p, end)) < end) {
                const char *tok = p, *v;
                size_t n;

                if (tabs)
                        while (p < end && *p != ' ' && *p != '\t')
                                p++;
                else
                        p = memchr(p, ' ', (size_t) (end - p)) ?: end;
                /* A word's name is what lies before its first '=': "pid" is the word's start
                 * "pid=", so no search for the '=' (the other words, without one or not ours,
                 * are skipped). */
                if (*ret_pid < 0 && (size_t) (p - tok) >= 4 && memcmp(tok, "pid=", 4) == 0) {
                        int64_t pid = 0;

                        v = tok + 4;
                        n = (size_t) (p - v);
                        for (size_t i = 0; i < n; i++) {
                                if (v[i] < '0' || v[i] > '9' || pid > INT32_MAX)
                                        return 0; /* not a pid: keep it unknown */
                                pid = pid * 10 + (v[i] - '0');
                        }
                        if (n > 0)
                                *ret_pid = pid;
                } else if (!*ret_subj && (size_t) (p - tok) > 5 && memcmp(tok, "subj=", 5) == 0) {
                        *ret_subj = storage_add(s, tok + 5, (size_t) (p - tok - 5));
                        if (!*ret_subj)
                                return -ENOBUFS;
                }
        }
        return 0;
}

/* USER_AVC: pid=.. uid=.. ... msg='avc:  denied  { ... } for ... ' */
static int parse_user_avc(RecordParser *p, Storage *s, const char *body, size_t len,
                          bool interpreted, AvcFields *ret) {
        const char *end = body + len, *inner, *close, *q;
        const char *sender_subj;
        int64_t sender_pid;
        int r;

        inner = find_msg_quote(body, end);
        if (!inner)
                return -EBADMSG;
        inner += 5;
        close = memrchr(inner, '\'', (size_t) (end - inner));
        if (!close)
                return -EBADMSG; /* truncated */

        /* Only verdicts are denials: "avc:  received policyload notice", "avc:  op=load_policy"
         * and the like are status messages. */
        q = skip_blanks(inner, close);
        if ((size_t) (close - q) < 4 || memcmp(q, "avc:", 4) != 0)
                return 1;
        q = skip_blanks(q + 4, close);
        if (!((size_t) (close - q) >= 6 && memcmp(q, "denied", 6) == 0) &&
            !((size_t) (close - q) >= 7 && memcmp(q, "granted", 7) == 0))
                return 1;

        r = parse_user_avc_sender(s, body, inner - 5, &sender_pid, &sender_subj);
        if (r < 0)
                return r;
        r = parse_avc_body(p, s, inner, (size_t) (close - inner), interpreted, true, ret);
        if (r != 0)
                return r;
        ret->sender_pid = sender_pid;
        ret->sender_subj = sender_subj;
        return 0;
}

static int parse_selinux_err(RecordParser *p, Storage *s, const char *body, size_t len,
                             bool interpreted, AvcFields *ret) {
        const char *v[_F_MAX] = {};
        bool found[_F_MAX] = {};
        const char *scon, *tcon;
        ContextParts sparts = {}, tparts = {};
        int r;

        r = collect_fields(p, s, body, len, false, interpreted, v, found);
        if (r < 0)
                return r;

        /* Bounded transitions name the contexts oldcontext/newcontext (the process's old and
         * new domain). A refused relabel (op=security_validate_transition) names the file's
         * oldcontext/newcontext and the process as taskcontext: that is the subject. Contexts
         * that do not parse are dropped rather than handed on. */
        scon = v[F_SCONTEXT] ?: v[F_TASKCONTEXT] ?: v[F_OLDCONTEXT];
        tcon = v[F_TCONTEXT] ?: v[F_NEWCONTEXT];
        if (scon && context_locate(scon, &sparts) < 0)
                scon = NULL;
        if (tcon && context_locate(tcon, &tparts) < 0)
                tcon = NULL;
        if (!scon && !tcon)
                return -EBADMSG;

        /* op=security_compute_av (a permission beyond a typebound) lists the refused permissions
         * comma separated, as security_dump_masked_av() writes them; we use spaces. */
        if (v[F_ERR_PERMS] && v[F_ERR_PERMS][0] != '\0')
                for (char *c = (char *) v[F_ERR_PERMS]; *c; c++) /* our own storage */
                        if (*c == ',')
                                *c = ' ';

        *ret = (AvcFields){
                .result = storage_add(s, "error", 5),
                .permissions = v[F_ERR_PERMS] && v[F_ERR_PERMS][0] ? v[F_ERR_PERMS] : NULL,
                .pid = parse_int(v[F_PID]),
                .comm = v[F_COMM],
                .exe = v[F_EXE],
                .scontext = scon,
                .tcontext = tcon,
                .tclass = v[F_TCLASS] && v[F_TCLASS][0] ? v[F_TCLASS] : NULL,
                .permissive = -1,
                .sender_pid = -1,
                .scontext_parts = sparts,
                .tcontext_parts = tparts,
        };
        if (!ret->result)
                return -ENOBUFS;
        return 0;
}

static int parse_syscall(RecordParser *p, Storage *s, const char *body, size_t len,
                         bool interpreted, SyscallFields *ret) {
        const char *v[_F_MAX] = {};
        bool found[_F_MAX] = {};
        int r;

        r = collect_fields(p, s, body, len, false, interpreted, v, found);
        if (r < 0)
                return r;
        if (!found[F_SYSCALL])
                return -EBADMSG;

        *ret = (SyscallFields){
                .syscall = parse_int(v[F_SYSCALL]), /* -1 for an interpreted name */
                .pid = parse_int(v[F_PID]),
                .ppid = parse_int(v[F_PPID]),
                .uid = parse_int(v[F_UID]),
                .exe = v[F_EXE],
                .comm = v[F_COMM],
                .success = !v[F_SUCCESS]                      ? -1
                           : strcmp(v[F_SUCCESS], "yes") == 0 ? 1
                           : strcmp(v[F_SUCCESS], "no") == 0  ? 0
                                                              : -1,
        };
        return 0;
}

static int parse_path(RecordParser *p, Storage *s, const char *body, size_t len, bool interpreted,
                      int64_t *ret_item, const char **ret_name) {
        const char *v[_F_MAX] = {};
        bool found[_F_MAX] = {};
        int r;

        r = collect_fields(p, s, body, len, false, interpreted, v, found);
        if (r < 0)
                return r;
        if (!found[F_ITEM])
                return -EBADMSG;
        *ret_item = parse_int(v[F_ITEM]);
        *ret_name = v[F_NAME];
        return 0;
}

/* CWD and PROCTITLE hold a single value, which the field split would cut at blanks in the
 * `ausearch -i` form; they are read directly: `key=VALUE`, the value up to the first blank
 * (raw) or the whole rest of the body (interpreted, already decoded). */
static int parse_single_value(Storage *s, const char *body, size_t len, const char *key,
                              ValueKind kind, bool interpreted, const char **ret) {
        const char *end = body + len, *q, *e;
        size_t klen = strlen(key);

        q = skip_blanks(body, end);
        if ((size_t) (end - q) < klen || memcmp(q, key, klen) != 0)
                return -EBADMSG;
        q += klen;
        if (interpreted) {
                e = end;
                while (e > q && (e[-1] == ' ' || e[-1] == '\t'))
                        e--;
        } else {
                e = q;
                while (e < end && *e != ' ' && *e != '\t')
                        e++;
        }
        return storage_add_value(s, q, (size_t) (e - q), kind, interpreted, ret);
}

static bool type_has_fields(int type) {
        switch (type) {
        case AUDIT_TYPE_AVC:
        case AUDIT_TYPE_USER_AVC:
        case AUDIT_TYPE_SELINUX_ERR:
        case AUDIT_TYPE_SYSCALL:
        case AUDIT_TYPE_PATH:
        case AUDIT_TYPE_CWD:
        case AUDIT_TYPE_PROCTITLE:
                return true;
        default:
                return false;
        }
}

/* The `ausearch -i` stamp holds a '/' (the date), a raw numeric one never does. Only the stamp
 * is looked at: a syslog prefix before the record may hold one. */
static bool stamp_is_interpreted(const char *line, const LineInfo *info) {
        size_t prefix = (size_t) (info->body - line);
        const char *stamp;

        if (info->form != LINE_FORM_RAW || !memchr(line, '/', prefix))
                return false; /* no '/' at all: the common case, without a search for the stamp */
        stamp = memmem(line, prefix, "msg=audit(", strlen("msg=audit("));
        return stamp && memchr(stamp, '/', (size_t) (info->body - stamp)) != NULL;
}

int record_parse(RecordParser *p, const char *line, size_t len, Record *ret) {
        _cleanup_(freep) char *allocated = NULL;
        Storage s = {};
        LineInfo info;
        Record rec = {};
        size_t content_len = len;
        bool interpreted;
        int r;

        if (!p || (!line && len > 0) || !ret)
                return -EINVAL;

        if (content_len > 0 && line[content_len - 1] == '\n')
                content_len--;
        if (content_len > 0 && line[content_len - 1] == '\r')
                content_len--;
        if (content_len > RECORD_LINE_MAX)
                return -EMSGSIZE;
        /* Audit text holds no NUL (the kernel hex-encodes values with one): a line with one is
         * damaged, and a C string could not carry what follows it. */
        if (memchr(line, '\0', content_len))
                return -EBADMSG;

        r = line_form_classify(line, len, &info);
        if (r < 0)
                return r;
        if (info.form == LINE_FORM_BLANK)
                return -ENODATA;

        rec.form = info.form;
        rec.type = info.type;
        rec.has_stamp = info.has_stamp;
        rec.stamp = info.stamp;
        rec.has_syslog_time = info.has_syslog_time;
        rec.syslog_time = info.syslog_time;
        if (info.has_syslog_time)
                rec.content_serial = synthetic_serial(info.body, info.body_len);

        if (info.form == LINE_FORM_SEPARATOR) {
                rec.kind = RECORD_SEPARATOR;
                rec.type = 0;
                *ret = rec;
                return 0;
        }

        if (info.node_len > 0 || type_has_fields(info.type)) {
                s.size = info.node_len + 1 + info.body_len + RECORD_STORAGE_SLACK;
                if (!p->lent && s.size <= sizeof(p->storage))
                        s.buf = p->storage;
                else {
                        allocated = s.buf = malloc(s.size);
                        if (!allocated)
                                return -ENOMEM;
                }
        }
        if (info.node_len > 0)
                rec.node = storage_add(&s, info.node, info.node_len);

        interpreted = stamp_is_interpreted(line, &info);

        switch (info.type) {
        case AUDIT_TYPE_EOE:
                rec.kind = RECORD_EOE;
                r = 0;
                break;

        case AUDIT_TYPE_AVC:
        case AUDIT_TYPE_USER_AVC:
        case AUDIT_TYPE_SELINUX_ERR:
                if (is_blank_text(info.body, info.body_len))
                        return -EBADMSG;
                if (info.type == AUDIT_TYPE_AVC)
                        r = parse_avc_body(p, &s, info.body, info.body_len, interpreted, false,
                                           &rec.avc);
                else if (info.type == AUDIT_TYPE_USER_AVC)
                        r = parse_user_avc(p, &s, info.body, info.body_len, interpreted, &rec.avc);
                else
                        r = parse_selinux_err(p, &s, info.body, info.body_len, interpreted,
                                              &rec.avc);
                if (r == 1) {
                        rec.kind = RECORD_IGNORED;
                        rec.avc = (AvcFields){};
                        r = 0;
                } else
                        rec.kind = RECORD_DENIAL;
                break;

        case AUDIT_TYPE_SYSCALL:
                if (is_blank_text(info.body, info.body_len))
                        return -EBADMSG;
                rec.kind = RECORD_SYSCALL;
                r = parse_syscall(p, &s, info.body, info.body_len, interpreted, &rec.syscall);
                break;

        case AUDIT_TYPE_PATH:
                if (is_blank_text(info.body, info.body_len))
                        return -EBADMSG;
                rec.kind = RECORD_PATH;
                r = parse_path(p, &s, info.body, info.body_len, interpreted, &rec.path.item,
                               &rec.path.name);
                break;

        case AUDIT_TYPE_CWD:
                rec.kind = RECORD_CWD;
                r = parse_single_value(&s, info.body, info.body_len, "cwd=", VALUE_PATH,
                                       interpreted, &rec.cwd);
                break;

        case AUDIT_TYPE_PROCTITLE:
                rec.kind = RECORD_PROCTITLE;
                r = parse_single_value(&s, info.body, info.body_len, "proctitle=", VALUE_UNTRUSTED,
                                       interpreted, &rec.proctitle);
                break;

        default:
                /* Well formed, but nothing we use: EXECVE, MAC_POLICY_LOAD, SECCOMP, ... */
                rec.kind = RECORD_IGNORED;
                r = 0;
                break;
        }
        if (r == -ENOBUFS)
                r = -EBADMSG; /* cannot happen by the sizing above; never hand on a half record */
        if (r < 0)
                return r;

        if (s.used > 0) {
                rec.storage = s.buf;
                rec.storage_size = s.used;
                if (s.buf == p->storage) {
                        rec.lender = p;
                        p->lent = true;
                }
                allocated = NULL; /* s.buf: the Record's now */
        }
        *ret = rec;
        return 0;
}

static const char *const record_kind_table[] = {
        [RECORD_DENIAL] = "denial",       [RECORD_SYSCALL] = "syscall",     [RECORD_CWD] = "cwd",
        [RECORD_PATH] = "path",           [RECORD_PROCTITLE] = "proctitle", [RECORD_EOE] = "eoe",
        [RECORD_SEPARATOR] = "separator", [RECORD_IGNORED] = "ignored",
};

const char *record_kind_to_string(RecordKind k) {
        if ((unsigned) k >= ELEMENTSOF(record_kind_table))
                return NULL;
        return record_kind_table[k];
}
