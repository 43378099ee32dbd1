// SPDX-License-Identifier: MIT
// The sampler thread (see ml_sampler.h). Per round: read all thread stacks,
// then, under the sink lock, turn them into samples. Threads are matched to
// the previous round's by position first, so a steady set of threads costs
// no search.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ml_sampler.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "ml_pyfallback.h"
#include "ml_pywalk.h"
#include "ml_stackmap.h"
#include "ml_tid.h"
#include "core/ml_wake.h"

#define MAX_THREADS 1024
#define MAX_DEPTH 4096
#define MAX_IGNORED 16
#define MAX_HIDDEN 16
#define MAX_EARLY_NAMES 64
#define EARLY_NAME_BYTES 128

/* A Python thread as the sampler knows it. */
typedef struct {
    uint64_t tstate, ident, tid;
    uint32_t writer_id;
    uint64_t last_cpu_ns; /* its CPU clock at its last sample, 0 none */
    uint64_t last_at_ns;  /* when that was read */
    uint32_t last_stack;
    uint8_t last_state;
    uint64_t name_hash;          /* of the name last written, 0 none */
    char name[EARLY_NAME_BYTES]; /* that name, for the next file */
    /* 1: name holds a name given while the thread did microlog's work
     * (ignored, so not written then), written at its next sample. */
    uint8_t name_pending;
    uint64_t seen; /* round in which it was last seen */
    ml_stackcache cache;
    ml_tid_files proc; /* its /proc files, kept open once asked */
} slot;

struct ml_sampler {
    ml_sink *sink;
    uint64_t interval_ns;
    int fallback;
    ml_pywalk *walk;
    ml_pyfallback *fb;
    PyThreadState *tstate; /* fallback: the sampler thread's, for its life */
    ml_codesource codes;
    ml_stackmap *stacks;

    pthread_t thread;
    int started;
    ml_wake wake; /* the stop, which also cuts a sleep short */

    /* Owned by the sampler thread while it runs; slots and names are also
     * read and written by ml_sampler_name_thread under the sink lock. */
    ml_pythread *threads;
    ml_pyframe *frames;
    /* Per thread of the round, read right after the stacks: kernel id,
     * CPU clock (0 unknown) and when it was read. */
    uint64_t *tids, *cpus, *cpu_at;
    uint64_t gil_addr, gil_size; /* the GIL's locks (native mode) */
    slot *slots;
    int nslots, slot_cap;
    uint64_t round;
    atomic_ullong ignored[MAX_IGNORED];
    uint64_t hidden[MAX_HIDDEN]; /* protected by the sink lock */
    int nhidden;
    /* Names given as threads start (ml_sampler_name_started) for threads
     * not sampled yet, taken by their first sample; a ring, the oldest
     * dropped. Protected by the sink lock. */
    struct {
        uint64_t ident, tid;
        char name[EARLY_NAME_BYTES];
    } early[MAX_EARLY_NAMES];
    int nearly;
    /* Threads ended lately: a thread can run and end before the call that
     * started it returns (it held the GIL meanwhile), and is named then.
     * A ring; protected by the sink lock. */
    struct {
        uint64_t ident, tid;
        uint32_t writer_id;
    } ended[MAX_EARLY_NAMES];
    int nended;

    ml_sampler_stats stats;
    uint64_t first_tick_ns, last_tick_ns;

    /* Long runs (see "files and caches" below); protected by the sink
     * lock. */
    uint32_t file_gen;      /* the sink's file the writer ids belong to */
    uint32_t cache_entries; /* code objects cached before emptying */
    uint32_t evictions;
    uint32_t walker_codes; /* the walker's cache at the last round */
    uint64_t walks_retried, walks_failed; /* the walker's, at that round */
    int drop_fallback_codes; /* fallback: release its codes after the lock */
};

static int follow_file(ml_sampler *s, uint64_t t_us);
static void trim_caches(ml_sampler *s);

/* ---- sources ----------------------------------------------------------- */

static int
walk_code(void *ctx, uint64_t code, ml_pycode_info *out)
{
    return ml_pywalk_code(ctx, code, out);
}

static int
walk_line(void *ctx, uint64_t code, int32_t lasti)
{
    return ml_pywalk_line(ctx, code, lasti);
}

