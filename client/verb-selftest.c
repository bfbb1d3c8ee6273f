/* SPDX-License-Identifier: MIT */
/* avcctl selftest [--timeout SEC]: proves the whole path works on this host. A uniquely named
 * test denial (an AUDIT_USER_AVC message) goes through the kernel exactly like a real one, and we
 * poll the daemon's store until it shows up or the time is over.
 *
 * The denial claims a container domain with categories c1022,c1023 (the top of the range, which
 * engines are unlikely to hand out) and a target type that cannot exist in any policy, and its
 * name carries a random tag, so it can neither be mistaken for a real denial by a human nor be
 * matched with an old selftest's denial by us. Sending needs CAP_AUDIT_WRITE.
 *
 * Exit statuses: 0 stored; 1 the daemon answered but did not store it in time, or we may not send
 * audit messages; 2 the daemon cannot be reached. On failure, the daemon's record counter tells
 * "receives nothing from the kernel" apart from "receives, but does not keep it". */

#include <errno.h>
#include <inttypes.h>
#include <libaudit.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "filter-options.h"
#include "strutil.h"
#include "user-avc.h"
#include "verbs.h"

#define SELFTEST_TIMEOUT_DEFAULT_SEC 5
#define SELFTEST_TIMEOUT_MAX_SEC 3600
#define SELFTEST_POLL_INTERVAL_MS 100
#define SELFTEST_TAG_BYTES 8 /* 64 random bits: no collision with an earlier run */

#define SELFTEST_SCONTEXT "system_u:system_r:container_t:s0:c1022,c1023"
#define SELFTEST_TCONTEXT "system_u:object_r:" SELFTEST_TARGET_TYPE ":s0"
#define SELFTEST_TCLASS "file"
#define SELFTEST_PERMISSIONS "read"
#define SELFTEST_COMM "avcctl-selftest"
#define SELFTEST_NAME_PREFIX "avcwatch-selftest-"

enum {
        ARG_SELFTEST_TIMEOUT = 0x300,
};

static int selftest_parse_option(int c, const char *arg, void *userdata) {
        uint64_t *timeout_sec = userdata;

        switch (c) {
        case ARG_SELFTEST_TIMEOUT:
                if (parse_count(arg, 1, SELFTEST_TIMEOUT_MAX_SEC, timeout_sec) < 0) {
                        fprintf(stderr,
                                "avcctl: invalid value for --timeout: expected 1..%d "
                                "seconds\n",
                                SELFTEST_TIMEOUT_MAX_SEC);
                        return -EINVAL;
                }
                return 0;
        default:
                return -ENOENT;
        }
}

static int selftest_make_name(char *buf, size_t n) {
        unsigned char tag[SELFTEST_TAG_BYTES];
        size_t len;

        if (getrandom(tag, sizeof(tag), 0) != (ssize_t) sizeof(tag))
                return negative_errno();
        len = (size_t) snprintf(buf, n, "%s", SELFTEST_NAME_PREFIX);
        for (size_t i = 0; i < sizeof(tag) && len + 2 < n; i++, len += 2)
                snprintf(buf + len, n - len, "%02x", tag[i]);
        return 0;
}

/* libaudit exports audit_send() but declares it only in its private header. It sends one request
 * with NLM_F_ACK and (libaudit 3.x) also reads the kernel's answer: it returns the sequence number
 * (> 0), or -errno for a failed send or a refusal (-EPERM without CAP_AUDIT_WRITE). The public
 * audit_log_user_*() helpers would append their own fields to our AVC text. */
extern int audit_send(int fd, int type, const void *data, unsigned int size);

/* Sends the test denial through the kernel. Negative errno (-EPERM without CAP_AUDIT_WRITE). */
static int selftest_send(const char *name) {
        UserAvcSpec spec = {
                .permissions = SELFTEST_PERMISSIONS,
                .pid = getpid(),
                .comm = SELFTEST_COMM,
                .name = name,
                .scontext = SELFTEST_SCONTEXT,
                .tcontext = SELFTEST_TCONTEXT,
                .tclass = SELFTEST_TCLASS,
                .permissive = 0,
        };
        char text[USER_AVC_TEXT_MAX];
        int fd, r;

        r = user_avc_format(&spec, text, sizeof(text));
        if (r < 0)
                return r;
        fd = audit_open();
        if (fd < 0)
                return negative_errno();
        r = audit_send(fd, AUDIT_USER_AVC, text, (unsigned) strlen(text) + 1);
        audit_close(fd);
        return r < 0 ? r : 0;
}

/* records_received from Stats, -1 when unknown. Errors here only lose a diagnostic. */
static int64_t selftest_records_received(VarlinkClient *c) {
        _cleanup_(varlink_reply_done) VarlinkReply reply = {};
        json_object *v;

        if (varlink_client_call(c, "io.avcwatch.Stats", NULL, &reply) < 0 || reply.error ||
            !json_object_object_get_ex(reply.parameters, "records_received", &v) ||
            !json_object_is_type(v, json_type_int))
                return -1;
        return json_object_get_int64(v);
}

