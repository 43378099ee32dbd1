// SPDX-License-Identifier: MIT
// Request handling (see ml_app.h): authentication, the route table, one
// parameter parser with bounds, and one place that turns error codes into
// HTTP statuses. docs/API.md is the contract.
#define _GNU_SOURCE
#include "ml_app.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/ml_explain.h"
#include "analysis/ml_jsonw.h"
#include "analysis/ml_summary_json.h"
#include "analysis/ml_regex.h"
#include "analysis/ml_view_params.h"
#include "analysis/ml_views.h"
#include "core/ml_error.h"
#include "core/ml_uuid.h"
#include "ml_explainer.h"
#include "ml_runs.h"
#include "ml_ui.h"
#include "format/ml_piece.h"
#include "store/ml_store.h"

#define MAX_ANSWER (64u << 20)
#define MAX_SOURCE (4u << 20)
#define MAX_PATH_LEN 1024
#define COOKIE_NAME "microlog_token"
/* An upload: at most this much of a recording per request. */
#define MAX_UPLOAD (16u << 20)

struct ml_app {
    ml_runs *runs;
    ml_store *store;
    ml_ui *ui;
    char *token;
    int check_host;
};

int
ml_app_new(const ml_app_options *o, ml_app **out)
{
    *out = NULL;
    ml_app *app = calloc(1, sizeof *app);
    if (app == NULL) {
        return ML_ENOMEM;
    }
    int err = ml_runs_new(o->dir, o->index_budget, &app->runs);
    if (err == 0) {
        err = ml_ui_load(o->ui_dir, &app->ui);
    }
    if (err == 0 && o->token && o->token[0]
        && (app->token = strdup(o->token)) == NULL) {
        err = ML_ENOMEM;
    }
    if (err < 0) {
        ml_app_free(app);
        return err;
    }
    app->check_host = o->check_host;
    app->store = o->store;
    ml_runs_set_store(app->runs, o->store);
    *out = app;
    return ML_OK;
}

void
ml_app_free(ml_app *app)
{
    if (app == NULL) {
        return;
    }
    ml_runs_free(app->runs);
    ml_ui_free(app->ui);
    free(app->token);
    free(app);
}

void
ml_app_response_free(ml_app_response *res)
{
    free(res->body);
    res->body = NULL;
}

int
ml_app_token_equal(const char *a, const char *b)
{
    /* Time depends on the longer length only, never on where they
     * differ. */
    size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = i < la ? (unsigned char)a[i] : 0;
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
        diff |= (unsigned char)(ca ^ cb);
    }
    return diff == 0 && lb > 0;
}

/* ---- responses ---------------------------------------------------------- */

static void
set_body(ml_app_response *res, unsigned status, const char *type, char *body,
         size_t len)
{
    free(res->body);
    res->status = status;
    res->content_type = type;
    res->body = body;
    res->len = len;
}

static void
fail(ml_app_response *res, unsigned status, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ml_jsonw w;
    ml_jsonw_init(&w, 4096);
    ml_jsonw_obj(&w);
    ml_jsonw_kstr(&w, "error", msg);
    ml_jsonw_obj_end(&w);
    if (ml_jsonw_error(&w) == 0) {
        set_body(res, status, "application/json; charset=utf-8",
                 (char *)w.out.data, w.out.len);
    } else {
        ml_jsonw_free(&w);
        set_body(res, status, "application/json; charset=utf-8", NULL, 0);
    }
}

/* The HTTP status for an error code of the views and the catalog. */
static void
fail_code(ml_app_response *res, int err, const char *what)
{
    switch (err) {
    case ML_VIEW_NOT_FOUND:
        fail(res, 404, "%s: nothing there", what);
        break;
    case ML_EINVAL:
        fail(res, 400, "%s: a parameter does not fit this run", what);
        break;
    case ML_ELIMIT:
        fail(res, 422,
             "%s: the regular expression is too expensive, or "
             "the answer too large",
             what);
        break;
    case ML_ENOMEM:
        fail(res, 503, "%s: out of memory, try a smaller window", what);
        break;
    default:
        fail(res, 500, "%s: %s", what, ml_strerror(err));
        break;
    }
}

