// SPDX-License-Identifier: MIT
// AWS Signature Version 4 on OpenSSL (see ml_sigv4.h; the steps are those
// of AWS's "Signature Calculations for the Authorization Header" for S3).
#include "ml_sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ml_error.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
/* Bounds on what one signature covers; a request past them is refused
 * rather than signed from a truncated copy. */
#define MAX_QUERY_PARAMS 16
#define MAX_SECRET 256
#define MAX_SCOPE_PART 64
#define MAX_CANONICAL (64u << 10)

static const char HEX_LOWER[] = "0123456789abcdef";

static void
to_hex(const unsigned char *md, size_t n, char *hex)
{
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = HEX_LOWER[md[i] >> 4];
        hex[2 * i + 1] = HEX_LOWER[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

void
ml_sigv4_sha256_hex(const void *data, size_t len, char hex[ML_SIGV4_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        /* Never matches a real hash, so the server refuses the request
         * instead of the program signing garbage silently. */
        memset(hex, '0', ML_SIGV4_HEX - 1);
        hex[ML_SIGV4_HEX - 1] = '\0';
        return;
    }
    to_hex(md, 32, hex);
}

void
ml_sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}

int
ml_sigv4_encode(ml_buf *out, const char *s, int keep_slash)
{
    static const char hex_upper[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int err;
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            err = ml_buf_append_u8(out, *p);
        } else {
            char esc[3] = {'%', hex_upper[*p >> 4], hex_upper[*p & 15]};
            err = ml_buf_append(out, esc, 3);
        }
        if (err != 0) {
            return err;
        }
    }
    return 0;
}

/* ---- the canonical query ---------------------------------------------- */

typedef struct {
    const char *name, *value; /* encoded, inside the scratch buffer */
    size_t name_len, value_len;
} encoded_param;

static int
bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c != 0 ? c : (al > bl) - (al < bl);
}

static int
param_cmp(const void *x, const void *y)
{
    const encoded_param *a = x, *b = y;
    int c = bytes_cmp(a->name, a->name_len, b->name, b->name_len);
    return c != 0 ? c
                  : bytes_cmp(a->value, a->value_len, b->value, b->value_len);
}

/* Encodes every name and value into scratch, then points ps into it (the
 * buffer no longer moves once all appends are done). */
static int
encode_params(const ml_sigv4_pair *params, size_t n, ml_buf *scratch,
              encoded_param *ps)
{
    size_t offs[MAX_QUERY_PARAMS][3];
    for (size_t i = 0; i < n; i++) {
        offs[i][0] = scratch->len;
        int err = ml_sigv4_encode(scratch, params[i].name, 0);
        offs[i][1] = scratch->len;
        if (err == 0 && params[i].value != NULL) {
            err = ml_sigv4_encode(scratch, params[i].value, 0);
        }
        offs[i][2] = scratch->len;
        if (err != 0) {
            return err;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *base = (const char *)scratch->data;
        ps[i].name = base + offs[i][0];
        ps[i].name_len = offs[i][1] - offs[i][0];
        ps[i].value = base + offs[i][1];
        ps[i].value_len = offs[i][2] - offs[i][1];
    }
    return 0;
}

int
ml_sigv4_query(ml_buf *out, const ml_sigv4_pair *params, size_t n)
{
    if (n > MAX_QUERY_PARAMS) {
        return ML_ELIMIT;
    }
    encoded_param ps[MAX_QUERY_PARAMS];
    ml_buf scratch;
    ml_buf_init(&scratch, MAX_CANONICAL);
    int err = encode_params(params, n, &scratch, ps);
    if (err == 0 && n > 1) {
        qsort(ps, n, sizeof ps[0], param_cmp);
    }
    for (size_t i = 0; err == 0 && i < n; i++) {
        if (i > 0) {
            err = ml_buf_append_u8(out, '&');
        }
        if (err == 0) {
            err = ml_buf_append(out, ps[i].name, ps[i].name_len);
        }
        if (err == 0) {
            err = ml_buf_append_u8(out, '=');
        }
        if (err == 0) {
            err = ml_buf_append(out, ps[i].value, ps[i].value_len);
        }
    }
    ml_buf_free(&scratch);
    return err;
}

/* ---- the canonical request -------------------------------------------- */

static int
header_cmp(const void *x, const void *y)
{
    const ml_sigv4_pair *const *a = x, *const *b = y;
    return strcasecmp((*a)->name, (*b)->name);
}

static int
append_lower(ml_buf *out, const char *s)
{
    for (; *s; s++) {
        char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        int err = ml_buf_append_u8(out, (uint8_t)c);
        if (err != 0) {
            return err;
        }
    }
    return 0;
}

/* The value trimmed, with inner runs of spaces and tabs as one space. */
static int
append_trimmed(ml_buf *out, const char *v)
{
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    int pending_space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            pending_space = 1;
            continue;
        }
        int err = pending_space ? ml_buf_append_u8(out, ' ') : 0;
        pending_space = 0;
        if (err == 0) {
            err = ml_buf_append_u8(out, (uint8_t)*v);
        }
        if (err != 0) {
            return err;
        }
    }
    return 0;
}

