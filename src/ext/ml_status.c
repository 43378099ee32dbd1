// SPDX-License-Identifier: MIT
// Status probes and their thread (see ml_status.h).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ml_status.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "core/ml_wake.h"

#define MAX_NAMES 256
#define NAME_MAX_BYTES 128

enum {
    S_CPU,
    S_MODULES,
    S_RSS,
    S_OBJECTS,
    S_GC,
    S_THREADS,
    S_COUNT
};

static const char *const series_names[S_COUNT][2] = {
    [S_CPU] = {"cpu", "%"},
    [S_MODULES] = {"modules", "modules"},
    [S_RSS] = {"rss", "bytes"},
    [S_OBJECTS] = {"objects", "blocks"},
    [S_GC] = {"gc_collections", "collections"},
    [S_THREADS] = {"threads", "threads"},
};

typedef struct {
    uint64_t ident;
    char name[NAME_MAX_BYTES];
} thread_name;

/* What one reading with the GIL found. */
typedef struct {
    int64_t objects, gc;
    int nnames;
    thread_name names[MAX_NAMES];
} py_reading;

struct ml_status {
    ml_sink *sink;
    ml_sampler *sampler;
    uint64_t status_ns, memory_ns;
    uint64_t main_ident;
    uint32_t series[S_COUNT];
    pthread_t thread;
    int started;
    ml_wake wake; /* the stop, which also cuts a wait short */
    uint64_t last_cpu_ns, last_wall_ns;
    int statm_fd;       /* /proc/self/statm, open for the run (one pread a
                           reading, and no file opened while reports look) */
    py_reading reading; /* used by the status thread only */
    /* sys.modules and threading._active, held (strong references, taken
     * and dropped with the GIL) so that their sizes can be read at every
     * status reading without the GIL. Status thread only. */
    PyObject *modules_dict, *active_dict;
    int64_t modules_at_read; /* sys.modules' size at the last such reading */
};

/* ---- probes without the GIL -------------------------------------------- */

/* CPU percentages are kept to 1/64 %: far below what tools show (0.1 %)
 * and what a 0.1 s reading can tell (the thread wakes tens of us late),
 * and a double of a multiple of 1/64 under 2^16 has its low 4 bytes zero,
 * so a value costs the recording about 7 bytes compressed instead of 15. */
#define CPU_STEPS_PER_PERCENT 64.0

static double
quantize_percent(double pct)
{
    return nearbyint(pct * CPU_STEPS_PER_PERCENT) / CPU_STEPS_PER_PERCENT;
}

static double
cpu_percent(ml_status *st, uint64_t now_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    uint64_t cpu = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    double pct = 0;
    if (st->last_wall_ns && now_ns > st->last_wall_ns) {
        pct = 100.0 * (double)(cpu - st->last_cpu_ns)
              / (double)(now_ns - st->last_wall_ns);
    }
    st->last_cpu_ns = cpu;
    st->last_wall_ns = now_ns;
    return quantize_percent(pct);
}

static int64_t
rss_bytes(ml_status *st)
{
    char buf[128];
    long long size = 0, resident = 0;
    ssize_t len =
        st->statm_fd >= 0 ? pread(st->statm_fd, buf, sizeof buf - 1, 0) : -1;
    if (len <= 0) {
        return -1;
    }
    buf[len] = 0;
    int n = sscanf(buf, "%lld %lld", &size, &resident);
    return n == 2 ? resident * (int64_t)sysconf(_SC_PAGESIZE) : -1;
}

/* The number of entries of a dict this thread holds a reference to, read
 * without the GIL: one aligned word, which its owner updates in place. */
static int64_t
dict_len(PyObject *d)
{
    if (d == NULL) {
        return -1;
    }
    return (int64_t)__atomic_load_n(&((PyDictObject *)d)->ma_used,
                                    __ATOMIC_RELAXED);
}

/* ---- probes with the GIL ----------------------------------------------- */

static int
interpreter_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

static int64_t
call_count(const char *module, const char *func)
{
    PyObject *mod = PyImport_ImportModule(module);
    PyObject *res = mod ? PyObject_CallMethod(mod, func, NULL) : NULL;
    int64_t v = -1;
    if (res != NULL && PyLong_Check(res)) {
        v = PyLong_AsLongLong(res);
    } else if (res != NULL && PyList_Check(res)) {
        /* gc.get_stats(): one dict per generation. */
        v = 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(res); i++) {
            PyObject *c =
                PyDict_GetItemString(PyList_GET_ITEM(res, i), "collections");
            v += c ? PyLong_AsLongLong(c) : 0;
        }
    }
    Py_XDECREF(res);
    Py_XDECREF(mod);
    PyErr_Clear();
    return v;
}

