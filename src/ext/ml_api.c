// SPDX-License-Identifier: MIT
// The functions of microlog._microlog that control a recording: start(),
// stop(), is_running(). Arguments are checked by the Python glue
// (python/microlog/_config.py) and again here; errors become Python
// exceptions only here, never inside the sampler or status threads.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include "ml_api.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/ml_error.h"
#include "ml_events.h"
#include "ml_recorder.h"
#include "ml_term.h"

/* The recording in progress, if any. Protected by the GIL; read without it
 * only by the fork handlers, which run in the thread calling fork() (and so
 * holding the GIL when fork comes from os.fork). */
static ml_recorder *active;
static int atfork_registered;
/* Code objects hidden at the root of stacks, kept alive while recording.
 * Protected by the GIL. */
static PyObject *hidden_codes;

static void
before_fork(void)
{
    if (active != NULL) {
        ml_recorder_before_fork(active);
    }
}

static void
after_fork_parent(void)
{
    if (active != NULL) {
        ml_recorder_after_fork_parent(active);
    }
}

static void
after_fork_child(void)
{
    if (active != NULL) {
        /* Nothing here may call into Python: the interpreter is not yet
         * ready in the child (PyOS_AfterFork_Child runs after us). */
        ml_events_forget_fork();
        ml_term_forget_fork();
        ml_recorder_after_fork_parent(active); /* this thread holds it */
        ml_recorder_abandon(active);
        active = NULL;
    }
}

static uint64_t
seconds_to_ns(double s)
{
    return (uint64_t)(s * 1e9 + 0.5);
}

static PyObject *
raise_ml(int err, const char *path)
{
    if (err == ML_EIO) {
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    }
    return PyErr_Format(PyExc_RuntimeError, "microlog: %s: %s", path,
                        ml_strerror(err));
}

/* Writes every item of a str -> str|int dict as run metadata. */
static int
write_meta(ml_recorder *r, PyObject *meta)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(meta, &pos, &key, &value)) {
        const char *k = PyUnicode_AsUTF8(key);
        if (k == NULL) {
            return -1;
        }
        if (PyLong_Check(value)) {
            unsigned long long v = PyLong_AsUnsignedLongLong(value);
            if (PyErr_Occurred()) {
                return -1;
            }
            ml_recorder_meta_uint(r, k, v);
            continue;
        }
        const char *v = PyUnicode_AsUTF8(value);
        if (v == NULL) {
            return -1;
        }
        ml_recorder_meta_str(r, k, v);
    }
    return 0;
}

static int
check_interval(const char *what, double v, double min)
{
    if (!(v >= min && v <= 3600.0)) {
        PyErr_Format(PyExc_ValueError,
                     "microlog: %s must be between %g and 3600 seconds, "
                     "not %g",
                     what, min, v);
        return -1;
    }
    return 0;
}

