// SPDX-License-Identifier: MIT
// Timed calls (@microlog.timed): the C wrapper type whose calls become SPAN
// records, and the per-call handle the Python glue (python/microlog/
// _timed.py) uses for generators and coroutines. Span semantics, the RSS
// design and the costs are in docs/TIMED.md.
#ifndef ML_TIMED_H
#define ML_TIMED_H

#include <Python.h>

/* Adds the heap types Timed and TimedCall and the functions
 * timed_new_run() and timed_current_call() to the extension module. Call
 * from the module's exec slot, WITH the GIL. Returns 0, or -1 with a Python
 * exception set. */
int ml_timed_add_types(PyObject *module);

#endif