/* The request's headers sorted by lower-case name into sorted. */
static int
sort_headers(const ml_sigv4_request *req, const ml_sigv4_pair **sorted)
{
    if (req->n_headers > ML_SIGV4_MAX_HEADERS) {
        return ML_ELIMIT;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        const ml_sigv4_pair *h = &req->headers[i];
        if (h->name == NULL || h->name[0] == '\0' || h->value == NULL) {
            return ML_EINVAL;
        }
        sorted[i] = h;
    }
    qsort(sorted, req->n_headers, sizeof sorted[0], header_cmp);
    return 0;
}

/* "name:value\n" per name (values of a repeated name joined with ','),
 * then, when names is not NULL, "a;b;c" into names. */
static int
append_headers(const ml_sigv4_pair **h, size_t n, ml_buf *out, ml_buf *names)
{
    int err = 0;
    for (size_t i = 0; err == 0 && i < n; i++) {
        int repeat = i > 0 && strcasecmp(h[i - 1]->name, h[i]->name) == 0;
        if (repeat) {
            out->len--; /* the previous value's '\n' */
            err = ml_buf_append_u8(out, ',');
        } else {
            err = append_lower(out, h[i]->name);
            if (err == 0) {
                err = ml_buf_append_u8(out, ':');
            }
            if (err == 0 && names->len > 0) {
                err = ml_buf_append_u8(names, ';');
            }
            if (err == 0) {
                err = append_lower(names, h[i]->name);
            }
        }
        if (err == 0) {
            err = append_trimmed(out, h[i]->value);
        }
        if (err == 0) {
            err = ml_buf_append_u8(out, '\n');
        }
    }
    return err;
}

static int
valid_request(const ml_sigv4_request *req)
{
    return req->method && req->path && req->path[0] == '/' && req->query
           && req->amz_date && strlen(req->amz_date) == 16
           && req->payload_sha256 && req->headers && req->n_headers > 0;
}

static int
append_str(ml_buf *out, const char *s)
{
    return ml_buf_append(out, s, strlen(s));
}

/* Appends the canonical request to out and the signed-header list to
 * names. */
static int
canonical(const ml_sigv4_request *req, ml_buf *out, ml_buf *names)
{
    if (!valid_request(req)) {
        return ML_EINVAL;
    }
    const ml_sigv4_pair *sorted[ML_SIGV4_MAX_HEADERS];
    int err = sort_headers(req, sorted);
    const char *parts[] = {req->method, "\n",       req->path,
                           "\n",        req->query, "\n"};
    for (size_t i = 0; err == 0 && i < sizeof parts / sizeof parts[0]; i++) {
        err = append_str(out, parts[i]);
    }
    if (err == 0) {
        err = append_headers(sorted, req->n_headers, out, names);
    }
    if (err == 0) {
        err = ml_buf_append_u8(out, '\n');
    }
    if (err == 0) {
        err = ml_buf_append(out, names->data, names->len);
    }
    if (err == 0) {
        err = ml_buf_append_u8(out, '\n');
    }
    if (err == 0) {
        err = append_str(out, req->payload_sha256);
    }
    return err;
}

int
ml_sigv4_canonical(const ml_sigv4_request *req, ml_buf *out)
{
    ml_buf names;
    ml_buf_init(&names, MAX_CANONICAL);
    int err = canonical(req, out, &names);
    ml_buf_free(&names);
    return err;
}

