// SPDX-License-Identifier: MIT
// @microlog.timed in C (see ml_timed.h): the Timed wrapper type, whose
// vectorcall times a call and writes its span, and TimedCall, one call of
// a generator or coroutine driven step by step from Python. Span fields,
// the RSS cache and measured costs: docs/TIMED.md.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include "ml_timed.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "ml_events.h"

/* A cached RSS reading is used for this long; calls at least this long read
 * it afresh at their end (docs/TIMED.md, "Memory change"). */
#define RSS_MAX_AGE_NS 1000000u

/* Call ids: unique in the process, never 0. Atomic so that the guarantee
 * does not depend on the GIL. */
static _Atomic uint64_t last_call_id;

/* The innermost timed call running on this thread (0: none): each timed
 * call saves it, sets its own id and restores it, which makes the C stack
 * the stack of timed calls; generator and coroutine steps do the same. */
static _Thread_local uint64_t current_call;

/* Thread CPU time one pair of clock reads around an empty call counts
 * (the syscalls' own cost; docs/TIMED.md): subtracted from every
 * measurement. Written once, at module exec. */
static uint64_t cpu_overhead_ns;

static void
calibrate_cpu_clock(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 200; i++) {
        uint64_t cpu0 = ml_clock_thread_cpu_ns();
        uint64_t t0 = ml_clock_mono_ns();
        uint64_t t1 = ml_clock_mono_ns();
        uint64_t d = ml_clock_thread_cpu_ns() - cpu0;
        (void)t0;
        (void)t1;
        if (d < best) {
            best = d;
        }
    }
    cpu_overhead_ns = best == UINT64_MAX ? 0 : best;
}

/* CPU time of a measured stretch: its clock difference less the reads'
 * own cost, at most its wall time (one thread cannot use more). */
static uint64_t
cpu_used(uint64_t cpu0, uint64_t cpu1, uint64_t wall_ns)
{
    uint64_t d = cpu1 > cpu0 ? cpu1 - cpu0 : 0;
    d = d > cpu_overhead_ns ? d - cpu_overhead_ns : 0;
    return d < wall_ns ? d : wall_ns;
}

/* The thread CPU clock is a system call (280-620 ns here, no vDSO path:
 * docs/TIMED.md), so a timed call reads it at most once, at its end, and
 * not at all when it is short:
 * - start: the thread's last reading, carried forward by the wall time
 *   since, when that reading is at most CPU_CARRY_NS old. This assumes
 *   the thread ran meanwhile: an error of at most that gap, and only if it
 *   did not (a CPU time a little low).
 * - end: a call shorter than CPU_SHORT_NS used its wall time as CPU time:
 *   it had no time to sleep or be switched out for longer than that.
 * A reading of the clock is kept per thread, with the recording it was
 * made in (run_epoch: a forked child's clock starts again at 0). */
#define CPU_CARRY_NS 20000u
#define CPU_SHORT_NS 2000u

static _Thread_local struct {
    uint64_t epoch; /* run_epoch of the reading; 0: none */
    uint64_t cpu_ns, mono_ns;
} last_cpu;

/* Thread CPU time now, read at mono time now_ns (and remembered). */
static uint64_t
cpu_read(uint64_t now_ns, uint64_t epoch)
{
    uint64_t cpu = ml_clock_thread_cpu_ns();
    last_cpu.epoch = epoch;
    last_cpu.cpu_ns = cpu;
    last_cpu.mono_ns = now_ns;
    return cpu;
}

/* Thread CPU time at a start at mono time now_ns; *carried is set when it
 * was carried forward from an earlier reading rather than read. */
static uint64_t
cpu_start(uint64_t now_ns, uint64_t epoch, int *carried)
{
    if (last_cpu.epoch == epoch && now_ns >= last_cpu.mono_ns
        && now_ns - last_cpu.mono_ns <= CPU_CARRY_NS) {
        *carried = 1;
        return last_cpu.cpu_ns + (now_ns - last_cpu.mono_ns);
    }
    *carried = 0;
    return cpu_read(now_ns, epoch);
}

