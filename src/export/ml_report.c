// SPDX-License-Identifier: MIT
// The figures of a run report (ml_report.h): the summary (ml_summary.h),
// then one more pass for status and metric values, error logs with their
// stacks, timed calls and end-of-run reports.
#define _GNU_SOURCE
#include "ml_report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/ml_anomaly.h"
#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "format/ml_reader.h"

#define MAX_STACK 256

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return 0;
    }
    size_t c = *cap ? 2 * *cap : 16;
    void *q = realloc(*p, c * size);
    if (q == NULL) {
        return ML_ENOMEM;
    }
    *p = q;
    *cap = c;
    return 0;
}

static char *
text_of(const ml_reader *r, uint32_t id)
{
    ml_bytes b = {(const uint8_t *)"", 0};
    if (id != 0) {
        ml_reader_string(r, id, &b);
    }
    return strndup((const char *)b.ptr, b.len);
}

static char *
bytes_dup(const ml_bytes *b)
{
    return strndup((const char *)b->ptr, b->len);
}

/* "f (file:line)\n" per frame from the root. */
static char *
stack_text(const ml_reader *r, uint32_t stack)
{
    uint32_t frames[MAX_STACK];
    int n = 0;
    while (stack != 0 && n < MAX_STACK) {
        uint32_t parent, frame;
        if (ml_reader_stack(r, stack, &parent, &frame) < 0) {
            break;
        }
        frames[n++] = frame;
        stack = parent;
    }
    ml_buf b;
    ml_buf_init(&b, 1u << 20);
    for (int i = n - 1; i >= 0; i--) {
        uint32_t name, file, line, first;
        ml_bytes nb = {(const uint8_t *)"?", 1}, fb = nb;
        if (ml_reader_frame(r, frames[i], &name, &file, &line, &first) == 0) {
            ml_reader_string(r, name, &nb);
            ml_reader_string(r, file, &fb);
        }
        char tail[32];
        int k = snprintf(tail, sizeof tail, ":%u)\n", line);
        ml_buf_append(&b, nb.ptr, nb.len);
        ml_buf_append(&b, " (", 2);
        ml_buf_append(&b, fb.ptr, fb.len);
        ml_buf_append(&b, tail, (size_t)k);
    }
    ml_buf_append_u8(&b, 0);
    char *s = b.data ? strdup((const char *)b.data) : strdup("");
    ml_buf_free(&b);
    return s;
}

typedef struct {
    uint32_t *index; /* series id -> index + 1 */
    size_t cap;
} series_map;

static int
add_series(ml_report *rep, series_map *m, const ml_reader *r,
           const ml_record *rec)
{
    uint32_t id = rec->u.series.id;
    if (id >= m->cap) {
        size_t cap = id + 16;
        uint32_t *p = realloc(m->index, cap * sizeof *p);
        if (p == NULL) {
            return ML_ENOMEM;
        }
        memset(p + m->cap, 0, (cap - m->cap) * sizeof *p);
        m->index = p;
        m->cap = cap;
    }
    ml_report_series *s = realloc(rep->series, (rep->nseries + 1) * sizeof *s);
    if (s == NULL) {
        return ML_ENOMEM;
    }
    rep->series = s;
    s = &rep->series[rep->nseries];
    *s = (ml_report_series){0};
    s->name = text_of(r, rec->u.series.name);
    s->unit = text_of(r, rec->u.series.unit);
    s->metric = rec->u.series.cls == ML_SERIES_METRIC;
    s->min = INFINITY;
    s->max = -INFINITY;
    m->index[id] = (uint32_t)++rep->nseries;
    return s->name && s->unit ? 0 : ML_ENOMEM;
}

