/* SPDX-License-Identifier: MIT */
/* Line forms: tells which textual form an audit line is in and where its stamp, type and body
 * are, without allocating or copying, so that the record parser can decide cheaply what to do
 * with a line before any real parsing.
 *
 * Decisions:
 * - A line that starts with `type=`/`node=` (after blanks) is RAW or malformed, never another
 *   form: a mangled raw record must not be reinterpreted as a kernel log line by accident.
 * - Record type names are looked up in a table generated from libaudit 3.0.9
 *   (audit_msg_type_to_name over 1000..2999), kept sorted for bsearch: linking libaudit into the
 *   pure library just for this lookup is not worth it, and unknown names are still well formed
 *   (type 0) and simply ignored later.
 * - The `ausearch -i` stamp is local time, as ausearch printed it; it is converted with mktime().
 * - ENRICHED fields after the \x1d separator are dropped: they are auditd's interpretation, not
 *   the kernel's record, and the parser must not trust them.
 * - A stamp at or after STORE_TIME_MAX (2109: the store's row id is the time, store.h) makes the
 *   line malformed: no store could keep it, and a clock that far ahead is bad input, not a
 *   failure of the store to be retried and counted as a loss. The bound is the store's own, so
 *   the two cannot drift apart. */

#include <errno.h>
#include <linux/audit.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "line-form.h"
#include "macro.h"
#include "store.h"

#define ENRICHED_SEPARATOR '\x1d'

/* Longest record type name we accept (the longest libaudit name is 25 characters). */
#define AUDIT_TYPE_NAME_MAX 32
/* The kernel prints seconds with up to 11 digits for the next few thousand years. */
#define STAMP_SECONDS_DIGITS_MAX 11
/* Serials are unsigned 32-bit in the kernel, but 10+ digits have been seen; uint64 holds 19. */
#define STAMP_SERIAL_DIGITS_MAX 19
/* Record type numbers are at most 4 digits today; leave room for 5. */
#define AUDIT_TYPE_DIGITS_MAX 5
/* journald's audit[PID] carries a pid, at most 10 digits (pid_max is 2^22). */
#define JOURNALD_PID_DIGITS_MAX 10

typedef struct TypeName {
        const char *name;
        int type;
} TypeName;

