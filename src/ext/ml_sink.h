// SPDX-License-Identifier: MIT
// The shared end of a recording inside the extension: the writer, the lock
// that serializes its users (sampler thread, status thread, Python threads
// that log), the run's time origin, and the files the run is written to (a
// long run rolls over to a new linked file; docs/SAMPLER.md). Lock order: a
// thread may take the GIL and then the sink lock, never the GIL while
// holding the sink lock.
#ifndef ML_SINK_H
#define ML_SINK_H

#include <pthread.h>
#include <stdint.h>

#include "format/ml_writer.h"

typedef struct ml_sink_chunk ml_sink_chunk;
typedef struct ml_sink_file ml_sink_file;
typedef struct ml_sink_repeat ml_sink_repeat;

/* What a file listener is told (ml_sink_set_file_listener). */
enum {
    ML_FILE_OPENED = 1, /* created, its header written: readable */
    ML_FILE_CLOSED = 2, /* its last byte written and closed: complete */
};
typedef void (*ml_file_listener_fn)(void *ctx, const char *path, int event);

typedef struct {
    const char *path;    /* the first file, which must not exist */
    uint64_t roll_bytes; /* a new file past this size; 0 never */
    uint64_t roll_ns;    /* a new file after this long; 0 never */
    /* A new file once its strings, frames and stacks together reach this
     * many (bounds the writer's tables); 0: the default, 1 << 20. */
    uint32_t max_defs;
    /* Bytes of chunks waiting for the disk past which the recording stops
     * (the disk does not keep up); 0: the default, 64 MiB. */
    size_t max_queued;
} ml_sink_config;

/* Records are made under lock; the chunks they fill are compressed and
 * written by a thread of the sink's own, off that lock, so a slow disk or a
 * big chunk never makes the program's threads wait (they take the lock
 * while holding the GIL). That thread also flushes every second by itself,
 * whatever the sampler does. */
typedef struct {
    ml_writer *writer; /* the current file's; protected by lock */
    pthread_mutex_t lock;
    uint64_t t0_ns; /* monotonic start of the run; read-only */
    int error;      /* first writer error; protected by lock */
    /* 1 once the file could not be written: the recording has stopped
     * (one message on stderr said so); protected by lock, read without it
     * by the sampler as a hint. */
    volatile int failed;
    char path[4096]; /* the first file; read-only */
    /* The file being written to, its number (0 first) and the count of
     * files begun: each new file bumps gen, and whoever keeps ids of the
     * writer defines them again (ids restart per file). Protected by
     * lock. */
    ml_sink_file *cur;
    uint32_t gen;
    uint64_t file_t0_ns;     /* when the current file began */
    uint64_t samples_before; /* samples of the files before it */
    int roll_asked;          /* a limit was met: a new file at the tick */
    uint64_t roll_bytes, roll_ns;
    uint32_t max_defs;
    /* How rounds' times are stored (ml_writer_set_rounds), for every
     * file's writer; protected by lock. */
    uint32_t rounds_interval_us, rounds_tolerance_us;
    /* META and SERIES every file repeats, in order (ids of series stay the
     * same in every file). Protected by lock. */
    ml_sink_repeat *metas;
    int nmetas, metas_cap;
    int level; /* compression level; read-only */
    /* The writing thread and its queue, protected by out_lock (taken
     * after lock, never before it). */
    pthread_t out_thread;
    int out_started;
    pthread_mutex_t out_lock;
    pthread_cond_t out_cond;
    ml_sink_chunk *head, *tail;
    size_t queued_bytes, max_queued;
    uint64_t written; /* bytes of every file */
    int file_fd;      /* the file being written to, -1 none */
    int out_stop, out_quiet;
} ml_sink;

/* Opens the first file at cfg->path; 0 or a negative ML_E* code. */
int ml_sink_open(ml_sink *s, const ml_sink_config *cfg);
/* Flushes and closes (*bytes: the size of all files); returns the first
 * error met during the run. Call without the lock and without the GIL. */
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
 * readable. A definition limit of the format (ML_ELIMIT) asks for a new
 * file at the next tick instead. */
int ml_sink_check(ml_sink *s, int err);

/* The writer's flush every second, and the change to a new file when the
 * current one is old or big enough, or its tables full. Call with the
 * lock held, from microlog's own threads only (never a Python thread: the
 * change writes a few records more). */
int ml_sink_tick(ml_sink *s, uint64_t now_ns);
/* Ends the current file and goes on in the next one now. Lock held. */
int ml_sink_rollover(ml_sink *s, uint64_t now_ns);
/* ml_writer_set_rounds for the current file and every later one; call
 * with the lock held. */
void ml_sink_set_rounds(ml_sink *s, uint32_t interval_us,
                        uint32_t tolerance_us);

/* Run metadata, written now and repeated at the start of every later file.
 * Lock held. */
int ml_sink_meta(ml_sink *s, const char *key, const ml_value *value);
/* Defines a series (its name and unit interned) and stores its id; every
 * later file defines it again under the same id. Lock held. */
int ml_sink_series(ml_sink *s, uint8_t cls, const char *name, const char *unit,
                   uint32_t *id);
/* Samples accepted so far, over all files. Lock held. */
uint64_t ml_sink_samples(const ml_sink *s);
/* Copies the current file's path into buf (size bytes). Lock held. */
void ml_sink_current_path(const ml_sink *s, char *buf, size_t size);

/* The descriptor of the file being written to, or -1. Any thread. */
int ml_sink_own_fd(ml_sink *s);

/* Microseconds since the run's start for a monotonic time. Every file of
 * a run counts from the same start, so files line up on one time line. */
uint64_t ml_sink_time_us(const ml_sink *s, uint64_t mono_ns);

/* Process-wide: fn(ctx, path, event) is called for every file of every
 * recording when it is opened (its header written) and when it is closed
 * (all written), in that order, files in order. NULL fn removes it. It is
 * called from the sink's writing thread, which holds no lock any Python
 * thread takes and never holds the GIL; fn must be quick and must not wait
 * for the GIL or call this function. Returns once no call of the previous
 * listener runs any more. */
void ml_sink_set_file_listener(ml_file_listener_fn fn, void *ctx);

#endif
