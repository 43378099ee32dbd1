// SPDX-License-Identifier: MIT
// ml_gen: writes a synthetic recording with the writer API, for tests and
// the demo. Every count below is exact, so tests can assert them.
//
//   ml_gen OUT [--threads N] [--seconds S] [--rate HZ] [--seed N]
//              [--split P] [--truncate-last]
//
// Defaults: N=4, S=2, HZ=1000, seed 1, P=70. Let I = 1000000 / HZ (integer
// microseconds, HZ <= 1000000), K = round(S * HZ) samples per thread, and
// E = max(1, HZ / 10) (a 10 Hz event step). Sample k (0 <= k < K) of every
// thread is at time k * I, so the achieved interval is exactly I.
//  - Thread 1 "MainThread": K samples, all running. H = floor(K * P / 100)
//    of them have leaf `hot` (work.py, first line 10), the other K - H leaf
//    `cold` (work.py, first line 20), both under `main` (app.py, line 1);
//    every other cold sample is main > cold > cold (recursion), so
//    self(cold) = total(cold) = K - H, self(hot) = total(hot) = H,
//    total(main) = K, self(main) = 0. The seed only shuffles the order.
//  - Threads 2..N "worker-1".."worker-(N-1)": K samples each; sample k runs
//    iff (k / 50) % 2 == 0, so running = (K / 100) * 50 + min(K % 100, 50);
//    running leaf `compute` (pool.py, line 30) under `worker_loop` (pool.py,
//    line 5); waiting leaf `wait` (threading.py, line 300).
//  - Status: series "cpu" (%) and "rss" (bytes) get a value at every k with
//    k % E == 0: 2 * ceil(K / E) status records.
//  - Logs at the same times, from thread 1: ceil(K / E) records, the j-th
//    (from 0) at WARNING (30) when j % 5 == 4, else INFO (20); so
//    floor(ceil(K / E) / 5) warnings.
//  - Metric "requests" and a span of `handle` at every k % (10 E) == 0:
//    ceil(K / (10 E)) metric records and as many span records.
//  - META: label "gen", argv "ml_gen OUT ...", python "3.11.7", pid, host
//    "synthetic-host", start_unix_ns 1700000000000000000, sampler
//    "synthetic", interval_us I. One report, then END at time K * I with
//    exit status 0: duration K * I microseconds.
// The writer is flushed at every simulated second and before the report, so
// the recording has several chunks. --truncate-last cuts the file in the
// middle of its last chunk, which then holds only the report and END: the
// reader sees every sample, log and value, no report, no END, and a
// duration of (K - 1) * I (the last sample).
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_error.h"
#include "format/ml_writer.h"

typedef struct {
    const char *out;
    uint32_t threads;
    double seconds;
    uint32_t rate;
    uint64_t seed;
    uint32_t split;
    int truncate_last;
} options;

typedef struct {
    uint32_t main_hot, main_cold, main_cold2; /* thread 1 stacks */
    uint32_t compute, wait, handle_name, handle_file;
    uint32_t cpu, rss, requests;
} ids;

typedef struct {
    ml_writer *w;
    const options *o;
    ids id;
    uint32_t *threads;
    uint64_t interval, samples, step, rng;
    uint64_t hot_left, cold_left, cold_seen, logs;
} gen;

/* ---- setup ------------------------------------------------------------ */

static int
usage(void)
{
    fprintf(stderr, "usage: ml_gen OUT [--threads N] [--seconds S] "
                    "[--rate HZ] [--seed N] [--split P] "
                    "[--truncate-last]\n");
    return 2;
}

static int
parse_args(int argc, char **argv, options *o)
{
    *o = (options){NULL, 4, 2.0, 1000, 1, 70, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--truncate-last") == 0) {
            o->truncate_last = 1;
            continue;
        }
        if (a[0] != '-') {
            if (o->out != NULL) {
                return -1;
            }
            o->out = a;
            continue;
        }
        if (v == NULL) {
            return -1;
        }
        i++;
        if (strcmp(a, "--threads") == 0) {
            o->threads = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = strtod(v, NULL);
        } else if (strcmp(a, "--rate") == 0) {
            o->rate = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--split") == 0) {
            o->split = (uint32_t)strtoul(v, NULL, 10);
        } else {
            return -1;
        }
    }
    if (o->out == NULL || o->threads < 1 || o->threads > 1000 || o->rate < 1
        || o->rate > 1000000 || o->split > 100
        || !(o->seconds > 0 && o->seconds < 1e6)) {
        return -1;
    }
    return 0;
}

static int
str(ml_writer *w, const char *s, uint32_t *id)
{
    return ml_writer_string(w, s, strlen(s), id);
}

/* Interns a function frame and pushes it on parent: the new stack node. */
static int
push(ml_writer *w, uint32_t parent, const char *name, const char *file,
     uint32_t line, uint32_t *stack)
{
    uint32_t n, f, frame;
    int err;
    if ((err = str(w, name, &n)) < 0 || (err = str(w, file, &f)) < 0
        || (err = ml_writer_frame(w, n, f, line + 2, line, &frame)) < 0) {
        return err;
    }
    return ml_writer_stack(w, parent, frame, stack);
}

