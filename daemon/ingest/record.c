/* SPDX-License-Identifier: MIT */
/* Record parser: one line of audit text in, one typed Record out.
 *
 * Decisions:
 * - libauparse tokenizes and handles the AVC grammar (seresult/seperms), but it is used one
 *   record at a time on a single reused AUSOURCE_BUFFER state: the feed API groups events by
 *   time and goes quadratic under a storm of stand-alone AVCs, and init/destroy per record costs
 *   ~16 us. The line is classified first (line-form.c) and auparse is given a canonical line
 *   `type=NAME msg=audit(1.000:1): BODY\n` whatever the input form was: the stamp is already
 *   known, auparse rejects the `ausearch -i` stamp, and with a zero time it returns no fields.
 * - Records we do not use are never given to auparse (speed, and less attack surface). EOE and
 *   other records without a body are handled without it as well: auparse fails on them.
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
 * - All strings of one Record live in one allocation sized from the line, so a record costs one
 *   malloc and record_done() one free. */

#include <auparse.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "macro.h"
#include "record.h"

/* Longest canonical prefix we write in front of a body: "type=SELINUX_ERR msg=audit(1.000:1): ". */
#define CANONICAL_PREFIX_MAX 64
/* The canonical text given to auparse: prefix + body + "\n" + NUL. */
#define CANONICAL_TEXT_MAX (CANONICAL_PREFIX_MAX + RECORD_LINE_MAX + 2)
/* Room in a Record's storage beyond the body's own bytes: the node's NUL and the constant
 * strings ("denied", "error" ...) that do not come from the body. Every decoded value is at most
 * as long as its "key=value" token, so body_len bytes hold all values and their NULs. */
#define RECORD_STORAGE_SLACK 64

struct RecordParser {
        auparse_state_t *au;
        char *text; /* CANONICAL_TEXT_MAX bytes */
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
        _cleanup_(freep) RecordParser *p = NULL;
        static const char seed[] = "type=EOE msg=audit(1.000:1): \n";

