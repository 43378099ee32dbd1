// SPDX-License-Identifier: MIT
// The server's request handling, apart from HTTP transport: one table of
// routes, each handler parsing its parameters into bounded values, calling
// the analysis views and producing a response. ml_http.c feeds it requests
// from libmicrohttpd; the fuzz target feeds it hostile ones directly.
#ifndef ML_APP_H
#define ML_APP_H

#include <stddef.h>
#include <stdint.h>

#define ML_APP_MAX_PARAMS 32

typedef struct ml_app ml_app;

typedef struct {
    const char *key, *value;
} ml_app_param;

typedef struct {
    const char *method; /* "GET", "HEAD", ... */
    const char *path;   /* decoded, without the query */
    const ml_app_param *params;
    size_t nparams;
    const char *authorization; /* header values, or NULL */
    const char *cookie;
    const char *host;
    const char *content_type; /* for POST */
    const char *origin;
    /* An upload's headers (POST /api/ingest, docs/API.md), or NULL. */
    const char *x_run, *x_name, *x_host, *x_start, *x_offset, *x_end;
} ml_app_request;

typedef struct {
    unsigned status;
    const char *content_type;
    char *body; /* malloc'ed, or NULL for an empty body */
    size_t len;
    int is_html; /* add the page's Content-Security-Policy */
    int cacheable;
    char set_cookie[160];
    char location[64];
    int has_run; /* end_us and live are set */
    uint64_t end_us;
    int live;
} ml_app_response;

typedef struct {
    const char *dir;
    const char *token;  /* NULL or "": no token needed */
    const char *ui_dir; /* NULL: the built-in page only */
    int check_host;     /* loopback without token: Host must be loopback */
    size_t index_budget;
    struct ml_store *store; /* the central store, or NULL: dir only */
} ml_app_options;

int ml_app_new(const ml_app_options *o, ml_app **out);
void ml_app_free(ml_app *app);

/* Fills res for req; never fails (errors are 4xx/5xx answers). Release
 * res with ml_app_response_free(). */
void ml_app_handle(ml_app *app, const ml_app_request *req,
                   ml_app_response *res);
void ml_app_response_free(ml_app_response *res);

/* Uploads. ml_app_takes_body() says whether a request carries a body
 * worth keeping (POST /api/ingest), and how large it may be.
 * ml_app_ingest() either answers at once in res (an error; result 0) or
 * hands the upload to the store and returns 1: then done(ctx, res) is
 * called once, later, from another thread, with the answer (the callee
 * frees it with ml_app_response_free()). body may be freed on return. */
int ml_app_takes_body(const ml_app *app, const char *method, const char *path,
                      size_t *max);
typedef void (*ml_app_done_fn)(void *ctx, ml_app_response *res);
int ml_app_ingest(ml_app *app, const ml_app_request *req, const uint8_t *body,
                  size_t len, int too_big, ml_app_done_fn done, void *ctx,
                  ml_app_response *res);

/* Constant-time comparison of two NUL-terminated strings. */
int ml_app_token_equal(const char *a, const char *b);

#endif
