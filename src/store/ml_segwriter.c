// SPDX-License-Identifier: MIT
// Windows of uploads written as segments (see ml_segwriter.h).
#include "ml_segwriter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "core/ml_uuid.h"
#include "store/ml_segment.h"

typedef struct {
    ml_segwriter_done_fn done;
    void *ctx;
    size_t run; /* index into the window's runs */
} waiter;

typedef struct {
    uint8_t id[16];
    char run_id[ML_UUID_TEXT];
    char *name, *label, *host;
    int64_t start_unix_us, end_size;
} window_run;

/* Everything received in one window. */
typedef struct {
    ml_segment seg;
    window_run *runs;
    size_t nruns, runs_cap;
    ml_catalog_piece *pieces;
    size_t npieces, pieces_cap;
    uint64_t chunks;
    waiter *waiters;
    size_t nwaiters, waiters_cap;
    uint64_t opened_us; /* when the first request arrived */
} window;

struct ml_segwriter {
    ml_segwriter_options o;
    char *bucket, *prefix, *server_id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int stopping;
    int closed; /* drained: new uploads are refused */
    int busy;   /* the thread is storing a window */
    pthread_cond_t idle;
    window *cur;
    uint64_t seq;
    ml_segwriter_stats stats;
};

static void *
grow(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return arr;
    }
    size_t cap2 = *cap ? *cap * 2 : 16;
    while (cap2 < need) {
        cap2 *= 2;
    }
    void *p = realloc(arr, cap2 * size);
    if (p != NULL) {
        *cap = cap2;
    }
    return p;
}

static window *
window_new(size_t max)
{
    window *win = calloc(1, sizeof *win);
    if (win != NULL) {
        ml_segment_init(&win->seg, max);
    }
    return win;
}

static void
window_free(window *win)
{
    if (win == NULL) {
        return;
    }
    for (size_t i = 0; i < win->nruns; i++) {
        free(win->runs[i].name);
        free(win->runs[i].label);
        free(win->runs[i].host);
    }
    free(win->runs);
    free(win->pieces);
    free(win->waiters);
    ml_segment_free(&win->seg);
    free(win);
}

static char *
dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* The window's entry for the upload's run, added when new: its index, or
 * (size_t)-1 when out of memory. */
static size_t
window_run_of(window *win, const uint8_t id[16], const ml_upload *u)
{
    for (size_t i = 0; i < win->nruns; i++) {
        if (memcmp(win->runs[i].id, id, 16) == 0) {
            if (u->end_size >= 0) {
                win->runs[i].end_size = u->end_size;
            }
            return i;
        }
    }
    window_run *runs =
        grow(win->runs, &win->runs_cap, win->nruns + 1, sizeof *runs);
    if (runs == NULL) {
        return (size_t)-1;
    }
    win->runs = runs;
    window_run *r = &runs[win->nruns];
    memcpy(r->id, id, 16);
    ml_uuid_format(id, r->run_id);
    r->name = dup_or_empty(u->name);
    r->label = dup_or_empty(u->label);
    r->host = dup_or_empty(u->host);
    r->start_unix_us = u->start_unix_us;
    r->end_size = u->end_size;
    if (!r->name || !r->label || !r->host) {
        free(r->name);
        free(r->label);
        free(r->host);
        return (size_t)-1;
    }
    return win->nruns++;
}

/* 1 when the window already holds a piece of run at off (a client's retry
 * arriving twice within one window). */
static int
window_has_piece(const window *win, size_t run, uint64_t off)
{
    for (size_t i = 0; i < win->npieces; i++) {
        if (win->pieces[i].run == run && win->pieces[i].off == off) {
            return 1;
        }
    }
    return 0;
}

static int
window_add(window *win, const uint8_t id[16], const ml_upload *u,
           ml_segwriter_done_fn done, void *ctx)
{
    waiter *ws =
        grow(win->waiters, &win->waiters_cap, win->nwaiters + 1, sizeof *ws);
    ml_catalog_piece *ps =
        grow(win->pieces, &win->pieces_cap, win->npieces + 1, sizeof *ps);
    if (ws) {
        win->waiters = ws;
    }
    if (ps) {
        win->pieces = ps;
    }
    if (!ws || !ps) {
        return ML_ENOMEM;
    }
    size_t run = window_run_of(win, id, u);
    if (run == (size_t)-1) {
        return ML_ENOMEM;
    }
    if (u->len > 0 && !window_has_piece(win, run, u->off)) {
        uint64_t seg_off;
        int rc =
            ml_segment_add(&win->seg, id, u->off, u->data, u->len, &seg_off);
        if (rc != ML_OK) {
            return rc;
        }
        win->pieces[win->npieces++] = (ml_catalog_piece){
            .run = run, .off = u->off, .len = u->len, .seg_off = seg_off};
        win->chunks += u->chunks;
    }
    win->waiters[win->nwaiters++] =
        (waiter){.done = done, .ctx = ctx, .run = run};
    return ML_OK;
}

