// SPDX-License-Identifier: MIT
// AWS Signature Version 4 for S3 requests, on OpenSSL's SHA-256 and HMAC:
// the canonical request, the string to sign, the derived signing key and
// the Authorization header value. The caller builds one list of headers
// and sends exactly those it had signed, so what is signed and what is
// sent cannot drift apart (docs/STORE.md, "What is signed").
//
// S3 rules, not the generic ones: the path is URI-encoded once (slashes
// kept) and not normalised; query names and values are percent-encoded
// with the same unreserved set and sorted.
#ifndef ML_SIGV4_H
#define ML_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/ml_buf.h"

/* A request header (to sign and to send) or a query parameter. Header
 * names are compared and signed in lower case; values are signed with
 * surrounding spaces trimmed and inner runs of spaces collapsed. */
typedef struct {
    const char *name;
    const char *value;
} ml_sigv4_pair;

typedef struct {
    const char *access_key;
    const char *secret_key;
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
} ml_sigv4_key;

typedef struct {
    const char *method; /* "GET" */
    /* The URI-encoded path as sent ("/bucket/a%20b"; ml_sigv4_encode). */
    const char *path;
    /* The canonical query as sent, "" for none (ml_sigv4_query). */
    const char *query;
    /* Every header to sign, in any order (at least one): host, x-amz-date;
     * for S3 also x-amz-content-sha256. At most ML_SIGV4_MAX_HEADERS. */
    const ml_sigv4_pair *headers;
    size_t n_headers;
    const char *amz_date;       /* "20130524T000000Z", as in x-amz-date */
    const char *payload_sha256; /* hex SHA-256 of the body, as sent */
} ml_sigv4_request;

enum {
    ML_SIGV4_MAX_HEADERS = 16,
    ML_SIGV4_HEX = 65
};

/* The lower-case hex SHA-256 of data into hex (65 bytes with the NUL). */
void ml_sigv4_sha256_hex(const void *data, size_t len, char hex[ML_SIGV4_HEX]);

/* "YYYYMMDDTHHMMSSZ" of t in UTC into out (17 bytes with the NUL). */
void ml_sigv4_amz_date(time_t t, char out[17]);

/* Appends s percent-encoded: A-Z a-z 0-9 - . _ ~ stay, every other byte
 * becomes %XX (upper-case hex); '/' stays when keep_slash. 0 or the
 * ml_buf error. */
int ml_sigv4_encode(ml_buf *out, const char *s, int keep_slash);

/* Appends the canonical query of params (encoded, sorted by name then
 * value, joined with '&'; a NULL value counts as ""), which is also the
 * query to send. At most 16 params. 0, ML_ELIMIT or the ml_buf error. */
int ml_sigv4_query(ml_buf *out, const ml_sigv4_pair *params, size_t n);

/* Writes the Authorization header value ("AWS4-HMAC-SHA256
 * Credential=..., SignedHeaders=..., Signature=...") into auth. Returns
 * 0; ML_EINVAL for a missing field, a header without a name or a date
 * that is not 16 characters; ML_ELIMIT for too many headers or an auth
 * buffer too small; ML_ENOMEM; ML_EIO when OpenSSL fails. */
int ml_sigv4_sign(const ml_sigv4_key *key, const ml_sigv4_request *req,
                  char *auth, size_t auth_len);

/* The canonical request and the string to sign of req, appended to out
 * (for tests and for debugging a SignatureDoesNotMatch). Same errors. */
int ml_sigv4_canonical(const ml_sigv4_request *req, ml_buf *out);
int ml_sigv4_string_to_sign(const ml_sigv4_key *key,
                            const ml_sigv4_request *req, ml_buf *out);

#endif