/* CPU time used from a start (cpu_start) to mono time now_ns. */
static uint64_t
cpu_end(uint64_t cpu0, int carried, uint64_t now_ns, uint64_t wall_ns,
        uint64_t epoch)
{
    if (wall_ns < CPU_SHORT_NS) {
        return wall_ns;
    }
    uint64_t cpu1 = cpu_read(now_ns, epoch);
    if (carried) {
        /* only the end read's own cost falls inside the stretch */
        uint64_t d = cpu1 > cpu0 ? cpu1 - cpu0 : 0;
        d = d > cpu_overhead_ns / 2 ? d - cpu_overhead_ns / 2 : 0;
        return d < wall_ns ? d : wall_ns;
    }
    return cpu_used(cpu0, cpu1, wall_ns);
}

/* Bumped at every recording start and stop (timed_new_run): a call that
 * began in another recording writes no span. Protected by the GIL. */
static uint64_t run_epoch = 1;

/* Resident set size cache. Protected by the GIL (every reader holds it).
 * The file is opened on first use in a recording and closed at its end;
 * rss_pid notices a forked child, whose /proc/self differs. */
static int rss_fd = -1;
static pid_t rss_pid;
static int64_t rss_bytes;
static uint64_t rss_read_ns; /* monotonic time of the reading; 0: none */

static void
rss_close(void)
{
    if (rss_fd >= 0) {
        close(rss_fd);
    }
    rss_fd = -1;
    rss_read_ns = 0;
}

/* RSS in bytes: the cached value when it is younger than RSS_MAX_AGE_NS
 * (and fresh is 0), else read from /proc/self/statm. -1 if unknown. */
static int64_t
rss_at(uint64_t now_ns, int fresh)
{
    if (!fresh && rss_read_ns != 0 && now_ns - rss_read_ns < RSS_MAX_AGE_NS) {
        return rss_bytes;
    }
    pid_t pid = getpid();
    if (rss_fd < 0 || pid != rss_pid) {
        rss_close();
        rss_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        rss_pid = pid;
    }
    char buf[128];
    ssize_t n = rss_fd >= 0 ? pread(rss_fd, buf, sizeof buf - 1, 0) : -1;
    long long size, resident;
    rss_bytes = -1;
    if (n > 0) {
        buf[n] = '\0';
        if (sscanf(buf, "%lld %lld", &size, &resident) == 2) {
            rss_bytes = resident * (int64_t)sysconf(_SC_PAGESIZE);
        }
    }
    rss_read_ns = now_ns;
    return rss_bytes;
}

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}

static inline PyObject *
Py_XNewRef(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}
#endif

/* ---- Timed ------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD PyObject *func; /* the wrapped callable */
    PyCodeObject *code;           /* names the spans; NULL: unnamed */
    PyObject *format_args;        /* f(*args, **kwargs) -> str, or NULL */
    PyObject *sanitize;      /* f(str) -> str for exception text, or NULL */
    PyTypeObject *call_type; /* TimedCall, for begin() */
    PyObject *dict;          /* functools.wraps attributes */
    PyObject *weakreflist;
    vectorcallfunc vectorcall;
    /* Counters of calls begun while recording (timed_stats in _timed.py).
     * Protected by the GIL. */
    uint64_t hits;
    int64_t in_flight;
    uint64_t total_ns;
} ml_timed;

/* One call in progress. */
typedef struct {
    uint64_t id, parent, epoch;
    uint64_t time_us; /* start, in the recording's time */
    uint64_t t0_ns;   /* monotonic start */
    uint64_t cpu_ns;  /* thread CPU accumulated (steps) or at start */
    int64_t rss0;
} ml_timed_call;

