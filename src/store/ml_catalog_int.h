// SPDX-License-Identifier: MIT
// What the files of the catalog share (ml_catalog.c: open and the reads;
// ml_catalog_commit.c; ml_catalog_jobs.c: jobs, compaction, retention):
// the handle, the columns of a run row, argument checks and the
// statements that two of them run.
#ifndef ML_CATALOG_INT_H
#define ML_CATALOG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ml_catalog.h"
#include "ml_pgpool.h"

struct ml_catalog {
    ml_pgpool *pool;
};

/* A live run with no chunk for this long reads as ML_RUN_LOST (15 min). */
#define ML_CATALOG_LOST_AFTER_US "900000000"
/* Delay before deleting a segment that a commit left unreferenced (every
 * piece was a retried copy) or that delete_run() left unreferenced. */
#define ML_CATALOG_ORPHAN_DELAY_US "300000000"
/* Bounds of what callers pass. */
#define ML_CATALOG_MAX_TEXT 1024 /* bytes of a name, label or host */
#define ML_CATALOG_MAX_KEY 511   /* bytes of an object key (fits a job) */
#define ML_CATALOG_MAX_RUNS 100000
#define ML_CATALOG_MAX_PIECES 1000000
#define ML_CATALOG_MAX_LIMIT 10000

/* The columns of ml_catalog_row, in the order ml_catalog_rows() reads. */
#define ML_CATALOG_ROW_COLUMNS                                                \
    "run_id::text, name, label, host, start_us, updated_us,"                  \
    " CASE WHEN status = 0 AND updated_us < ml_now_us() "                     \
    "- " ML_CATALOG_LOST_AFTER_US " THEN 2 ELSE status END,"                  \
    " durable, end_size, object_key, object_size"

/* Writes msg into why and returns ML_EINVAL. */
int ml_catalog_bad(char *why, size_t why_len, const char *msg);
/* 1 when s is a UUID in canonical text form (either case). */
int ml_catalog_is_uuid(const char *s);
/* 1 when s is not NULL and at most max bytes long. */
int ml_catalog_fits(const char *s, size_t max);
/* Decimal text of v, in buf. */
const char *ml_catalog_i64(char buf[24], int64_t v);

/* Runs one statement on a pooled connection (retried as the pool does).
 * 0 and *res (PQclear it), or an error with why. */
int ml_catalog_query(ml_catalog *c, const char *sql, int nparams,
                     const char *const *params, PGresult **res, char *why,
                     size_t why_len);

/* Gives each row of res (ML_CATALOG_ROW_COLUMNS) to each, which returns
 * 0 to go on; a non-zero return stops, and a negative one is returned. */
int ml_catalog_rows(PGresult *res, ml_catalog_row_fn each, void *ctx);

/* Inserts runs given as array literals (ids, names, labels, hosts,
 * starts) unless their run_id is known, with the other columns as given
 * (text, NULL for SQL NULL); a name taken by another run gets "-" and 8
 * hex digits of the run_id, or all 32 when that is taken too. */
typedef struct {
    const char *ids, *names, *labels, *hosts, *starts;
    const char *status, *durable, *end_size, *object_key, *object_size;
} ml_catalog_new_runs;
int ml_catalog_insert_runs(ml_pg_call *call, const ml_catalog_new_runs *r);

/* Deletes the pieces of run_id (text) and queues the deletion of each
 * segment left without pieces, due after delay_us (text). */
int ml_catalog_release_pieces(ml_pg_call *call, const char *run_id,
                              const char *delay_us);

#endif
