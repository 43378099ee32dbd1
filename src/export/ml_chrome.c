// SPDX-License-Identifier: MIT
// Chrome Trace Event JSON (the "JSON Object Format" of the Trace Event
// Format document; read by Perfetto, chrome://tracing and speedscope).
// Per thread: complete events ("X") built from the samples by the span
// builder, on tid = thread id; the thread's state (running, waiting, GIL
// wait, unknown) as complete events on tid = id + 2^20 ("NAME state");
// the timed calls of decorators on tid = id + 2^21 ("NAME timed calls").
// Log entries are instant events ("i"), status and metric values counters
// ("C"), thread and process names metadata ("M"). Times are microseconds
// since the run's start. Events are written as they end, so the file
// streams; consumers sort them by time.
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_export_int.h"

#define TID_STATE (1u << 20)
#define TID_TIMED (1u << 21)
#define FLUSH_AT (1u << 20)

typedef struct {
    uint32_t cls;
    uint64_t start, end;
    int open;
} state_run;

/* A span closed by the span builder, not written yet (see on_close). */
typedef struct {
    uint32_t thread, func;
    uint64_t start, end;
} pending;

typedef struct {
    xrun *x;
    ml_jsonw w;
    pending *pend;
    uint32_t npend, cappend;
    int err;
    state_run *states; /* by thread id - 1 */
    uint32_t nstates;
    uint32_t *series_name, *series_unit; /* by series id */
    uint8_t *series_cls;
    uint32_t nseries;
} chrome;

static void
event_head(chrome *c, const char *ph, const char *name, uint64_t tid)
{
    ml_jsonw *w = &c->w;
    ml_jsonw_obj(w);
    ml_jsonw_kstr(w, "ph", ph);
    ml_jsonw_kstr(w, "name", name);
    ml_jsonw_key(w, "pid");
    ml_jsonw_i64(w, c->x->pid);
    ml_jsonw_ku64(w, "tid", tid);
}

static void
event_end(chrome *c)
{
    ml_jsonw_obj_end(&c->w);
    c->x->res->items++;
    if (c->w.out.len > FLUSH_AT) {
        xrun_flush(c->x, &c->w);
    }
}

static void
on_open(void *ctx, uint32_t thread, uint32_t depth, uint32_t func, uint64_t at)
{
    (void)ctx, (void)thread, (void)depth, (void)func, (void)at;
}

/* The builder closes the deepest span first; a parent and a child that
 * start and end together would then come child first, and consumers
 * that nest equal intervals by file order (speedscope, Perfetto) would
 * turn them upside down. So the spans closed by one feed are kept and
 * written outermost first by write_pending(). The args are the same for
 * every call of a function, since speedscope's importer tells frames
 * apart by name and args. */
static void
on_close(void *ctx, uint32_t thread, uint32_t depth, uint32_t func,
         uint64_t start, uint64_t end, uint64_t running, uint64_t samples)
{
    chrome *c = ctx;
    (void)depth, (void)running, (void)samples;
    if (c->npend == c->cappend) {
        uint32_t cap = c->cappend ? 2 * c->cappend : 64;
        pending *p = realloc(c->pend, (size_t)cap * sizeof *p);
        if (p == NULL) {
            c->err = ML_ENOMEM;
            return;
        }
        c->pend = p;
        c->cappend = cap;
    }
    c->pend[c->npend++] = (pending){thread, func, start, end};
}

static void
write_pending(chrome *c)
{
    while (c->npend > 0) {
        const pending *p = &c->pend[--c->npend];
        const xfunc *f = &c->x->funcs[p->func];
        event_head(c, "X", f->name, p->thread);
        ml_jsonw_kstr(&c->w, "cat", "python");
        ml_jsonw_ku64(&c->w, "ts", p->start);
        ml_jsonw_ku64(&c->w, "dur", p->end - p->start);
        ml_jsonw_key(&c->w, "args");
        ml_jsonw_obj(&c->w);
        ml_jsonw_kstr(&c->w, "file", f->file);
        ml_jsonw_ku64(&c->w, "line", f->line);
        ml_jsonw_obj_end(&c->w);
        event_end(c);
    }
}