/* A TimedCall: one call of a generator or coroutine. */
typedef struct {
    PyObject_HEAD ml_timed *timed; /* NULL once finished */
    PyObject *args;                /* argument text or NULL */
    ml_timed_call call;
    uint64_t saved_current; /* current_call before resume() */
    uint64_t step_cpu0, step_t0;
    int step_carried; /* step_cpu0 carried forward (cpu_start) */
    int running;      /* between resume() and suspend() */
} ml_timed_step;

static void
call_begin(ml_timed *t, ml_timed_call *c, uint64_t t0_ns)
{
    c->id =
        atomic_fetch_add_explicit(&last_call_id, 1, memory_order_relaxed) + 1;
    c->parent = current_call;
    c->epoch = run_epoch;
    t->hits++;
    t->in_flight++;
    c->time_us = 0; /* filled at the end, from the end time and wall */
    c->t0_ns = t0_ns;
    c->rss0 = rss_at(t0_ns, 0);
}

/* "module.Qualname: message" of an exception (builtins without module),
 * passed through sanitize; a new str, or NULL without an exception set.
 * Call with no exception set. */
static PyObject *
exception_text(PyObject *exc, PyObject *sanitize)
{
    PyObject *type = (PyObject *)Py_TYPE(exc);
    PyObject *mod = PyObject_GetAttrString(type, "__module__");
    PyObject *name = PyObject_GetAttrString(type, "__qualname__");
    PyObject *msg = PyObject_Str(exc);
    PyObject *text = NULL;
    if (msg == NULL) {
        PyErr_Clear();
        msg = PyUnicode_FromString("<unprintable>");
    }
    if (name == NULL || !PyUnicode_Check(name)) {
        PyErr_Clear();
        Py_XDECREF(name);
        name = PyUnicode_FromString(Py_TYPE(exc)->tp_name);
    }
    if (mod != NULL && PyUnicode_Check(mod)
        && PyUnicode_CompareWithASCIIString(mod, "builtins") != 0) {
        text = PyUnicode_FromFormat("%U.%U", mod, name);
    } else {
        PyErr_Clear();
        text = name ? Py_NewRef(name) : NULL;
    }
    if (text != NULL && msg != NULL && PyUnicode_GetLength(msg) > 0) {
        PyObject *full = PyUnicode_FromFormat("%U: %U", text, msg);
        Py_SETREF(text, full);
    }
    if (text != NULL && sanitize != NULL) {
        PyObject *clean = PyObject_CallOneArg(sanitize, text);
        if (clean == NULL || !PyUnicode_Check(clean)) {
            /* Never record what the sanitizer was meant to hide. */
            PyErr_Clear();
            Py_XDECREF(clean);
            clean = PyUnicode_FromString("<sanitize failed>");
        }
        Py_SETREF(text, clean);
    }
    Py_XDECREF(mod);
    Py_XDECREF(name);
    Py_XDECREF(msg);
    if (text == NULL) {
        PyErr_Clear();
    }
    return text;
}

/* UTF-8 bytes of a str (unencodable characters escaped) into *out; a new
 * reference or NULL, never an exception. */
