// SPDX-License-Identifier: MIT
// Views over the index's stored records: status and metric series per
// pixel bucket (min, max, mean: a one-sample spike stays visible), log
// entries with their stacks, search, what changed since a time (live
// runs), and whether a file is named by the recording (source view).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_view_int.h"

#define MAX_SEARCH_HITS 1000
#define MAX_LOG_LIMIT 10000
#define MAX_STACK_FRAMES 256

/* ---- status ------------------------------------------------------------- */

typedef struct ix_value value;

VW_LOWER_BOUND(value_lower, value, IX_TIME_OF)

typedef struct {
    uint64_t start, count;
    double min, max, sum;
} bucket;

static void
bucket_write(ml_jsonw *w, const bucket *b)
{
    ml_jsonw_arr(w);
    ml_jsonw_u64(w, b->start);
    ml_jsonw_f64(w, b->min);
    ml_jsonw_f64(w, b->max);
    ml_jsonw_f64(w, b->sum / (double)b->count);
    ml_jsonw_u64(w, b->count);
    ml_jsonw_arr_end(w);
}

static void
bucket_add(bucket *b, double v)
{
    if (b->count == 0 || v < b->min) {
        b->min = v;
    }
    if (b->count == 0 || v > b->max) {
        b->max = v;
    }
    b->sum += v;
    b->count++;
}

static void
series_write(const ml_index *ix, const vw_window *win, ml_jsonw *w, size_t id)
{
    const ix_series *s = &ix->series.items[id];
    uint32_t len;
    const char *str;
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "id", id + 1);
    str = ix_string(ix, s->name, &len);
    ml_jsonw_key(w, "name");
    ml_jsonw_strn(w, str, len);
    str = ix_string(ix, s->unit, &len);
    ml_jsonw_key(w, "unit");
    ml_jsonw_strn(w, str, len);
    ml_jsonw_kstr(w, "class",
                  s->cls == ML_SERIES_METRIC ? "metric" : "status");
    ml_jsonw_key(w, "buckets");
    ml_jsonw_arr(w);
    const value *a = s->values.items;
    bucket b = {0}, all = {0};
    for (size_t i = value_lower(a, s->values.len, win->from);
         i < s->values.len && a[i].t < win->to; i++) {
        if (isnan(a[i].v)) {
            continue;
        }
        uint64_t start = a[i].t - (a[i].t - win->from) % win->bucket;
        if (b.count > 0 && start != b.start) {
            bucket_write(w, &b);
            b.count = 0;
            b.sum = 0;
        }
        b.start = start;
        bucket_add(&b, a[i].v);
        bucket_add(&all, a[i].v);
    }
    if (b.count > 0) {
        bucket_write(w, &b);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_key(w, "stats");
    ml_jsonw_obj(w);
    if (all.count > 0) {
        ml_jsonw_kf64(w, "min", all.min);
        ml_jsonw_kf64(w, "max", all.max);
        ml_jsonw_kf64(w, "mean", all.sum / (double)all.count);
    }
    ml_jsonw_ku64(w, "count", all.count);
    ml_jsonw_obj_end(w);
    ml_jsonw_obj_end(w);
}

int
ml_view_status(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    vw_window win;
    int err = vw_resolve(ix, q, 1, &win);
    if (err < 0) {
        return err;
    }
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "from", win.from);
    ml_jsonw_ku64(w, "to", win.to);
    ml_jsonw_ku64(w, "bucket_us", win.bucket);
    ml_jsonw_key(w, "series");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < ix->series.len; i++) {
        series_write(ix, &win, w, i);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_obj_end(w);
    vw_window_free(&win);
    return ml_jsonw_error(w);
}

/* ---- logs ------------------------------------------------------------------
 */

static const char *
source_name(uint8_t s)
{
    static const char *const names[ML_LOG_SOURCE_COUNT] = {
        "api", "stdout", "stderr", "logging", "warnings", "exception"};
    return s < ML_LOG_SOURCE_COUNT ? names[s] : "unknown";
}

static const char *
level_name(uint32_t level)
{
    if (level >= 50) {
        return "critical";
    }
    static const char *const names[] = {"notset", "debug", "info", "warning",
                                        "error"};
    return names[level / 10];
}

