// SPDX-License-Identifier: MIT
// Clocks: a monotonic clock for intervals and flush deadlines, the wall clock
// for the run's start time, and a thread's own CPU clock.
#ifndef ML_CLOCK_H
#define ML_CLOCK_H

#include <stdint.h>

/* Monotonic nanoseconds (CLOCK_MONOTONIC); never goes back. */
uint64_t ml_clock_mono_ns(void);
/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t ml_clock_wall_ns(void);
/* CPU nanoseconds used so far by the calling thread. */
uint64_t ml_clock_thread_cpu_ns(void);

#endif