static void
utf8_of(PyObject *s, PyObject **bytes, ml_bytes *out)
{
    *bytes = NULL;
    out->ptr = NULL;
    out->len = 0;
    if (s == NULL || !PyUnicode_Check(s)) {
        return;
    }
    *bytes = PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
    if (*bytes == NULL) {
        PyErr_Clear();
        return;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(*bytes);
    out->ptr = (const uint8_t *)PyBytes_AS_STRING(*bytes);
    out->len = (uint32_t)(n > (Py_ssize_t)ML_TEXT_MAX ? ML_TEXT_MAX : n);
}

/* Ends a call: counters, then the span if the same recording still runs.
 * cpu_ns is the thread CPU time the call used; exc the exception it raised
 * or NULL; args its argument text or NULL. Never raises. */
static void
call_end(ml_timed *t, const ml_timed_call *c, uint64_t t1_ns, uint64_t cpu_ns,
         PyObject *exc, PyObject *args)
{
    uint64_t wall = t1_ns > c->t0_ns ? t1_ns - c->t0_ns : 0;
    t->in_flight--;
    t->total_ns += wall;
    if (c->epoch != run_epoch || !ml_events_active()) {
        return;
    }
    int64_t rss1 = rss_at(t1_ns, wall >= RSS_MAX_AGE_NS);
    /* The start in the recording's time: one clock read here instead of
     * one more at the start (exact to about a microsecond). */
    uint64_t end_us = ml_events_now_us();
    uint64_t start_us = c->time_us;
    if (start_us == 0) {
        start_us = end_us > wall / 1000 ? end_us - wall / 1000 : 0;
    }
    ml_span span = {
        .call_id = c->id,
        .parent_call = c->parent,
        .time_us = start_us,
        .wall_ns = wall,
        .cpu_ns = cpu_ns,
        .mem_delta = c->rss0 >= 0 && rss1 >= 0 ? rss1 - c->rss0 : 0,
    };
    PyObject *exc_text = exc ? exception_text(exc, t->sanitize) : NULL;
    PyObject *args_bytes, *exc_bytes;
    utf8_of(args, &args_bytes, &span.args);
    utf8_of(exc_text, &exc_bytes, &span.exception);
    if (exc != NULL && span.exception.len == 0) {
        span.exception.ptr = (const uint8_t *)"?";
        span.exception.len = 1;
    }
    ml_events_span(t->code, &span);
    Py_XDECREF(args_bytes);
    Py_XDECREF(exc_bytes);
    Py_XDECREF(exc_text);
}

/* The argument text of a call, or NULL (never an exception). */
static PyObject *
format_args(ml_timed *t, PyObject *const *args, size_t nargsf,
            PyObject *kwnames)
{
    if (t->format_args == NULL) {
        return NULL;
    }
    PyObject *text =
        PyObject_Vectorcall(t->format_args, args, nargsf, kwnames);
    if (text == NULL) {
        PyErr_Clear();
    }
    return text;
}

#if PY_VERSION_HEX >= 0x030C0000
#define FETCH_EXC(e) ((e) = PyErr_GetRaisedException())
#define RESTORE_EXC(e) PyErr_SetRaisedException(e)
#endif

/* The fast path: one call of the wrapped function as a span. */
static PyObject *
timed_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf,
                 PyObject *kwnames)
{
    ml_timed *t = (ml_timed *)op;
    if (!ml_events_active()) {
        return PyObject_Vectorcall(t->func, args, nargsf, kwnames);
    }
    PyObject *text = format_args(t, args, nargsf, kwnames);
    ml_timed_call c;
    int carried;
    uint64_t t0 = ml_clock_mono_ns();
    uint64_t cpu0 = cpu_start(t0, run_epoch, &carried);
    call_begin(t, &c, t0);
    current_call = c.id;
    PyObject *res = PyObject_Vectorcall(t->func, args, nargsf, kwnames);
    uint64_t t1 = ml_clock_mono_ns();
    uint64_t cpu = cpu_end(cpu0, carried, t1, t1 - t0, c.epoch);
    current_call = c.parent;
    if (res != NULL) {
        call_end(t, &c, t1, cpu, NULL, text);
    } else {
#if PY_VERSION_HEX >= 0x030C0000
        PyObject *exc;
        FETCH_EXC(exc);
        call_end(t, &c, t1, cpu, exc, text);
        RESTORE_EXC(exc);
#else
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL && value != NULL) {
            PyException_SetTraceback(value, tb);
        }
        call_end(t, &c, t1, cpu, value, text);
        PyErr_Restore(type, value, tb);
#endif
    }
    Py_XDECREF(text);
    return res;
}

