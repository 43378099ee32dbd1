// SPDX-License-Identifier: MIT
// microlog._microlog.ship_start() / ship_stop(): the thread that sends the
// recording to the central store while the program runs (net/ml_ship),
// one per process, never the program's or the sampler's.
#ifndef ML_SHIPPER_H
#define ML_SHIPPER_H

#include <Python.h>

PyObject *ml_shipper_start(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *ml_shipper_stop(PyObject *module, PyObject *args);

#endif
