// SPDX-License-Identifier: MIT
// The S3 client (see ml_s3.h; docs/STORE.md, "Object storage (S3)"): one
// request path, s3_perform(), that builds the URL, signs the headers it
// sends with ml_sigv4, runs a pooled curl handle and turns the answer
// into 0, ML_S3_NOT_FOUND, ML_S3_EXISTS or an error line.
#include "ml_s3.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/ml_error.h"
#include "ml_s3_xml.h"
#include "ml_sigv4.h"

#define POOL_SIZE 8
#define DEFAULT_TIMEOUT_MS 30000L
#define MAX_KEY 1024
/* S3's error bodies are a few hundred bytes; a list page of 1000 keys of
 * 1024 bytes fits in a few MB. Anything longer is cut or refused. */
#define MAX_ERROR_BODY (64u << 10)
#define MAX_LIST_PAGE (16u << 20)
#define MAX_URL (8u << 10)

struct ml_s3 {
    char *scheme; /* "http" or "https" */
    char *host;   /* "127.0.0.1:9000": the Host of path-style requests */
    char *region, *access_key, *secret_key, *session_token;
    int path_style;
    long timeout_ms;
    uint32_t page_size;   /* max-keys of a list page; 0: the server's */
    pthread_mutex_t lock; /* protects pool and n_pool */
    CURL *pool[POOL_SIZE];
    size_t n_pool;
};

/* One request, described by the operation. */
typedef struct {
    const char *method;
    const char *bucket;
    const char *key; /* NULL: the bucket itself */
    const ml_sigv4_pair *query;
    size_t n_query;
    const void *body;
    size_t body_len;
    const char *range; /* "bytes=A-B" or NULL */
    int if_none_match;
    ml_buf *answer; /* a 2xx body goes here; NULL: dropped */
    /* For a ranged GET answered 200 (a server ignoring Range): the
     * slice of the whole object to keep. */
    uint64_t skip, take;
} s3_request;

typedef struct {
    long status;
    int64_t content_length; /* -1: not given */
    int64_t range_total;    /* the N of "Content-Range: bytes A-B/N" */
    int write_err;          /* why the answer was refused, if it was */
    uint64_t seen;          /* body bytes received */
    ml_buf error;           /* the body of a non-2xx answer */
} s3_answer;

/* ---- configuration ------------------------------------------------------ */

static const char *
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static const char *
env2(const char *a, const char *b)
{
    const char *v = nonempty(getenv(a));
    return v != NULL ? v : nonempty(getenv(b));
}

/* "true"/"1"/"yes" 1, "false"/"0"/"no" 0, anything else -1. */
static int
parse_bool(const char *v)
{
    static const char *yes[] = {"true", "1", "yes", "on"};
    static const char *no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            return 1;
        }
        if (strcasecmp(v, no[i]) == 0) {
            return 0;
        }
    }
    return -1;
}

