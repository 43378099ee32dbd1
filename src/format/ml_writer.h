// SPDX-License-Identifier: MIT
// The recording writer: interns strings, frames and stacks, codes samples in
// sampler rounds (ml_rounds.h), and appends compressed, checksummed chunks to
// a file
// (docs/FORMAT.md). A chunk is written with one write() when the buffered
// records reach the chunk size, when ml_writer_tick() finds the oldest
// buffered record older than the flush interval, and at ml_writer_close();
// a process killed at any moment leaves every earlier chunk readable.
//
// The writer is not thread-safe: one thread at a time (callers serialize).
// Every function returns 0 or a negative ML_E* code. Once a write to the file
// fails the writer keeps that error and returns it from every later call.
//
//     ml_writer *w;
//     uint32_t name, file, frame, stack, thread;
//     ml_writer_open("run.mlog", NULL, &w);
//     ml_writer_string(w, "main", 4, &name);
//     ml_writer_string(w, "app.py", 6, &file);
//     ml_writer_frame(w, name, file, 12, 10, &frame);
//     ml_writer_stack(w, 0, frame, &stack);
//     ml_writer_thread(w, 0, gettid(), ident, name, &thread);
//     ml_writer_sample(w, thread, 1000, stack, ML_STATE_RUNNING);
//     ml_writer_end(w, 2000, 0);
//     ml_writer_close(w);
#ifndef ML_WRITER_H
#define ML_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "core/ml_buf.h"
#include "ml_format.h"
#include "ml_record.h"

typedef struct ml_writer ml_writer;

/* A chunk's records, sealed but not yet compressed or written. */
typedef struct {
    uint32_t seq;
    uint64_t base_us;
    ml_buf records;
} ml_sealed_chunk;

/* Takes c->records' contents (the owner's now) and leaves c->records an
 * empty buffer (of the same max size) for the writer to fill next;
 * returns 0 or a negative ML_E* code. */
typedef int (*ml_writer_take_fn)(void *ctx, ml_sealed_chunk *c);

typedef struct {
    uint32_t chunk_bytes;       /* raw bytes that trigger a chunk; 256 KiB */
    uint32_t flush_interval_ms; /* oldest buffered record's age; 1000 */
    int zstd_level;             /* 0 means 3 */
    /* 1: a full chunk is written by the next ml_writer_tick(), not by the
     * record call that filled it (up to 4 chunk sizes), so the threads
     * that tick do the disk writes, not the program's threads. */
    int defer_seal;
    /* Set: each sealed chunk goes to take() instead of being compressed
     * and written here, so the owner can do that off its lock (a writer
     * thread); it must write them in seq order, with ml_chunk_write(). */
    ml_writer_take_fn take;
    void *take_ctx;
} ml_writer_options;

/* Compresses c (with zc, a ZSTD_CCtx of the calling thread, at level) and
 * writes it to fd as one chunk with one write(), through scratch. Adds the
 * bytes written to *bytes; a failed write stores errno in *os_errno and
 * returns ML_EIO. */
int ml_chunk_write(int fd, void *zc, int level, const ml_sealed_chunk *c,
                   ml_buf *scratch, uint64_t *bytes, int *os_errno);
/* A compression context for ml_chunk_write (NULL when out of memory). */
void *ml_chunk_ctx_new(void);
void ml_chunk_ctx_free(void *zc);
/* The writer's file descriptor and compression level, for ml_chunk_write. */
int ml_writer_fd(const ml_writer *w);
int ml_writer_level(const ml_writer *w);

/* Creates path (which must not exist) and writes the file header. opt may be
 * NULL for the defaults. On success *out owns the file. */
int ml_writer_open(const char *path, const ml_writer_options *opt,
                   ml_writer **out);
/* The same on an open, empty, writable descriptor; the writer owns fd and
 * closes it in ml_writer_close(). */
int ml_writer_open_fd(int fd, const ml_writer_options *opt, ml_writer **out);
/* A writer without a file: every chunk goes to opt->take (required), and
 * the file, its header included, is the owner's (ml_file_header_encode).
 * So one owner can end a file and go on in a new one with a new writer. */
int ml_writer_open_take(const ml_writer_options *opt, ml_writer **out);
/* Writes what is buffered, closes the file and frees w (NULL is accepted).
 * Returns the first error the writer met, or 0. */
