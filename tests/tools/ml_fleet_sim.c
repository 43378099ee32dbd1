// SPDX-License-Identifier: MIT
// ml_fleet_sim: many simulated recorded programs streaming to the central
// store at once, for the reliability test and the load benchmark. Each run
// is a real recording written with ml_writer (a thread of samples at
// 1 kHz, a chunk every --flush-ms) and sent by a real sender (ml_ship) on
// its own thread, to one or more servers (--rotate: every request to the
// next one). At the end each run is closed, finished within --finish-s,
// and a JSON report goes to stdout: per run its name, id, file size and
// acknowledged bytes, and the senders' request latencies.
//
//   ml_fleet_sim --servers http://a,http://b --token T --runs 200
//                --seconds 60 --dir DIR [--flush-ms 1000] [--rotate]
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "core/ml_uuid.h"
#include "format/ml_format.h"
#include "format/ml_writer.h"
#include "net/ml_ship.h"

typedef struct {
    char path[1024], name[128], run_id[ML_UUID_TEXT];
    ml_writer *w;
    ml_ship *ship;
    uint32_t thread, stacks[8];
    uint64_t t0_ns, next_sample_us;
    int closed;
} sim_run;

typedef struct {
    const char *servers, *token, *dir;
    long runs, seconds, flush_ms, finish_s;
    int rotate;
} sim_options;

static void
die(const char *what, int rc)
{
    fprintf(stderr, "ml_fleet_sim: %s: %s\n", what, ml_strerror(rc));
    exit(1);
}

static void
define_stacks(sim_run *r, long i)
{
    uint32_t file, parent = 0;
    ml_writer_string(r->w, "sim.py", 6, &file);
    for (int d = 0; d < 8; d++) {
        char fn[32];
        int n = snprintf(fn, sizeof fn, "f%d_%ld", d, i % 7);
        uint32_t name, frame;
        ml_writer_string(r->w, fn, (size_t)n, &name);
        ml_writer_frame(r->w, name, file, 10 + d, 1, &frame);
        ml_writer_stack(r->w, parent, frame, &r->stacks[d]);
        parent = r->stacks[d];
    }
}

static void
open_run(sim_run *r, long i, const sim_options *o)
{
    snprintf(r->name, sizeof r->name, "sim/run-%05ld-%d", i, (int)getpid());
    snprintf(r->path, sizeof r->path, "%s/%s.mlog", o->dir, r->name);
    uint8_t id[16];
    if (ml_uuid_v7(ml_clock_wall_ns() / 1000000u, id) != ML_OK) {
        die("uuid", ML_EIO);
    }
    ml_uuid_format(id, r->run_id);
    ml_writer_options wo = {0};
    wo.flush_interval_ms = (uint32_t)o->flush_ms;
    int rc = ml_writer_open(r->path, &wo, &r->w);
    if (rc != ML_OK) {
        die(r->path, rc);
    }
    ml_writer_meta_str(r->w, "run_id", r->run_id);
    ml_writer_meta_str(r->w, "name", r->name);
    ml_writer_meta_str(r->w, "label", "sim");
    ml_writer_meta_str(r->w, "host", "sim-host");
    ml_writer_meta_uint(r->w, "start_unix_ns", ml_clock_wall_ns());
    uint32_t tname;
    ml_writer_string(r->w, "MainThread", 10, &tname);
    ml_writer_thread(r->w, 0, 1000 + (uint64_t)i, 1, tname, &r->thread);
    define_stacks(r, i);
    r->t0_ns = ml_clock_mono_ns();
    ml_ship_config c = {.path = r->path,
                        .server = o->servers,
                        .token = o->token,
                        .run_id = r->run_id,
                        .name = r->name,
                        .host = "sim-host",
                        .start_unix_us = (int64_t)(ml_clock_wall_ns() / 1000u),
                        .timeout_ms = 30000,
                        .rotate = o->rotate};
    char why[512];
    if (ml_ship_new(&c, &r->ship, why, sizeof why) != ML_OK) {
        fprintf(stderr, "ml_fleet_sim: %s\n", why);
        exit(1);
    }
    if (ml_ship_start(r->ship) != ML_OK) {
        die("sender thread", ML_ENOMEM);
    }
}

/* Samples up to now: the stack changes every few milliseconds, like a
 * program moving between functions. */
static void
write_samples(sim_run *r, uint64_t now_ns)
{
    uint64_t now_us = (now_ns - r->t0_ns) / 1000u;
    for (; r->next_sample_us <= now_us; r->next_sample_us += 1000) {
        uint64_t t = r->next_sample_us;
        uint32_t depth = (uint32_t)((t / 7000) % 8);
        int rc = ml_writer_sample(r->w, r->thread, t, r->stacks[depth],
                                  (t / 3000) % 2 ? 1 : 0);
        if (rc != ML_OK) {
            die("sample", rc);
        }
    }
    int rc = ml_writer_tick(r->w, now_ns);
    if (rc != ML_OK) {
        die("flush", rc);
    }
}

static void
close_run(sim_run *r)
{
    uint64_t end_us = (ml_clock_mono_ns() - r->t0_ns) / 1000u;
    ml_writer_end(r->w, end_us, 0);
    int rc = ml_writer_close(r->w);
    if (rc != ML_OK) {
        die("close", rc);
    }
}

typedef struct {
    sim_run *run;
    long timeout_ms;
    int rc;
    char why[512];
} finish_job;

