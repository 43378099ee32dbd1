// SPDX-License-Identifier: MIT
// The sampler: a native thread that wakes every interval (absolute
// deadlines, 1 us timer slack), reads the stack of every Python thread
// without the GIL (ml_pywalk) or, in fallback mode, with it (ml_pyfallback),
// classifies each thread as running or waiting from its own CPU clock, and
// writes one sample per thread through the sink.
#ifndef ML_SAMPLER_H
#define ML_SAMPLER_H

#include <stdint.h>

#include "ml_sink.h"

typedef struct ml_sampler ml_sampler;

typedef struct {
    uint64_t interval_ns;
    int fallback; /* 1: sample through the C API with the GIL */
    /* Code objects the caches keep (and 8 times as many places) before
     * they are emptied; 0: 65536. */
    uint32_t cache_entries;
    /* threading.get_ident() of the main thread (the process's first
     * thread), named "MainThread" from its first sample; 0: unknown. */
    uint64_t main_ident;
} ml_sampler_config;

typedef struct {
    const char *mode;    /* "native" or "fallback" */
    uint64_t ticks;      /* samples rounds taken */
    uint64_t elapsed_ns; /* from the first tick to the last */
    uint64_t cpu_ns;     /* the sampler thread's own CPU time */
    uint64_t late_ticks; /* rounds that started over an interval late */
} ml_sampler_stats;

/* Starts the sampler thread. Call WITH the GIL. When the GIL-free reader
 * cannot run here the sampler falls back by itself; stats say which. */
int ml_sampler_start(ml_sink *sink, const ml_sampler_config *cfg,
                     ml_sampler **out);
/* Stops and joins the thread; call WITHOUT the GIL held by this thread
 * (a fallback round may be waiting for it). Ends every thread's record. */
int ml_sampler_stop(ml_sampler *s, ml_sampler_stats *stats);
void ml_sampler_free(ml_sampler *s);
/* 1 when sampling through the C API with the GIL. */
int ml_sampler_fallback(const ml_sampler *s);

/* Names the thread whose threading.get_ident() is ident; skips unknown
 * idents and unchanged names. Call with the sink lock held. */
int ml_sampler_name_thread(ml_sampler *s, uint64_t ident, const char *name);
/* The name of a thread that has just started (threading.Thread.start),
 * known by its ident and kernel id: given now, or at its first sample if
 * it has none yet, so that even a thread that lives for a millisecond is
 * named. Call with the sink lock held. */
int ml_sampler_name_started(ml_sampler *s, uint64_t ident, uint64_t tid,
                            const char *name);
/* Hides frames of this code object while they are at the root of a stack:
 * microlog's own `python -m microlog` and runpy frames, so the program's
 * stacks start where `python script.py` would start them. The caller keeps
 * the code object alive. At most 16. Call with the sink lock held. */
int ml_sampler_hide_root_code(ml_sampler *s, uint64_t code);
/* 1 when code is one of the hidden root codes. Sink lock held. */
int ml_sampler_is_hidden(const ml_sampler *s, uint64_t code);
/* The recording's id of a thread identified as the sampler identifies it,
 * registering it now if no round has seen it yet (a thread that logs before
 * its first sample). Call with the sink lock held. */
int ml_sampler_current_thread(ml_sampler *s, uint64_t tstate, uint64_t ident,
                              uint64_t tid, uint64_t t_us, uint32_t *id);
/* Kernel thread ids the sampler must not record (microlog's own threads
 * that hold a Python thread state, or a program thread while it does
 * microlog's work). 1 when added, 0 when it was already (or no room). */
int ml_sampler_ignore_tid(ml_sampler *s, uint64_t tid);
/* Samples thread tid again. */
void ml_sampler_unignore_tid(ml_sampler *s, uint64_t tid);
/* Walks retried (a frame could not be read) and walks that stayed broken
 * (recorded under "<unreadable>"). Sink lock held; s may be NULL. */
void ml_sampler_walk_stats(const ml_sampler *s, uint64_t *retried,
                           uint64_t *failed);
/* Descriptors the sampler holds open (its threads' /proc files), into
 * fds; how many. Sink lock held. */
int ml_sampler_own_fds(const ml_sampler *s, int *fds, int max);
/* In a forked child: closes the child's copies of those descriptors. */
void ml_sampler_forget_fork(ml_sampler *s);
/* What the caches hold now and how often they were emptied. Sink lock
 * held; s may be NULL. */
void ml_sampler_cache_sizes(ml_sampler *s, uint32_t *codes, uint32_t *frames,
                            uint32_t *evictions);

#endif
