// SPDX-License-Identifier: MIT
// Test extension `_walktest` for ml_pywalk: a native pthread samples all
// Python threads without the GIL while test_walk.py drives the program and
// asks for resolved stacks of given threads to compare with traceback.

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ml_pywalk.h"
#include "ml_saferead.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define MAXT 512
#define MAXD 1024

typedef struct {
    char name[256];
    char file[512];
    int line;
    uint64_t code;
} rframe;

/* Sampler state. The walker, the sample buffers and the counters are owned
 * by the sampler thread while it runs (start/stop hand them over under the
 * GIL); req_* and resp_* are protected by mu. */
static struct {
    pthread_t th;
    int running;
    atomic_int stop;
    ml_pywalk *w;
    ml_pythread threads[MAXT];
    ml_pyframe frames[MAXT * MAXD];
    int depth, interval_us, resolve_all;
    uint64_t samples, errors, resolve_errors, total_ns, max_ns, nthreads_max;
    uint64_t frames_total;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int req;
    uint64_t req_ident, req_seq;
    rframe resp[MAXD];
    int resp_n, resp_trunc, resp_found, resp_gil;
    uint64_t resp_native, resp_seq;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
resolve(ml_pywalk *w, const ml_pyframe *f, rframe *out)
{
    ml_pycode_info ci;

    if (ml_pywalk_code(w, f->code, &ci) != 0) {
        snprintf(out->name, sizeof(out->name), "?");
        snprintf(out->file, sizeof(out->file), "?");
        out->line = 0;
        return;
    }
    out->code = f->code;
    snprintf(out->name, sizeof(out->name), "%s", ci.name);
    snprintf(out->file, sizeof(out->file), "%s", ci.file);
    out->line = ml_pywalk_line(w, f->code, f->lasti);
}

static void
resolve_all(int n)
{
    ml_pycode_info ci;
    int i, k;

    for (i = 0; i < n; i++) {
        const ml_pyframe *f = S.frames + (size_t)i * S.depth;

        for (k = 0; k < S.threads[i].nframes; k++) {
            if (ml_pywalk_code(S.w, f[k].code, &ci) != 0 || ci.name == NULL
                || ci.file == NULL) {
                S.resolve_errors++;
            }
            ml_pywalk_line(S.w, f[k].code, f[k].lasti);
        }
    }
}

/* The stack_of() request pending when a sample starts, 0 if none: only a
 * sample that started after the request may answer it. */
static uint64_t
pending_request(void)
{
    uint64_t seq;

    pthread_mutex_lock(&S.mu);
    seq = S.req ? S.req_seq : 0;
    pthread_mutex_unlock(&S.mu);
    return seq;
}

/* Answers request seq from the sample just taken. */
static void
answer(int n, uint64_t seq)
{
    int i, k;

    pthread_mutex_lock(&S.mu);
    if (seq != 0 && S.req && S.req_seq == seq) {
        S.resp_found = 0;
        for (i = 0; i < n; i++) {
            const ml_pythread *t = &S.threads[i];

            if (t->thread_id != S.req_ident) {
                continue;
            }
            for (k = 0; k < t->nframes; k++) {
                resolve(S.w, S.frames + (size_t)i * S.depth + k, &S.resp[k]);
            }
            S.resp_n = t->nframes;
            S.resp_trunc = t->truncated || t->broken; /* partial */
            S.resp_gil = t->holds_gil;
            S.resp_native = t->native_id;
            S.resp_found = 1;
        }
        S.req = 0;
        S.resp_seq = S.req_seq;
        pthread_cond_broadcast(&S.cv);
    }
    pthread_mutex_unlock(&S.mu);
}

static void *
sampler(void *arg)
{
    (void)arg;
    while (!atomic_load(&S.stop)) {
        uint64_t seq = pending_request(), t0 = now_ns(), dt;
        int n = ml_pywalk_sample(S.w, S.threads, MAXT, S.frames, S.depth);

        dt = now_ns() - t0;
        S.samples++;
        S.total_ns += dt;
        S.max_ns = dt > S.max_ns ? dt : S.max_ns;
        if (n < 0) {
            S.errors++;
            continue;
        }
        S.nthreads_max =
            (uint64_t)n > S.nthreads_max ? (uint64_t)n : S.nthreads_max;
        for (int i = 0; i < n; i++) {
            S.frames_total += (uint64_t)S.threads[i].nframes;
        }
        if (S.resolve_all) {
            resolve_all(n);
        }
        answer(n, seq);
        if (S.interval_us > 0) {
            struct timespec ts = {0, (long)S.interval_us * 1000};

            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static PyObject *
wt_start(PyObject *self, PyObject *args)
{
    int depth = MAXD, interval = 100, resolve = 1, fallback = 0, rc;

    (void)self;
    if (!PyArg_ParseTuple(args, "|iiii", &depth, &interval, &resolve,
                          &fallback)) {
        return NULL;
    }
    if (S.running || depth <= 0 || depth > MAXD) {
        PyErr_SetString(PyExc_RuntimeError, "running or bad depth");
        return NULL;
    }
    if (fallback && ml_saferead_force(ML_SAFEREAD_FILE) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "cannot force fallback");
        return NULL;
    }
    if (!fallback && ml_saferead_mode() == ML_SAFEREAD_FILE) {
        ml_saferead_force(ML_SAFEREAD_VM);
    }
    if ((rc = ml_pywalk_new(&S.w)) != 0) {
        PyErr_Format(PyExc_RuntimeError, "ml_pywalk_new: %d", rc);
        return NULL;
    }
    S.depth = depth;
    S.interval_us = interval;
    S.resolve_all = resolve;
    S.samples = S.errors = S.resolve_errors = S.total_ns = S.max_ns = 0;
    S.nthreads_max = S.frames_total = 0;
    atomic_store(&S.stop, 0);
    if (pthread_create(&S.th, NULL, sampler, NULL) != 0) {
        ml_pywalk_free(S.w);
        S.w = NULL;
        PyErr_SetString(PyExc_RuntimeError, "pthread_create");
        return NULL;
    }
    S.running = 1;
    Py_RETURN_NONE;
}

static PyObject *
wt_stop(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    if (!S.running) {
        Py_RETURN_NONE;
    }
    atomic_store(&S.stop, 1);
    Py_BEGIN_ALLOW_THREADS pthread_join(S.th, NULL);
    Py_END_ALLOW_THREADS S.running = 0;
    ml_pywalk_free(S.w);
    S.w = NULL;
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:d,s:d,s:K,s:K,s:s}", "samples",
        (unsigned long long)S.samples, "errors", (unsigned long long)S.errors,
        "resolve_errors", (unsigned long long)S.resolve_errors, "mean_us",
        S.samples ? S.total_ns / 1e3 / (double)S.samples : 0.0, "max_us",
        S.max_ns / 1e3, "max_threads", (unsigned long long)S.nthreads_max,
        "frames", (unsigned long long)S.frames_total, "mode",
        ml_saferead_mode() == ML_SAFEREAD_VM ? "vm" : "file");
}

/* Waits (without the GIL) for a sample taken after this call. */
static int
wait_answer(uint64_t ident)
{
    struct timespec dl;
    uint64_t seq;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&S.mu);
    seq = ++S.req_seq;
    S.req_ident = ident;
    S.req = 1;
    while (S.resp_seq != seq && rc == 0) {
        rc = pthread_cond_timedwait(&S.cv, &S.mu, &dl);
    }
    pthread_mutex_unlock(&S.mu);
    return S.resp_seq == seq ? 0 : -1;
}

