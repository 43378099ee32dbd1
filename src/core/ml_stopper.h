// SPDX-License-Identifier: MIT
// A background thread's sleep that ends early when it is told to stop: the
// senders, the compactor and other loops that wake up every so often and
// must quit at once when their owner goes.
#ifndef ML_STOPPER_H
#define ML_STOPPER_H

#include <pthread.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
} ml_stopper;

void ml_stopper_init(ml_stopper *s);
void ml_stopper_destroy(ml_stopper *s);
/* Sleeps up to ms milliseconds, less if told to stop: 1 when stopping. */
int ml_stopper_nap(ml_stopper *s, unsigned ms);
/* Wakes the nap and makes every later one return 1 at once. */
void ml_stopper_stop(ml_stopper *s);
/* Makes naps sleep again (a thread started anew). */
void ml_stopper_reset(ml_stopper *s);

#endif