int
ml_s3_config_from_env(ml_s3_config *c, char *why, size_t why_len)
{
    ml_s3_config n = {0};
    n.access_key = nonempty(getenv("AWS_ACCESS_KEY_ID"));
    n.secret_key = nonempty(getenv("AWS_SECRET_ACCESS_KEY"));
    n.session_token = nonempty(getenv("AWS_SESSION_TOKEN"));
    n.region = env2("AWS_REGION", "AWS_DEFAULT_REGION");
    n.endpoint = env2("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
    n.path_style = n.endpoint != NULL;
    if (n.access_key == NULL || n.secret_key == NULL) {
        snprintf(why, why_len, "no S3 credentials: set %s",
                 n.access_key == NULL ? "AWS_ACCESS_KEY_ID"
                                      : "AWS_SECRET_ACCESS_KEY");
        return ML_EINVAL;
    }
    const char *ps = nonempty(getenv("MICROLOG_S3_PATH_STYLE"));
    if (ps != NULL && (n.path_style = parse_bool(ps)) < 0) {
        snprintf(why, why_len,
                 "MICROLOG_S3_PATH_STYLE=%.40s: expected true or false", ps);
        return ML_EINVAL;
    }
    const char *t = nonempty(getenv("MICROLOG_S3_TIMEOUT_MS"));
    if (t != NULL) {
        char *e;
        long v = strtol(t, &e, 10);
        if (*e != '\0' || v <= 0) {
            snprintf(why, why_len,
                     "MICROLOG_S3_TIMEOUT_MS=%.40s: expected milliseconds", t);
            return ML_EINVAL;
        }
        n.timeout_ms = v;
    }
    *c = n;
    return 0;
}

int
ml_s3_parse_url(const char *url, char **bucket, char **prefix)
{
    if (url == NULL || strncmp(url, "s3://", 5) != 0) {
        return ML_EINVAL;
    }
    const char *b = url + 5;
    size_t bl = strcspn(b, "/");
    const char *p = b[bl] == '/' ? b + bl + 1 : b + bl;
    size_t pl = strlen(p);
    if (bl == 0) {
        return ML_EINVAL;
    }
    if (pl > 0 && p[pl - 1] == '/') {
        pl--;
    }
    char *bo = strndup(b, bl), *po = strndup(p, pl);
    if (bo == NULL || po == NULL) {
        free(bo);
        free(po);
        return ML_ENOMEM;
    }
    *bucket = bo;
    *prefix = po;
    return 0;
}

/* ---- the client --------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* curl_global_init is not thread-safe: once per process, before any
 * handle. */
static void
curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Splits "http(s)://host[:port][/]" into scheme and host. */
static int
parse_endpoint(const char *endpoint, char **scheme, char **host)
{
    const char *sep = strstr(endpoint, "://");
    if (sep == NULL) {
        return ML_EINVAL;
    }
    size_t sl = (size_t)(sep - endpoint);
    const char *h = sep + 3;
    size_t hl = strcspn(h, "/?#");
    int https = sl == 5 && strncasecmp(endpoint, "https", 5) == 0;
    int http = sl == 4 && strncasecmp(endpoint, "http", 4) == 0;
    /* A path after the host is refused: S3 requests start at "/". */
    if ((!http && !https) || hl == 0 || strcspn(h, "@ ") < hl
        || (h[hl] != '\0' && strcmp(h + hl, "/") != 0)) {
        return ML_EINVAL;
    }
    *scheme = strdup(https ? "https" : "http");
    *host = strndup(h, hl);
    return *scheme && *host ? 0 : ML_ENOMEM;
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int
ml_s3_new(const ml_s3_config *c, ml_s3 **out)
{
    if (c == NULL || nonempty(c->access_key) == NULL
        || nonempty(c->secret_key) == NULL) {
        return ML_EINVAL;
    }
    pthread_once(&curl_once, curl_init_once);
    ml_s3 *s3 = calloc(1, sizeof *s3);
    if (s3 == NULL) {
        return ML_ENOMEM;
    }
    pthread_mutex_init(&s3->lock, NULL);
    const char *region = nonempty(c->region) ? c->region : "us-east-1";
    int err;
    if (nonempty(c->endpoint)) {
        err = parse_endpoint(c->endpoint, &s3->scheme, &s3->host);
    } else {
        char aws[128];
        snprintf(aws, sizeof aws, "https://s3.%.64s.amazonaws.com", region);
        err = parse_endpoint(aws, &s3->scheme, &s3->host);
    }
    s3->region = strdup(region);
    s3->access_key = strdup(c->access_key);
    s3->secret_key = strdup(c->secret_key);
    s3->session_token = dup_or_null(nonempty(c->session_token));
    s3->path_style = c->path_style != 0;
    s3->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (err == 0
        && (!s3->region || !s3->access_key || !s3->secret_key
            || (nonempty(c->session_token) && !s3->session_token))) {
        err = ML_ENOMEM;
    }
    if (err != 0) {
        ml_s3_free(s3);
        return err;
    }
    *out = s3;
    return 0;
}

void
ml_s3_free(ml_s3 *s3)
{
    if (s3 == NULL) {
        return;
    }
    for (size_t i = 0; i < s3->n_pool; i++) {
        curl_easy_cleanup(s3->pool[i]);
    }
    pthread_mutex_destroy(&s3->lock);
    free(s3->scheme);
    free(s3->host);
    free(s3->region);
    free(s3->access_key);
    if (s3->secret_key != NULL) {
        memset(s3->secret_key, 0, strlen(s3->secret_key));
    }
    free(s3->secret_key);
    free(s3->session_token);
    free(s3);
}

void
ml_s3_set_page_size(ml_s3 *s3, uint32_t n)
{
    s3->page_size = n;
}

/* A handle from the pool (keeping its connections alive), or a new one. */
static CURL *
handle_take(ml_s3 *s3)
{
    CURL *h = NULL;
    pthread_mutex_lock(&s3->lock);
    if (s3->n_pool > 0) {
        h = s3->pool[--s3->n_pool];
    }
    pthread_mutex_unlock(&s3->lock);
    return h != NULL ? h : curl_easy_init();
}

static void
handle_give(ml_s3 *s3, CURL *h)
{
    if (h == NULL) {
        return;
    }
    curl_easy_reset(h);
    pthread_mutex_lock(&s3->lock);
    if (s3->n_pool < POOL_SIZE) {
        s3->pool[s3->n_pool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&s3->lock);
    curl_easy_cleanup(h);
}

/* ---- one request -------------------------------------------------------- */

/* S3's naming rules, which also keep the name safe in a host and a path. */
static int
valid_bucket(const char *b)
{
    size_t n = b != NULL ? strlen(b) : 0;
    if (n < 3 || n > 63 || b[0] == '.' || b[0] == '-' || b[n - 1] == '.'
        || b[n - 1] == '-') {
        return 0;
    }
    return strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

static int
append_str(ml_buf *b, const char *s)
{
    return ml_buf_append(b, s, strlen(s));
}

/* The encoded path (also the canonical URI), the URL and the Host. */
static int
target(const ml_s3 *s3, const s3_request *r, ml_buf *path, ml_buf *url,
       char *host, size_t host_cap)
{
    int n = s3->path_style
                ? snprintf(host, host_cap, "%s", s3->host)
                : snprintf(host, host_cap, "%s.%s", r->bucket, s3->host);
    int err = n > 0 && (size_t)n < host_cap ? 0 : ML_ELIMIT;
    if (err == 0 && s3->path_style) {
        err = ml_buf_append_u8(path, '/');
        if (err == 0) {
            err = append_str(path, r->bucket);
        }
    }
    if (err == 0 && (r->key != NULL || !s3->path_style)) {
        err = ml_buf_append_u8(path, '/');
    }
    if (err == 0 && r->key != NULL) {
        err = ml_sigv4_encode(path, r->key, 1);
    }
    const char *parts[] = {s3->scheme, "://", host};
    for (size_t i = 0; err == 0 && i < 3; i++) {
        err = append_str(url, parts[i]);
    }
    if (err == 0) {
        err = ml_buf_append(url, path->data, path->len);
    }
    return err;
}

/* "name: value" for curl (a session token may be a few KB long). */
static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
    size_t cap = strlen(name) + strlen(value) + 3;
    char *line = malloc(cap);
    if (line == NULL) {
        return ML_ENOMEM;
    }
    snprintf(line, cap, "%s: %s", name, value);
    struct curl_slist *l = curl_slist_append(*list, line);
    free(line);
    if (l == NULL) {
        return ML_ENOMEM;
    }
    *list = l;
    return 0;
}

/* Signs the headers of r and lists exactly those for curl (plus "Expect:"
 * so that a large PUT does not wait for a 100 Continue). */
static int
signed_headers(const ml_s3 *s3, const s3_request *r, const char *host,
               const char *path, const char *query, struct curl_slist **out)
{
    char date[17], sha[ML_SIGV4_HEX], auth[1024];
    ml_sigv4_amz_date(time(NULL), date);
    ml_sigv4_sha256_hex(r->body != NULL ? r->body : "", r->body_len, sha);
    ml_sigv4_pair h[8];
    size_t n = 0;
    h[n++] = (ml_sigv4_pair){"host", host};
    h[n++] = (ml_sigv4_pair){"x-amz-content-sha256", sha};
    h[n++] = (ml_sigv4_pair){"x-amz-date", date};
    if (s3->session_token != NULL) {
        h[n++] = (ml_sigv4_pair){"x-amz-security-token", s3->session_token};
    }
    if (r->range != NULL) {
        h[n++] = (ml_sigv4_pair){"range", r->range};
    }
    if (r->if_none_match) {
        h[n++] = (ml_sigv4_pair){"if-none-match", "*"};
    }
    if (r->body != NULL && r->key != NULL) {
        h[n++] = (ml_sigv4_pair){"content-type", "application/octet-stream"};
    }
    ml_sigv4_key key = {s3->access_key, s3->secret_key, s3->region, "s3"};
    ml_sigv4_request req = {r->method, path, query, h, n, date, sha};
    int err = ml_sigv4_sign(&key, &req, auth, sizeof auth);
    for (size_t i = 0; err == 0 && i < n; i++) {
        err = add_header(out, h[i].name, h[i].value);
    }
    if (err == 0) {
        err = add_header(out, "authorization", auth);
    }
    struct curl_slist *l = err == 0 ? curl_slist_append(*out, "Expect:") : 0;
    if (err == 0 && l == NULL) {
        err = ML_ENOMEM;
    }
    return err;
}

typedef struct {
    CURL *h;
    const s3_request *req;
    s3_answer *ans;
} transfer;

/* Keeps the answer's body: 2xx into req->answer (sliced when a ranged
 * GET got the whole object), anything else into ans->error. */
static size_t
on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
    transfer *t = ctx;
    size_t n = size * nmemb;
    if (t->ans->status == 0) {
        curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &t->ans->status);
    }
    uint64_t at = t->ans->seen;
    t->ans->seen += n;
    if (t->ans->status < 200 || t->ans->status >= 300) {
        size_t room = MAX_ERROR_BODY - t->ans->error.len;
        ml_buf_append(&t->ans->error, p, n < room ? n : room);
        return n;
    }
    if (t->req->answer == NULL) {
        return n;
    }
    const char *from = p;
    size_t keep = n;
    if (t->ans->status == 200 && t->req->range != NULL) {
        /* take <= UINT64_MAX - skip, so hi does not wrap. */
        uint64_t lo = t->req->skip, hi = lo + t->req->take;
        uint64_t a = at > lo ? at : lo, b = at + n < hi ? at + n : hi;
        if (b <= a) {
            return n;
        }
        from = p + (a - at);
        keep = (size_t)(b - a);
    }
    int err = ml_buf_append(t->req->answer, from, keep);
    if (err != 0) {
        t->ans->write_err = err;
        return 0;
    }
    return n;
}

/* Notes Content-Range's total; a new status line (a redirect, a 100
 * Continue) forgets what an earlier answer said. */
static size_t
on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
    transfer *t = ctx;
    size_t n = size * nmemb;
    static const char cr[] = "content-range:";
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        t->ans->range_total = -1;
    } else if (n > sizeof cr && strncasecmp(p, cr, sizeof cr - 1) == 0) {
        const char *slash = memchr(p, '/', n);
        int64_t v = 0;
        size_t i = slash ? (size_t)(slash - p) + 1 : n, digits = 0;
        for (; i < n && p[i] >= '0' && p[i] <= '9' && digits < 18; i++) {
            v = v * 10 + (p[i] - '0');
            digits++;
        }
        t->ans->range_total = digits > 0 ? v : -1;
    }
    return n;
}

