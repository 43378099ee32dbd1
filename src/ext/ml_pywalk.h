// SPDX-License-Identifier: MIT
// Version-independent interface of the GIL-free Python stack reader used by
// the sampler thread. One implementation file per CPython layout is built
// (ml_pywalk_py39.c, _py311.c, _py312.c, _py313.c), each saying how its
// version keeps frames; the shared code is in ml_pywalk_common.c.

#ifndef ML_PYWALK_H
#define ML_PYWALK_H

#include <stdint.h>

/* Opaque: the code/line/string caches, per-thread previous stacks and
 * scratch buffers. Not thread-safe: one thread at a time (the sampler). */
typedef struct ml_pywalk ml_pywalk;

/* One Python frame: the code object's address (the cache key) and the byte
 * offset of the current instruction in its bytecode (-1 if unknown). */
typedef struct {
    uint64_t code;
    int32_t lasti;
} ml_pyframe;

/* One thread state of the main interpreter, as seen by one sample. */
typedef struct {
    uint64_t tstate;    /* address of the PyThreadState */
    uint64_t thread_id; /* threading.get_ident() */
    uint64_t native_id; /* kernel tid; 0 if the version does not keep it */
    int holds_gil;      /* 1 if this thread holds the GIL at sample time */
    int nframes;        /* frames written, leaf first */
    int truncated;      /* 1: depth bound hit (the root frames are left) */
    /* 1: the walk stopped at a frame it could not read (the thread changed
     * its stack under the copy, twice in a row): the frames are the leaf
     * ones read, their callers unknown. */
    int broken;
} ml_pythread;

typedef struct {
    const char *name; /* co_qualname (3.11+) or co_name, UTF-8 */
    const char *file; /* co_filename, UTF-8 */
    int firstlineno;
} ml_pycode_info;

/* Errors are negated errno values. */

/* Creates a walker for the running interpreter. Call WITH the GIL (it
 * uses the C API to find the runtime and the type objects). On success
 * stores the walker in *out and returns 0; else returns -ENOMEM, -ENOSYS
 * (no safe-read mechanism) or -EINVAL (interpreter not recognised). */
int ml_pywalk_new(ml_pywalk **out);

/* Frees the walker and every string it handed out. Accepts NULL. */
void ml_pywalk_free(ml_pywalk *w);

/* Samples every thread state of the main interpreter WITHOUT the GIL.
 * Writes up to max_threads entries to threads and, for thread i, up to
 * max_depth frames (leaf first) to frames[i * max_depth ...]. Returns the
 * number of threads written (>= 0) or a negative errno value. Memory is
 * only read through ml_saferead, so concurrent thread creation and exit
 * cannot crash it; a torn read gives a truncated stack at worst. Frames
 * owned by C (3.12+ shims) and frames not started yet are skipped, as
 * traceback does. */
int ml_pywalk_sample(ml_pywalk *w, ml_pythread *threads, int max_threads,
                     ml_pyframe *frames, int max_depth);

/* Resolves a code object seen in a sample (no GIL needed): fills *out with
 * strings owned by w, valid until ml_pywalk_free or ml_pywalk_cache_clear.
 * Returns 0, or -EFAULT if the address does not hold a readable code object.
 */
int ml_pywalk_code(ml_pywalk *w, uint64_t code, ml_pycode_info *out);

/* Where threads that want the GIL wait in its state (its cond and mutex,
 * not the switch_cond where a thread that drops it waits for the hand-
 * over), so a thread blocked there can be told to be waiting for the GIL;
 * *size 0 when unknown. */
void ml_pywalk_gil(const ml_pywalk *w, uint64_t *addr, uint64_t *size);

/* Returns the line number of the instruction at byte offset lasti of code,
 * decoding the line table on first use and caching per (code, lasti). When
 * the line is unknown returns co_firstlineno, or 0 if the code object is
 * unreadable. */
int ml_pywalk_line(ml_pywalk *w, uint64_t code, int32_t lasti);

/* Walks of a thread retried (it stopped at a frame it could not read) and
 * retries that failed too, since the walker was made. */
void ml_pywalk_walk_stats(const ml_pywalk *w, uint64_t *retries,
                          uint64_t *failed);
/* Code objects cached now. */
uint32_t ml_pywalk_cache_count(const ml_pywalk *w);
/* Empties the code, line and string caches (they fill again as samples
 * need them): every string ml_pywalk_code handed out is freed. Call
 * between samples, from the sampling thread. */
void ml_pywalk_cache_clear(ml_pywalk *w);

#endif /* ML_PYWALK_H */