static int
add_value(ml_report *rep, const series_map *m, const ml_record *rec)
{
    uint32_t id = rec->u.value.series;
    const ml_value *v = &rec->u.value.value;
    if (id >= m->cap || m->index[id] == 0 || v->tag == ML_TAG_BYTES) {
        return 0;
    }
    ml_report_series *s = &rep->series[m->index[id] - 1];
    double x = v->tag == ML_TAG_UINT  ? (double)v->v.u
               : v->tag == ML_TAG_INT ? (double)v->v.i
                                      : v->v.f;
    if (!isfinite(x)) {
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *t = realloc(s->t, cap * sizeof *t);
        if (t != NULL) {
            s->t = t;
        }
        double *w = realloc(s->v, cap * sizeof *w);
        if (w != NULL) {
            s->v = w;
        }
        if (t == NULL || w == NULL) {
            return ML_ENOMEM;
        }
        s->cap = cap;
    }
    s->t[s->n] = (double)rec->time_us / 1e6;
    s->v[s->n] = x;
    s->n++;
    s->min = x < s->min ? x : s->min;
    s->max = x > s->max ? x : s->max;
    s->mean += (x - s->mean) / (double)s->n;
    return 0;
}

static int
add_error(ml_report *rep, const ml_reader *r, const ml_record *rec)
{
    const ml_log *l = &rec->u.log;
    if (l->level < 40) {
        return 0;
    }
    if (grow((void **)&rep->errors, &rep->caperrors, rep->nerrors,
             sizeof *rep->errors)
        < 0) {
        return ML_ENOMEM;
    }
    ml_report_log *e = &rep->errors[rep->nerrors++];
    e->time = (double)l->time_us / 1e6;
    e->level = l->level;
    e->text = bytes_dup(&l->text);
    e->stack = stack_text(r, l->stack);
    return e->text && e->stack ? 0 : ML_ENOMEM;
}

static int
add_call(ml_report *rep, const ml_reader *r, const ml_record *rec)
{
    const ml_span *sp = &rec->u.span;
    ml_report_timed *f = NULL;
    for (size_t i = 0; i < rep->ntimed; i++) {
        ml_bytes nb, fb;
        ml_reader_string(r, sp->name, &nb);
        ml_reader_string(r, sp->file, &fb);
        ml_report_timed *g = &rep->timed[i];
        if (g->line == sp->line && strlen(g->name) == nb.len
            && memcmp(g->name, nb.ptr, nb.len) == 0
            && strlen(g->file) == fb.len
            && memcmp(g->file, fb.ptr, fb.len) == 0) {
            f = g;
            break;
        }
    }
    if (f == NULL) {
        if (grow((void **)&rep->timed, &rep->captimed, rep->ntimed,
                 sizeof *rep->timed)
            < 0) {
            return ML_ENOMEM;
        }
        f = &rep->timed[rep->ntimed++];
        *f = (ml_report_timed){0};
        f->name = text_of(r, sp->name);
        f->file = text_of(r, sp->file);
        f->line = sp->line;
        if (f->name == NULL || f->file == NULL) {
            return ML_ENOMEM;
        }
    }
    if (grow((void **)&f->calls, &f->cap, f->n, sizeof *f->calls) < 0) {
        return ML_ENOMEM;
    }
    ml_report_call *c = &f->calls[f->n++];
    c->time = (double)sp->time_us / 1e6;
    c->wall = (double)sp->wall_ns / 1e9;
    c->cpu = (double)sp->cpu_ns / 1e9;
    c->mem = (double)sp->mem_delta;
    c->args = bytes_dup(&sp->args);
    c->error = bytes_dup(&sp->exception);
    f->sum += c->wall;
    f->max = c->wall > f->max ? c->wall : f->max;
    f->cpu_sum += c->cpu;
    f->mem_sum += c->mem;
    return c->args && c->error ? 0 : ML_ENOMEM;
}

static int
add_end(ml_report *rep, const ml_reader *r, const ml_record *rec)
{
    if (grow((void **)&rep->ends, &rep->capends, rep->nends, sizeof *rep->ends)
        < 0) {
        return ML_ENOMEM;
    }
    ml_report_end *e = &rep->ends[rep->nends++];
    e->kind = rec->u.report.kind;
    e->name = text_of(r, rec->u.report.name);
    e->body = bytes_dup(&rec->u.report.body);
    return e->name && e->body ? 0 : ML_ENOMEM;
}

static int
by_total(const void *a, const void *b)
{
    const ml_report_timed *x = a, *y = b;
    return x->sum < y->sum ? 1 : x->sum > y->sum ? -1 : 0;
}

