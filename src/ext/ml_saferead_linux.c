// SPDX-License-Identifier: MIT
// Linux implementation of ml_saferead.h. The kernel copies the bytes, so a
// bad address becomes EFAULT instead of SIGSEGV. See notes/SAMPLING.md.

#define _GNU_SOURCE
#include "ml_saferead.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* Addresses at or above this are kernel space on every 64-bit Linux
 * target we support (x86-64 4- and 5-level paging, aarch64 48/52-bit). */
#define ML_USER_TOP (UINT64_C(1) << 57)
#define ML_MIN_ADDR 4096
#define ML_IOV_BATCH 1024        /* UIO_MAXIOV */
#define ML_FILE_CAP (256 * 1024) /* size of the memfd bounce buffer */

/* g_mode: written only with g_lock held, read lock-free by readers (an
 * atomic int, so a reader sees either the old or the new mode). */
static atomic_int g_mode = ML_SAFEREAD_NONE;

/* g_lock protects g_fd, g_map and the bytes of the bounce buffer: the file
 * fallback has one buffer for the whole process. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_fd = -1;
static unsigned char *g_map;

/* g_pid: our pid, cached because glibc no longer caches getpid() and a
 * sample makes many reads. Set by init before g_mode and in the fork
 * child (single-threaded there). */
static atomic_int g_pid;

static int
addr_ok(uint64_t addr, size_t len)
{
    if (addr < ML_MIN_ADDR || addr >= ML_USER_TOP) {
        return 0;
    }
    return len <= ML_USER_TOP - addr;
}

static ssize_t
vm_read(struct iovec *local, struct iovec *remote, unsigned long n)
{
    return process_vm_readv(atomic_load(&g_pid), local, n, remote, n, 0);
}

/* Probes process_vm_readv on a local variable: containers with a default
 * seccomp profile answer EPERM or ENOSYS. */
static int
probe_vm(void)
{
    uint64_t src = UINT64_C(0x6d6c5f70726f6265), dst = 0;
    struct iovec l = {&dst, sizeof(dst)};
    struct iovec r = {&src, sizeof(src)};

    return vm_read(&l, &r, 1) == (ssize_t)sizeof(dst) && dst == src;
}

/* Opens the bounce file: a memfd, or an unlinked file in /tmp where memfd
 * is missing. Called with g_lock held. */
static int
file_open_locked(void)
{
    char path[] = "/tmp/ml_saferead_XXXXXX";
    void *map;
    int fd;

    if (g_map != NULL) {
        return 0;
    }
    fd = memfd_create("ml_saferead", MFD_CLOEXEC);
    if (fd < 0) {
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) {
            return -errno;
        }
        unlink(path);
    }
    if (ftruncate(fd, ML_FILE_CAP) != 0) {
        goto fail;
    }
    map = mmap(NULL, ML_FILE_CAP, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        goto fail;
    }
    g_fd = fd;
    g_map = map;
    return 0;
fail:
    close(fd);
    return -EIO;
}

/* After fork the child shares the memfd pages with its parent: give the
 * child its own buffer on first use. */
static void
atfork_child(void)
{
    atomic_store(&g_pid, getpid());
    if (g_map != NULL) {
        munmap(g_map, ML_FILE_CAP);
        close(g_fd);
        g_map = NULL;
        g_fd = -1;
    }
    pthread_mutex_init(&g_lock, NULL);
}

int
ml_saferead_init(void)
{
    static int atfork_done; /* protected by g_lock */
    int mode = atomic_load(&g_mode);
    int rc = 0;

    if (mode != ML_SAFEREAD_NONE) {
        return mode;
    }
    pthread_mutex_lock(&g_lock);
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, atfork_child);
        atfork_done = 1;
    }
    mode = atomic_load(&g_mode);
    if (mode == ML_SAFEREAD_NONE) {
        atomic_store(&g_pid, getpid());
        if (probe_vm()) {
            mode = ML_SAFEREAD_VM;
        } else if ((rc = file_open_locked()) == 0) {
            mode = ML_SAFEREAD_FILE;
        }
        atomic_store(&g_mode, mode);
    }
    pthread_mutex_unlock(&g_lock);
    return mode != ML_SAFEREAD_NONE ? mode : rc;
}

