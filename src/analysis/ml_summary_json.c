// SPDX-License-Identifier: MIT
// The run summary as JSON (see ml_summary_json.h; keys in docs/API.md and
// tests/python/test_cli_show.py).
#include "ml_summary_json.h"

#include "ml_json.h"

static json_t *
json_meta_value(const ml_summary_meta *m)
{
    switch (m->tag) {
    case ML_TAG_BYTES:
        return ml_json_text(m->text);
    case ML_TAG_UINT:
        return ml_json_uint(m->u);
    case ML_TAG_INT:
        return json_integer((json_int_t)m->i);
    case ML_TAG_F64:
        return ml_json_real(m->f);
    default:
        return json_null();
    }
}

static json_t *
json_meta(const ml_summary *s, int *failed)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < s->nmeta; i++) {
        const ml_summary_meta *m = &s->meta[i];
        json_t *v = json_meta_value(m);
        /* Keys must be UTF-8 too; an invalid one is left out. */
        if (v != NULL && json_object_set_new(o, m->key, v) < 0) {
            continue;
        }
        *failed |= v == NULL;
    }
    return o;
}

static json_t *
json_threads(const ml_summary *s, int *failed)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < s->nthreads; i++) {
        const ml_summary_thread *t = &s->threads[i];
        json_t *o = json_object();
        if (o != NULL) {
            ml_json_put(o, "id", ml_json_uint(t->id), failed);
            ml_json_put(o, "name", ml_json_text(t->name), failed);
            ml_json_put(o, "native_id", ml_json_uint(t->native_id), failed);
            ml_json_put(o, "samples", ml_json_uint(t->samples), failed);
            ml_json_put(o, "running", ml_json_uint(t->running), failed);
            ml_json_put(o, "native", ml_json_uint(t->native), failed);
            ml_json_put(o, "gil_wait", ml_json_uint(t->gil_wait), failed);
            ml_json_put(o, "unknown", ml_json_uint(t->unknown), failed);
            ml_json_put(o, "cpu_known", ml_json_uint(t->cpu_known), failed);
            ml_json_put(o, "cpu_weighted",
                        ml_json_real((double)t->cpu_15ths / ML_CPU_FULL),
                        failed);
            ml_json_put(o, "first_us", ml_json_uint(t->first_us), failed);
            ml_json_put(o, "last_us", ml_json_uint(t->last_us), failed);
        }
        ml_json_append(a, o, failed);
    }
    return a;
}

static json_t *
json_functions(const ml_summary *s, long top, int *failed)
{
    json_t *a = json_array();
    size_t n = s->nfunctions;
    if (top >= 0 && (size_t)top < n) {
        n = (size_t)top;
    }
    for (size_t i = 0; a != NULL && i < n; i++) {
        const ml_summary_function *f = &s->functions[i];
        json_t *o = json_object();
        if (o != NULL) {
            ml_json_put(o, "name", ml_json_text(f->name), failed);
            ml_json_put(o, "file", ml_json_text(f->file), failed);
            ml_json_put(o, "line", ml_json_uint(f->line), failed);
            ml_json_put(o, "self", ml_json_uint(f->self), failed);
            ml_json_put(o, "total", ml_json_uint(f->total), failed);
        }
        ml_json_append(a, o, failed);
    }
    return a;
}

static json_t *
json_levels(const ml_summary *s, int *failed)
{
    json_t *o = json_object();
    for (int i = 0; o != NULL && i < ML_LEVEL_COUNT; i++) {
        ml_json_put(o, ml_summary_level_name(i),
                    ml_json_uint(s->log_levels[i]), failed);
    }
    return o;
}

static void
json_run(json_t *o, const ml_summary *s, int *failed)
{
    uint64_t req;
    int has_req = ml_summary_meta_uint(s, "interval_us", &req) == 0;
    ml_json_put(o, "label", ml_json_text(ml_summary_meta_str(s, "label")),
                failed);
    ml_json_put(o, "command", ml_json_text(ml_summary_meta_str(s, "argv")),
                failed);
    ml_json_put(o, "python", ml_json_text(ml_summary_meta_str(s, "python")),
                failed);
    ml_json_put(o, "sampler", ml_json_text(ml_summary_meta_str(s, "sampler")),
                failed);
    ml_json_put(o, "duration_s", ml_json_real((double)s->duration_us / 1e6),
                failed);
    ml_json_put(o, "complete", json_boolean(s->complete), failed);
    ml_json_put(o, "exit_status",
                s->complete ? json_integer((json_int_t)s->exit_status)
                            : json_null(),
                failed);
    ml_json_put(o, "interval_us", ml_json_real(s->interval_us), failed);
    ml_json_put(o, "requested_interval_us",
                has_req ? ml_json_uint(req) : json_null(), failed);
}

json_t *
ml_summary_to_json(const ml_summary *s, long top)
{
    int failed = 0;
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    json_run(o, s, &failed);
    ml_json_put(o, "samples", ml_json_uint(s->samples), &failed);
    ml_json_put(o, "running_samples", ml_json_uint(s->running), &failed);
    ml_json_put(o, "threads", json_threads(s, &failed), &failed);
    ml_json_put(o, "status_records", ml_json_uint(s->status_records), &failed);
    ml_json_put(o, "log_records", ml_json_uint(s->log_records), &failed);
    ml_json_put(o, "log_levels", json_levels(s, &failed), &failed);
    ml_json_put(o, "metric_records", ml_json_uint(s->metric_records), &failed);
    ml_json_put(o, "span_records", ml_json_uint(s->span_records), &failed);
    ml_json_put(o, "report_records", ml_json_uint(s->report_records), &failed);
    ml_json_put(o, "bytes", ml_json_uint(s->bytes), &failed);
    ml_json_put(o, "chunks", ml_json_uint(s->chunks), &failed);
    ml_json_put(o, "functions", json_functions(s, top, &failed), &failed);
    ml_json_put(o, "meta", json_meta(s, &failed), &failed);
    ml_json_put(o, "truncated_at",
                s->truncated ? ml_json_uint(s->truncated_at) : json_null(),
                &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}
