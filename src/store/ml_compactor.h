// SPDX-License-Identifier: MIT
// The store's background work, done by every server and shared through the
// catalog's job queue (each job leased by one server at a time):
// compaction of an ended run into one object byte-identical to the
// client's file (its pieces read back from the segments with ranged GETs,
// checked chunk by chunk), deletion of segments no piece refers to any
// more, retention (runs older than the limit lose their object, then their
// index rows), and the discovery of runs that clients saved straight to
// the bucket (MICROLOG_S3_ROOT).
#ifndef ML_COMPACTOR_H
#define ML_COMPACTOR_H

#include <stddef.h>
#include <stdint.h>

#include "net/ml_s3.h"
#include "store/ml_catalog.h"

typedef struct ml_compactor ml_compactor;

typedef struct {
    ml_s3 *s3;
    const char *bucket, *prefix;
    ml_catalog *catalog;
    int64_t retention_s;  /* 0: keep runs forever */
    unsigned idle_ms;     /* between polls of an empty queue; 0: 1000 */
    int segment_delay_s;  /* grace before deleting a segment; 0: 60 */
    size_t max_run;       /* the largest run compacted; 0: 1 GiB */
    unsigned discovery_s; /* between scans for direct runs; 0: 10 */
} ml_compactor_options;

/* Starts the background thread; start 0 runs nothing (for the
 * ml_compactor_step() calls of tests and tools). */
int ml_compactor_new(const ml_compactor_options *o, int start,
                     ml_compactor **out);
void ml_compactor_free(ml_compactor *c);

/* Does one due job: 1 when one was done, 0 when none was due, or an error
 * (why says what, and the job goes back to the queue when its lease
 * ends). */
int ml_compactor_step(ml_compactor *c, char *why, size_t why_len);

/* Compacts one run now (its pieces must cover its end size). */
int ml_compactor_compact(ml_compactor *c, const char *run_id, char *why,
                         size_t why_len);

/* Applies retention once: how many runs were removed, or an error. */
int ml_compactor_retain(ml_compactor *c, char *why, size_t why_len);

/* Looks once for finished runs under PREFIX/direct/ (all of them when
 * full, else the current and previous hour) and registers those the index
 * does not know: how many, or an error. */
int ml_compactor_discover(ml_compactor *c, int full, char *why,
                          size_t why_len);

#endif
