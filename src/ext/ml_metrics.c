// SPDX-License-Identifier: MIT
// Metric series, values and reports from Python, and the open/socket audit
// hook (see ml_metrics.h). Every function here runs WITH the GIL and takes
// the sink lock only around writer calls (lock order: GIL, then sink).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ml_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"
#include "ml_events.h"

/* The metric series metric_series() defined in the running recording, so
 * that metric_values() never writes to a status series or to an id left
 * over from an earlier recording. Protected by the GIL. A recording is
 * known by its recorder and the sink's start time (an address alone could
 * be reused by the next recording). */
static struct {
    ml_recorder *owner;
    uint64_t t0_ns;
    uint8_t defined[ML_MAX_SERIES / 8];
} metric_ids;

/* The Python callable open_audit() installed, or NULL: an object of the
 * main interpreter. Protected by the main interpreter's GIL (audit hooks
 * run with their interpreter's; audit_hook returns at once in others). */
static PyObject *audit_handler;
static int audit_installed;
/* Set while the handler runs on this thread: events it causes itself are
 * not reported again. */
static _Thread_local int in_audit;

/* The running recording's sink, forgetting series ids of earlier ones. */
static ml_sink *
running_sink(void)
{
    ml_recorder *r = ml_events_recorder();
    if (r == NULL) {
        return NULL;
    }
    ml_sink *sink = ml_recorder_sink(r);
    if (sink->failed) {
        return NULL; /* the file cannot be written: as if not recording */
    }
    if (metric_ids.owner != r || metric_ids.t0_ns != sink->t0_ns) {
        memset(&metric_ids, 0, sizeof metric_ids);
        metric_ids.owner = r;
        metric_ids.t0_ns = sink->t0_ns;
    }
    return sink;
}

static int
is_metric(uint32_t id)
{
    return id < ML_MAX_SERIES && (metric_ids.defined[id / 8] >> (id % 8)) & 1;
}

/* A failure to write the file was reported once on stderr and stopped the
 * recording (ml_sink_check): the caller goes on as if not recording. */
static PyObject *
raise_write(int err)
{
    ml_recorder *r = ml_events_recorder();
    if (r != NULL && ml_recorder_sink(r)->failed) {
        Py_RETURN_NONE;
    }
    return PyErr_Format(PyExc_OSError, "microlog: could not write: %s",
                        ml_strerror(err));
}

/* ---- metric_series(name, unit="") -------------------------------------- */

static PyObject *
metric_series(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"name", "unit", NULL};
    const char *name, *unit = "";
    Py_ssize_t name_len, unit_len = 0;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s#|s#", kwlist, &name,
                                     &name_len, &unit, &unit_len)) {
        return NULL;
    }
    if (name_len == 0 || name_len > 1024 || unit_len > 1024) {
        return PyErr_Format(PyExc_ValueError,
                            "microlog: a metric name must have 1 to 1024 "
                            "bytes and a unit at most 1024");
    }
    if ((size_t)name_len != strlen(name) || (size_t)unit_len != strlen(unit)) {
        return PyErr_Format(PyExc_ValueError,
                            "microlog: a metric name or unit must not "
                            "contain NUL");
    }
    ml_sink *sink = running_sink();
    if (sink == NULL) {
        Py_RETURN_NONE;
    }
    uint32_t id = 0;
    ml_sink_lock(sink);
    /* Every later file of the run defines it again under this id. */
    int err = ml_sink_series(sink, ML_SERIES_METRIC, name, unit, &id);
    ml_sink_check(sink, err);
    ml_sink_unlock(sink);
    if (err == ML_EINVAL) {
        return PyErr_Format(PyExc_OverflowError,
                            "microlog: no more series fit in this recording "
                            "(at most %u)",
                            (unsigned)ML_MAX_SERIES - 1);
    }
    if (err < 0) {
        return raise_write(err);
    }
    metric_ids.defined[id / 8] |= (uint8_t)(1u << (id % 8));
    return PyLong_FromUnsignedLong(id);
}

/* ---- metric_values(items) ---------------------------------------------- */