PyObject *
ml_api_start(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"path",
                             "interval",
                             "status_interval",
                             "memory_interval",
                             "sampler",
                             "meta",
                             "main_ident",
                             "rollover_bytes",
                             "rollover_seconds",
                             "cache_entries",
                             NULL};
    const char *path, *sampler = "auto";
    double interval = 0.001, status = 0.1, memory = 1.0, roll_s = 0;
    PyObject *meta = NULL;
    unsigned long long main_ident = 0, roll_bytes = 0;
    unsigned int cache_entries = 0;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "s|$dddsO!KKdI", kwlist, &path, &interval, &status,
            &memory, &sampler, &PyDict_Type, &meta, &main_ident, &roll_bytes,
            &roll_s, &cache_entries)) {
        return NULL;
    }
    if (!(roll_s >= 0 && roll_s <= 366.0 * 86400)) {
        return PyErr_Format(PyExc_ValueError,
                            "microlog: rollover_seconds must be between 0 "
                            "(never) and a year, not %g",
                            roll_s);
    }
    if (cache_entries != 0
        && (cache_entries < 64 || cache_entries > 1u << 22)) {
        return PyErr_Format(PyExc_ValueError,
                            "microlog: cache_entries must be 0 (default) or "
                            "64 to 4194304, not %u",
                            cache_entries);
    }
    if (check_interval("the sample delay", interval, 0.00005) < 0
        || check_interval("the status delay", status, 0.001) < 0
        || check_interval("the memory delay", memory, 0.001) < 0) {
        return NULL;
    }
    if (strcmp(sampler, "auto") != 0 && strcmp(sampler, "native") != 0
        && strcmp(sampler, "fallback") != 0) {
        return PyErr_Format(PyExc_ValueError,
                            "microlog: sampler must be auto, native or "
                            "fallback, not %s",
                            sampler);
    }
    if (!ml_events_main_interp()) {
        /* The sampler reads the main interpreter's threads, and what a
         * recording keeps must outlive the interpreter that made it. */
        return PyErr_Format(PyExc_RuntimeError,
                            "microlog: recordings run in the main "
                            "interpreter only, not in a subinterpreter");
    }
    if (active != NULL) {
        return PyErr_Format(PyExc_RuntimeError,
                            "microlog: a recording is already running");
    }
    if (!atfork_registered) {
        pthread_atfork(before_fork, after_fork_parent, after_fork_child);
        atfork_registered = 1;
    }
    ml_recorder_config cfg = {
        .path = path,
        .interval_ns = seconds_to_ns(interval),
        .status_ns = seconds_to_ns(status),
        .memory_ns = seconds_to_ns(memory),
        .fallback = strcmp(sampler, "fallback") == 0,
        .main_ident = main_ident,
        .rollover_bytes = roll_bytes,
        .rollover_ns = seconds_to_ns(roll_s),
        .cache_entries = cache_entries,
    };
    ml_recorder *r;
    errno = 0;
    int err = ml_recorder_start(&cfg, &r);
    if (err < 0) {
        return raise_ml(err, path);
    }
    active = r;
    ml_events_attach(r);
    if (strcmp(sampler, "native") == 0
        && strcmp(ml_recorder_mode(r), "native") != 0) {
        /* Asked for explicitly: not having it is an error. */
        ml_recorder_result res;
        active = NULL;
        ml_events_detach();
        ml_recorder_stop(r, 0, &res);
        return PyErr_Format(PyExc_RuntimeError,
                            "microlog: the GIL-free sampler cannot run in "
                            "this interpreter");
    }
    ml_recorder_meta_str(r, "sampler", ml_recorder_mode(r));
    ml_recorder_meta_uint(r, "interval_us", (uint64_t)(interval * 1e6 + 0.5));
    if (meta != NULL && write_meta(r, meta) < 0) {
        ml_recorder_result res;
        active = NULL;
        ml_events_detach();
        ml_recorder_stop(r, 0, &res);
        return NULL; /* the metadata's own error */
    }
    /* On disk at once: a run killed within its first second (a pool's
     * worker terminated early) is still a readable run with its metadata,
     * not a bare file header. */
    ml_recorder_flush(r);
    return PyUnicode_FromString(ml_recorder_mode(r));
}

static PyObject *
result_dict(const ml_recorder_result *res)
{
    return Py_BuildValue("{s:d,s:K,s:K,s:K,s:d,s:d,s:s,s:I}", "duration_s",
                         (double)res->duration_us / 1e6, "bytes",
                         (unsigned long long)res->bytes, "samples",
                         (unsigned long long)res->samples, "ticks",
                         (unsigned long long)res->ticks,
                         "achieved_interval_us", res->achieved_interval_us,
                         "sampler_cpu_s", (double)res->sampler_cpu_ns / 1e9,
                         "sampler", res->mode, "files", res->files);
}

PyObject *
ml_api_stop(PyObject *module, PyObject *args)
{
    long long exit_status = 0;
    (void)module;
    if (!PyArg_ParseTuple(args, "|L", &exit_status)) {
        return NULL;
    }
    if (active == NULL || !ml_events_main_interp()) {
        Py_RETURN_NONE; /* a subinterpreter's: not its recording */
    }
    ml_recorder *r = active;
    active = NULL;
    ml_events_detach();
    ml_term_begin_stop(); /* a SIGTERM now waits for the stop */
    ml_recorder_result res;
    int err = ml_recorder_stop(r, exit_status, &res);
    ml_term_end_stop();
    Py_CLEAR(hidden_codes);
    /* A recording that could not be written completely has said so on
     * stderr when it happened; stop() must not fail the program for it. */
    PyObject *d = result_dict(&res);
    if (d != NULL) {
        PyObject *e = Py_None;
        Py_INCREF(e);
        if (err < 0) {
            Py_DECREF(e);
            e = PyUnicode_FromString(ml_strerror(err));
        }
        if (e == NULL || PyDict_SetItemString(d, "error", e) < 0) {
            Py_CLEAR(d);
        }
        Py_XDECREF(e);
    }
    return d;
}

