/* SPDX-License-Identifier: MIT */
/* avcwatch-inject: sends SELinux denials through the real kernel audit path, as AUDIT_USER_AVC
 * messages. The kernel stamps each one (time, serial), wraps it as
 * "pid=.. uid=.. auid=.. ses=.. subj=.. msg='TEXT'" and multicasts it to every audit reader, also
 * with audit disabled, so the daemon can be driven end to end on a machine without SELinux.
 * Needs CAP_AUDIT_WRITE.
 *
 * Used by the integration tests and benchmarks: --mark tags every message (comm and a numbered
 * name) so that a reader can find them and spot gaps; --rate paces sends in small bursts with
 * absolute clock_nanosleep() deadlines, so that sleep overshoot does not accumulate into a lower
 * rate. Under load the kernel may refuse a send for a moment (ECONNREFUSED, ENOBUFS): it is
 * retried a few times, then counted as failed. Whether the kernel accepted a message is only in
 * its answer (an EPERM without CAP_AUDIT_WRITE arrives there), so the answers are read back and
 * the summary "sent N in S s (R/s), failed F" counts accepted messages; exit status 1 if any
 * failed. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libaudit.h>
#include <linux/netlink.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "user-avc.h"

#define INJECT_RETRY_MAX 50 /* sends retried on a transient error, 1 ms apart */
#define INJECT_RETRY_USEC 1000
#define INJECT_BURST_USEC 1000             /* pacing granularity: one sleep per ~1 ms of messages */
#define INJECT_ACK_DRAIN_EVERY 32          /* read the kernel's acks back every N sends */
#define INJECT_ACK_WAIT_USEC (1000 * 1000) /* for the last answers before the summary */
#define INJECT_CONTEXT_MAX 256             /* longest --scontext after MCS substitution */
#define INJECT_NAME_MAX 256                /* longest name= with a --mark sequence number */
#define INJECT_DEFAULT_SCONTEXT "system_u:system_r:container_t:s0:c1,c2"
#define INJECT_DEFAULT_TCONTEXT "system_u:object_r:etc_t:s0"
#define INJECT_MCS_CATEGORIES 1024

static uint64_t arg_count = 0; /* 0: unlimited (then --duration bounds it) */
static bool arg_count_set = false;
static double arg_rate = 0;     /* 0: as fast as possible */
static double arg_duration = 0; /* 0: unlimited */
static const char *arg_scontext = INJECT_DEFAULT_SCONTEXT;
static const char *arg_tcontext = INJECT_DEFAULT_TCONTEXT;
static const char *arg_tclass = "file";
static const char *arg_perm = "write";
static int64_t arg_pid = -2; /* -2: our own pid */
static const char *arg_comm = NULL;
static const char *arg_name = NULL;
static const char *arg_path = NULL;
static bool arg_mcs_random = false;
static const char *arg_mark = NULL;

