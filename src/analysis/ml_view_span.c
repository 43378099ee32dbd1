// SPDX-License-Identifier: MIT
// The span view: the flame-chart span under a click (thread, time, depth),
// its caller, and its similar calls (same function under the same caller
// function) with the anomaly rule of ml_anomaly.h applied to them.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "ml_anomaly.h"
#include "ml_view_int.h"

#define MAX_SIMILAR_LISTED 500

typedef struct {
    uint64_t at;
    uint32_t depth;
    int found;
    ix_span span;
} find_ctx;

static void
find_at(void *ctx, uint32_t thread, const ix_span *s, uint32_t fnode)
{
    (void)thread;
    (void)fnode;
    find_ctx *c = ctx;
    if (!c->found && s->depth == c->depth && s->start <= c->at
        && c->at < s->end) {
        c->found = 1;
        c->span = *s;
    }
}

/* The span of thread at depth containing at: kept by the index, else
 * decoded again around at. 1 found, 0 not, or an error. */
static int
span_at(ml_index *ix, const vw_window *win, uint32_t thread, uint64_t at,
        uint32_t depth, ix_span *out)
{
    find_ctx c = {at, depth, 0, {0}};
    vw_long_spans(ix, thread, at, at + 1, 1, find_at, &c);
    if (!c.found) {
        uint64_t m = vw_margin(ix);
        int err =
            vw_short_spans(ix, win, at > m ? at - m : 0, at + m, find_at, &c);
        if (err < 0) {
            return err;
        }
    }
    if (c.found) {
        *out = c.span;
    }
    return c.found;
}

typedef struct {
    ix_call c;
    int anomaly;
} listed;

static int
by_anomaly_then_start(const void *a, const void *b)
{
    const listed *x = a, *y = b;
    if (x->anomaly != y->anomaly) {
        return x->anomaly ? -1 : 1;
    }
    return (x->c.start > y->c.start) - (x->c.start < y->c.start);
}

/* The kept calls of a pair: the longest and the uniform sample, without
 * repeats, plus the clicked call itself. */
static size_t
pair_calls(const ix_pair *p, const ix_call *self, listed *out, size_t cap)
{
    size_t n = 0;
    const ix_call *lists[3] = {self, p->longest.items, p->sample.items};
    size_t lens[3] = {1, p->longest.len, p->sample.len};
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < lens[l] && n < cap; i++) {
            const ix_call *c = &lists[l][i];
            int dup = 0;
            for (size_t k = 0; k < n && !dup; k++) {
                dup =
                    out[k].c.start == c->start && out[k].c.thread == c->thread;
            }
            if (!dup) {
                out[n].c = *c;
                out[n++].anomaly = 0;
            }
        }
    }
    return n;
}

static int
pair_eq(const void *ctx, uint32_t v)
{
    const ml_index *ix = ((const void *const *)ctx)[0];
    const uint32_t *k = ((const void *const *)ctx)[1];
    return ix->pairs.items[v].caller == k[0] && ix->pairs.items[v].fid == k[1];
}

