// SPDX-License-Identifier: MIT
// Kernel thread ids and per-thread CPU clocks of other threads. CPython 3.9
// and 3.10 keep only the pthread_t of a thread, so the kernel id is read from
// glibc's thread descriptor at an offset found once on the calling thread.
#ifndef ML_TID_H
#define ML_TID_H

#include <stdint.h>

/* Finds where the thread descriptor keeps the kernel id. Call once from any
 * thread; 0, or -1 when it cannot be found (then ml_tid_of gives 0). */
int ml_tid_init(void);
/* The kernel thread id of a live pthread_t, read without faulting; 0 when
 * unknown. */
uint64_t ml_tid_of(uint64_t pthread_id);
/* CPU nanoseconds used by thread tid of this process; 0 if it is gone (a
 * tid outside this process is refused by the kernel, never misread). */
uint64_t ml_tid_cpu_ns(uint64_t tid);

/* What the kernel says thread tid of this process does now: 1 on a CPU or
 * runnable, 0 blocked (then, when it is blocked in futex(), *futex is the
 * address it waits on, else 0), -1 unknown (gone). Two reads of /proc: for
 * the cases its CPU clock leaves open, not for every sample. */
int ml_tid_running(uint64_t tid, uint64_t *futex);

/* The same from descriptors of the thread's /proc files kept open between
 * calls (read with pread: one system call per file instead of three). Zero-
 * initialize and set both fds to -1 before first use (ML_TID_FILES_INIT);
 * they open on first need, at most ML_TID_MAX_OPEN descriptors in the
 * process together (past that a thread's files are opened per call, as
 * ml_tid_running does), so a program with many threads keeps its own
 * descriptor budget. */
#define ML_TID_MAX_OPEN 256
typedef struct {
    uint64_t tid;
    int stat_fd, syscall_fd;
} ml_tid_files;
#define ML_TID_FILES_INIT                                                     \
    {                                                                         \
        0, -1, -1                                                             \
    }
int ml_tid_running_files(ml_tid_files *f, uint64_t tid, uint64_t *futex);
/* Closes them (a thread that ended; a forked child's copies). */
void ml_tid_files_close(ml_tid_files *f);

#endif
