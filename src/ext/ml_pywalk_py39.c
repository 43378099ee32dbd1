// SPDX-License-Identifier: MIT
// Stack reader for CPython 3.9 and 3.10: every frame is a heap
// PyFrameObject reached from tstate->frame through f_back, so a walk costs
// one read per frame. Layouts come from the headers; see ml_pywalk_int.h.

#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1 /* internal headers; the build may pass it */
#endif
#include <Python.h>
#include <frameobject.h>

#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"

#include "ml_pywalk_int.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if PY_VERSION_HEX < 0x03090000 || PY_VERSION_HEX >= 0x030B0000
#error "ml_pywalk_py39.c is for CPython 3.9 and 3.10 only"
#endif

/* Bytes of a frame object we need: up to and including f_lasti. */
#define FRAME_HEAD (offsetof(PyFrameObject, f_lasti) + sizeof(int))

static void
fill_layout(ml_pylayout *l)
{
    l->code_type = (uint64_t)(uintptr_t)&PyCode_Type;
    l->unicode_type = (uint64_t)(uintptr_t)&PyUnicode_Type;
    l->bytes_type = (uint64_t)(uintptr_t)&PyBytes_Type;
    l->off_type = offsetof(PyObject, ob_type);
    l->off_size = offsetof(PyVarObject, ob_size);
    l->code_copy = sizeof(PyCodeObject);
    l->off_name = offsetof(PyCodeObject, co_name);
    l->off_file = offsetof(PyCodeObject, co_filename);
#if PY_VERSION_HEX >= 0x030A0000
    l->off_ltab = offsetof(PyCodeObject, co_linetable);
    l->ltab_kind = ML_LTAB_PY310;
#else
    l->off_ltab = offsetof(PyCodeObject, co_lnotab);
    l->ltab_kind = ML_LTAB_LNOTAB;
#endif
    l->off_firstlineno = offsetof(PyCodeObject, co_firstlineno);
    l->off_firsttraceable = -1;
    l->off_version = -1;
    l->off_adaptive = -1;
    l->uni_ascii_size = sizeof(PyASCIIObject);
    l->uni_compact_size = sizeof(PyCompactUnicodeObject);
    l->uni_off_length = offsetof(PyASCIIObject, length);
    l->uni_off_state = offsetof(PyASCIIObject, state);
    l->bytes_off_sval = offsetof(PyBytesObject, ob_sval);
}

/* The GIL lives in _PyRuntime.ceval; the thread list head and the holder
 * come in one batched read. */
static int
head(ml_pywalk *w, uint64_t *first, uint64_t *holder)
{
    struct _gil_runtime_state g;
    uint64_t h = 0;
    ml_saferead_req r[2] = {
        {&h, w->interp + offsetof(PyInterpreterState, tstate_head), sizeof(h),
         0},
        {&g, w->gil,
         offsetof(struct _gil_runtime_state, locked) + sizeof(g.locked), 0},
    };

    ml_prefetch_read_batch(&w->pf, r, 2);
    if (!r[0].ok) {
        return -EFAULT;
    }
    *first = h;
    *holder = 0;
    if (r[1].ok && g.locked._value) {
        *holder = (uint64_t)g.last_holder._value;
    }
    return 0;
}

/* The frame's instruction as a byte offset: 3.10 counts code units, 3.9
 * bytes; -1 (not started) stays -1. */
static int32_t
frame_lasti(int f_lasti)
{
    if (f_lasti < 0) {
        return -1;
    }
#if PY_VERSION_HEX >= 0x030A0000
    return f_lasti < INT32_MAX / 2 ? f_lasti * 2 : -1;
#else
    return f_lasti;
#endif
}

