// SPDX-License-Identifier: MIT
// Linux thread ids and thread CPU clocks (see ml_tid.h).
#define _GNU_SOURCE
#include "ml_tid.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ml_saferead.h"

/* Written once by ml_tid_init before the sampler starts; read-only after. */
static long tid_offset = -1;

int
ml_tid_init(void)
{
    if (tid_offset >= 0) {
        return 0;
    }
    pid_t me = gettid();
    const unsigned char *self = (const unsigned char *)pthread_self();
    /* glibc keeps the tid in the first kilobyte of struct pthread. */
    for (long off = 0; off + (long)sizeof(pid_t) <= 1024; off += 4) {
        pid_t v;
        memcpy(&v, self + off, sizeof v);
        if (v == me) {
            tid_offset = off;
            return 0;
        }
    }
    return -1;
}

uint64_t
ml_tid_of(uint64_t pthread_id)
{
    pid_t tid = 0;
    if (tid_offset < 0 || pthread_id == 0
        || ml_saferead(&tid, pthread_id + (uint64_t)tid_offset, sizeof tid)
               != 0
        || tid <= 0) {
        return 0;
    }
    return (uint64_t)tid;
}

uint64_t
ml_tid_cpu_ns(uint64_t tid)
{
    if (tid == 0) {
        return 0;
    }
    /* The kernel's encoding of a per-thread CPU clock (CPUCLOCK_SCHED,
     * CPUCLOCK_PERTHREAD), as glibc's pthread_getcpuclockid builds it. */
    clockid_t id = (clockid_t)((~(unsigned long)tid << 3) | 6);
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads a small /proc file of thread tid into buf; its length or -1. */
static int
read_task_file(uint64_t tid, const char *name, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%llu/%s",
             (unsigned long long)tid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = 0;
    return (int)n;
}

/* Descriptors held by ml_tid_files, all threads of the process together. */
static atomic_int open_count;

static int
open_task_file(uint64_t tid, const char *name)
{
    if (atomic_fetch_add(&open_count, 1) >= ML_TID_MAX_OPEN) {
        atomic_fetch_sub(&open_count, 1);
        return -1;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%llu/%s",
             (unsigned long long)tid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        atomic_fetch_sub(&open_count, 1);
    }
    return fd;
}

static void
close_task_file(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        atomic_fetch_sub(&open_count, 1);
        *fd = -1;
    }
}

void
ml_tid_files_close(ml_tid_files *f)
{
    close_task_file(&f->stat_fd);
    close_task_file(&f->syscall_fd);
}

/* Reads a file of f's thread through its kept descriptor, opening it on
 * first need; without one (budget spent), opens and closes it. */
static int
read_kept(ml_tid_files *f, int *fd, uint64_t tid, const char *name, char *buf,
          size_t size)
{
    if (f == NULL) {
        return read_task_file(tid, name, buf, size);
    }
    if (f->tid != tid) {
        ml_tid_files_close(f);
        f->tid = tid;
    }
    if (*fd < 0 && (*fd = open_task_file(tid, name)) < 0) {
        return read_task_file(tid, name, buf, size);
    }
    ssize_t n = pread(*fd, buf, size - 1, 0);
    if (n <= 0) {
        close_task_file(fd); /* the thread is gone */
        return -1;
    }
    buf[n] = 0;
    return (int)n;
}

static int running(ml_tid_files *f, uint64_t tid, uint64_t *futex);

int
ml_tid_running(uint64_t tid, uint64_t *futex)
{
    return running(NULL, tid, futex);
}

int
ml_tid_running_files(ml_tid_files *f, uint64_t tid, uint64_t *futex)
{
    return running(f, tid, futex);
}

static int
running(ml_tid_files *f, uint64_t tid, uint64_t *futex)
{
    char buf[512];
    *futex = 0;
    if (tid == 0
        || read_kept(f, f ? &f->stat_fd : NULL, tid, "stat", buf, sizeof buf)
               < 0) {
        return -1;
    }
    /* "pid (comm) S ...": the name may hold spaces and parentheses. */
    const char *close_paren = strrchr(buf, ')');
    if (close_paren == NULL || close_paren[1] != ' ') {
        return -1;
    }
    if (close_paren[2] == 'R') {
        return 1;
    }
    /* "202 0xADDR ...": the system call it is blocked in, and its first
     * argument. */
    if (read_kept(f, f ? &f->syscall_fd : NULL, tid, "syscall", buf,
                  sizeof buf)
        > 0) {
        char *end;
        long nr = strtol(buf, &end, 10);
        if (end != buf && nr == SYS_futex && *end == ' ') {
            *futex = (uint64_t)strtoull(end + 1, NULL, 16);
        }
    }
    return 0;
}
