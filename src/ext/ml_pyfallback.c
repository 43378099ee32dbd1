// SPDX-License-Identifier: MIT
// Fallback stack reader through the public C API (see ml_pyfallback.h).
// It keeps a strong reference to every code object it reports, so a code
// address can never be reused by another object while a recording runs.
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include "ml_pyfallback.h"
#include "ml_pyheadlock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ml_pyfallback {
    PyObject *codes; /* dict: address (int) -> (code, name, file) tuple */
    /* One round's snapshot: each thread's current frame (owned). */
    PyFrameObject *held[ML_PYFALLBACK_MAX_THREADS];
};

int
ml_pyfallback_new(ml_pyfallback **out)
{
    ml_pyfallback *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return -ENOMEM;
    }
    f->codes = PyDict_New();
    if (f->codes == NULL) {
        PyErr_Clear();
        free(f);
        return -ENOMEM;
    }
    *out = f;
    return 0;
}

void
ml_pyfallback_free(ml_pyfallback *f)
{
    if (f == NULL) {
        return;
    }
    Py_XDECREF(f->codes);
    free(f);
}

/* The current instruction's byte offset, as PyCode_Addr2Line takes it. */
static int32_t
frame_lasti(PyFrameObject *frame)
{
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLasti(frame);
#elif PY_VERSION_HEX >= 0x030A0000
    return frame->f_lasti < 0 ? -1 : frame->f_lasti * 2;
#else
    return frame->f_lasti;
#endif
}

/* Remembers code (a new reference is kept) under its address. */
static int
keep_code(ml_pyfallback *f, PyCodeObject *code)
{
    PyObject *key = PyLong_FromVoidPtr(code);
    if (key == NULL) {
        return -ENOMEM;
    }
    int found = PyDict_Contains(f->codes, key);
    if (found == 0) {
#if PY_VERSION_HEX >= 0x030B0000
        PyObject *name = code->co_qualname;
#else
        PyObject *name = code->co_name;
#endif
        PyObject *entry =
            Py_BuildValue("(OOO)", code, name, code->co_filename);
        found = entry ? PyDict_SetItem(f->codes, key, entry) : -1;
        Py_XDECREF(entry);
    }
    Py_DECREF(key);
    if (found < 0) {
        PyErr_Clear();
        return -ENOMEM;
    }
    return 0;
}

/* Walks a chain from frame (a reference this function consumes). */
static int
walk_frames(ml_pyfallback *f, PyFrameObject *frame, ml_pythread *t,
            ml_pyframe *frames, int max_depth)
{
    int err = 0;
    t->nframes = 0;
    while (frame != NULL) {
        if (t->nframes == max_depth) {
            t->truncated = 1;
            break;
        }
        PyCodeObject *code = PyFrame_GetCode(frame);
        err = keep_code(f, code);
        frames[t->nframes].code = (uint64_t)(uintptr_t)code;
        frames[t->nframes].lasti = frame_lasti(frame);
        Py_DECREF(code);
        if (err < 0) {
            break;
        }
        t->nframes++;
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        frame = back;
    }
    Py_XDECREF(frame);
    return err;
}

/* Turns the cyclic collector off while the list of thread states is read;
 * returns whether it was on. A collection can run finalizers, which run
 * Python code, which can hand the GIL to a thread that then exits and
 * frees the thread state being read. 3.9 allocates nothing in that loop
 * (PyThreadState_GetFrame only takes a reference there). */
static int
gc_pause(void)
{
#if PY_VERSION_HEX >= 0x030A0000
    return PyGC_Disable();
#else
    return 0;
#endif
}

static void
gc_resume(int was_enabled)
{
#if PY_VERSION_HEX >= 0x030A0000
    if (was_enabled) {
        PyGC_Enable();
    }
#else
    (void)was_enabled;
#endif
}

