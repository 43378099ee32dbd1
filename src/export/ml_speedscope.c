// SPDX-License-Identifier: MIT
// speedscope's file format
// (https://www.speedscope.app/file-format-schema.json): frames are Python
// functions (name, file, first line), and every sampled thread gets two
// evented profiles on the real time axis, in microseconds since the run's
// start: "NAME" with every sample (wall time: running and waiting) and "NAME
// (running)" with the running samples only, where the thread's waiting shows
// as gaps (its waiting samples end the running spans). A time the thread
// was not sampled is a gap in both. Spans come from the span builder
// (ml_xspans.c).
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_export_int.h"

typedef struct {
    ml_jsonw w; /* the events array, open */
    uint64_t first, last;
    uint64_t samples; /* in its outermost spans */
    int used;
} profile;

typedef struct {
    xrun *x;
    profile *p; /* 2 per thread: (id - 1) * 2 + running */
    uint32_t np;
    int err;
} scope;

typedef struct {
    scope *s;
    int running;
} view;

static profile *
get_profile(scope *s, uint32_t thread, int running)
{
    uint32_t i = (thread - 1) * 2 + (running ? 1 : 0);
    if (i >= s->np) {
        uint32_t n = i + 2;
        profile *p = realloc(s->p, (size_t)n * sizeof *p);
        if (p == NULL) {
            s->err = ML_ENOMEM;
            return NULL;
        }
        for (uint32_t k = s->np; k < n; k++) {
            p[k] = (profile){0};
            ml_jsonw_init(&p[k].w, SIZE_MAX);
            ml_jsonw_arr(&p[k].w);
        }
        s->p = p;
        s->np = n;
    }
    return &s->p[i];
}

static void
event(view *v, uint32_t thread, const char *type, uint32_t func, uint64_t at)
{
    profile *p = get_profile(v->s, thread, v->running);
    if (p == NULL) {
        return;
    }
    if (!p->used) {
        p->first = at;
        p->used = 1;
    }
    p->last = at > p->last ? at : p->last;
    ml_jsonw_obj(&p->w);
    ml_jsonw_kstr(&p->w, "type", type);
    ml_jsonw_ku64(&p->w, "frame", func);
    ml_jsonw_ku64(&p->w, "at", at);
    ml_jsonw_obj_end(&p->w);
}

static void
on_open(void *ctx, uint32_t thread, uint32_t depth, uint32_t func, uint64_t at)
{
    (void)depth;
    event(ctx, thread, "O", func, at);
}

static void
on_close(void *ctx, uint32_t thread, uint32_t depth, uint32_t func,
         uint64_t start, uint64_t end, uint64_t running, uint64_t samples)
{
    view *v = ctx;
    (void)start, (void)running;
    event(v, thread, "C", func, end);
    if (depth == 0 && v->s->err == 0) {
        get_profile(v->s, thread, v->running)->samples += samples;
    }
}

/* The running profile of the thread that ran most: the one speedscope
 * opens, the counterpart of `microlog show`'s top functions. Its index
 * among the profiles written (the unused ones are left out). */
static uint64_t
active_profile(const scope *s)
{
    uint64_t best = 0, most = 0, k = 0;
    for (uint32_t i = 0; i < s->np; i++) {
        if (!s->p[i].used) {
            continue;
        }
        if (i % 2 == 1 && s->p[i].samples > most) {
            most = s->p[i].samples;
            best = k;
        }
        k++;
    }
    return best;
}

static void
write_profiles(scope *s, ml_jsonw *w)
{
    xrun *x = s->x;
    for (uint32_t i = 0; i < s->np; i++) {
        profile *p = &s->p[i];
        if (!p->used) {
            continue;
        }
        uint32_t thread = i / 2 + 1;
        const char *tn = xrun_thread_name(x, thread);
        char name[300];
        snprintf(name, sizeof name, "%s%s", tn[0] ? tn : "thread",
                 i % 2 ? " (running)" : "");
        ml_jsonw_obj(w);
        ml_jsonw_kstr(w, "type", "evented");
        ml_jsonw_kstr(w, "name", name);
        ml_jsonw_kstr(w, "unit", "microseconds");
        ml_jsonw_ku64(w, "startValue",
                      x->o->from < p->first ? x->o->from : p->first);
        ml_jsonw_ku64(w, "endValue", p->last);
        ml_jsonw_key(w, "events");
        xrun_flush(x, w);
        ml_jsonw_arr_end(&p->w);
        if (ml_jsonw_error(&p->w) < 0) {
            s->err = ml_jsonw_error(&p->w);
        }
        xrun_write(x, p->w.out.data, p->w.out.len);
        /* The events array was written by its own writer: tell this one
         * a value was written. */
        ml_jsonw_null(w);
        ml_buf_reset(&w->out);
        ml_jsonw_obj_end(w);
        x->res->items++;
    }
}