/* Sorted by strcmp() order. */
static const TypeName type_names[] = {
        {"ACCT_LOCK", 1135},
        {"ACCT_UNLOCK", 1136},
        {"ADD_GROUP", 1116},
        {"ADD_USER", 1114},
        {"ANOM_ABEND", 1701},
        {"ANOM_ACCESS_FS", 2111},
        {"ANOM_ADD_ACCT", 2114},
        {"ANOM_AMTU_FAIL", 2107},
        {"ANOM_CREAT", 1703},
        {"ANOM_CRYPTO_FAIL", 2110},
        {"ANOM_DEL_ACCT", 2115},
        {"ANOM_EXEC", 2112},
        {"ANOM_LINK", 1702},
        {"ANOM_LOGIN_ACCT", 2103},
        {"ANOM_LOGIN_FAILURES", 2100},
        {"ANOM_LOGIN_LOCATION", 2104},
        {"ANOM_LOGIN_ROOT", 2119},
        {"ANOM_LOGIN_SERVICE", 2118},
        {"ANOM_LOGIN_SESSIONS", 2102},
        {"ANOM_LOGIN_TIME", 2101},
        {"ANOM_MAX_DAC", 2105},
        {"ANOM_MAX_MAC", 2106},
        {"ANOM_MK_EXEC", 2113},
        {"ANOM_MOD_ACCT", 2116},
        {"ANOM_ORIGIN_FAILURES", 2120},
        {"ANOM_PROMISCUOUS", 1700},
        {"ANOM_RBAC_FAIL", 2108},
        {"ANOM_RBAC_INTEGRITY_FAIL", 2109},
        {"ANOM_ROOT_TRANS", 2117},
        {"ANOM_SESSION", 2121},
        {"APPARMOR", 1500},
        {"APPARMOR_ALLOWED", 1502},
        {"APPARMOR_AUDIT", 1501},
        {"APPARMOR_DENIED", 1503},
        {"APPARMOR_ERROR", 1506},
        {"APPARMOR_HINT", 1504},
        {"APPARMOR_KILL", 1507},
        {"APPARMOR_STATUS", 1505},
        {"AVC", 1400},
        {"AVC_PATH", 1402},
        {"BPF", 1334},
        {"BPRM_FCAPS", 1321},
        {"CAPSET", 1322},
        {"CHGRP_ID", 1119},
        {"CHUSER_ID", 1125},
        {"CONFIG_CHANGE", 1305},
        {"CRED_ACQ", 1103},
        {"CRED_DISP", 1104},
        {"CRED_REFR", 1110},
        {"CRYPTO_FAILURE_USER", 2405},
        {"CRYPTO_IKE_SA", 2408},
        {"CRYPTO_IPSEC_SA", 2409},
        {"CRYPTO_KEY_USER", 2404},
        {"CRYPTO_LOGIN", 2402},
        {"CRYPTO_LOGOUT", 2403},
        {"CRYPTO_PARAM_CHANGE_USER", 2401},
        {"CRYPTO_REPLAY_USER", 2406},
        {"CRYPTO_SESSION", 2407},
        {"CRYPTO_TEST_USER", 2400},
        {"CWD", 1307},
        {"DAC_CHECK", 1118},
        {"DAEMON_ABORT", 1202},
        {"DAEMON_ACCEPT", 1207},
        {"DAEMON_CLOSE", 1208},
        {"DAEMON_CONFIG", 1203},
        {"DAEMON_END", 1201},
        {"DAEMON_ERR", 1209},
        {"DAEMON_RESUME", 1206},
        {"DAEMON_ROTATE", 1205},
        {"DAEMON_START", 1200},
        {"DEL_GROUP", 1117},
        {"DEL_USER", 1115},
        {"DEV_ALLOC", 2307},
        {"DEV_DEALLOC", 2308},
        {"EOE", 1320},
        {"EVENT_LISTENER", 1335},
        {"EXECVE", 1309},
        {"FANOTIFY", 1331},
        {"FD_PAIR", 1317},
        {"FEATURE_CHANGE", 1328},
        {"FS_RELABEL", 2309},
        {"GRP_AUTH", 1126},
        {"GRP_CHAUTHTOK", 1133},
        {"GRP_MGMT", 1132},
        {"INTEGRITY_DATA", 1800},
        {"INTEGRITY_EVM_XATTR", 1806},
        {"INTEGRITY_HASH", 1803},
        {"INTEGRITY_METADATA", 1801},
        {"INTEGRITY_PCR", 1804},
        {"INTEGRITY_POLICY_RULE", 1807},
        {"INTEGRITY_RULE", 1805},
        {"INTEGRITY_STATUS", 1802},
        {"IPC", 1303},
        {"IPC_SET_PERM", 1311},
        {"KERNEL", 2000},
        {"KERNEL_OTHER", 1316},
        {"KERN_MODULE", 1330},
        {"LABEL_LEVEL_CHANGE", 2304},
        {"LABEL_OVERRIDE", 2303},
        {"LOGIN", 1006},
        {"MAC_CALIPSO_ADD", 1418},
        {"MAC_CALIPSO_DEL", 1419},
        {"MAC_CHECK", 1134},
        {"MAC_CIPSOV4_ADD", 1407},
        {"MAC_CIPSOV4_DEL", 1408},
        {"MAC_CONFIG_CHANGE", 1405},
        {"MAC_IPSEC_ADDSA", 1411},
        {"MAC_IPSEC_ADDSPD", 1413},
        {"MAC_IPSEC_DELSA", 1412},
        {"MAC_IPSEC_DELSPD", 1414},
        {"MAC_IPSEC_EVENT", 1415},
        {"MAC_MAP_ADD", 1409},
        {"MAC_MAP_DEL", 1410},
        {"MAC_POLICY_LOAD", 1403},
        {"MAC_STATUS", 1404},
        {"MAC_UNLBL_ALLOW", 1406},
        {"MAC_UNLBL_STCADD", 1416},
        {"MAC_UNLBL_STCDEL", 1417},
        {"MMAP", 1323},
        {"MQ_GETSETATTR", 1315},
        {"MQ_NOTIFY", 1314},
        {"MQ_OPEN", 1312},
        {"MQ_SENDRECV", 1313},
        {"NETFILTER_CFG", 1325},
        {"NETFILTER_PKT", 1324},
        {"OBJ_PID", 1318},
        {"OPENAT2", 1337},
        {"PATH", 1302},
        {"PROCTITLE", 1327},
        {"RESP_ACCT_LOCK", 2207},
        {"RESP_ACCT_LOCK_TIMED", 2205},
        {"RESP_ACCT_REMOTE", 2204},
        {"RESP_ACCT_UNLOCK_TIMED", 2206},
        {"RESP_ALERT", 2201},
        {"RESP_ANOMALY", 2200},
        {"RESP_EXEC", 2210},
        {"RESP_HALT", 2212},
        {"RESP_KILL_PROC", 2202},
        {"RESP_ORIGIN_BLOCK", 2213},
        {"RESP_ORIGIN_BLOCK_TIMED", 2214},
        {"RESP_ORIGIN_UNBLOCK_TIMED", 2215},
        {"RESP_SEBOOL", 2209},
        {"RESP_SINGLE", 2211},
        {"RESP_TERM_ACCESS", 2203},
        {"RESP_TERM_LOCK", 2208},
        {"ROLE_ASSIGN", 2301},
        {"ROLE_MODIFY", 2311},
        {"ROLE_REMOVE", 2302},
        {"SECCOMP", 1326},
        {"SELINUX_ERR", 1401},
        {"SERVICE_START", 1130},
        {"SERVICE_STOP", 1131},
        {"SOCKADDR", 1306},
        {"SOCKETCALL", 1304},
        {"SOFTWARE_UPDATE", 1138},
        {"SYSCALL", 1300},
        {"SYSTEM_BOOT", 1127},
        {"SYSTEM_RUNLEVEL", 1129},
        {"SYSTEM_SHUTDOWN", 1128},
        {"TEST", 1120},
        {"TIME_ADJNTPVAL", 1333},
        {"TIME_INJOFFSET", 1332},
        {"TRUSTED_APP", 1121},
        {"TTY", 1319},
        {"URINGOP", 1336},
        {"USER", 1005},
        {"USER_ACCT", 1101},
        {"USER_AUTH", 1100},
        {"USER_AVC", 1107},
        {"USER_CHAUTHTOK", 1108},
        {"USER_CMD", 1123},
        {"USER_DEVICE", 1137},
        {"USER_END", 1106},
        {"USER_ERR", 1109},
        {"USER_LABELED_EXPORT", 2305},
        {"USER_LOGIN", 1112},
        {"USER_LOGOUT", 1113},
        {"USER_MAC_CONFIG_CHANGE", 2312},
        {"USER_MAC_POLICY_LOAD", 2310},
        {"USER_MAC_STATUS", 2313},
        {"USER_MGMT", 1102},
        {"USER_ROLE_CHANGE", 2300},
        {"USER_SELINUX_ERR", 1122},
        {"USER_START", 1105},
        {"USER_TTY", 1124},
        {"USER_UNLABELED_EXPORT", 2306},
        {"USYS_CONFIG", 1111},
        {"VIRT_CONTROL", 2500},
        {"VIRT_CREATE", 2504},
        {"VIRT_DESTROY", 2505},
        {"VIRT_INTEGRITY_CHECK", 2503},
        {"VIRT_MACHINE_ID", 2502},
        {"VIRT_MIGRATE_IN", 2506},
        {"VIRT_MIGRATE_OUT", 2507},
        {"VIRT_RESOURCE", 2501},
};

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool has_prefix(const char *p, const char *end, const char *prefix) {
        size_t n = strlen(prefix);
        return (size_t) (end - p) >= n && memcmp(p, prefix, n) == 0;
}