PyObject *
ml_api_hide_root_frames(PyObject *module, PyObject *codes)
{
    (void)module;
    if (active == NULL || !ml_events_main_interp()) {
        Py_RETURN_NONE; /* disabled: nothing to hide frames from */
    }
    PyObject *seq = PySequence_Fast(codes, "expected a sequence of code "
                                           "objects");
    if (seq == NULL) {
        return NULL;
    }
    if (hidden_codes == NULL && (hidden_codes = PyList_New(0)) == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *code = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyCode_Check(code)) {
            Py_DECREF(seq);
            return PyErr_Format(PyExc_TypeError,
                                "microlog: expected code objects, not %s",
                                Py_TYPE(code)->tp_name);
        }
        if (PyList_Append(hidden_codes, code) < 0) {
            Py_DECREF(seq);
            return NULL;
        }
        ml_recorder_hide_root_code(active, (uint64_t)(uintptr_t)code);
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

PyObject *
ml_api_log(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"level", "source", "text", "frame", NULL};
    unsigned int level;
    unsigned char source;
    const char *text;
    Py_ssize_t len;
    PyObject *frame = NULL;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Ibs#|O", kwlist, &level,
                                     &source, &text, &len, &frame)) {
        return NULL;
    }
    if (frame != NULL && frame != Py_None && !PyFrame_Check(frame)) {
        return PyErr_Format(PyExc_TypeError,
                            "microlog: frame must be a frame or None");
    }
    if (source >= ML_LOG_SOURCE_COUNT) {
        return PyErr_Format(PyExc_ValueError,
                            "microlog: unknown log source %u", source);
    }
    ml_events_log(level, source, text, (size_t)len,
                  frame == NULL ? NULL : (PyFrameObject *)frame);
    Py_RETURN_NONE;
}

PyObject *
ml_api_end_on_term(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (active == NULL || !ml_events_main_interp()) {
        Py_RETURN_FALSE;
    }
    return PyBool_FromLong(ml_term_arm(active));
}

PyObject *
ml_api_native_threads(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    /* The sampler, status and writer threads run exactly while a
     * recording does (ml_recorder_start starts all three or none), and
     * SIGTERM's while it is armed. */
    return PyLong_FromLong(active != NULL ? 3 + ml_term_armed() : 0);
}

PyObject *
ml_api_is_running(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyBool_FromLong(active != NULL && ml_events_main_interp());
}

PyObject *
ml_api_current_path(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (active == NULL) {
        Py_RETURN_NONE;
    }
    char path[4096];
    ml_recorder_current_path(active, path, sizeof path);
    return PyUnicode_DecodeFSDefault(path);
}

PyObject *
ml_api_stats(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (active == NULL) {
        Py_RETURN_NONE;
    }
    ml_recorder_stats st;
    ml_recorder_stats_get(active, &st);
    return Py_BuildValue("{s:K,s:I,s:I,s:I,s:I,s:I,s:I,s:K,s:K,s:K}",
                         "samples", (unsigned long long)st.samples, "files",
                         st.files, "definitions", st.defs, "threads",
                         st.threads, "cached_codes", st.codes, "cached_places",
                         st.frames, "evictions", st.evictions, "queued_bytes",
                         (unsigned long long)st.queued, "walks_retried",
                         (unsigned long long)st.walks_retried, "walks_failed",
                         (unsigned long long)st.walks_failed);
}

PyObject *
ml_api_own_fds(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    int fds[1024];
    int n = active != NULL ? ml_recorder_own_fds(active, fds, 1024) : 0;
    PyObject *out = PyList_New(0);
    for (int i = 0; out != NULL && i < n; i++) {
        PyObject *v = PyLong_FromLong(fds[i]);
        if (v == NULL || PyList_Append(out, v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(out);
            break;
        }
        Py_DECREF(v);
    }
    return out;
}
