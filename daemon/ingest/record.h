/* SPDX-License-Identifier: MIT */
#pragma once

/* Record parsing: one audit record of text in, one typed Record out. Pure: the only state is
 * the RecordParser (the reused field reader of record-fields.h), no I/O, no logging, no globals.
 *
 * Untrusted strings (comm, exe, path, name, cwd, proctitle) are decoded from the audit
 * encodings: "quoted" values lose their quotes, hex-encoded values are decoded. Decoded bytes are
 * kept as they are (they may hold any byte but NUL); NUL bytes become '@' at the start of a
 * path (abstract socket) and ' ' elsewhere (proctitle argument separators). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "line-form.h"

/* The record types this program reads (values from linux/audit.h). */
#define AUDIT_TYPE_SYSCALL 1300
#define AUDIT_TYPE_PATH 1302
#define AUDIT_TYPE_CWD 1307
#define AUDIT_TYPE_EOE 1320
#define AUDIT_TYPE_PROCTITLE 1327
#define AUDIT_TYPE_USER_AVC 1107
#define AUDIT_TYPE_AVC 1400
#define AUDIT_TYPE_SELINUX_ERR 1401
#define AUDIT_TYPE_MAC_POLICY_LOAD 1403   /* the kernel loaded a policy */
#define AUDIT_TYPE_MAC_CONFIG_CHANGE 1405 /* a boolean changed */

/* Whether a record of this type says the kernel's policy changed (a load, a boolean): triage
 * reads the policy again. Such records are RECORD_IGNORED otherwise. */
static inline bool record_type_changes_policy(int type) {
        return type == AUDIT_TYPE_MAC_POLICY_LOAD || type == AUDIT_TYPE_MAC_CONFIG_CHANGE;
}

typedef struct RecordParser RecordParser;

typedef enum RecordKind {
        RECORD_DENIAL, /* AVC, USER_AVC, SELINUX_ERR with a complete SELinux verdict */
        RECORD_SYSCALL,
        RECORD_CWD,
        RECORD_PATH,
        RECORD_PROCTITLE,
        RECORD_EOE,
        RECORD_SEPARATOR, /* ausearch ---- / time-> line: closes the pending events */
        RECORD_IGNORED,   /* a well-formed record we do not use (EXECVE, AppArmor type=1400 ...) */
} RecordKind;

/* Fields of an SELinux verdict. Strings are NUL terminated and owned by the Record. */
typedef struct AvcFields {
        const char *result;      /* "denied", "granted"; "error" for SELINUX_ERR */
        const char *permissions; /* space separated, in record order; for SELINUX_ERR those of
                                  * its perms= (security_compute_av), else NULL */
        int64_t pid;             /* -1 unknown */
        const char *comm, *exe, *path, *name;
        const char *scontext, *tcontext, *tclass; /* tclass may be NULL only for SELINUX_ERR */
        int permissive;                           /* -1 when the record had no permissive= */
        /* USER_AVC: the sender's pid= and subj= from the kernel's part of the record (before
         * msg='...'); -1 / NULL when absent and for every other type. */
        int64_t sender_pid;
        const char *sender_subj;
        /* Where scontext and tcontext split (context_locate()), meaningful when the context is
         * not NULL: the parser validates them anyway, and the assembler takes the types and MCS
         * from them (daemon/ingest/assembler.c) without a second look-up. All zero (no type):
         * not located, the assembler locates them itself (a Record made by hand). */
        ContextParts scontext_parts, tcontext_parts;
} AvcFields;

typedef struct SyscallFields {
        int64_t syscall, pid, ppid, uid; /* -1 unknown */
        const char *exe, *comm;
        int success; /* -1 unknown, 0 no, 1 yes */
} SyscallFields;

typedef struct Record {
        RecordKind kind;
        LineForm form;
        int type; /* numeric record type, 0 for a separator */
        bool has_stamp;
        AuditStamp stamp;
        /* A journalctl text line (LINE_FORM_JOURNALD with its time prefix): the time without a
         * year, and the serial it gets when the caller dates it (synthetic_serial() of the
         * body). The caller knows the year (ingest.c); has_stamp stays false here. */
        bool has_syslog_time;
        SyslogTime syslog_time;
        uint64_t content_serial;
        const char *node; /* NULL when none */
        union {
                AvcFields avc;         /* RECORD_DENIAL */
                SyscallFields syscall; /* RECORD_SYSCALL */
                const char *cwd;       /* RECORD_CWD */
                struct {
                        int64_t item;
                        const char *name;
                } path;                /* RECORD_PATH */
                const char *proctitle; /* RECORD_PROCTITLE */
        };
        /* holds every string above, within its first storage_size bytes (one copy of this
         * block is a copy of them all: daemon/ingest/assembler.c) */
        char *storage;
        size_t storage_size;
        RecordParser *lender; /* storage is this parser's, lent until record_done(); NULL: ours */
} Record;

int record_parser_new(RecordParser **ret);
RecordParser *record_parser_free(RecordParser *p);

/* Parses one line. Returns 0 and fills *ret (release with record_done(), before the parser is
 * freed: its strings may live in the parser's block), or
 * -EBADMSG when the line is not a complete record in an accepted form (malformed), or -ENODATA
 * for an empty or white-space-only line (not a record: callers skip it silently, it is not
 * malformed). The line need not be NUL terminated. Records longer than RECORD_LINE_MAX are
 * -EMSGSIZE. *ret is untouched on failure. */
#define RECORD_LINE_MAX (64 * 1024)
int record_parse(RecordParser *p, const char *line, size_t len, Record *ret);

void record_done(Record *r);

const char *record_kind_to_string(RecordKind k);