/* A Python int or float as a tagged value; -1 with TypeError otherwise. */
static int
to_value(PyObject *obj, ml_value *v)
{
    if (PyFloat_Check(obj)) {
        v->tag = ML_TAG_F64;
        v->v.f = PyFloat_AS_DOUBLE(obj);
        return 0;
    }
    if (PyLong_Check(obj)) {
        int overflow = 0;
        long long i = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (overflow == 0) {
            if (i == -1 && PyErr_Occurred()) {
                return -1;
            }
            v->tag = ML_TAG_INT;
            v->v.i = i;
            return 0;
        }
        double d = PyLong_AsDouble(obj);
        if (d == -1.0 && PyErr_Occurred()) {
            return -1;
        }
        v->tag = ML_TAG_F64;
        v->v.f = d;
        return 0;
    }
    PyErr_Format(PyExc_TypeError,
                 "microlog: a metric value must be an int or a float, not %s",
                 Py_TYPE(obj)->tp_name);
    return -1;
}

typedef struct {
    uint32_t series;
    uint64_t mono_ns;
    ml_value value;
} pending_value;

/* Parses one (series, value, monotonic_ns) item. */
static int
parse_item(PyObject *item, pending_value *out)
{
    PyObject *series, *value;
    unsigned long long mono = 0;
    if (!PyTuple_Check(item)
        || !PyArg_ParseTuple(item, "OOK", &series, &value, &mono)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError,
                            "microlog: expected (series, value, "
                            "monotonic_ns) tuples");
        }
        return -1;
    }
    unsigned long id = PyLong_Check(series) ? PyLong_AsUnsignedLong(series)
                                            : (unsigned long)-1;
    if (PyErr_Occurred() || id >= ML_MAX_SERIES || !is_metric((uint32_t)id)) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError,
                     "microlog: %R is not a metric series of this recording",
                     series);
        return -1;
    }
    out->series = (uint32_t)id;
    out->mono_ns = mono ? mono : ml_clock_mono_ns();
    return to_value(value, &out->value);
}

static PyObject *
metric_values(PyObject *module, PyObject *items)
{
    (void)module;
    ml_sink *sink = running_sink();
    if (sink == NULL) {
        return PyLong_FromLong(0);
    }
    PyObject *seq = PySequence_Fast(items, "microlog: expected a sequence "
                                           "of (series, value, "
                                           "monotonic_ns) tuples");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    pending_value *vals = PyMem_Calloc(n ? (size_t)n : 1, sizeof *vals);
    if (vals == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    /* Everything is checked before the lock is taken. */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (parse_item(PySequence_Fast_GET_ITEM(seq, i), &vals[i]) < 0) {
            PyMem_Free(vals);
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    int err = 0;
    ml_sink_lock(sink);
    for (Py_ssize_t i = 0; i < n && err == 0; i++) {
        uint64_t t_us = ml_sink_time_us(sink, vals[i].mono_ns);
        err = ml_writer_value(sink->writer, vals[i].series, t_us,
                              &vals[i].value);
    }
    ml_sink_check(sink, err);
    ml_sink_unlock(sink);
    PyMem_Free(vals);
    if (err < 0) {
        return raise_write(err);
    }
    return PyLong_FromSsize_t(n);
}

/* ---- report(kind, name, body) ------------------------------------------ */

static PyObject *
report(PyObject *module, PyObject *args)
{
    unsigned char kind;
    const char *name, *body;
    Py_ssize_t name_len, body_len;
    (void)module;
    if (!PyArg_ParseTuple(args, "bs#s#", &kind, &name, &name_len, &body,
                          &body_len)) {
        return NULL;
    }
    if (kind < ML_REPORT_OPEN_FILES || kind > ML_REPORT_OTHER) {
        return PyErr_Format(PyExc_ValueError,
                            "microlog: unknown report kind %u", kind);
    }
    if (body_len > (Py_ssize_t)ML_TEXT_MAX) {
        return PyErr_Format(PyExc_ValueError,
                            "microlog: a report body is at most %u bytes",
                            (unsigned)ML_TEXT_MAX);
    }
    ml_sink *sink = running_sink();
    if (sink == NULL) {
        Py_RETURN_FALSE;
    }
    uint32_t name_id = 0;
    ml_sink_lock(sink);
    int err = ml_writer_string(sink->writer, name, (size_t)name_len, &name_id);
    if (err == 0) {
        err = ml_writer_report(sink->writer, kind, name_id, body,
                               (size_t)body_len);
    }
    ml_sink_check(sink, err);
    ml_sink_unlock(sink);
    if (err < 0) {
        return raise_write(err);
    }
    Py_RETURN_TRUE;
}

/* ---- the audit hook ---------------------------------------------------- */

/* The descriptor the next open() will get: POSIX gives the lowest free
 * one, so opening and closing a descriptor of our own shows it in two
 * calls, whatever the number of descriptors open (the kernel finds it in
 * its bitmap). /dev/null and not a dup() of the program's descriptor:
 * closing a descriptor drops the process's POSIX locks on its file. A
 * guess when another thread opens at the same moment; the caller checks
 * it against what the descriptor names later. */
static int
lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
        close(fd);
    }
    return fd;
}