static int type_name_compare(const void *key, const void *member) {
        const struct {
                const char *s;
                size_t n;
        } *k = key;
        const TypeName *t = member;
        int c = strncmp(k->s, t->name, k->n);
        if (c != 0)
                return c;
        return t->name[k->n] == '\0' ? 0 : -1;
}

static int type_from_name(const char *s, size_t n) {
        struct {
                const char *s;
                size_t n;
        } key = {s, n};
        const TypeName *t;

        /* The records of every denial first: the search costs more than the rest of the line's
         * classification. The numbers are the kernel's (linux/audit.h), as in type_names[];
         * test-record-fields checks that both ways give the same type. */
        switch (n) {
        case 3:
                if (memcmp(s, "AVC", 3) == 0)
                        return AUDIT_AVC;
                if (memcmp(s, "EOE", 3) == 0)
                        return AUDIT_EOE;
                if (memcmp(s, "CWD", 3) == 0)
                        return AUDIT_CWD;
                break;
        case 4:
                if (memcmp(s, "PATH", 4) == 0)
                        return AUDIT_PATH;
                break;
        case 7:
                if (memcmp(s, "SYSCALL", 7) == 0)
                        return AUDIT_SYSCALL;
                break;
        case 8:
                if (memcmp(s, "USER_AVC", 8) == 0)
                        return AUDIT_USER_AVC;
                break;
        case 9:
                if (memcmp(s, "PROCTITLE", 9) == 0)
                        return AUDIT_PROCTITLE;
                break;
        }

        t = bsearch(&key, type_names, ELEMENTSOF(type_names), sizeof(type_names[0]),
                    type_name_compare);
        return t ? t->type : 0;
}

