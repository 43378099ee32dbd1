// SPDX-License-Identifier: MIT
// Helpers shared by the views (see ml_view_int.h): windows, the functions
// table, spans kept by the index or decoded again, and range aggregation.
#include "ml_view_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_names.h"

void
ml_view_query_init(ml_view_query *q)
{
    memset(q, 0, sizeof *q);
    q->to = UINT64_MAX;
    q->width = 1600;
    q->limit = 200;
}

/* ---- windows --------------------------------------------------------------
 */

static uint64_t
pow2_at_least(uint64_t v)
{
    uint64_t p = 1;
    while (p < v && p < (UINT64_C(1) << 62)) {
        p <<= 1;
    }
    return p;
}

int
vw_resolve(ml_index *ix, const ml_view_query *q, int snap, vw_window *out)
{
    memset(out, 0, sizeof *out);
    uint64_t end = ix->end_us + ix->interval_us;
    uint64_t from = q->from, to = q->to == UINT64_MAX ? end : q->to;
    if (q->to == UINT64_MAX && to <= from) {
        to = from + 1; /* past the end of a (live) run: an empty window */
    }
    if (to <= from || q->width == 0 || q->width > ML_VIEW_MAX_WIDTH) {
        return ML_EINVAL;
    }
    out->bucket = pow2_at_least((to - from + q->width - 1) / q->width);
    if (snap) {
        from -= from % out->bucket;
        to += (out->bucket - to % out->bucket) % out->bucket;
    }
    out->from = from;
    out->to = to;
    out->nthreads = (uint32_t)ix->threads.len;
    out->want = calloc(out->nthreads + 1, 1);
    if (out->want == NULL) {
        return ML_ENOMEM;
    }
    if (q->threads == NULL) {
        memset(out->want + 1, 1, out->nthreads);
        return ML_OK;
    }
    for (size_t i = 0; i < q->nthreads; i++) {
        if (q->threads[i] == 0 || q->threads[i] > out->nthreads) {
            vw_window_free(out);
            return ML_EINVAL;
        }
        out->want[q->threads[i]] = 1;
    }
    return ML_OK;
}

void
vw_window_free(vw_window *win)
{
    free(win->want);
    win->want = NULL;
}

int
vw_wants(const vw_window *win, uint32_t thread)
{
    return thread >= 1 && thread <= win->nthreads && win->want[thread];
}

double
vw_interval(const ml_index *ix)
{
    double span = 0, gaps = 0;
    for (size_t i = 0; i < ix->threads.len; i++) {
        const ix_thread *t = ix->threads.items[i];
        if (t->samples >= 2) {
            span += (double)(t->last_us - t->first_us);
            gaps += (double)(t->samples - 1);
        }
    }
    return gaps > 0 ? span / gaps : (double)ix->interval_us;
}

uint64_t
vw_margin(const ml_index *ix)
{
    return IX_LONG_US + 4 * ix->interval_us;
}

/* ---- functions table ---------------------------------------------------- */

int
vw_funcs_init(vw_funcs *f, const ml_index *ix)
{
    f->n = ix->funcs.len;
    f->used = calloc(f->n ? f->n : 1, 1);
    return f->used ? ML_OK : ML_ENOMEM;
}

void
vw_funcs_free(vw_funcs *f)
{
    free(f->used);
    f->used = NULL;
}

void
vw_func_fields(const ml_index *ix, ml_jsonw *w, uint32_t fid)
{
    const ix_func *fn = &ix->funcs.items[fid];
    uint32_t nlen, flen;
    const char *name = ix_string(ix, fn->name, &nlen);
    const char *file = ix_string(ix, fn->file, &flen);
    char module[256], cls[256];
    ml_module_of(file, flen, module, sizeof module);
    size_t clen = ml_class_of(name, nlen, cls, sizeof cls);
    ml_jsonw_ku64(w, "id", fid);
    ml_jsonw_key(w, "name");
    ml_jsonw_strn(w, name, nlen);
    ml_jsonw_key(w, "file");
    ml_jsonw_strn(w, file, flen);
    ml_jsonw_ku64(w, "line", fn->firstline);
    ml_jsonw_kstr(w, "module", module);
    ml_jsonw_kstr(w, "class", clen ? cls : NULL);
}