typedef struct {
    const uint8_t *p;
    size_t left;
} upload;

static size_t
on_read(char *buf, size_t size, size_t nmemb, void *ctx)
{
    upload *u = ctx;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;
    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

static void
set_method(CURL *h, const s3_request *r, upload *u)
{
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0) {
        u->p = r->body;
        u->left = r->body_len;
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, u);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

/* "GET s3://bucket/key" for the end of error lines. */
static void
describe(const s3_request *r, char *out, size_t cap)
{
    snprintf(out, cap, "%s s3://%s/%.200s%s", r->method, r->bucket,
             r->key != NULL ? r->key : "",
             r->key != NULL && strlen(r->key) > 200 ? "..." : "");
}

/* Replaces control characters so that a why stays one line. */
static void
one_line(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            *s = ' ';
        }
    }
}

static int
transfer_error(CURLcode rc, const char *errbuf, const char *url,
               const ml_s3 *s3, const s3_request *r, const s3_answer *a,
               char *why, size_t why_len)
{
    char what[300];
    describe(r, what, sizeof what);
    if (a->write_err != 0) {
        snprintf(why, why_len, "the answer is larger than %zu bytes (%s)",
                 r->answer->max, what);
        return a->write_err;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(why, why_len, "no answer from %s://%s within %ld ms (%s)",
                 s3->scheme, s3->host, s3->timeout_ms, what);
    } else {
        snprintf(why, why_len, "cannot reach %.300s: %s (%s)", url,
                 errbuf[0] ? errbuf : curl_easy_strerror(rc), what);
    }
    one_line(why);
    return ML_EIO;
}

