// SPDX-License-Identifier: MIT
// Sending a recording to the central store while it is written, or after:
// the client's side of POST /api/ingest (docs/STORE.md), or, without a
// server, straight to a bucket (MICROLOG_S3_ROOT). The local file is the
// write-ahead log: what the store has not acknowledged is read from it and
// sent again, after a reconnect, to another server, or by `microlog upload`
// after the program is gone, so a server that is down or slow costs the
// program nothing and loses nothing.
//
// A sender is driven either by its own thread (ml_ship_start: never the
// program's or the sampler's) or by explicit ml_ship_step() calls.
#ifndef ML_SHIP_H
#define ML_SHIP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ml_ship ml_ship;

typedef struct {
    const char *path; /* the recording */
    /* "http://host:7777" (MICROLOG_SERVER), or several separated by
     * commas: a failed request goes to the next one. NULL: none. */
    const char *server;
    const char *token; /* MICROLOG_TOKEN, or NULL */
    /* "s3://BUCKET/PREFIX" (MICROLOG_S3_ROOT) when there is no server;
     * the region from MICROLOG_S3_REGION or the AWS variables. */
    const char *s3_root;
    const char *s3_region;
    /* What identifies the run; NULL: from the file's META records (and,
     * for files made before they existed, from its path). */
    const char *run_id, *name, *host;
    int64_t start_unix_us;
    size_t max_request; /* bytes per upload; 0: 4 MiB */
    long timeout_ms;    /* per request; 0: 20000 */
    unsigned part_ms;   /* S3 mode: between uploads of new chunks; 0: 2000 */
    int rotate;         /* every request to the next server (for tests) */
} ml_ship_config;

/* 0, or ML_EINVAL with why (neither a server nor a bucket, a bad URL,
 * S3 credentials missing). Opens the file only when it sends. */
int ml_ship_new(const ml_ship_config *c, ml_ship **out, char *why,
                size_t why_len);
void ml_ship_free(ml_ship *s);

/* Sends what the file holds past what is acknowledged, at most one
 * request's worth. final: the file is complete, so its whole chunks are
 * its end, and the store is told. 1 when more is left to send, 0 when all
 * is acknowledged (with the end, when final), or a negative error with why
 * (ML_EIO: try again later; ML_EINVAL: refused, sending again will not
 * help). */
int ml_ship_step(ml_ship *s, int final, char *why, size_t why_len);

/* Sends until everything and the end are acknowledged, or timeout_ms
 * passes, or max_failures requests in a row failed (0: no such limit);
 * errors are retried with back-off until then. 0 or the last error. */
int ml_ship_finish(ml_ship *s, long timeout_ms, int max_failures, char *why,
                   size_t why_len);

/* What a sender did (for benchmarks): requests acknowledged and failed,
 * bytes acknowledged, and the latencies of the last ML_SHIP_LATENCIES
 * acknowledged requests, in microseconds. */
#define ML_SHIP_LATENCIES 1024
typedef struct {
    uint64_t requests, failed, bytes;
    uint32_t latency_us[ML_SHIP_LATENCIES];
    size_t nlatency; /* how many of latency_us hold values */
} ml_ship_stats;
void ml_ship_get_stats(ml_ship *s, ml_ship_stats *out);

/* The name the UI shows for the file at path: its folder and stem
 * ("~/.microlog/app/2026_12_01_1.mlog" gives "app/2026_12_01_1"). */
void ml_ship_name_from_path(const char *path, char *out, size_t n);

/* Bytes of the file the store acknowledged. */
uint64_t ml_ship_acked(const ml_ship *s);
const char *ml_ship_run_id(const ml_ship *s);
const char *ml_ship_name(const ml_ship *s);

/* The sending thread: a step whenever the file grew (checked every
 * 100 ms), backing off after errors (up to 30 s). stop() ends it and
 * finishes within timeout_ms, giving up after 3 failed requests in a row
 * (a program at its exit does not wait for a server that is down: the
 * rest is left for `microlog upload`); timeout 0 does not send. */
int ml_ship_start(ml_ship *s);
int ml_ship_stop(ml_ship *s, long timeout_ms, char *why, size_t why_len);

/* The file is complete (the recorder went on in a new one): the thread
 * sends the rest with the end, on its own time, then waits for stop().
 * Returns at once; safe from any thread. */
void ml_ship_end(ml_ship *s);

#endif
