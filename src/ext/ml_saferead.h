// SPDX-License-Identifier: MIT
// Fault-tolerant reads of this process's own memory, for the sampler thread
// that copies interpreter structures while other threads change them.
// The mechanism (process_vm_readv, or a memfd fallback) is chosen once.

#ifndef ML_SAFEREAD_H
#define ML_SAFEREAD_H

#include <stddef.h>
#include <stdint.h>

/* Mechanisms, as returned by ml_saferead_mode(). */
enum {
    ML_SAFEREAD_NONE = 0, /* not initialised yet, or no mechanism works */
    ML_SAFEREAD_VM = 1,   /* process_vm_readv on our own pid */
    ML_SAFEREAD_FILE = 2, /* pwrite from the address into a memfd */
};

/* One region of a batched read. */
typedef struct {
    void *dst;
    uint64_t addr;
    size_t len;
    int ok; /* out: 1 if this region was read completely, else 0 */
} ml_saferead_req;

/* Picks the mechanism (once; later calls are cheap) and returns it, or a
 * negative errno value if neither works. Thread-safe. Called implicitly by
 * the read functions; call it early to keep the probe off the hot path. */
int ml_saferead_init(void);

/* Testing and diagnostics: force a mechanism (ML_SAFEREAD_VM or
 * ML_SAFEREAD_FILE) before or after init. Returns 0 or a negative errno. */
int ml_saferead_force(int mode);
int ml_saferead_mode(void);

/* Copies len bytes at addr into dst. Returns 0, or -1 if any byte could not
 * be read (unmapped, addr below 4096, overflow); dst is then unspecified.
 * Never faults. */
int ml_saferead(void *dst, uint64_t addr, size_t len);

/* Reads n regions in as few syscalls as possible (one when all succeed) and
 * sets each region's ok. A region that fails does not stop the others.
 * Returns the number of regions read completely, or -1 if n < 0. */
int ml_saferead_batch(ml_saferead_req *reqs, int n);

#endif /* ML_SAFEREAD_H */
