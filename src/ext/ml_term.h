// SPDX-License-Identifier: MIT
// SIGTERM ends a child's recording before it kills the process: a
// multiprocessing Pool terminates its workers at the end of a `with`
// block, before their first periodic flush (docs/SAMPLER.md).
#ifndef ML_TERM_H
#define ML_TERM_H

#include "ml_recorder.h"

/* While r records, makes SIGTERM, where it has its default action, first
 * end the recording (an end record with exit status -SIGTERM, as
 * multiprocessing's exitcode says it, everything written) and then kill
 * the process as the default action does. The signal handler only wakes a
 * thread of its own, which does the writing, so a signal can land on any
 * thread at any moment. A handler of the program's own, or SIG_IGN, is
 * left alone (it can install one later too: that replaces this one).
 * Returns 1 when armed, 0 when SIGTERM has another action or the thread
 * cannot start. Call with the GIL, while r records. */
int ml_term_arm(ml_recorder *r);

/* Around the recording's stop, with the GIL (released while waiting).
 * From ml_term_begin_stop on, a SIGTERM waits for the stop to end the
 * recording as it was going to; ml_term_end_stop then puts SIGTERM's
 * previous action back (unless the program has set one since), ends the
 * thread and raises a SIGTERM that came meanwhile again. If the thread
 * has begun ending the recording already, ml_term_begin_stop does not
 * return: the process is dying. No-ops when not armed. */
void ml_term_begin_stop(void);
void ml_term_end_stop(void);

/* 1 while armed (its thread runs). */
int ml_term_armed(void);

/* In a forked child, before Python runs again: the thread does not exist
 * there; SIGTERM gets its previous action back. */
void ml_term_forget_fork(void);

#endif