static void
state_close(chrome *c, uint32_t thread, state_run *s)
{
    if (!s->open) {
        return;
    }
    event_head(c, "X", xstate_name((int)s->cls), thread + TID_STATE);
    ml_jsonw_kstr(&c->w, "cat", "state");
    ml_jsonw_ku64(&c->w, "ts", s->start);
    ml_jsonw_ku64(&c->w, "dur", s->end > s->start ? s->end - s->start : 0);
    event_end(c);
    s->open = 0;
}

/* One run of samples of a thread in one state, merged with the thread's
 * current state run when it continues it. */
static int
state_feed(chrome *c, uint32_t thread, uint32_t cls, uint64_t t0,
           uint64_t t_end)
{
    if (thread > c->nstates) {
        state_run *s = realloc(c->states, (size_t)thread * sizeof *s);
        if (s == NULL) {
            return ML_ENOMEM;
        }
        memset(s + c->nstates, 0, (thread - c->nstates) * sizeof *s);
        c->states = s;
        c->nstates = thread;
    }
    state_run *s = &c->states[thread - 1];
    double gap = c->x->interval_us / 2;
    if (s->open && (s->cls != cls || (double)t0 > (double)s->end + gap)) {
        if (s->cls != cls && t0 < s->end + gap) {
            s->end = t0 > s->start ? t0 : s->start;
        }
        state_close(c, thread, s);
    }
    if (!s->open) {
        *s = (state_run){cls, t0, t_end, 1};
    } else if (t_end > s->end) {
        s->end = t_end;
    }
    return 0;
}

static void
metadata(chrome *c)
{
    xrun *x = c->x;
    ml_jsonw *w = &c->w;
    event_head(c, "M", "process_name", 0);
    ml_jsonw_key(w, "args");
    ml_jsonw_obj(w);
    ml_jsonw_kstr(w, "name", x->label ? x->label : "python");
    ml_jsonw_obj_end(w);
    event_end(c);
    for (size_t i = 0; i < x->nthreads; i++) {
        const xthread *t = &x->threads[i];
        if (!xrun_thread_wanted(x, t->id)) {
            continue;
        }
        static const char *const suffix[3] = {"", " state", " timed calls"};
        static const uint32_t base[3] = {0, TID_STATE, TID_TIMED};
        for (int k = 0; k < 3; k++) {
            char name[300];
            snprintf(name, sizeof name, "%s%s",
                     t->name && t->name[0] ? t->name : "thread", suffix[k]);
            event_head(c, "M", "thread_name", t->id + base[k]);
            ml_jsonw_key(w, "args");
            ml_jsonw_obj(w);
            ml_jsonw_kstr(w, "name", name);
            ml_jsonw_ku64(w, "native_id", t->native_id);
            ml_jsonw_obj_end(w);
            event_end(c);
            event_head(c, "M", "thread_sort_index", t->id + base[k]);
            ml_jsonw_key(w, "args");
            ml_jsonw_obj(w);
            ml_jsonw_ku64(w, "sort_index", t->id * 3 + (uint64_t)k);
            ml_jsonw_obj_end(w);
            event_end(c);
        }
    }
}

static int
in_range(const xrun *x, uint64_t t)
{
    return t >= x->o->from && (x->o->to == UINT64_MAX || t < x->o->to);
}

static void
log_event(chrome *c, const ml_record *rec)
{
    const ml_log *l = &rec->u.log;
    xrun *x = c->x;
    if (!in_range(x, l->time_us)
        || (l->thread != 0 && !xrun_thread_wanted(x, l->thread))) {
        return;
    }
    char name[81];
    size_t n = l->text.len < 80 ? l->text.len : 80;
    memcpy(name, l->text.ptr, n);
    name[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        name[i] = name[i] == '\n' ? ' ' : name[i];
    }
    event_head(c, "i", name, l->thread);
    ml_jsonw_kstr(&c->w, "cat", "log");
    ml_jsonw_ku64(&c->w, "ts", l->time_us);
    ml_jsonw_kstr(&c->w, "s", l->thread ? "t" : "p");
    ml_jsonw_key(&c->w, "args");
    ml_jsonw_obj(&c->w);
    ml_jsonw_ku64(&c->w, "level", l->level);
    ml_jsonw_key(&c->w, "text");
    ml_jsonw_strn(&c->w, (const char *)l->text.ptr, l->text.len);
    ml_jsonw_obj_end(&c->w);
    event_end(c);
}