/* Whether the eight bytes at p are all decimal digits; *ret their value. Little-endian: the first
 * digit is the lowest byte. A byte is a digit when its high nibble is 3 and stays 3 with 6
 * added (a carry out of a byte only comes from one that is no digit, and fails anyway); the
 * value is put together two, four, then eight digits at a time. */
static inline bool eight_digits(const char *p, uint64_t *ret) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        const uint64_t highs = UINT64_C(0xF0F0F0F0F0F0F0F0);
        uint64_t x;

        memcpy(&x, p, 8);
        if (((x & highs) | (((x + UINT64_C(0x0606060606060606)) & highs) >> 4)) !=
            UINT64_C(0x3333333333333333))
                return false;
        x -= UINT64_C(0x3030303030303030);
        x = x * 10 + (x >> 8); /* each even byte: two digits */
        x = (((x & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32))) +
             (((x >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32)))) >>
            32;
        *ret = x;
        return true;
#else
        (void) p;
        (void) ret;
        return false;
#endif
}

/* Parses 1..max_digits decimal digits at *p into *ret without overflow. */
static _always_inline_ int parse_digits(const char **p, const char *end, size_t max_digits,
                                        uint64_t *ret) {
        const char *q = *p, *stop;
        uint64_t v = 0, eight;

        /* Every stamp goes through here (ten digits of seconds, a serial of eight or more): eight
         * digits at a time where eight bytes remain, then one by one. The run stops at
         * max_digits + 1: a longer one is seen by its length afterwards (v, wrapped or not, is
         * then unused; wrapped, it is the same as one digit at a time would have made it). */
        stop = q + MIN((size_t) (end - q), max_digits + 1);
        while ((size_t) (stop - q) >= 8 && eight_digits(q, &eight)) {
                v = v * 100000000 + eight;
                q += 8;
        }
        while (q < stop && is_digit(*q))
                v = v * 10 + (uint64_t) (*q++ - '0');
        if (q == *p || (size_t) (q - *p) > max_digits)
                return -EBADMSG;
        *p = q;
        *ret = v;
        return 0;
}