static int
valid_names(const s3_request *r, char *why, size_t why_len)
{
    if (!valid_bucket(r->bucket)) {
        snprintf(why, why_len, "invalid bucket name '%.64s'",
                 r->bucket ? r->bucket : "");
        return ML_EINVAL;
    }
    if (r->key != NULL && (r->key[0] == '\0' || strlen(r->key) > MAX_KEY)) {
        snprintf(why, why_len, "invalid key: empty or over %d bytes", MAX_KEY);
        return ML_EINVAL;
    }
    return 0;
}

/* What goes on the wire for one request: NUL-terminated path (the
 * canonical URI), query (the canonical query) and URL, the Host, and the
 * signed headers. */
typedef struct {
    ml_buf path, query, url;
    char host[512];
    struct curl_slist *hdr;
} wire;

static void
wire_free(wire *w)
{
    curl_slist_free_all(w->hdr);
    ml_buf_free(&w->path);
    ml_buf_free(&w->query);
    ml_buf_free(&w->url);
}

static int
wire_build(const ml_s3 *s3, const s3_request *r, wire *w)
{
    memset(w, 0, sizeof *w);
    ml_buf_init(&w->path, MAX_URL);
    ml_buf_init(&w->query, MAX_URL);
    ml_buf_init(&w->url, MAX_URL);
    int err = target(s3, r, &w->path, &w->url, w->host, sizeof w->host);
    if (err == 0) {
        err = ml_sigv4_query(&w->query, r->query, r->n_query);
    }
    if (err == 0 && w->query.len > 0) {
        err = ml_buf_append_u8(&w->url, '?');
        if (err == 0) {
            err = ml_buf_append(&w->url, w->query.data, w->query.len);
        }
    }
    ml_buf *ends[] = {&w->path, &w->query, &w->url};
    for (size_t i = 0; err == 0 && i < 3; i++) {
        err = ml_buf_append_u8(ends[i], 0);
    }
    if (err == 0) {
        err = signed_headers(s3, r, w->host, (char *)w->path.data,
                             (char *)w->query.data, &w->hdr);
    }
    return err;
}