/* Takes references to sys.modules and, once the program imported
 * threading, to threading._active (looked up again each time: a module
 * reloaded or replaced has a new one). */
static void
hold_dicts(ml_status *st)
{
    if (st->modules_dict == NULL) {
        PyObject *m = PyImport_GetModuleDict(); /* borrowed */
        if (m != NULL && PyDict_Check(m)) {
            Py_INCREF(m);
            st->modules_dict = m;
        }
    }
    PyObject *threading =
        st->modules_dict ? PyDict_GetItemString(st->modules_dict, "threading")
                         : NULL;
    PyObject *active =
        threading ? PyObject_GetAttrString(threading, "_active") : NULL;
    if (active != NULL && !PyDict_Check(active)) {
        Py_CLEAR(active);
    }
    Py_XSETREF(st->active_dict, active);
    PyErr_Clear();
}

static void
drop_dicts(ml_status *st)
{
    Py_CLEAR(st->modules_dict);
    Py_CLEAR(st->active_dict);
}

static void
read_thread_names(py_reading *r, PyObject *active, uint64_t main_ident)
{
    r->nnames = 0;
    if (main_ident != 0) {
        /* threading names it too once imported; until then, this. */
        r->names[0].ident = main_ident;
        snprintf(r->names[0].name, sizeof r->names[0].name, "MainThread");
        r->nnames = 1;
    }
    PyObject *key, *thread;
    Py_ssize_t pos = 0;
    while (active && PyDict_Check(active)
           && PyDict_Next(active, &pos, &key, &thread)
           && r->nnames < MAX_NAMES) {
        PyObject *name = PyObject_GetAttrString(thread, "_name");
        const char *s =
            name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
        if (s != NULL && PyLong_Check(key)) {
            thread_name *tn = &r->names[r->nnames++];
            tn->ident = (uint64_t)PyLong_AsUnsignedLongLongMask(key);
            snprintf(tn->name, sizeof tn->name, "%s", s);
        }
        Py_XDECREF(name);
    }
    PyErr_Clear();
}

/* One reading with the GIL, at the memory readings' pace: taking the GIL
 * from a busy program costs it a forced switch (a few hundred
 * microseconds in a VM), so the status readings in between go without
 * it. Returns 0, or -1 when the interpreter is going away and must not be
 * touched. */