static void
walk(ml_pywalk *w, uint64_t frame, ml_pythread *t)
{
    uint64_t frame_type = (uint64_t)(uintptr_t)&PyFrame_Type;
    int i, limit = ml_pyw_walk_limit(w);
    PyFrameObject f;

    for (i = 0; frame != 0 && i < limit; i++) {
        uint64_t code;

        if (ml_pyw_seen(w, frame)
            || ml_prefetch_read(&w->pf, &f, frame, FRAME_HEAD)
            || (uint64_t)(uintptr_t)Py_TYPE(&f) != frame_type) {
            t->broken = 1; /* unreadable: not the depth */
            return;
        }
        code = (uint64_t)(uintptr_t)f.f_code;
        if (!ml_pyw_code_get(w, code)) {
            t->broken = 1; /* unreadable: not the depth */
            return;
        }
        if (ml_pyw_push(w, frame, code, (uint64_t)(uintptr_t)f.f_back,
                        frame_lasti(f.f_lasti))) {
            t->truncated = 1;
            return;
        }
        frame = (uint64_t)(uintptr_t)f.f_back;
    }
    t->truncated |= frame != 0;
}

/* Kernel tid of a thread from its pthread_t (these versions keep no
 * native id): glibc's pthread_t points at its thread descriptor, which
 * holds the tid at an offset found once by find_tid_offset(). */
static uint64_t
native_id(ml_pywalk *w, unsigned long pthread_id)
{
    int32_t tid;

    if (w->tid_off < 0 || pthread_id < 4096
        || ml_prefetch_read(&w->pf, &tid,
                            (uint64_t)pthread_id + (uint64_t)w->tid_off,
                            sizeof(tid))
               != 0
        || tid <= 0) {
        return 0;
    }
    return (uint64_t)tid;
}

/* Publishes its tid, then stays alive until released: the kernel clears
 * the descriptor's tid when a thread exits. */
static void *
tid_probe(void *arg)
{
    int *io = arg; /* io[0]: tid out, io[1]: release in */

    __atomic_store_n(&io[0], (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
    while (!__atomic_load_n(&io[1], __ATOMIC_ACQUIRE)) {
        sched_yield();
    }
    return NULL;
}

/* 1 if the int32 at offset off of thread descriptor self is tid. */
static int
tid_at(pthread_t self, size_t off, pid_t tid)
{
    int32_t v;

    return ml_saferead(&v, (uint64_t)self + off, sizeof(v)) == 0 && v == tid;
}

/* Finds the tid's offset in the pthread descriptor: the first offset that
 * holds this thread's tid in its descriptor and a second thread's tid in
 * that one. Leaves -1 (native ids unknown) if there is none. */
static void
find_tid_offset(ml_pywalk *w)
{
    pthread_t self = pthread_self(), other;
    pid_t me = (pid_t)syscall(SYS_gettid);
    int io[2] = {0, 0};
    size_t off;

    if (pthread_create(&other, NULL, tid_probe, io) != 0) {
        return;
    }
    while (__atomic_load_n(&io[0], __ATOMIC_ACQUIRE) == 0) {
        sched_yield();
    }
    for (off = 0; off < 4096; off += sizeof(int32_t)) {
        if (tid_at(self, off, me) && tid_at(other, off, io[0])) {
            w->tid_off = (int64_t)off;
            break;
        }
    }
    __atomic_store_n(&io[1], 1, __ATOMIC_RELEASE);
    pthread_join(other, NULL);
}

static int
thread(ml_pywalk *w, uint64_t ts, ml_pythread *t, uint64_t *next)
{
    PyThreadState s;

    if (ml_prefetch_read(&w->pf, &s, ts, sizeof(s)) != 0
        || (uint64_t)(uintptr_t)s.interp != w->interp) {
        return -EFAULT;
    }
    *next = (uint64_t)(uintptr_t)s.next;
    t->thread_id = s.thread_id;
    w->cur_uid = (uint64_t)s.id;
    t->native_id = native_id(w, s.thread_id);
    walk(w, (uint64_t)(uintptr_t)s.frame, t);
    return 0;
}

static const ml_pyw_ops ops = {head, thread};

int
ml_pywalk_new(ml_pywalk **out)
{
    PyInterpreterState *interp = PyInterpreterState_Main();
    int rc = ml_pyw_create(out, &ops, (uint64_t)(uintptr_t)interp);

    if (rc != 0) {
        return rc;
    }
    ml_pywalk *w = *out;
    fill_layout(&w->lay);
    w->gil = (uint64_t)(uintptr_t)&_PyRuntime.ceval.gil;
    ML_PYW_SET_GIL_WAIT(w, struct _gil_runtime_state);
    find_tid_offset(w);
    return 0;
}