static int
note_series(chrome *c, const ml_record *rec)
{
    uint32_t id = rec->u.series.id;
    if (id >= c->nseries) {
        uint32_t n = id + 16;
        uint32_t *a = realloc(c->series_name, n * sizeof *a);
        if (a != NULL) {
            c->series_name = a;
        }
        uint32_t *b = realloc(c->series_unit, n * sizeof *b);
        if (b != NULL) {
            c->series_unit = b;
        }
        uint8_t *k = realloc(c->series_cls, n);
        if (k != NULL) {
            c->series_cls = k;
        }
        if (a == NULL || b == NULL || k == NULL) {
            return ML_ENOMEM;
        }
        c->nseries = n;
    }
    c->series_name[id] = rec->u.series.name;
    c->series_unit[id] = rec->u.series.unit;
    c->series_cls[id] = rec->u.series.cls;
    return 0;
}

static void
counter_event(chrome *c, const ml_record *rec)
{
    uint32_t id = rec->u.value.series;
    const ml_value *v = &rec->u.value.value;
    if (id == 0 || id >= c->nseries || !in_range(c->x, rec->time_us)
        || v->tag == ML_TAG_BYTES) {
        return;
    }
    ml_bytes b = {(const uint8_t *)"", 0};
    ml_reader_string(c->x->r, c->series_name[id], &b);
    char name[200];
    snprintf(name, sizeof name, "%s%.*s",
             c->series_cls[id] == ML_SERIES_METRIC ? "metric " : "",
             (int)(b.len < 180 ? b.len : 180), (const char *)b.ptr);
    event_head(c, "C", name, 0);
    ml_jsonw_kstr(&c->w, "cat",
                  c->series_cls[id] == ML_SERIES_METRIC ? "metric" : "status");
    ml_jsonw_ku64(&c->w, "ts", rec->time_us);
    ml_jsonw_key(&c->w, "args");
    ml_jsonw_obj(&c->w);
    ml_jsonw_key(&c->w, "value");
    if (v->tag == ML_TAG_UINT) {
        ml_jsonw_u64(&c->w, v->v.u);
    } else if (v->tag == ML_TAG_INT) {
        ml_jsonw_i64(&c->w, v->v.i);
    } else {
        ml_jsonw_f64(&c->w, v->v.f);
    }
    ml_jsonw_obj_end(&c->w);
    event_end(c);
}

static void
timed_event(chrome *c, const ml_record *rec)
{
    const ml_span *s = &rec->u.span;
    xrun *x = c->x;
    if (!in_range(x, s->time_us) || !xrun_thread_wanted(x, s->thread)) {
        return;
    }
    ml_bytes name = {(const uint8_t *)"", 0}, file = name;
    ml_reader_string(x->r, s->name, &name);
    ml_reader_string(x->r, s->file, &file);
    char nbuf[256];
    snprintf(nbuf, sizeof nbuf, "%.*s", (int)(name.len < 250 ? name.len : 250),
             (const char *)name.ptr);
    event_head(c, "X", nbuf, s->thread + TID_TIMED);
    ml_jsonw_kstr(&c->w, "cat", "timed");
    ml_jsonw_ku64(&c->w, "ts", s->time_us);
    ml_jsonw_ku64(&c->w, "dur", s->wall_ns / 1000);
    ml_jsonw_key(&c->w, "args");
    ml_jsonw_obj(&c->w);
    ml_jsonw_key(&c->w, "file");
    ml_jsonw_strn(&c->w, (const char *)file.ptr, file.len);
    ml_jsonw_ku64(&c->w, "line", s->line);
    ml_jsonw_ku64(&c->w, "call_id", s->call_id);
    ml_jsonw_ku64(&c->w, "cpu_ns", s->cpu_ns);
    ml_jsonw_key(&c->w, "memory_change");
    ml_jsonw_i64(&c->w, s->mem_delta);
    ml_jsonw_key(&c->w, "args");
    ml_jsonw_strn(&c->w, (const char *)s->args.ptr, s->args.len);
    if (s->exception.len > 0) {
        ml_jsonw_key(&c->w, "exception");
        ml_jsonw_strn(&c->w, (const char *)s->exception.ptr, s->exception.len);
    }
    ml_jsonw_obj_end(&c->w);
    event_end(c);
}

