// SPDX-License-Identifier: MIT
// Interruptible timed sleeps for microlog's threads (see ml_wake.h).
#include "ml_wake.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#include "ml_error.h"

#ifdef __linux__
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

static struct timespec
to_timespec(uint64_t ns)
{
    return (struct timespec){
        .tv_sec = (time_t)(ns / 1000000000u),
        .tv_nsec = (long)(ns % 1000000000u),
    };
}

#ifdef __linux__

int
ml_wake_init(ml_wake *w)
{
    atomic_init(&w->stop, 0);
    return ML_OK;
}

void
ml_wake_destroy(ml_wake *w)
{
    (void)w;
}

int
ml_wake_sleep_until(ml_wake *w, uint64_t deadline_ns)
{
    struct timespec ts = to_timespec(deadline_ns);
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, the
     * clock of ml_clock_mono_ns. It returns at once if stop is no longer 0
     * (EAGAIN), so a stop between the check and the wait is not missed. */
    while (!atomic_load(&w->stop)) {
        long rc = syscall(SYS_futex, &w->stop, FUTEX_WAIT_BITSET_PRIVATE, 0,
                          &ts, NULL, FUTEX_BITSET_MATCH_ANY);
        if (rc != 0 && errno == ETIMEDOUT) {
            break;
        }
        if (rc != 0 && errno != EINTR && errno != EAGAIN) {
            break; /* never expected; a sleep must not become a spin */
        }
    }
    return atomic_load(&w->stop);
}

void
ml_wake_stop(ml_wake *w)
{
    atomic_store(&w->stop, 1);
    syscall(SYS_futex, &w->stop, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

#else /* a condition variable timed on CLOCK_MONOTONIC */

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
    struct timespec ts = to_timespec(deadline_ns);
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

#endif

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
