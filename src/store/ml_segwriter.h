// SPDX-License-Identifier: MIT
// The server's ingest path: pieces of recordings from all clients are
// gathered for one window (a second by default), written as one segment
// object (one PUT, If-None-Match: *), recorded in the catalog in one
// transaction, and only then acknowledged, each with its run's durable
// size. A window that cannot be stored (object storage or the database
// down) is retried until give_up_ms, then its requests fail and their
// clients send again: a client's local file is the write-ahead log, so no
// server needs a disk and a killed server loses nothing acknowledged.
#ifndef ML_SEGWRITER_H
#define ML_SEGWRITER_H

#include <stddef.h>
#include <stdint.h>

#include "net/ml_s3.h"
#include "store/ml_catalog.h"

typedef struct ml_segwriter ml_segwriter;

typedef struct {
    ml_s3 *s3;
    const char *bucket;
    const char *prefix; /* "" or "team/prod": keys go under it */
    ml_catalog *catalog;
    const char *server_id; /* names this server's segments */
    unsigned window_ms;    /* 0: 1000 */
    size_t max_segment;    /* 0: 64 MiB; a full window answers busy */
    unsigned give_up_ms;   /* 0: 15000 */
} ml_segwriter_options;

/* One request of a client: a piece of a run's file (len may be 0: then it
 * only asks for the run's durable size, or gives its end). */
typedef struct {
    const char *run_id; /* canonical UUID text */
    uint32_t chunks;    /* how many chunks data holds (for statistics) */
    const char *name, *label, *host;
    int64_t start_unix_us;
    int64_t end_size; /* -1: not known */
    uint64_t off;
    const uint8_t *data;
    size_t len;
} ml_upload;

/* Called once per submitted request from the writer's thread: rc 0 and the
 * run's durable size, or a negative error with why. */
typedef void (*ml_segwriter_done_fn)(void *ctx, int rc, uint64_t durable,
                                     const char *why);

int ml_segwriter_new(const ml_segwriter_options *o, ml_segwriter **out);
/* Stores what is pending (within give_up_ms) and stops. */
void ml_segwriter_free(ml_segwriter *w);

/* Refuses new uploads (busy) and returns once every one submitted has
 * been answered: a server calls it before it stops serving. */
void ml_segwriter_drain(ml_segwriter *w);

/* Copies the request into the current window. 0, or ML_ELIMIT when the
 * window is full (answer busy; the client retries), ML_EINVAL for a bad
 * run id. done is never called when this fails. */
int ml_segwriter_submit(ml_segwriter *w, const ml_upload *u,
                        ml_segwriter_done_fn done, void *ctx);

typedef struct {
    uint64_t segments; /* objects stored */
    uint64_t pieces;   /* pieces stored in them */
    uint64_t chunks;   /* recording chunks in those pieces */
    uint64_t bytes;    /* their bytes */
    uint64_t requests; /* requests acknowledged */
    uint64_t failed;   /* requests that failed after retries */
    uint64_t retries;  /* PUTs or commits tried again */
} ml_segwriter_stats;
void ml_segwriter_get_stats(ml_segwriter *w, ml_segwriter_stats *out);

#endif