static void help(void) {
        printf("Usage: avcwatch-inject [OPTIONS]\n"
               "Send SELinux denials as AUDIT_USER_AVC messages through the kernel audit path.\n\n"
               "  --count N          messages to send (default 1, or unlimited with --duration)\n"
               "  --rate PER_SEC     pace the sends (default: as fast as possible)\n"
               "  --duration SEC     stop after this long\n"
               "  --scontext CTX     subject context (default %s)\n"
               "  --tcontext CTX     target context (default %s)\n"
               "  --tclass CLASS     object class (default file)\n"
               "  --perm PERMS       permissions, space separated (default write)\n"
               "  --pid PID          pid= of the denied process (default: ours; -1 omits it)\n"
               "  --comm COMM        comm= (default: the --mark, else avcwatch-inject)\n"
               "  --name NAME        name= (default with --mark: MARK.N, N counting from 1)\n"
               "  --path PATH        path=\n"
               "  --mcs-random       a random category pair per message in the scontext\n"
               "  --mark STR         tag the messages: comm=STR and name=STR.N\n"
               "  -h, --help         this text\n",
               INJECT_DEFAULT_SCONTEXT, INJECT_DEFAULT_TCONTEXT);
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || *s == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_double(const char *s, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !(v >= 0))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_COUNT = 0x100,
                ARG_RATE,
                ARG_DURATION,
                ARG_SCONTEXT,
                ARG_TCONTEXT,
                ARG_TCLASS,
                ARG_PERM,
                ARG_PID,
                ARG_COMM,
                ARG_NAME,
                ARG_PATH,
                ARG_MCS_RANDOM,
                ARG_MARK,
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"count", required_argument, NULL, ARG_COUNT},
                {"rate", required_argument, NULL, ARG_RATE},
                {"duration", required_argument, NULL, ARG_DURATION},
                {"scontext", required_argument, NULL, ARG_SCONTEXT},
                {"tcontext", required_argument, NULL, ARG_TCONTEXT},
                {"tclass", required_argument, NULL, ARG_TCLASS},
                {"perm", required_argument, NULL, ARG_PERM},
                {"pid", required_argument, NULL, ARG_PID},
                {"comm", required_argument, NULL, ARG_COMM},
                {"name", required_argument, NULL, ARG_NAME},
                {"path", required_argument, NULL, ARG_PATH},
                {"mcs-random", no_argument, NULL, ARG_MCS_RANDOM},
                {"mark", required_argument, NULL, ARG_MARK},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_COUNT:
                        if (parse_u64(optarg, &arg_count) < 0 || arg_count == 0) {
                                fprintf(stderr, "Invalid --count: %s\n", optarg);
                                return -EINVAL;
                        }
                        arg_count_set = true;
                        break;
                case ARG_RATE:
                        if (parse_double(optarg, &arg_rate) < 0) {
                                fprintf(stderr, "Invalid --rate: %s\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_DURATION:
                        if (parse_double(optarg, &arg_duration) < 0) {
                                fprintf(stderr, "Invalid --duration: %s\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_SCONTEXT:
                        arg_scontext = optarg;
                        break;
                case ARG_TCONTEXT:
                        arg_tcontext = optarg;
                        break;
                case ARG_TCLASS:
                        arg_tclass = optarg;
                        break;
                case ARG_PERM:
                        arg_perm = optarg;
                        break;
                case ARG_PID: {
                        char *end;
                        long long v;

                        errno = 0;
                        v = strtoll(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end != '\0' || v < -1 ||
                            v > INT32_MAX) {
                                fprintf(stderr, "Invalid --pid: %s\n", optarg);
                                return -EINVAL;
                        }
                        arg_pid = v;
                        break;
                }
                case ARG_COMM:
                        arg_comm = optarg;
                        break;
                case ARG_NAME:
                        arg_name = optarg;
                        break;
                case ARG_PATH:
                        arg_path = optarg;
                        break;
                case ARG_MCS_RANDOM:
                        arg_mcs_random = true;
                        break;
                case ARG_MARK:
                        arg_mark = optarg;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "Unexpected argument: %s\n", argv[optind]);
                return -EINVAL;
        }
        if (!arg_count_set && arg_duration == 0)
                arg_count = 1;
        if (arg_pid == -2)
                arg_pid = getpid();
        return 1;
}

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static void sleep_until_nsec(uint64_t t) {
        struct timespec ts = {.tv_sec = (time_t) (t / 1000000000ULL),
                              .tv_nsec = (long) (t % 1000000000ULL)};

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

/* xorshift64*: enough to spread MCS pairs; seeded from getrandom(). */
static uint64_t rng_state;

static void rng_seed(void) {
        if (getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state))
                rng_state = now_nsec() ^ ((uint64_t) getpid() << 32);
        if (rng_state == 0)
                rng_state = 0x9e3779b97f4a7c15ULL;
}

static uint64_t rng_next(void) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1dULL;
}

