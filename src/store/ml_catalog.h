// SPDX-License-Identifier: MIT
// The central store's index in PostgreSQL (libpq): runs with their labels,
// the segments objects that hold chunks of runs not yet compacted, the
// pieces of each run (which bytes of the run's file are where), a job queue
// (compaction, segment deletion, retention) and notifications for live
// runs. The schema lives in migrations applied at open (an advisory lock
// keeps concurrent servers from applying them twice). docs/STORE.md
// describes the tables.
//
// Thread-safe: calls take a connection from a small pool; a connection
// that broke (PostgreSQL restarted) is reopened on the next call, and a
// call that failed that way is retried once. Errors are ML_EIO (the
// database is unreachable or refused the statement) or ML_EINVAL, with one
// line in why.
#ifndef ML_CATALOG_H
#define ML_CATALOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ml_catalog ml_catalog;

/* conninfo: a libpq URI or key=value string ("postgresql://..."). Opens
 * pool_size connections lazily (0: 8) and applies the migrations. */
int ml_catalog_open(const char *conninfo, int pool_size, ml_catalog **out,
                    char *why, size_t why_len);
void ml_catalog_free(ml_catalog *c);

/* A run as its client describes it. run_id is a UUID in canonical text
 * form (either case; the catalog gives it back in lower case), made by the
 * client (time-ordered, UUIDv7), so a retried upload is idempotent. name
 * is the id the UI shows (LABEL/STEM, docs/API.md); when another run
 * already has it, the catalog gives this run the name with "-" and the
 * first 8 hex digits of its run_id appended, or all 32 when that is taken
 * too (UUIDv7 ids begin with the time: runs of one name started within a
 * minute share their first 8). name (not empty), label and host (NULL:
 * "") are at most 1024 bytes. */
typedef struct {
    const char *run_id;
    const char *name;
    const char *label;
    const char *host;
    int64_t start_unix_us;
    int64_t end_size; /* the file's final size when the client knows it
                         (the run ended), else -1; the first one known
                         stays */
} ml_catalog_run;

/* Bytes [off, off + len) of run runs[run]'s file stored at seg_off in the
 * segment object. */
typedef struct {
    size_t run;
    uint64_t off;
    uint64_t len;
    uint64_t seg_off;
} ml_catalog_piece;

/* Records one stored segment object in one transaction: the segment row;
 * each run (inserted if new, end_size recorded when given); each piece,
 * unless the run already has a piece starting at that offset (a retry:
 * then this copy is not referenced) or the run was compacted already; the
 * run's durable size extended over contiguous pieces from 0; a compaction
 * job for every run whose durable size reached its end size (the run is
 * then ML_RUN_ENDED, and never queued again); one NOTIFY per run on
 * channel "microlog_runs" with payload "RUN_ID DURABLE". A segment left
 * with no piece referring to it (all were retried copies) is queued for
 * deletion after 5 minutes. durable[i] (durable may be NULL) gets
 * runs[i]'s durable size after the commit. Idempotent: committing the same
 * segment again changes nothing and gives the same durable sizes. nruns
 * and npieces may be 0 (end-only or status-only requests pass nruns runs
 * and no pieces, with seg_key NULL). Pieces need a seg_key (at most 511
 * bytes), len > 0 and a run index below nruns; at most 100,000 runs and
 * 1,000,000 pieces a call. ML_EINVAL for a bad argument. */
int ml_catalog_commit(ml_catalog *c, const char *seg_key, uint64_t seg_bytes,
                      const ml_catalog_run *runs, size_t nruns,
                      const ml_catalog_piece *pieces, size_t npieces,
                      uint64_t *durable, char *why, size_t why_len);

enum {
    ML_RUN_LIVE = 0,  /* receiving chunks, end not known */
    ML_RUN_ENDED = 1, /* the end is known and stored: compacted or queued */
    ML_RUN_LOST = 2   /* no chunk for a long time (15 minutes) and no
                         end: retention or a later upload decides; read
                         as such, so a chunk that comes makes it live */
};

/* One run of the index. Strings are valid during the callback only. */
typedef struct {
    const char *run_id;
    const char *name;
    const char *label;
    const char *host;
    int64_t start_unix_us;
    int64_t updated_unix_us; /* last chunk stored */
    int status;              /* ML_RUN_* */
    uint64_t durable;        /* contiguous bytes stored from 0 */
    int64_t end_size;        /* -1 while unknown */
    const char *object_key;  /* the compacted object, or NULL */
    uint64_t object_size;
} ml_catalog_row;

/* Returns 0 to go on; non-zero stops, and a negative value is then the
 * call's result. Rows are fetched before the first call, so each may call
 * the catalog. */
typedef int (*ml_catalog_row_fn)(void *ctx, const ml_catalog_row *row);

