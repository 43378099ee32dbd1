// SPDX-License-Identifier: MIT
// ml_synth: writes a realistic synthetic recording for the server and UI
// benchmarks: a program of a few thousand functions in a hundred modules,
// whose threads' stacks are 10 to 60 frames deep and change the way real
// programs do (mostly unchanged from one sample to the next, leaves coming
// and going, now and then a deep unwind), plus status at 10 Hz, memory at
// 1 Hz, a log entry every second with its stack, a metric, and timed calls
// every 100 ms of which one in 500 is anomalously slow.
//
// Real programs repeat themselves: a server handles the same kinds of
// requests again and again, a batch job runs the same loop. So the stacks
// come from a pool of 300 "tasks", each a random walk of 500 to 3,000
// samples through the call graph, recorded once; each thread plays tasks
// drawn from the pool (popular ones more often), the leaf moving between
// lines of its function as it goes. --random-walk instead walks without
// repeating for the whole run (far more distinct stacks than programs
// have: the worst case for the index).
//
//   ml_synth OUT [--seconds S] [--threads N] [--rate HZ] [--seed N]
//                [--random-walk]
//
// Defaults: one hour, 4 threads, 1 kHz: 14.4 million samples.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "format/ml_writer.h"

#define NFUNCS 3000
#define NMODULES 120
#define LINES_PER_FUNC 8
#define MIN_DEPTH 10
#define MAX_DEPTH 60
#define ROOT_DEPTH 6
#define NTASKS 300

typedef struct {
    uint32_t name, file, firstline;
    uint32_t callees[6];
    uint32_t ncallees;
} func;

typedef struct {
    uint32_t thread;
    uint32_t depth;
    uint32_t fn[MAX_DEPTH + 1];
    uint32_t stack[MAX_DEPTH + 1]; /* stack id of the prefix ending here */
    int running;
    uint64_t state_left; /* samples until running flips */
} thread_state;

static uint64_t rng = 88172645463325252ull;

static uint64_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint32_t
below(uint32_t n)
{
    return (uint32_t)(next() % n);
}

static func funcs[NFUNCS];

static int
check(int err, const char *what)
{
    if (err < 0) {
        fprintf(stderr, "ml_synth: %s: %s\n", what, ml_strerror(err));
        exit(1);
    }
    return err;
}

static uint32_t
str(ml_writer *w, const char *s)
{
    uint32_t id;
    check(ml_writer_string(w, s, strlen(s), &id), "string");
    return id;
}

/* A program: functions in modules, each calling a few later ones, so
 * stacks grow from a few entry points downwards. */
static void
make_program(ml_writer *w)
{
    char buf[160];
    uint32_t files[NMODULES];
    for (int m = 0; m < NMODULES; m++) {
        if (m < 10) {
            snprintf(buf, sizeof buf,
                     "/usr/lib/python3.11/lib%02d/stdmod%d.py", m, m);
        } else if (m < 40) {
            snprintf(buf, sizeof buf,
                     "/srv/venv/lib/python3.11/site-packages/lib%d/mod%d.py",
                     m % 7, m);
        } else {
            snprintf(buf, sizeof buf, "/srv/app/pkg%d/module%d.py", m % 9, m);
        }
        files[m] = str(w, buf);
    }
    for (uint32_t i = 0; i < NFUNCS; i++) {
        if (i % 3 == 0) {
            snprintf(buf, sizeof buf, "Service%u.handle_%u", i % 40, i);
        } else {
            snprintf(buf, sizeof buf, "step_%u", i);
        }
        funcs[i].name = str(w, buf);
        funcs[i].file = files[(i * 7) % NMODULES];
        funcs[i].firstline = 10 + (i % 50) * 20;
        funcs[i].ncallees = 1 + below(6);
        for (uint32_t c = 0; c < funcs[i].ncallees; c++) {
            uint32_t span = NFUNCS - i - 1;
            funcs[i].callees[c] =
                span ? i + 1 + below(span < 200 ? span : 200) : i;
        }
    }
}

static uint32_t
frame_of(ml_writer *w, uint32_t fn, uint32_t line_ofs)
{
    uint32_t id;
    check(ml_writer_frame(w, funcs[fn].name, funcs[fn].file,
                          funcs[fn].firstline + line_ofs, funcs[fn].firstline,
                          &id),
          "frame");
    return id;
}

/* Pushes fn; the caller's frame moves to the line of that call, as in a
 * real program, where each call has its own line. */
static void
push(ml_writer *w, thread_state *t, uint32_t fn, uint32_t call_line)
{
    uint32_t d = t->depth;
    if (d > 0) {
        uint32_t grand = d > 1 ? t->stack[d - 2] : 0;
        check(ml_writer_stack(w, grand, frame_of(w, t->fn[d - 1], call_line),
                              &t->stack[d - 1]),
              "stack");
    }
    uint32_t parent = d ? t->stack[d - 1] : 0;
    t->fn[d] = fn;
    check(ml_writer_stack(w, parent, frame_of(w, fn, below(LINES_PER_FUNC)),
                          &t->stack[d]),
          "stack");
    t->depth = d + 1;
}