static int
read_python(ml_status *st, PyThreadState *ts)
{
    py_reading *r = &st->reading;
    if (interpreter_finalizing()) {
        /* Not reached in a normal exit: the recording stops in an atexit
         * handler, before finalization starts. */
        return -1;
    }
    PyEval_RestoreThread(ts);
    hold_dicts(st);
    st->modules_at_read = dict_len(st->modules_dict);
    read_thread_names(r, st->active_dict, st->main_ident);
    r->objects = call_count("sys", "getallocatedblocks");
    r->gc = call_count("gc", "get_stats");
    PyEval_SaveThread();
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

static int
put_int(ml_status *st, int which, uint64_t t_us, int64_t v)
{
    if (v < 0) {
        return ML_OK;
    }
    ml_value val = {.tag = ML_TAG_INT};
    val.v.i = v;
    return ml_writer_value(st->sink->writer, st->series[which], t_us, &val);
}

static void
write_reading(ml_status *st, uint64_t now_ns, int memory, int have_py)
{
    double cpu = cpu_percent(st, now_ns);
    int64_t rss = memory ? rss_bytes(st) : -1;
    const py_reading *r = &st->reading;
    ml_sink_lock(st->sink);
    uint64_t t_us = ml_sink_time_us(st->sink, now_ns);
    ml_value v = {.tag = ML_TAG_F64};
    v.v.f = cpu;
    int err = ml_writer_value(st->sink->writer, st->series[S_CPU], t_us, &v);
    if (err == 0) {
        err = put_int(st, S_MODULES, t_us, dict_len(st->modules_dict));
    }
    if (err == 0) {
        err = put_int(st, S_THREADS, t_us, dict_len(st->active_dict));
    }
    if (err == 0 && have_py) {
        for (int i = 0; i < r->nnames && err == 0; i++) {
            err = ml_sampler_name_thread(st->sampler, r->names[i].ident,
                                         r->names[i].name);
        }
    }
    if (err == 0 && memory) {
        err = put_int(st, S_RSS, t_us, rss);
        if (err == 0 && have_py) {
            err = put_int(st, S_OBJECTS, t_us, r->objects);
        }
        if (err == 0 && have_py) {
            err = put_int(st, S_GC, t_us, r->gc);
        }
    }
    ml_sink_check(st->sink, err);
    /* The sampler ticks the writer every round; this tick keeps the
     * one-second flush when the sampler cannot run (the fallback waiting
     * for the GIL, a stall). */
    ml_sink_tick(st->sink, now_ns);
    ml_sink_unlock(st->sink);
}

/* 1 while threading._active is not held yet and modules were imported
 * since the last reading with the GIL: threading may be among them, and
 * then the thread count need not wait for the next memory reading. */
static int
threading_maybe_new(ml_status *st)
{
    return st->active_dict == NULL
           && dict_len(st->modules_dict) != st->modules_at_read;
}

/* ---- the thread -------------------------------------------------------- */

static void *
run(void *arg)
{
    ml_status *st = arg;
    ml_wake_block_signals();
    /* This thread holds a Python thread state while it reads: keep it out
     * of the samples. */
    ml_sampler_ignore_tid(st->sampler, (uint64_t)gettid());
    /* One thread state for the thread's life, made here (so it carries
     * this thread's ids); the GIL is taken only for the readings. */
    PyGILState_STATE gil = PyGILState_Ensure();
    PyThreadState *ts = PyEval_SaveThread();
    uint64_t next = ml_clock_mono_ns();
    uint64_t next_memory = next;
    int stop = 0;
    while (!stop) {
        uint64_t now = ml_clock_mono_ns();
        int memory = now >= next_memory;
        int have_py =
            (memory || threading_maybe_new(st)) && read_python(st, ts) == 0;
        write_reading(st, now, memory, have_py);
        if (memory) {
            next_memory = now + st->memory_ns;
        }
        next += st->status_ns;
        if (next < now) {
            next = now + st->status_ns;
        }
        uint64_t wake = next < next_memory ? next : next_memory;
        stop = ml_wake_sleep_until(&st->wake, wake);
    }
    if (!interpreter_finalizing()) {
        PyEval_RestoreThread(ts);
        drop_dicts(st);
        PyGILState_Release(gil);
    }
    return NULL;
}

/* ---- lifetime ---------------------------------------------------------- */

static int
define_series(ml_status *st)
{
    int err = 0;
    ml_sink_lock(st->sink);
    for (int i = 0; i < S_COUNT && err == 0; i++) {
        /* Defined again, under the same ids, in every later file. */
        err = ml_sink_series(st->sink, ML_SERIES_STATUS, series_names[i][0],
                             series_names[i][1], &st->series[i]);
    }
    ml_sink_unlock(st->sink);
    return err;
}

int
ml_status_start(ml_sink *sink, ml_sampler *sampler,
                const ml_status_config *cfg, ml_status **out)
{
    ml_status *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return ML_ENOMEM;
    }
    st->sink = sink;
    st->sampler = sampler;
    st->status_ns = cfg->status_ns ? cfg->status_ns : 100000000u;
    st->memory_ns = cfg->memory_ns ? cfg->memory_ns : 1000000000u;
    st->main_ident = cfg->main_ident;
    st->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    int err = ml_wake_init(&st->wake);
    if (err < 0) {
        ml_status_forget_fork(st);
        free(st);
        return err;
    }
    if ((err = define_series(st)) == 0
        && pthread_create(&st->thread, NULL, run, st) != 0) {
        err = ML_ENOMEM;
    }
    if (err < 0) {
        ml_status_free(st);
        return err;
    }
    st->started = 1;
    *out = st;
    return ML_OK;
}

int
ml_status_stop(ml_status *st)
{
    if (!st->started) {
        return ML_OK;
    }
    ml_wake_stop(&st->wake);
    pthread_join(st->thread, NULL);
    st->started = 0;
    return ML_OK;
}

void
ml_status_free(ml_status *st)
{
    if (st == NULL) {
        return;
    }
    ml_wake_destroy(&st->wake);
    ml_status_forget_fork(st);
    free(st);
}

int
ml_status_own_fd(const ml_status *st)
{
    return st != NULL ? st->statm_fd : -1;
}

void
ml_status_forget_fork(ml_status *st)
{
    if (st != NULL && st->statm_fd >= 0) {
        close(st->statm_fd);
        st->statm_fd = -1;
    }
}
