/* SPDX-License-Identifier: MIT */
/* Gap backfill's files: which rotations are read and in which order, and reading them on a loop
 * line by line, in order, unaffected by a rotation while reading. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "backfill.h"
#include "fixtures.h"
#include "macro.h"
#include "tests/unit/test.h"

static char *dir;
static char log_path[128];

/* Writes path with text and sets its mtime (ms since the epoch). */
static void write_file(const char *path, const char *text, int64_t mtime_ms) {
        FILE *f = fopen(path, "we");
        CHECK(f);
        fputs(text, f);
        CHECK(fclose(f) == 0);
        struct timespec ts[2] = {
                {.tv_sec = mtime_ms / 1000, .tv_nsec = (mtime_ms % 1000) * 1000000},
                {.tv_sec = mtime_ms / 1000, .tv_nsec = (mtime_ms % 1000) * 1000000},
        };
        CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static void rotation(char *buf, size_t n, int i) {
        if (i == 0)
                snprintf(buf, n, "%s", log_path);
        else
                snprintf(buf, n, "%s.%d", log_path, i);
}

typedef struct Ctx {
        sd_event *event;
        char lines[64][32];
        size_t n;
        unsigned done;
} Ctx;

static int on_line(const char *line, size_t len, void *userdata) {
        Ctx *c = userdata;
        CHECK(c->n < ELEMENTSOF(c->lines));
        CHECK(len < sizeof(c->lines[0]));
        memcpy(c->lines[c->n], line, len);
        c->lines[c->n][len] = 0;
        c->n++;
        return 0;
}

static void on_done(void *userdata) {
        Ctx *c = userdata;
        c->done++;
        sd_event_exit(c->event, 0);
}

int main(void) {
        const int64_t since = 1713600000000; /* the gap begins */
        char path[160];
        char **files = NULL;

        dir = fixture_tmpdir("backfill");
        snprintf(log_path, sizeof(log_path), "%s/audit.log", dir);

        /* Nothing there: nothing to read. */
        CHECK_RC(backfill_find_files(log_path, since, &files), 0);
        CHECK(files && !files[0]);
        files = strv_free(files);

        /* .3 was last written long before the gap; .2 just before it (auditd's buffering);
         * .1 and the live log during it. .5 is beyond a missing .4: not a rotation of ours. */
        rotation(path, sizeof(path), 3);
        write_file(path, "three\n", since - BACKFILL_MTIME_SLACK_MS - 1000);
        rotation(path, sizeof(path), 2);
        write_file(path, "two-a\ntwo-b\n", since - 1000);
        rotation(path, sizeof(path), 1);
        write_file(path, "one\n", since + 60000);
        rotation(path, sizeof(path), 0);
        write_file(path, "zero-a\nzero-b", since + 120000); /* last line without a newline */
        rotation(path, sizeof(path), 5);
        write_file(path, "five\n", since + 60000);

        CHECK_RC(backfill_find_files(log_path, since, &files), 3);
        rotation(path, sizeof(path), 2);
        CHECK_STREQ(files[0], path);
        rotation(path, sizeof(path), 1);
        CHECK_STREQ(files[1], path);
        CHECK_STREQ(files[2], log_path);
        CHECK(files[3] == NULL);

        /* Read them; auditd rotates right after they were opened: what is read is unchanged. */
        Ctx c = {};
        SourceStats stats = {};
        Backfill *b = NULL;
        CHECK_RC(sd_event_new(&c.event), 0);
        CHECK_RC(backfill_new(c.event, files, &stats, on_line, on_done, &c, &b), 0);
        CHECK_RC(backfill_files_opened(b), 3);
        for (int i = 3; i >= 0; i--) {
                char from[160], to[160];
                rotation(from, sizeof(from), i);
                rotation(to, sizeof(to), i + 1);
                CHECK(rename(from, to) == 0);
        }
        write_file(log_path, "new-after-rotation\n", since + 180000);
        CHECK_RC(sd_event_loop(c.event), 0);
        CHECK_RC(c.done, 1);
        CHECK_RC(c.n, 5);
        CHECK_STREQ(c.lines[0], "two-a");
        CHECK_STREQ(c.lines[1], "two-b");
        CHECK_STREQ(c.lines[2], "one");
        CHECK_STREQ(c.lines[3], "zero-a");
        CHECK_STREQ(c.lines[4], "zero-b");
        b = backfill_free(b);
        files = strv_free(files);

        /* Now .1 zero, .2 one, .3 two, .4 three (old), .5 five (was not ours to rotate, and is
         * now in the sequence), audit.log new. A file that vanishes between listing and opening
         * is skipped; done still comes. */
        CHECK_RC(backfill_find_files(log_path, since, &files), 5);
        rotation(path, sizeof(path), 1);
        CHECK(unlink(path) == 0);
        Ctx c2 = {};
        CHECK_RC(sd_event_new(&c2.event), 0);
        CHECK_RC(backfill_new(c2.event, files, &stats, on_line, on_done, &c2, &b), 0);
        CHECK_RC(backfill_files_opened(b), 4);
        CHECK_RC(sd_event_loop(c2.event), 0);
        CHECK_RC(c2.done, 1);
        CHECK_RC(c2.n, 5);
        CHECK_STREQ(c2.lines[0], "five");
        CHECK_STREQ(c2.lines[1], "two-a");
        CHECK_STREQ(c2.lines[3], "one");
        CHECK_STREQ(c2.lines[4], "new-after-rotation");
        b = backfill_free(b);
        files = strv_free(files);
        sd_event_unref(c.event);
        sd_event_unref(c2.event);

        fixture_tmpdir_remove(dir);
        printf("ok\n");
        return 0;
}