void
vw_funcs_write(const ml_index *ix, ml_jsonw *w, const vw_funcs *f)
{
    ml_jsonw_key(w, "functions");
    ml_jsonw_obj(w);
    for (size_t i = 1; i < f->n; i++) {
        if (!f->used[i]) {
            continue;
        }
        char key[24];
        snprintf(key, sizeof key, "%zu", i);
        ml_jsonw_key(w, key);
        ml_jsonw_obj(w);
        vw_func_fields(ix, w, (uint32_t)i);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_obj_end(w);
}

/* ---- spans -------------------------------------------------------------- */

VW_LOWER_BOUND(lower_bound, ix_kept, ix_kept_start)

void
vw_long_spans(ml_index *ix, uint32_t thread, uint64_t from, uint64_t to,
              uint64_t min_len, vw_span_fn fn, void *ctx)
{
    ix_thread *t = ix->threads.items[thread - 1];
    /* Level k holds lengths in [2^k, 2^(k+1)): from the level of min_len
     * up, filtering that first level by length. */
    for (int k = 63 - __builtin_clzll(min_len | 1); k < IX_HUGE_SHIFT; k++) {
        const ix_kept *a = t->levels[k].items;
        size_t n = t->levels[k].len;
        if (n == 0) {
            continue;
        }
        /* Spans of this level are shorter than 2^(k+1). */
        uint64_t span = UINT64_C(1) << (k + 1);
        size_t i = lower_bound(a, n, from > span ? from - span : 0);
        for (; i < n && ix_kept_start(&a[i]) < to; i++) {
            ix_span s = ix_kept_span(&a[i]);
            if (s.end > from && s.end - s.start >= min_len) {
                fn(ctx, thread, &s, 0);
            }
        }
    }
    for (size_t i = 0; i < t->huge.len; i++) {
        const ix_span *s = &t->huge.items[i];
        if (s->start < to && s->end > from && s->end - s->start >= min_len) {
            fn(ctx, thread, s, 0);
        }
    }
    /* The spans still open at the last sample read. */
    const ix_builder *b = &t->b;
    for (uint32_t d = 0; b->any && d < b->depth; d++) {
        ix_span s = ix_builder_span(ix, b, d, b->last_t + ix->interval_us);
        if (s.start < to && s.end > from && s.end - s.start >= min_len) {
            fn(ctx, thread, &s, b->node[d]);
        }
    }
}

typedef struct {
    ml_index *ix;
    const vw_window *win;
    ix_builder *builders; /* by thread id */
    vw_span_fn fn;
    void *ctx;
} decode_ctx;

static void
short_emit(void *ctx, uint32_t thread, const ix_span *s, int unknown)
{
    decode_ctx *c = ctx;
    if (!unknown && s->end - s->start < IX_LONG_US) {
        c->fn(c->ctx, thread, s,
              c->builders[thread].node ? c->builders[thread].node[s->depth]
                                       : 0);
    }
}

static void
short_samples(void *ctx, const ml_record *rec, uint32_t fnode)
{
    decode_ctx *c = ctx;
    uint32_t th = rec->u.samples.thread;
    if (!vw_wants(c->win, th)) {
        return;
    }
    if (!c->builders[th].any) {
        c->builders[th].first_known = c->ix->threads.items[th - 1]->first_us;
    }
    ix_builder_feed(c->ix, &c->builders[th], th, rec->time_us,
                    rec->time_us + rec->u.samples.span_us,
                    rec->u.samples.count, fnode, rec->u.samples.state,
                    short_emit, c);
}

int
vw_short_spans(ml_index *ix, const vw_window *win, uint64_t from, uint64_t to,
               vw_span_fn fn, void *ctx)
{
    decode_ctx c = {ix, win, NULL, fn, ctx};
    c.builders = calloc(win->nthreads + 1, sizeof *c.builders);
    if (c.builders == NULL) {
        return ML_ENOMEM;
    }
    int err = ix_decode_samples(ix, from, to, short_samples, &c);
    /* A thread the index closed (it ended, or the run did) has its last
     * spans closed here too, once its last sample was decoded. */
    for (uint32_t th = 1; err == 0 && th <= win->nthreads; th++) {
        ix_builder *b = &c.builders[th];
        const ix_thread *t = ix->threads.items[th - 1];
        if (b->any && t->b.depth == 0 && b->last_t == t->last_us) {
            ix_builder_close(ix, b, th, 0, b->last_t + ix->interval_us,
                             short_emit, &c);
        }
    }
    for (uint32_t i = 0; i <= win->nthreads; i++) {
        ix_builder_free(&c.builders[i]);
    }
    free(c.builders);
    return err;
}

/* ---- range aggregation -------------------------------------------------- */

static void
range_call(vw_range *r, uint32_t fid, uint64_t dur)
{
    r->calls[fid]++;
    r->calls_us[fid] += dur;
    if (dur > r->calls_max[fid]) {
        r->calls_max[fid] = dur;
    }
}

/* Long and open spans starting inside the window are calls. */
static void
range_long(void *ctx, uint32_t thread, const ix_span *s, uint32_t fnode)
{
    (void)thread;
    (void)fnode;
    vw_range *r = ctx;
    if (s->start >= r->from && s->start < r->to) {
        range_call(r, s->fid, s->end - s->start);
    }
}

static void
range_short(void *ctx, uint32_t thread, const ix_span *s, uint32_t fnode)
{
    range_long(ctx, thread, s, fnode);
}

typedef struct {
    vw_range *r;
    const vw_window *win;
} leaf_ctx;

/* How many of count samples evenly spread over [t0, t0 + span] fall in
 * [from, to). */
static uint64_t
samples_inside(uint64_t t0, uint64_t span, uint32_t count, uint64_t from,
               uint64_t to)
{
    if (count <= 1 || span == 0) {
        return t0 >= from && t0 < to ? count : 0;
    }
    uint64_t n = 0;
    double step = (double)span / (count - 1);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t t = t0 + (uint64_t)(i * step);
        n += t >= from && t < to;
    }
    return n;
}

