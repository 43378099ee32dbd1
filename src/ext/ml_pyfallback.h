// SPDX-License-Identifier: MIT
// The fallback stack reader: the same shape as ml_pywalk.h, but through
// CPython's public C API, so every call needs the GIL. Used when the GIL-free
// reader cannot run (an unknown layout, no safe-read mechanism) or when
// MICROLOG_SAMPLER=fallback asks for it. Recordings say which one ran.
#ifndef ML_PYFALLBACK_H
#define ML_PYFALLBACK_H

#include "ml_pywalk.h"

typedef struct ml_pyfallback ml_pyfallback;

/* Threads one sample reads at most. */
#define ML_PYFALLBACK_MAX_THREADS 1024

/* All functions: call WITH the GIL. Errors are negated errno values. */
int ml_pyfallback_new(ml_pyfallback **out);
void ml_pyfallback_free(ml_pyfallback *f);
int ml_pyfallback_sample(ml_pyfallback *f, ml_pythread *threads,
                         int max_threads, ml_pyframe *frames, int max_depth);
int ml_pyfallback_code(ml_pyfallback *f, uint64_t code, ml_pycode_info *out);
int ml_pyfallback_line(ml_pyfallback *f, uint64_t code, int32_t lasti);
/* Drops every code object kept so far (the dict of them is released, which
 * can run Python code: call without microlog's locks). */
void ml_pyfallback_clear(ml_pyfallback *f);

#endif
