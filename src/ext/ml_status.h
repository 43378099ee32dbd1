// SPDX-License-Identifier: MIT
// The status thread: a native thread that records the process's CPU use,
// modules loaded and thread names every status interval, and its resident
// memory, allocated Python blocks and GC collections every memory interval.
// Probes that need the interpreter take the GIL briefly; the sampler thread
// never does, so a long-held GIL delays status values, never samples.
#ifndef ML_STATUS_H
#define ML_STATUS_H

#include <stdint.h>

#include "ml_sampler.h"
#include "ml_sink.h"

typedef struct ml_status ml_status;

typedef struct {
    uint64_t status_ns;  /* CPU, modules, thread names; 0.1 s by default */
    uint64_t memory_ns;  /* RSS, objects, GC; 1 s by default */
    uint64_t main_ident; /* the main thread, named even before threading
                            is imported; 0 if unknown */
} ml_status_config;

/* Call WITH the GIL. */
int ml_status_start(ml_sink *sink, ml_sampler *sampler,
                    const ml_status_config *cfg, ml_status **out);
/* Takes a last reading, stops and joins the thread; call WITHOUT holding
 * the GIL (the thread may be waiting for it). */
int ml_status_stop(ml_status *st);
/* Frees a stopped (or never started) status thread. Accepts NULL. */
void ml_status_free(ml_status *st);
/* The descriptor it keeps open (/proc/self/statm), or -1. */
int ml_status_own_fd(const ml_status *st);
/* In a forked child: closes the child's copy of it. */
void ml_status_forget_fork(ml_status *st);

#endif