static void
fit_anomalies(ml_report *rep)
{
    for (size_t i = 0; i < rep->ntimed; i++) {
        ml_report_timed *f = &rep->timed[i];
        f->threshold = INFINITY;
        double *d = malloc((f->n + 1) * sizeof *d);
        if (d == NULL) {
            continue;
        }
        for (size_t k = 0; k < f->n; k++) {
            d[k] = f->calls[k].wall;
        }
        ml_anomaly_rule rule;
        ml_anomaly_fit(d, f->n, 0, &rule);
        f->threshold = rule.threshold;
        free(d);
    }
}

static void
reader_why(const ml_reader *r, int err, char *why, size_t why_len)
{
    const char *m = r != NULL ? ml_reader_message(r) : "";
    snprintf(why, why_len, "%s",
             m[0]                         ? m
             : err == ML_EIO && r == NULL ? strerror(errno)
                                          : ml_strerror(err));
}

int
ml_report_build(const char *path, ml_report **out, char *why, size_t why_len)
{
    ml_reader *r = NULL;
    series_map m = {0};
    ml_report *rep = calloc(1, sizeof *rep);
    if (rep == NULL || (rep->path = strdup(path)) == NULL) {
        free(rep);
        return ML_ENOMEM;
    }
    int err = ml_reader_open(path, &r);
    if (err == 0) {
        err = ml_summary_build(r, &rep->summary);
    }
    if (err < 0) {
        reader_why(r, err, why, why_len);
        goto fail;
    }
    ml_reader_free(r);
    r = NULL;
    if ((err = ml_reader_open(path, &r)) < 0) {
        reader_why(r, err, why, why_len);
        goto fail;
    }
    ml_record rec;
    while ((err = ml_reader_next(r, &rec)) > 0) {
        switch (rec.kind) {
        case ML_KIND_SERIES:
            err = add_series(rep, &m, r, &rec);
            break;
        case ML_KIND_VALUE:
            err = add_value(rep, &m, &rec);
            break;
        case ML_KIND_LOG:
            err = add_error(rep, r, &rec);
            break;
        case ML_KIND_SPAN:
            err = add_call(rep, r, &rec);
            break;
        case ML_KIND_REPORT:
            err = add_end(rep, r, &rec);
            break;
        default:
            err = 0;
            break;
        }
        if (err < 0) {
            break;
        }
    }
    if (err == ML_ENOMEM) {
        snprintf(why, why_len, "out of memory");
        goto fail;
    }
    /* The summary read the same bytes: a truncated tail is known. */
    qsort(rep->timed, rep->ntimed, sizeof *rep->timed, by_total);
    fit_anomalies(rep);
    free(m.index);
    ml_reader_free(r);
    *out = rep;
    return 0;
fail:
    free(m.index);
    ml_reader_free(r);
    ml_report_free(rep);
    return err < 0 ? err : ML_ECORRUPT;
}

void
ml_report_free(ml_report *r)
{
    if (r == NULL) {
        return;
    }
    ml_summary_free(r->summary);
    for (size_t i = 0; i < r->nseries; i++) {
        free(r->series[i].name);
        free(r->series[i].unit);
        free(r->series[i].t);
        free(r->series[i].v);
    }
    free(r->series);
    for (size_t i = 0; i < r->nerrors; i++) {
        free(r->errors[i].text);
        free(r->errors[i].stack);
    }
    free(r->errors);
    for (size_t i = 0; i < r->ntimed; i++) {
        for (size_t k = 0; k < r->timed[i].n; k++) {
            free(r->timed[i].calls[k].args);
            free(r->timed[i].calls[k].error);
        }
        free(r->timed[i].calls);
        free(r->timed[i].name);
        free(r->timed[i].file);
    }
    free(r->timed);
    for (size_t i = 0; i < r->nends; i++) {
        free(r->ends[i].name);
        free(r->ends[i].body);
    }
    free(r->ends);
    free(r->path);
    free(r);
}

const ml_report_series *
ml_report_find_series(const ml_report *r, const char *name)
{
    for (size_t i = 0; i < r->nseries; i++) {
        if (!r->series[i].metric && strcmp(r->series[i].name, name) == 0) {
            return &r->series[i];
        }
    }
    return NULL;
}