static int
define_stacks(gen *g)
{
    ml_writer *w = g->w;
    uint32_t main, cold, loop;
    int err;
    if ((err = push(w, 0, "main", "app.py", 1, &main)) < 0
        || (err = push(w, main, "hot", "work.py", 10, &g->id.main_hot)) < 0
        || (err = push(w, main, "cold", "work.py", 20, &cold)) < 0
        || (err = push(w, cold, "cold", "work.py", 20, &g->id.main_cold2)) < 0
        || (err = push(w, 0, "worker_loop", "pool.py", 5, &loop)) < 0
        || (err = push(w, loop, "compute", "pool.py", 30, &g->id.compute)) < 0
        || (err = push(w, loop, "wait", "threading.py", 300, &g->id.wait)) < 0
        || (err = str(w, "handle", &g->id.handle_name)) < 0
        || (err = str(w, "server.py", &g->id.handle_file)) < 0) {
        return err;
    }
    g->id.main_cold = cold;
    return ML_OK;
}

static int
define_series(gen *g)
{
    ml_writer *w = g->w;
    uint32_t cpu, pct, rss, bytes, req, count;
    int err;
    if ((err = str(w, "cpu", &cpu)) < 0 || (err = str(w, "%", &pct)) < 0
        || (err = str(w, "rss", &rss)) < 0
        || (err = str(w, "bytes", &bytes)) < 0
        || (err = str(w, "requests", &req)) < 0
        || (err = str(w, "count", &count)) < 0
        || (err = ml_writer_series(w, ML_SERIES_STATUS, cpu, pct, &g->id.cpu))
               < 0
        || (err =
                ml_writer_series(w, ML_SERIES_STATUS, rss, bytes, &g->id.rss))
               < 0) {
        return err;
    }
    return ml_writer_series(w, ML_SERIES_METRIC, req, count, &g->id.requests);
}

static int
write_meta(gen *g, int argc, char **argv)
{
    char cmd[1024] = "";
    size_t len = 0;
    for (int i = 0; i < argc && len < sizeof cmd - 1; i++) {
        len += (size_t)snprintf(cmd + len, sizeof cmd - len, "%s%s",
                                i ? " " : "", i ? argv[i] : "ml_gen");
    }
    ml_writer *w = g->w;
    int err;
    if ((err = ml_writer_meta_str(w, "label", "gen")) < 0
        || (err = ml_writer_meta_str(w, "argv", cmd)) < 0
        || (err = ml_writer_meta_str(w, "python", "3.11.7")) < 0
        || (err = ml_writer_meta_uint(w, "pid", (uint64_t)getpid())) < 0
        || (err = ml_writer_meta_str(w, "host", "synthetic-host")) < 0
        || (err = ml_writer_meta_uint(w, "start_unix_ns",
                                      1700000000000000000ull))
               < 0
        || (err = ml_writer_meta_str(w, "sampler", "synthetic")) < 0) {
        return err;
    }
    return ml_writer_meta_uint(w, "interval_us", g->interval);
}

static int
define_threads(gen *g)
{
    uint32_t n = g->o->threads;
    g->threads = calloc(n + 1, sizeof *g->threads);
    if (g->threads == NULL) {
        return ML_ENOMEM;
    }
    for (uint32_t i = 1; i <= n; i++) {
        char name[32];
        uint32_t sid;
        if (i == 1) {
            snprintf(name, sizeof name, "MainThread");
        } else {
            snprintf(name, sizeof name, "worker-%u", i - 1);
        }
        int err = str(g->w, name, &sid);
        if (err == 0) {
            err = ml_writer_thread(g->w, 0, 4000 + i, 140000 + i, sid,
                                   &g->threads[i]);
        }
        if (err < 0) {
            return err;
        }
    }
    return ML_OK;
}

/* ---- samples and events ----------------------------------------------- */