typedef struct SelftestFound {
        json_object *denial;
} SelftestFound;

static int selftest_take(json_object *denial, void *userdata) {
        SelftestFound *found = userdata;

        if (!json_object_is_type(denial, json_type_object))
                return -EBADMSG;
        found->denial = json_object_get(denial);
        return 1; /* one is enough */
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static void selftest_report_ok(json_object *d, int64_t elapsed_ms) {
        json_object *serial, *container;

        printf("selftest: OK: denial ");
        if (json_object_object_get_ex(d, "serial", &serial) &&
            json_object_is_type(serial, json_type_int))
                printf("%" PRId64, json_object_get_int64(serial));
        else
                printf("?");
        printf(" stored after %" PRId64 " ms (attribution ", elapsed_ms);
        fputs_terminal_safe(strna(get_string(d, "attribution")), stdout);
        if (json_object_object_get_ex(d, "container", &container) &&
            json_object_is_type(container, json_type_object)) {
                const char *name = get_string(container, "name");
                printf(", container ");
                fputs_terminal_safe(strna(name ? name : get_string(container, "id")), stdout);
        }
        printf(")\n");
}

int verb_selftest(int argc, char *argv[], ClientContext *ctx) {
        static const struct option options[] = {
                {"timeout", required_argument, NULL, ARG_SELFTEST_TIMEOUT},
                {},
        };
        _cleanup_(varlink_client_freep) VarlinkClient *c = NULL;
        uint64_t timeout_sec = SELFTEST_TIMEOUT_DEFAULT_SEC;
        char name[sizeof(SELFTEST_NAME_PREFIX) + 2 * SELFTEST_TAG_BYTES];
        DenialFilter filter = {};
        json_object *filter_json = NULL;
        int64_t received_before, received_after, start, elapsed;
        int r, status;

        r = verb_parse_options(argc, argv, options, "", selftest_parse_option, &timeout_sec, ctx);
        if (r != 0)
                return r > 0 ? AVCCTL_EXIT_SUCCESS : AVCCTL_EXIT_FAILURE;

        /* The daemon first: an unreachable daemon is status 2, and nothing is sent for nothing. */
        status = client_connect(ctx, &c);
        if (status != AVCCTL_EXIT_SUCCESS)
                return status;

        r = selftest_make_name(name, sizeof(name));
        if (r < 0) {
                printf("selftest: FAILED: no random bytes for the test name: %s\n", strerror(-r));
                return AVCCTL_EXIT_FAILURE;
        }
        filter.comm = FILTER_ONE(SELFTEST_COMM);
        filter.path = FILTER_ONE(name);
        filter.include_selftest = true; /* its own denial is one, if the daemon vouched for it */
        r = denial_filter_to_json(&filter, &filter_json);
        if (r < 0) {
                printf("selftest: FAILED: cannot encode the filter: %s\n", strerror(-r));
                return AVCCTL_EXIT_FAILURE;
        }

        received_before = selftest_records_received(c);
        start = now_monotonic_ms();
        r = selftest_send(name);
        if (r < 0) {
                json_object_put(filter_json);
                printf("selftest: FAILED: cannot send the test denial through the kernel: %s%s\n",
                       strerror(-r),
                       r == -EPERM || r == -EACCES ? " (CAP_AUDIT_WRITE is needed: run as root)"
                       : r == -ECONNREFUSED || r == -EPROTONOSUPPORT
                               ? " (no kernel audit support here, or in a container)"
                               : "");
                return AVCCTL_EXIT_FAILURE;
        }

        for (;;) {
                SelftestFound found = {};

                status = query_run(c, filter_json, false, true, 1, selftest_take, &found);
                elapsed = now_monotonic_ms() - start;
                if (status != AVCCTL_EXIT_SUCCESS) {
                        json_object_put(filter_json);
                        printf("selftest: FAILED: the daemon did not answer the query\n");
                        return status;
                }
                if (found.denial) {
                        selftest_report_ok(found.denial, elapsed);
                        json_object_put(found.denial);
                        json_object_put(filter_json);
                        return client_flush_stdout();
                }
                if (elapsed >= (int64_t) timeout_sec * 1000)
                        break;
                usleep(SELFTEST_POLL_INTERVAL_MS * 1000);
        }
        json_object_put(filter_json);

        received_after = selftest_records_received(c);
        printf("selftest: FAILED: test denial %s not stored within %" PRIu64 " s", name,
               timeout_sec);
        if (received_before >= 0 && received_after >= 0) {
                if (received_after == received_before)
                        printf(" (the daemon received no audit records at all: is its input the "
                               "kernel (--input netlink) and does it have CAP_AUDIT_READ?)");
                else
                        printf(" (the daemon received %" PRId64 " records meanwhile but did not "
                               "store this one: is container_t in its [Filter] Domains?)",
                               received_after - received_before);
        }
        printf("\n");
        (void) client_flush_stdout();
        return AVCCTL_EXIT_FAILURE;
}
