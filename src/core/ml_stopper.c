// SPDX-License-Identifier: MIT
// Interruptible naps (see ml_stopper.h).
#include "ml_stopper.h"

#include <time.h>

void
ml_stopper_init(ml_stopper *s)
{
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->stopping = 0;
}

void
ml_stopper_destroy(ml_stopper *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

int
ml_stopper_nap(ml_stopper *s, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    if (!s->stopping) {
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    int stop = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

void
ml_stopper_stop(ml_stopper *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void
ml_stopper_reset(ml_stopper *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 0;
    pthread_mutex_unlock(&s->mu);
}
