// SPDX-License-Identifier: MIT
// `microlog query` (see ml_cli_query.h): the server's views from the CLI,
// through the same parameter parser and the same view functions.
#include "ml_cli_query.h"

#include <errno.h>
#include <string.h>

#include "analysis/ml_index.h"
#include "analysis/ml_jsonw.h"
#include "analysis/ml_view_params.h"
#include "analysis/ml_views.h"
#include "core/ml_error.h"

typedef int (*view_fn)(ml_index *, const ml_view_query *, ml_jsonw *);

static const struct {
    const char *name;
    view_fn fn;
} views[] = {
    {"timeline", ml_view_timeline},
    {"status", ml_view_status},
    {"logs", ml_view_logs},
    {"functions", ml_view_functions},
    {"span", ml_view_span},
    {"callgraph", ml_view_callgraph},
    {"flamegraph", ml_view_flamegraph},
    {"search", ml_view_search},
    {"changes", ml_view_changes},
};

#define NVIEWS (sizeof views / sizeof views[0])

void
ml_cli_query_usage(FILE *out)
{
    fprintf(out,
            "usage: microlog query FILE VIEW [KEY=VALUE ...]\n\n"
            "Prints one view of the recording FILE as JSON, the same answer "
            "as\n`microlog serve`'s GET /api/runs/ID/VIEW?KEY=VALUE&... "
            "(docs/API.md).\n\nviews:");
    for (size_t i = 0; i < NVIEWS; i++) {
        fprintf(out, " %s", views[i].name);
    }
    fprintf(out,
            "\nparameters: from, to (us), width (px), thread (ids, "
            "comma-separated),\nlevel, q (a regular expression), offset, "
            "limit, at (us), depth, since (us)\n\n"
            "  microlog query run.mlog functions from=0 to=5000000\n"
            "  microlog query run.mlog span thread=1 at=250000 depth=3\n");
}

typedef struct {
    char **pairs;
    int n;
} arg_params;

static const char *
arg_param(void *ctx, const char *key)
{
    const arg_params *a = ctx;
    size_t k = strlen(key);
    for (int i = 0; i < a->n; i++) {
        if (strncmp(a->pairs[i], key, k) == 0 && a->pairs[i][k] == '=') {
            return a->pairs[i] + k + 1;
        }
    }
    return NULL;
}

int
ml_cli_query(int argc, char **argv)
{
    if (argc >= 2
        && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        ml_cli_query_usage(stdout);
        return 0;
    }
    if (argc < 3) {
        ml_cli_query_usage(stderr);
        return 2;
    }
    view_fn fn = NULL;
    for (size_t i = 0; i < NVIEWS; i++) {
        if (strcmp(views[i].name, argv[2]) == 0) {
            fn = views[i].fn;
        }
    }
    if (fn == NULL) {
        fprintf(stderr, "microlog query: unknown view '%s'\n", argv[2]);
        ml_cli_query_usage(stderr);
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strchr(argv[i], '=') == NULL) {
            fprintf(stderr, "microlog query: '%s' is not KEY=VALUE\n",
                    argv[i]);
            return 2;
        }
    }
    arg_params a = {argv + 3, argc - 3};
    ml_view_params p;
    if (ml_view_params_parse(&p, arg_param, &a) < 0) {
        fprintf(stderr, "microlog query: %s\n", p.why);
        ml_view_params_free(&p);
        return 2;
    }
    ml_index *ix;
    int err = ml_index_open(argv[1], &ix);
    if (err < 0) {
        fprintf(stderr, "microlog query: %s: %s\n", argv[1],
                err == ML_EIO ? strerror(errno) : ml_strerror(err));
        ml_view_params_free(&p);
        return 2;
    }
    ml_jsonw w;
    ml_jsonw_init(&w, 1u << 30);
    ml_index_lock(ix);
    err = fn(ix, &p.q, &w);
    ml_index_unlock(ix);
    int status = 0;
    if (err == ML_VIEW_NOT_FOUND) {
        fprintf(stderr, "microlog query: nothing there\n");
        status = 1;
    } else if (err < 0) {
        fprintf(stderr, "microlog query: %s: %s\n", argv[2],
                err == ML_EINVAL ? "a parameter does not fit this run"
                                 : ml_strerror(err));
        status = 2;
    } else if (fwrite(w.out.data, 1, w.out.len, stdout) != w.out.len
               || putchar('\n') == EOF || fflush(stdout) != 0) {
        status = 1;
    }
    ml_jsonw_free(&w);
    ml_index_free(ix);
    ml_view_params_free(&p);
    return status;
}
