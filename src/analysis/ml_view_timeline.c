// SPDX-License-Identifier: MIT
// The timeline view: flame-chart spans of threads in a window at a width.
// Spans at least one pixel (bucket) long come from the index's length
// classes; when a pixel is shorter than the index's long-span bound, the
// window's chunks are decoded again for the short spans. The answer's size
// is bounded by width x depth per thread, whatever the recording's length.
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_view_int.h"

typedef struct {
    ml_index *ix;
    const vw_window *win;
    ML_VEC(ix_span) * spans; /* by thread id */
    vw_funcs funcs;
    int err;
} tl_ctx;

static void
tl_add(void *ctx, uint32_t thread, const ix_span *s, uint32_t fnode)
{
    (void)fnode;
    tl_ctx *c = ctx;
    const vw_window *w = c->win;
    if (s->end - s->start < w->bucket || s->end <= w->from
        || s->start >= w->to) {
        return;
    }
    if (ML_VEC_PUSH(c->spans[thread], *s) < 0) {
        c->err = ML_ENOMEM;
    }
    vw_funcs_mark(&c->funcs, s->fid);
}

static int
by_depth_start(const void *a, const void *b)
{
    const ix_span *x = a, *y = b;
    if (x->depth != y->depth) {
        return x->depth < y->depth ? -1 : 1;
    }
    return (x->start > y->start) - (x->start < y->start);
}

static void
write_thread(tl_ctx *c, ml_jsonw *w, uint32_t th)
{
    const ix_thread *t = c->ix->threads.items[th - 1];
    uint32_t nlen;
    const char *name = ix_string(c->ix, t->name, &nlen);
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "id", th);
    ml_jsonw_key(w, "name");
    ml_jsonw_strn(w, name, nlen);
    ml_jsonw_key(w, "spans");
    ml_jsonw_arr(w);
    ix_span *a = c->spans[th].items;
    size_t n = c->spans[th].len;
    if (n > 1) { /* qsort takes no NULL, even for nothing */
        qsort(a, n, sizeof *a, by_depth_start);
    }
    for (size_t i = 0; i < n; i++) {
        ml_jsonw_arr(w);
        ml_jsonw_u64(w, a[i].start);
        ml_jsonw_u64(w, a[i].end);
        ml_jsonw_u64(w, a[i].depth);
        ml_jsonw_u64(w, a[i].fid);
        ml_jsonw_u64(w, a[i].running);
        ml_jsonw_u64(w, a[i].waiting);
        ml_jsonw_u64(w, a[i].gil);
        ml_jsonw_arr_end(w);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_obj_end(w);
}

int
ml_view_timeline(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    vw_window win;
    int err = vw_resolve(ix, q, 1, &win);
    if (err < 0) {
        return err;
    }
    tl_ctx c = {ix, &win, NULL, {NULL, 0}, 0};
    c.spans = calloc(win.nthreads + 1, sizeof *c.spans);
    if (c.spans == NULL || vw_funcs_init(&c.funcs, ix) < 0) {
        err = ML_ENOMEM;
        goto done;
    }
    for (uint32_t th = 1; th <= win.nthreads; th++) {
        if (win.want[th]) {
            vw_long_spans(ix, th, win.from, win.to, win.bucket, tl_add, &c);
        }
    }
    if (win.bucket < IX_LONG_US) {
        uint64_t m = vw_margin(ix);
        err = vw_short_spans(ix, &win, win.from > m ? win.from - m : 0,
                             win.to + m, tl_add, &c);
        if (err < 0) {
            goto done;
        }
    }
    if (c.err < 0) {
        err = c.err;
        goto done;
    }
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "from", win.from);
    ml_jsonw_ku64(w, "to", win.to);
    ml_jsonw_ku64(w, "bucket_us", win.bucket);
    ml_jsonw_ku64(w, "end_us", ix->end_us);
    ml_jsonw_key(w, "threads");
    ml_jsonw_arr(w);
    for (uint32_t th = 1; th <= win.nthreads; th++) {
        if (win.want[th]) {
            write_thread(&c, w, th);
        }
    }
    ml_jsonw_arr_end(w);
    vw_funcs_write(ix, w, &c.funcs);
    ml_jsonw_obj_end(w);
    err = ml_jsonw_error(w);
done:
    if (c.spans != NULL) {
        for (uint32_t th = 0; th <= win.nthreads; th++) {
            free(c.spans[th].items);
        }
        free(c.spans);
    }
    vw_funcs_free(&c.funcs);
    vw_window_free(&win);
    return err;
}
