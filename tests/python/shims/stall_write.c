// SPDX-License-Identifier: MIT
// Test shim (LD_PRELOAD): a slow disk for recordings. While the file named
// by STALL_FLAG exists, every write() to a descriptor whose file ends in
// ".mlog" waits, as a write to a stalled disk would. Other writes (the
// program's own output) go through at once. Built by tests/python/
// test_stall.py; never part of microlog.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
is_recording(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 5) {
        return 0;
    }
    target[n] = 0;
    return strcmp(target + n - 5, ".mlog") == 0;
}

ssize_t
write(int fd, const void *buf, size_t count)
{
    static ssize_t (*real)(int, const void *, size_t);
    if (real == NULL) {
        real =
            (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    }
    const char *flag = getenv("STALL_FLAG");
    if (flag != NULL && fd > 2 && is_recording(fd)) {
        while (access(flag, F_OK) == 0) {
            usleep(10000);
        }
    }
    return real(fd, buf, count);
}