int
ml_pyfallback_sample(ml_pyfallback *f, ml_pythread *threads, int max_threads,
                     ml_pyframe *frames, int max_depth)
{
    PyInterpreterState *interp = PyInterpreterState_Main();
    PyThreadState *me = PyThreadState_Get();
    if (max_threads > ML_PYFALLBACK_MAX_THREADS) {
        max_threads = ML_PYFALLBACK_MAX_THREADS;
    }
    /* First a snapshot: ids and a strong reference to each thread's
     * current frame, taken while nothing can run Python code, so no
     * thread state can go away under the loop. Only the references are
     * walked afterwards (walking allocates, and may let the GIL go). */
    int gc_was = gc_pause();
    int n = 0;
    ml_pyheadlock_lock();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(interp);
         ts != NULL && n < max_threads; ts = PyThreadState_Next(ts)) {
        if (ts == me) {
            continue; /* the sampler's own thread state */
        }
        ml_pythread *t = &threads[n];
        memset(t, 0, sizeof *t);
        t->tstate = (uint64_t)(uintptr_t)ts;
        t->thread_id = (uint64_t)ts->thread_id;
#if PY_VERSION_HEX >= 0x030B0000
        t->native_id = (uint64_t)ts->native_thread_id;
#endif
        /* The sampler holds the GIL now, so nobody else does. */
        t->holds_gil = 0;
        f->held[n] = PyThreadState_GetFrame(ts); /* new reference */
        n++;
    }
    ml_pyheadlock_unlock();
    if (PyErr_Occurred()) {
        PyErr_Clear(); /* a frame object that could not be made */
    }
    int err = 0;
    for (int i = 0; i < n; i++) {
        PyFrameObject *frame = f->held[i];
        f->held[i] = NULL;
        if (err == 0) {
            err = walk_frames(f, frame, &threads[i],
                              frames + (size_t)i * max_depth, max_depth);
        } else {
            Py_XDECREF(frame);
        }
    }
    gc_resume(gc_was);
    return err < 0 ? err : n;
}

static PyObject *
lookup(ml_pyfallback *f, uint64_t code)
{
    PyObject *key = PyLong_FromVoidPtr((void *)(uintptr_t)code);
    if (key == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *entry = PyDict_GetItem(f->codes, key); /* borrowed */
    Py_DECREF(key);
    return entry;
}

int
ml_pyfallback_code(ml_pyfallback *f, uint64_t code, ml_pycode_info *out)
{
    PyObject *entry = lookup(f, code);
    if (entry == NULL) {
        return -EFAULT;
    }
    PyCodeObject *co = (PyCodeObject *)PyTuple_GET_ITEM(entry, 0);
    /* UTF-8 buffers cached inside the str objects the tuple keeps alive. */
    out->name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(entry, 1));
    out->file = PyUnicode_AsUTF8(PyTuple_GET_ITEM(entry, 2));
    if (out->name == NULL || out->file == NULL) {
        PyErr_Clear();
        return -EFAULT;
    }
    out->firstlineno = co->co_firstlineno;
    return 0;
}

int
ml_pyfallback_line(ml_pyfallback *f, uint64_t code, int32_t lasti)
{
    PyObject *entry = lookup(f, code);
    if (entry == NULL) {
        return 0;
    }
    PyCodeObject *co = (PyCodeObject *)PyTuple_GET_ITEM(entry, 0);
    if (lasti < 0) {
        return co->co_firstlineno;
    }
    int line = PyCode_Addr2Line(co, lasti);
    return line > 0 ? line : co->co_firstlineno;
}

void
ml_pyfallback_clear(ml_pyfallback *f)
{
    PyObject *fresh = PyDict_New();
    if (fresh == NULL) {
        PyErr_Clear();
        return; /* kept as it is: tried again at the next eviction */
    }
    PyObject *old = f->codes;
    f->codes = fresh;
    Py_DECREF(old); /* releases the code objects, which may run code */
}
