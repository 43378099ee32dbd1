// SPDX-License-Identifier: MIT
// The calling Python thread as the recording knows it: its thread id and
// its current stack, for records made from Python code (logs, spans,
// errors). Called WITH the GIL; frames are read through the C API, and
// frames, stacks and names are interned by content, so a log's stack shares
// its nodes with the samples of the same code. The launcher's hidden root
// frames are left out here too.
#ifndef ML_PYSTACK_H
#define ML_PYSTACK_H

#include <Python.h>
#include <stdint.h>

#include "ml_recorder.h"

typedef struct ml_pystack ml_pystack;

int ml_pystack_new(ml_pystack **out);
/* Call WITH the GIL: drops the code objects it keeps. Accepts NULL. */
void ml_pystack_free(ml_pystack *p);

/* Call WITH the GIL and WITHOUT the sink lock: reads the stack from frame
 * (NULL: the caller's current frame) to the root, with its line numbers,
 * for the next ml_pystack_stack. This part calls into Python (frame objects
 * can be made, and a collection can run finalizers that log), so it must
 * not hold the lock those finalizers would take. */
int ml_pystack_gather(ml_pystack *p, PyFrameObject *frame);
/* Call WITH the GIL, WITHOUT the sink lock and not while a gathering
 * runs: empties the caches once they hold max_codes code objects (or 8
 * times as many places), releasing their code objects, which can run
 * finalizers. */
void ml_pystack_trim(ml_pystack *p, uint32_t max_codes);
/* The same for one code object given to ml_pystack_code. */
void ml_pystack_prepare_code(PyCodeObject *code);

/* The rest: call WITH the GIL and the sink lock held; no Python code runs
 * in them. */

/* The recording's id for the calling thread, registering it if the sampler
 * has not seen it yet. */
int ml_pystack_thread(ml_pystack *p, ml_recorder *r, uint32_t *thread);
/* Interns the stack the last ml_pystack_gather read and stores its id (0
 * when empty). */
int ml_pystack_stack(ml_pystack *p, ml_recorder *r, uint32_t *stack);
/* String ids of a code object's qualified name and file name, and its
 * first line (cached per code object). */
int ml_pystack_code(ml_pystack *p, ml_recorder *r, PyCodeObject *code,
                    uint32_t *name, uint32_t *file, uint32_t *firstline);

#endif
