// SPDX-License-Identifier: MIT
// The views of a recording, each written as JSON text: the answers of
// `microlog serve`'s API (docs/API.md has their shapes and examples). The
// caller holds the index's lock and has called ml_index_update(). Each
// returns 0, ML_VIEW_NOT_FOUND (positive: nothing there, e.g. no span at
// that point), or a negative error: ML_EINVAL for a parameter that does
// not fit the recording (an unknown thread), ML_ELIMIT when a regular
// expression took too long or the answer would pass its size bound,
// ML_ENOMEM. On error the writer's content is unspecified.
#ifndef ML_VIEWS_H
#define ML_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "ml_index.h"
#include "ml_jsonw.h"
#include "ml_regex.h"

#define ML_VIEW_NOT_FOUND 1
#define ML_VIEW_MAX_WIDTH 16384
#define ML_VIEW_MAX_THREADS                                                   \
    4096 /* in one thread= list (a server with                                \
           thousands of request threads) */

typedef struct {
    uint64_t from, to;       /* to == UINT64_MAX: the run's current end */
    uint32_t width;          /* pixels, 1 .. ML_VIEW_MAX_WIDTH */
    const uint32_t *threads; /* NULL: every thread */
    size_t nthreads;
    /* logs */
    uint32_t min_level;
    ml_regex *re; /* logs: text filter; search: the pattern */
    uint64_t offset, limit;
    /* span */
    uint64_t at;
    uint32_t depth;
    /* changes */
    uint64_t since;
} ml_view_query;

/* A query with the defaults: whole run, 1600 px, every thread. */
void ml_view_query_init(ml_view_query *q);

int ml_view_timeline(ml_index *ix, const ml_view_query *q, ml_jsonw *w);
int ml_view_status(ml_index *ix, const ml_view_query *q, ml_jsonw *w);
int ml_view_logs(ml_index *ix, const ml_view_query *q, ml_jsonw *w);
int ml_view_functions(ml_index *ix, const ml_view_query *q, ml_jsonw *w);
int ml_view_span(ml_index *ix, const ml_view_query *q, ml_jsonw *w);
int ml_view_callgraph(ml_index *ix, const ml_view_query *q, ml_jsonw *w);
int ml_view_flamegraph(ml_index *ix, const ml_view_query *q, ml_jsonw *w);
int ml_view_search(ml_index *ix, const ml_view_query *q, ml_jsonw *w);
int ml_view_changes(ml_index *ix, const ml_view_query *q, ml_jsonw *w);

/* 1 when file (len bytes) is the file of a frame of the recording. */
int ml_view_names_file(ml_index *ix, const char *file, size_t len);

#endif