/* One transfer on handle h; fills a from the answer. */
static int
transfer_run(const ml_s3 *s3, CURL *h, const s3_request *r, const wire *w,
             s3_answer *a, char *why, size_t why_len)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    transfer t = {h, r, a};
    upload up;
    curl_easy_setopt(h, CURLOPT_URL, (char *)w->url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, w->hdr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s3->timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* The path is signed as it is: curl must not remove "/./" or "/../". */
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    set_method(h, r, &up);
    CURLcode rc = curl_easy_perform(h);
    /* errbuf and t live on this stack: the handle must forget them. */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (rc != CURLE_OK) {
        return transfer_error(rc, errbuf, (char *)w->url.data, s3, r, a, why,
                              why_len);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    curl_off_t cl = -1;
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    a->content_length = cl;
    return 0;
}

/* Runs r: 0 with a->status set once an HTTP answer came (any status), or
 * an error with why. */
static int
s3_perform(ml_s3 *s3, const s3_request *r, s3_answer *a, char *why,
           size_t why_len)
{
    a->status = 0;
    a->content_length = a->range_total = -1;
    a->write_err = 0;
    a->seen = 0;
    int err = valid_names(r, why, why_len);
    if (err != 0) {
        return err;
    }
    wire w;
    CURL *h = NULL;
    err = wire_build(s3, r, &w);
    if (err == 0 && (h = handle_take(s3)) == NULL) {
        err = ML_ENOMEM;
    }
    if (err != 0) {
        snprintf(why, why_len, "cannot build the request: %s",
                 ml_strerror(err));
    } else {
        err = transfer_run(s3, h, r, &w, a, why, why_len);
    }
    handle_give(s3, h);
    wire_free(&w);
    return err;
}

/* The reason phrase of a status whose answer has no S3 error code (HEAD
 * answers have no body), or "". */
static const char *
reason(long status)
{
    static const struct {
        long status;
        const char *text;
    } phrases[] = {
        {400, "Bad Request"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {412, "Precondition Failed"},
        {416, "Range Not Satisfiable"},
        {500, "Internal Server Error"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
    };
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++) {
        if (phrases[i].status == status) {
            return phrases[i].text;
        }
    }
    return "";
}

/* "HTTP 403 SignatureDoesNotMatch: The request signature ... (GET
 * s3://b/k)" from S3's XML error body, and the code it maps to. */
static int
status_error(const s3_request *r, const s3_answer *a, char *why,
             size_t why_len)
{
    char code[128] = "", msg[400] = "", what[300];
    const char *x = (const char *)a->error.data;
    if (ml_s3_xml_text(x, a->error.len, "Code", code, sizeof code) != 1) {
        snprintf(code, sizeof code, "%s", reason(a->status));
    }
    if (ml_s3_xml_text(x, a->error.len, "Message", msg, sizeof msg) != 1) {
        msg[0] = '\0';
    }
    describe(r, what, sizeof what);
    snprintf(why, why_len, "HTTP %ld%s%s%s%s (%s)", a->status,
             code[0] ? " " : "", code, msg[0] ? ": " : "", msg, what);
    one_line(why);
    if (a->status == 404) {
        return ML_S3_NOT_FOUND;
    }
    return a->status == 400 || a->status == 403 ? ML_EINVAL : ML_EIO;
}

/* Runs r and maps a non-2xx status to its result; 0 for 2xx. */
static int
s3_call(ml_s3 *s3, const s3_request *r, s3_answer *a, char *why,
        size_t why_len)
{
    int err = s3_perform(s3, r, a, why, why_len);
    if (err == 0 && (a->status < 200 || a->status >= 300)) {
        err = status_error(r, a, why, why_len);
    }
    return err;
}

static void
answer_init(s3_answer *a)
{
    memset(a, 0, sizeof *a);
    ml_buf_init(&a->error, MAX_ERROR_BODY);
}

/* ---- the operations ----------------------------------------------------- */

int
ml_s3_put(ml_s3 *s3, const char *bucket, const char *key, const void *data,
          size_t len, int if_none_match, char *why, size_t why_len)
{
    s3_request r = {.method = "PUT",
                    .bucket = bucket,
                    .key = key,
                    .body = data != NULL ? data : "",
                    .body_len = len,
                    .if_none_match = if_none_match};
    s3_answer a;
    answer_init(&a);
    int err = s3_call(s3, &r, &a, why, why_len);
    if (if_none_match && a.status == 412) {
        err = ML_S3_EXISTS;
    }
    ml_buf_free(&a.error);
    return err;
}

/* The size of the object from a GET's answer, or -1 when not told. */
static int64_t
object_size_of(const s3_answer *a)
{
    if (a->status == 206 || a->status == 416) {
        return a->range_total;
    }
    return a->status == 200 ? a->content_length : -1;
}

/* The Range of off/len ("bytes=A-B", open-ended when len is 0 or runs
 * past 2^64), or NULL for the whole object. */
static const char *
range_value(uint64_t off, uint64_t len, char *buf, size_t cap)
{
    if (off == 0 && len == 0) {
        return NULL;
    }
    if (len == 0 || len - 1 >= UINT64_MAX - off) {
        snprintf(buf, cap, "bytes=%llu-", (unsigned long long)off);
    } else {
        snprintf(buf, cap, "bytes=%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
    }
    return buf;
}

int
ml_s3_get(ml_s3 *s3, const char *bucket, const char *key, uint64_t off,
          uint64_t len, ml_buf *out, uint64_t *object_size, char *why,
          size_t why_len)
{
    char range[64];
    s3_request r = {
        .method = "GET",
        .bucket = bucket,
        .key = key,
        .answer = out,
        .skip = off,
        /* skip + take never wraps (on_body). */
        .take = len > 0 && len <= UINT64_MAX - off ? len : UINT64_MAX - off};
    r.range = range_value(off, len, range, sizeof range);
    size_t had = out->len;
    s3_answer a;
    answer_init(&a);
    int err = s3_perform(s3, &r, &a, why, why_len);
    /* Past the end: what there is, nothing. */
    if (err == 0 && a.status != 416 && (a.status < 200 || a.status >= 300)) {
        err = status_error(&r, &a, why, why_len);
    }
    int64_t size = err == 0 ? object_size_of(&a) : -1;
    ml_buf_free(&a.error);
    if (err == 0 && object_size != NULL && size < 0) {
        err = ml_s3_head(s3, bucket, key, object_size, why, why_len);
    } else if (err == 0 && object_size != NULL) {
        *object_size = (uint64_t)size;
    }
    if (err != 0) {
        out->len = had; /* nothing of a failed read stays */
    }
    return err;
}

int
ml_s3_head(ml_s3 *s3, const char *bucket, const char *key, uint64_t *size,
           char *why, size_t why_len)
{
    s3_request r = {.method = "HEAD", .bucket = bucket, .key = key};
    s3_answer a;
    answer_init(&a);
    int err = s3_call(s3, &r, &a, why, why_len);
    if (err == 0 && a.content_length < 0) {
        snprintf(why, why_len, "HEAD s3://%s/%.200s: no Content-Length",
                 bucket, key);
        err = ML_ECORRUPT;
    }
    if (err == 0 && size != NULL) {
        *size = (uint64_t)a.content_length;
    }
    ml_buf_free(&a.error);
    return err;
}

int
ml_s3_delete(ml_s3 *s3, const char *bucket, const char *key, char *why,
             size_t why_len)
{
    s3_request r = {.method = "DELETE", .bucket = bucket, .key = key};
    s3_answer a;
    answer_init(&a);
    int err = s3_call(s3, &r, &a, why, why_len);
    ml_buf_free(&a.error);
    return err;
}

/* One page of a listing: the request's query and its answer. */
static int
list_page(ml_s3 *s3, const char *bucket, const char *prefix, const char *token,
          ml_buf *page, char *why, size_t why_len)
{
    char max_keys[16];
    ml_sigv4_pair q[4];
    size_t n = 0;
    q[n++] = (ml_sigv4_pair){"list-type", "2"};
    q[n++] = (ml_sigv4_pair){"prefix", prefix != NULL ? prefix : ""};
    if (token[0] != '\0') {
        q[n++] = (ml_sigv4_pair){"continuation-token", token};
    }
    if (s3->page_size > 0) {
        snprintf(max_keys, sizeof max_keys, "%u", s3->page_size);
        q[n++] = (ml_sigv4_pair){"max-keys", max_keys};
    }
    s3_request r = {.method = "GET",
                    .bucket = bucket,
                    .query = q,
                    .n_query = n,
                    .answer = page};
    s3_answer a;
    answer_init(&a);
    ml_buf_reset(page);
    int err = s3_call(s3, &r, &a, why, why_len);
    ml_buf_free(&a.error);
    return err;
}

int
ml_s3_list(ml_s3 *s3, const char *bucket, const char *prefix,
           ml_s3_each_fn each, void *ctx, char *why, size_t why_len)
{
    if (prefix != NULL && strlen(prefix) > MAX_KEY) {
        snprintf(why, why_len, "prefix over %d bytes", MAX_KEY);
        return ML_EINVAL;
    }
    char token[ML_S3_XML_MAX_TEXT] = "", next[ML_S3_XML_MAX_TEXT];
    ml_buf page;
    ml_buf_init(&page, MAX_LIST_PAGE);
    int err = 0, truncated = 1;
    while (err == 0 && truncated) {
        err = list_page(s3, bucket, prefix, token, &page, why, why_len);
        if (err == 0) {
            err = ml_s3_xml_list_page((const char *)page.data, page.len, each,
                                      ctx, &truncated, next, sizeof next);
            if (err < 0) {
                snprintf(why, why_len,
                         "unreadable list answer from s3://%s/: %s", bucket,
                         ml_strerror(err));
            }
        }
        /* A truncated page must move the listing on, or it never ends. */
        if (err == 0 && truncated
            && (next[0] == '\0' || strcmp(next, token) == 0)) {
            snprintf(why, why_len,
                     "list of s3://%s/ is truncated without a new "
                     "continuation token",
                     bucket);
            err = ML_ECORRUPT;
        }
        memcpy(token, next, sizeof token);
    }
    ml_buf_free(&page);
    return err;
}

int
ml_s3_create_bucket(ml_s3 *s3, const char *bucket, char *why, size_t why_len)
{
    char body[256] = "";
    if (strcmp(s3->region, "us-east-1") != 0) {
        snprintf(body, sizeof body,
                 "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/"
                 "doc/2006-03-01/\"><LocationConstraint>%.64s"
                 "</LocationConstraint></CreateBucketConfiguration>",
                 s3->region);
    }
    s3_request r = {.method = "PUT",
                    .bucket = bucket,
                    .body = body,
                    .body_len = strlen(body)};
    s3_answer a;
    answer_init(&a);
    int err = s3_call(s3, &r, &a, why, why_len);
    if (err != 0 && a.status == 409) {
        char code[64];
        int found = ml_s3_xml_text((const char *)a.error.data, a.error.len,
                                   "Code", code, sizeof code);
        if (found == 1 && strcmp(code, "BucketAlreadyOwnedByYou") == 0) {
            err = 0;
        }
    }
    ml_buf_free(&a.error);
    return err;
}
