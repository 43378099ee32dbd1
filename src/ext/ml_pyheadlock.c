// SPDX-License-Identifier: MIT
// HEAD_LOCK from outside CPython (see ml_pyheadlock.h). Its mutex lives in
// _PyRuntime, so this file reads CPython's internal headers.

#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1 /* internal headers; the build may pass it */
#endif
#include <Python.h>

#include "internal/pycore_runtime.h"

#include "ml_pyheadlock.h"

#include <sched.h>
#include <stdint.h>

#if PY_VERSION_HEX >= 0x030D0000

/* 3.13 takes its PyMutex without detaching the thread state (keeping the
 * GIL). The function that does so is not exported, and the public
 * PyMutex_Lock lets the GIL go while it waits, then takes the GIL back
 * while holding the lock, which a GIL holder waiting for the lock would
 * deadlock with. Holders keep it for a few list operations and never wait
 * for a GIL under it, so trying again until it is free is enough. */
void
ml_pyheadlock_lock(void)
{
    PyMutex *m = &_PyRuntime.interpreters.mutex;
    for (;;) {
        uint8_t expected = 0; /* unlocked, nobody parked */
        if (__atomic_compare_exchange_n(&m->_bits, &expected, 1, 0,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            return;
        }
        sched_yield();
    }
}

void
ml_pyheadlock_unlock(void)
{
    PyMutex_Unlock(&_PyRuntime.interpreters.mutex);
}

#else /* 3.9 to 3.12: a PyThread lock, which knows nothing of the GIL */

void
ml_pyheadlock_lock(void)
{
    PyThread_acquire_lock(_PyRuntime.interpreters.mutex, WAIT_LOCK);
}

void
ml_pyheadlock_unlock(void)
{
    PyThread_release_lock(_PyRuntime.interpreters.mutex);
}

#endif