/* Exactly n digits. */
static int parse_fixed(const char **p, const char *end, size_t n, int *ret) {
        int v = 0;

        if ((size_t) (end - *p) < n)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                char c = (*p)[i];
                if (!is_digit(c))
                        return -EBADMSG;
                v = v * 10 + (c - '0');
        }
        *p += n;
        *ret = v;
        return 0;
}

static int expect_char(const char **p, const char *end, char c) {
        if (*p >= end || **p != c)
                return -EBADMSG;
        (*p)++;
        return 0;
}

/* Whether a stamp's time can be stored at all (store.h: the row id is the time). */
static bool stamp_time_storable(int64_t time_ms) {
        return time_ms >= 0 && time_ms < STORE_TIME_MAX;
}

/* SEC.MSEC:SERIAL */
static int parse_numeric_stamp(const char **p, const char *end, AuditStamp *ret) {
        const char *q = *p;
        uint64_t sec, serial;
        int ms;

        if (parse_digits(&q, end, STAMP_SECONDS_DIGITS_MAX, &sec) < 0 ||
            expect_char(&q, end, '.') < 0 || parse_fixed(&q, end, 3, &ms) < 0 ||
            expect_char(&q, end, ':') < 0 ||
            parse_digits(&q, end, STAMP_SERIAL_DIGITS_MAX, &serial) < 0)
                return -EBADMSG;
        if (sec > (uint64_t) (STORE_TIME_MAX / 1000) ||
            !stamp_time_storable((int64_t) sec * 1000 + ms))
                return -EBADMSG;
        *p = q;
        *ret = (AuditStamp){.time_ms = (int64_t) sec * 1000 + ms, .serial = serial};
        return 0;
}

/* ausearch -i: MM/DD/YYYY HH:MM:SS.mmm:SERIAL or MM/DD/YY ..., local time. */
static int parse_interpreted_stamp(const char **p, const char *end, AuditStamp *ret) {
        const char *q = *p;
        int mon, day, year, hour, min, sec, ms;
        uint64_t serial;
        struct tm tm = {};
        time_t t;

        if (parse_fixed(&q, end, 2, &mon) < 0 || expect_char(&q, end, '/') < 0 ||
            parse_fixed(&q, end, 2, &day) < 0 || expect_char(&q, end, '/') < 0)
                return -EBADMSG;
        if (parse_fixed(&q, end, 4, &year) >= 0)
                ;
        else if (parse_fixed(&q, end, 2, &year) >= 0)
                year += 2000; /* ausearch's %x in the C locale: two-digit years are 20YY */
        else
                return -EBADMSG;
        if (expect_char(&q, end, ' ') < 0 || parse_fixed(&q, end, 2, &hour) < 0 ||
            expect_char(&q, end, ':') < 0 || parse_fixed(&q, end, 2, &min) < 0 ||
            expect_char(&q, end, ':') < 0 || parse_fixed(&q, end, 2, &sec) < 0 ||
            expect_char(&q, end, '.') < 0 || parse_fixed(&q, end, 3, &ms) < 0 ||
            expect_char(&q, end, ':') < 0 ||
            parse_digits(&q, end, STAMP_SERIAL_DIGITS_MAX, &serial) < 0)
                return -EBADMSG;
        if (mon < 1 || mon > 12 || day < 1 || day > 31 || year < 1970 || hour > 23 || min > 59 ||
            sec > 60)
                return -EBADMSG;

        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = day;
        tm.tm_hour = hour;
        tm.tm_min = min;
        tm.tm_sec = sec;
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t) -1 || t < 0 || t > (time_t) (STORE_TIME_MAX / 1000) ||
            !stamp_time_storable((int64_t) t * 1000 + ms))
                return -EBADMSG;

        *p = q;
        *ret = (AuditStamp){.time_ms = (int64_t) t * 1000 + ms, .serial = serial};
        return 0;
}

