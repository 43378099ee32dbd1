// SPDX-License-Identifier: MIT
// Names the views group functions by: the module a file path belongs to
// and the class a qualified name is defined in. Both are guesses from the
// recording alone (it has no sys.path), documented in docs/API.md.
#ifndef ML_NAMES_H
#define ML_NAMES_H

#include <stddef.h>

/* The dotted module name of a source file, written to out (NUL-terminated,
 * cut to cap - 1 bytes): the path after the last site-packages/,
 * dist-packages/ or lib/pythonX.Y/ folder, else the file name; ".py" and
 * a final "__init__" are dropped. "<frozen zipimport>" gives "zipimport",
 * other "<...>" names stay as they are. Returns the length written. */
size_t ml_module_of(const char *file, size_t len, char *out, size_t cap);

/* The class part of a qualified name ("Pool.map" gives "Pool",
 * "a.<locals>.B.run" gives "B"), or 0 when it has none (a plain function,
 * or Python before 3.11 whose frames have no qualified names). */
size_t ml_class_of(const char *qualname, size_t len, char *out, size_t cap);

#endif