static int
fb_code(void *ctx, uint64_t code, ml_pycode_info *out)
{
    return ml_pyfallback_code(ctx, code, out);
}

static int
fb_line(void *ctx, uint64_t code, int32_t lasti)
{
    return ml_pyfallback_line(ctx, code, lasti);
}

static int
read_stacks(ml_sampler *s)
{
    if (s->fallback) {
        return ml_pyfallback_sample(s->fb, s->threads, MAX_THREADS, s->frames,
                                    MAX_DEPTH);
    }
    return ml_pywalk_sample(s->walk, s->threads, MAX_THREADS, s->frames,
                            MAX_DEPTH);
}

/* ---- threads ----------------------------------------------------------- */

static int
is_ignored(ml_sampler *s, uint64_t tid)
{
    for (int i = 0; i < MAX_IGNORED; i++) {
        if (tid != 0 && atomic_load(&s->ignored[i]) == tid) {
            return 1;
        }
    }
    return 0;
}

static int
same_thread(const slot *sl, const ml_pythread *t, uint64_t tid)
{
    return sl->tstate == t->tstate && sl->ident == t->thread_id
           && sl->tid == tid;
}

static slot *find_slot(ml_sampler *s, int hint, const ml_pythread *t,
                       uint64_t tid);
static int name_slot(ml_sampler *s, slot *sl, const char *name, uint64_t t_us);
static int new_slot(ml_sampler *s, const ml_pythread *t, uint64_t tid,
                    uint64_t t_us, slot **out);

int
ml_sampler_current_thread(ml_sampler *s, uint64_t tstate, uint64_t ident,
                          uint64_t tid, uint64_t t_us, uint32_t *id)
{
    ml_pythread t = {.tstate = tstate, .thread_id = ident, .native_id = tid};
    int e = follow_file(s, t_us);
    if (e < 0) {
        return e;
    }
    slot *sl = find_slot(s, 0, &t, tid);
    if (sl == NULL) {
        int err = new_slot(s, &t, tid, t_us, &sl);
        if (err < 0) {
            return err;
        }
        /* Seen now: the next round must not end it before it walks it. A
         * thread the rounds skip (microlog's own) lives until the stop. */
        sl->seen = is_ignored(s, tid) ? UINT64_MAX : s->round + 1;
    }
    *id = sl->writer_id;
    return ML_OK;
}

static slot *
find_slot(ml_sampler *s, int hint, const ml_pythread *t, uint64_t tid)
{
    if (hint < s->nslots && same_thread(&s->slots[hint], t, tid)) {
        return &s->slots[hint];
    }
    for (int i = 0; i < s->nslots; i++) {
        if (same_thread(&s->slots[i], t, tid)) {
            return &s->slots[i];
        }
    }
    return NULL;
}

/* Writes the name a slot was given while it was ignored. */
static int
name_pending_slot(ml_sampler *s, slot *sl, uint64_t t_us)
{
    char name[EARLY_NAME_BYTES];
    snprintf(name, sizeof name, "%s", sl->name);
    return name_slot(s, sl, name, t_us);
}

static int
new_slot(ml_sampler *s, const ml_pythread *t, uint64_t tid, uint64_t t_us,
         slot **out)
{
    if (s->nslots == s->slot_cap) {
        int cap = s->slot_cap ? s->slot_cap * 2 : 16;
        slot *p = realloc(s->slots, (size_t)cap * sizeof *p);
        if (p == NULL) {
            return ML_ENOMEM;
        }
        s->slots = p;
        s->slot_cap = cap;
    }
    slot *sl = &s->slots[s->nslots];
    memset(sl, 0, sizeof *sl);
    sl->proc = (ml_tid_files)ML_TID_FILES_INIT;
    sl->tstate = t->tstate;
    sl->ident = t->thread_id;
    sl->tid = tid;
    int err = ml_writer_thread(s->sink->writer, t_us, tid, t->thread_id, 0,
                               &sl->writer_id);
    if (err < 0) {
        return err;
    }
    s->nslots++;
    *out = sl;
    for (int i = 0; i < MAX_EARLY_NAMES && i < s->nearly; i++) {
        if (s->early[i].ident == sl->ident && s->early[i].tid == sl->tid) {
            s->early[i].ident = 0;
            return name_slot(s, sl, s->early[i].name, t_us);
        }
    }
    return ML_OK;
}