int
ml_segwriter_submit(ml_segwriter *w, const ml_upload *u,
                    ml_segwriter_done_fn done, void *ctx)
{
    uint8_t id[16];
    if (ml_uuid_parse(u->run_id, id) != ML_OK) {
        return ML_EINVAL;
    }
    pthread_mutex_lock(&w->mu);
    int rc = w->closed ? ML_ELIMIT : ML_OK;
    if (rc == ML_OK && w->cur == NULL) {
        w->cur = window_new(w->o.max_segment);
        rc = w->cur ? ML_OK : ML_ENOMEM;
    }
    if (rc == ML_OK) {
        if (w->cur->nwaiters == 0) {
            w->cur->opened_us = (ml_clock_mono_ns() / 1000u);
        }
        rc = window_add(w->cur, id, u, done, ctx);
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* ---- storing a window ---------------------------------------------------
 */

static void
segment_key(ml_segwriter *w, uint64_t seq, char *out, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(out, n, "%s%sseg/%04d/%02d/%02d/%02d/%s-%llu-%llu.mseg",
             w->prefix, w->prefix[0] ? "/" : "", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, w->server_id,
             (unsigned long long)(ml_clock_wall_ns() / 1000u),
             (unsigned long long)seq);
}

/* Waits before try number attempt (1, 2, ...): 100 ms doubling to 2 s. */
static void
backoff(unsigned attempt)
{
    unsigned ms = 100u << (attempt < 5 ? attempt - 1 : 4);
    usleep((ms > 2000 ? 2000 : ms) * 1000u);
}

static int
put_segment(ml_segwriter *w, window *win, const char *key, uint64_t deadline,
            char *why, size_t n)
{
    for (unsigned attempt = 1;; attempt++) {
        int rc = ml_s3_put(w->o.s3, w->bucket, key, win->seg.data.data,
                           win->seg.data.len, 1, why, n);
        /* EXISTS: an earlier try was stored and its answer lost. */
        if (rc == ML_OK || rc == ML_S3_EXISTS) {
            return ML_OK;
        }
        if ((ml_clock_mono_ns() / 1000u) >= deadline) {
            return rc < 0 ? rc : ML_EIO;
        }
        __atomic_add_fetch(&w->stats.retries, 1, __ATOMIC_RELAXED);
        backoff(attempt);
    }
}

static int
commit_window(ml_segwriter *w, window *win, const char *key, uint64_t *durable,
              uint64_t deadline, char *why, size_t n)
{
    ml_catalog_run *runs = calloc(win->nruns ? win->nruns : 1, sizeof *runs);
    if (runs == NULL) {
        snprintf(why, n, "out of memory");
        return ML_ENOMEM;
    }
    for (size_t i = 0; i < win->nruns; i++) {
        const window_run *r = &win->runs[i];
        runs[i] = (ml_catalog_run){.run_id = r->run_id,
                                   .name = r->name,
                                   .label = r->label,
                                   .host = r->host,
                                   .start_unix_us = r->start_unix_us,
                                   .end_size = r->end_size};
    }
    int rc;
    for (unsigned attempt = 1;; attempt++) {
        rc = ml_catalog_commit(w->o.catalog, win->npieces ? key : NULL,
                               win->seg.data.len, runs, win->nruns,
                               win->pieces, win->npieces, durable, why, n);
        if (rc == ML_OK || (ml_clock_mono_ns() / 1000u) >= deadline) {
            break;
        }
        __atomic_add_fetch(&w->stats.retries, 1, __ATOMIC_RELAXED);
        backoff(attempt);
    }
    free(runs);
    return rc;
}

static void
answer_all(ml_segwriter *w, window *win, int rc, const uint64_t *durable,
           const char *why)
{
    for (size_t i = 0; i < win->nwaiters; i++) {
        const waiter *x = &win->waiters[i];
        x->done(x->ctx, rc, rc == ML_OK ? durable[x->run] : 0, why);
    }
    __atomic_add_fetch(rc == ML_OK ? &w->stats.requests : &w->stats.failed,
                       win->nwaiters, __ATOMIC_RELAXED);
}

static void
store_window(ml_segwriter *w, window *win)
{
    char key[1024], why[512] = "";
    uint64_t deadline =
        (ml_clock_mono_ns() / 1000u) + (uint64_t)w->o.give_up_ms * 1000u;
    uint64_t *durable = calloc(win->nruns ? win->nruns : 1, sizeof *durable);
    int rc = durable ? ML_OK : ML_ENOMEM;
    segment_key(w, w->seq++, key, sizeof key);
    if (rc == ML_OK && win->npieces > 0) {
        rc = ml_segment_finish(&win->seg);
        rc = rc ? rc : put_segment(w, win, key, deadline, why, sizeof why);
        if (rc == ML_OK) {
            __atomic_add_fetch(&w->stats.segments, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&w->stats.pieces, win->npieces,
                               __ATOMIC_RELAXED);
            __atomic_add_fetch(&w->stats.chunks, win->chunks,
                               __ATOMIC_RELAXED);
            __atomic_add_fetch(&w->stats.bytes, win->seg.data.len,
                               __ATOMIC_RELAXED);
        }
    }
    if (rc == ML_OK) {
        rc = commit_window(w, win, key, durable, deadline, why, sizeof why);
    }
    if (rc != ML_OK && !why[0]) {
        snprintf(why, sizeof why, "%s", ml_strerror(rc));
    }
    answer_all(w, win, rc, durable, why);
    free(durable);
}

/* The next window to store, once it is old or full enough; NULL when
 * stopping with nothing left. */
static window *
next_window(ml_segwriter *w)
{
    pthread_mutex_lock(&w->mu);
    for (;;) {
        window *win = w->cur;
        if (win != NULL && win->nwaiters > 0) {
            uint64_t age = (ml_clock_mono_ns() / 1000u) - win->opened_us;
            int full = win->seg.data.len * 2 > w->o.max_segment;
            if (w->stopping || w->closed || full
                || age >= w->o.window_ms * 1000ull) {
                w->cur = NULL;
                w->busy = 1;
                pthread_mutex_unlock(&w->mu);
                return win;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t left = w->o.window_ms * 1000ull - age;
            ts.tv_sec += (time_t)(left / 1000000u);
            ts.tv_nsec += (long)(left % 1000000u) * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        } else if (w->stopping) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        } else {
            pthread_cond_broadcast(&w->idle);
            pthread_cond_wait(&w->cv, &w->mu);
        }
    }
}

static void *
writer_main(void *arg)
{
    ml_segwriter *w = arg;
    window *win;
    while ((win = next_window(w)) != NULL) {
        store_window(w, win);
        window_free(win);
        pthread_mutex_lock(&w->mu);
        w->busy = 0;
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

int
ml_segwriter_new(const ml_segwriter_options *o, ml_segwriter **out)
{
    *out = NULL;
    ml_segwriter *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return ML_ENOMEM;
    }
    w->o = *o;
    w->o.window_ms = o->window_ms ? o->window_ms : 1000;
    w->o.max_segment = o->max_segment ? o->max_segment : (64u << 20);
    w->o.give_up_ms = o->give_up_ms ? o->give_up_ms : 15000;
    w->bucket = strdup(o->bucket);
    w->prefix = strdup(o->prefix ? o->prefix : "");
    w->server_id = strdup(o->server_id ? o->server_id : "server");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->idle, NULL);
    if (!w->bucket || !w->prefix || !w->server_id
        || pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        free(w->bucket);
        free(w->prefix);
        free(w->server_id);
        free(w);
        return ML_ENOMEM;
    }
    *out = w;
    return ML_OK;
}

void
ml_segwriter_free(ml_segwriter *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    window_free(w->cur);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->idle);
    free(w->bucket);
    free(w->prefix);
    free(w->server_id);
    free(w);
}

void
ml_segwriter_drain(ml_segwriter *w)
{
    pthread_mutex_lock(&w->mu);
    w->closed = 1;
    pthread_cond_signal(&w->cv);
    while (w->busy || (w->cur != NULL && w->cur->nwaiters > 0)) {
        pthread_cond_wait(&w->idle, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
}

void
ml_segwriter_get_stats(ml_segwriter *w, ml_segwriter_stats *out)
{
    out->segments = __atomic_load_n(&w->stats.segments, __ATOMIC_RELAXED);
    out->pieces = __atomic_load_n(&w->stats.pieces, __ATOMIC_RELAXED);
    out->chunks = __atomic_load_n(&w->stats.chunks, __ATOMIC_RELAXED);
    out->bytes = __atomic_load_n(&w->stats.bytes, __ATOMIC_RELAXED);
    out->requests = __atomic_load_n(&w->stats.requests, __ATOMIC_RELAXED);
    out->failed = __atomic_load_n(&w->stats.failed, __ATOMIC_RELAXED);
    out->retries = __atomic_load_n(&w->stats.retries, __ATOMIC_RELAXED);
}
