// SPDX-License-Identifier: MIT
// The export driver (ml_export.h) and what the exporters share
// (ml_export_int.h): the scan pass, the record loop that turns damage into
// a note, sample clipping, stacks resolved to functions.
#define _GNU_SOURCE
#include "ml_export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "ml_export_int.h"

static const char *const format_names[ML_EXPORT_NFORMATS] = {
    "collapsed", "speedscope", "pprof", "chrome", "json", "csv"};

int
ml_export_format_parse(const char *name)
{
    for (int i = 0; i < ML_EXPORT_NFORMATS; i++) {
        if (name != NULL && strcmp(name, format_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *
ml_export_format_name(int format)
{
    return format >= 0 && format < ML_EXPORT_NFORMATS ? format_names[format]
                                                      : "";
}

void
ml_export_options_init(ml_export_options *o)
{
    *o = (ml_export_options){0};
    o->to = UINT64_MAX;
}

/* ---- states ----------------------------------------------------------- */

int
xstate_of(uint8_t state)
{
    if (state & ML_STATE_RUNNING) {
        return XS_RUNNING;
    }
    if (state & ML_STATE_WANTS_GIL) {
        return XS_GIL_WAIT;
    }
    if (state & ML_STATE_UNKNOWN) {
        return XS_UNKNOWN;
    }
    return XS_WAITING;
}

const char *
xstate_name(int cls)
{
    static const char *const names[XS_COUNT] = {"running", "gil_wait",
                                                "unknown", "waiting"};
    return cls >= 0 && cls < XS_COUNT ? names[cls] : "";
}

/* ---- output ----------------------------------------------------------- */

void
xrun_write(xrun *x, const void *p, size_t n)
{
    if (n > 0 && !x->write_err && fwrite(p, 1, n, x->out) != n) {
        x->write_err = 1;
    }
}

void
xrun_flush(xrun *x, ml_jsonw *w)
{
    xrun_write(x, w->out.data, w->out.len);
    ml_buf_reset(&w->out);
}

/* ---- threads ---------------------------------------------------------- */

static int
note_thread(xrun *x, const ml_record *rec)
{
    uint32_t id = rec->u.thread.id;
    if (id > x->nthreads) {
        xthread *t = realloc(x->threads, (size_t)id * sizeof *t);
        if (t == NULL) {
            return ML_ENOMEM;
        }
        memset(t + x->nthreads, 0, (id - x->nthreads) * sizeof *t);
        for (size_t i = x->nthreads; i < id; i++) {
            t[i].id = (uint32_t)i + 1;
        }
        x->threads = t;
        x->nthreads = id;
    }
    xthread *t = &x->threads[id - 1];
    t->native_id = rec->u.thread.native_id;
    ml_bytes b;
    if (rec->u.thread.name != 0
        && ml_reader_string(x->r, rec->u.thread.name, &b) == 0) {
        char *name = strndup((const char *)b.ptr, b.len);
        if (name == NULL) {
            return ML_ENOMEM;
        }
        free(t->name);
        t->name = name;
    }
    return 0;
}

int
xrun_thread_wanted(const xrun *x, uint32_t thread)
{
    return x->want == 0 || x->want == thread;
}

const char *
xrun_thread_name(const xrun *x, uint32_t thread)
{
    if (thread == 0 || thread > x->nthreads) {
        return "";
    }
    const char *n = x->threads[thread - 1].name;
    return n != NULL ? n : "";
}

/* ---- the record loop -------------------------------------------------- */

static void
note_loss(xrun *x, int err)
{
    ml_export_result *res = x->res;
    ml_reader_stats st;
    ml_reader_get_stats(x->r, &st);
    uint64_t at = ml_reader_error_offset(x->r);
    if (at == 0 || at > st.file_bytes) {
        at = st.bytes_read;
    }
    res->lost = 1;
    res->truncated = err == ML_ETRUNC;
    res->lost_at = at;
    res->lost_bytes = st.file_bytes > at ? st.file_bytes - at : 0;
    if (err == ML_ETRUNC) {
        snprintf(res->message, sizeof res->message,
                 "the recording ends inside a chunk at byte %" PRIu64
                 " (the process was probably killed): the last %" PRIu64
                 " bytes were not exported",
                 at, res->lost_bytes);
    } else {
        snprintf(res->message, sizeof res->message,
                 "damaged at byte %" PRIu64 " (%s): the %" PRIu64
                 " bytes from there on were not exported",
                 at, ml_reader_message(x->r), res->lost_bytes);
    }
}

int
xrun_next(xrun *x, ml_record *rec)
{
    int rc = ml_reader_next(x->r, rec);
    if (rc == ML_ENOMEM) {
        return rc;
    }
    if (rc < 0) {
        note_loss(x, rc);
        return 0;
    }
    if (rc > 0 && rec->kind == ML_KIND_THREAD) {
        int err = note_thread(x, rec);
        if (err < 0) {
            return err;
        }
    }
    return rc;
}

int
xrun_rewind(xrun *x)
{
    ml_reader_free(x->r);
    x->r = NULL;
    /* Function indexes depend on string ids, which are the same in every
     * pass over the same file: the table is kept. */
    return ml_reader_open(x->path, &x->r);
}

/* ---- samples ---------------------------------------------------------- */

int
xrun_samples(const xrun *x, const ml_record *rec, xsamples *out)
{
    if (rec->kind != ML_KIND_SAMPLES || rec->u.samples.thread == 0
        || !xrun_thread_wanted(x, rec->u.samples.thread)) {
        return 0;
    }
    uint32_t count = rec->u.samples.count;
    uint64_t t = rec->time_us;
    double st = count > 1 ? (double)rec->u.samples.span_us / (count - 1) : 0;
    uint32_t lo = 0, hi = count; /* samples [lo, hi) are inside */
    if (x->o->from > t) {
        if (st <= 0) {
            return 0;
        }
        double k = ((double)(x->o->from - t)) / st;
        lo = k >= count ? count : (uint32_t)k;
        while (lo < count && t + (uint64_t)(lo * st) < x->o->from) {
            lo++;
        }
    }
    if (x->o->to != UINT64_MAX) {
        while (hi > lo && t + (uint64_t)((hi - 1) * st) >= x->o->to) {
            hi--;
        }
    }
    if (hi <= lo) {
        return 0;
    }
    out->t0 = t + (uint64_t)(lo * st);
    out->step = st;
    out->n = hi - lo;
    return 1;
}

/* ---- functions -------------------------------------------------------- */

typedef struct {
    const xrun *x;
    uint32_t name, file, line;
} func_key;

static int
func_eq(const void *ctx, uint32_t v)
{
    const func_key *k = ctx;
    const xfunc *f = &k->x->funcs[v - 1];
    return f->name_id == k->name && f->file_id == k->file
           && f->line == k->line;
}

static char *
dup_string(const ml_reader *r, uint32_t id)
{
    ml_bytes b = {(const uint8_t *)"", 0};
    if (id != 0) {
        ml_reader_string(r, id, &b);
    }
    return strndup((const char *)b.ptr, b.len);
}

int64_t
xrun_frame_func(xrun *x, uint32_t frame)
{
    if (frame < x->nframe_func && x->frame_func[frame] != 0) {
        return x->frame_func[frame];
    }
    uint32_t name, file, line, first;
    if (ml_reader_frame(x->r, frame, &name, &file, &line, &first) < 0) {
        return 0;
    }
    if (frame >= x->nframe_func) {
        uint32_t cap = x->nframe_func ? x->nframe_func : 256;
        while (cap <= frame) {
            cap *= 2;
        }
        uint32_t *m = realloc(x->frame_func, (size_t)cap * sizeof *m);
        if (m == NULL) {
            return ML_ENOMEM;
        }
        memset(m + x->nframe_func, 0,
               (size_t)(cap - x->nframe_func) * sizeof *m);
        x->frame_func = m;
        x->nframe_func = cap;
    }
    func_key k = {x, name, file, first};
    uint64_t h = ml_hash_mix(ml_hash_mix(ml_hash_mix(7, name), file), first);
    uint32_t v = ml_map_find(&x->fmap, h, func_eq, &k);
    if (v == 0) {
        if (x->nfuncs == x->capfuncs) {
            uint32_t cap = x->capfuncs ? 2 * x->capfuncs : 256;
            xfunc *f = realloc(x->funcs, (size_t)cap * sizeof *f);
            if (f == NULL) {
                return ML_ENOMEM;
            }
            x->funcs = f;
            x->capfuncs = cap;
        }
        xfunc *f = &x->funcs[x->nfuncs];
        f->name = dup_string(x->r, name);
        f->file = dup_string(x->r, file);
        f->line = first;
        f->name_id = name;
        f->file_id = file;
        if (f->name == NULL || f->file == NULL) {
            free(f->name);
            free(f->file);
            return ML_ENOMEM;
        }
        v = ++x->nfuncs;
        if (ml_map_insert(&x->fmap, h, v) < 0) {
            return ML_ENOMEM;
        }
    }
    x->frame_func[frame] = v;
    return v;
}

int
xrun_path(xrun *x, uint32_t stack, uint32_t *funcs, uint32_t *lines,
          uint32_t *frames)
{
    uint32_t tmp_f[XMAX_DEPTH];
    uint32_t n = 0, id = stack;
    while (id != 0 && n < XMAX_DEPTH) {
        uint32_t parent, frame;
        if (ml_reader_stack(x->r, id, &parent, &frame) < 0) {
            break;
        }
        tmp_f[n++] = frame;
        id = parent;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t frame = tmp_f[n - 1 - i];
        int64_t f = xrun_frame_func(x, frame);
        if (f < 0) {
            return (int)f;
        }
        if (funcs != NULL) {
            funcs[i] = f > 0 ? (uint32_t)f - 1 : 0;
        }
        if (frames != NULL) {
            frames[i] = frame;
        }
        if (lines != NULL) {
            uint32_t name, file, line = 0, first;
            ml_reader_frame(x->r, frame, &name, &file, &line, &first);
            lines[i] = line;
        }
    }
    return (int)n;
}

/* ---- the scan --------------------------------------------------------- */

static int
scan(xrun *x)
{
    ml_record rec;
    int rc;
    uint64_t spans = 0, gaps = 0, achieved = 0, requested = 0;
    while ((rc = ml_reader_next(x->r, &rec)) > 0) {
        switch (rec.kind) {
        case ML_KIND_THREAD:
            if ((rc = note_thread(x, &rec)) < 0) {
                return rc;
            }
            break;
        case ML_KIND_SAMPLES: {
            uint32_t id = rec.u.samples.thread;
            if (id == 0 || id > x->nthreads) {
                break;
            }
            xthread *t = &x->threads[id - 1];
            uint64_t last = rec.time_us + rec.u.samples.span_us;
            if (t->samples == 0) {
                t->first_us = rec.time_us;
            } else if (rec.time_us >= t->last_us) {
                spans += rec.time_us - t->last_us;
                gaps++;
            }
            spans += rec.u.samples.span_us;
            gaps += rec.u.samples.count - 1;
            t->samples += rec.u.samples.count;
            t->last_us = last > t->last_us ? last : t->last_us;
            break;
        }
        case ML_KIND_META: {
            const ml_bytes *k = &rec.u.meta.key;
            const ml_value *v = &rec.u.meta.value;
            int is_uint = v->tag == ML_TAG_UINT;
            if (k->len == 13 && memcmp(k->ptr, "start_unix_ns", 13) == 0
                && is_uint) {
                x->start_unix_ns = v->v.u;
            } else if (k->len == 3 && memcmp(k->ptr, "pid", 3) == 0
                       && is_uint) {
                x->pid = (int64_t)v->v.u;
            } else if (k->len == 20
                       && memcmp(k->ptr, "achieved_interval_us", 20) == 0
                       && is_uint) {
                achieved = v->v.u;
            } else if (k->len == 11 && memcmp(k->ptr, "interval_us", 11) == 0
                       && is_uint) {
                requested = v->v.u;
            } else if (k->len == 5 && memcmp(k->ptr, "label", 5) == 0
                       && v->tag == ML_TAG_BYTES) {
                free(x->label);
                x->label = strndup((const char *)v->v.b.ptr, v->v.b.len);
                if (x->label == NULL) {
                    return ML_ENOMEM;
                }
            }
            break;
        }
        case ML_KIND_END:
            x->complete = 1;
            x->exit_status = rec.u.end.exit_status;
            break;
        default:
            break;
        }
        if (rec.time_us > x->end_us && rec.kind != ML_KIND_META
            && rec.kind != ML_KIND_STRING && rec.kind != ML_KIND_FRAME
            && rec.kind != ML_KIND_STACK && rec.kind != ML_KIND_SERIES
            && rec.kind != ML_KIND_REPORT) {
            x->end_us = rec.time_us;
        }
        if (rec.kind == ML_KIND_SAMPLES) {
            uint64_t e = rec.time_us + rec.u.samples.span_us;
            x->end_us = e > x->end_us ? e : x->end_us;
        }
    }
    if (rc == ML_ENOMEM) {
        return rc;
    }
    x->interval_us = gaps > 0 ? (double)spans / (double)gaps : 0;
    if (achieved > 0) {
        x->interval_us = (double)achieved;
    } else if (x->interval_us <= 0) {
        x->interval_us = requested > 0 ? (double)requested : 1000.0;
    }
    return rc < 0 ? rc : 0;
}

/* Finds o->thread among the threads: by id, else by name. */
static int
choose_thread(xrun *x, char *why, size_t why_len)
{
    const char *want = x->o->thread;
    if (want == NULL) {
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long id = strtoul(want, &end, 10);
    if (errno == 0 && end != want && *end == '\0' && id >= 1
        && id <= x->nthreads) {
        x->want = (uint32_t)id;
        return 0;
    }
    for (size_t i = 0; i < x->nthreads; i++) {
        if (x->threads[i].name != NULL
            && strcmp(x->threads[i].name, want) == 0) {
            x->want = x->threads[i].id;
            return 0;
        }
    }
    size_t n = (size_t)snprintf(why, why_len,
                                "no thread '%s' in this run (threads:", want);
    for (size_t i = 0; i < x->nthreads && n < why_len; i++) {
        n += (size_t)snprintf(why + n, why_len - n, "%s %u %s", i ? "," : "",
                              x->threads[i].id,
                              x->threads[i].name ? x->threads[i].name : "");
    }
    if (n < why_len) {
        snprintf(why + n, why_len - n, ")");
    }
    return ML_EINVAL;
}

static int
check_range(const xrun *x, char *why, size_t why_len)
{
    const ml_export_options *o = x->o;
    if (o->to != UINT64_MAX && o->to <= o->from) {
        snprintf(why, why_len,
                 "the range is empty: --from %.6g s is not before --to "
                 "%.6g s",
                 (double)o->from / 1e6, (double)o->to / 1e6);
        return ML_EINVAL;
    }
    if (o->from > x->end_us) {
        snprintf(why, why_len, "--from %.6g s is after the run's end (%.6g s)",
                 (double)o->from / 1e6, (double)x->end_us / 1e6);
        return ML_EINVAL;
    }
    return 0;
}

typedef int (*exporter)(xrun *);

static const exporter exporters[ML_EXPORT_NFORMATS] = {
    ml_export_collapsed, ml_export_speedscope, ml_export_pprof,
    ml_export_chrome,    ml_export_json,       ml_export_csv};

static void
xrun_free(xrun *x)
{
    for (size_t i = 0; i < x->nthreads; i++) {
        free(x->threads[i].name);
    }
    free(x->threads);
    for (uint32_t i = 0; i < x->nfuncs; i++) {
        free(x->funcs[i].name);
        free(x->funcs[i].file);
    }
    free(x->funcs);
    free(x->frame_func);
    ml_map_free(&x->fmap);
    free(x->label);
    ml_reader_free(x->r);
}

int
ml_export_run(const char *path, const ml_export_options *o, FILE *out,
              ml_export_result *res, char *why, size_t why_len)
{
    *res = (ml_export_result){0};
    why[0] = '\0';
    if (o->format < 0 || o->format >= ML_EXPORT_NFORMATS) {
        snprintf(why, why_len, "unknown format");
        return ML_EINVAL;
    }
    xrun x = {0};
    x.path = path;
    x.o = o;
    x.res = res;
    x.out = out;
    ml_map_init(&x.fmap);
    int err = ml_reader_open(path, &x.r);
    if (err < 0) {
        snprintf(why, why_len, "%s",
                 err == ML_EIO && x.r == NULL ? strerror(errno)
                 : x.r != NULL && ml_reader_message(x.r)[0]
                     ? ml_reader_message(x.r)
                     : ml_strerror(err));
        goto done;
    }
    err = scan(&x);
    if (err == ML_ENOMEM) {
        goto done;
    }
    err = choose_thread(&x, why, why_len);
    if (err == 0) {
        err = check_range(&x, why, why_len);
    }
    if (err == 0) {
        err = xrun_rewind(&x);
    }
    if (err == 0) {
        err = exporters[o->format](&x);
    }
    if (err == 0 && (x.write_err || fflush(out) != 0 || ferror(out))) {
        snprintf(why, why_len, "cannot write the output: %s", strerror(errno));
        err = ML_EIO;
    }
done:
    xrun_free(&x);
    return err;
}