/* Ends the sender's thread and sends the rest of the closed file. */
static void *
finish_main(void *arg)
{
    finish_job *j = arg;
    ml_ship_stop(j->run->ship, 0, j->why, sizeof j->why);
    j->rc =
        ml_ship_finish(j->run->ship, j->timeout_ms, 0, j->why, sizeof j->why);
    return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void
report(sim_run *runs, long n, const int *ok, double secs)
{
    size_t cap = (size_t)n * ML_SHIP_LATENCIES, nl = 0;
    uint32_t *lat = malloc(cap * sizeof *lat);
    uint64_t requests = 0, failed = 0, bytes = 0;
    printf("{\"runs\": [");
    for (long i = 0; i < n; i++) {
        struct stat st;
        stat(runs[i].path, &st);
        ml_ship_stats s;
        ml_ship_get_stats(runs[i].ship, &s);
        memcpy(lat + nl, s.latency_us, s.nlatency * sizeof *lat);
        nl += s.nlatency;
        requests += s.requests;
        failed += s.failed;
        bytes += s.bytes;
        printf("%s{\"name\": \"%s\", \"run_id\": \"%s\", \"path\": \"%s\", "
               "\"size\": %lld, \"acked\": %llu, \"stored\": %s}",
               i ? ", " : "", runs[i].name, runs[i].run_id, runs[i].path,
               (long long)st.st_size,
               (unsigned long long)ml_ship_acked(runs[i].ship),
               ok[i] ? "true" : "false");
    }
    qsort(lat, nl, sizeof *lat, cmp_u32);
    printf("], \"requests\": %llu, \"failed_requests\": %llu, "
           "\"bytes\": %llu, \"seconds\": %.3f, "
           "\"ack_p50_us\": %u, \"ack_p99_us\": %u, \"ack_max_us\": %u}\n",
           (unsigned long long)requests, (unsigned long long)failed,
           (unsigned long long)bytes, secs, nl ? lat[nl / 2] : 0,
           nl ? lat[nl * 99 / 100] : 0, nl ? lat[nl - 1] : 0);
    free(lat);
}

static void
parse(int argc, char **argv, sim_options *o)
{
    static const struct option opts[] = {
        {"servers", required_argument, NULL, 's'},
        {"token", required_argument, NULL, 't'},
        {"dir", required_argument, NULL, 'd'},
        {"runs", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 'S'},
        {"flush-ms", required_argument, NULL, 'f'},
        {"finish-s", required_argument, NULL, 'F'},
        {"rotate", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->servers = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'n':
            o->runs = atol(optarg);
            break;
        case 'S':
            o->seconds = atol(optarg);
            break;
        case 'f':
            o->flush_ms = atol(optarg);
            break;
        case 'F':
            o->finish_s = atol(optarg);
            break;
        case 'r':
            o->rotate = 1;
            break;
        default:
            fprintf(stderr, "usage: ml_fleet_sim --servers URLS --dir DIR "
                            "[--token T] [--runs N] [--seconds S] "
                            "[--flush-ms MS] [--finish-s S] [--rotate]\n");
            exit(2);
        }
    }
    if (!o->servers || !o->dir || o->runs < 1 || o->seconds < 1
        || o->flush_ms < 10) {
        fprintf(stderr, "ml_fleet_sim: --servers and --dir are needed\n");
        exit(2);
    }
}

int
main(int argc, char **argv)
{
    sim_options o = {
        .runs = 10, .seconds = 10, .flush_ms = 1000, .finish_s = 120};
    parse(argc, argv, &o);
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/sim", o.dir);
    mkdir(o.dir, 0700);
    mkdir(sub, 0700);
    sim_run *runs = calloc((size_t)o.runs, sizeof *runs);
    int *ok = calloc((size_t)o.runs, sizeof *ok);
    for (long i = 0; i < o.runs; i++) {
        open_run(&runs[i], i, &o);
    }
    uint64_t start = ml_clock_mono_ns();
    uint64_t end = start + (uint64_t)o.seconds * 1000000000u;
    for (uint64_t now = start; now < end; now = ml_clock_mono_ns()) {
        for (long i = 0; i < o.runs; i++) {
            write_samples(&runs[i], now);
        }
        usleep(20000);
    }
    for (long i = 0; i < o.runs; i++) {
        close_run(&runs[i]);
    }
    /* Every sender finishes at once, each on a thread of its own, like
     * the programs they stand for. */
    pthread_t *finishers = calloc((size_t)o.runs, sizeof *finishers);
    finish_job *jobs = calloc((size_t)o.runs, sizeof *jobs);
    for (long i = 0; i < o.runs; i++) {
        jobs[i] =
            (finish_job){.run = &runs[i], .timeout_ms = o.finish_s * 1000};
        if (pthread_create(&finishers[i], NULL, finish_main, &jobs[i]) != 0) {
            die("finishing thread", ML_ENOMEM);
        }
    }
    int failed = 0;
    for (long i = 0; i < o.runs; i++) {
        pthread_join(finishers[i], NULL);
        ok[i] = jobs[i].rc == ML_OK;
        if (!ok[i]) {
            fprintf(stderr, "ml_fleet_sim: %s: %s\n", runs[i].name,
                    jobs[i].why);
            failed++;
        }
    }
    free(finishers);
    free(jobs);
    report(runs, o.runs, ok, (double)(ml_clock_mono_ns() - start) / 1e9);
    for (long i = 0; i < o.runs; i++) {
        ml_ship_free(runs[i].ship);
    }
    free(runs);
    free(ok);
    return failed ? 1 : 0;
}
