// SPDX-License-Identifier: MIT
// A one-pass summary of a recording: run metadata, duration, threads with
// their sample counts, the achieved sampling interval, record counts and
// per-function self/total sample counts. `microlog show` prints it; the
// server's run list uses it. Memory is bounded by the recording's interned
// tables (strings, frames, stacks, threads), never by its number of samples.
#ifndef ML_SUMMARY_H
#define ML_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "format/ml_reader.h"

/* Python logging levels are bucketed as: notset (< 10), debug (10-19),
 * info (20-29), warning (30-39), error (40-49), critical (>= 50). */
enum ml_summary_level {
    ML_LEVEL_NOTSET,
    ML_LEVEL_DEBUG,
    ML_LEVEL_INFO,
    ML_LEVEL_WARNING,
    ML_LEVEL_ERROR,
    ML_LEVEL_CRITICAL,
    ML_LEVEL_COUNT
};

/* "notset", "debug", "info", "warning", "error", "critical"; "" for a
 * bucket out of range. */
const char *ml_summary_level_name(int bucket);

/* One META record. For ML_TAG_BYTES the value is in text (NUL-terminated,
 * len bytes; a value with an embedded NUL reads shorter as a C string). */
typedef struct {
    char *key;
    uint8_t tag; /* enum ml_tag */
    char *text;
    size_t len;
    uint64_t u;
    int64_t i;
    double f;
} ml_summary_meta;

typedef struct {
    uint32_t id;
    char *name; /* the latest name the thread had; "" when it had none */
    uint64_t native_id, ident;
    uint64_t samples;
    uint64_t running;  /* samples with ML_STATE_RUNNING */
    uint64_t native;   /* running without the GIL (native code) */
    uint64_t gil_wait; /* samples with ML_STATE_WANTS_GIL */
    uint64_t unknown;  /* samples with ML_STATE_UNKNOWN */
    /* Samples with a CPU share (format 2.0), and the sum of their shares
     * in 15ths of an interval: cpu_15ths / 15 intervals of CPU time. */
    uint64_t cpu_known;
    uint64_t cpu_15ths;
    uint64_t first_us; /* first and last sample time; 0 without samples */
    uint64_t last_us;
} ml_summary_thread;

/* A Python function: identity is (name, file, first line) by content. */
typedef struct {
    char *name;
    char *file;
    uint32_t line;  /* the function's first line */
    uint64_t self;  /* running samples with this function as the leaf */
    uint64_t total; /* running samples with it anywhere on the stack,
                       counted once per sample under recursion */
} ml_summary_function;

typedef struct {
    ml_summary_meta *meta; /* in order of first appearance, keys unique;
                              a repeated key keeps its latest value */
    size_t nmeta;
    ml_summary_thread *threads; /* by id: threads[i].id == i + 1 */
    size_t nthreads;
    ml_summary_function *functions; /* only those with total > 0, sorted by
                                       total, then self, descending */
    size_t nfunctions;

    uint64_t samples; /* over all threads */
    uint64_t running;
    double interval_us;   /* achieved mean interval, 0 when unknown: the sum
                             over threads of (last - first) divided by the sum
                             of (samples - 1), threads with 2+ samples only */
    uint64_t duration_us; /* END time, else the latest record time */
    int complete;         /* 1 when the run has an END record */
    int64_t exit_status;  /* from END */

    uint64_t status_records; /* VALUE records of ML_SERIES_STATUS series */
    uint64_t metric_records; /* VALUE records of ML_SERIES_METRIC series */
    uint64_t log_records;
    uint64_t log_levels[ML_LEVEL_COUNT];
    uint64_t span_records;
    uint64_t report_records;

    uint64_t bytes;        /* file size */
    uint32_t chunks;       /* whole chunks decoded */
    int truncated;         /* the input ended inside a chunk (ML_ETRUNC) */
    uint64_t truncated_at; /* file offset of that chunk, when truncated */
    int meta_dropped; /* META records past the summary's caps were ignored */
} ml_summary;

/* Reads every remaining record of r and summarizes them. On success returns
 * 0 and sets *out to a summary the caller owns (ml_summary_free); nothing in
 * it points into the reader, which the caller still owns and frees. A
 * recording that ends inside a chunk (ML_ETRUNC) is not an error: the
 * summary covers every record before it and has truncated set. Any other
 * reader error is returned as is, with *out untouched: ml_reader_message()
 * and ml_reader_error_offset() describe it. ML_ENOMEM when memory runs out.
 *
 *     ml_reader *r;
 *     ml_summary *s;
 *     if (ml_reader_open(path, &r) == 0 && ml_summary_build(r, &s) == 0) {
 *         printf("%llu samples\n", (unsigned long long)s->samples);
 *         ml_summary_free(s);
 *     }
 *     ml_reader_free(r);
 */
int ml_summary_build(ml_reader *r, ml_summary **out);

/* The same, fed one record at a time (the server's index feeds it the
 * records of its own pass, so a live run's summary costs no second pass).
 * ml_summary_builder_result() gives the summary of the records so far, as
 * ml_summary_build() would (truncated: the input ended inside a chunk at
 * that offset), and leaves the builder as it was, so more records can
 * follow. The builder keeps r, which must outlive it. */
typedef struct ml_summary_builder ml_summary_builder;
int ml_summary_builder_new(ml_reader *r, ml_summary_builder **out);
int ml_summary_builder_add(ml_summary_builder *b, const ml_record *rec);
int ml_summary_builder_result(const ml_summary_builder *b, int truncated,
                              uint64_t truncated_at, ml_summary **out);
void ml_summary_builder_free(ml_summary_builder *b);

/* Releases s and everything in it; NULL is accepted. */
void ml_summary_free(ml_summary *s);

/* The META entry with this key, or NULL. */
const ml_summary_meta *ml_summary_meta_get(const ml_summary *s,
                                           const char *key);
/* The text of a BYTES META entry, or NULL when absent or not text. */
const char *ml_summary_meta_str(const ml_summary *s, const char *key);
/* The value of an unsigned (or non-negative signed) META entry in *out:
 * 0, or ML_EINVAL when absent or of another type. */
int ml_summary_meta_uint(const ml_summary *s, const char *key, uint64_t *out);

#endif