static void
answer_json(ml_app_response *res, ml_jsonw *w)
{
    set_body(res, 200, "application/json; charset=utf-8", (char *)w->out.data,
             w->out.len);
    w->out.data = NULL; /* the response owns it now */
}

/* ---- parameters --------------------------------------------------------- */

static const char *
param(const ml_app_request *req, const char *key)
{
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].key, key) == 0) {
            return req->params[i].value ? req->params[i].value : "";
        }
    }
    return NULL;
}

/* The view parameters of a request (ml_view_params.h): 0, or the HTTP
 * status for a parameter that is malformed (400) or a regular expression
 * that is invalid or too long (422), with the reason in p->why. */
static const char *
request_param(void *ctx, const char *key)
{
    return param(ctx, key);
}

static unsigned
parse_params(const ml_app_request *req, ml_view_params *p)
{
    int err = ml_view_params_parse(p, request_param, (void *)req);
    if (err == ML_ELIMIT) {
        return 422;
    }
    if (err == ML_ENOMEM) {
        return 503;
    }
    return err < 0 ? 400 : 0;
}

/* ---- handlers ----------------------------------------------------------- */

typedef int (*view_fn)(ml_index *, const ml_view_query *, ml_jsonw *);

typedef struct {
    const char *name;
    view_fn view;         /* an analysis view over the run's index, or */
    int special;          /* 2 source, 3 explain */
    const char *required; /* a parameter that must be there, or NULL */
} route;

/* The object of `microlog show --json`, from the summary the index keeps. */
static int
summary_view(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    (void)q;
    ml_summary *s;
    int err = ml_index_summary(ix, &s);
    if (err < 0) {
        return err;
    }
    json_t *j = ml_summary_to_json(s, -1);
    ml_summary_free(s);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER
                                       | JSON_REAL_PRECISION(12))
                   : NULL;
    json_decref(j);
    err = text ? ml_buf_append(&w->out, text, strlen(text)) : ML_ENOMEM;
    free(text);
    return err;
}

static int
tips_view(ml_index *ix, const ml_view_query *q, ml_jsonw *w)
{
    (void)q;
    return ml_explain_tips(ix, w);
}

static const route run_routes[] = {
    {"summary", summary_view, 0, NULL},
    {"changes", ml_view_changes, 0, NULL},
    {"timeline", ml_view_timeline, 0, NULL},
    {"status", ml_view_status, 0, NULL},
    {"logs", ml_view_logs, 0, NULL},
    {"functions", ml_view_functions, 0, NULL},
    {"span", ml_view_span, 0, "at"},
    {"callgraph", ml_view_callgraph, 0, NULL},
    {"flamegraph", ml_view_flamegraph, 0, NULL},
    {"search", ml_view_search, 0, "q"},
    {"source", NULL, 2, "file"},
    {"tips", tips_view, 0, NULL},
    {"explain", NULL, 3, NULL},
};