/* Runs for every audit event of the process, forever (audit hooks cannot
 * be removed): a flag test unless a recording wants open events. The hook
 * is the runtime's, so it runs in subinterpreters too, where it must do
 * nothing: the handler is the main interpreter's, and calling it there
 * would make its objects (argument tuples, frames, code objects kept in
 * its stacks) under the subinterpreter's thread state, and keep them past
 * that interpreter's end (3.12+ free them with the wrong allocator). It
 * is tested first: a subinterpreter with a GIL of its own must not read
 * the statics the main one's GIL protects. */
static int
audit_hook(const char *event, PyObject *args, void *data)
{
    (void)data;
    if (!ml_events_main_interp() || audit_handler == NULL || in_audit
        || !ml_events_active()) {
        return 0;
    }
    int fd;
    if (strcmp(event, "open") == 0) {
        fd = lowest_free_fd();
    } else if (strcmp(event, "socket.__new__") == 0) {
        fd = -1;
    } else {
        return 0;
    }
    PyObject *handler = audit_handler;
    Py_INCREF(handler);
    in_audit = 1;
    /* The handler is microlog's work, not the program's: unsampled. */
    ml_recorder *r = ml_events_recorder();
    ml_sampler *s = r != NULL ? ml_recorder_sampler(r) : NULL;
    uint64_t tid = (uint64_t)gettid();
    int ignored = s != NULL && ml_sampler_ignore_tid(s, tid);
    PyObject *res = PyObject_CallFunction(handler, "sOi", event,
                                          args ? args : Py_None, fd);
    if (ignored && ml_events_recorder() == r) {
        ml_sampler_unignore_tid(s, tid); /* only if it was not before */
    }
    in_audit = 0;
    Py_DECREF(handler);
    if (res == NULL) {
        /* Never fail the program's open() because of microlog. */
        PyErr_WriteUnraisable(handler);
        return 0;
    }
    Py_DECREF(res);
    return 0;
}