/* The frames of a reader stack, outermost first. */
static void
stack_write(const ml_index *ix, ml_jsonw *w, uint32_t stack)
{
    uint32_t frames[MAX_STACK_FRAMES];
    size_t n = 0;
    for (uint32_t s = stack; s != 0 && n < MAX_STACK_FRAMES;) {
        uint32_t parent, frame;
        if (ml_reader_stack(ix->r, s, &parent, &frame) < 0) {
            break;
        }
        frames[n++] = frame;
        s = parent;
    }
    ml_jsonw_arr(w);
    while (n-- > 0) {
        uint32_t name, file, line, first, len;
        if (ml_reader_frame(ix->r, frames[n], &name, &file, &line, &first)
            < 0) {
            continue;
        }
        ml_jsonw_obj(w);
        const char *str = ix_string(ix, name, &len);
        ml_jsonw_key(w, "function");
        ml_jsonw_strn(w, str, len);
        str = ix_string(ix, file, &len);
        ml_jsonw_key(w, "file");
        ml_jsonw_strn(w, str, len);
        ml_jsonw_ku64(w, "line", line);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
}

static void
log_write(const ml_index *ix, ml_jsonw *w, size_t index)
{
    const ix_log *e = &ix->logs.items[index];
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "index", index);
    ml_jsonw_ku64(w, "time_us", e->t);
    ml_jsonw_ku64(w, "level", e->level);
    ml_jsonw_kstr(w, "level_name", level_name(e->level));
    ml_jsonw_ku64(w, "thread", e->thread);
    ml_jsonw_key(w, "thread_name");
    if (e->thread > 0 && e->thread <= ix->threads.len) {
        uint32_t len;
        const char *s =
            ix_string(ix, ix->threads.items[e->thread - 1]->name, &len);
        ml_jsonw_strn(w, s, len);
    } else {
        ml_jsonw_null(w);
    }
    ml_jsonw_kstr(w, "source", source_name(e->source));
    ml_jsonw_key(w, "text");
    ml_jsonw_strn(w, ix->log_text.items + e->off, e->len);
    ml_jsonw_kbool(w, "cut", e->cut);
    ml_jsonw_key(w, "stack");
    stack_write(ix, w, e->stack);
    ml_jsonw_obj_end(w);
}

VW_LOWER_BOUND(log_lower, ix_log, IX_TIME_OF)

