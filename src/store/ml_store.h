// SPDX-License-Identifier: MIT
// The central store as one object for the server: object storage (S3) for
// the bytes, PostgreSQL for the index, the ingest path (segment writer),
// the background work (compactor), local copies of the runs being viewed
// (mirror) and the notification listener that keeps live copies fresh.
// A server keeps no state of its own: any number of them can share one
// store (docs/STORE.md).
#ifndef ML_STORE_H
#define ML_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/ml_catalog.h"
#include "store/ml_segwriter.h"

typedef struct ml_store ml_store;

typedef struct {
    const char *url;       /* s3://BUCKET/PREFIX */
    const char *db;        /* a libpq connection string */
    const char *cache_dir; /* for the mirror; must exist */
    const char *server_id; /* NULL: host-pid */
    int64_t retention_s;   /* 0: keep forever */
    unsigned window_ms;    /* segment window; 0: 1000 */
    int create_bucket;     /* make the bucket when it does not exist */
} ml_store_options;

/* Connects to both (object storage from the AWS variables), applies the
 * index's migrations and starts the background threads. 0, or an error
 * with one line in why. */
int ml_store_open(const ml_store_options *o, ml_store **out, char *why,
                  size_t why_len);
/* Stores what the segment writer holds, then stops everything. */
void ml_store_free(ml_store *s);

/* The ingest path (ml_segwriter_submit). */
int ml_store_submit(ml_store *s, const ml_upload *u, ml_segwriter_done_fn done,
                    void *ctx);

/* Answers every upload taken and refuses new ones (before the HTTP
 * server stops). */
void ml_store_drain(ml_store *s);

/* The local copy of a run (ml_mirror_sync); 0, 1 (no such run), or an
 * error. */
int ml_store_sync(ml_store *s, const char *name, char *why, size_t why_len);
int ml_store_is_live(ml_store *s, const char *name);

/* The index's runs (ml_catalog_list). */
int ml_store_list(ml_store *s, const ml_catalog_filter *f,
                  ml_catalog_row_fn each, void *ctx, uint64_t *total,
                  char *why, size_t why_len);

void ml_store_get_stats(ml_store *s, ml_segwriter_stats *out);

/* s3://BUCKET/PREFIX as given. */
const char *ml_store_url(const ml_store *s);

#endif