/* Body: from p up to the end or an ENRICHED separator. */
static void set_body(LineInfo *info, const char *p, const char *end) {
        const char *gs = memchr(p, ENRICHED_SEPARATOR, (size_t) (end - p));

        info->body = p;
        info->body_len = (size_t) ((gs ? gs : end) - p);
}

/* After the stamp: "): BODY" or, for ausearch -i, ") : BODY". The body may be empty. */
static int parse_stamp_close(const char **p, const char *end, bool interpreted) {
        const char *close = interpreted ? ") :" : "):";

        if (!has_prefix(*p, end, close))
                return -EBADMSG;
        *p += strlen(close);
        if (*p < end && **p == ' ')
                (*p)++;
        return 0;
}

/* [node=N ]type=NAME msg=audit(STAMP): BODY, p after the leading blanks. */
static int classify_raw(const char *p, const char *end, LineInfo *info) {
        const char *name;
        size_t name_len;
        bool interpreted;

        if (has_prefix(p, end, "node=")) {
                p += 5;
                info->node = p;
                while (p < end && !is_space(*p))
                        p++;
                info->node_len = (size_t) (p - info->node);
                if (info->node_len == 0 || info->node_len > AUDIT_NODE_MAX)
                        return -EBADMSG;
                if (expect_char(&p, end, ' ') < 0)
                        return -EBADMSG;
        }

        if (!has_prefix(p, end, "type="))
                return -EBADMSG;
        p += 5;
        name = p;
        while (p < end && ((*p >= 'A' && *p <= 'Z') || is_digit(*p) || *p == '_'))
                p++;
        name_len = (size_t) (p - name);
        if (name_len == 0 || name_len > AUDIT_TYPE_NAME_MAX)
                return -EBADMSG;
        if (p < end && *p == '[') {
                /* UNKNOWN[1334]: the number of a type auditd had no name for */
                uint64_t v;
                p++;
                if (parse_digits(&p, end, AUDIT_TYPE_DIGITS_MAX, &v) < 0 ||
                    expect_char(&p, end, ']') < 0)
                        return -EBADMSG;
                info->type = (int) v;
        } else
                info->type = type_from_name(name, name_len);

        if (!has_prefix(p, end, " msg=audit("))
                return -EBADMSG;
        p += 11;

        interpreted = (size_t) (end - p) > 2 && p[2] == '/';
        if (interpreted ? parse_interpreted_stamp(&p, end, &info->stamp) < 0
                        : parse_numeric_stamp(&p, end, &info->stamp) < 0)
                return -EBADMSG;
        if (parse_stamp_close(&p, end, interpreted) < 0)
                return -EBADMSG;

        info->form = LINE_FORM_RAW;
        info->has_stamp = true;
        set_body(info, p, end);
        return 0;
}

/* <prefix> audit: type=NNNN audit(SEC.MS:SERIAL): BODY, p at "audit: type=". */
static int classify_kernel_log(const char *p, const char *end, LineInfo *info) {
        uint64_t type;

        p += strlen("audit: type=");
        if (parse_digits(&p, end, AUDIT_TYPE_DIGITS_MAX, &type) < 0 ||
            !has_prefix(p, end, " audit("))
                return -EBADMSG;
        p += 7;
        if (parse_numeric_stamp(&p, end, &info->stamp) < 0 || parse_stamp_close(&p, end, false) < 0)
                return -EBADMSG;

        info->form = LINE_FORM_KERNEL_LOG;
        info->type = (int) type;
        info->has_stamp = true;
        set_body(info, p, end);
        return 0;
}

/* journalctl's "Mmm DD HH:MM:SS[.frac] " at the start of [p, end) (the day may be space
 * padded), into *ret. -EBADMSG when the line does not start so. */
