// SPDX-License-Identifier: MIT
// The index of one recording: what every view of `microlog serve` (and the
// CLI) needs, built by one pass over the file and extended as a live file
// grows. It keeps what is small (functions, a prefix tree of function
// stacks, long flame-chart spans by power-of-two length, per-second
// aggregates, status values, logs, timed calls) and decodes chunks again
// for the rest (short spans of a zoomed-in window), so its memory grows
// with the run's variety and length in seconds, not with its samples.
// docs/ANALYSIS.md describes the structures and their bounds.
//
//     ml_index *ix;
//     if (ml_index_open("run.mlog", &ix) == 0) {
//         ml_index_lock(ix);
//         ml_index_update(ix);              pick up what was appended
//         ml_view_timeline(ix, &q, &w);     see ml_views.h
//         ml_index_unlock(ix);
//     }
//     ml_index_free(ix);
#ifndef ML_INDEX_H
#define ML_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "ml_summary.h"

typedef struct ml_index ml_index;

/* Opens path and indexes every whole chunk in it. 0, or a negative error
 * (ML_EIO when the file cannot be opened; a damaged file gives the
 * reader's error, and ml_index_message() says where). On error *out is
 * NULL. A file that ends inside a chunk is not an error: it may be live. */
int ml_index_open(const char *path, ml_index **out);
void ml_index_free(ml_index *ix);

/* Views and updates of one index are serialized by its lock. */
void ml_index_lock(ml_index *ix);
void ml_index_unlock(ml_index *ix);

/* Indexes what was appended since the last call: 1 when something new
 * was read, 0 when nothing, or a negative error (sticky; the index keeps
 * what it had). Cheap when the file did not change (one fstat). */
int ml_index_update(ml_index *ix);

/* The reader's message after an error, "" otherwise. */
const char *ml_index_message(const ml_index *ix);

typedef struct {
    uint64_t bytes;      /* file size read so far */
    uint64_t end_us;     /* latest time seen (END, or last record) */
    int complete;        /* has END */
    int64_t exit_status; /* from END */
    int damaged;         /* a reader error other than a truncated tail */
    uint32_t threads, functions, chunks;
    uint64_t samples, logs, spans;
    uint64_t start_unix_ns;
    size_t memory; /* bytes the index holds, approximately */
} ml_index_info;

void ml_index_get_info(const ml_index *ix, ml_index_info *out);

/* The run summary of what was read so far (the same as ml_summary_build()
 * over the file), from a summary the index keeps as it reads: costs the
 * number of stacks, not of samples. The caller frees it. 0 or ML_ENOMEM. */
int ml_index_summary(const ml_index *ix, ml_summary **out);

#endif