/* A thread missing from this many rounds in a row has ended. Not one: a
 * round that meets a thread state being freed stops its walk there (the
 * list's next pointer is gone), and the threads after it, the main thread
 * among them (new states go to the head), would end and start again as new
 * thread records. */
#define END_AFTER_ROUNDS 3

/* Ends the threads not seen lately, keeping the others' order. */
static int
end_missing(ml_sampler *s, uint64_t t_us, int all)
{
    int kept = 0, err = 0;
    for (int i = 0; i < s->nslots; i++) {
        slot *sl = &s->slots[i];
        if (!all
            && (sl->seen >= s->round
                || s->round - sl->seen < END_AFTER_ROUNDS)) {
            s->slots[kept++] = *sl;
            continue;
        }
        int e = ml_writer_thread_end(s->sink->writer, sl->writer_id, t_us);
        if (sl->name_hash == 0) {
            int at = s->nended++ % MAX_EARLY_NAMES;
            s->ended[at].ident = sl->ident;
            s->ended[at].tid = sl->tid;
            s->ended[at].writer_id = sl->writer_id;
        }
        if (e < 0 && err == 0) {
            err = e;
        }
        ml_stackcache_free(&sl->cache);
        ml_tid_files_close(&sl->proc);
    }
    s->nslots = kept;
    return err;
}

/* A thread that used at least this share of the interval's wall time on
 * a CPU counts as running without asking the kernel. */
#define RUNNING_SHARE 0.95

/* Asks the kernel whether a thread runs now, and if it waits, whether it
 * waits for the GIL: one of the GIL's locks is the futex it sleeps on. */
static uint8_t
ask_kernel(const ml_sampler *s, slot *sl)
{
    uint64_t futex;
    int r = ml_tid_running_files(&sl->proc, sl->tid, &futex);
    if (r < 0) {
        return ML_STATE_UNKNOWN;
    }
    if (r > 0) {
        return ML_STATE_RUNNING;
    }
    if (s->gil_size != 0 && futex >= s->gil_addr
        && futex < s->gil_addr + s->gil_size) {
        return ML_STATE_WANTS_GIL;
    }
    return 0;
}

/* Running, waiting or waiting for the GIL, from the CPU the thread used
 * since its previous sample (read right after its stack). Holding the GIL
 * means running Python code; a thread that used (nearly) the whole
 * interval runs; one that used none waits as it did before; in between
 * (it started or stopped waiting during the interval, or shares a core)
 * the kernel says what it does now, so the first sample after a thread
 * goes to sleep is not counted as running. */
static uint8_t
thread_state(ml_sampler *s, slot *sl, const ml_pythread *t, int i,
             uint32_t stack)
{
    uint64_t cpu = s->cpus[i], at = s->cpu_at[i];
    uint8_t state;
    if (cpu == 0) {
        state = ML_STATE_UNKNOWN; /* no kernel id or no CPU clock */
    } else if (t->holds_gil) {
        state = ML_STATE_RUNNING;
    } else if (sl->last_cpu_ns == 0 || cpu < sl->last_cpu_ns) {
        state = ask_kernel(s, sl); /* first seen: no interval yet */
    } else if (cpu == sl->last_cpu_ns) {
        /* No CPU used: the wait goes on (one for the GIL stays one while
         * the stack stays), or a thread ready to run got no core. */
        state =
            stack == sl->last_stack ? sl->last_state & ML_STATE_WANTS_GIL : 0;
    } else if (s->fallback
               || (double)(cpu - sl->last_cpu_ns)
                      >= RUNNING_SHARE * (double)(at - sl->last_at_ns)) {
        /* The fallback holds the GIL while it samples, so every other
         * thread waits at that moment: its CPU clock is all it has. */
        state = ML_STATE_RUNNING;
    } else {
        state = ask_kernel(s, sl);
    }
    if (cpu != 0) {
        sl->last_cpu_ns = cpu;
        sl->last_at_ns = at;
    }
    sl->last_stack = stack;
    sl->last_state = state;
    if (t->holds_gil) {
        state |= ML_STATE_GIL;
    }
    if (s->fallback) {
        state |= ML_STATE_FALLBACK;
    }
    return state;
}