static void
write_similar(ml_index *ix, ml_jsonw *w, uint32_t caller, const ix_span *s,
              uint32_t thread, int *anomalous)
{
    uint32_t key[2] = {caller, s->fid};
    const void *ctx[2] = {ix, key};
    uint64_t h = ml_hash_mix(ml_hash_mix(3, caller), s->fid);
    uint32_t pid = caller ? ml_map_find(&ix->pair_map, h, pair_eq, ctx) : 0;
    static const ix_pair none;
    const ix_pair *p = pid ? &ix->pairs.items[pid] : &none;
    uint64_t dur = s->end - s->start;
    ix_call self = {s->start, dur > UINT32_MAX ? UINT32_MAX : (uint32_t)dur,
                    thread};
    size_t cap = IX_RESERVOIR + IX_LONGEST + 1;
    listed *calls = malloc(cap * sizeof *calls);
    double *d = malloc(cap * sizeof *d);
    size_t n = calls && d ? pair_calls(p, &self, calls, cap) : 0;
    /* The rule is fitted on the uniform sample (all calls when fewer than
     * the reservoir holds), not on the longest, which would bias it. */
    size_t nd = 0;
    for (size_t i = 0; d && i < p->sample.len; i++) {
        d[nd++] = p->sample.items[i].dur_us;
    }
    if (p->count == 0 && d) {
        d[nd++] = (double)dur;
    }
    ml_anomaly_rule rule;
    ml_anomaly_fit(d, nd, vw_interval(ix), &rule);
    size_t anomalies = 0;
    for (size_t i = 0; i < n; i++) {
        calls[i].anomaly = ml_anomaly_is(&rule, calls[i].c.dur_us);
        anomalies += calls[i].anomaly;
    }
    if (n > 1) { /* qsort takes no NULL, even for nothing */
        qsort(calls, n, sizeof *calls, by_anomaly_then_start);
    }
    *anomalous = ml_anomaly_is(&rule, (double)dur);
    ml_jsonw_key(w, "similar");
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "count", p->count ? p->count : 1);
    ml_jsonw_kf64(w, "median_us", rule.median);
    ml_jsonw_kf64(w, "mad_us", rule.mad);
    ml_jsonw_kf64(w, "threshold_us",
                  isinf(rule.threshold) ? NAN : rule.threshold);
    ml_jsonw_ku64(w, "anomalies", anomalies);
    ml_jsonw_kbool(w, "truncated", p->count > n);
    ml_jsonw_key(w, "calls");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < n && i < MAX_SIMILAR_LISTED; i++) {
        ml_jsonw_obj(w);
        ml_jsonw_ku64(w, "thread", calls[i].c.thread);
        ml_jsonw_ku64(w, "start_us", calls[i].c.start);
        ml_jsonw_ku64(w, "duration_us", calls[i].c.dur_us);
        ml_jsonw_kbool(w, "anomaly", calls[i].anomaly);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_obj_end(w);
    free(calls);
    free(d);
}

int
ml_view_span(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    if (q->threads == NULL || q->nthreads != 1) {
        return ML_EINVAL;
    }
    vw_window win;
    ml_view_query wq = *q;
    wq.from = 0;
    wq.to = UINT64_MAX;
    int err = vw_resolve(ix, &wq, 0, &win);
    if (err < 0) {
        return err;
    }
    uint32_t th = q->threads[0];
    ix_span s, parent;
    int found = span_at(ix, &win, th, q->at, q->depth, &s);
    int has_parent = 0;
    if (found > 0 && q->depth > 0) {
        has_parent = span_at(ix, &win, th, q->at, q->depth - 1, &parent);
    }
    if (found <= 0 || has_parent < 0) {
        vw_window_free(&win);
        return found < 0        ? found
               : has_parent < 0 ? has_parent
                                : ML_VIEW_NOT_FOUND;
    }
    uint64_t samples = (uint64_t)s.running + s.waiting;
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "thread", th);
    ml_jsonw_ku64(w, "depth", s.depth);
    ml_jsonw_ku64(w, "start_us", s.start);
    ml_jsonw_ku64(w, "end_us", s.end);
    ml_jsonw_ku64(w, "duration_us", s.end - s.start);
    ml_jsonw_ku64(w, "running", s.running);
    ml_jsonw_ku64(w, "waiting", s.waiting);
    ml_jsonw_ku64(w, "gil_wait", s.gil);
    ml_jsonw_kf64(w, "cpu_share",
                  samples ? (double)s.running / (double)samples : 0.0);
    ml_jsonw_key(w, "function");
    ml_jsonw_obj(w);
    vw_func_fields(ix, w, s.fid);
    ml_jsonw_obj_end(w);
    ml_jsonw_key(w, "caller");
    if (has_parent > 0) {
        ml_jsonw_obj(w);
        vw_func_fields(ix, w, parent.fid);
        ml_jsonw_obj_end(w);
    } else {
        ml_jsonw_null(w);
    }
    int anomalous = 0;
    write_similar(ix, w, has_parent > 0 ? parent.fid : 0, &s, th, &anomalous);
    ml_jsonw_kbool(w, "anomaly", anomalous);
    ml_jsonw_obj_end(w);
    vw_window_free(&win);
    return ml_jsonw_error(w);
}