int
ml_saferead_force(int mode)
{
    int rc = 0;

    if (mode != ML_SAFEREAD_VM && mode != ML_SAFEREAD_FILE) {
        return -EINVAL;
    }
    pthread_mutex_lock(&g_lock);
    atomic_store(&g_pid, getpid());
    if (mode == ML_SAFEREAD_VM && !probe_vm()) {
        rc = -ENOSYS;
    } else if (mode == ML_SAFEREAD_FILE) {
        rc = file_open_locked();
    }
    if (rc == 0) {
        atomic_store(&g_mode, mode);
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int
ml_saferead_mode(void)
{
    return atomic_load(&g_mode);
}

/* pwrite copies from our address space in the kernel, failing with EFAULT
 * on a bad page; the bytes then come back through the shared mapping. */
static int
file_read(void *dst, uint64_t addr, size_t len)
{
    unsigned char *out = dst;
    int rc = 0;

    pthread_mutex_lock(&g_lock);
    if (g_map == NULL && file_open_locked() != 0) {
        rc = -1;
    }
    while (rc == 0 && len > 0) {
        size_t n = len < ML_FILE_CAP ? len : ML_FILE_CAP;
        ssize_t got = pwrite(g_fd, (const void *)(uintptr_t)addr, n, 0);

        if (got != (ssize_t)n) {
            rc = -1;
            break;
        }
        memcpy(out, g_map, n);
        out += n;
        addr += n;
        len -= n;
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

static int
current_mode(void)
{
    int mode = atomic_load(&g_mode);

    return mode != ML_SAFEREAD_NONE ? mode : ml_saferead_init();
}

int
ml_saferead(void *dst, uint64_t addr, size_t len)
{
    struct iovec l, r;
    int mode;

    if (len == 0) {
        return 0;
    }
    if (!addr_ok(addr, len)) {
        return -1;
    }
    mode = current_mode();
    if (mode == ML_SAFEREAD_FILE) {
        return file_read(dst, addr, len);
    }
    if (mode != ML_SAFEREAD_VM || len > SSIZE_MAX) {
        return -1;
    }
    l.iov_base = dst;
    l.iov_len = len;
    r.iov_base = (void *)(uintptr_t)addr;
    r.iov_len = len;
    return vm_read(&l, &r, 1) == (ssize_t)len ? 0 : -1;
}

/* Marks the regions [0, n) covered by the `got` bytes a partial transfer
 * copied; returns the index of the first region not read completely. */
static int
mark_done(ml_saferead_req *reqs, int n, size_t got)
{
    int i;

    for (i = 0; i < n && reqs[i].len <= got; i++) {
        reqs[i].ok = 1;
        got -= reqs[i].len;
    }
    return i;
}

/* One process_vm_readv over reqs[0, n), all with valid addresses. Returns
 * the number of leading regions consumed (done or failed). */
static int
vm_batch(ml_saferead_req *reqs, int n)
{
    struct iovec l[ML_IOV_BATCH], r[ML_IOV_BATCH];
    ssize_t got;
    int i;

    if (n <= 0 || n > ML_IOV_BATCH) {
        return n <= 0 ? 0 : 1;
    }
    for (i = 0; i < n; i++) {
        l[i].iov_base = reqs[i].dst;
        l[i].iov_len = reqs[i].len;
        r[i].iov_base = (void *)(uintptr_t)reqs[i].addr;
        r[i].iov_len = reqs[i].len;
    }
    got = vm_read(l, r, (unsigned long)n);
    if (got < 0) {
        /* The first region faulted: skip it and go on with the others. */
        return 1;
    }
    i = mark_done(reqs, n, (size_t)got);
    return i < n ? i + 1 : n;
}

/* Collects up to ML_IOV_BATCH readable regions starting at reqs[0]; returns
 * how many leading regions can go into one syscall (invalid ones end it). */
static int
vm_run_length(ml_saferead_req *reqs, int n)
{
    int i;

    for (i = 0; i < n && i < ML_IOV_BATCH; i++) {
        if (reqs[i].len == 0 || reqs[i].len > SSIZE_MAX / ML_IOV_BATCH
            || !addr_ok(reqs[i].addr, reqs[i].len)) {
            break;
        }
    }
    return i;
}

int
ml_saferead_batch(ml_saferead_req *reqs, int n)
{
    int i = 0, done = 0, mode;

    if (n < 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        reqs[i].ok = 0;
    }
    mode = current_mode();
    i = 0;
    while (i < n) {
        int run = mode == ML_SAFEREAD_VM ? vm_run_length(reqs + i, n - i) : 0;

        if (run > 0) {
            i += vm_batch(reqs + i, run);
            continue;
        }
        reqs[i].ok = ml_saferead(reqs[i].dst, reqs[i].addr, reqs[i].len) == 0;
        i++;
    }
    for (i = 0; i < n; i++) {
        done += reqs[i].ok;
    }
    return done;
}
