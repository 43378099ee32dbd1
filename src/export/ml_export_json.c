// SPDX-License-Identifier: MIT
// The whole decoded recording as one JSON object (schema in
// docs/EXPORT.md): metadata, threads, frames, stacks, samples, series and
// values, logs, timed calls, reports and the end record, ids as in the
// file. Each section is one pass over the file, so memory stays bounded
// however long the run; --thread and --from/--to filter the timed ones.
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_export_int.h"

#define FLUSH_AT (1u << 20)

typedef struct {
    const char *key;
    uint8_t kind;
    int object; /* the section is an object (meta) or one value (end) */
} section;

static const section sections[] = {
    {"meta", ML_KIND_META, 1},      {"frames", ML_KIND_FRAME, 0},
    {"stacks", ML_KIND_STACK, 0},   {"samples", ML_KIND_SAMPLES, 0},
    {"series", ML_KIND_SERIES, 0},  {"values", ML_KIND_VALUE, 0},
    {"logs", ML_KIND_LOG, 0},       {"spans", ML_KIND_SPAN, 0},
    {"reports", ML_KIND_REPORT, 0},
};

static void
bytes(ml_jsonw *w, const ml_bytes *b)
{
    ml_jsonw_strn(w, (const char *)b->ptr, b->len);
}

static void
string_id(xrun *x, ml_jsonw *w, uint32_t id)
{
    ml_bytes b;
    if (id == 0 || ml_reader_string(x->r, id, &b) < 0) {
        ml_jsonw_null(w);
    } else {
        bytes(w, &b);
    }
}

static void
value(ml_jsonw *w, const ml_value *v)
{
    switch (v->tag) {
    case ML_TAG_BYTES:
        bytes(w, &v->v.b);
        break;
    case ML_TAG_UINT:
        ml_jsonw_u64(w, v->v.u);
        break;
    case ML_TAG_INT:
        ml_jsonw_i64(w, v->v.i);
        break;
    default:
        ml_jsonw_f64(w, v->v.f);
        break;
    }
}

static int
in_range(const xrun *x, uint64_t t)
{
    return t >= x->o->from && (x->o->to == UINT64_MAX || t < x->o->to);
}

/* Writes one record of the section's kind; 0 when it was filtered out. */
static int
record(xrun *x, ml_jsonw *w, const ml_record *rec)
{
    switch (rec->kind) {
    case ML_KIND_FRAME:
        ml_jsonw_obj(w);
        ml_jsonw_ku64(w, "id", rec->u.frame.id);
        ml_jsonw_key(w, "function");
        string_id(x, w, rec->u.frame.name);
        ml_jsonw_key(w, "file");
        string_id(x, w, rec->u.frame.file);
        ml_jsonw_ku64(w, "line", rec->u.frame.line);
        ml_jsonw_ku64(w, "first_line", rec->u.frame.firstline);
        ml_jsonw_obj_end(w);
        return 1;
    case ML_KIND_STACK:
        ml_jsonw_arr(w);
        ml_jsonw_u64(w, rec->u.stack.id);
        ml_jsonw_u64(w, rec->u.stack.parent);
        ml_jsonw_u64(w, rec->u.stack.frame);
        ml_jsonw_arr_end(w);
        return 1;
    case ML_KIND_SAMPLES: {
        xsamples sm;
        if (!xrun_samples(x, rec, &sm)) {
            return 0;
        }
        ml_jsonw_arr(w);
        ml_jsonw_u64(w, rec->u.samples.thread);
        ml_jsonw_u64(w, sm.t0);
        ml_jsonw_u64(w, rec->u.samples.stack);
        ml_jsonw_u64(w, rec->u.samples.state);
        ml_jsonw_u64(w, sm.n);
        ml_jsonw_u64(w, (uint64_t)((sm.n - 1) * sm.step));
        ml_jsonw_arr_end(w);
        x->res->items += sm.n;
        return 1;
    }
    case ML_KIND_SERIES:
        ml_jsonw_obj(w);
        ml_jsonw_ku64(w, "id", rec->u.series.id);
        ml_jsonw_kstr(w, "class",
                      rec->u.series.cls == ML_SERIES_METRIC ? "metric"
                                                            : "status");
        ml_jsonw_key(w, "name");
        string_id(x, w, rec->u.series.name);
        ml_jsonw_key(w, "unit");
        string_id(x, w, rec->u.series.unit);
        ml_jsonw_obj_end(w);
        return 1;
    case ML_KIND_VALUE:
        if (!in_range(x, rec->time_us)) {
            return 0;
        }
        ml_jsonw_arr(w);
        ml_jsonw_u64(w, rec->u.value.series);
        ml_jsonw_u64(w, rec->time_us);
        value(w, &rec->u.value.value);
        ml_jsonw_arr_end(w);
        return 1;
    case ML_KIND_LOG: {
        const ml_log *l = &rec->u.log;
        if (!in_range(x, l->time_us)
            || (l->thread != 0 && !xrun_thread_wanted(x, l->thread))) {
            return 0;
        }
        ml_jsonw_obj(w);
        ml_jsonw_ku64(w, "time_us", l->time_us);
        ml_jsonw_ku64(w, "thread", l->thread);
        ml_jsonw_ku64(w, "level", l->level);
        ml_jsonw_ku64(w, "source", l->source);
        ml_jsonw_ku64(w, "stack", l->stack);
        ml_jsonw_key(w, "text");
        bytes(w, &l->text);
        ml_jsonw_obj_end(w);
        return 1;
    }
    case ML_KIND_SPAN: {
        const ml_span *s = &rec->u.span;
        if (!in_range(x, s->time_us) || !xrun_thread_wanted(x, s->thread)) {
            return 0;
        }
        ml_jsonw_obj(w);
        ml_jsonw_ku64(w, "time_us", s->time_us);
        ml_jsonw_ku64(w, "call_id", s->call_id);
        ml_jsonw_ku64(w, "parent_call", s->parent_call);
        ml_jsonw_ku64(w, "thread", s->thread);
        ml_jsonw_ku64(w, "wall_ns", s->wall_ns);
        ml_jsonw_ku64(w, "cpu_ns", s->cpu_ns);
        ml_jsonw_key(w, "memory_change");
        ml_jsonw_i64(w, s->mem_delta);
        ml_jsonw_key(w, "function");
        string_id(x, w, s->name);
        ml_jsonw_key(w, "file");
        string_id(x, w, s->file);
        ml_jsonw_ku64(w, "line", s->line);
        ml_jsonw_key(w, "args");
        bytes(w, &s->args);
        ml_jsonw_key(w, "exception");
        if (s->exception.len > 0) {
            bytes(w, &s->exception);
        } else {
            ml_jsonw_null(w);
        }
        ml_jsonw_obj_end(w);
        return 1;
    }
    case ML_KIND_REPORT:
        ml_jsonw_obj(w);
        ml_jsonw_ku64(w, "kind", rec->u.report.kind);
        ml_jsonw_key(w, "name");
        string_id(x, w, rec->u.report.name);
        ml_jsonw_key(w, "body");
        bytes(w, &rec->u.report.body);
        ml_jsonw_obj_end(w);
        return 1;
    default:
        return 0;
    }
}