static int
timed_traverse(PyObject *op, visitproc visit, void *arg)
{
    ml_timed *t = (ml_timed *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(t->func);
    Py_VISIT(t->code);
    Py_VISIT(t->format_args);
    Py_VISIT(t->sanitize);
    Py_VISIT(t->call_type);
    Py_VISIT(t->dict);
    return 0;
}

static int
timed_clear(PyObject *op)
{
    ml_timed *t = (ml_timed *)op;
    Py_CLEAR(t->func);
    Py_CLEAR(t->code);
    Py_CLEAR(t->format_args);
    Py_CLEAR(t->sanitize);
    Py_CLEAR(t->call_type);
    Py_CLEAR(t->dict);
    return 0;
}

static void
timed_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (((ml_timed *)op)->weakreflist != NULL) {
        PyObject_ClearWeakRefs(op);
    }
    timed_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *
none_to_null(PyObject *o)
{
    return o == Py_None ? NULL : o;
}

static PyObject *
timed_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"func", "code", "format_args", "sanitize", NULL};
    PyObject *func, *code = Py_None, *fmt = Py_None, *sanitize = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOO:Timed", kwlist,
                                     &func, &code, &fmt, &sanitize)) {
        return NULL;
    }
    if (!PyCallable_Check(func)) {
        return PyErr_Format(PyExc_TypeError,
                            "microlog.timed: %.200s is not callable",
                            Py_TYPE(func)->tp_name);
    }
    if (code != Py_None && !PyCode_Check(code)) {
        return PyErr_Format(PyExc_TypeError,
                            "microlog.timed: code must be a code object");
    }
    if ((fmt != Py_None && !PyCallable_Check(fmt))
        || (sanitize != Py_None && !PyCallable_Check(sanitize))) {
        return PyErr_Format(PyExc_TypeError,
                            "microlog.timed: format_args and sanitize must "
                            "be callables");
    }
    PyObject *module = PyType_GetModule(type);
    PyObject *call_type =
        module ? PyObject_GetAttrString(module, "TimedCall") : NULL;
    if (call_type == NULL) {
        return NULL;
    }
    ml_timed *t = (ml_timed *)type->tp_alloc(type, 0);
    if (t == NULL) {
        Py_DECREF(call_type);
        return NULL;
    }
    t->func = Py_NewRef(func);
    t->code = (PyCodeObject *)Py_XNewRef(none_to_null(code));
    t->format_args = Py_XNewRef(none_to_null(fmt));
    t->sanitize = Py_XNewRef(none_to_null(sanitize));
    t->call_type = (PyTypeObject *)call_type;
    t->vectorcall = timed_vectorcall;
    return (PyObject *)t;
}

/* Binds like a function: instance.f is a method, Class.f is f. */
static PyObject *
timed_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static PyObject *
timed_repr(PyObject *self)
{
    PyObject *name = PyObject_GetAttrString(self, "__qualname__");
    if (name == NULL) {
        PyErr_Clear();
        return PyUnicode_FromFormat("<timed %R>", ((ml_timed *)self)->func);
    }
    PyObject *r =
        PyUnicode_FromFormat("<timed function %S at %p>", name, self);
    Py_DECREF(name);
    return r;
}

/* Pickled by reference, like a module-level function. */
static PyObject *
timed_reduce(PyObject *self, PyObject *unused)
{
    (void)unused;
    return PyObject_GetAttrString(self, "__qualname__");
}

/* _begin(args_text) -> TimedCall | None: starts one call of a generator or
 * coroutine (None when not recording). */
static PyObject *
timed_begin(PyObject *self, PyObject *text)
{
    ml_timed *t = (ml_timed *)self;
    if (!ml_events_active()) {
        Py_RETURN_NONE;
    }
    if (text != Py_None && !PyUnicode_Check(text)) {
        return PyErr_Format(PyExc_TypeError, "args text must be str");
    }
    ml_timed_step *s =
        (ml_timed_step *)t->call_type->tp_alloc(t->call_type, 0);
    if (s == NULL) {
        return NULL;
    }
    s->timed = (ml_timed *)Py_NewRef(self);
    s->args = text == Py_None ? NULL : Py_NewRef(text);
    call_begin(t, &s->call, ml_clock_mono_ns());
    s->call.time_us = ml_events_now_us();
    s->call.cpu_ns = 0;
    return (PyObject *)s;
}

