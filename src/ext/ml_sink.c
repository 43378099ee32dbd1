// SPDX-License-Identifier: MIT
// The writer shared by the extension's threads (see ml_sink.h).
#include "ml_sink.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"

int
ml_sink_open(ml_sink *s, const char *path)
{
    s->writer = NULL;
    s->error = 0;
    s->t0_ns = ml_clock_mono_ns();
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        return ML_ENOMEM;
    }
    int err = ml_writer_open(path, NULL, &s->writer);
    if (err < 0) {
        pthread_mutex_destroy(&s->lock);
    }
    return err;
}

int
ml_sink_close(ml_sink *s)
{
    int err = ml_writer_close(s->writer);
    s->writer = NULL;
    pthread_mutex_destroy(&s->lock);
    return s->error ? s->error : err;
}

void
ml_sink_abandon(ml_sink *s)
{
    /* The parent owns the file: close our descriptor copy without
     * flushing the parent's buffered records into it. */
    ml_writer_abandon(s->writer);
    s->writer = NULL;
}

void
ml_sink_lock(ml_sink *s)
{
    pthread_mutex_lock(&s->lock);
}

void
ml_sink_unlock(ml_sink *s)
{
    pthread_mutex_unlock(&s->lock);
}

int
ml_sink_check(ml_sink *s, int err)
{
    if (err < 0 && s->error == 0) {
        s->error = err;
    }
    return err;
}

uint64_t
ml_sink_time_us(const ml_sink *s, uint64_t mono_ns)
{
    return mono_ns > s->t0_ns ? (mono_ns - s->t0_ns) / 1000 : 0;
}
