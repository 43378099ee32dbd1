// SPDX-License-Identifier: MIT
// Interruptible timed sleeps for microlog's threads (see ml_wake.h).
#include "ml_wake.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#include "ml_error.h"

int
ml_wake_init(ml_wake *w)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        return ML_ENOMEM;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        return ML_ENOMEM;
    }
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        pthread_cond_destroy(&w->cond);
        return ML_ENOMEM;
    }
    atomic_init(&w->stop, 0);
    return ML_OK;
}

void
ml_wake_destroy(ml_wake *w)
{
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

int
ml_wake_sleep_until(ml_wake *w, uint64_t deadline_ns)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_ns / 1000000000u),
        .tv_nsec = (long)(deadline_ns % 1000000000u),
    };
    pthread_mutex_lock(&w->lock);
    while (!atomic_load(&w->stop)
           && pthread_cond_timedwait(&w->cond, &w->lock, &ts) != ETIMEDOUT) {
    }
    int stopped = atomic_load(&w->stop);
    pthread_mutex_unlock(&w->lock);
    return stopped;
}

void
ml_wake_stop(ml_wake *w)
{
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stop, 1);
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int
ml_wake_stopped(ml_wake *w)
{
    return atomic_load(&w->stop);
}

void
ml_wake_block_signals(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}