static PyMethodDef timed_methods[] = {
    {"__reduce__", timed_reduce, METH_NOARGS, NULL},
    {"_begin", timed_begin, METH_O,
     "_begin(args_text) -> TimedCall | None: one generator or coroutine "
     "call (None when not recording)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef timed_members[] = {
    {"_func", T_OBJECT, offsetof(ml_timed, func), READONLY,
     "The callable that is timed."},
    {"_code", T_OBJECT, offsetof(ml_timed, code), READONLY,
     "The code object that names the spans, or None."},
    {"hits", T_ULONGLONG, offsetof(ml_timed, hits), READONLY,
     "Calls begun while a recording was running."},
    {"in_flight", T_LONGLONG, offsetof(ml_timed, in_flight), READONLY,
     "Of those, calls not finished yet."},
    {"total_ns", T_ULONGLONG, offsetof(ml_timed, total_ns), READONLY,
     "Wall time of the finished ones, in nanoseconds."},
    {"__dictoffset__", T_PYSSIZET, offsetof(ml_timed, dict), READONLY, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(ml_timed, weakreflist),
     READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(ml_timed, vectorcall),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef timed_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(timed_doc,
             "Timed(func, code=None, format_args=None, sanitize=None)\n\n"
             "A callable that calls func and, while a recording runs, "
             "writes each call as a span named after code. Made by "
             "microlog.timed; binds to instances like a function.");

#ifndef Py_TPFLAGS_IMMUTABLETYPE
#define Py_TPFLAGS_IMMUTABLETYPE 0
#endif

static PyType_Slot timed_slots[] = {
    {Py_tp_new, timed_new},           {Py_tp_dealloc, timed_dealloc},
    {Py_tp_traverse, timed_traverse}, {Py_tp_clear, timed_clear},
    {Py_tp_call, PyVectorcall_Call},  {Py_tp_descr_get, timed_descr_get},
    {Py_tp_repr, timed_repr},         {Py_tp_methods, timed_methods},
    {Py_tp_members, timed_members},   {Py_tp_getset, timed_getset},
    {Py_tp_doc, (void *)timed_doc},   {0, NULL},
};

static PyType_Spec timed_spec = {
    .name = "microlog._microlog.Timed",
    .basicsize = sizeof(ml_timed),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC
             | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR
             | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = timed_slots,
};

/* ---- TimedCall --------------------------------------------------------- */

static PyObject *
step_resume(PyObject *self, PyObject *unused)
{
    ml_timed_step *s = (ml_timed_step *)self;
    (void)unused;
    if (s->timed != NULL && !s->running) {
        s->running = 1;
        s->saved_current = current_call;
        current_call = s->call.id;
        s->step_t0 = ml_clock_mono_ns();
        s->step_cpu0 = cpu_start(s->step_t0, run_epoch, &s->step_carried);
    }
    Py_RETURN_NONE;
}

static PyObject *
step_suspend(PyObject *self, PyObject *unused)
{
    ml_timed_step *s = (ml_timed_step *)self;
    (void)unused;
    if (s->running) {
        uint64_t t1 = ml_clock_mono_ns();
        s->call.cpu_ns += cpu_end(s->step_cpu0, s->step_carried, t1,
                                  t1 - s->step_t0, run_epoch);
        current_call = s->saved_current;
        s->running = 0;
    }
    Py_RETURN_NONE;
}

/* finish(exc=None): writes the span; later calls do nothing. */
static PyObject *
step_finish(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    ml_timed_step *s = (ml_timed_step *)self;
    if (nargs > 1) {
        return PyErr_Format(PyExc_TypeError, "finish(exc=None)");
    }
    PyObject *exc = nargs == 1 && args[0] != Py_None ? args[0] : NULL;
    if (exc != NULL && !PyExceptionInstance_Check(exc)) {
        return PyErr_Format(PyExc_TypeError, "exc must be an exception");
    }
    if (s->timed == NULL) {
        Py_RETURN_NONE;
    }
    uint64_t t1 = ml_clock_mono_ns();
    step_suspend(self, NULL);
    ml_timed *t = s->timed;
    s->timed = NULL;
    call_end(t, &s->call, t1, s->call.cpu_ns, exc, s->args);
    Py_DECREF(t);
    Py_CLEAR(s->args);
    Py_RETURN_NONE;
}

static PyObject *
step_get_call_id(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLongLong(((ml_timed_step *)self)->call.id);
}

static int
step_traverse(PyObject *op, visitproc visit, void *arg)
{
    ml_timed_step *s = (ml_timed_step *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(s->timed);
    Py_VISIT(s->args);
    return 0;
}

static int
step_clear(PyObject *op)
{
    ml_timed_step *s = (ml_timed_step *)op;
    if (s->timed != NULL) {
        s->timed->in_flight--; /* abandoned: no span */
    }
    Py_CLEAR(s->timed);
    Py_CLEAR(s->args);
    return 0;
}

static void
step_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    step_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyMethodDef step_methods[] = {
    {"resume", step_resume, METH_NOARGS,
     "Before each step of the generator or coroutine on this thread."},
    {"suspend", step_suspend, METH_NOARGS, "After each step."},
    {"finish", (PyCFunction)(void (*)(void))step_finish, METH_FASTCALL,
     "finish(exc=None): the call ended (raising exc); writes its span."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef step_getset[] = {
    {"call_id", step_get_call_id, NULL, "The span's call id.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot step_slots[] = {
    {Py_tp_dealloc, step_dealloc},
    {Py_tp_traverse, step_traverse},
    {Py_tp_clear, step_clear},
    {Py_tp_methods, step_methods},
    {Py_tp_getset, step_getset},
    {Py_tp_doc, "One call of a timed generator or coroutine (from "
                "Timed._begin)."},
    {0, NULL},
};

static PyType_Spec step_spec = {
    .name = "microlog._microlog.TimedCall",
    .basicsize = sizeof(ml_timed_step),
    .flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = step_slots,
};

/* ---- module functions -------------------------------------------------- */

static PyObject *
timed_new_run(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    run_epoch++;
    rss_close();
    Py_RETURN_NONE;
}

static PyObject *
timed_current_call(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyLong_FromUnsignedLongLong(current_call);
}

static PyMethodDef timed_functions[] = {
    {"timed_new_run", timed_new_run, METH_NOARGS,
     "timed_new_run() -> None\n\nCalled at every recording start and stop: "
     "calls begun before write no span into the next recording."},
    {"timed_current_call", timed_current_call, METH_NOARGS,
     "timed_current_call() -> int\n\nThe call id of the innermost timed "
     "call running on this thread, or 0."},
    {NULL, NULL, 0, NULL},
};

static int
add_type(PyObject *module, PyType_Spec *spec, const char *name)
{
    PyObject *type = PyType_FromModuleAndSpec(module, spec, NULL);
    if (type == NULL) {
        return -1;
    }
    int rc = PyModule_AddObject(module, name, type);
    if (rc < 0) {
        Py_DECREF(type);
    }
    return rc;
}

int
ml_timed_add_types(PyObject *module)
{
    calibrate_cpu_clock();
    if (add_type(module, &step_spec, "TimedCall") < 0
        || add_type(module, &timed_spec, "Timed") < 0) {
        return -1;
    }
    return PyModule_AddFunctions(module, timed_functions);
}