static int parse_syslog_time(const char *p, const char *end, SyslogTime *ret) {
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        uint64_t day, frac = 0;
        int hour, min, sec;
        SyslogTime t = {};
        int digits = 0;

        if (end - p < 16)
                return -EBADMSG;
        t.month = -1;
        for (int m = 0; m < 12; m++)
                if (memcmp(p, months + 3 * m, 3) == 0)
                        t.month = m;
        if (t.month < 0)
                return -EBADMSG;
        p += 3;
        if (expect_char(&p, end, ' ') < 0)
                return -EBADMSG;
        if (*p == ' ')
                p++;
        if (parse_digits(&p, end, 2, &day) < 0 || expect_char(&p, end, ' ') < 0 ||
            parse_fixed(&p, end, 2, &hour) < 0 || expect_char(&p, end, ':') < 0 ||
            parse_fixed(&p, end, 2, &min) < 0 || expect_char(&p, end, ':') < 0 ||
            parse_fixed(&p, end, 2, &sec) < 0)
                return -EBADMSG;
        if (p < end && *p == '.')
                for (p++; p < end && is_digit(*p); p++, digits++)
                        if (digits < 3)
                                frac = frac * 10 + (uint64_t) (*p - '0');
        if (p < end && *p == '.')
                return -EBADMSG;
        for (; digits > 0 && digits < 3; digits++)
                frac *= 10;
        if (p >= end || *p != ' ' || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
                return -EBADMSG;
        t.day = (int) day;
        t.hour = (int) hour;
        t.minute = (int) min;
        t.second = (int) sec;
        t.ms = (int) frac;
        *ret = t;
        return 0;
}

int syslog_time_resolve(const SyslogTime *t, int64_t ref_ms, int64_t *ret_ms) {
        time_t ref = (time_t) (ref_ms / 1000), when;
        struct tm tm;

        if (!t || !ret_ms || !localtime_r(&ref, &tm))
                return -EINVAL;
        /* The reference's year, or the one before when that puts the line more than a day past
         * the reference (a day of slack: a file written just after a clock step, zones). */
        for (int year = tm.tm_year; year >= tm.tm_year - 1; year--) {
                struct tm x = {.tm_year = year,
                               .tm_mon = t->month,
                               .tm_mday = t->day,
                               .tm_hour = t->hour,
                               .tm_min = t->minute,
                               .tm_sec = t->second,
                               .tm_isdst = -1};

                when = mktime(&x);
                if (when == (time_t) -1 || when < 0 || x.tm_mon != t->month)
                        continue; /* Feb 29 of a year without one */
                if ((int64_t) when * 1000 > ref_ms + 86400 * 1000 && year == tm.tm_year)
                        continue;
                if (!stamp_time_storable((int64_t) when * 1000 + t->ms))
                        return -EBADMSG;
                *ret_ms = (int64_t) when * 1000 + t->ms;
                return 0;
        }
        return -EBADMSG;
}

uint64_t synthetic_serial(const char *body, size_t len) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t k = 0; k < len; k++) {
                h ^= (uint8_t) body[k];
                h *= UINT64_C(0x100000001b3);
        }
        return SYNTHETIC_SERIAL_BASE + (h ^ (h >> 48)) % SYNTHETIC_SERIAL_BASE;
}

/* <prefix> audit[PID]: NAME BODY, p at "audit[", line at the first non-blank of the line. */
static int classify_journald(const char *line, const char *p, const char *end, LineInfo *info) {
        const char *name;
        uint64_t pid;

        p += strlen("audit[");
        if (parse_digits(&p, end, JOURNALD_PID_DIGITS_MAX, &pid) < 0 || !has_prefix(p, end, "]: "))
                return -EBADMSG;
        p += 3;
        name = p;
        while (p < end && ((*p >= 'A' && *p <= 'Z') || is_digit(*p) || *p == '_'))
                p++;
        if (p == name || (size_t) (p - name) > AUDIT_TYPE_NAME_MAX || expect_char(&p, end, ' ') < 0)
                return -EBADMSG;

        info->form = LINE_FORM_JOURNALD;
        info->type = type_from_name(name, (size_t) (p - 1 - name));
        info->has_stamp = false;
        info->has_syslog_time = parse_syslog_time(line, end, &info->syslog_time) >= 0;
        set_body(info, p, end);
        return 0;
}