static int
is_python_source(const char *f)
{
    static const char *const exts[] = {".py", ".pyw", ".pyi", ".pyx"};
    const char *dot = strrchr(f, '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof exts[0]; i++) {
        if (strcmp(dot, exts[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The text of a source file the recording names (docs/API.md). */
static void
answer_source(ml_index *ix, const char *file, ml_app_response *res)
{
    if (file[0] != '/' || !is_python_source(file)
        || !ml_view_names_file(ix, file, strlen(file))) {
        fail(res, 404, "source: not a Python file named by this run");
        return;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        fail(res, 404, "source: not a regular file (any more)");
        return;
    }
    if ((uint64_t)st.st_size > MAX_SOURCE) {
        close(fd);
        fail(res, 413, "source: larger than %u bytes", MAX_SOURCE);
        return;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    if (got < 0) {
        free(buf);
        fail(res, 500, "source: cannot read it");
        return;
    }
    set_body(res, 200, "text/plain; charset=utf-8", buf, (size_t)got);
}

/* GET: the prompt, whether a model is set, and a cached answer. POST: the
 * answer (the endpoint is asked without the index's lock held). The key
 * stays here: it is never part of an answer. */
static void
answer_explain(ml_app *app, const char *id, ml_index *ix,
               const ml_app_request *req, ml_app_response *res)
{
    char *path;
    if (ml_runs_path(app->runs, id, &path) != 0) {
        ml_index_unlock(ix);
        fail(res, 404, "no run %s", id);
        return;
    }
    ml_llm_config c;
    int configured = ml_llm_config_from_env(&c);
    ml_explain_job job;
    int err =
        ml_explainer_prepare(ix, path, configured ? c.model : NULL, &job);
    ml_index_unlock(ix); /* the rest reads no index */
    ml_jsonw w;
    ml_jsonw_init(&w, MAX_ANSWER);
    if (err < 0) {
        fail(res, 503, "explain: out of memory");
    } else if (strcmp(req->method, "POST") == 0 && !configured) {
        fail(res, 409,
             "explain: no model is set: start the server with "
             "MICROLOG_LLM_URL and MICROLOG_LLM_MODEL (and "
             "MICROLOG_LLM_KEY)");
    } else if (strcmp(req->method, "POST") == 0) {
        char *answer, why[300];
        if (ml_explainer_ask(&c, path, &job, &answer, why, sizeof why) < 0) {
            fail(res, 502, "explain: %s", why);
        } else {
            ml_jsonw_obj(&w);
            ml_jsonw_kstr(&w, "answer", answer);
            ml_jsonw_kbool(&w, "cached", job.cached != NULL);
            ml_jsonw_kstr(&w, "model", c.model);
            ml_jsonw_obj_end(&w);
            free(answer);
            answer_json(res, &w);
        }
    } else {
        ml_jsonw_obj(&w);
        ml_jsonw_kbool(&w, "configured", configured);
        ml_jsonw_kstr(&w, "model", configured ? c.model : NULL);
        ml_jsonw_kstr(&w, "prompt", job.prompt);
        ml_jsonw_kstr(&w, "answer", job.cached);
        ml_jsonw_obj_end(&w);
        answer_json(res, &w);
    }
    ml_jsonw_free(&w);
    ml_explain_job_free(&job);
    free(path);
    ml_index_lock(ix); /* given back locked, as it was taken */
}

static void
answer_view(ml_app *app, const char *id, const route *rt, ml_view_params *p,
            const ml_app_request *req, ml_app_response *res)
{
    ml_index *ix;
    char why[200] = "";
    int rc = ml_runs_acquire(app->runs, id, &ix, why, sizeof why);
    if (rc == 1) {
        fail(res, 404, "no run %s", id);
        return;
    }
    if (rc < 0) {
        fail(res, rc == ML_ENOMEM ? 503 : 422, "run %s cannot be read: %s", id,
             why);
        return;
    }
    ml_index_info info;
    ml_index_get_info(ix, &info);
    res->has_run = 1;
    res->end_us = info.end_us;
    res->live = ml_runs_is_live(app->runs, id, ix);
    if (rt->special == 2) {
        answer_source(ix, param(req, "file"), res);
    } else if (rt->special == 3) {
        answer_explain(app, id, ix, req, res);
    } else {
        ml_jsonw w;
        ml_jsonw_init(&w, MAX_ANSWER);
        int err = rt->view(ix, &p->q, &w);
        if (err == 0) {
            answer_json(res, &w);
        } else {
            fail_code(res, err, rt->name);
        }
        ml_jsonw_free(&w);
    }
    ml_runs_release(app->runs, ix);
}

/* /api/runs/LABEL/STAMP/VIEW */
static void
route_run(ml_app *app, const char *rest, const ml_app_request *req,
          ml_app_response *res)
{
    const char *s1 = strchr(rest, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    if (s2 == NULL || strchr(s2 + 1, '/') != NULL) {
        fail(res, 404, "no such endpoint");
        return;
    }
    char id[300];
    size_t idlen = (size_t)(s2 - rest);
    if (idlen >= sizeof id) {
        fail(res, 404, "no such run");
        return;
    }
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    const char *view = s2 + 1;
    if (!ml_run_id_valid(id)) {
        fail(res, 404,
             "no such run: ids are LABEL/STAMP of letters, "
             "digits, '.', '_' and '-'");
        return;
    }
    const route *rt = NULL;
    for (size_t i = 0; i < sizeof run_routes / sizeof run_routes[0]; i++) {
        if (strcmp(run_routes[i].name, view) == 0) {
            rt = &run_routes[i];
        }
    }
    if (rt == NULL) {
        fail(res, 404, "no endpoint %s (see docs/API.md)", view);
        return;
    }
    if (rt->required
        && (param(req, rt->required) == NULL
            || param(req, rt->required)[0] == '\0')) {
        fail(res, 400, "%s needs the parameter %s", rt->name, rt->required);
        return;
    }
    ml_view_params p;
    unsigned status = parse_params(req, &p);
    if (status != 0) {
        fail(res, status, "%s", p.why);
    } else if (strcmp(rt->name, "span") == 0 && p.q.threads == NULL) {
        fail(res, 400, "span needs the parameter thread (one id)");
    } else {
        answer_view(app, id, rt, &p, req, res);
    }
    ml_view_params_free(&p);
}

/* A whole decimal number in [0, max], or -1. */
static int64_t
param_number(const ml_app_request *req, const char *key, int64_t max)
{
    const char *v = param(req, key);
    if (v == NULL) {
        return 0;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return errno || *end || end == v || n < 0 || n > max ? -1 : n;
}

/* The run search of a store's list (docs/API.md): label, host, text,
 * since and until (Unix microseconds), limit and offset. NULL, or why a
 * value is refused. */
static const char *
store_filter(const ml_app_request *req, ml_catalog_filter *f)
{
    memset(f, 0, sizeof *f);
    f->label = param(req, "label");
    f->host = param(req, "host");
    f->text = param(req, "text");
    int64_t since = param_number(req, "since", INT64_C(1) << 62);
    int64_t until = param_number(req, "until", INT64_C(1) << 62);
    int64_t limit = param_number(req, "limit", 10000);
    int64_t offset = param_number(req, "offset", 100000000);
    if (since < 0 || until < 0) {
        return "since and until are Unix times in microseconds";
    }
    if (limit < 0 || offset < 0) {
        return "limit is at most 10000 and offset a count of runs";
    }
    const char *texts[] = {f->label, f->host, f->text};
    for (size_t i = 0; i < 3; i++) {
        if (texts[i] != NULL && strlen(texts[i]) > 256) {
            return "label, host and text are at most 256 bytes";
        }
    }
    f->since_unix_us = since;
    f->until_unix_us = until;
    f->limit = (size_t)(limit ? limit : 1000);
    f->offset = (size_t)offset;
    return NULL;
}

static void
route_list(ml_app *app, const ml_app_request *req, ml_app_response *res)
{
    ml_view_params p;
    unsigned status = parse_params(req, &p);
    if (status != 0) {
        fail(res, status, "%s", p.why);
        return;
    }
    ml_jsonw w;
    ml_jsonw_init(&w, MAX_ANSWER);
    int err;
    if (ml_runs_has_store(app->runs)) {
        ml_catalog_filter f;
        const char *bad = store_filter(req, &f);
        if (bad != NULL) {
            fail(res, 400, "%s", bad);
            ml_jsonw_free(&w);
            ml_view_params_free(&p);
            return;
        }
        err = ml_runs_list_store(app->runs, &f, p.re, &w);
    } else {
        err = ml_runs_list(app->runs, p.re, &w);
    }
    if (err == 0) {
        answer_json(res, &w);
    } else {
        fail_code(res, err, "runs");
    }
    ml_jsonw_free(&w);
    ml_view_params_free(&p);
}

/* What this server's ingest path did (docs/API.md). */
static void
route_store(ml_app *app, ml_app_response *res)
{
    if (app->store == NULL) {
        fail(res, 404, "this server keeps no store (--store and --db)");
        return;
    }
    ml_segwriter_stats st;
    ml_store_get_stats(app->store, &st);
    ml_jsonw w;
    ml_jsonw_init(&w, 4096);
    ml_jsonw_obj(&w);
    ml_jsonw_ku64(&w, "segments", st.segments);
    ml_jsonw_ku64(&w, "pieces", st.pieces);
    ml_jsonw_ku64(&w, "chunks", st.chunks);
    ml_jsonw_ku64(&w, "bytes", st.bytes);
    ml_jsonw_ku64(&w, "requests", st.requests);
    ml_jsonw_ku64(&w, "failed", st.failed);
    ml_jsonw_ku64(&w, "retries", st.retries);
    ml_jsonw_obj_end(&w);
    if (ml_jsonw_error(&w) == 0) {
        answer_json(res, &w);
    } else {
        fail(res, 503, "out of memory");
    }
    ml_jsonw_free(&w);
}

/* Without a UI bundle: a page that lists the runs, built here (no script,
 * so the Content-Security-Policy holds). */
static void
builtin_page(ml_app *app, ml_app_response *res)
{
    ml_jsonw w;
    ml_jsonw_init(&w, MAX_ANSWER);
    ml_runs_list(app->runs, NULL, &w);
    ml_jsonw_free(&w); /* warms the summaries; the page lists files */
    const char *head =
        "<!doctype html><html><head><meta charset=\"utf-8\">"
        "<title>microlog</title></head><body><h1>microlog</h1>"
        "<p>The browser UI is not built (run <code>make</code>). "
        "The JSON API answers: <a href=\"/api/runs\">/api/runs</a>, "
        "see docs/API.md.</p></body></html>";
    char *body = strdup(head);
    set_body(res, 200, "text/html; charset=utf-8", body,
             body ? strlen(body) : 0);
    res->is_html = 1;
}

/* ---- authentication ----------------------------------------------------- */

static int
host_is_loopback(const char *host)
{
    if (host == NULL) {
        return 0;
    }
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(host, names[i], n) == 0
            && (host[n] == '\0' || host[n] == ':')) {
            return 1;
        }
    }
    return 0;
}

/* The value of the token cookie, copied into out; 0 when absent. */
static int
cookie_token(const char *cookie, char *out, size_t cap)
{
    const char *p = cookie;
    size_t n = strlen(COOKIE_NAME);
    while (p && *p) {
        while (*p == ' ' || *p == ';') {
            p++;
        }
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, COOKIE_NAME, n) == 0 && p[n] == '=') {
            size_t v = len - n - 1;
            if (v >= cap) {
                return 0;
            }
            memcpy(out, p + n + 1, v);
            out[v] = '\0';
            return 1;
        }
        p = end;
    }
    return 0;
}

/* 0 when the request may go on, else the status it was given. */
static unsigned
authenticate(ml_app *app, const ml_app_request *req, ml_app_response *res)
{
    if (app->check_host && !host_is_loopback(req->host)) {
        fail(res, 403,
             "this server answers only to 127.0.0.1, localhost "
             "and [::1] (start it with --token to serve others)");
        return 403;
    }
    if (app->token == NULL) {
        return 0;
    }
    const char *t = param(req, "token");
    if (t != NULL && strcmp(req->method, "GET") == 0) {
        if (!ml_app_token_equal(t, app->token)) {
            fail(res, 403, "wrong token");
            return 403;
        }
        /* Opening the printed URL once: the cookie, and the token out of
         * the address bar. */
        snprintf(res->set_cookie, sizeof res->set_cookie,
                 COOKIE_NAME "=%s; HttpOnly; SameSite=Strict; Path=/",
                 strlen(app->token) < 100 ? app->token : "");
        snprintf(res->location, sizeof res->location, "/");
        set_body(res, 303, "text/plain; charset=utf-8", NULL, 0);
        return 303;
    }
    char given[256];
    const char *a = req->authorization;
    int have = 0;
    if (a != NULL && strncmp(a, "Bearer ", 7) == 0 && strlen(a + 7) < 256) {
        snprintf(given, sizeof given, "%s", a + 7);
        have = 1;
    } else if (req->cookie != NULL) {
        have = cookie_token(req->cookie, given, sizeof given);
    }
    if (!have) {
        fail(res, 401,
             "this server needs its token: open the URL it "
             "printed, or send Authorization: Bearer TOKEN");
        return 401;
    }
    if (!ml_app_token_equal(given, app->token)) {
        fail(res, 403, "wrong token");
        return 403;
    }
    return 0;
}

/* A POST spends the user's model key, so it must come from this server's
 * own page: a JSON content type (other sites' forms cannot send one
 * without a preflight this server never grants) and, when the browser
 * says where it comes from, this very host. */
static int
is_explain(const char *path)
{
    size_t n = strlen(path);
    return strncmp(path, "/api/runs/", 10) == 0 && n >= 18
           && strcmp(path + n - 8, "/explain") == 0;
}

static int
post_from_own_page(const ml_app_request *req)
{
    if (req->content_type == NULL
        || strncmp(req->content_type, "application/json", 16) != 0) {
        return 0;
    }
    if (req->origin != NULL) {
        const char *o = req->origin;
        if (strncmp(o, "http://", 7) == 0) {
            o += 7;
        } else if (strncmp(o, "https://", 8) == 0) {
            o += 8;
        } else {
            return 0;
        }
        return req->host != NULL && strcmp(o, req->host) == 0;
    }
    return 1;
}

/* ---- entry -------------------------------------------------------------- */

void
ml_app_handle(ml_app *app, const ml_app_request *req, ml_app_response *res)
{
    memset(res, 0, sizeof *res);
    const char *path = req->path ? req->path : "";
    int post = strcmp(req->method, "POST") == 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0
        && !post) {
        fail(res, 405, "only GET, HEAD and POST (explain) are served");
        return;
    }
    if (post && !is_explain(path)) {
        fail(res, 405,
             "POST is taken only by /api/runs/ID/explain and /api/ingest");
        return;
    }
    if (post && !post_from_own_page(req)) {
        fail(res, 403,
             "explain takes a POST only with Content-Type: "
             "application/json from this server's own pages");
        return;
    }
    if (strlen(path) > MAX_PATH_LEN) {
        fail(res, 414, "path too long");
        return;
    }
    if (authenticate(app, req, res) != 0) {
        return;
    }
    if (strcmp(path, "/api/runs") == 0 || strcmp(path, "/api/runs/") == 0) {
        route_list(app, req, res);
        return;
    }
    if (strncmp(path, "/api/runs/", 10) == 0) {
        route_run(app, path + 10, req, res);
        return;
    }
    if (strcmp(path, "/api/store") == 0) {
        route_store(app, res);
        return;
    }
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0) {
        fail(res, 404, "no such endpoint (see docs/API.md)");
        return;
    }
    const char *data, *type;
    size_t len;
    if (ml_ui_find(app->ui, path, &data, &len, &type)) {
        char *copy = malloc(len ? len : 1);
        if (copy == NULL) {
            fail(res, 503, "out of memory");
            return;
        }
        memcpy(copy, data, len);
        set_body(res, 200, type, copy, len);
        res->is_html = strncmp(type, "text/html", 9) == 0;
        res->cacheable = !res->is_html;
        return;
    }
    if (strcmp(path, "/") == 0) {
        builtin_page(app, res);
        return;
    }
    fail(res, 404, "not found");
}

/* ---- uploads (POST /api/ingest) ----------------------------------------- */

int
ml_app_takes_body(const ml_app *app, const char *method, const char *path,
                  size_t *max)
{
    (void)app;
    *max = MAX_UPLOAD;
    return strcmp(method, "POST") == 0 && path != NULL
           && strcmp(path, "/api/ingest") == 0;
}

/* A decimal header value in [0, 2^62): 0, or -1 when absent or bad. */
static int
header_u64(const char *v, uint64_t *out)
{
    if (v == NULL || v[0] < '0' || v[0] > '9' || strlen(v) > 19) {
        return -1;
    }
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n >= (1ull << 62)) {
        return -1;
    }
    *out = n;
    return 0;
}

static int
safe_host(const char *h)
{
    size_t n = strlen(h);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            return 0;
        }
    }
    return n < 256;
}