/* META keys: written by hand, as ml_jsonw takes only C-string keys. */
static void
meta_entry(xrun *x, ml_jsonw *w, const ml_record *rec)
{
    char key[256];
    size_t n = rec->u.meta.key.len < 255 ? rec->u.meta.key.len : 255;
    memcpy(key, rec->u.meta.key.ptr, n);
    key[n] = '\0';
    (void)x;
    ml_jsonw_key(w, key);
    value(w, &rec->u.meta.value);
}

static void
threads(xrun *x, ml_jsonw *w)
{
    ml_jsonw_key(w, "threads");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < x->nthreads; i++) {
        const xthread *t = &x->threads[i];
        ml_jsonw_obj(w);
        ml_jsonw_ku64(w, "id", t->id);
        ml_jsonw_kstr(w, "name", t->name ? t->name : "");
        ml_jsonw_ku64(w, "native_id", t->native_id);
        ml_jsonw_ku64(w, "samples", t->samples);
        ml_jsonw_ku64(w, "first_us", t->first_us);
        ml_jsonw_ku64(w, "last_us", t->last_us);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
}

int
ml_export_json(xrun *x)
{
    ml_jsonw w;
    ml_record rec;
    int rc = 0;
    ml_jsonw_init(&w, SIZE_MAX);
    ml_jsonw_obj(&w);
    ml_jsonw_kstr(&w, "format", "microlog-recording");
    ml_jsonw_ku64(&w, "version", 1);
    ml_jsonw_kstr(&w, "file", x->path);
    ml_jsonw_kf64(&w, "interval_us", x->interval_us);
    ml_jsonw_ku64(&w, "duration_us", x->end_us);
    threads(x, &w);
    for (size_t s = 0; rc == 0 && s < sizeof sections / sizeof *sections;
         s++) {
        if (s > 0 && (rc = xrun_rewind(x)) < 0) {
            break;
        }
        ml_jsonw_key(&w, sections[s].key);
        if (sections[s].object) {
            ml_jsonw_obj(&w);
        } else {
            ml_jsonw_arr(&w);
        }
        while ((rc = xrun_next(x, &rec)) > 0) {
            rc = 0;
            if (rec.kind != sections[s].kind) {
                continue;
            }
            if (rec.kind == ML_KIND_META) {
                meta_entry(x, &w, &rec);
            } else {
                record(x, &w, &rec);
            }
            if (w.out.len > FLUSH_AT) {
                xrun_flush(x, &w);
            }
        }
        if (sections[s].object) {
            ml_jsonw_obj_end(&w);
        } else {
            ml_jsonw_arr_end(&w);
        }
    }
    if (rc == 0) {
        ml_jsonw_key(&w, "end");
        if (x->complete) {
            ml_jsonw_obj(&w);
            ml_jsonw_key(&w, "exit_status");
            ml_jsonw_i64(&w, x->exit_status);
            ml_jsonw_obj_end(&w);
        } else {
            ml_jsonw_null(&w);
        }
        ml_jsonw_key(&w, "lost");
        if (x->res->lost) {
            ml_jsonw_str(&w, x->res->message);
        } else {
            ml_jsonw_null(&w);
        }
        ml_jsonw_obj_end(&w);
        rc = ml_jsonw_error(&w);
        xrun_flush(x, &w);
        xrun_write(x, "\n", 1);
    }
    ml_jsonw_free(&w);
    return rc;
}