int
ml_export_chrome(xrun *x)
{
    chrome c = {0};
    c.x = x;
    xspans *sp = NULL;
    uint32_t *funcs = malloc(XMAX_DEPTH * sizeof *funcs);
    int rc = funcs == NULL ? ML_ENOMEM : 0;
    ml_jsonw_init(&c.w, SIZE_MAX);
    if (rc == 0) {
        rc = xspans_new(x->interval_us, 4, on_open, on_close, &c, &sp);
    }
    if (rc < 0) {
        goto done;
    }
    ml_jsonw_obj(&c.w);
    ml_jsonw_key(&c.w, "traceEvents");
    ml_jsonw_arr(&c.w);
    metadata(&c);
    ml_record rec;
    while (rc == 0 && (rc = xrun_next(x, &rec)) > 0) {
        rc = 0;
        xsamples sm;
        switch (rec.kind) {
        case ML_KIND_SAMPLES:
            if (!xrun_samples(x, &rec, &sm)) {
                break;
            }
            int depth = xrun_path(x, rec.u.samples.stack, funcs, NULL, NULL);
            if (depth < 0) {
                rc = depth;
                break;
            }
            int cls = xstate_of(rec.u.samples.state);
            rc = xspans_feed(sp, rec.u.samples.thread, sm.t0, sm.step, sm.n,
                             funcs, (uint32_t)depth, cls == XS_RUNNING);
            rc = rc < 0 ? rc : c.err;
            write_pending(&c);
            if (rc == 0) {
                uint64_t last = sm.t0 + (uint64_t)((sm.n - 1) * sm.step);
                rc = state_feed(&c, rec.u.samples.thread, (uint32_t)cls, sm.t0,
                                last + (uint64_t)(x->interval_us + 0.5));
            }
            break;
        case ML_KIND_LOG:
            log_event(&c, &rec);
            break;
        case ML_KIND_SERIES:
            rc = note_series(&c, &rec);
            break;
        case ML_KIND_VALUE:
            counter_event(&c, &rec);
            break;
        case ML_KIND_SPAN:
            timed_event(&c, &rec);
            break;
        default:
            break;
        }
    }
    if (rc < 0) {
        goto done;
    }
    xspans_finish(sp);
    write_pending(&c);
    for (uint32_t i = 0; i < c.nstates; i++) {
        state_close(&c, i + 1, &c.states[i]);
    }
    ml_jsonw_arr_end(&c.w);
    ml_jsonw_kstr(&c.w, "displayTimeUnit", "ms");
    ml_jsonw_key(&c.w, "otherData");
    ml_jsonw_obj(&c.w);
    ml_jsonw_kstr(&c.w, "producer", "microlog");
    ml_jsonw_kstr(&c.w, "recording", x->path);
    ml_jsonw_kf64(&c.w, "interval_us", x->interval_us);
    if (x->res->lost) {
        ml_jsonw_kstr(&c.w, "lost", x->res->message);
    }
    ml_jsonw_obj_end(&c.w);
    ml_jsonw_obj_end(&c.w);
    rc = ml_jsonw_error(&c.w);
    xrun_write(x, c.w.out.data, c.w.out.len);
    xrun_write(x, "\n", 1);
done:
    xspans_free(sp);
    ml_jsonw_free(&c.w);
    free(funcs);
    free(c.states);
    free(c.pend);
    free(c.series_name);
    free(c.series_unit);
    free(c.series_cls);
    return rc;
}