int
ml_sampler_is_hidden(const ml_sampler *s, uint64_t code)
{
    for (int i = 0; i < s->nhidden; i++) {
        if (s->hidden[i] == code) {
            return 1;
        }
    }
    return 0;
}

/* Frames to record: all but the hidden ones at the root. */
static int
visible_depth(const ml_sampler *s, const ml_pyframe *frames, int n)
{
    while (n > 0 && s->nhidden > 0
           && ml_sampler_is_hidden(s, frames[n - 1].code)) {
        n--;
    }
    return n;
}

/* Before 3.12 a new thread state carries its creator's ids until its
 * thread starts (and the thread sets its ident and its kernel id one after
 * the other): a state without frames that shares either id with another of
 * the round is such a one, not a thread of its own (it would be a phantom
 * copy of its creator, running on the creator's CPU clock). */
static int
not_started(const ml_sampler *s, int i, int n)
{
    const ml_pythread *t = &s->threads[i];
    if (t->nframes != 0) {
        return 0;
    }
    for (int j = 0; j < n; j++) {
        if (j != i && s->threads[j].tstate != t->tstate
            && (s->threads[j].thread_id == t->thread_id
                || (s->tids[i] != 0 && s->tids[j] == s->tids[i]))) {
            return 1;
        }
    }
    return 0;
}

/* The CPU thread i used since its previous sample, in 15ths of the time
 * between the two reads of its clock, for the viewer to weigh the sample
 * by; ML_CPU_UNKNOWN without an interval. Call before thread_state, which
 * moves the slot's clock on. */
static uint8_t
cpu_share(const ml_sampler *s, const slot *sl, int i)
{
    uint64_t cpu = s->cpus[i], at = s->cpu_at[i];
    if (cpu == 0 || sl->last_cpu_ns == 0 || cpu < sl->last_cpu_ns
        || at <= sl->last_at_ns) {
        return ML_CPU_UNKNOWN;
    }
    uint64_t used = cpu - sl->last_cpu_ns, wall = at - sl->last_at_ns;
    if (used >= wall) {
        return ML_CPU_FULL;
    }
    return (uint8_t)((used * ML_CPU_FULL + wall / 2) / wall);
}

/* Writes the sample of thread i of this round. */
static int
record_thread(ml_sampler *s, int i, int n_round, uint64_t t_us)
{
    const ml_pythread *t = &s->threads[i];
    uint64_t tid = s->tids[i];
    if (is_ignored(s, tid)) {
        /* microlog's own threads, or one doing microlog's work now: a
         * program thread among them lives on, unsampled. */
        slot *sl = find_slot(s, i, t, tid);
        if (sl != NULL) {
            sl->seen = s->round;
        }
        return ML_OK;
    }
    if ((tid == 0 && t->nframes == 0) || not_started(s, i, n_round)) {
        /* microlog's own threads, and thread states being created or torn
         * down (no kernel id yet, no frames, or still the creator's). */
        return ML_OK;
    }
    slot *sl = find_slot(s, i, t, tid);
    int err;
    if (sl == NULL && (err = new_slot(s, t, tid, t_us, &sl)) < 0) {
        return err;
    }
    sl->seen = s->round;
    if (sl->name_pending && (err = name_pending_slot(s, sl, t_us)) < 0) {
        return err;
    }
    uint32_t stack;
    const ml_pyframe *frames = s->frames + (size_t)i * MAX_DEPTH;
    int partial = t->truncated || t->broken;
    int n = partial ? t->nframes : visible_depth(s, frames, t->nframes);
    int root = t->truncated ? ML_ROOT_TRUNCATED
               : t->broken  ? ML_ROOT_UNREADABLE
                            : ML_ROOT_WHOLE;
    err = ml_stackmap_intern(s->stacks, &s->codes, s->sink->writer, &sl->cache,
                             frames, n, root, &stack);
    if (err < 0) {
        return err;
    }
    uint8_t cpu = cpu_share(s, sl, i);
    uint8_t state = thread_state(s, sl, t, i, stack);
    return ml_writer_sample_cpu(s->sink->writer, sl->writer_id, t_us, stack,
                                state, cpu);
}