/* Callees are called unevenly: the first most often (Zipf-like). */
static void
push_callee(ml_writer *w, thread_state *t)
{
    const func *f = &funcs[t->fn[t->depth - 1]];
    uint32_t c = 0;
    while (c + 1 < f->ncallees && below(2) == 0) {
        c++;
    }
    push(w, t, f->callees[c], LINES_PER_FUNC + c);
}

/* One sample's worth of change, in the proportions of real programs:
 * most samples see the same stack. */
static void
evolve(ml_writer *w, thread_state *t)
{
    uint32_t r = below(1000);
    if (r < 600) {
        return;
    }
    if (r < 700) { /* the leaf moved to another line */
        uint32_t d = t->depth - 1;
        check(ml_writer_stack(w, d ? t->stack[d - 1] : 0,
                              frame_of(w, t->fn[d], below(LINES_PER_FUNC)),
                              &t->stack[d]),
              "stack");
        return;
    }
    if (r < 850 || t->depth < MIN_DEPTH) {
        uint32_t n = 1 + below(3);
        while (n-- > 0 && t->depth < MAX_DEPTH) {
            push_callee(w, t);
        }
        return;
    }
    /* Returns: usually one or two frames, sometimes a deep unwind. */
    uint32_t k = r < 990 ? 1 + below(3) : 5 + below(30);
    uint32_t floor = ROOT_DEPTH + (r < 998 ? 4 : 0);
    while (k-- > 0 && t->depth > floor) {
        t->depth--;
    }
    while (t->depth < MIN_DEPTH) {
        push_callee(w, t);
    }
}

typedef struct {
    uint32_t *stacks;
    uint32_t len;
} task;

/* Records the pool of tasks: walks from a common root. */
static task *
make_tasks(ml_writer *w, const thread_state *root)
{
    task *tasks = calloc(NTASKS, sizeof *tasks);
    for (int i = 0; i < NTASKS; i++) {
        thread_state t = *root;
        tasks[i].len = 500 + below(2500);
        tasks[i].stacks = malloc(tasks[i].len * sizeof *tasks[i].stacks);
        for (uint32_t k = 0; k < tasks[i].len; k++) {
            evolve(w, &t);
            tasks[i].stacks[k] = t.stack[t.depth - 1];
        }
    }
    return tasks;
}

/* A task, popular ones more often (the first of the pool most). */
static const task *
pick_task(const task *tasks)
{
    uint32_t i = 0;
    while (i + 1 < NTASKS && below(100) < 92) {
        i++;
    }
    return &tasks[below(i + 1)];
}

