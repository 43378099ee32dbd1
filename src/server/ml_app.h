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
} ml_app_options;

int ml_app_new(const ml_app_options *o, ml_app **out);
void ml_app_free(ml_app *app);

/* Fills res for req; never fails (errors are 4xx/5xx answers). Release
 * res with ml_app_response_free(). */
void ml_app_handle(ml_app *app, const ml_app_request *req,
                   ml_app_response *res);
void ml_app_response_free(ml_app_response *res);

/* Constant-time comparison of two NUL-terminated strings. */
int ml_app_token_equal(const char *a, const char *b);

#endif