int
ml_view_logs(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    vw_window win;
    int err = vw_resolve(ix, q, 0, &win);
    if (err < 0) {
        return err;
    }
    uint64_t limit = q->limit > MAX_LOG_LIMIT ? MAX_LOG_LIMIT : q->limit;
    ml_jsonw_obj(w);
    ml_jsonw_key(w, "entries");
    ml_jsonw_arr(w);
    uint64_t total = 0;
    const ix_log *a = ix->logs.items;
    for (size_t i = log_lower(a, ix->logs.len, win.from);
         i < ix->logs.len && a[i].t < win.to; i++) {
        if (a[i].level < q->min_level
            || (a[i].thread != 0 && !vw_wants(&win, a[i].thread))) {
            continue;
        }
        if (q->re != NULL) {
            int m =
                ml_regex_match(q->re, ix->log_text.items + a[i].off, a[i].len);
            if (m < 0) {
                err = m;
                break;
            }
            if (m == 0) {
                continue;
            }
        }
        if (total >= q->offset && total < q->offset + limit) {
            log_write(ix, w, i);
        }
        total++;
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_ku64(w, "total", total);
    ml_jsonw_ku64(w, "offset", q->offset);
    ml_jsonw_ku64(w, "limit", limit);
    ml_jsonw_obj_end(w);
    vw_window_free(&win);
    return err < 0 ? err : ml_jsonw_error(w);
}

/* ---- search ------------------------------------------------------------- */

static int
search_functions(ml_index *ix, ml_regex *re, ml_jsonw *w, int *truncated)
{
    uint32_t *inc = vw_inclusive(ix, ix->fnode_samples.items);
    uint64_t *total = calloc(ix->funcs.len, sizeof *total);
    if (inc == NULL || total == NULL) {
        free(inc);
        free(total);
        return ML_ENOMEM;
    }
    for (size_t i = 1; i < ix->fnodes.len; i++) {
        if (ix->fnodes.items[i].outermost) {
            total[ix->fnodes.items[i].fid] += inc[i];
        }
    }
    double iv = vw_interval(ix);
    int err = 0, hits = 0;
    ml_jsonw_key(w, "functions");
    ml_jsonw_arr(w);
    for (size_t f = 1; f < ix->funcs.len; f++) {
        uint32_t nlen, flen;
        const char *name = ix_string(ix, ix->funcs.items[f].name, &nlen);
        const char *file = ix_string(ix, ix->funcs.items[f].file, &flen);
        int m = ml_regex_match(re, name, nlen);
        if (m == 0) {
            m = ml_regex_match(re, file, flen);
        }
        if (m < 0) {
            err = m;
            break;
        }
        if (m == 0) {
            continue;
        }
        if (hits++ >= MAX_SEARCH_HITS) {
            *truncated = 1;
            break;
        }
        const ix_func *fn = &ix->funcs.items[f];
        ml_jsonw_obj(w);
        vw_func_fields(ix, w, (uint32_t)f);
        ml_jsonw_kf64(w, "total_us", (double)total[f] * iv);
        ml_jsonw_key(w, "first_us");
        if (fn->first_us != UINT64_MAX) {
            ml_jsonw_u64(w, fn->first_us);
        } else {
            ml_jsonw_null(w); /* only in spans still open */
        }
        ml_jsonw_key(w, "last_us");
        if (fn->first_us != UINT64_MAX) {
            ml_jsonw_u64(w, fn->last_us);
        } else {
            ml_jsonw_null(w);
        }
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
    free(inc);
    free(total);
    return err;
}

int
ml_view_search(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    if (q->re == NULL) {
        return ML_EINVAL;
    }
    int truncated = 0;
    ml_jsonw_obj(w);
    int err = search_functions(ix, q->re, w, &truncated);
    ml_jsonw_key(w, "logs");
    ml_jsonw_arr(w);
    int hits = 0;
    for (size_t i = 0; err == 0 && i < ix->logs.len; i++) {
        const ix_log *e = &ix->logs.items[i];
        int m = ml_regex_match(q->re, ix->log_text.items + e->off, e->len);
        if (m < 0) {
            err = m;
        } else if (m > 0 && hits++ >= MAX_SEARCH_HITS) {
            truncated = 1;
            break;
        } else if (m > 0) {
            ml_jsonw_obj(w);
            ml_jsonw_ku64(w, "index", i);
            ml_jsonw_ku64(w, "time_us", e->t);
            ml_jsonw_ku64(w, "level", e->level);
            ml_jsonw_key(w, "text");
            ml_jsonw_strn(w, ix->log_text.items + e->off,
                          e->len > 200 ? 200 : e->len);
            ml_jsonw_obj_end(w);
        }
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_key(w, "series");
    ml_jsonw_arr(w);
    for (size_t i = 0; err == 0 && i < ix->series.len; i++) {
        uint32_t len;
        const char *name = ix_string(ix, ix->series.items[i].name, &len);
        int m = ml_regex_match(q->re, name, len);
        if (m < 0) {
            err = m;
        } else if (m > 0) {
            ml_jsonw_obj(w);
            ml_jsonw_ku64(w, "id", i + 1);
            ml_jsonw_key(w, "name");
            ml_jsonw_strn(w, name, len);
            ml_jsonw_obj_end(w);
        }
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_kbool(w, "truncated", truncated);
    ml_jsonw_obj_end(w);
    return err < 0 ? err : ml_jsonw_error(w);
}

/* ---- changes ---------------------------------------------------------------
 */

int
ml_view_changes(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    ml_index_info info;
    ml_index_get_info(ix, &info);
    const ix_log *a = ix->logs.items;
    size_t first_new = log_lower(a, ix->logs.len, q->since + 1);
    const ix_timed *t = ix->timed.items;
    size_t new_spans = 0;
    for (size_t i = ix->timed.len; i > 0 && t[i - 1].t > q->since; i--) {
        new_spans++;
    }
    ml_jsonw_obj(w);
    ml_jsonw_ku64(w, "end_us", info.end_us);
    ml_jsonw_ku64(w, "bytes", info.bytes);
    ml_jsonw_kbool(w, "complete", info.complete);
    ml_jsonw_key(w, "threads");
    ml_jsonw_arr(w);
    for (size_t i = 0; i < ix->threads.len; i++) {
        const ix_thread *th = ix->threads.items[i];
        uint32_t len;
        const char *name = ix_string(ix, th->name, &len);
        ml_jsonw_obj(w);
        ml_jsonw_ku64(w, "id", i + 1);
        ml_jsonw_key(w, "name");
        ml_jsonw_strn(w, name, len);
        ml_jsonw_ku64(w, "first_us", th->first_us);
        ml_jsonw_ku64(w, "last_us", th->last_us);
        ml_jsonw_ku64(w, "samples", th->samples);
        ml_jsonw_ku64(w, "running", th->running);
        ml_jsonw_kbool(w, "ended", th->ended);
        ml_jsonw_obj_end(w);
    }
    ml_jsonw_arr_end(w);
    ml_jsonw_ku64(w, "logs", ix->logs.len);
    ml_jsonw_ku64(w, "new_logs", ix->logs.len - first_new);
    ml_jsonw_ku64(w, "spans", ix->timed.len);
    ml_jsonw_ku64(w, "new_spans", new_spans);
    ml_jsonw_ku64(w, "series", ix->series.len);
    ml_jsonw_ku64(w, "index_bytes", info.memory);
    ml_jsonw_obj_end(w);
    return ml_jsonw_error(w);
}

int
ml_view_names_file(ml_index *ix, const char *file, size_t len)
{
    ml_reader_stats st;
    ml_reader_get_stats(ix->r, &st);
    for (uint32_t f = 1; f <= st.frames; f++) {
        uint32_t name, fid, line, first, slen;
        if (ml_reader_frame(ix->r, f, &name, &fid, &line, &first) < 0) {
            continue;
        }
        const char *s = ix_string(ix, fid, &slen);
        if (slen == len && memcmp(s, file, len) == 0) {
            return 1;
        }
    }
    return 0;
}