        if (!ret)
                return -EINVAL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->text = malloc(CANONICAL_TEXT_MAX);
        if (!p->text)
                return -ENOMEM;
        /* AUSOURCE_BUFFER needs some text to start with; every record replaces it. */
        p->au = auparse_init(AUSOURCE_BUFFER, seed);
        if (!p->au) {
                free(p->text);
                return -ENOMEM;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

RecordParser *record_parser_free(RecordParser *p) {
        if (!p)
                return NULL;
        auparse_destroy(p->au);
        free(p->text);
        free(p);
        return NULL;
}

void record_done(Record *r) {
        if (!r)
                return;
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
 * -EBADMSG for a broken quoted value (auparse splits `"a b"` at the space: a kernel never writes
 * that, so it is garbage), -ENOBUFS when storage is full. */
static int storage_add_value(Storage *s, const char *v, size_t n, ValueKind kind, bool interpreted,
                             const char **ret) {
        const char *d;

        if (!v || (n == 1 && v[0] == '?') || (n == 6 && memcmp(v, "(null)", 6) == 0)) {
                *ret = NULL;
                return 0;
        }
        /* n == 0: "key=" at the very end of the input, where v[0] is past it */
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

static int64_t parse_int(const char *v) {
        char *end;
        long long x;

        if (!v || !((*v >= '0' && *v <= '9') || *v == '-'))
                return -1;
        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno != 0 || *end != '\0' || end == v)
                return -1;
        return x;
}

static const char *skip_blanks(const char *p, const char *end) {
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        return p;
}

/* Hands "PREFIX BODY\n" to auparse and positions it on the first field. */
static int feed_auparse(RecordParser *p, const char *prefix, const char *body, size_t body_len) {
        size_t plen = strlen(prefix), n;

        if (plen > CANONICAL_PREFIX_MAX || body_len > RECORD_LINE_MAX)
                return -EMSGSIZE;
        /* An embedded newline would make auparse see two records. */
        if (memchr(body, '\n', body_len))
                return -EBADMSG;
        memcpy(p->text, prefix, plen);
        memcpy(p->text + plen, body, body_len);
        n = plen + body_len;
        p->text[n++] = '\n';
        p->text[n] = '\0';

        if (auparse_new_buffer(p->au, p->text, n) < 0)
                return -ENOMEM;
        if (auparse_next_event(p->au) <= 0)
                return -EBADMSG;
        if (auparse_first_field(p->au) <= 0)
                return -EBADMSG;
        return 0;
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

#define FIELD(n, k)                                                                                \
        { n, sizeof(n) - 1, k }
static const struct {
        const char *name;
        size_t len;
        ValueKind kind;
} field_table[_F_MAX] = {
        [F_RESULT] = FIELD("seresult", VALUE_PLAIN),
        [F_PERMS] = FIELD("seperms", VALUE_PLAIN),
        [F_PID] = FIELD("pid", VALUE_PLAIN),
        [F_COMM] = FIELD("comm", VALUE_UNTRUSTED),
        [F_EXE] = FIELD("exe", VALUE_PATH),
        [F_PATH] = FIELD("path", VALUE_PATH),
        [F_NAME] = FIELD("name", VALUE_PATH),
        [F_SCONTEXT] = FIELD("scontext", VALUE_PLAIN),
        [F_TCONTEXT] = FIELD("tcontext", VALUE_PLAIN),
        [F_TCLASS] = FIELD("tclass", VALUE_PLAIN),
        [F_PERMISSIVE] = FIELD("permissive", VALUE_PLAIN),
        [F_OLDCONTEXT] = FIELD("oldcontext", VALUE_PLAIN),
        [F_NEWCONTEXT] = FIELD("newcontext", VALUE_PLAIN),
        [F_TASKCONTEXT] = FIELD("taskcontext", VALUE_PLAIN),
        [F_APPARMOR] = FIELD("apparmor", VALUE_PLAIN),
        [F_SYSCALL] = FIELD("syscall", VALUE_PLAIN),
        [F_PPID] = FIELD("ppid", VALUE_PLAIN),
        [F_UID] = FIELD("uid", VALUE_PLAIN),
        [F_SUCCESS] = FIELD("success", VALUE_PLAIN),
        [F_ITEM] = FIELD("item", VALUE_PLAIN),
        [F_ERR_PERMS] = FIELD("perms", VALUE_PLAIN), /* SELINUX_ERR: "read,write" */
};
#undef FIELD

/* Called for every field of every record we read: compare length and first byte before the
 * bytes, most names are rejected without a string compare. */
static int field_lookup(const char *name) {
        size_t n;

        if (!name)
                return -1;
        n = strlen(name);
        for (int i = 0; i < _F_MAX; i++)
                if (n == field_table[i].len && name[0] == field_table[i].name[0] &&
                    memcmp(name, field_table[i].name, n) == 0)
                        return i;
        return -1;
}

/* Walks auparse's fields of the current record and decodes the first occurrence of each field
 * we know into storage. values[] must have _F_MAX entries; found[] says which were present. */
static int collect_fields(RecordParser *p, Storage *s, bool interpreted, const char **values,
                          bool *found) {
        int r;

        do {
                const char *name = auparse_get_field_name(p->au), *v;
                int f = field_lookup(name);

                if (f < 0 || found[f])
                        continue;
                v = auparse_get_field_str(p->au);
                r = storage_add_value(s, v, v ? strlen(v) : 0, field_table[f].kind, interpreted,
                                      &values[f]);
                if (r < 0)
                        return r;
                found[f] = true;
        } while (auparse_next_field(p->au) > 0);
        return 0;
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
        char *perms;
        int r;

        q = skip_blanks(body, end);
        /* AppArmor writes its records as type 1400 too; they begin with apparmor="..." */
        if ((size_t) (end - q) >= 9 && memcmp(q, "apparmor=", 9) == 0)
                return 1;

        r = feed_auparse(p, "type=AVC msg=audit(1.000:1): ", body, len);
        if (r < 0)
                return r;
        r = collect_fields(p, s, interpreted, v, found);
        if (r < 0)
                return r;
        if (found[F_APPARMOR])
                return 1;

        if (!v[F_RESULT] ||
            !(strcmp(v[F_RESULT], "denied") == 0 || strcmp(v[F_RESULT], "granted") == 0))
                return -EBADMSG;
        if (!v[F_PERMS] || v[F_PERMS][0] == '\0')
                return -EBADMSG;
        if (!v[F_SCONTEXT] || !context_is_valid(v[F_SCONTEXT]) || !v[F_TCONTEXT] ||
            !context_is_valid(v[F_TCONTEXT]))
                return -EBADMSG;
        if (!v[F_TCLASS] || v[F_TCLASS][0] == '\0')
                return -EBADMSG;

        /* auparse joins the permissions with commas; the record and our users use spaces */
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

static const char *find_text(const char *p, const char *end, const char *needle) {
        return memmem(p, (size_t) (end - p), needle, strlen(needle));
}

/* The sender's fields the kernel writes before msg=' (audit_log_common_recv_msg()): "pid=N
 * uid=N auid=N ses=N subj=CONTEXT ", subj= only with an LSM. Only pid= and subj= are kept; both
 * are the kernel's, unlike anything inside msg='...', which the sender writes. */
static int parse_user_avc_sender(Storage *s, const char *p, const char *end, int64_t *ret_pid,
                                 const char **ret_subj) {
        *ret_pid = -1;
        *ret_subj = NULL;
        while ((p = skip_blanks(p, end)) < end) {
                const char *tok = p, *eq;
                size_t n;

                while (p < end && *p != ' ' && *p != '\t')
                        p++;
                eq = memchr(tok, '=', (size_t) (p - tok));
                if (!eq)
                        continue;
                n = (size_t) (p - eq - 1);
                if (*ret_pid < 0 && eq - tok == 3 && memcmp(tok, "pid", 3) == 0) {
                        int64_t pid = 0;
                        for (size_t i = 0; i < n; i++) {
                                if (eq[1 + i] < '0' || eq[1 + i] > '9' || pid > INT32_MAX)
                                        return 0; /* not a pid: keep it unknown */
                                pid = pid * 10 + (eq[1 + i] - '0');
                        }
                        if (n > 0)
                                *ret_pid = pid;
                } else if (!*ret_subj && eq - tok == 4 && memcmp(tok, "subj", 4) == 0 && n > 0) {
                        *ret_subj = storage_add(s, eq + 1, n);
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

        inner = find_text(body, end, "msg='");
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
        int r;

        r = feed_auparse(p, "type=SELINUX_ERR msg=audit(1.000:1): ", body, len);
        if (r < 0)
                return r;
        r = collect_fields(p, s, interpreted, v, found);
        if (r < 0)
                return r;

        /* Bounded transitions name the contexts oldcontext/newcontext (the process's old and
         * new domain). A refused relabel (op=security_validate_transition) names the file's
         * oldcontext/newcontext and the process as taskcontext: that is the subject. Contexts
         * that do not parse are dropped rather than handed on. */
        scon = v[F_SCONTEXT] ?: v[F_TASKCONTEXT] ?: v[F_OLDCONTEXT];
        tcon = v[F_TCONTEXT] ?: v[F_NEWCONTEXT];
        if (scon && !context_is_valid(scon))
                scon = NULL;
        if (tcon && !context_is_valid(tcon))
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

        r = feed_auparse(p, "type=SYSCALL msg=audit(1.000:1): ", body, len);
        if (r < 0)
                return r;
        r = collect_fields(p, s, interpreted, v, found);
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

        r = feed_auparse(p, "type=PATH msg=audit(1.000:1): ", body, len);
        if (r < 0)
                return r;
        r = collect_fields(p, s, interpreted, v, found);
        if (r < 0)
                return r;
        if (!found[F_ITEM])
                return -EBADMSG;
        *ret_item = parse_int(v[F_ITEM]);
        *ret_name = v[F_NAME];
        return 0;
}

/* CWD and PROCTITLE hold a single value, which auparse would split at blanks in the
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

static void *mfree(void *p) {
        free(p);
        return NULL;
}

/* The `ausearch -i` stamp holds a '/' (the date), a raw numeric one never does. Only the stamp
 * is looked at: a syslog prefix before the record may hold one. */
static bool stamp_is_interpreted(const char *line, const LineInfo *info) {
        const char *stamp;

        if (info->form != LINE_FORM_RAW)
                return false;
        stamp = memmem(line, (size_t) (info->body - line), "msg=audit(", strlen("msg=audit("));
        return stamp && memchr(stamp, '/', (size_t) (info->body - stamp)) != NULL;
}

int record_parse(RecordParser *p, const char *line, size_t len, Record *ret) {
        _cleanup_(freep) char *storage = NULL;
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
        /* A NUL would end auparse's view of the line early. */
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
                storage = s.buf = malloc(s.size);
                if (!storage)
                        return -ENOMEM;
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

        if (s.used == 0)
                storage = mfree(storage);
        rec.storage = TAKE_PTR(storage);
        rec.storage_size = rec.storage ? s.size : 0;
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
