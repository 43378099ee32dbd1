/* SPDX-License-Identifier: MIT
 * ml_module.c - the extension module microlog._microlog: its definition,
 * per-module state and constants shared with the recording format.
 * Multi-phase init with module state (PEP 489, PEP 573); the sampler and
 * the capture hooks hang their state off ml_module_state.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "format/ml_format.h"
#include "ml_api.h"
#include "ml_recorder.h"
#include "ml_metrics.h"
#include "ml_timed.h"

/* Per-module state. Every field is protected by the GIL. */
typedef struct {
    PyObject *format_version; /* (major, minor) tuple, owned */
} ml_module_state;

static inline ml_module_state *
ml_module_get_state(PyObject *module)
{
    return (ml_module_state *)PyModule_GetState(module);
}

/* Add `value` to `module` as `name` without stealing the caller's
 * reference (PyModule_AddObjectRef appeared in 3.10). */
static int
ml_module_add_ref(PyObject *module, const char *name, PyObject *value)
{
#if PY_VERSION_HEX >= 0x030A0000
    return PyModule_AddObjectRef(module, name, value);
#else
    Py_INCREF(value);
    if (PyModule_AddObject(module, name, value) < 0) {
        Py_DECREF(value);
        return -1;
    }
    return 0;
#endif
}

static int
ml_module_exec(PyObject *module)
{
    ml_module_state *state = ml_module_get_state(module);

    PyObject *version;

    version = Py_BuildValue("(ii)", ML_FORMAT_VERSION_MAJOR,
                            ML_FORMAT_VERSION_MINOR);
    if (version == NULL) {
        return -1;
    }
    state->format_version = version; /* the state owns the reference */
    static const struct {
        const char *name;
        int value;
    } constants[] = {
        {"LOG_API", ML_LOG_API},           {"LOG_STDOUT", ML_LOG_STDOUT},
        {"LOG_STDERR", ML_LOG_STDERR},     {"LOG_LOGGING", ML_LOG_LOGGING},
        {"LOG_WARNINGS", ML_LOG_WARNINGS}, {"LOG_EXCEPTION", ML_LOG_EXCEPTION},
    };
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
        if (PyModule_AddIntConstant(module, constants[i].name,
                                    constants[i].value)
            < 0) {
            return -1;
        }
    }
    if (ml_timed_add_types(module) < 0) {
        return -1;
    }
    if (ml_metrics_add_functions(module) < 0) {
        return -1;
    }
    /* For microlog._ship (the sender, a module of its own so that only a
     * program that sends pays for loading libcurl): how it learns of the
     * recording's files. */
    PyObject *listener = PyCapsule_New((void *)ml_recorder_set_file_listener,
                                       ML_FILE_LISTENER_CAPSULE, NULL);
    if (listener == NULL
        || PyModule_AddObject(module, "_file_listener", listener) < 0) {
        Py_XDECREF(listener);
        return -1;
    }
    return ml_module_add_ref(module, "FORMAT_VERSION", version);
}

static int
ml_module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ml_module_state *state = ml_module_get_state(module);

    Py_VISIT(state->format_version);
    return 0;
}

static int
ml_module_clear(PyObject *module)
{
    ml_module_state *state = ml_module_get_state(module);

    Py_CLEAR(state->format_version);
    return 0;
}

static void
ml_module_free(void *module)
{
    ml_module_clear((PyObject *)module);
}

PyDoc_STRVAR(ml_start_doc,
             "start(path, *, interval=0.001, status_interval=0.1, "
             "memory_interval=1.0, sampler='auto', meta=None) -> str\n\n"
             "Start recording into path (which must not exist). Returns the "
             "sampler mode that runs: 'native' (GIL-free) or 'fallback'.");
PyDoc_STRVAR(ml_stop_doc,
             "stop(exit_status=0) -> dict | None\n\n"
             "Stop the recording and return its figures (duration_s, bytes, "
             "samples, ticks, achieved_interval_us, sampler_cpu_s, sampler), "
             "or None when none was running.");
PyDoc_STRVAR(ml_hide_root_frames_doc,
             "hide_root_frames(codes) -> None\n\n"
             "Leave frames of these code objects out of stacks while they are "
             "at the root (the launcher's own frames).");
PyDoc_STRVAR(ml_log_doc,
             "log(level, source, text, frame=None) -> None\n\n"
             "Add a log entry at the calling thread: level as in logging, "
             "source one of the LOG_* constants, the stack from frame (None: "
             "no stack; omitted: the caller's). A no-op when not recording.");
PyDoc_STRVAR(ml_native_threads_doc,
             "native_threads() -> int\n\n"
             "How many native threads of microlog's run now (0 when not "
             "recording).");
PyDoc_STRVAR(ml_end_on_term_doc,
             "end_on_term() -> bool\n\n"
             "While this recording runs, make SIGTERM (where it has its "
             "default action) end the recording, exit status -15, before it "
             "kills the process. False when not recording or SIGTERM has "
             "another action.");
PyDoc_STRVAR(ml_is_running_doc,
             "is_running() -> bool\n\nWhether a recording is in progress.");

PyDoc_STRVAR(ml_current_path_doc,
             "current_path() -> str | None\n\nThe file the recording writes "
             "to now (a long run goes on in new linked files), or None.");
PyDoc_STRVAR(ml_stats_doc,
             "stats() -> dict | None\n\nThe recorder's counters and cache "
             "sizes: samples and files so far, definitions and threads of "
             "the current file, cached code objects and places, evictions, "
             "bytes waiting for the disk.");

PyDoc_STRVAR(ml_own_fds_doc,
             "own_fds() -> list[int]\n\nFile descriptors the recorder "
             "holds open now (its file, /proc files): not the program's.");

static PyMethodDef ml_module_methods[] = {
    {"own_fds", ml_api_own_fds, METH_NOARGS, ml_own_fds_doc},
    {"current_path", ml_api_current_path, METH_NOARGS, ml_current_path_doc},
    {"stats", ml_api_stats, METH_NOARGS, ml_stats_doc},
    {"start", (PyCFunction)(void (*)(void))ml_api_start,
     METH_VARARGS | METH_KEYWORDS, ml_start_doc},
    {"stop", ml_api_stop, METH_VARARGS, ml_stop_doc},
    {"hide_root_frames", ml_api_hide_root_frames, METH_O,
     ml_hide_root_frames_doc},
    {"log", (PyCFunction)(void (*)(void))ml_api_log,
     METH_VARARGS | METH_KEYWORDS, ml_log_doc},
    {"is_running", ml_api_is_running, METH_NOARGS, ml_is_running_doc},
    {"end_on_term", ml_api_end_on_term, METH_NOARGS, ml_end_on_term_doc},
    {"native_threads", ml_api_native_threads, METH_NOARGS,
     ml_native_threads_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot ml_module_slots[] = {
    {Py_mod_exec, (void *)ml_module_exec},
#ifdef Py_mod_multiple_interpreters
    /* The sampler is one native thread per process. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(ml_module_doc,
             "C core of microlog: sampler, capture hooks and the recording "
             "writer.\n\n"
             "FORMAT_VERSION -- (major, minor) of the recording format "
             "written.");

static struct PyModuleDef ml_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "microlog._microlog",
    .m_doc = ml_module_doc,
    .m_size = sizeof(ml_module_state),
    .m_methods = ml_module_methods,
    .m_slots = ml_module_slots,
    .m_traverse = ml_module_traverse,
    .m_clear = ml_module_clear,
    .m_free = ml_module_free,
};

PyMODINIT_FUNC
PyInit__microlog(void)
{
    return PyModuleDef_Init(&ml_module_def);
}
