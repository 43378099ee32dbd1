// SPDX-License-Identifier: MIT
// Stack reader for CPython 3.13 (default GIL build): frames are
// _PyInterpreterFrame records on each thread's data stack, reached from
// tstate->current_frame. Layouts come from the internal headers.

#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1 /* internal headers; the build may pass it */
#endif
#include <Python.h>

#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"

#include "ml_pywalk_int.h"

#include <errno.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030D0000 || PY_VERSION_HEX >= 0x030E0000
#error "ml_pywalk_py313.c is for CPython 3.13 only"
#endif
#ifdef Py_GIL_DISABLED
#error "the free-threaded 3.13 build keeps other layouts: not supported"
#endif

/* Bytes of a frame we need: everything before the locals. */
#define FRAME_HEAD offsetof(_PyInterpreterFrame, localsplus)

static void
fill_layout(ml_pylayout *l)
{
    l->code_type = (uint64_t)(uintptr_t)&PyCode_Type;
    l->unicode_type = (uint64_t)(uintptr_t)&PyUnicode_Type;
    l->bytes_type = (uint64_t)(uintptr_t)&PyBytes_Type;
    l->off_type = offsetof(PyObject, ob_type);
    l->off_size = offsetof(PyVarObject, ob_size);
    l->code_copy = sizeof(PyCodeObject);
    l->off_name = offsetof(PyCodeObject, co_qualname);
    l->off_file = offsetof(PyCodeObject, co_filename);
    l->off_ltab = offsetof(PyCodeObject, co_linetable);
    l->off_firstlineno = offsetof(PyCodeObject, co_firstlineno);
    l->off_firsttraceable = offsetof(PyCodeObject, _co_firsttraceable);
    l->off_version = offsetof(PyCodeObject, co_version);
    l->off_adaptive = offsetof(PyCodeObject, co_code_adaptive);
    l->ltab_kind = ML_LTAB_PY311;
    l->uni_ascii_size = sizeof(PyASCIIObject);
    l->uni_compact_size = sizeof(PyCompactUnicodeObject);
    l->uni_off_length = offsetof(PyASCIIObject, length);
    l->uni_off_state = offsetof(PyASCIIObject, state);
    l->bytes_off_sval = offsetof(PyBytesObject, ob_sval);
    l->chunk_off_previous = offsetof(_PyStackChunk, previous);
    l->chunk_off_top = offsetof(_PyStackChunk, top);
    l->chunk_off_data = offsetof(_PyStackChunk, data);
}

/* The GIL state's address is fixed for the interpreter's life, so new()
 * stores it; a sample reads the thread list head and the holder in one
 * batched read. */
static int
head(ml_pywalk *w, uint64_t *first, uint64_t *holder)
{
    struct _gil_runtime_state g;
    uint64_t h = 0;
    ml_saferead_req r[2] = {
        {&h, w->interp + offsetof(PyInterpreterState, threads.head), sizeof(h),
         0},
        {&g, w->gil,
         offsetof(struct _gil_runtime_state, locked) + sizeof(g.locked), 0},
    };

    ml_prefetch_read_batch(&w->pf, r, w->gil ? 2 : 1);
    if (!r[0].ok) {
        return -EFAULT;
    }
    *first = h;
    *holder = 0;
    if (w->gil && r[1].ok && g.locked) {
        *holder = (uint64_t)(uintptr_t)g.last_holder;
    }
    return 0;
}

/* Byte offset of the current instruction, or -1 when instr_ptr is not
 * inside the bytecode (a torn read). */
static int32_t
frame_lasti(const ml_pycode_ent *e, uint64_t code, uint64_t instr_ptr)
{
    uint64_t start = code + (uint64_t)offsetof(PyCodeObject, co_code_adaptive);
    uint64_t off = instr_ptr - start;

    if (instr_ptr < start || (e->code_bytes && off >= e->code_bytes)) {
        return -1;
    }
    return (int32_t)off;
}

/* Walks the frame chain from frame, leaf first, into w->cur. */
static void
walk(ml_pywalk *w, uint64_t frame, ml_pythread *t)
{
    int i, limit = ml_pyw_walk_limit(w);

    for (i = 0; frame != 0 && i < limit; i++) {
        _PyInterpreterFrame copy, *f = &copy;
        const ml_pycode_ent *e;
        const void *p;
        uint64_t code, back;
        int32_t lasti;

        /* Frames are pointer-aligned: anything else is a torn read. */
        if ((frame & 7) != 0 || ml_pyw_seen(w, frame)
            || !(p = ml_pyw_frame(w, frame, FRAME_HEAD))) {
            t->broken = 1; /* unreadable: not the depth */
            return;
        }
        memcpy(f, p, FRAME_HEAD);
        back = (uint64_t)(uintptr_t)f->previous;
        code = (uint64_t)(uintptr_t)f->f_executable;
        if (f->owner == FRAME_OWNED_BY_CSTACK) {
            frame = back; /* shim frame of a C-to-Python call */
            continue;
        }
        if ((unsigned char)f->owner > FRAME_OWNED_BY_CSTACK
            || !(e = ml_pyw_code_get(w, code))) {
            t->broken = 1; /* unreadable: not the depth */
            return;
        }
        lasti = frame_lasti(e, code, (uint64_t)(uintptr_t)f->instr_ptr);
        /* Frames that have not reached their first traceable instruction
         * are invisible to traceback; hide them too. */
        if (f->owner != FRAME_OWNED_BY_GENERATOR
            && lasti < e->firsttraceable) {
            frame = back;
            continue;
        }
        if (ml_pyw_push(w, frame, code, back, lasti)) {
            t->truncated = 1;
            return;
        }
        frame = back;
    }
    t->truncated |= frame != 0;
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
    t->native_id = s.native_thread_id;
    ml_pyw_stack_begin(w, (uint64_t)(uintptr_t)s.datastack_chunk,
                       (uint64_t)(uintptr_t)s.datastack_top, 0, 0);
    walk(w, (uint64_t)(uintptr_t)s.current_frame, t);
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
    w->gil = (uint64_t)(uintptr_t)interp->ceval.gil;
    ML_PYW_SET_GIL_WAIT(w, struct _gil_runtime_state);
    return 0;
}