/* "YYYYMMDD/region/service/aws4_request" into scope. */
static int
credential_scope(const ml_sigv4_key *key, const char *amz_date, char *scope,
                 size_t cap)
{
    if (!key->region || !key->service || !key->access_key || !key->secret_key
        || strlen(key->region) > MAX_SCOPE_PART
        || strlen(key->service) > MAX_SCOPE_PART) {
        return ML_EINVAL;
    }
    int n = snprintf(scope, cap, "%.8s/%s/%s/aws4_request", amz_date,
                     key->region, key->service);
    return n > 0 && (size_t)n < cap ? 0 : ML_ELIMIT;
}

/* Appends the string to sign; *names gets the signed-header list. */
static int
string_to_sign(const ml_sigv4_key *key, const ml_sigv4_request *req,
               ml_buf *out, ml_buf *names)
{
    char scope[3 * MAX_SCOPE_PART];
    int err = valid_request(req) ? 0 : ML_EINVAL;
    if (err == 0) {
        err = credential_scope(key, req->amz_date, scope, sizeof scope);
    }
    ml_buf creq;
    ml_buf_init(&creq, MAX_CANONICAL);
    if (err == 0) {
        err = canonical(req, &creq, names);
    }
    char hex[ML_SIGV4_HEX];
    if (err == 0) {
        ml_sigv4_sha256_hex(creq.data, creq.len, hex);
        const char *parts[] = {ALGORITHM "\n", req->amz_date, "\n",
                               scope,          "\n",          hex};
        for (size_t i = 0; err == 0 && i < 6; i++) {
            err = append_str(out, parts[i]);
        }
    }
    ml_buf_free(&creq);
    return err;
}

int
ml_sigv4_string_to_sign(const ml_sigv4_key *key, const ml_sigv4_request *req,
                        ml_buf *out)
{
    ml_buf names;
    ml_buf_init(&names, MAX_CANONICAL);
    int err = string_to_sign(key, req, out, &names);
    ml_buf_free(&names);
    return err;
}

static int
hmac(const unsigned char *k, size_t klen, const void *msg, size_t len,
     unsigned char out[32])
{
    unsigned int n = 0;
    const unsigned char *r =
        HMAC(EVP_sha256(), k, (int)klen, msg, len, out, &n);
    return r != NULL && n == 32 ? 0 : ML_EIO;
}

/* HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request") into k. */
static int
signing_key(const ml_sigv4_key *key, const char *amz_date, unsigned char k[32])
{
    char secret[4 + MAX_SECRET + 1];
    int n = snprintf(secret, sizeof secret, "AWS4%s", key->secret_key);
    if (n < 0 || (size_t)n >= sizeof secret) {
        return ML_EINVAL;
    }
    int err = hmac((const unsigned char *)secret, (size_t)n, amz_date, 8, k);
    const char *steps[] = {key->region, key->service, "aws4_request"};
    for (size_t i = 0; err == 0 && i < 3; i++) {
        err = hmac(k, 32, steps[i], strlen(steps[i]), k);
    }
    memset(secret, 0, sizeof secret);
    return err;
}

int
ml_sigv4_sign(const ml_sigv4_key *key, const ml_sigv4_request *req, char *auth,
              size_t auth_len)
{
    ml_buf sts, names;
    ml_buf_init(&sts, MAX_CANONICAL);
    ml_buf_init(&names, MAX_CANONICAL);
    unsigned char k[32], sig[32];
    int err = string_to_sign(key, req, &sts, &names);
    if (err == 0) {
        err = signing_key(key, req->amz_date, k);
    }
    if (err == 0) {
        err = hmac(k, 32, sts.data, sts.len, sig);
    }
    if (err == 0) {
        char hex[ML_SIGV4_HEX];
        to_hex(sig, 32, hex);
        int n =
            snprintf(auth, auth_len,
                     ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request,"
                               "SignedHeaders=%.*s,Signature=%s",
                     key->access_key, req->amz_date, key->region, key->service,
                     (int)names.len, (const char *)names.data, hex);
        err = n > 0 && (size_t)n < auth_len ? 0 : ML_ELIMIT;
    }
    memset(k, 0, sizeof k);
    ml_buf_free(&sts);
    ml_buf_free(&names);
    return err;
}