/* The upload's headers as an ml_upload (label is written into label):
 * NULL when they are valid, else why not. */
static const char *
parse_upload(const ml_app_request *req, ml_upload *u, char *label, size_t n)
{
    uint8_t id[16];
    uint64_t off = 0, end = 0, start = 0;
    if (ml_uuid_parse(req->x_run, id) != ML_OK) {
        return "X-Microlog-Run must be the run's UUID";
    }
    if (req->x_name == NULL || !ml_run_id_valid(req->x_name)) {
        return "X-Microlog-Name must be LABEL/STEM of safe names";
    }
    if (header_u64(req->x_offset, &off) != 0) {
        return "X-Microlog-Offset must be the body's byte offset in the file";
    }
    if (req->x_end != NULL && header_u64(req->x_end, &end) != 0) {
        return "X-Microlog-End must be the file's final size";
    }
    if (req->x_start != NULL && header_u64(req->x_start, &start) != 0) {
        return "X-Microlog-Start must be the run's start in Unix us";
    }
    const char *host = req->x_host ? req->x_host : "";
    if (!safe_host(host)) {
        return "X-Microlog-Host is too long or has control characters";
    }
    const char *slash = strchr(req->x_name, '/');
    snprintf(label, n, "%.*s", (int)(slash - req->x_name), req->x_name);
    *u = (ml_upload){.run_id = req->x_run,
                     .name = req->x_name,
                     .label = label,
                     .host = host,
                     .start_unix_us = (int64_t)start,
                     .end_size = req->x_end ? (int64_t)end : -1,
                     .off = off};
    return NULL;
}

