// SPDX-License-Identifier: MIT
// A stop signal that interrupts a timed sleep: microlog's native threads
// (sampler, status, writer, the sender of recordings, the store's
// background work) sleep to absolute monotonic deadlines and must stop at
// once when their owner does, not when their interval runs out.
#ifndef ML_WAKE_H
#define ML_WAKE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* On Linux the sleep is a futex wait on stop itself: one system call per
 * sleep (a condition variable costs two, as glibc marks its mutex
 * contended when a timed wait returns, so the unlock wakes nobody with a
 * second call; the sampler sleeps a thousand times a second). */
typedef struct {
#ifndef __linux__
    pthread_mutex_t lock; /* with cond; stop is also read without it */
    pthread_cond_t cond;  /* timed on CLOCK_MONOTONIC */
#endif
    atomic_int stop;
} ml_wake;

/* 0 or ML_ENOMEM. */
int ml_wake_init(ml_wake *w);
void ml_wake_destroy(ml_wake *w);
/* Sleeps until deadline_ns (ml_clock_mono_ns time) or the stop; returns 1
 * when stopped. */
int ml_wake_sleep_until(ml_wake *w, uint64_t deadline_ns);
/* Stops: wakes the sleeper now and every later sleep returns at once. */
void ml_wake_stop(ml_wake *w);
int ml_wake_stopped(ml_wake *w);

/* Called first by each of microlog's native threads: blocks every signal
 * in it, so signals go to the program's threads as without microlog (and
 * SIGXFSZ for microlog's own write stays pending in it, harmless). */
void ml_wake_block_signals(void);

#endif
