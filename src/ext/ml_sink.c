// SPDX-License-Identifier: MIT
// The writer shared by the extension's threads (see ml_sink.h).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "ml_sink.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ml_clock.h"
#include "core/ml_error.h"

int
ml_sink_open(ml_sink *s, const char *path)
{
    s->writer = NULL;
    s->error = 0;
    s->failed = 0;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->t0_ns = ml_clock_mono_ns();
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        return ML_ENOMEM;
    }
    ml_writer_options opt = {.defer_seal = 1};
    int err = ml_writer_open(path, &opt, &s->writer);
    if (err < 0) {
        pthread_mutex_destroy(&s->lock);
    }
    return err;
}

int
ml_sink_close(ml_sink *s, uint64_t *bytes)
{
    /* This runs in a program's thread: a file-size limit must not kill the
     * program (SIGXFSZ) for microlog's write, which fails with EFBIG. */
    sigset_t xfsz, old, pending;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &xfsz, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGXFSZ);
    int err = s->failed ? ML_OK : ml_writer_flush(s->writer);
    pthread_mutex_lock(&s->lock);
    ml_sink_check(s, err);
    pthread_mutex_unlock(&s->lock);
    *bytes = ml_writer_bytes(s->writer);
    err = ml_writer_close(s->writer);
    s->writer = NULL;
    sigpending(&pending);
    if (!was_pending && sigismember(&pending, SIGXFSZ)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&xfsz, NULL, &zero); /* ours: take it back */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
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

/* One line on stderr, written directly: this may run in microlog's own
 * threads, which never call into Python. */
static void
say(const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, text, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        text += n;
        len -= (size_t)n;
    }
}

int
ml_sink_check(ml_sink *s, int err)
{
    if (err >= 0) {
        return err;
    }
    int os = s->writer ? ml_writer_os_errno(s->writer) : 0;
    if (os != 0 && !s->failed) {
        char msg[4200];
        snprintf(msg, sizeof msg,
                 "microlog: cannot write %s (%s): recording stopped; what "
                 "was written before stays readable\n",
                 s->path, strerror(os));
        say(msg);
        s->failed = 1;
    } else if (s->error == 0 && os == 0) {
        char msg[4200];
        snprintf(msg, sizeof msg,
                 "microlog: %s: %s; recording goes on without what did not "
                 "fit\n",
                 s->path, ml_strerror(err));
        say(msg);
    }
    if (s->error == 0) {
        s->error = err;
    }
    return err;
}

uint64_t
ml_sink_time_us(const ml_sink *s, uint64_t mono_ns)
{
    return mono_ns > s->t0_ns ? (mono_ns - s->t0_ns) / 1000 : 0;
}
