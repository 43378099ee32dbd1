// SPDX-License-Identifier: MIT
// The shared end of a recording inside the extension: the writer, the lock
// that serializes its users (sampler thread, status thread, Python threads
// that log) and the run's time origin. Lock order: a thread may take the
// GIL and then the sink lock, never the GIL while holding the sink lock.
#ifndef ML_SINK_H
#define ML_SINK_H

#include <pthread.h>
#include <stdint.h>

#include "format/ml_writer.h"

typedef struct ml_sink_chunk ml_sink_chunk;

/* Records are made under lock; the chunks they fill are compressed and
 * written by a thread of the sink's own, off that lock, so a slow disk or a
 * big chunk never makes the program's threads wait (they take the lock
 * while holding the GIL). */
typedef struct {
    ml_writer *writer; /* protected by lock */
    pthread_mutex_t lock;
    uint64_t t0_ns; /* monotonic start of the run; read-only */
    int error;      /* first writer error; protected by lock */
    /* 1 once the file could not be written: the recording has stopped
     * (one message on stderr said so); protected by lock, read without it
     * by the sampler as a hint. */
    volatile int failed;
    char path[4096]; /* the recording's file; read-only */
    int fd, level;   /* the writer's file and compression; read-only */
    /* The writing thread and its queue, protected by out_lock (taken
     * after lock, never before it). */
    pthread_t out_thread;
    int out_started;
    pthread_mutex_t out_lock;
    pthread_cond_t out_cond;
    ml_sink_chunk *head, *tail;
    size_t queued_bytes;
    uint64_t written;
    int out_stop;
} ml_sink;

/* Opens the recording at path; 0 or a negative ML_E* code. */
int ml_sink_open(ml_sink *s, const char *path);
/* Flushes and closes (*bytes: the file's size); returns the first error
 * met during the run. Call without the lock and without the GIL. */
int ml_sink_close(ml_sink *s, uint64_t *bytes);
/* Stops writing and frees everything, writing nothing more (a recording
 * that failed to start). */
void ml_sink_discard(ml_sink *s);
/* Abandons the writer without writing (a forked child's copy). */
void ml_sink_abandon(ml_sink *s);

/* For a process about to die (ml_term.c). ml_sink_seal, with the lock
 * held: writes what the writer holds as a chunk and refuses every later
 * record silently, as after a failed write (the other threads go on, but
 * nothing more reaches the file). ml_sink_drain, without the lock: waits
 * until the writing thread has written every chunk, and ends it. */
void ml_sink_seal(ml_sink *s);
void ml_sink_drain(ml_sink *s);

void ml_sink_lock(ml_sink *s);
void ml_sink_unlock(ml_sink *s);
/* Keeps the first error; returns err. Call with the lock held. The first
 * error of each kind is reported once on stderr; a failed write to the file
 * (full disk, I/O error) stops the recording, and what was written stays
 * readable. */
int ml_sink_check(ml_sink *s, int err);

/* Microseconds since the run's start for a monotonic time. */
uint64_t ml_sink_time_us(const ml_sink *s, uint64_t mono_ns);

#endif
