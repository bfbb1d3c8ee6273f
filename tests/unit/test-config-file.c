/* SPDX-License-Identifier: MIT */
/* The configuration file of the running daemon: a missing default file gives the defaults (one
 * named on the command line must exist, also at a reload), the command
 * line's settings win over the file (also after a reload), a reload applies the scope filter and
 * retention at once, leaves journal forwarding to its caller and keeps restart-only settings as
 * they run, and a file that does not parse changes nothing. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config-file.h"
#include "tests/unit/fixtures.h"
#include "tests/unit/test.h"

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        CHECK(f);
        CHECK(fputs(text, f) >= 0);
        CHECK(fclose(f) == 0);
}

int main(void) {
        char *dir = fixture_tmpdir("config-file");
        _cleanup_(freep) char *path = fixture_path(dir, "avcwatchd.conf");
        const ConfigOverrides o = {.database = "/tmp/override.db", .input = "-"};
        ConfigFile *f;
        ConfigChanges ch;
        Config c;

        /* A file named on the command line must exist: its absence is a typo, not the defaults. */
        CHECK_RC(config_load(path, true, &o, &c), -ENOENT);

        /* No default file: the defaults, with the overrides laid over them. */
        CHECK_RC(config_load(path, false, &o, &c), 0);
        CHECK_STREQ(c.database, "/tmp/override.db");
        CHECK_STREQ(c.input, "-");
        CHECK_STREQ(c.socket, CONFIG_DEFAULT_SOCKET);
        CHECK(domain_filter_wants(&c.domains, "container_t", NULL));
        CHECK(!c.journal_forward);
        CHECK_RC(c.max_age_ms, 0);

        /* A reload: the filter and retention at once, journal forwarding for the caller, a
         * changed Database= stays overridden and Socket= stays as it runs. */
        write_file(path, "[Daemon]\nDatabase=/tmp/file.db\nSocket=/tmp/other.sock\n"
                         "[Filter]\nDomains=spc_t\nTargetCategories=no\n"
                         "[Journal]\nForwardDenials=yes\n[Retention]\nMaxAge=2d\n");
        CHECK_RC(config_file_new(path, false, &o, &f), 0);
        CHECK_STREQ(config_file_path(f), path);
        CHECK_RC(config_file_reload(f, &c, &ch), 0);
        CHECK(!domain_filter_wants(&c.domains, "container_t", NULL));
        CHECK(domain_filter_wants(&c.domains, "spc_t", NULL));
        CHECK(ch.retention);
        CHECK_RC(c.max_age_ms, 2LL * 24 * 3600 * 1000);
        CHECK(ch.journal_forward && ch.journal_forward_to);
        CHECK(!c.journal_forward); /* the caller sets it once forwarding is on */
        CHECK_STREQ(c.database, "/tmp/override.db");
        CHECK_STREQ(c.socket, CONFIG_DEFAULT_SOCKET);

        /* The same file again: nothing to act on. */
        c.journal_forward = true;
        CHECK_RC(config_file_reload(f, &c, &ch), 0);
        CHECK(!ch.retention && !ch.journal_forward);

        /* A file that does not parse: the running configuration is untouched. */
        write_file(path, "[Filter]\nDomains=container_t\n[Nope]\n");
        CHECK_RC(config_file_reload(f, &c, &ch), -EINVAL);
        CHECK(!domain_filter_wants(&c.domains, "container_t", NULL));
        CHECK_RC(c.max_age_ms, 2LL * 24 * 3600 * 1000);
        CHECK_RC(config_load(path, false, NULL, &(Config){}), -EINVAL);

        /* A file that was read: 1, so that --check-config can tell it from the defaults. */
        Config read;
        write_file(path, "[Retention]\nMaxAge=2d\n");
        CHECK_RC(config_load(path, true, NULL, &read), 1);
        config_done(&read);

        /* A required file that vanished: the reload fails, the running configuration stays. */
        ConfigFile *required;
        CHECK_RC(config_file_new(path, true, NULL, &required), 0);
        CHECK(unlink(path) == 0);
        CHECK_RC(config_file_reload(required, &c, &ch), -ENOENT);
        CHECK_RC(c.max_age_ms, 2LL * 24 * 3600 * 1000);
        config_file_free(required);

        /* No path: nothing to reload. */
        config_file_free(f);
        CHECK_RC(config_file_new(NULL, false, NULL, &f), 0);
        CHECK_RC(config_file_reload(f, &c, &ch), -ENOENT);
        config_file_free(f);

        config_done(&c);
        fixture_tmpdir_remove(dir);
        return 0;
}