static void
range_samples(void *ctx, const ml_record *rec, uint32_t fnode)
{
    leaf_ctx *c = ctx;
    if (!vw_wants(c->win, rec->u.samples.thread)) {
        return;
    }
    uint64_t n = samples_inside(rec->time_us, rec->u.samples.span_us,
                                rec->u.samples.count, c->r->from, c->r->to);
    c->r->samples[fnode] += (uint32_t)n;
    if (rec->u.samples.state & ML_STATE_RUNNING) {
        c->r->running[fnode] += (uint32_t)n;
    }
    c->r->total_samples += n;
}

VW_LOWER_BOUND(leaf_lower, ix_leaf, IX_BLOCK_OF)

VW_LOWER_BOUND(calls_lower, ix_calls, IX_BLOCK_OF)

/* Whole blocks: the index's per-block aggregates. */
static void
range_blocks(ml_index *ix, const vw_window *win, vw_range *r)
{
    uint32_t b0 = (uint32_t)(r->from >> IX_BLOCK_SHIFT);
    uint32_t b1 = (uint32_t)((r->to - 1) >> IX_BLOCK_SHIFT);
    for (uint32_t th = 1; th <= win->nthreads; th++) {
        if (!win->want[th]) {
            continue;
        }
        const ix_thread *t = ix->threads.items[th - 1];
        const ix_leaf *l = t->leaves.items;
        for (size_t i = leaf_lower(l, t->leaves.len, b0);
             i < t->leaves.len && l[i].block <= b1; i++) {
            r->samples[l[i].fnode] += l[i].samples;
            r->running[l[i].fnode] += l[i].running;
            r->total_samples += l[i].samples;
        }
        /* Short calls are noted by start block, a straggler at most one
         * block late. */
        const ix_calls *c = t->calls.items;
        for (size_t i = calls_lower(c, t->calls.len, b0 ? b0 - 1 : 0);
             i < t->calls.len && c[i].block <= b1 + 1; i++) {
            if (c[i].block < b0 || c[i].block > b1) {
                continue;
            }
            r->calls[c[i].fid] += c[i].calls;
            r->calls_us[c[i].fid] += c[i].total_us;
            if (c[i].max_us > r->calls_max[c[i].fid]) {
                r->calls_max[c[i].fid] = c[i].max_us;
            }
        }
    }
}

