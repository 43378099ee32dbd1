// SPDX-License-Identifier: MIT
// Starting and stopping a recording (see ml_recorder.h).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ml_recorder.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"

struct ml_recorder {
    ml_sink sink;
    ml_sampler *sampler;
    ml_status *status;
    uint32_t cache_entries; /* read-only */
};

static void stop_threads(ml_recorder *r, ml_sampler_stats *stats);

int
ml_recorder_start(const ml_recorder_config *cfg, ml_recorder **out)
{
    ml_recorder *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return ML_ENOMEM;
    }
    uint32_t entries = cfg->cache_entries ? cfg->cache_entries : 65536;
    ml_sink_config kc = {
        .path = cfg->path,
        .roll_bytes = cfg->rollover_bytes,
        .roll_ns = cfg->rollover_ns,
        .max_defs = entries > (1u << 22) ? 1u << 26 : entries * 16,
    };
    int err = ml_sink_open(&r->sink, &kc);
    if (err < 0) {
        free(r);
        return err;
    }
    r->cache_entries = entries;
    ml_sampler_config sc = {cfg->interval_ns, cfg->fallback, entries,
                            cfg->main_ident};
    ml_status_config tc = {cfg->status_ns, cfg->memory_ns, cfg->main_ident};
    err = ml_sampler_start(&r->sink, &sc, &r->sampler);
    if (err == 0) {
        err = ml_status_start(&r->sink, r->sampler, &tc, &r->status);
    }
    if (err < 0) {
        /* Nothing worth keeping was recorded: leave no file behind. */
        ml_sampler_stats ignored;
        Py_BEGIN_ALLOW_THREADS stop_threads(r, &ignored);
        Py_END_ALLOW_THREADS ml_sink_discard(&r->sink);
        unlink(cfg->path);
        ml_status_free(r->status);
        ml_sampler_free(r->sampler);
        free(r);
        return err;
    }
    *out = r;
    return ML_OK;
}

static int
with_writer_meta(ml_recorder *r, const char *key, const ml_value *v)
{
    ml_sink_lock(&r->sink);
    int err = ml_sink_check(&r->sink, ml_sink_meta(&r->sink, key, v));
    ml_sink_unlock(&r->sink);
    return err;
}

int
ml_recorder_meta_str(ml_recorder *r, const char *key, const char *val)
{
    ml_value v = {.tag = ML_TAG_BYTES};
    size_t len = strlen(val);
    v.v.b.ptr = (const uint8_t *)val;
    v.v.b.len = (uint32_t)(len > ML_TEXT_MAX ? ML_TEXT_MAX : len);
    return with_writer_meta(r, key, &v);
}

int
ml_recorder_meta_uint(ml_recorder *r, const char *key, uint64_t val)
{
    ml_value v = {.tag = ML_TAG_UINT};
    v.v.u = val;
    return with_writer_meta(r, key, &v);
}

int
ml_recorder_flush(ml_recorder *r)
{
    ml_sink_lock(&r->sink);
    int err = ml_sink_check(&r->sink, ml_writer_flush(r->sink.writer));
    ml_sink_unlock(&r->sink);
    return err;
}

const char *
ml_recorder_mode(const ml_recorder *r)
{
    return r->sampler
               ? (ml_sampler_fallback(r->sampler) ? "fallback" : "native")
               : "none";
}

ml_sink *
ml_recorder_sink(ml_recorder *r)
{
    return &r->sink;
}

ml_sampler *
ml_recorder_sampler(ml_recorder *r)
{
    return r->sampler;
}

int
ml_recorder_hide_root_code(ml_recorder *r, uint64_t code)
{
    ml_sink_lock(&r->sink);
    int err = ml_sampler_hide_root_code(r->sampler, code);
    ml_sink_unlock(&r->sink);
    return err;
}

/* Joins both threads; the GIL must not be held (both may wait for it). */
static void
stop_threads(ml_recorder *r, ml_sampler_stats *stats)
{
    if (r->status != NULL) {
        ml_status_stop(r->status);
    }
    if (r->sampler != NULL) {
        ml_sampler_stop(r->sampler, stats);
    }
}

static void
fill_result(ml_recorder *r, const ml_sampler_stats *stats, uint64_t end_us,
            ml_recorder_result *res)
{
    memset(res, 0, sizeof *res);
    res->duration_us = end_us;
    res->ticks = stats->ticks;
    res->sampler_cpu_ns = stats->cpu_ns;
    res->mode = stats->mode ? stats->mode : "none";
    if (stats->ticks > 1) {
        res->achieved_interval_us =
            (double)stats->elapsed_ns / 1000.0 / (double)(stats->ticks - 1);
    }
    res->samples = ml_sink_samples(&r->sink);
    res->files = r->sink.gen + 1;
}

