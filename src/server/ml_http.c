// SPDX-License-Identifier: MIT
// libmicrohttpd glue (see ml_http.h).
#define _GNU_SOURCE
#include "ml_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/ml_buf.h"
#include "core/ml_error.h"

/* Per connection: the request line and headers must fit in this (longer
 * URLs get 414 from libmicrohttpd itself). */
#define CONNECTION_MEMORY (64u << 10)
#define CONNECTION_TIMEOUT_S 30
/* libmicrohttpd's own hard limits; below them, past max_connections open
 * connections, requests are answered 503 instead of being dropped. */
#define HARD_CONNECTIONS 2048
#define PER_IP_CONNECTIONS 1024

#define CSP                                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self'; "               \
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "             \
    "object-src 'none'; base-uri 'none'; form-action 'none'; "                \
    "frame-ancestors 'none'"

struct ml_http {
    struct MHD_Daemon *d;
    ml_app *app;
    unsigned max_inflight, max_connections;
    atomic_uint inflight, connections;
};

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)socket_context;
    ml_http *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&h->connections, 1);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        atomic_fetch_sub(&h->connections, 1);
    }
}

typedef struct {
    ml_app_param params[ML_APP_MAX_PARAMS];
    size_t n;
    int too_many;
} collected;

static enum MHD_Result
collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
              const char *value)
{
    (void)kind;
    collected *c = cls;
    if (c->n == ML_APP_MAX_PARAMS) {
        c->too_many = 1;
        return MHD_NO;
    }
    c->params[c->n].key = key;
    c->params[c->n].value = value;
    c->n++;
    return MHD_YES;
}

/* Percent-decoding as libmicrohttpd does it, except that a value that
 * decodes to an embedded NUL ("%00") is replaced by the literal "%00":
 * the handlers see C strings, so "/app.js%00.html" must not become
 * "/app.js". */
static size_t
unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    size_t n = MHD_http_unescape(s);
    if (memchr(s, '\0', n) != NULL) {
        memcpy(s, "%00", 4); /* the input held "%00": never longer */
        return 3;
    }
    return n;
}

static enum MHD_Result
queue(struct MHD_Connection *conn, const ml_app_response *res)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        res->len, res->body ? res->body : (char *)"", MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    if (res->content_type) {
        MHD_add_response_header(r, "Content-Type", res->content_type);
    }
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control",
                            res->cacheable ? "max-age=60" : "no-store");
    if (res->is_html) {
        MHD_add_response_header(r, "Content-Security-Policy", CSP);
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
    }
    if (res->set_cookie[0]) {
        MHD_add_response_header(r, "Set-Cookie", res->set_cookie);
    }
    if (res->location[0]) {
        MHD_add_response_header(r, "Location", res->location);
    }
    if (res->has_run) {
        char v[24];
        snprintf(v, sizeof v, "%llu", (unsigned long long)res->end_us);
        MHD_add_response_header(r, "X-Microlog-End-Us", v);
        MHD_add_response_header(r, "X-Microlog-Live", res->live ? "1" : "0");
    }
    enum MHD_Result ok = MHD_queue_response(conn, res->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result
queue_error(struct MHD_Connection *conn, unsigned status, const char *json)
{
    ml_app_response res;
    memset(&res, 0, sizeof res);
    res.status = status;
    res.content_type = "application/json; charset=utf-8";
    res.body = (char *)json;
    res.len = strlen(json);
    return queue(conn, &res);
}

/* An upload in progress: its body, then, while the store keeps it, the
 * suspended connection and, once stored, the answer. */
typedef struct {
    ml_http *h;
    struct MHD_Connection *conn;
    ml_buf body;
    int too_big;
    int handed_over;
    ml_app_response *answer; /* set by the store's thread */
} upload_state;

static const char *
header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static void
fill_request(struct MHD_Connection *conn, const char *url, const char *method,
             const collected *c, ml_app_request *req)
{
    *req = (ml_app_request){
        .method = method,
        .path = url,
        .params = c->params,
        .nparams = c->n,
        .authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION),
        .cookie = header(conn, MHD_HTTP_HEADER_COOKIE),
        .host = header(conn, MHD_HTTP_HEADER_HOST),
        .content_type = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE),
        .origin = header(conn, "Origin"),
        .x_run = header(conn, "X-Microlog-Run"),
        .x_name = header(conn, "X-Microlog-Name"),
        .x_host = header(conn, "X-Microlog-Host"),
        .x_start = header(conn, "X-Microlog-Start"),
        .x_offset = header(conn, "X-Microlog-Offset"),
        .x_end = header(conn, "X-Microlog-End"),
    };
}

/* From the store's thread: the upload is stored (or failed); the
 * connection wakes up and on_request() sends the answer. */
static void
upload_done(void *ctx, ml_app_response *res)
{
    upload_state *u = ctx;
    __atomic_store_n(&u->answer, res, __ATOMIC_RELEASE);
    MHD_resume_connection(u->conn);
}

