/* SPDX-License-Identifier: MIT */
/* Replays a saved fuzz corpus through a fuzz target without libFuzzer, so that every CTest run
 * (gcc, sanitizers or not) re-checks every input the fuzzers ever found interesting. Arguments are
 * files or directories of inputs. */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_INPUT_MAX (1024 * 1024)

static unsigned replayed;

static int replay_file(const char *path) {
        FILE *f = fopen(path, "rb");
        uint8_t *buf;
        size_t n;

        if (!f) {
                fprintf(stderr, "replay: cannot open %s\n", path);
                return -1;
        }
        buf = malloc(REPLAY_INPUT_MAX);
        if (!buf) {
                fclose(f);
                return -1;
        }
        n = fread(buf, 1, REPLAY_INPUT_MAX, f);
        fclose(f);
        /* An exact-size copy, so that ASan sees reads past the end of the input. */
        uint8_t *input = malloc(n ? n : 1);
        if (!input) {
                free(buf);
                return -1;
        }
        memcpy(input, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(input, n);
        free(input);
        replayed++;
        return 0;
}

static int replay_path(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0) {
                fprintf(stderr, "replay: %s: not found\n", path);
                return -1;
        }
        if (!S_ISDIR(st.st_mode))
                return replay_file(path);

        DIR *d = opendir(path);
        struct dirent *de;
        int r = 0;
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char child[4096];
                if (de->d_name[0] == '.')
                        continue;
                snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
                if (replay_path(child) < 0)
                        r = -1;
        }
        closedir(d);
        return r;
}

int main(int argc, char *argv[]) {
        int r = 0;

        for (int i = 1; i < argc; i++)
                if (replay_path(argv[i]) < 0)
                        r = 1;
        if (replayed == 0) {
                fprintf(stderr, "replay: no inputs\n");
                return 1;
        }
        printf("replayed %u inputs\n", replayed);
        return r;
}
