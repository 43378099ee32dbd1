// SPDX-License-Identifier: MIT
// What the view files share: the resolved window and thread selection, the
// functions table of an answer, and the per-range aggregation that the
// functions, flame graph and call graph views are computed from.
#ifndef ML_VIEW_INT_H
#define ML_VIEW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ml_index_int.h"
#include "ml_views.h"

/* Defines `static size_t NAME(const TYPE *a, size_t n, uint64_t t)`: the
 * first index whose KEY(a + i) is >= t, for a sorted by KEY. */
#define VW_LOWER_BOUND(NAME, TYPE, KEY)                                       \
    static size_t NAME(const TYPE *a, size_t n, uint64_t t)                   \
    {                                                                         \
        size_t lo = 0, hi = n;                                                \
        while (lo < hi) {                                                     \
            size_t mid = lo + (hi - lo) / 2;                                  \
            if ((uint64_t)(KEY(a + mid)) < t) {                               \
                lo = mid + 1;                                                 \
            } else {                                                          \
                hi = mid;                                                     \
            }                                                                 \
        }                                                                     \
        return lo;                                                            \
    }

/* Windows of at most this many blocks are aggregated exactly (decoding
 * their chunks); longer ones are widened to whole blocks. */
#define VW_EXACT_BLOCKS 8

typedef struct {
    uint64_t from, to; /* to > from */
    uint64_t bucket;   /* power of two >= (to - from) / width */
    uint8_t *want;     /* by thread id (index 0 unused): selected */
    uint32_t nthreads; /* of the index, when resolved */
} vw_window;

/* Resolves q's window (to == UINT64_MAX: the end; snap: widen to
 * multiples of the bucket) and thread list. ML_EINVAL for an unknown
 * thread or an empty window. */
int vw_resolve(ml_index *ix, const ml_view_query *q, int snap, vw_window *out);
void vw_window_free(vw_window *win);
int vw_wants(const vw_window *win, uint32_t thread);

/* The run's achieved sampling interval in us (the requested one when
 * fewer than two samples per thread). */
double vw_interval(const ml_index *ix);

/* The functions an answer names, written as its "functions" table. */
typedef struct {
    uint8_t *used; /* by fid */
    size_t n;
} vw_funcs;

int vw_funcs_init(vw_funcs *f, const ml_index *ix);
void vw_funcs_free(vw_funcs *f);
static inline void
vw_funcs_mark(vw_funcs *f, uint32_t fid)
{
    if (fid < f->n) {
        f->used[fid] = 1;
    }
}
/* The keys id, name, file, line, module, class of fid, inside an open
 * object. */
void vw_func_fields(const ml_index *ix, ml_jsonw *w, uint32_t fid);
/* "functions": {"id": {...}, ...} for every marked fid. */
void vw_funcs_write(const ml_index *ix, ml_jsonw *w, const vw_funcs *f);

/* Samples and calls of a window, for functions and flame graphs. */
typedef struct {
    uint64_t from, to; /* the window actually aggregated */
    int exact;
    uint32_t *samples, *running; /* by fnode, as the innermost stack */
    uint64_t *calls, *calls_us, *calls_max; /* by fid, calls starting in
                                               the window */
    uint64_t total_samples;
} vw_range;

int vw_range_collect(ml_index *ix, const vw_window *win, vw_range *out);
void vw_range_free(vw_range *r);

/* Turns leaf counts by fnode into inclusive ones (each node's subtree),
 * in place. */
void vw_inclusive_in_place(const ml_index *ix, uint32_t *counts);
/* The same into a new array (NULL when out of memory). */
uint32_t *vw_inclusive(const ml_index *ix, const uint32_t *leaf);

/* Calls fn for every long span of thread t (kept by the index) that
 * overlaps [from, to) and is at least min_len long, then for its open
 * spans (end: one interval after its last sample). */
typedef void (*vw_span_fn)(void *ctx, uint32_t thread, const ix_span *s,
                           uint32_t fnode);
void vw_long_spans(ml_index *ix, uint32_t thread, uint64_t from, uint64_t to,
                   uint64_t min_len, vw_span_fn fn, void *ctx);

/* Re-decodes [from, to] with one builder per wanted thread and calls fn
 * for each short span (shorter than IX_LONG_US) whose start is known. */
int vw_short_spans(ml_index *ix, const vw_window *win, uint64_t from,
                   uint64_t to, vw_span_fn fn, void *ctx);

/* The margin around a window that short spans need to be seen whole. */
uint64_t vw_margin(const ml_index *ix);

#endif
