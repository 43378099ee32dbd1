// SPDX-License-Identifier: MIT
// A client of S3-compatible object storage on libcurl, every request signed
// with AWS Signature Version 4 (ml_sigv4). Used by the central store
// (segments, compacted runs) and by clients that save runs straight to a
// bucket (MICROLOG_S3_ROOT). Only what the store needs: PUT (optionally
// only if the key is new), ranged GET, HEAD, DELETE, ListObjectsV2 and
// CreateBucket. Errors come back as one line for people: the HTTP status,
// S3's error code and message ("HTTP 403 SignatureDoesNotMatch: ...
// (GET s3://bucket/key)"), or curl's reason for a network failure.
// docs/STORE.md tells what is signed and which variables configure it.
//
// Thread-safe: one ml_s3 may be used from many threads at once (each call
// takes a curl handle from a small pool).
#ifndef ML_S3_H
#define ML_S3_H

#include <stddef.h>
#include <stdint.h>

#include "core/ml_buf.h"

typedef struct ml_s3 ml_s3;

typedef struct {
    /* "http://127.0.0.1:9000" for a local server; NULL or "" for AWS
     * (https://s3.REGION.amazonaws.com). */
    const char *endpoint;
    const char *region; /* NULL or "": us-east-1 */
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* may be NULL */
    /* 1: http://endpoint/BUCKET/KEY; 0: http://BUCKET.endpoint/KEY.
     * Local servers need 1 (the default when endpoint is set). */
    int path_style;
    long timeout_ms; /* whole request; 0: 30000 */
} ml_s3_config;

/* Fills c from the usual AWS variables: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or
 * AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, and
 * MICROLOG_S3_PATH_STYLE (true/false; default true when an endpoint is
 * set) and MICROLOG_S3_TIMEOUT_MS. Strings point into the environment.
 * 0, or ML_EINVAL with why naming what is missing or malformed. */
int ml_s3_config_from_env(ml_s3_config *c, char *why, size_t why_len);

/* Parses "s3://BUCKET/PREFIX" (PREFIX may be empty; a trailing '/' is
 * dropped): *bucket and *prefix are malloc'ed. 0 or ML_EINVAL. */
int ml_s3_parse_url(const char *url, char **bucket, char **prefix);

/* Copies what it needs of c. 0, ML_EINVAL (no keys; an endpoint that is
 * not http(s)://HOST[:PORT][/]) or ML_ENOMEM. ml_s3_free takes NULL. */
int ml_s3_new(const ml_s3_config *c, ml_s3 **out);
void ml_s3_free(ml_s3 *s3);

/* Asks for at most n keys per ListObjectsV2 page (0, the default: the
 * server's page, 1000 on AWS). For tests of continuation tokens; set it
 * before the client is shared between threads. */
void ml_s3_set_page_size(ml_s3 *s3, uint32_t n);

/* Results of the calls below: 0 on success, ML_S3_NOT_FOUND (404),
 * ML_S3_EXISTS (412 for a PUT with if_none_match), or a negative ML_E*
 * code with why holding one line (ML_EIO for network and server errors,
 * ML_EINVAL for a refused request: 400/403 with S3's code). */
enum {
    ML_S3_NOT_FOUND = 1,
    ML_S3_EXISTS = 2
};

/* Stores data under key; if_none_match: only when no object has that key
 * (If-None-Match: *), else ML_S3_EXISTS. */
int ml_s3_put(ml_s3 *s3, const char *bucket, const char *key, const void *data,
              size_t len, int if_none_match, char *why, size_t why_len);

/* Reads len bytes from offset off (len 0: to the end) and appends them to
 * out (whose limit bounds the answer). *object_size, if not NULL, gets the
 * object's whole size (from Content-Range or Content-Length). Reading past
 * the end gives what there is (possibly nothing), not an error. */
int ml_s3_get(ml_s3 *s3, const char *bucket, const char *key, uint64_t off,
              uint64_t len, ml_buf *out, uint64_t *object_size, char *why,
              size_t why_len);

int ml_s3_head(ml_s3 *s3, const char *bucket, const char *key, uint64_t *size,
               char *why, size_t why_len);

/* Deleting a key that does not exist is success (S3's rule). */
int ml_s3_delete(ml_s3 *s3, const char *bucket, const char *key, char *why,
                 size_t why_len);

/* Calls each(ctx, key, size) for every object whose key starts with
 * prefix, in key order, following continuation tokens; each returns 0 to
 * go on, anything else stops the listing and is returned. */
typedef int (*ml_s3_each_fn)(void *ctx, const char *key, uint64_t size);
int ml_s3_list(ml_s3 *s3, const char *bucket, const char *prefix,
               ml_s3_each_fn each, void *ctx, char *why, size_t why_len);

/* Creates the bucket (for tests and first use); an existing bucket owned
 * by us is success. */
int ml_s3_create_bucket(ml_s3 *s3, const char *bucket, char *why,
                        size_t why_len);

#endif