int ml_writer_close(ml_writer *w);
/* Closes the file and frees w WITHOUT writing what is buffered: for a forked
 * child, whose copy of the writer must not add to the parent's file. */
void ml_writer_abandon(ml_writer *w);

/* errno of the write that failed (ENOSPC, EIO, EFBIG, ...), or 0. */
int ml_writer_os_errno(const ml_writer *w);

/* Run metadata (label, argv, python, pid, ...; see docs/FORMAT.md). */
int ml_writer_meta(ml_writer *w, const char *key, const ml_value *value);
int ml_writer_meta_str(ml_writer *w, const char *key, const char *value);
int ml_writer_meta_uint(ml_writer *w, const char *key, uint64_t value);

/* Interning: the same content always gives the same id (from 1). */
int ml_writer_string(ml_writer *w, const char *s, size_t len, uint32_t *id);
int ml_writer_frame(ml_writer *w, uint32_t name, uint32_t file, uint32_t line,
                    uint32_t firstline, uint32_t *id);
/* A stack is its parent stack (0 for a root frame) plus its leaf frame. */
int ml_writer_stack(ml_writer *w, uint32_t parent, uint32_t frame,
                    uint32_t *id);

/* Threads get dense ids from 1. ident is threading.get_ident(). */
int ml_writer_thread(ml_writer *w, uint64_t time_us, uint64_t native_id,
                     uint64_t ident, uint32_t name, uint32_t *id);
int ml_writer_thread_name(ml_writer *w, uint32_t thread, uint64_t time_us,
                          uint32_t name);
int ml_writer_thread_end(ml_writer *w, uint32_t thread, uint64_t time_us);

/* One sample, its CPU share unknown (ML_CPU_UNKNOWN). Samples at the same
 * time make one round (a sampler's pass over its threads; a thread's second
 * sample at that time starts the next); each is coded against the thread's
 * previous ones, and readers deliver runs of identical samples. */
int ml_writer_sample(ml_writer *w, uint32_t thread, uint64_t time_us,
                     uint32_t stack, uint8_t state);
/* The same with the CPU the thread used in the interval before the sample:
 * 0 to ML_CPU_FULL (15ths of the interval), or ML_CPU_UNKNOWN. */
int ml_writer_sample_cpu(ml_writer *w, uint32_t thread, uint64_t time_us,
                         uint32_t stack, uint8_t state, uint8_t cpu);
/* The sampler's interval (0: the writer takes the first one it sees) and
 * how far a round's stored time may be from its true one (0, the default:
 * exact): a round within tolerance_us of its expected time (the previous
 * round's plus the interval) is stored at that time and costs no bytes. */
void ml_writer_set_rounds(ml_writer *w, uint32_t interval_us,
                          uint32_t tolerance_us);

int ml_writer_series(ml_writer *w, uint8_t cls, uint32_t name, uint32_t unit,
                     uint32_t *id);
int ml_writer_value(ml_writer *w, uint32_t series, uint64_t time_us,
                    const ml_value *value);
/* Texts longer than ML_TEXT_MAX are cut to ML_TEXT_MAX bytes. */
int ml_writer_log(ml_writer *w, const ml_log *log);
int ml_writer_span(ml_writer *w, const ml_span *span);
int ml_writer_report(ml_writer *w, uint8_t kind, uint32_t name,
                     const void *body, size_t len);
/* Marks a clean end of the run. */
int ml_writer_end(ml_writer *w, uint64_t time_us, int64_t exit_status);

/* Writes buffered records as a chunk now. */
int ml_writer_flush(ml_writer *w);
/* Flushes when the oldest buffered record is older than the flush interval;
 * now_ns is ml_clock_mono_ns(). Cheap when nothing is due. */
int ml_writer_tick(ml_writer *w, uint64_t now_ns);

/* How many definitions the writer holds (each table's count, for limits
 * and memory: ML_MAX_STRINGS, ML_MAX_FRAMES, ... in ml_format.h). */
typedef struct {
    uint32_t strings, frames, stacks, threads, series;
    uint64_t string_bytes;
} ml_writer_size;
void ml_writer_sizes(const ml_writer *w, ml_writer_size *out);

/* Bytes written to the file so far (header and chunks). */
uint64_t ml_writer_bytes(const ml_writer *w);
/* Samples accepted so far (a run of n counts n). */
uint64_t ml_writer_samples(const ml_writer *w);

#endif
