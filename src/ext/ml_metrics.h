// SPDX-License-Identifier: MIT
// Metric series, their values and end-of-run reports written from Python
// (python/microlog/_metrics.py and _reports.py), plus the C audit hook that
// lets _reports.py see files and sockets opened during a recording at the
// cost of one flag test per audit event. User documentation: docs/METRICS.md.
#ifndef ML_METRICS_H
#define ML_METRICS_H

#include <Python.h>

/* Adds metric_series(), metric_values(), report(), open_audit(),
 * ignore_thread() and the REPORT_* constants to the extension module. Call
 * from the module's exec slot, WITH the GIL. Returns 0, or -1 with a Python
 * exception set. */
int ml_metrics_add_functions(PyObject *module);

#endif
