// SPDX-License-Identifier: MIT
// The span builder (ml_index_int.h): turns one thread's runs of samples
// into flame-chart spans, the same way in the index's own pass and when a
// view decodes a window again, so both always agree.
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_index_int.h"

uint64_t
ix_span_end(const ml_index *ix, uint64_t last_t, uint64_t t)
{
    /* A thread sampled on time ends a span at its next sample; after a gap
     * (not sampled, or the run ended) one interval after the last one. */
    uint64_t cap = last_t + ix->interval_us;
    if (t <= last_t + 4 * ix->interval_us) {
        return t > last_t ? t : cap;
    }
    return cap;
}

static int
builder_reserve(ix_builder *b, uint32_t depth)
{
    if (depth <= b->cap) {
        return ML_OK;
    }
    uint32_t n = b->cap ? b->cap : 64;
    while (n < depth) {
        n *= 2;
    }
    uint32_t *node = realloc(b->node, n * sizeof *node);
    if (node != NULL) {
        b->node = node;
    }
    uint64_t *start = realloc(b->start, n * sizeof *start);
    if (start != NULL) {
        b->start = start;
    }
    uint64_t *r0 = realloc(b->r0, n * sizeof *r0);
    if (r0 != NULL) {
        b->r0 = r0;
    }
    uint64_t *w0 = realloc(b->w0, n * sizeof *w0);
    if (w0 != NULL) {
        b->w0 = w0;
    }
    uint64_t *g0 = realloc(b->g0, n * sizeof *g0);
    if (g0 != NULL) {
        b->g0 = g0;
    }
    uint8_t *unknown = realloc(b->unknown, n);
    if (unknown != NULL) {
        b->unknown = unknown;
    }
    if (!node || !start || !r0 || !w0 || !g0 || !unknown) {
        return ML_ENOMEM;
    }
    b->cap = n;
    return ML_OK;
}

void
ix_builder_free(ix_builder *b)
{
    free(b->node);
    free(b->start);
    free(b->r0);
    free(b->w0);
    free(b->g0);
    free(b->unknown);
    memset(b, 0, sizeof *b);
}

ix_span
ix_builder_span(const ml_index *ix, const ix_builder *b, uint32_t d,
                uint64_t end)
{
    ix_span s;
    s.start = b->start[d];
    s.end = end > s.start ? end : s.start + 1;
    s.fid = ix->fnodes.items[b->node[d]].fid;
    s.running = (uint32_t)(b->running - b->r0[d]);
    s.waiting = (uint32_t)(b->waiting - b->w0[d]);
    s.gil = (uint32_t)(b->gil - b->g0[d]);
    s.depth = (uint16_t)d;
    s.pad = 0;
    return s;
}

/* Closes the spans at depths >= keep, ending at end. */
void
ix_builder_close(const ml_index *ix, ix_builder *b, uint32_t thread,
                 uint32_t keep, uint64_t end, ix_emit_fn emit, void *ctx)
{
    while (b->depth > keep) {
        uint32_t d = --b->depth;
        ix_span s = ix_builder_span(ix, b, d, end);
        emit(ctx, thread, &s, b->unknown[d]);
    }
}

void
ix_builder_feed(ml_index *ix, ix_builder *b, uint32_t thread, uint64_t t0,
                uint64_t t_last, uint32_t count, uint32_t fnode, uint8_t state,
                ix_emit_fn emit, void *ctx)
{
    const ix_fnode *nodes = ix->fnodes.items;
    if (nodes[fnode].truncated && b->any) {
        /* Only the innermost part of this stack was read: the frames
         * around it were still there, so the open spans go on and count
         * these samples. */
        if (state & ML_STATE_RUNNING) {
            b->running += count;
        } else {
            b->waiting += count;
            b->gil += state & ML_STATE_WANTS_GIL ? count : 0;
        }
        b->last_t = t_last;
        return;
    }
    uint32_t dn = nodes[fnode].depth;
    if (builder_reserve(b, dn) < 0) {
        return; /* out of memory: this run of samples is not shown */
    }
    /* The common prefix of the open path and the new stack. */
    uint32_t d = dn, x = fnode;
    while (d > b->depth) {
        x = nodes[x].parent;
        d--;
    }
    while (d > 0 && b->node[d - 1] != x) {
        x = nodes[x].parent;
        d--;
    }
    /* After a gap in the samples (a stalled sampler, a busy machine) the
     * frames still on the stack were there all along: only the spans that
     * closed end early, one interval after their last sample. */
    uint64_t end = b->any ? ix_span_end(ix, b->last_t, t0) : t0;
    ix_builder_close(ix, b, thread, d, end, emit, ctx);
    x = fnode;
    for (uint32_t i = dn; i > d; i--) {
        b->node[i - 1] = x;
        b->start[i - 1] = t0;
        b->r0[i - 1] = b->running;
        b->w0[i - 1] = b->waiting;
        b->g0[i - 1] = b->gil;
        b->unknown[i - 1] = !b->any && t0 > b->first_known;
        x = nodes[x].parent;
    }
    b->depth = dn;
    if (state & ML_STATE_RUNNING) {
        b->running += count;
    } else {
        b->waiting += count;
        b->gil += state & ML_STATE_WANTS_GIL ? count : 0;
    }
    b->last_t = t_last;
    b->any = 1;
}
