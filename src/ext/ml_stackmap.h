// SPDX-License-Identifier: MIT
// Turns the frames of one sample (code address, instruction offset) into an
// interned stack id of the recording. Work is proportional to what changed:
// the part of a thread's stack that matches its previous sample (from the
// root) reuses the previous stack nodes; a (code, offset) seen before reuses
// its frame id; a code object's names are resolved once.
#ifndef ML_STACKMAP_H
#define ML_STACKMAP_H

#include <stdint.h>

#include "format/ml_writer.h"
#include "ml_pywalk.h"

/* Where code objects are resolved: the GIL-free walker or the fallback. */
typedef struct {
    int (*code)(void *ctx, uint64_t code, ml_pycode_info *out);
    int (*line)(void *ctx, uint64_t code, int32_t lasti);
    void *ctx;
} ml_codesource;

/* One thread's previous stack, root first, with the stack id at each depth.
 * Zero-initialize; release with ml_stackcache_free. */
typedef struct {
    ml_pyframe *frames;
    uint32_t *ids;
    int depth;
    int cap;
    int truncated;  /* the ML_ROOT_* root the stack hung from */
    uint32_t epoch; /* the map's epoch it was filled in */
} ml_stackcache;

typedef struct ml_stackmap ml_stackmap;

int ml_stackmap_new(ml_stackmap **out);
void ml_stackmap_free(ml_stackmap *m);
void ml_stackcache_free(ml_stackcache *c);
/* Forgets every code object and frame (the writer's definitions stay): for
 * bounded memory, or for a new writer (ids restart per file). Every
 * thread's cache then starts over at its next sample. */
void ml_stackmap_clear(ml_stackmap *m);
/* Code objects and (code, offset) places cached now. */
void ml_stackmap_sizes(const ml_stackmap *m, uint32_t *codes,
                       uint32_t *places);

/* What a partial stack hangs from: nothing (a whole stack), "<truncated>"
 * (its root frames are left out at the depth bound) or "<unreadable>" (the
 * walk stopped at a frame it could not read: the leaf frames read, their
 * callers unknown). */
enum {
    ML_ROOT_WHOLE = 0,
    ML_ROOT_TRUNCATED = 1,
    ML_ROOT_UNREADABLE = 2
};

/* Interns the stack given leaf first in frames[0..n) into w and stores its
 * id (0 for an empty stack) in *stack, under the root frame root names
 * (ML_ROOT_*). prev is the thread's cache, updated. 0 or a negative ML_E*
 * code. Call with the sink lock held (it writes definitions). */
int ml_stackmap_intern(ml_stackmap *m, const ml_codesource *src, ml_writer *w,
                       ml_stackcache *prev, const ml_pyframe *frames, int n,
                       int root, uint32_t *stack);

#endif
