// SPDX-License-Identifier: MIT
// The parameters of a view from text (key = value pairs, as in a URL's
// query or on the command line), checked and bounded once for the server
// and the CLI: from, to, width, thread, level, q, offset, limit, at, depth,
// since (docs/API.md).
#ifndef ML_VIEW_PARAMS_H
#define ML_VIEW_PARAMS_H

#include "ml_regex.h"
#include "ml_views.h"

typedef struct {
    ml_view_query q;
    uint32_t threads[ML_VIEW_MAX_THREADS];
    ml_regex *re;
    char why[200]; /* after an error: which parameter and why */
} ml_view_params;

/* The value of key, or NULL when it is absent. */
typedef const char *(*ml_view_param_fn)(void *ctx, const char *key);

/* Fills p. 0; ML_EINVAL for a malformed or out-of-range value;
 * ML_ELIMIT for a regular expression (q) that is invalid or too long;
 * ML_ENOMEM. p must be released with ml_view_params_free() either way. */
int ml_view_params_parse(ml_view_params *p, ml_view_param_fn get, void *ctx);
void ml_view_params_free(ml_view_params *p);

#endif