/* 0 and row given to each, 1 when no run has that name (or run_id, for
 * ml_catalog_get_id), or an error. */
int ml_catalog_get(ml_catalog *c, const char *name, ml_catalog_row_fn each,
                   void *ctx, char *why, size_t why_len);
int ml_catalog_get_id(ml_catalog *c, const char *run_id,
                      ml_catalog_row_fn each, void *ctx, char *why,
                      size_t why_len);

typedef struct {
    const char *label;     /* exact label, or NULL */
    const char *host;      /* exact host, or NULL */
    const char *text;      /* substring of the name (case-insensitive), or
                              NULL */
    int64_t since_unix_us; /* runs started at or after; 0: any */
    int64_t until_unix_us; /* runs started before; 0: any */
    size_t limit;          /* 0: 1000; at most 10,000 */
    size_t offset;
} ml_catalog_filter;

/* The matching runs, newest start first (f NULL: all); *total (if not
 * NULL) gets how many match without limit and offset. ML_EINVAL for a
 * text over 1024 bytes or a limit over 10,000. */
int ml_catalog_list(ml_catalog *c, const ml_catalog_filter *f,
                    ml_catalog_row_fn each, void *ctx, uint64_t *total,
                    char *why, size_t why_len);

/* The run's pieces from byte from on, in offset order (never
 * overlapping). each returns 0 to go on. */
typedef int (*ml_catalog_piece_fn)(void *ctx, uint64_t off, uint64_t len,
                                   const char *seg_key, uint64_t seg_off);
int ml_catalog_pieces(ml_catalog *c, const char *run_id, uint64_t from,
                      ml_catalog_piece_fn each, void *ctx, char *why,
                      size_t why_len);

/* Jobs, leased with FOR UPDATE SKIP LOCKED so any server may take any job;
 * a lease not finished in lease_s seconds goes back to the queue. */
enum {
    ML_JOB_COMPACT = 1,
    ML_JOB_DELETE_SEGMENT = 2
};
typedef struct {
    int64_t id;
    int kind;
    char arg[512]; /* the run_id (lower case) to compact or the segment
                      key to delete */
} ml_catalog_job;
/* 0 and *job, 1 when no job is due, or an error. lease_s is 1 to 86400.
 * A segment deletion is not handed out while pieces refer to the segment
 * again. finish_job() deletes the job. */
int ml_catalog_take_job(ml_catalog *c, int lease_s, ml_catalog_job *job,
                        char *why, size_t why_len);
int ml_catalog_finish_job(ml_catalog *c, int64_t id, char *why,
                          size_t why_len);

/* After the run's object was written: records object_key and size, marks
 * the run ended, deletes its pieces, and queues the deletion of every
 * segment no piece refers to any more (due after delay_s seconds, so a
 * server still reading it finishes). */
int ml_catalog_compacted(ml_catalog *c, const char *run_id,
                         const char *object_key, uint64_t size, int delay_s,
                         char *why, size_t why_len);

/* After a segment object was deleted. */
int ml_catalog_segment_deleted(ml_catalog *c, const char *seg_key, char *why,
                               size_t why_len);

/* A run found as a finished object (a client that saved it straight to the
 * bucket): inserted ended with its object unless its run_id is known. */
int ml_catalog_register_object(ml_catalog *c, const ml_catalog_run *run,
                               const char *object_key, uint64_t size,
                               char *why, size_t why_len);

/* Runs that started before cutoff_unix_us (retention), oldest first, at
 * most limit (capped at 10,000); then ml_catalog_delete_run() for each
 * once its object is gone (its pieces too; segments left unreferenced are
 * queued for deletion after 5 minutes). */
int ml_catalog_expired(ml_catalog *c, int64_t cutoff_unix_us, size_t limit,
                       ml_catalog_row_fn each, void *ctx, char *why,
                       size_t why_len);
int ml_catalog_delete_run(ml_catalog *c, const char *run_id, char *why,
                          size_t why_len);

/* Notifications: a connection of its own that LISTENs on "microlog_runs"
 * (and reconnects when the database restarts). wait returns 1 with the
 * payload of one notification in buf (cut to buf_len - 1 bytes), 0 after
 * timeout_ms without one, or an error: ML_EIO when the database could not
 * be reached within timeout_ms (the next wait tries again). Notifications
 * sent while the connection was down are lost: the first wait after a
 * reconnection returns 1 with an empty payload, meaning "re-read what you
 * follow". Not thread-safe: one thread waits on a listener. */
typedef struct ml_catalog_listener ml_catalog_listener;
int ml_catalog_listen(const char *conninfo, ml_catalog_listener **out,
                      char *why, size_t why_len);
int ml_catalog_listen_wait(ml_catalog_listener *l, int timeout_ms, char *buf,
                           size_t buf_len);
void ml_catalog_listen_free(ml_catalog_listener *l);

#endif
