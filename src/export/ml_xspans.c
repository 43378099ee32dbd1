// SPDX-License-Identifier: MIT
// The span builder (ml_export_int.h): per thread, the functions of its
// current stack with the time each was entered. A sample run that shares
// a prefix with the open stack keeps that prefix open; the rest is closed
// at the run's first sample and the run's own functions are opened there.
// After a gap (no sample of the thread for more than gap intervals: a
// stalled sampler, a busy machine) every span ends one interval after its
// last sample, so a time the thread was not sampled stays empty and is
// nobody's self time (the server's index keeps the shared prefix open
// instead; an export should not invent samples). Shorter gaps are
// bridged. Functions, not frames: a line change does not break a span.
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_export_int.h"

typedef struct {
    uint32_t depth, cap;
    uint32_t *funcs;
    uint64_t *start;
    uint64_t *running, *samples;
    uint64_t last_t;   /* time of the latest sample */
    uint64_t last_end; /* end of its coverage: last_t + interval */
    int seen;
} xstack;

struct xspans {
    double interval, gap;
    xspan_open_fn on_open;
    xspan_close_fn on_close;
    void *ctx;
    xstack *threads; /* by id - 1 */
    uint32_t nthreads;
};

int
xspans_new(double interval_us, double gap, xspan_open_fn on_open,
           xspan_close_fn on_close, void *ctx, xspans **out)
{
    xspans *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return ML_ENOMEM;
    }
    s->interval = interval_us > 0 ? interval_us : 1000;
    s->gap = gap * s->interval;
    s->on_open = on_open;
    s->on_close = on_close;
    s->ctx = ctx;
    *out = s;
    return 0;
}

void
xspans_free(xspans *s)
{
    if (s == NULL) {
        return;
    }
    for (uint32_t i = 0; i < s->nthreads; i++) {
        free(s->threads[i].funcs);
        free(s->threads[i].start);
        free(s->threads[i].running);
        free(s->threads[i].samples);
    }
    free(s->threads);
    free(s);
}

static xstack *
thread_stack(xspans *s, uint32_t thread)
{
    if (thread == 0) {
        return NULL;
    }
    if (thread > s->nthreads) {
        xstack *t = realloc(s->threads, (size_t)thread * sizeof *t);
        if (t == NULL) {
            return NULL;
        }
        memset(t + s->nthreads, 0, (thread - s->nthreads) * sizeof *t);
        s->threads = t;
        s->nthreads = thread;
    }
    return &s->threads[thread - 1];
}

static int
reserve(xstack *t, uint32_t depth)
{
    if (depth <= t->cap) {
        return 0;
    }
    uint32_t cap = t->cap ? t->cap : 32;
    while (cap < depth) {
        cap *= 2;
    }
    uint32_t *f = realloc(t->funcs, cap * sizeof *f);
    if (f != NULL) {
        t->funcs = f;
    }
    uint64_t *a = realloc(t->start, cap * sizeof *a);
    if (a != NULL) {
        t->start = a;
    }
    uint64_t *b = realloc(t->running, cap * sizeof *b);
    if (b != NULL) {
        t->running = b;
    }
    uint64_t *c = realloc(t->samples, cap * sizeof *c);
    if (c != NULL) {
        t->samples = c;
    }
    if (f == NULL || a == NULL || b == NULL || c == NULL) {
        return ML_ENOMEM;
    }
    t->cap = cap;
    return 0;
}

/* Closes the spans of t from depth keep on, at time end (deepest first). */
static void
close_to(xspans *s, uint32_t thread, xstack *t, uint32_t keep, uint64_t end)
{
    while (t->depth > keep) {
        uint32_t d = --t->depth;
        uint64_t e = end > t->start[d] ? end : t->start[d];
        s->on_close(s->ctx, thread, d, t->funcs[d], t->start[d], e,
                    t->running[d], t->samples[d]);
    }
}

int
xspans_feed(xspans *s, uint32_t thread, uint64_t t0, double step, uint32_t n,
            const uint32_t *funcs, uint32_t depth, int running)
{
    xstack *t = thread_stack(s, thread);
    if (t == NULL) {
        return thread == 0 ? 0 : ML_ENOMEM;
    }
    if (t->seen && t0 < t->last_t) {
        t0 = t->last_t; /* a little out of order: keep time going forward */
    }
    uint64_t end = t0;
    if (t->seen && (double)t0 > (double)t->last_t + s->gap) {
        end = t->last_end;
        close_to(s, thread, t, 0, end);
    }
    uint32_t common = 0;
    while (common < t->depth && common < depth
           && t->funcs[common] == funcs[common]) {
        common++;
    }
    close_to(s, thread, t, common, end);
    if (reserve(t, depth) < 0) {
        return ML_ENOMEM;
    }
    for (uint32_t d = common; d < depth; d++) {
        t->funcs[d] = funcs[d];
        t->start[d] = t0;
        t->running[d] = 0;
        t->samples[d] = 0;
        s->on_open(s->ctx, thread, d, funcs[d], t0);
    }
    t->depth = depth;
    for (uint32_t d = 0; d < depth; d++) {
        t->samples[d] += n;
        t->running[d] += running ? n : 0;
    }
    t->seen = 1;
    t->last_t = t0 + (uint64_t)((n > 0 ? n - 1 : 0) * step);
    t->last_end = t->last_t + (uint64_t)(s->interval + 0.5);
    return 0;
}

void
xspans_finish(xspans *s)
{
    for (uint32_t i = 0; i < s->nthreads; i++) {
        close_to(s, i + 1, &s->threads[i], 0, s->threads[i].last_end);
    }
}
