// SPDX-License-Identifier: MIT
// The sending thread for Python (see ml_shipper.h).
#include "ml_shipper.h"

#include <pthread.h>

#include "core/ml_error.h"
#include "net/ml_ship.h"

/* Only the thread that calls start/stop (holding the GIL) touches it. */
static ml_ship *current;
static int atfork_done;

/* A forked child has no sending thread: forget the parent's (its memory
 * is not freed: the thread it describes does not exist here). */
static void
forget_in_child(void)
{
    current = NULL;
}

PyObject *
ml_shipper_start(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kw[] = {"path",   "server", "token", "s3_root",  "s3_region",
                         "run_id", "name",   "host",  "start_us", NULL};
    ml_ship_config c = {0};
    long long start_us = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|zzzzzzzL", kw, &c.path,
                                     &c.server, &c.token, &c.s3_root,
                                     &c.s3_region, &c.run_id, &c.name, &c.host,
                                     &start_us)) {
        return NULL;
    }
    if (current != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "microlog: already sending");
        return NULL;
    }
    c.start_unix_us = start_us;
    char why[512];
    ml_ship *s;
    if (ml_ship_new(&c, &s, why, sizeof why) != ML_OK) {
        PyErr_Format(PyExc_ValueError, "microlog: %s", why);
        return NULL;
    }
    if (ml_ship_start(s) != ML_OK) {
        ml_ship_free(s);
        return PyErr_NoMemory();
    }
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, forget_in_child);
        atfork_done = 1;
    }
    current = s;
    Py_RETURN_NONE;
}

/* ship_stop(timeout_s) -> (stored, acked_bytes, why): stops the thread
 * and sends the rest, without the GIL, for at most timeout_s seconds. */
PyObject *
ml_shipper_stop(PyObject *module, PyObject *args)
{
    (void)module;
    double timeout_s = 10;
    if (!PyArg_ParseTuple(args, "|d", &timeout_s)) {
        return NULL;
    }
    ml_ship *s = current;
    if (s == NULL) {
        Py_RETURN_NONE;
    }
    current = NULL;
    char why[512];
    int rc;
    Py_BEGIN_ALLOW_THREADS;
    rc = ml_ship_stop(s, (long)(timeout_s * 1000), why, sizeof why);
    Py_END_ALLOW_THREADS;
    unsigned long long acked = ml_ship_acked(s);
    ml_ship_free(s);
    return Py_BuildValue("(OKs)", rc == ML_OK ? Py_True : Py_False, acked,
                         rc == ML_OK ? "" : why);
}
