// SPDX-License-Identifier: MIT
// The writer shared by the extension's threads, and the thread that
// compresses and writes its chunks (see ml_sink.h).
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
#include "ml_wake.h"

/* Sealed chunks waiting for the disk, at most: past this the disk does not
 * keep up, and the recording stops rather than grow without bound or make
 * the program wait. */
#define MAX_QUEUED_BYTES (64u << 20)

struct ml_sink_chunk {
    ml_sink_chunk *next;
    ml_sealed_chunk c;
};

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

/* The file cannot be written: say so once and stop. Call with the lock. */
static void
fail(ml_sink *s, const char *why)
{
    if (s->failed) {
        return;
    }
    char msg[4300];
    snprintf(msg, sizeof msg,
             "microlog: cannot write %s (%s): recording stopped; what was "
             "written before stays readable\n",
             s->path, why);
    say(msg);
    s->failed = 1;
}

/* ---- the writing thread ------------------------------------------------ */

/* Called by the writer under the sink lock: queue the chunk. */
static int
take_chunk(void *ctx, ml_sealed_chunk *c)
{
    ml_sink *s = ctx;
    if (s->failed) {
        ml_buf_reset(&c->records);
        return ML_EIO;
    }
    ml_sink_chunk *node = malloc(sizeof *node);
    if (node == NULL) {
        return ML_ENOMEM;
    }
    node->next = NULL;
    node->c = *c;
    ml_buf_init(&c->records, c->records.max);
    pthread_mutex_lock(&s->out_lock);
    int full = s->queued_bytes + node->c.records.len > MAX_QUEUED_BYTES;
    if (!full) {
        s->queued_bytes += node->c.records.len;
        if (s->tail != NULL) {
            s->tail->next = node;
        } else {
            s->head = node;
        }
        s->tail = node;
        pthread_cond_signal(&s->out_cond);
    }
    pthread_mutex_unlock(&s->out_lock);
    if (full) {
        ml_buf_free(&node->c.records);
        free(node);
        fail(s, "the disk does not keep up");
        return ML_EIO;
    }
    return ML_OK;
}

static void *
run_out(void *arg)
{
    ml_sink *s = arg;
    ml_wake_block_signals();
    void *zc = ml_chunk_ctx_new();
    ml_buf scratch;
    ml_buf_init(&scratch, ML_CHUNK_MAX_COMPRESSED + ML_CHUNK_HEADER_SIZE);
    int broken = zc == NULL;
    for (;;) {
        pthread_mutex_lock(&s->out_lock);
        while (s->head == NULL && !s->out_stop) {
            pthread_cond_wait(&s->out_cond, &s->out_lock);
        }
        ml_sink_chunk *node = s->head;
        if (node != NULL) {
            s->head = node->next;
            if (s->head == NULL) {
                s->tail = NULL;
            }
        }
        pthread_mutex_unlock(&s->out_lock);
        if (node == NULL) {
            break; /* stopped, and everything is written */
        }
        uint64_t bytes = 0;
        int os_errno = 0, err = 0;
        if (!broken) {
            err = ml_chunk_write(s->fd, zc, s->level, &node->c, &scratch,
                                 &bytes, &os_errno);
        }
        pthread_mutex_lock(&s->out_lock);
        s->queued_bytes -= node->c.records.len;
        s->written += bytes;
        pthread_mutex_unlock(&s->out_lock);
        ml_buf_free(&node->c.records);
        free(node);
        if (err < 0 || broken) {
            broken = 1; /* a later chunk after a lost one is unreadable */
            pthread_mutex_lock(&s->lock);
            if (s->error == 0) {
                s->error = err < 0 ? err : ML_ENOMEM;
            }
            fail(s, os_errno ? strerror(os_errno) : ml_strerror(err));
            pthread_mutex_unlock(&s->lock);
        }
    }
    ml_buf_free(&scratch);
    ml_chunk_ctx_free(zc);
    return NULL;
}

static void
stop_out(ml_sink *s)
{
    if (!s->out_started) {
        return;
    }
    pthread_mutex_lock(&s->out_lock);
    s->out_stop = 1;
    pthread_cond_signal(&s->out_cond);
    pthread_mutex_unlock(&s->out_lock);
    pthread_join(s->out_thread, NULL);
    s->out_started = 0;
}

/* ---- lifetime ---------------------------------------------------------- */

int
ml_sink_open(ml_sink *s, const char *path)
{
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->t0_ns = ml_clock_mono_ns();
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        return ML_ENOMEM;
    }
    if (pthread_mutex_init(&s->out_lock, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        return ML_ENOMEM;
    }
    if (pthread_cond_init(&s->out_cond, NULL) != 0) {
        pthread_mutex_destroy(&s->out_lock);
        pthread_mutex_destroy(&s->lock);
        return ML_ENOMEM;
    }
    ml_writer_options opt = {
        .defer_seal = 1, .take = take_chunk, .take_ctx = s};
    int err = ml_writer_open(path, &opt, &s->writer);
    if (err < 0) {
        ml_sink_discard(s); /* the file (if it exists) is someone else's */
        return err;
    }
    s->fd = ml_writer_fd(s->writer);
    s->level = ml_writer_level(s->writer);
    if (pthread_create(&s->out_thread, NULL, run_out, s) != 0) {
        ml_sink_discard(s);
        unlink(path);
        return ML_ENOMEM;
    }
    s->out_started = 1;
    return ML_OK;
}

void
ml_sink_discard(ml_sink *s)
{
    stop_out(s);
    ml_writer_abandon(s->writer);
    s->writer = NULL;
    pthread_cond_destroy(&s->out_cond);
    pthread_mutex_destroy(&s->out_lock);
    pthread_mutex_destroy(&s->lock);
}

int
ml_sink_close(ml_sink *s, uint64_t *bytes)
{
    pthread_mutex_lock(&s->lock);
    int err = s->failed ? ML_OK : ml_writer_flush(s->writer);
    ml_sink_check(s, err);
    pthread_mutex_unlock(&s->lock);
    stop_out(s); /* writes what is queued, the last chunk included */
    *bytes = ml_writer_bytes(s->writer) + s->written;
    err = ml_writer_close(s->writer); /* nothing left to write */
    s->writer = NULL;
    pthread_cond_destroy(&s->out_cond);
    pthread_mutex_destroy(&s->out_lock);
    pthread_mutex_destroy(&s->lock);
    return s->error ? s->error : err;
}

void
ml_sink_seal(ml_sink *s)
{
    if (!s->failed) {
        ml_sink_check(s, ml_writer_flush(s->writer));
        s->failed = 1; /* silently: the file is complete as it is */
    }
}

void
ml_sink_drain(ml_sink *s)
{
    stop_out(s); /* writes what is queued first */
}

void
ml_sink_abandon(ml_sink *s)
{
    /* The parent owns the file: close our descriptor copy without
     * flushing the parent's buffered records into it. The writing thread
     * does not exist here; its queue and locks are left as they are. */
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
    if (err >= 0) {
        return err;
    }
    int os = s->writer ? ml_writer_os_errno(s->writer) : 0;
    if (os != 0) {
        fail(s, strerror(os));
    } else if (s->error == 0 && !s->failed) {
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