static uint64_t
next_random(gen *g)
{
    /* splitmix64 */
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Selection sampling: exactly hot_left of the remaining samples are hot. */
static uint32_t
main_stack(gen *g)
{
    uint64_t left = g->hot_left + g->cold_left;
    if (next_random(g) % left < g->hot_left) {
        g->hot_left--;
        return g->id.main_hot;
    }
    g->cold_left--;
    return g->cold_seen++ % 2 ? g->id.main_cold2 : g->id.main_cold;
}

static int
sample_all(gen *g, uint64_t k)
{
    uint64_t t = k * g->interval;
    int err = ml_writer_sample(g->w, g->threads[1], t, main_stack(g),
                               ML_STATE_RUNNING | ML_STATE_GIL);
    for (uint32_t i = 2; err == 0 && i <= g->o->threads; i++) {
        int running = (k / 50) % 2 == 0;
        err = ml_writer_sample(g->w, g->threads[i], t,
                               running ? g->id.compute : g->id.wait,
                               running ? ML_STATE_RUNNING : 0);
    }
    return err;
}

static int
log_line(gen *g, uint64_t t)
{
    char text[64];
    uint64_t j = g->logs++;
    int n =
        snprintf(text, sizeof text, "step %llu done", (unsigned long long)j);
    ml_log log = {t,
                  g->threads[1],
                  j % 5 == 4 ? 30 : 20,
                  ML_LOG_LOGGING,
                  g->id.main_hot,
                  {(const uint8_t *)text, (uint32_t)n}};
    return ml_writer_log(g->w, &log);
}

static int
status(gen *g, uint64_t k)
{
    uint64_t t = k * g->interval;
    ml_value cpu = {.tag = ML_TAG_F64, .v.f = 50.0 + (double)(k % 7)};
    ml_value rss = {.tag = ML_TAG_UINT, .v.u = 100000000 + 4096 * k};
    int err;
    if ((err = ml_writer_value(g->w, g->id.cpu, t, &cpu)) < 0
        || (err = ml_writer_value(g->w, g->id.rss, t, &rss)) < 0) {
        return err;
    }
    return log_line(g, t);
}

static int
metric(gen *g, uint64_t k)
{
    uint64_t t = k * g->interval;
    ml_value v = {.tag = ML_TAG_UINT, .v.u = k};
    int err = ml_writer_value(g->w, g->id.requests, t, &v);
    if (err < 0) {
        return err;
    }
    ml_span span = {.call_id = k + 1,
                    .thread = g->threads[1],
                    .time_us = t,
                    .wall_ns = 1000 * g->interval,
                    .cpu_ns = 900 * g->interval,
                    .name = g->id.handle_name,
                    .file = g->id.handle_file,
                    .line = 12,
                    .args = {(const uint8_t *)"n=1", 3}};
    return ml_writer_span(g->w, &span);
}

static int
run(gen *g)
{
    uint64_t per_second = g->o->rate;
    int err = ML_OK;
    for (uint64_t k = 0; err == 0 && k < g->samples; k++) {
        err = sample_all(g, k);
        if (err == 0 && k % g->step == 0) {
            err = status(g, k);
        }
        if (err == 0 && k % (10 * g->step) == 0) {
            err = metric(g, k);
        }
        if (err == 0 && (k + 1) % per_second == 0) {
            err = ml_writer_flush(g->w);
        }
    }
    return err;
}

/* Report and END, alone in the last chunk; returns where it starts. */
static int
finish(gen *g, uint64_t *last_chunk)
{
    static const char body[] = "open files: 0";
    uint32_t name;
    int err;
    if ((err = ml_writer_flush(g->w)) < 0) {
        return err;
    }
    *last_chunk = ml_writer_bytes(g->w);
    if ((err = str(g->w, "open_files", &name)) < 0
        || (err = ml_writer_report(g->w, ML_REPORT_OPEN_FILES, name, body,
                                   sizeof body - 1))
               < 0) {
        return err;
    }
    return ml_writer_end(g->w, g->samples * g->interval, 0);
}

static int
truncate_last(const char *path, uint64_t last_chunk)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    long size = ftell(f);
    fclose(f);
    if (size < 0 || (uint64_t)size <= last_chunk + 1) {
        return -1;
    }
    return truncate(path,
                    (off_t)(last_chunk + ((uint64_t)size - last_chunk) / 2));
}

static int
generate(gen *g, int argc, char **argv, uint64_t *last_chunk)
{
    int err;
    if ((err = write_meta(g, argc, argv)) < 0 || (err = define_stacks(g)) < 0
        || (err = define_series(g)) < 0 || (err = define_threads(g)) < 0
        || (err = run(g)) < 0) {
        return err;
    }
    return finish(g, last_chunk);
}

int
main(int argc, char **argv)
{
    options o;
    if (parse_args(argc, argv, &o) < 0) {
        return usage();
    }
    gen g = {0};
    g.o = &o;
    g.interval = 1000000 / o.rate;
    g.samples = (uint64_t)(o.seconds * o.rate + 0.5);
    g.step = o.rate / 10 ? o.rate / 10 : 1;
    g.rng = o.seed;
    g.hot_left = g.samples * o.split / 100;
    g.cold_left = g.samples - g.hot_left;
    uint64_t last_chunk = 0;
    int err = ml_writer_open(o.out, NULL, &g.w);
    if (err == 0) {
        err = generate(&g, argc, argv, &last_chunk);
        int cerr = ml_writer_close(g.w);
        err = err < 0 ? err : cerr;
    }
    free(g.threads);
    if (err < 0) {
        fprintf(stderr, "ml_gen: %s: %s\n", o.out, ml_strerror(err));
        return 1;
    }
    if (o.truncate_last && truncate_last(o.out, last_chunk) < 0) {
        fprintf(stderr, "ml_gen: %s: cannot truncate: %s\n", o.out,
                strerror(errno));
        return 1;
    }
    return 0;
}