static int
record_round(ml_sampler *s, int n, uint64_t now_ns)
{
    uint64_t t_us = ml_sink_time_us(s->sink, now_ns);
    int first = ml_sink_check(s->sink, follow_file(s, t_us));
    s->round++;
    /* A thread that cannot be recorded (a limit reached) costs its own
     * sample, not the others', nor the flush. */
    for (int i = 0; i < n; i++) {
        int err = record_thread(s, i, n, t_us);
        if (err < 0 && first == 0) {
            first = ml_sink_check(s->sink, err);
        }
    }
    int err = end_missing(s, t_us, 0);
    if (err < 0 && first == 0) {
        first = ml_sink_check(s->sink, err);
    }
    trim_caches(s);
    return first;
}

/* ---- the thread -------------------------------------------------------- */

static void
tick(ml_sampler *s, uint64_t now_ns)
{
    if (s->sink->failed) {
        return; /* the file cannot be written: nothing more to record */
    }
    if (s->fallback) {
        PyEval_RestoreThread(s->tstate);
    }
    int n = read_stacks(s);
    /* Each thread's CPU clock right after the stacks, before waiting for
     * the lock: the state must describe the moment of the stack. */
    for (int i = 0; i < n; i++) {
        const ml_pythread *t = &s->threads[i];
        s->tids[i] = t->native_id ? t->native_id : ml_tid_of(t->thread_id);
        /* microlog's own threads are not recorded: no clock to read. */
        s->cpus[i] = is_ignored(s, s->tids[i]) ? 0 : ml_tid_cpu_ns(s->tids[i]);
        s->cpu_at[i] = ml_clock_mono_ns();
    }
    ml_sink_lock(s->sink);
    if (n >= 0) {
        record_round(s, n, now_ns);
    }
    /* Flushed every second whatever the round found. */
    ml_sink_tick(s->sink, now_ns);
    int drop = s->drop_fallback_codes;
    s->drop_fallback_codes = 0;
    ml_sink_unlock(s->sink);
    if (s->fallback) {
        if (drop) {
            ml_pyfallback_clear(s->fb); /* may run Python: off the lock */
        }
        PyEval_SaveThread();
    }
}

/* Asks the scheduler for a short time slice (Linux 6.12+, EEVDF: a
 * SCHED_OTHER task may set sched_runtime, no privilege needed): a task
 * with a short slice has an early deadline, so on waking it runs before
 * the program's busy threads finish their slices, instead of waiting for
 * one (late ticks: the achieved interval). Older kernels refuse it or
 * ignore it; nothing else changes. */
static void
short_slice(void)
{
    struct { /* the kernel's struct sched_attr, first version (48 bytes) */
        uint32_t size, sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime, sched_deadline, sched_period;
    } attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.sched_policy = SCHED_OTHER;
    attr.sched_runtime = 100000; /* 100 us, the smallest allowed */
    syscall(SYS_sched_setattr, 0, &attr, 0);
}

static void *
run(void *arg)
{
    ml_sampler *s = arg;
    ml_wake_block_signals();
    /* Wake-ups within a microsecond of the deadline, not the default 50. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    short_slice();
    PyGILState_STATE gil = PyGILState_UNLOCKED;
    if (s->fallback) {
        /* One thread state for the sampler's life, made by this thread
         * (so it carries this thread's ids), not one per tick. */
        gil = PyGILState_Ensure();
        s->tstate = PyEval_SaveThread();
    }
    uint64_t deadline = ml_clock_mono_ns();
    while (!ml_wake_stopped(&s->wake)) {
        uint64_t now = ml_clock_mono_ns();
        if (now > deadline + s->interval_ns) {
            /* Far behind (no core for a while, a pause): skip the ticks
             * missed, do not burst, but stay on the grid: starting again
             * from now would lose part of an interval at every late tick
             * (on a busy machine, a few percent of the rate). */
            s->stats.late_ticks++;
            deadline += (now - deadline) / s->interval_ns * s->interval_ns;
        }
        if (s->stats.ticks == 0) {
            s->first_tick_ns = now;
        }
        tick(s, now);
        s->last_tick_ns = now;
        s->stats.ticks++;
        deadline += s->interval_ns;
        ml_wake_sleep_until(&s->wake, deadline);
    }
    s->stats.cpu_ns = ml_clock_thread_cpu_ns();
    if (s->fallback) {
        /* The recording stops before the interpreter is torn down (an
         * atexit handler), so the GIL can still be had here. */
        PyEval_RestoreThread(s->tstate);
        PyGILState_Release(gil);
        s->tstate = NULL;
    }
    return NULL;
}