/* The first "type=" or "node=" right after ": " in [p, end), or NULL. */
static const char *syslog_raw_start(const char *p, const char *end) {
        const char *best = NULL;

        for (const char *const *k = (const char *const[]){": type=", ": node=", NULL}; *k; k++) {
                const char *hit = memmem(p, (size_t) (end - p), *k, strlen(*k));
                if (hit && (!best || hit + 2 < best))
                        best = hit + 2;
        }
        return best;
}

static bool is_separator(const char *p, const char *end) {
        if (has_prefix(p, end, "time->"))
                return true;
        if (!has_prefix(p, end, "----"))
                return false;
        for (p += 4; p < end; p++)
                if (*p != '-' && !is_space(*p))
                        return false;
        return true;
}

int line_form_classify(const char *line, size_t len, LineInfo *ret) {
        const char *p, *end, *hit;
        LineInfo info = {};
        int r;

        if (!line && len > 0)
                return -EINVAL;
        if (!ret)
                return -EINVAL;

        end = line + len;
        if (end > line && end[-1] == '\n')
                end--;
        if (end > line && end[-1] == '\r')
                end--;

        for (p = line; p < end && is_space(*p); p++)
                ;
        if (p == end) {
                info.form = LINE_FORM_BLANK;
                *ret = info;
                return 0;
        }

        for (; p < end && is_blank(*p); p++)
                ;
        if (is_separator(p, end)) {
                info.form = LINE_FORM_SEPARATOR;
                *ret = info;
                return 0;
        }

        if (has_prefix(p, end, "type=") || has_prefix(p, end, "node=")) {
                r = classify_raw(p, end, &info);
                if (r < 0)
                        return r;
                *ret = info;
                return 0;
        }

        if (has_prefix(p, end, "avc:")) {
                info.form = LINE_FORM_BARE;
                info.type = 1400; /* AVC */
                set_body(&info, p, end);
                *ret = info;
                return 0;
        }

        hit = memmem(p, (size_t) (end - p), "audit: type=", strlen("audit: type="));
        if (hit) {
                r = classify_kernel_log(hit, end, &info);
                if (r < 0)
                        return r;
                *ret = info;
                return 0;
        }

        hit = memmem(p, (size_t) (end - p), "audit[", strlen("audit["));
        if (hit) {
                r = classify_journald(p, hit, end, &info);
                if (r < 0)
                        return r;
                *ret = info;
                return 0;
        }

        /* A raw record behind a syslog prefix, as auditd's syslog plugin (audisp-syslog) and
         * syslog forwarding write it: "<date> <host> <tag>: [node=N ]type=NAME msg=audit(...):".
         * The prefix must end in ": " right before it, so that "type=" glued to other text
         * stays malformed. */
        hit = syslog_raw_start(p, end);
        if (hit) {
                r = classify_raw(hit, end, &info);
                if (r < 0)
                        return r;
                *ret = info;
                return 0;
        }

        return -EBADMSG;
}

static const char *const line_form_table[_LINE_FORM_MAX] = {
        [LINE_FORM_RAW] = "raw",
        [LINE_FORM_KERNEL_LOG] = "kernel-log",
        [LINE_FORM_JOURNALD] = "journald",
        [LINE_FORM_BARE] = "bare",
        [LINE_FORM_SEPARATOR] = "separator",
        [LINE_FORM_BLANK] = "blank",
};

const char *line_form_to_string(LineForm f) {
        if ((unsigned) f >= _LINE_FORM_MAX)
                return NULL;
        return line_form_table[f];
}
