/* SPDX-License-Identifier: MIT */
/* Configuration parsing: defaults, every key, and errors with line numbers. */

#include <errno.h>

#include "config.h"
#include "tests/unit/test.h"

static int parse(Config *c, const char *text, char *err, size_t n) {
        return config_parse(c, text, strlen(text), err, n);
}

int main(void) {
        Config c;
        char err[256];

        CHECK_RC(config_init_default(&c), 0);
        CHECK_STREQ(c.database, "/var/lib/avcwatch/avcwatch.db");
        CHECK_STREQ(c.socket, "/run/avcwatch/avcwatch.sock");
        CHECK_STREQ(c.access_group, "avcwatch");
        CHECK_STREQ(c.input, "netlink");
        CHECK_STREQ(c.audit_log, "/var/log/audit/audit.log");
        CHECK_STREQ(c.docker_socket, "/run/docker.sock");
        CHECK_STREQ(c.podman_socket, "/run/podman/podman.sock");
        CHECK(c.proc_scan && !c.journal_forward);
        CHECK(c.max_age_ms == 0 && c.max_bytes == 0); /* no retention unless asked */
        CHECK(domain_filter_wants(&c.domains, "container_t", NULL));
        CHECK(domain_filter_wants(&c.domains, "spc_t", ""));
        CHECK(domain_filter_wants(&c.domains, "my_container_t", NULL));
        /* udica's policies (and the Security Profiles Operator's) name a container's type
         * NAME.process; their denials carry c0.c1023, so only the domain pattern keeps them */
        CHECK(domain_filter_wants(&c.domains, "foo.process", NULL));
        CHECK(domain_filter_wants(&c.domains, "foo.process", "c0.c1023"));
        CHECK(!domain_filter_wants(&c.domains, "process_t", NULL));
        CHECK(!domain_filter_wants(&c.domains, "httpd_t", NULL));
        CHECK(!domain_filter_wants(&c.domains, "httpd_t", ""));
        CHECK(domain_filter_wants(&c.domains, "httpd_t", "c1,c2"));
        CHECK(!domain_filter_wants(&c.domains, "httpd_t", "c0.c1023"));

        CHECK_RC(parse(&c,
                       "# comment\n; other comment\n\n[Daemon]\nDatabase = /tmp/x.db\n"
                       "Socket=/tmp/s.sock\r\nAccessGroup=wheel\nInput=-\n[Filter]\n"
                       "Domains=container_t, *.process\nTargetCategories=no\n",
                       err, sizeof(err)),
                 0);
        CHECK_STREQ(c.database, "/tmp/x.db");
        /* AuditLog=: a path, or empty for no backfill; relative is an error */
        CHECK_RC(parse(&c, "[Daemon]\nAuditLog=/srv/audit/audit.log\n", err, sizeof(err)), 0);
        CHECK_STREQ(c.audit_log, "/srv/audit/audit.log");
        CHECK_RC(parse(&c, "[Daemon]\nAuditLog=\n", err, sizeof(err)), 0);
        CHECK(c.audit_log == NULL);
        CHECK_RC(parse(&c, "[Daemon]\nAuditLog=audit.log\n", err, sizeof(err)), -EINVAL);
        CHECK_STREQ(err, "line 2: AuditLog= needs an absolute path");
        /* Backfill=: one of four words; JournalDirectory=: an absolute path or empty */
        CHECK(c.backfill == BACKFILL_AUTO);
        CHECK_RC(parse(&c, "[Daemon]\nBackfill=journal\nJournalDirectory=/j\n", err, sizeof(err)),
                 0);
        CHECK(c.backfill == BACKFILL_JOURNAL);
        CHECK_STREQ(c.journal_directory, "/j");
        CHECK_RC(parse(&c, "[Daemon]\nBackfill=no\nJournalDirectory=\n", err, sizeof(err)), 0);
        CHECK(c.backfill == BACKFILL_NO && c.journal_directory == NULL);
        CHECK_RC(parse(&c, "[Daemon]\nBackfill=auditlog\n", err, sizeof(err)), 0);
        CHECK(c.backfill == BACKFILL_AUDITLOG);
        CHECK_RC(parse(&c, "[Daemon]\nBackfill=yes\n", err, sizeof(err)), -EINVAL);
        CHECK_STREQ(err, "line 2: Backfill= needs auto, auditlog, journal or no");
        CHECK_RC(parse(&c, "[Daemon]\nJournalDirectory=j\n", err, sizeof(err)), -EINVAL);
        CHECK_STREQ(err, "line 2: JournalDirectory= needs an absolute path");
        CHECK_STREQ(backfill_mode_to_string(BACKFILL_AUDITLOG), "auditlog");
        CHECK_STREQ(c.socket, "/tmp/s.sock");
        CHECK_STREQ(c.access_group, "wheel");
        CHECK_STREQ(c.input, "-");
        CHECK(c.domains.n_patterns == 2);
        CHECK(domain_filter_wants(&c.domains, "my_container.process", NULL));
        CHECK(!domain_filter_wants(&c.domains, "spc_t", NULL));
        CHECK(!domain_filter_wants(&c.domains, "httpd_t", "c1,c2"));

        CHECK_RC(parse(&c,
                       "[Engines]\nDocker=\nPodman=/tmp/p.sock\nProcScan=off\n[Journal]\n"
                       "ForwardDenials=yes\n",
                       err, sizeof(err)),
                 0);
        CHECK(c.docker_socket == NULL);
        CHECK_STREQ(c.podman_socket, "/tmp/p.sock");
        CHECK(!c.proc_scan && c.journal_forward);
        CHECK_RC(parse(&c, "[Engines]\nDocker=relative.sock\n", err, sizeof(err)), -EINVAL);
        CHECK_RC(parse(&c, "[Journal]\nForwardDenials=2\n", err, sizeof(err)), -EINVAL);

        /* [Triage]: an absolute path, and empty for the kernel's again. */
        CHECK(c.triage_policy == NULL);
        CHECK_RC(parse(&c, "[Triage]\nPolicy=/srv/policy.33\n", err, sizeof(err)), 0);
        CHECK_STREQ(c.triage_policy, "/srv/policy.33");
        CHECK_RC(parse(&c, "[Triage]\nPolicy=policy.33\n", err, sizeof(err)), -EINVAL);
        CHECK_RC(parse(&c, "[Triage]\nPolicy=\n", err, sizeof(err)), 0);
        CHECK(c.triage_policy == NULL);

        /* [Retention]: a duration and a size, each may be turned off again. */
        CHECK_RC(parse(&c, "[Retention]\nMaxAge=90d\nMaxSize=2G\n", err, sizeof(err)), 0);
        CHECK(c.max_age_ms == INT64_C(90) * 86400 * 1000);
        CHECK(c.max_bytes == UINT64_C(2) << 30);
        CHECK_RC(parse(&c, "[Retention]\nMaxAge=1h30m\nMaxSize=1.5GiB\n", err, sizeof(err)), 0);
        CHECK(c.max_age_ms == 5400000 && c.max_bytes == UINT64_C(3) << 29);
        CHECK_RC(parse(&c, "[Retention]\nMaxSize=1048576\n", err, sizeof(err)), 0);
        CHECK(c.max_bytes == 1048576);
        CHECK_RC(parse(&c, "[Retention]\nMaxAge=\nMaxSize=0\n", err, sizeof(err)), 0);
        CHECK(c.max_age_ms == 0 && c.max_bytes == 0);
        CHECK_RC(parse(&c, "[Retention]\nMaxAge=soon\n", err, sizeof(err)), -EINVAL);
        CHECK_STREQ(err, "line 2: MaxAge= needs a duration like 90d or 12h");
        const char *bad_sizes[] = {"1K", "12X", "-5G", "lots", "1e30", "nan", "2 GB extra"};
        for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
                char text[64];
                snprintf(text, sizeof(text), "[Retention]\nMaxSize=%s\n", bad_sizes[i]);
                CHECK_RC(parse(&c, text, err, sizeof(err)), -EINVAL);
                CHECK(strstr(err, "MaxSize= needs a size of at least 1M"));
        }

        /* [Metrics]: off by default, an address:port or a socket path, a bounded top */
        CHECK(!c.metrics_listen && c.metrics_top == CONFIG_DEFAULT_METRICS_TOP);
        CHECK_RC(
                parse(&c, "[Metrics]\nListen=127.0.0.1:9774\nTopContainers=20\n", err, sizeof(err)),
                0);
        CHECK_STREQ(c.metrics_listen, "127.0.0.1:9774");
        CHECK(c.metrics_top == 20);
        CHECK_RC(parse(&c, "[Metrics]\nListen=/run/avcwatch/metrics.sock\n", err, sizeof(err)), 0);
        CHECK_STREQ(c.metrics_listen, "/run/avcwatch/metrics.sock");
        CHECK_RC(parse(&c, "[Metrics]\nListen=\n", err, sizeof(err)), 0);
        CHECK(!c.metrics_listen);
        CHECK_RC(parse(&c, "[Metrics]\nListen=localhost:9774\n", err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "line 2: Listen= needs ADDRESS:PORT"));
        CHECK_RC(parse(&c, "[Metrics]\nTopContainers=0\n", err, sizeof(err)), -EINVAL);
        CHECK_RC(parse(&c, "[Metrics]\nTopContainers=1001\n", err, sizeof(err)), -EINVAL);
        CHECK_RC(parse(&c, "[Metrics]\nTopContainers=-1\n", err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "TopContainers= needs a number from 1 to 1000"));
        c.metrics_top = CONFIG_DEFAULT_METRICS_TOP;

        CHECK_RC(parse(&c, "[Daemon]\nDatabse=/x\n", err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "line 2") && strstr(err, "Databse"));
        CHECK_RC(parse(&c, "Database=/x\n", err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "outside"));
        CHECK_RC(parse(&c, "[Nope]\nA=b\n", err, sizeof(err)), -EINVAL);
        /* an unknown section is an error by itself, at its header, not only with a key in it */
        CHECK_RC(parse(&c, "[Daemon]\n[Engine]\n", err, sizeof(err)), -EINVAL);
        CHECK_STREQ(err, "line 2: unknown section [Engine]");
        /* socket paths that no AF_UNIX address can hold (108 bytes with the NUL) are refused
         * here, by --check-config, not at connect() or bind() time */
        {
                char text[512], path[200];
                memset(path, 'x', sizeof(path));
                path[0] = '/';
                for (size_t i = 0; i < 3; i++) {
                        const char *k[] = {"[Daemon]\nSocket", "[Engines]\nDocker",
                                           "[Engines]\nPodman"};
                        snprintf(text, sizeof(text), "%s=%.107s\n", k[i], path);
                        CHECK_RC(parse(&c, text, err, sizeof(err)), 0); /* 107: fits */
                        snprintf(text, sizeof(text), "%s=%.108s\n", k[i], path);
                        CHECK_RC(parse(&c, text, err, sizeof(err)), -EINVAL);
                        CHECK(strstr(err, "line 2") && strstr(err, "too long for a socket"));
                }
        }
        CHECK_RC(parse(&c, "[Daemon]\nDatabase=relative.db\n", err, sizeof(err)), -EINVAL);
        CHECK_RC(parse(&c, "[Filter]\nTargetCategories=maybe\n", err, sizeof(err)), -EINVAL);
        CHECK_RC(parse(&c, "[Filter]\nDomains=bad$type\n", err, sizeof(err)), -EINVAL);
        CHECK_RC(parse(&c, "[Daemon\n", err, sizeof(err)), -EINVAL);
        CHECK_RC(parse(&c, "[Daemon]\njust words\n", err, sizeof(err)), -EINVAL);
        /* failed parses left the previous values */
        CHECK_STREQ(c.database, "/tmp/x.db");

        /* bounds: too many patterns, a line over the limit, a file over the limit */
        char many[DOMAIN_PATTERNS_MAX * 8 + 64] = "[Filter]\nDomains=";
        for (int i = 0; i <= DOMAIN_PATTERNS_MAX; i++)
                strcat(many, "a_t ");
        CHECK_RC(parse(&c, many, err, sizeof(err)), -EINVAL);
        char *big = malloc(CONFIG_FILE_MAX + 2);
        memset(big, '#', CONFIG_FILE_MAX + 1);
        big[CONFIG_FILE_MAX + 1] = 0;
        CHECK_RC(config_parse(&c, big, CONFIG_FILE_MAX + 1, err, sizeof(err)), -EINVAL);
        free(big);

        /* every error of a file, each with its line, not only the first; the keys of an unknown
         * section are not reported once more each */
        {
                char all[1024];
                Config d;
                CHECK_RC(config_init_default(&d), 0);
                CHECK_RC(parse(&d,
                               "[Daemon]\nDatabse=/x\nSocket=relative\n[Retention]\nMaxAge=soon\n"
                               "MaxSize=2G\n[Nope]\nA=b\nC=d\n[Filter]\nTargetCategories=maybe\n"
                               "no equals sign\n",
                               all, sizeof(all)),
                         -EINVAL);
                CHECK_STREQ(all, "line 2: unknown key 'Databse' in [Daemon]\n"
                                 "line 3: Socket= needs an absolute path\n"
                                 "line 5: MaxAge= needs a duration like 90d or 12h\n"
                                 "line 7: unknown section [Nope]\n"
                                 "line 11: TargetCategories= needs a boolean\n"
                                 "line 12: expected Key=Value");
                /* a buffer too small for all of them: whole lines only, and the count */
                char small[64];
                CHECK_RC(parse(&d, "[Daemon]\nA=1\nB=2\nC=3\nD=4\n", small, sizeof(small)),
                         -EINVAL);
                CHECK_STREQ(small, "line 2: unknown key 'A' in [Daemon]\n(3 more errors)");
                config_done(&d);
        }

        DomainFilter f;
        CHECK_RC(domain_filter_parse("", &f), 0);
        CHECK(f.n_patterns == 0);
        domain_filter_done(&f);
        CHECK_RC(domain_filter_parse("a_t,,b_t\tc_t", &f), 0);
        CHECK(f.n_patterns == 3);
        domain_filter_done(&f);

        config_done(&c);
        printf("config: ok\n");
        return 0;
}