/* user:role:type[:sens[:cats]] -> user:role:type:sens:cA,cB with a random distinct pair,
 * ascending as the engines write them. */
static int context_with_random_mcs(const char *ctx, char *buf, size_t n) {
        const char *p = ctx, *level;
        size_t prefix, sens_len;
        unsigned a, b;
        int r;

        /* skip user and role; the type runs up to the next colon or the end */
        for (int i = 0; i < 2; i++) {
                p = strchr(p, ':');
                if (!p)
                        return -EINVAL;
                p++;
        }
        level = strchr(p, ':');
        if (level) {
                prefix = (size_t) (level - ctx);
                level++;
                sens_len = strcspn(level, ":-");
        } else {
                /* no level at all: the default sensitivity */
                prefix = strlen(ctx);
                level = "s0";
                sens_len = 2;
        }
        a = (unsigned) (rng_next() % INJECT_MCS_CATEGORIES);
        do
                b = (unsigned) (rng_next() % INJECT_MCS_CATEGORIES);
        while (b == a);
        if (a > b) {
                unsigned t = a;
                a = b;
                b = t;
        }
        r = snprintf(buf, n, "%.*s:%.*s:c%u,c%u", (int) prefix, ctx, (int) sens_len, level, a, b);
        if (r < 0 || (size_t) r >= n)
                return -ENOBUFS;
        return 0;
}

/* libaudit exports audit_send() but declares it only in its private header. It sends one request
 * with NLM_F_ACK and returns the sequence number (> 0) or -errno, without reading the answer. */
extern int audit_send(int fd, int type, const void *data, unsigned int size);

typedef struct Counters {
        uint64_t sends;   /* requests the kernel took (sendto succeeded) */
        uint64_t acks;    /* answers read back, good or bad */
        uint64_t refused; /* answers carrying an error: the message was not logged */
        int first_error;
} Counters;

/* The kernel answers each request on our socket, and only the answer says whether the message was
 * accepted (EPERM without CAP_AUDIT_WRITE comes back here, not from sendto()). Nobody reads them
 * unless we do, and a full receive queue loses them. */
static void drain_acks(int fd, Counters *c) {
        char buf[MAX_AUDIT_MESSAGE_LENGTH] __attribute__((aligned(NLMSG_ALIGNTO)));

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == ENOBUFS) {
                        /* answers were lost; the messages themselves most likely went through */
                        continue;
                }
                if (n <= 0)
                        return;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n);
                     h = NLMSG_NEXT(h, n)) {
                        const struct nlmsgerr *e;

                        if (h->nlmsg_type != NLMSG_ERROR)
                                continue;
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                                continue;
                        e = NLMSG_DATA(h);
                        c->acks++;
                        if (e->error != 0) {
                                c->refused++;
                                if (!c->first_error)
                                        c->first_error = e->error < 0 ? e->error : -e->error;
                        }
                }
        }
}

/* Reads the outstanding answers for up to timeout_usec, so that the summary is exact. */
static void wait_acks(int fd, Counters *c, uint64_t timeout_usec) {
        uint64_t end = now_nsec() + timeout_usec * 1000;

        for (;;) {
                drain_acks(fd, c);
                if (c->acks >= c->sends || now_nsec() >= end)
                        return;
                usleep(INJECT_RETRY_USEC);
        }
}

static bool is_transient(int r) {
        return r == -ECONNREFUSED || r == -ENOBUFS || r == -EAGAIN || r == -EINTR || r == -ENOMEM;
}

static int send_one(int fd, const char *text, size_t len, Counters *c) {
        int r = 0;

        for (unsigned attempt = 0; attempt <= INJECT_RETRY_MAX; attempt++) {
                r = audit_send(fd, AUDIT_USER_AVC, text, (unsigned) len + 1);
                if (r >= 0) {
                        c->sends++;
                        return 0;
                }
                if (!is_transient(r))
                        return r;
                drain_acks(fd, c);
                usleep(INJECT_RETRY_USEC);
        }
        return r;
}