static PyObject *
open_audit(PyObject *module, PyObject *handler)
{
    (void)module;
    if (handler != Py_None && !PyCallable_Check(handler)) {
        return PyErr_Format(PyExc_TypeError,
                            "microlog: expected a callable or None");
    }
    if (!ml_events_main_interp()) {
        Py_RETURN_NONE; /* the hook never calls it there (audit_hook) */
    }
    if (handler != Py_None && !audit_installed) {
        if (PySys_AddAuditHook(audit_hook, NULL) < 0) {
            return NULL;
        }
        audit_installed = 1;
    }
    PyObject *old = audit_handler;
    if (handler != Py_None) {
        Py_INCREF(handler);
    }
    audit_handler = handler == Py_None ? NULL : handler;
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

/* ---- ignore_thread() --------------------------------------------------- */

static PyObject *
ignore_thread(PyObject *module, PyObject *args)
{
    int on = 1;
    (void)module;
    if (!PyArg_ParseTuple(args, "|p", &on)) {
        return NULL;
    }
    ml_recorder *r = ml_events_recorder();
    if (r == NULL) {
        Py_RETURN_FALSE;
    }
    ml_sampler *s = ml_recorder_sampler(r);
    if (on) {
        ml_sampler_ignore_tid(s, (uint64_t)gettid());
    } else {
        ml_sampler_unignore_tid(s, (uint64_t)gettid());
    }
    Py_RETURN_TRUE;
}

/* ---- thread_started(ident, native_id, name) ---------------------------- */

static PyObject *
thread_started(PyObject *module, PyObject *args)
{
    unsigned long long ident, tid;
    const char *name;
    (void)module;
    if (!PyArg_ParseTuple(args, "KKs", &ident, &tid, &name)) {
        return NULL;
    }
    ml_recorder *r = ml_events_recorder();
    ml_sink *sink = r != NULL ? ml_recorder_sink(r) : NULL;
    if (sink == NULL || sink->failed) {
        Py_RETURN_FALSE;
    }
    ml_sink_lock(sink);
    ml_sampler_name_started(ml_recorder_sampler(r), ident, tid, name);
    ml_sink_unlock(sink);
    Py_RETURN_TRUE;
}

/* ---- the module -------------------------------------------------------- */

PyDoc_STRVAR(metric_series_doc,
             "metric_series(name, unit='') -> int | None\n\n"
             "Define a metric series in the running recording and return its "
             "id, or None when not recording. Ids are valid for the running "
             "recording only.");
PyDoc_STRVAR(metric_values_doc,
             "metric_values(items) -> int\n\n"
             "Append values to metric series: items is a sequence of "
             "(series, value, monotonic_ns) tuples, value an int or float, "
             "monotonic_ns from time.monotonic_ns() (0: now). All are "
             "checked before any is written. Returns how many were written "
             "(0 when not recording).");
PyDoc_STRVAR(report_doc,
             "report(kind, name, body) -> bool\n\n"
             "Write an end-of-run report: kind one of the REPORT_* constants, "
             "body UTF-8 JSON text (docs/METRICS.md). False when not "
             "recording.");
PyDoc_STRVAR(open_audit_doc,
             "open_audit(handler) -> None\n\n"
             "Call handler(event, args, fd) for 'open' and 'socket.__new__' "
             "audit events while a recording runs; fd is the descriptor an "
             "open is expected to get (-1 for sockets). None turns it off; "
             "the C hook itself stays (audit hooks cannot be removed) and "
             "costs one test per event.");
PyDoc_STRVAR(ignore_thread_doc,
             "ignore_thread(on=True) -> bool\n\n"
             "Leave the calling thread (one of microlog's own, or one doing "
             "microlog's work for a while) out of the samples of the running "
             "recording; on=False takes it back. False when not recording.");

PyDoc_STRVAR(thread_started_doc,
             "thread_started(ident, native_id, name) -> bool\n\n"
             "Name a thread that has just started (from Thread.start), even "
             "if it has not been sampled yet. False when not recording.");

static PyMethodDef metrics_methods[] = {
    {"metric_series", (PyCFunction)(void (*)(void))metric_series,
     METH_VARARGS | METH_KEYWORDS, metric_series_doc},
    {"metric_values", metric_values, METH_O, metric_values_doc},
    {"report", report, METH_VARARGS, report_doc},
    {"open_audit", open_audit, METH_O, open_audit_doc},
    {"ignore_thread", ignore_thread, METH_VARARGS, ignore_thread_doc},
    {"thread_started", thread_started, METH_VARARGS, thread_started_doc},
    {NULL, NULL, 0, NULL},
};

int
ml_metrics_add_functions(PyObject *module)
{
    if (PyModule_AddFunctions(module, metrics_methods) < 0
        || PyModule_AddIntConstant(module, "REPORT_OPEN_FILES",
                                   ML_REPORT_OPEN_FILES)
               < 0
        || PyModule_AddIntConstant(module, "REPORT_LEAKS", ML_REPORT_LEAKS) < 0
        || PyModule_AddIntConstant(module, "REPORT_OTHER", ML_REPORT_OTHER)
               < 0) {
        return -1;
    }
    return 0;
}
