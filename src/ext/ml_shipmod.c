// SPDX-License-Identifier: MIT
// The module microlog._ship: the sender of recordings to the central store
// (ml_shipper.c), apart from microlog._microlog so that only programs that
// send load libcurl. It reaches the recorder of _microlog through that
// module's capsule.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ml_recorder.h"
#include "ml_shipper.h"

static PyMethodDef ml_shipmod_methods[] = {
    {"start", (PyCFunction)(void (*)(void))ml_shipper_start,
     METH_VARARGS | METH_KEYWORDS,
     "start(path, server=None, token=None, s3_root=None, s3_region=None, "
     "run_id=None, name=None, host=None, start_us=0)\n"
     "Starts the threads that send the recording to the central store."},
    {"stop", ml_shipper_stop, METH_VARARGS,
     "stop(timeout_s=10) -> (stored, acked_bytes, why) or None\n"
     "Stops sending; sends the rest of the closed files first."},
    {NULL, NULL, 0, NULL},
};

static int
ml_shipmod_exec(PyObject *module)
{
    (void)module;
    ml_shipper_listen_fn listen =
        (ml_shipper_listen_fn)PyCapsule_Import(ML_FILE_LISTENER_CAPSULE, 0);
    if (listen == NULL) {
        return -1;
    }
    ml_shipper_set_listen(listen);
    return 0;
}

static PyModuleDef_Slot ml_shipmod_slots[] = {
    {Py_mod_exec, (void *)ml_shipmod_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef ml_shipmod_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "microlog._ship",
    .m_doc = "The sender of recordings to microlog's central store.",
    .m_size = 0,
    .m_methods = ml_shipmod_methods,
    .m_slots = ml_shipmod_slots,
};

PyMODINIT_FUNC
PyInit__ship(void)
{
    return PyModuleDef_Init(&ml_shipmod_def);
}
