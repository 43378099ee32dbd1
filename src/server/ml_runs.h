// SPDX-License-Identifier: MIT
// The runs under the server's folder: ids checked against the folder (no
// way out of it, symlinks included), a cache of per-file summaries for the
// run list, and a cache of open indexes for the views, with a memory
// budget (least recently used indexes are closed first). Thread-safe.
#ifndef ML_RUNS_H
#define ML_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/ml_index.h"
#include "analysis/ml_jsonw.h"
#include "analysis/ml_regex.h"
#include "store/ml_catalog.h"

struct ml_store;

typedef struct ml_runs ml_runs;

/* dir must exist; it is resolved once (realpath). */
int ml_runs_new(const char *dir, size_t index_budget, ml_runs **out);
void ml_runs_free(ml_runs *runs);
const char *ml_runs_dir(const ml_runs *runs);

/* Runs come from the central store (dir is then the folder of its local
 * copies): ids are looked up in its index and copied before use. */
void ml_runs_set_store(ml_runs *runs, struct ml_store *store);
int ml_runs_has_store(const ml_runs *runs);

/* The store's runs as JSON (the same tree as ml_runs_list, with "total":
 * how many match the filter before limit and offset); re, when not NULL,
 * filters the page of runs f gave. */
int ml_runs_list_store(ml_runs *runs, const ml_catalog_filter *f, ml_regex *re,
                       ml_jsonw *w);

/* 1 when id has the form LABEL/STAMP of safe names (docs/API.md). */
int ml_run_id_valid(const char *id);

/* The full path of a run's file in *out (malloc'ed): 0, or
 * ML_VIEW_NOT_FOUND-like 1 when there is no such regular file inside the
 * folder (a symlink out of it counts as none). */
int ml_runs_path(ml_runs *runs, const char *id, char **out);

/* The run tree as JSON (docs/API.md, GET /api/runs); re a filter on ids
 * or NULL. */
int ml_runs_list(ml_runs *runs, ml_regex *re, ml_jsonw *w);

/* The open index of a run, updated to the file's current end and locked
 * (ml_index_lock); give it back with ml_runs_release(). 0, 1 (no such
 * run), or an error (a damaged file: message in why). */
int ml_runs_acquire(ml_runs *runs, const char *id, ml_index **out, char *why,
                    size_t why_len);
void ml_runs_release(ml_runs *runs, ml_index *ix);

/* Whether a run's file is still being written: no END yet and changed in
 * the last 5 seconds. */
int ml_runs_is_live(ml_runs *runs, const char *id, const ml_index *ix);

#endif