int
main(int argc, char **argv)
{
    const char *out = NULL;
    double seconds = 3600;
    uint32_t nthreads = 4, rate = 1000;
    int random_walk = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--random-walk") == 0) {
            random_walk = 1;
        } else if (strcmp(argv[i], "--seconds") == 0 && v) {
            seconds = strtod(v, NULL), i++;
        } else if (strcmp(argv[i], "--threads") == 0 && v) {
            nthreads = (uint32_t)strtoul(v, NULL, 10), i++;
        } else if (strcmp(argv[i], "--rate") == 0 && v) {
            rate = (uint32_t)strtoul(v, NULL, 10), i++;
        } else if (strcmp(argv[i], "--seed") == 0 && v) {
            rng ^= strtoull(v, NULL, 10) * 0x9e3779b97f4a7c15ull, i++;
        } else if (argv[i][0] != '-' && out == NULL) {
            out = argv[i];
        } else {
            out = NULL;
            break;
        }
    }
    if (out == NULL || nthreads < 1 || nthreads > 64 || rate < 1
        || rate > 100000 || !(seconds > 0 && seconds <= 86400)) {
        fprintf(stderr, "usage: ml_synth OUT [--seconds S] [--threads N] "
                        "[--rate HZ] [--seed N] [--random-walk]\n");
        return 2;
    }
    ml_writer *w;
    check(ml_writer_open(out, NULL, &w), out);
    check(ml_writer_meta_str(w, "label", "synth"), "meta");
    check(ml_writer_meta_str(w, "argv", "ml_synth"), "meta");
    check(ml_writer_meta_str(w, "python", "3.11.7"), "meta");
    check(ml_writer_meta_str(w, "sampler", "synthetic"), "meta");
    check(ml_writer_meta_uint(w, "interval_us", 1000000 / rate), "meta");
    check(ml_writer_meta_uint(w, "start_unix_ns", 1764579600000000000ull),
          "meta");
    make_program(w);
    thread_state *ts = calloc(nthreads, sizeof *ts);
    for (uint32_t i = 0; i < nthreads; i++) {
        char name[32];
        snprintf(name, sizeof name, i ? "worker-%u" : "MainThread", i);
        check(ml_writer_thread(w, 0, 5000 + i, 140000 + i, str(w, name),
                               &ts[i].thread),
              "thread");
        for (uint32_t d = 0; d < ROOT_DEPTH; d++) {
            push(w, &ts[i], d == 0 ? i : funcs[ts[i].fn[d - 1]].callees[0],
                 LINES_PER_FUNC);
        }
        while (ts[i].depth < MIN_DEPTH + below(20)) {
            push_callee(w, &ts[i]);
        }
    }
    /* Every thread starts from the main thread's entry path. */
    task *tasks = random_walk ? NULL : make_tasks(w, &ts[0]);
    const task **playing = calloc(nthreads, sizeof *playing);
    uint32_t *pos = calloc(nthreads, sizeof *pos);
    uint32_t s_cpu, s_mods, s_rss, s_objs, s_queue;
    uint32_t pct = str(w, "%"), count = str(w, "count"), bytes = str(w, "B");
    check(ml_writer_series(w, ML_SERIES_STATUS, str(w, "cpu"), pct, &s_cpu),
          "series");
    check(ml_writer_series(w, ML_SERIES_STATUS, str(w, "modules"), count,
                           &s_mods),
          "series");
    check(ml_writer_series(w, ML_SERIES_STATUS, str(w, "rss"), bytes, &s_rss),
          "series");
    check(ml_writer_series(w, ML_SERIES_STATUS, str(w, "objects"), count,
                           &s_objs),
          "series");
    check(ml_writer_series(w, ML_SERIES_METRIC, str(w, "queue_depth"), count,
                           &s_queue),
          "series");
    uint32_t timed_name = str(w, "handle_request");
    uint32_t timed_file = str(w, "/srv/app/pkg0/module40.py");
    uint64_t interval = 1000000 / rate;
    uint64_t samples = (uint64_t)(seconds * rate);
    uint64_t per_10hz = rate / 10 ? rate / 10 : 1;
    uint64_t call_id = 0;
    for (uint64_t k = 0; k < samples; k++) {
        uint64_t t = k * interval;
        for (uint32_t i = 0; i < nthreads; i++) {
            thread_state *th = &ts[i];
            uint32_t stack;
            if (random_walk) {
                evolve(w, th);
                stack = th->stack[th->depth - 1];
            } else {
                if (playing[i] == NULL || pos[i] == playing[i]->len) {
                    playing[i] = pick_task(tasks);
                    pos[i] = 0;
                }
                stack = playing[i]->stacks[pos[i]++];
            }
            if (th->state_left == 0) {
                th->running = i == 0 ? below(10) < 9 : !th->running;
                th->state_left = 5 + below(60);
            }
            th->state_left--;
            uint8_t state = th->running ? ML_STATE_RUNNING | ML_STATE_GIL : 0;
            check(ml_writer_sample(w, th->thread, t + below(40), stack, state),
                  "sample");
        }
        if (k % per_10hz == 0) {
            ml_value v = {ML_TAG_F64, {.f = 20 + below(800) / 10.0}};
            check(ml_writer_value(w, s_cpu, t, &v), "value");
            ml_value m = {ML_TAG_UINT, {.u = 300 + k / (rate * 60)}};
            check(ml_writer_value(w, s_mods, t, &m), "value");
        }
        if (k % rate == 0) {
            uint64_t sec = k / rate;
            ml_value v = {ML_TAG_UINT,
                          {.u = 80000000 + sec * 2000 + below(1000000)}};
            check(ml_writer_value(w, s_rss, t, &v), "value");
            ml_value o = {ML_TAG_UINT, {.u = 200000 + below(5000)}};
            check(ml_writer_value(w, s_objs, t, &o), "value");
            ml_value q = {ML_TAG_UINT, {.u = below(50)}};
            check(ml_writer_value(w, s_queue, t, &q), "value");
            char text[96];
            snprintf(text, sizeof text, "processed batch %llu in **%u ms**",
                     (unsigned long long)sec, 5 + below(90));
            ml_log l = {t,
                        ts[0].thread,
                        sec % 100 == 99 ? 40u
                        : sec % 10 == 9 ? 30u
                                        : 20u,
                        ML_LOG_LOGGING,
                        ts[0].stack[ts[0].depth - 1],
                        {(const uint8_t *)text, (uint32_t)strlen(text)}};
            check(ml_writer_log(w, &l), "log");
            check(ml_writer_flush(w), "flush"); /* as the recorder: 1 s */
        }
        if (k % per_10hz == 5) {
            int slow = ++call_id % 500 == 0;
            ml_span s = {call_id,
                         0,
                         ts[1 % nthreads].thread,
                         t,
                         (slow ? 900 : 20 + below(10)) * 1000000ull,
                         2000000 + below(1000000),
                         (int64_t)below(4096),
                         timed_name,
                         timed_file,
                         41,
                         {NULL, 0},
                         {NULL, 0}};
            check(ml_writer_span(w, &s), "span");
        }
    }
    check(ml_writer_end(w, samples * interval, 0), "end");
    check(ml_writer_close(w), "close");
    for (int i = 0; tasks && i < NTASKS; i++) {
        free(tasks[i].stacks);
    }
    free(tasks);
    free(playing);
    free(pos);
    free(ts);
    return 0;
}
