// SPDX-License-Identifier: MIT
// Two runs compared (ml_diff.h). Times are samples times each run's own
// achieved interval, so runs sampled at different rates compare fairly:
// the interval of its most sampled thread, which the sampler saw at every
// tick (the summary's mean over all threads also counts the ticks a
// waiting thread was not sampled at, and would make time longer than the
// run).
#include "ml_diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"

static double
interval_s(const ml_summary *s)
{
    const ml_summary_thread *best = NULL;
    for (size_t i = 0; i < s->nthreads; i++) {
        const ml_summary_thread *t = &s->threads[i];
        if (t->samples > 1 && t->last_us > t->first_us
            && (best == NULL || t->samples > best->samples)) {
            best = t;
        }
    }
    if (best != NULL) {
        return (double)(best->last_us - best->first_us)
               / (double)(best->samples - 1) / 1e6;
    }
    return (s->interval_us > 0 ? s->interval_us : 1000.0) / 1e6;
}

static void
fill(ml_diff_function *f, const ml_summary *a, const ml_summary *b)
{
    if (f->a != NULL) {
        f->share_a =
            a->running ? 100.0 * (double)f->a->total / (double)a->running : 0;
        f->self_a = (double)f->a->self * interval_s(a);
        f->total_a = (double)f->a->total * interval_s(a);
    }
    if (f->b != NULL) {
        f->share_b =
            b->running ? 100.0 * (double)f->b->total / (double)b->running : 0;
        f->self_b = (double)f->b->self * interval_s(b);
        f->total_b = (double)f->b->total * interval_s(b);
    }
}

static int
by_effect(const void *p, const void *q)
{
    const ml_diff_function *x = p, *y = q;
    double ex = fabs(x->self_b - x->self_a), ey = fabs(y->self_b - y->self_a);
    if (ex != ey) {
        return ex < ey ? 1 : -1;
    }
    double sx = fabs(x->share_b - x->share_a);
    double sy = fabs(y->share_b - y->share_a);
    return sx < sy ? 1 : sx > sy ? -1 : 0;
}

static int
by_size(const void *p, const void *q)
{
    const ml_diff_function *x = p, *y = q;
    double ex = x->self_a + x->self_b, ey = y->self_a + y->self_b;
    if (ex != ey) {
        return ex < ey ? 1 : -1;
    }
    double tx = x->total_a + x->total_b, ty = y->total_a + y->total_b;
    return tx < ty ? 1 : tx > ty ? -1 : 0;
}

static int
same(const ml_summary_function *x, const ml_summary_function *y, int line)
{
    return strcmp(x->name, y->name) == 0 && strcmp(x->file, y->file) == 0
           && (!line || x->line == y->line);
}

int
ml_diff_build(const ml_summary *a, const ml_summary *b, ml_diff **out)
{
    size_t na = a->nfunctions, nb = b->nfunctions;
    ml_diff *d = calloc(1, sizeof *d);
    const ml_summary_function **match = calloc(na + 1, sizeof *match);
    unsigned char *taken = calloc(nb + 1, 1);
    if (d != NULL) {
        d->functions = calloc(na + 1, sizeof *d->functions);
        d->only_a = calloc(na + 1, sizeof *d->only_a);
        d->only_b = calloc(nb + 1, sizeof *d->only_b);
    }
    if (d == NULL || match == NULL || taken == NULL || d->functions == NULL
        || d->only_a == NULL || d->only_b == NULL) {
        free(match);
        free(taken);
        ml_diff_free(d);
        return ML_ENOMEM;
    }
    /* Exact matches first, then by name and file alone. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < na; i++) {
            for (size_t j = 0; match[i] == NULL && j < nb; j++) {
                if (!taken[j]
                    && same(&a->functions[i], &b->functions[j], pass == 0)) {
                    match[i] = &b->functions[j];
                    taken[j] = 1;
                }
            }
        }
    }
    for (size_t i = 0; i < na; i++) {
        ml_diff_function *f = match[i] ? &d->functions[d->nfunctions++]
                                       : &d->only_a[d->nonly_a++];
        f->a = &a->functions[i];
        f->b = match[i];
        fill(f, a, b);
    }
    for (size_t j = 0; j < nb; j++) {
        if (!taken[j]) {
            ml_diff_function *f = &d->only_b[d->nonly_b++];
            f->b = &b->functions[j];
            fill(f, a, b);
        }
    }
    qsort(d->functions, d->nfunctions, sizeof *d->functions, by_effect);
    qsort(d->only_a, d->nonly_a, sizeof *d->only_a, by_size);
    qsort(d->only_b, d->nonly_b, sizeof *d->only_b, by_size);
    d->duration_a = (double)a->duration_us / 1e6;
    d->duration_b = (double)b->duration_us / 1e6;
    d->running_a = (double)a->running * interval_s(a);
    d->running_b = (double)b->running * interval_s(b);
    free(match);
    free(taken);
    *out = d;
    return 0;
}

void
ml_diff_free(ml_diff *d)
{
    if (d == NULL) {
        return;
    }
    free(d->functions);
    free(d->only_a);
    free(d->only_b);
    free(d);
}