/* ---- lifetime ---------------------------------------------------------- */

static int
open_source(ml_sampler *s, int want_fallback)
{
    if (!want_fallback && ml_pywalk_new(&s->walk) == 0) {
        s->codes = (ml_codesource){walk_code, walk_line, s->walk};
        ml_pywalk_gil(s->walk, &s->gil_addr, &s->gil_size);
        return ML_OK;
    }
    s->fallback = 1;
    if (ml_pyfallback_new(&s->fb) < 0) {
        return ML_ENOMEM;
    }
    s->codes = (ml_codesource){fb_code, fb_line, s->fb};
    return ML_OK;
}

int
ml_sampler_start(ml_sink *sink, const ml_sampler_config *cfg, ml_sampler **out)
{
    ml_sampler *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return ML_ENOMEM;
    }
    if (ml_wake_init(&s->wake) < 0) {
        free(s);
        return ML_ENOMEM;
    }
    s->sink = sink;
    s->interval_ns = cfg->interval_ns ? cfg->interval_ns : 1000000;
    s->cache_entries = cfg->cache_entries ? cfg->cache_entries : 65536;
    /* A round's stacks are read over tens of microseconds anyway: a round
     * within 1/16 of the interval of its expected time is stored at it,
     * and costs no bytes for its time. */
    uint32_t interval_us = (uint32_t)(s->interval_ns / 1000);
    ml_sink_lock(sink);
    ml_sink_set_rounds(sink, interval_us, interval_us / 16);
    ml_sink_unlock(sink);
    ml_tid_init();
    int err = open_source(s, cfg->fallback);
    /* Untouched pages of these buffers cost no memory: only the frames
     * actually walked are ever written. */
    s->threads = calloc(MAX_THREADS, sizeof *s->threads);
    s->frames = calloc((size_t)MAX_THREADS * MAX_DEPTH, sizeof *s->frames);
    s->tids = calloc(MAX_THREADS, sizeof *s->tids);
    s->cpus = calloc(MAX_THREADS, sizeof *s->cpus);
    s->cpu_at = calloc(MAX_THREADS, sizeof *s->cpu_at);
    if (err == 0
        && (s->threads == NULL || s->frames == NULL || s->tids == NULL
            || s->cpus == NULL || s->cpu_at == NULL)) {
        err = ML_ENOMEM;
    }
    if (err == 0) {
        err = ml_stackmap_new(&s->stacks);
    }
    if (err == 0 && cfg->main_ident != 0) {
        /* Named at its first sample, not defined once unnamed and again
         * when the status thread's first reading names it. */
        ml_sink_lock(sink);
        err = ml_sampler_name_started(s, cfg->main_ident, (uint64_t)getpid(),
                                      "MainThread");
        ml_sink_unlock(sink);
    }
    if (err == 0 && pthread_create(&s->thread, NULL, run, s) != 0) {
        err = ML_ENOMEM;
    }
    if (err < 0) {
        ml_sampler_free(s);
        return err;
    }
    s->started = 1;
    s->stats.mode = s->fallback ? "fallback" : "native";
    *out = s;
    return ML_OK;
}

int
ml_sampler_stop(ml_sampler *s, ml_sampler_stats *stats)
{
    if (s->started) {
        ml_wake_stop(&s->wake);
        pthread_join(s->thread, NULL);
        s->started = 0;
    }
    ml_sink_lock(s->sink);
    uint64_t t_us = ml_sink_time_us(s->sink, ml_clock_mono_ns());
    ml_sink_check(s->sink, follow_file(s, t_us));
    int err = ml_sink_check(s->sink, end_missing(s, t_us, 1));
    ml_sink_unlock(s->sink);
    s->stats.elapsed_ns = s->last_tick_ns - s->first_tick_ns;
    if (stats != NULL) {
        *stats = s->stats;
    }
    return err;
}

void
ml_sampler_free(ml_sampler *s)
{
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < s->nslots; i++) {
        ml_stackcache_free(&s->slots[i].cache);
        ml_tid_files_close(&s->slots[i].proc);
    }
    free(s->slots);
    ml_stackmap_free(s->stacks);
    ml_pywalk_free(s->walk);
    ml_pyfallback_free(s->fb);
    free(s->threads);
    free(s->frames);
    free(s->tids);
    free(s->cpus);
    free(s->cpu_at);
    ml_wake_destroy(&s->wake);
    free(s);
}