int main(int argc, char *argv[]) {
        char text[USER_AVC_TEXT_MAX], scontext[INJECT_CONTEXT_MAX], name[INJECT_NAME_MAX];
        uint64_t send_failed = 0, sent, failed, start, deadline = 0, burst = 1;
        Counters c = {};
        int fd, r, send_error = 0;
        double secs;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 1 : 0;

        if (!arg_comm)
                arg_comm = arg_mark ? arg_mark : "avcwatch-inject";
        if (arg_rate > 0) {
                /* messages per pacing step: about INJECT_BURST_USEC worth, at least one */
                double b = arg_rate * INJECT_BURST_USEC / 1e6;
                burst = b < 1 ? 1 : (uint64_t) b;
        }
        rng_seed();

        fd = audit_open();
        if (fd < 0) {
                fprintf(stderr, "Failed to open the audit netlink socket: %s\n", strerror(errno));
                return 1;
        }

        start = now_nsec();
        if (arg_duration > 0)
                deadline = start + (uint64_t) (arg_duration * 1e9);

        for (uint64_t i = 0; arg_count == 0 || i < arg_count; i++) {
                UserAvcSpec spec = {
                        .permissions = arg_perm,
                        .pid = arg_pid,
                        .comm = arg_comm,
                        .name = arg_name,
                        .path = arg_path,
                        .scontext = arg_scontext,
                        .tcontext = arg_tcontext,
                        .tclass = arg_tclass,
                        .permissive = 0,
                };
                int len;

                if (arg_rate > 0 && i % burst == 0) {
                        uint64_t due = start + (uint64_t) ((double) i * 1e9 / arg_rate);
                        if (deadline && due >= deadline)
                                break;
                        sleep_until_nsec(due);
                }
                if (deadline && now_nsec() >= deadline)
                        break;

                if (arg_mcs_random) {
                        r = context_with_random_mcs(arg_scontext, scontext, sizeof(scontext));
                        if (r < 0) {
                                fprintf(stderr, "Invalid --scontext for --mcs-random: %s\n",
                                        arg_scontext);
                                close(fd);
                                return 1;
                        }
                        spec.scontext = scontext;
                }
                if (arg_mark && !arg_name) {
                        snprintf(name, sizeof(name), "%s.%" PRIu64, arg_mark, i + 1);
                        spec.name = name;
                }

                len = user_avc_format(&spec, text, sizeof(text));
                if (len < 0) {
                        fprintf(stderr, "Cannot build the denial text: %s\n",
                                len == -ENOBUFS ? "too long" : "invalid context, class or perm");
                        close(fd);
                        return 1;
                }

                r = send_one(fd, text, (size_t) len, &c);
                if (r < 0) {
                        send_failed++;
                        if (!send_error)
                                send_error = r;
                        if (!is_transient(r))
                                break;
                }
                if ((i + 1) % INJECT_ACK_DRAIN_EVERY == 0) {
                        drain_acks(fd, &c);
                        /* refused outright (no CAP_AUDIT_WRITE): every further send would be */
                        if (c.first_error == -EPERM || c.first_error == -EACCES)
                                break;
                }
        }

        secs = (double) (now_nsec() - start) / 1e9;
        wait_acks(fd, &c, INJECT_ACK_WAIT_USEC);
        close(fd);

        sent = c.sends - c.refused;
        failed = send_failed + c.refused;
        printf("sent %" PRIu64 " in %.3f s (%.0f/s), failed %" PRIu64 "\n", sent, secs,
               secs > 0 ? (double) sent / secs : 0.0, failed);
        if (send_error)
                fprintf(stderr, "Send failed: %s\n", strerror(-send_error));
        if (c.first_error)
                fprintf(stderr, "Kernel refused: %s\n", strerror(-c.first_error));
        return failed > 0 ? 1 : 0;
}