int
ml_export_speedscope(xrun *x)
{
    scope s = {0};
    s.x = x;
    view all = {&s, 0}, run = {&s, 1};
    xspans *sp_all = NULL, *sp_run = NULL;
    ml_jsonw w;
    uint32_t *funcs = malloc(XMAX_DEPTH * sizeof *funcs);
    int rc = funcs == NULL ? ML_ENOMEM : 0;
    ml_jsonw_init(&w, SIZE_MAX);
    if (rc == 0) {
        rc = xspans_new(x->interval_us, 4, on_open, on_close, &all, &sp_all);
    }
    if (rc == 0) {
        rc = xspans_new(x->interval_us, 4, on_open, on_close, &run, &sp_run);
    }
    ml_record rec;
    while (rc == 0 && s.err == 0 && (rc = xrun_next(x, &rec)) > 0) {
        rc = 0;
        xsamples sm;
        if (!xrun_samples(x, &rec, &sm)) {
            continue;
        }
        int depth = xrun_path(x, rec.u.samples.stack, funcs, NULL, NULL);
        if (depth < 0) {
            rc = depth;
            break;
        }
        int running = xstate_of(rec.u.samples.state) == XS_RUNNING;
        rc = xspans_feed(sp_all, rec.u.samples.thread, sm.t0, sm.step, sm.n,
                         funcs, (uint32_t)depth, running);
        /* A waiting sample is an empty stack to the running profile: it
         * ends the running spans where the waiting starts. */
        if (rc == 0) {
            rc = xspans_feed(sp_run, rec.u.samples.thread, sm.t0, sm.step,
                             sm.n, funcs, running ? (uint32_t)depth : 0, 1);
        }
    }
    if (rc < 0 || s.err < 0) {
        rc = rc < 0 ? rc : s.err;
        goto done;
    }
    xspans_finish(sp_all);
    xspans_finish(sp_run);
    ml_jsonw_obj(&w);
    ml_jsonw_kstr(&w, "$schema",
                  "https://www.speedscope.app/file-format-schema.json");
    ml_jsonw_kstr(&w, "exporter", "microlog");
    ml_jsonw_kstr(&w, "name", x->label ? x->label : x->path);
    ml_jsonw_ku64(&w, "activeProfileIndex", active_profile(&s));
    ml_jsonw_key(&w, "shared");
    ml_jsonw_obj(&w);
    ml_jsonw_key(&w, "frames");
    ml_jsonw_arr(&w);
    for (uint32_t i = 0; i < x->nfuncs; i++) {
        ml_jsonw_obj(&w);
        ml_jsonw_kstr(&w, "name", x->funcs[i].name);
        ml_jsonw_kstr(&w, "file", x->funcs[i].file);
        ml_jsonw_ku64(&w, "line", x->funcs[i].line);
        ml_jsonw_obj_end(&w);
    }
    ml_jsonw_arr_end(&w);
    ml_jsonw_obj_end(&w);
    ml_jsonw_key(&w, "profiles");
    ml_jsonw_arr(&w);
    write_profiles(&s, &w);
    ml_jsonw_arr_end(&w);
    ml_jsonw_obj_end(&w);
    rc = ml_jsonw_error(&w) < 0 ? ml_jsonw_error(&w) : s.err;
    xrun_flush(x, &w);
    xrun_write(x, "\n", 1);
done:
    xspans_free(sp_all);
    xspans_free(sp_run);
    for (uint32_t i = 0; i < s.np; i++) {
        ml_jsonw_free(&s.p[i].w);
    }
    free(s.p);
    ml_jsonw_free(&w);
    free(funcs);
    return rc;
}