int
ml_sampler_fallback(const ml_sampler *s)
{
    return s->fallback;
}

/* Writes name as sl's name unless it has it already. */
static int
name_slot(ml_sampler *s, slot *sl, const char *name, uint64_t t_us)
{
    if (is_ignored(s, sl->tid)) {
        /* One of microlog's threads (never sampled), or a program thread
         * running microlog's code now (the main thread in start()): kept
         * for its next sample, so the name is not lost. */
        snprintf(sl->name, sizeof sl->name, "%s", name);
        sl->name_pending = 1;
        return ML_OK;
    }
    sl->name_pending = 0;
    size_t len = strlen(name);
    uint64_t h = ml_hash_bytes(name, len) | 1;
    if (sl->name_hash == h) {
        return ML_OK;
    }
    uint32_t id;
    ml_writer *w = s->sink->writer;
    int err = ml_writer_string(w, name, len, &id);
    if (err == 0) {
        err = ml_writer_thread_name(w, sl->writer_id, t_us, id);
    }
    if (err == 0) {
        sl->name_hash = h;
        snprintf(sl->name, sizeof sl->name, "%s", name);
    }
    return err;
}

int
ml_sampler_name_thread(ml_sampler *s, uint64_t ident, const char *name)
{
    uint64_t t_us = ml_sink_time_us(s->sink, ml_clock_mono_ns());
    int e = follow_file(s, t_us);
    if (e < 0) {
        return ml_sink_check(s->sink, e);
    }
    for (int i = 0; i < s->nslots; i++) {
        if (s->slots[i].ident == ident) {
            int err = name_slot(s, &s->slots[i], name, t_us);
            if (err < 0) {
                return ml_sink_check(s->sink, err);
            }
        }
    }
    return ML_OK;
}

int
ml_sampler_name_started(ml_sampler *s, uint64_t ident, uint64_t tid,
                        const char *name)
{
    uint64_t t_us = ml_sink_time_us(s->sink, ml_clock_mono_ns());
    int e = follow_file(s, t_us);
    if (e < 0) {
        return ml_sink_check(s->sink, e);
    }
    for (int i = 0; i < s->nslots; i++) {
        slot *sl = &s->slots[i];
        if (sl->ident == ident && sl->tid == tid) {
            return ml_sink_check(s->sink, name_slot(s, sl, name, t_us));
        }
    }
    for (int i = 0; i < MAX_EARLY_NAMES && i < s->nended; i++) {
        if (s->ended[i].ident == ident && s->ended[i].tid == tid) {
            slot gone = {.ident = ident,
                         .tid = tid,
                         .writer_id = s->ended[i].writer_id};
            s->ended[i].ident = 0;
            return ml_sink_check(s->sink, name_slot(s, &gone, name, t_us));
        }
    }
    /* Not sampled yet (it may never be, if it ends within an interval):
     * its first sample takes the name. */
    int at = s->nearly++ % MAX_EARLY_NAMES;
    s->early[at].ident = ident;
    s->early[at].tid = tid;
    snprintf(s->early[at].name, sizeof s->early[at].name, "%s", name);
    return ML_OK;
}

int
ml_sampler_hide_root_code(ml_sampler *s, uint64_t code)
{
    if (s->nhidden == MAX_HIDDEN) {
        return ML_ELIMIT;
    }
    s->hidden[s->nhidden++] = code;
    return ML_OK;
}

/* Writes the names given to thread tid while it was ignored. */
static void
name_unignored(ml_sampler *s, uint64_t tid)
{
    ml_sink_lock(s->sink);
    uint64_t t_us = ml_sink_time_us(s->sink, ml_clock_mono_ns());
    int err = follow_file(s, t_us);
    for (int i = 0; i < s->nslots && err == ML_OK; i++) {
        slot *sl = &s->slots[i];
        if (sl->tid == tid && sl->name_pending) {
            err = name_pending_slot(s, sl, t_us);
        }
    }
    ml_sink_check(s->sink, err);
    ml_sink_unlock(s->sink);
}

