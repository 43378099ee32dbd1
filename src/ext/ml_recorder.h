// SPDX-License-Identifier: MIT
// One recording in progress: the sink (writer and lock), the sampler thread
// and the status thread, started and stopped together. At most one runs per
// process; a forked child drops its copy without touching the file.
#ifndef ML_RECORDER_H
#define ML_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "ml_sampler.h"
#include "ml_sink.h"
#include "ml_status.h"

typedef struct {
    const char *path;
    uint64_t interval_ns; /* sampling; 1 ms by default */
    uint64_t status_ns;   /* CPU, modules; 100 ms */
    uint64_t memory_ns;   /* RSS, objects, GC; 1 s */
    int fallback;         /* 1: sample with the GIL through the C API */
    uint64_t main_ident;  /* threading.get_ident() of the main thread */
    /* A new linked file past this size or age (0: never), see ml_sink.h. */
    uint64_t rollover_bytes, rollover_ns;
    /* Entries the code and stack caches keep before they are emptied, and
     * (times 16) definitions a file holds; 0: the default, 65536. */
    uint32_t cache_entries;
} ml_recorder_config;

typedef struct {
    uint64_t duration_us;
    uint64_t bytes;
    uint64_t samples; /* over all files of the run */
    uint32_t files;   /* how many files the run was written to */
    uint64_t ticks;
    double achieved_interval_us;
    uint64_t sampler_cpu_ns;
    const char *mode;
    int error; /* the first ML_E* error met while recording, or 0 */
} ml_recorder_result;

typedef struct ml_recorder ml_recorder;

/* Call WITH the GIL. Opens path (which must not exist) and writes the
 * metadata the caller adds with ml_recorder_meta before the threads start
 * sampling in earnest. */
int ml_recorder_start(const ml_recorder_config *cfg, ml_recorder **out);
int ml_recorder_meta_str(ml_recorder *r, const char *key, const char *val);
int ml_recorder_meta_uint(ml_recorder *r, const char *key, uint64_t val);
/* Writes what is recorded so far as a chunk now (the start's metadata, so
 * that a run killed before the first periodic flush is still a valid run
 * with its label and parent). 0 or a negative ML_E* code. */
int ml_recorder_flush(ml_recorder *r);
const char *ml_recorder_mode(const ml_recorder *r);
/* The parts, for records made from Python threads (ml_events.c). */
ml_sink *ml_recorder_sink(ml_recorder *r);
ml_sampler *ml_recorder_sampler(ml_recorder *r);
/* See ml_sampler_hide_root_code. */
int ml_recorder_hide_root_code(ml_recorder *r, uint64_t code);
/* Call WITH the GIL; it is released while the threads are joined. Writes
 * the end record, closes the file and frees r. */
int ml_recorder_stop(ml_recorder *r, int64_t exit_status,
                     ml_recorder_result *res);
/* For a process about to die of a signal (ml_term.c): from any thread,
 * without the GIL. Writes the end record with exit_status and waits until
 * everything is in the file; nothing recorded later reaches it. r stays
 * allocated and its threads run on until the process ends. */
void ml_recorder_terminate(ml_recorder *r, int64_t exit_status);

/* Code objects a cache of the recorder keeps before it is emptied. */
uint32_t ml_recorder_cache_entries(const ml_recorder *r);
/* The file the recording writes to now (it changes at a rollover), into
 * buf; call WITH the GIL. */
void ml_recorder_current_path(ml_recorder *r, char *buf, size_t size);
/* Sizes of the recorder's caches and tables, for tests and debugging. */
typedef struct {
    uint64_t samples;   /* over all files */
    uint32_t files;     /* files begun */
    uint32_t defs;      /* strings + frames + stacks of the current file */
    uint32_t threads;   /* threads defined in the current file */
    uint32_t codes;     /* code objects the sampler's cache holds */
    uint32_t frames;    /* (code, offset) places the sampler caches */
    uint32_t evictions; /* times the sampler's caches were emptied */
    uint64_t queued;    /* bytes waiting for the disk */
    uint64_t walks_retried, walks_failed; /* see ml_sampler_walk_stats */
} ml_recorder_stats;
void ml_recorder_stats_get(ml_recorder *r, ml_recorder_stats *out);
/* Descriptors the recorder holds open now (its file, /proc files it reads
 * again and again), into fds; how many. Call WITH the GIL. */
int ml_recorder_own_fds(ml_recorder *r, int *fds, int max);

/* Tells fn about every file of every recording of this process as it is
 * opened and as it is closed (ML_FILE_OPENED, ML_FILE_CLOSED; see
 * ml_sink_set_file_listener for where and when it is called). Thread-safe;
 * NULL removes it. A sender that streams the files learns here when the
 * recorder goes on in a new one. */
void ml_recorder_set_file_listener(ml_file_listener_fn fn, void *ctx);
/* The name of the capsule microlog._microlog._file_listener holding
 * ml_recorder_set_file_listener, for microlog._ship. */
#define ML_FILE_LISTENER_CAPSULE "microlog._microlog._file_listener"

/* In a forked child: forget the parent's recording without writing. */
void ml_recorder_abandon(ml_recorder *r);
/* Around fork() in the parent: keep the writer consistent. */
void ml_recorder_before_fork(ml_recorder *r);
void ml_recorder_after_fork_parent(ml_recorder *r);

#endif
