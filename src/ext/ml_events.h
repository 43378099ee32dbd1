// SPDX-License-Identifier: MIT
// Records made from Python threads while a recording runs: log entries and
// timed-call spans. Every function: call WITH the GIL; each is a no-op that
// returns 0 when no recording is running, and never raises: a failure to
// write is kept by the sink and reported when the recording stops.
#ifndef ML_EVENTS_H
#define ML_EVENTS_H

#include <Python.h>
#include <stdint.h>

#include "format/ml_record.h"
#include "ml_recorder.h"

/* The recording events go to (ml_api.c sets it at start and clears it at
 * stop). */
void ml_events_attach(ml_recorder *r);
void ml_events_detach(void);
/* In a forked child's pthread_atfork handler: drop the parent's recording
 * without calling into Python (no object is released there). */
void ml_events_forget_fork(void);

/* A recording belongs to the main interpreter: called from a
 * subinterpreter (a legacy one can import the module), every function
 * here acts as if none ran, so that no object of an interpreter that can
 * end before the recording is ever kept by it. */

/* 1 when a recording is running (cheap; for fast paths). */
int ml_events_active(void);
/* The running recording, or NULL (for other records made from Python
 * threads: metrics and reports, ml_metrics.c). */
ml_recorder *ml_events_recorder(void);
/* 1 when the calling thread runs in the main interpreter. */
int ml_events_main_interp(void);

/* A log entry at the calling thread, with the stack from frame (NULL: the
 * current frame) to the root. */
int ml_events_log(uint32_t level, uint8_t source, const char *text, size_t len,
                  PyFrameObject *frame);

/* A span of a timed call of code made by the calling thread. The caller
 * fills time_us, wall_ns, cpu_ns, mem_delta, call ids, args and exception;
 * thread, name, file and line are filled here. */
int ml_events_span(PyCodeObject *code, ml_span *span);

/* Microseconds since the running recording's start (0 when none). */
uint64_t ml_events_now_us(void);

#endif