void
ml_sampler_unignore_tid(ml_sampler *s, uint64_t tid)
{
    for (int i = 0; i < MAX_IGNORED; i++) {
        unsigned long long expected = tid;
        if (tid != 0
            && atomic_compare_exchange_strong(&s->ignored[i], &expected, 0)) {
            /* A program thread back from microlog's work (start()): a name
             * it was given meanwhile is written now, not at its next
             * sample, which a short run may never take. */
            name_unignored(s, tid);
            return;
        }
    }
}

int
ml_sampler_ignore_tid(ml_sampler *s, uint64_t tid)
{
    if (is_ignored(s, tid)) {
        return 0;
    }
    for (int i = 0; i < MAX_IGNORED; i++) {
        unsigned long long expected = 0;
        if (atomic_compare_exchange_strong(&s->ignored[i], &expected, tid)) {
            return 1;
        }
    }
    return 0;
}

/* ---- files and caches -------------------------------------------------- */

/* After the sink went on in a new file (ml_sink_rollover), the writer ids
 * kept here are the old file's: the threads still running are defined
 * again, with their names, and the stack cache starts over. */
static int
follow_file(ml_sampler *s, uint64_t t_us)
{
    if (s->file_gen == s->sink->gen) {
        return ML_OK;
    }
    s->file_gen = s->sink->gen;
    ml_stackmap_clear(s->stacks);
    memset(s->ended, 0, sizeof s->ended);
    s->nended = 0;
    ml_writer *w = s->sink->writer;
    int err = ML_OK;
    for (int i = 0; i < s->nslots && err == 0; i++) {
        slot *sl = &s->slots[i];
        uint32_t name = 0;
        if (sl->name_hash != 0) {
            err = ml_writer_string(w, sl->name, strlen(sl->name), &name);
        }
        if (err == 0) {
            err = ml_writer_thread(w, t_us, sl->tid, sl->ident, name,
                                   &sl->writer_id);
        }
        sl->last_stack = 0;
    }
    return err;
}

/* Empties the code and place caches once they hold more than their share
 * (a program that makes code objects all the time: exec, lambdas in a
 * loop), so a week-long run keeps bounded memory. Everything in them can
 * be resolved again; the writer's definitions stay. */
static void
trim_caches(ml_sampler *s)
{
    uint32_t codes, places;
    ml_stackmap_sizes(s->stacks, &codes, &places);
    uint32_t walker = s->fallback ? 0 : ml_pywalk_cache_count(s->walk);
    s->walker_codes = walker;
    ml_pywalk_walk_stats(s->walk, &s->walks_retried, &s->walks_failed);
    if (codes < s->cache_entries && walker < s->cache_entries
        && places < 8 * s->cache_entries) {
        return;
    }
    ml_stackmap_clear(s->stacks);
    if (s->fallback) {
        s->drop_fallback_codes = 1; /* after the lock (see tick) */
    } else {
        ml_pywalk_cache_clear(s->walk);
    }
    s->evictions++;
}

void
ml_sampler_cache_sizes(ml_sampler *s, uint32_t *codes, uint32_t *frames,
                       uint32_t *evictions)
{
    *codes = *frames = *evictions = 0;
    if (s == NULL) {
        return;
    }
    ml_stackmap_sizes(s->stacks, codes, frames);
    *codes = s->walker_codes > *codes ? s->walker_codes : *codes;
    *evictions = s->evictions;
}

int
ml_sampler_own_fds(const ml_sampler *s, int *fds, int max)
{
    int n = 0;
    for (int i = 0; s != NULL && i < s->nslots; i++) {
        const ml_tid_files *f = &s->slots[i].proc;
        if (f->stat_fd >= 0 && n < max) {
            fds[n++] = f->stat_fd;
        }
        if (f->syscall_fd >= 0 && n < max) {
            fds[n++] = f->syscall_fd;
        }
    }
    return n;
}

void
ml_sampler_forget_fork(ml_sampler *s)
{
    /* In a forked child, where the sampler thread does not exist: the
     * descriptors are copies the child must not keep. */
    for (int i = 0; s != NULL && i < s->nslots; i++) {
        ml_tid_files_close(&s->slots[i].proc);
    }
}

void
ml_sampler_walk_stats(const ml_sampler *s, uint64_t *retried, uint64_t *failed)
{
    *retried = s ? s->walks_retried : 0;
    *failed = s ? s->walks_failed : 0;
}
