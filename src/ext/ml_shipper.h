// SPDX-License-Identifier: MIT
// microlog._ship.start() / stop(): the threads that send the recording to
// the central store while the program runs (net/ml_ship), never the
// program's or the sampler's. A module of its own (ml_shipmod.c), loaded
// only by a program that sends: it links libcurl and its 30 libraries,
// which would add milliseconds to every recorded program's start.
#ifndef ML_SHIPPER_H
#define ML_SHIPPER_H

#include <Python.h>

#include "ml_sink.h"

/* How the recorder's file events are asked for (from _microlog's capsule):
 * set once when the module is loaded. */
typedef void (*ml_shipper_listen_fn)(ml_file_listener_fn fn, void *ctx);
void ml_shipper_set_listen(ml_shipper_listen_fn listen);

PyObject *ml_shipper_start(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *ml_shipper_stop(PyObject *module, PyObject *args);

#endif