static PyObject *
wt_stack_of(PyObject *self, PyObject *args)
{
    unsigned long long ident;
    PyObject *list;
    int rc;

    (void)self;
    if (!PyArg_ParseTuple(args, "K", &ident)) {
        return NULL;
    }
    if (!S.running) {
        PyErr_SetString(PyExc_RuntimeError, "not running");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS rc = wait_answer(ident);
    Py_END_ALLOW_THREADS if (rc != 0)
    {
        PyErr_SetString(PyExc_TimeoutError, "sampler did not answer");
        return NULL;
    }
    if (!S.resp_found) {
        Py_RETURN_NONE;
    }
    if (!(list = PyList_New(S.resp_n))) {
        return NULL;
    }
    for (int k = 0; k < S.resp_n; k++) {
        PyObject *t = Py_BuildValue("(ssi)", S.resp[k].name, S.resp[k].file,
                                    S.resp[k].line);

        if (t == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k, t);
    }
    PyObject *codes = PyList_New(S.resp_n);

    if (codes == NULL) {
        Py_DECREF(list);
        return NULL;
    }
    for (int k = 0; k < S.resp_n; k++) {
        PyList_SET_ITEM(codes, k, PyLong_FromUnsignedLongLong(S.resp[k].code));
    }
    return Py_BuildValue("{s:N,s:N,s:i,s:i,s:K}", "frames", list, "codes",
                         codes, "truncated", S.resp_trunc, "holds_gil",
                         S.resp_gil, "native_id",
                         (unsigned long long)S.resp_native);
}

/* Times ml_pywalk_sample in the calling thread with the GIL released (the
 * sampler thread must be stopped). Returns (us per sample, us per sample
 * with every frame resolved, frames per sample). */
static PyObject *
wt_bench(PyObject *self, PyObject *args)
{
    static ml_pythread th[MAXT];       /* protected by the GIL */
    static ml_pyframe fr[MAXT * MAXD]; /* protected by the GIL */
    int iters, depth = MAXD, n = 0, rc;
    uint64_t t0, t1, t2, frames = 0;
    ml_pycode_info ci;
    ml_pywalk *w;

    (void)self;
    if (!PyArg_ParseTuple(args, "i|i", &iters, &depth) || S.running) {
        return PyErr_Occurred()
                   ? NULL
                   : PyErr_Format(PyExc_RuntimeError, "sampler running");
    }
    if ((rc = ml_pywalk_new(&w)) != 0) {
        return PyErr_Format(PyExc_RuntimeError, "ml_pywalk_new: %d", rc);
    }
    Py_BEGIN_ALLOW_THREADS t0 = now_ns();
    for (int i = 0; i < iters; i++) {
        n = ml_pywalk_sample(w, th, MAXT, fr, depth);
    }
    t1 = now_ns();
    for (int i = 0; i < iters; i++) {
        n = ml_pywalk_sample(w, th, MAXT, fr, depth);
        for (int j = 0; j < n; j++) {
            for (int k = 0; k < th[j].nframes; k++) {
                ml_pyframe *f = &fr[(size_t)j * depth + k];

                ml_pywalk_code(w, f->code, &ci);
                ml_pywalk_line(w, f->code, f->lasti);
            }
        }
    }
    t2 = now_ns();
    for (int j = 0; j < n; j++) {
        frames += (uint64_t)th[j].nframes;
    }
    Py_END_ALLOW_THREADS ml_pywalk_free(w);
    return Py_BuildValue("(ddK)", (t1 - t0) / 1e3 / iters,
                         (t2 - t1) / 1e3 / iters, (unsigned long long)frames);
}

/* Probes ml_saferead directly: good, NULL page, unmapped and kernel
 * addresses, in both modes, and a batch with a bad region in the middle. */
static PyObject *
wt_saferead_selftest(PyObject *self, PyObject *noargs)
{
    static const char src[] = "microlog-saferead";
    char dst[sizeof(src)], a[4], b[4], c[4];
    int bad = 0, modes[2] = {ML_SAFEREAD_VM, ML_SAFEREAD_FILE};

    (void)self;
    (void)noargs;
    for (int m = 0; m < 2; m++) {
        ml_saferead_req r[3] = {
            {a, (uint64_t)(uintptr_t)src, 4, 0},
            {b, 8, 4, 0},
            {c, (uint64_t)(uintptr_t)src + 4, 4, 0},
        };

        if (ml_saferead_force(modes[m]) != 0) {
            continue;
        }
        memset(dst, 0, sizeof(dst));
        bad += ml_saferead(dst, (uint64_t)(uintptr_t)src, sizeof(src)) != 0;
        bad += memcmp(dst, src, sizeof(src)) != 0;
        bad += ml_saferead(dst, 0, 8) != -1;
        bad += ml_saferead(dst, 4095, 8) != -1;
        bad += ml_saferead(dst, UINT64_C(0x10000), 8) != -1;
        bad += ml_saferead(dst, UINT64_C(0xffffffffff600000), 8) != -1;
        bad += ml_saferead(dst, UINT64_MAX - 3, 8) != -1;
        bad += ml_saferead_batch(r, 3) != 2;
        bad += !r[0].ok || r[1].ok || !r[2].ok;
        bad += memcmp(a, src, 4) != 0 || memcmp(c, src + 4, 4) != 0;
    }
    ml_saferead_force(ML_SAFEREAD_VM);
    return PyLong_FromLong(bad);
}

static PyMethodDef methods[] = {
    {"start", wt_start, METH_VARARGS, NULL},
    {"stop", wt_stop, METH_NOARGS, NULL},
    {"stack_of", wt_stack_of, METH_VARARGS, NULL},
    {"bench", wt_bench, METH_VARARGS, NULL},
    {"saferead_selftest", wt_saferead_selftest, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_walktest",
    NULL,
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__walktest(void)
{
    return PyModule_Create(&module);
}
