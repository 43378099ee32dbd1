/* SPDX-License-Identifier: MIT
 * ml_fuzz_replay.c - a main() for fuzz targets in ordinary builds: runs
 * LLVMFuzzerTestOneInput on every file named on the command line, or found
 * (recursively) in a directory named there. ctest uses it to replay
 * tests/fuzz/corpus/<target>/ without libFuzzer; see CMakeLists.txt.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Inputs bigger than this are not corpus files; refuse rather than guess. */
#define ML_REPLAY_MAX_INPUT (64u * 1024u * 1024u)
#define ML_REPLAY_MAX_DEPTH 8

static unsigned long replayed;

static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    int rc = -1;

    if (f == NULL) {
        fprintf(stderr, "ml_fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "ml_fuzz_replay: %s: cannot size\n", path);
        goto out;
    }
    if ((unsigned long)size > ML_REPLAY_MAX_INPUT) {
        fprintf(stderr, "ml_fuzz_replay: %s: %ld bytes is too big\n", path,
                size);
        goto out;
    }
    /* malloc(0) may return NULL: keep one byte so the pointer is valid. */
    buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        fprintf(stderr, "ml_fuzz_replay: %s: out of memory\n", path);
        goto out;
    }
    if (size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "ml_fuzz_replay: %s: short read\n", path);
        goto out;
    }
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    replayed++;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int
replay_path(const char *path, int depth)
{
    struct stat st;
    DIR *dir;
    struct dirent *ent;
    int rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "ml_fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return replay_file(path);
    }
    if (depth >= ML_REPLAY_MAX_DEPTH) {
        return 0;
    }
    dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "ml_fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((ent = readdir(dir)) != NULL) {
        size_t len;
        char *child;

        if (ent->d_name[0] == '.') {
            continue; /* ".", "..", and hidden files such as .gitkeep */
        }
        len = strlen(path) + strlen(ent->d_name) + 2;
        child = malloc(len);
        if (child == NULL) {
            rc = -1;
            break;
        }
        snprintf(child, len, "%s/%s", path, ent->d_name);
        if (replay_path(child, depth + 1) != 0) {
            rc = -1;
        }
        free(child);
    }
    closedir(dir);
    return rc;
}

int
main(int argc, char **argv)
{
    int rc = 0;

    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;

        /* A target whose corpus folder does not exist yet replays nothing. */
        if (stat(argv[i], &st) != 0 && errno == ENOENT) {
            printf("ml_fuzz_replay: %s: no such corpus, skipped\n", argv[i]);
            continue;
        }
        if (replay_path(argv[i], 0) != 0) {
            rc = 1;
        }
    }
    printf("ml_fuzz_replay: %lu input(s) replayed\n", replayed);
    return rc;
}
