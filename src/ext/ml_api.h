// SPDX-License-Identifier: MIT
// Module-level functions of microlog._microlog (see ml_api.c); the method
// table is in ml_module.c.
#ifndef ML_API_H
#define ML_API_H

#include <Python.h>

PyObject *ml_api_start(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *ml_api_stop(PyObject *module, PyObject *args);
PyObject *ml_api_hide_root_frames(PyObject *module, PyObject *codes);
PyObject *ml_api_log(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *ml_api_end_on_term(PyObject *module, PyObject *unused);
PyObject *ml_api_native_threads(PyObject *module, PyObject *unused);
PyObject *ml_api_is_running(PyObject *module, PyObject *unused);
PyObject *ml_api_current_path(PyObject *module, PyObject *unused);
PyObject *ml_api_stats(PyObject *module, PyObject *unused);
PyObject *ml_api_own_fds(PyObject *module, PyObject *unused);

#endif