typedef struct {
    ml_app_done_fn done;
    void *ctx;
    char run_id[ML_UUID_TEXT];
} pending_upload;

static void
upload_stored(void *arg, int rc, uint64_t durable, const char *why)
{
    pending_upload *p = arg;
    ml_app_response *res = calloc(1, sizeof *res);
    if (res != NULL) {
        if (rc == ML_OK) {
            char *body = NULL;
            int len = asprintf(&body, "{\"run\": \"%s\", \"durable\": %llu}",
                               p->run_id, (unsigned long long)durable);
            set_body(res, 200, "application/json; charset=utf-8",
                     len < 0 ? NULL : body, len < 0 ? 0 : (size_t)len);
        } else {
            fail(res, 503, "not stored, send again: %s", why ? why : "");
        }
    }
    p->done(p->ctx, res);
    free(p);
}

int
ml_app_ingest(ml_app *app, const ml_app_request *req, const uint8_t *body,
              size_t len, int too_big, ml_app_done_fn done, void *ctx,
              ml_app_response *res)
{
    memset(res, 0, sizeof *res);
    if (authenticate(app, req, res) != 0) {
        return 0;
    }
    if (app->store == NULL) {
        fail(res, 404,
             "this server keeps no store: start it with --store and --db "
             "to take uploads");
        return 0;
    }
    if (too_big) {
        fail(res, 413, "an upload holds at most %u bytes", MAX_UPLOAD);
        return 0;
    }
    ml_upload u;
    char label[128];
    const char *bad = parse_upload(req, &u, label, sizeof label);
    if (bad != NULL) {
        fail(res, 400, "%s", bad);
        return 0;
    }
    uint32_t chunks;
    size_t at;
    if (ml_piece_check(body, len, u.off, &chunks, &at, &bad) != ML_OK) {
        fail(res, 400, "the body is not whole chunks at byte %zu: %s", at,
             bad);
        return 0;
    }
    u.data = body;
    u.len = len;
    u.chunks = chunks;
    pending_upload *p = calloc(1, sizeof *p);
    if (p == NULL) {
        fail(res, 503, "out of memory");
        return 0;
    }
    *p = (pending_upload){.done = done, .ctx = ctx};
    snprintf(p->run_id, sizeof p->run_id, "%s", req->x_run);
    int rc = ml_store_submit(app->store, &u, upload_stored, p);
    if (rc != ML_OK) {
        free(p);
        fail(res, 503, "busy, send again later");
        return 0;
    }
    return 1;
}