int
ml_recorder_stop(ml_recorder *r, int64_t exit_status, ml_recorder_result *res)
{
    ml_sampler_stats stats = {0};
    Py_BEGIN_ALLOW_THREADS stop_threads(r, &stats);
    Py_END_ALLOW_THREADS uint64_t end_us =
        ml_sink_time_us(&r->sink, ml_clock_mono_ns());
    fill_result(r, &stats, end_us, res);
    ml_writer *w = r->sink.writer;
    ml_sink_lock(&r->sink);
    ml_sink_check(&r->sink, ml_writer_meta_uint(
                                w, "achieved_interval_us",
                                (uint64_t)(res->achieved_interval_us + 0.5)));
    ml_sink_check(&r->sink,
                  ml_writer_meta_uint(w, "sampler_cpu_ns", stats.cpu_ns));
    ml_sink_check(&r->sink, ml_writer_end(w, end_us, exit_status));
    ml_sink_unlock(&r->sink);
    int err;
    Py_BEGIN_ALLOW_THREADS err = ml_sink_close(&r->sink, &res->bytes);
    Py_END_ALLOW_THREADS res->error = err;
    ml_status_free(r->status);
    ml_sampler_free(r->sampler);
    free(r);
    return err;
}

uint32_t
ml_recorder_cache_entries(const ml_recorder *r)
{
    return r->cache_entries;
}

void
ml_recorder_current_path(ml_recorder *r, char *buf, size_t size)
{
    ml_sink_lock(&r->sink);
    ml_sink_current_path(&r->sink, buf, size);
    ml_sink_unlock(&r->sink);
}

void
ml_recorder_stats_get(ml_recorder *r, ml_recorder_stats *out)
{
    memset(out, 0, sizeof *out);
    ml_sink_lock(&r->sink);
    out->samples = ml_sink_samples(&r->sink);
    out->files = r->sink.gen + 1;
    if (r->sink.writer != NULL) {
        ml_writer_size z;
        ml_writer_sizes(r->sink.writer, &z);
        out->defs = z.strings + z.frames + z.stacks;
        out->threads = z.threads;
    }
    ml_sampler_cache_sizes(r->sampler, &out->codes, &out->frames,
                           &out->evictions);
    ml_sampler_walk_stats(r->sampler, &out->walks_retried, &out->walks_failed);
    pthread_mutex_lock(&r->sink.out_lock);
    out->queued = r->sink.queued_bytes;
    pthread_mutex_unlock(&r->sink.out_lock);
    ml_sink_unlock(&r->sink);
}

int
ml_recorder_own_fds(ml_recorder *r, int *fds, int max)
{
    int n = 0;
    ml_sink_lock(&r->sink);
    n += ml_sampler_own_fds(r->sampler, fds, max);
    ml_sink_unlock(&r->sink);
    int more[2] = {ml_status_own_fd(r->status), ml_sink_own_fd(&r->sink)};
    for (int i = 0; i < 2; i++) {
        if (more[i] >= 0 && n < max) {
            fds[n++] = more[i];
        }
    }
    return n;
}

void
ml_recorder_set_file_listener(ml_file_listener_fn fn, void *ctx)
{
    ml_sink_set_file_listener(fn, ctx);
}

void
ml_recorder_terminate(ml_recorder *r, int64_t exit_status)
{
    ml_sink_lock(&r->sink);
    if (!r->sink.failed) {
        uint64_t end_us = ml_sink_time_us(&r->sink, ml_clock_mono_ns());
        ml_sink_check(&r->sink,
                      ml_writer_end(r->sink.writer, end_us, exit_status));
    }
    ml_sink_seal(&r->sink);
    ml_sink_unlock(&r->sink);
    ml_sink_drain(&r->sink);
}

void
ml_recorder_before_fork(ml_recorder *r)
{
    ml_sink_lock(&r->sink);
}

void
ml_recorder_after_fork_parent(ml_recorder *r)
{
    ml_sink_unlock(&r->sink);
}

void
ml_recorder_abandon(ml_recorder *r)
{
    /* The threads do not exist in the child; their memory is left as it
     * is, since their locks may be held by threads that are gone. */
    ml_sink_abandon(&r->sink);
    ml_sampler_forget_fork(r->sampler);
    ml_status_forget_fork(r->status);
}