static enum MHD_Result
answer_upload(upload_state *u, struct MHD_Connection *conn, const char *url,
              const char *method)
{
    ml_app_response *done = __atomic_load_n(&u->answer, __ATOMIC_ACQUIRE);
    if (done != NULL) {
        enum MHD_Result ok = queue(conn, done);
        ml_app_response_free(done);
        free(done);
        u->answer = NULL;
        return ok;
    }
    if (u->handed_over) {
        return queue_error(conn, 503, "{\"error\": \"out of memory\"}");
    }
    collected c = {.n = 0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &c);
    ml_app_request req;
    fill_request(conn, url, method, &c, &req);
    ml_app_response res;
    u->handed_over = 1;
    if (ml_app_ingest(u->h->app, &req, u->body.data, u->body.len, u->too_big,
                      upload_done, u, &res)
        == 1) {
        ml_buf_free(&u->body);
        MHD_suspend_connection(conn);
        return MHD_YES;
    }
    enum MHD_Result ok = queue(conn, &res);
    ml_app_response_free(&res);
    return ok;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **state,
             enum MHD_RequestTerminationCode code)
{
    (void)conn;
    (void)code;
    ml_http *h = cls;
    if (*state != NULL && *state != h) {
        upload_state *u = *state;
        ml_buf_free(&u->body);
        free(u);
    }
    *state = NULL;
}

static enum MHD_Result
start_request(ml_http *h, struct MHD_Connection *conn, const char *url,
              const char *method, void **state)
{
    size_t max;
    if (!ml_app_takes_body(h->app, method, url, &max)) {
        *state = h; /* headers only; answer on the next call */
        return MHD_YES;
    }
    upload_state *u = calloc(1, sizeof *u);
    if (u == NULL) {
        return MHD_NO;
    }
    u->h = h;
    u->conn = conn;
    ml_buf_init(&u->body, max);
    *state = u;
    return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_size, void **state)
{
    (void)version;
    ml_http *h = cls;
    if (*state == NULL) {
        return start_request(h, conn, url, method, state);
    }
    if (*state != h) {
        upload_state *u = *state;
        if (*upload_size != 0) {
            if (!u->too_big
                && ml_buf_append(&u->body, upload, *upload_size) != ML_OK) {
                u->too_big = 1; /* read on, answer 413 at the end */
                ml_buf_free(&u->body);
            }
            *upload_size = 0;
            return MHD_YES;
        }
        return answer_upload(u, conn, url, method);
    }
    if (*upload_size != 0) {
        *upload_size = 0; /* no other endpoint takes a body: dropped */
        return MHD_YES;
    }
    unsigned n = atomic_fetch_add(&h->inflight, 1);
    enum MHD_Result ok;
    if (n >= h->max_inflight
        || atomic_load(&h->connections) > h->max_connections) {
        ok = queue_error(conn, 503, "{\"error\": \"busy, retry later\"}");
        atomic_fetch_sub(&h->inflight, 1);
        return ok;
    }
    collected c = {.n = 0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &c);
    if (c.too_many) {
        ok = queue_error(conn, 400,
                         "{\"error\": \"too many query parameters\"}");
    } else {
        ml_app_request req;
        fill_request(conn, url, method, &c, &req);
        ml_app_response res;
        ml_app_handle(h->app, &req, &res);
        ok = queue(conn, &res);
        ml_app_response_free(&res);
    }
    atomic_fetch_sub(&h->inflight, 1);
    return ok;
}

int
ml_http_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return 0;
}

int
ml_http_start(const ml_http_options *o, ml_app *app, ml_http **out, char *why,
              size_t why_len)
{
    *out = NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL
                     | MHD_ALLOW_SUSPEND_RESUME;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, o->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(o->port);
    } else if (inet_pton(AF_INET6, o->host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(o->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(why, why_len, "'%s' is not an IPv4 or IPv6 address", o->host);
        return ML_EINVAL;
    }
    ml_http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return ML_ENOMEM;
    }
    h->app = app;
    h->max_inflight = o->max_inflight ? o->max_inflight : 64;
    h->max_connections = o->max_connections ? o->max_connections : 512;
    atomic_init(&h->inflight, 0);
    atomic_init(&h->connections, 0);
    errno = 0;
    h->d = MHD_start_daemon(
        flags, o->port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(o->threads ? o->threads : 4), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)HARD_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)PER_IP_CONNECTIONS, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (h->d == NULL) {
        int e = errno;
        snprintf(why, why_len, "cannot listen on %s port %u: %s", o->host,
                 o->port, e ? strerror(e) : "address in use or refused");
        free(h);
        return ML_EIO;
    }
    *out = h;
    return ML_OK;
}

uint16_t
ml_http_port(const ml_http *h)
{
    const union MHD_DaemonInfo *i =
        MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void
ml_http_stop(ml_http *h)
{
    if (h == NULL) {
        return;
    }
    MHD_stop_daemon(h->d);
    free(h);
}
