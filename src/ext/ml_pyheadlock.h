// SPDX-License-Identifier: MIT
// The runtime's lock on the interpreters' thread lists (CPython's
// HEAD_LOCK), for code that walks the main interpreter's list with the GIL
// and dereferences its thread states (the fallback sampler). The GIL does
// not keep that list still: a thread in a subinterpreter makes and deletes
// a temporary main-interpreter thread state when it calls into the main
// interpreter (3.12+), while it holds another GIL. sys._current_frames
// walks the lists under this lock too.

#ifndef ML_PYHEADLOCK_H
#define ML_PYHEADLOCK_H

/* Takes the lock without letting the GIL go; hold it briefly, for what
 * sys._current_frames does under it at most. */
void ml_pyheadlock_lock(void);
void ml_pyheadlock_unlock(void);

#endif /* ML_PYHEADLOCK_H */