int
vw_range_collect(ml_index *ix, const vw_window *win, vw_range *r)
{
    memset(r, 0, sizeof *r);
    size_t nn = ix->fnodes.len, nf = ix->funcs.len;
    r->samples = calloc(nn, sizeof *r->samples);
    r->running = calloc(nn, sizeof *r->running);
    r->calls = calloc(nf, sizeof *r->calls);
    r->calls_us = calloc(nf, sizeof *r->calls_us);
    r->calls_max = calloc(nf, sizeof *r->calls_max);
    if (!r->samples || !r->running || !r->calls || !r->calls_us
        || !r->calls_max) {
        vw_range_free(r);
        return ML_ENOMEM;
    }
    uint64_t blocks =
        ((win->to - 1) >> IX_BLOCK_SHIFT) - (win->from >> IX_BLOCK_SHIFT) + 1;
    r->exact = blocks <= VW_EXACT_BLOCKS;
    r->from = win->from;
    r->to = win->to;
    int err = ML_OK;
    if (r->exact) {
        uint64_t m = vw_margin(ix);
        leaf_ctx lc = {r, win};
        err = ix_decode_samples(ix, r->from, r->to - 1, range_samples, &lc);
        if (err == 0) {
            err = vw_short_spans(ix, win, r->from > m ? r->from - m : 0,
                                 r->to + m, range_short, r);
        }
    } else {
        r->from = (win->from >> IX_BLOCK_SHIFT) << IX_BLOCK_SHIFT;
        r->to = (((win->to - 1) >> IX_BLOCK_SHIFT) + 1) << IX_BLOCK_SHIFT;
        range_blocks(ix, win, r);
    }
    for (uint32_t th = 1; err == 0 && th <= win->nthreads; th++) {
        if (win->want[th]) {
            vw_long_spans(ix, th, r->from, r->to, IX_LONG_US, range_long, r);
        }
    }
    if (err < 0) {
        vw_range_free(r);
    }
    return err;
}

void
vw_range_free(vw_range *r)
{
    free(r->samples);
    free(r->running);
    free(r->calls);
    free(r->calls_us);
    free(r->calls_max);
    memset(r, 0, sizeof *r);
}

void
vw_inclusive_in_place(const ml_index *ix, uint32_t *inc)
{
    /* Children are created after their parents. */
    for (size_t i = ix->fnodes.len; i-- > 1;) {
        inc[ix->fnodes.items[i].parent] += inc[i];
    }
}

uint32_t *
vw_inclusive(const ml_index *ix, const uint32_t *leaf)
{
    size_t n = ix->fnodes.len;
    uint32_t *inc = malloc(n * sizeof *inc);
    if (inc != NULL) {
        memcpy(inc, leaf, n * sizeof *inc);
        vw_inclusive_in_place(ix, inc);
    }
    return inc;
}
