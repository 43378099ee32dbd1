// SPDX-License-Identifier: MIT
// A run's explanation by a language model, paid for once: the prompt of
// ml_explain.h sent through ml_llm.h, and the answer cached beside the
// recording (RUN.mlog.explain.json, keyed by the prompt and the model, so
// a grown live run or another model asks again). Used by the CLI's
// `explain` and the server's Explanation endpoint. Two steps, so that the
// index's lock is not held while the endpoint thinks.
#ifndef ML_EXPLAINER_H
#define ML_EXPLAINER_H

#include <stddef.h>

#include "analysis/ml_index.h"
#include "net/ml_llm.h"

typedef struct {
    char *prompt; /* NUL-terminated Markdown */
    char key[32]; /* the prompt's hash */
    char *cached; /* the cached answer for this prompt and model, or NULL */
} ml_explain_job;

/* Builds the prompt of the run indexed by ix (read from path) and looks
 * up the cache for model (NULL: none). The caller holds the index's lock.
 * 0 or ML_ENOMEM; free the job with ml_explain_job_free() either way. */
int ml_explainer_prepare(ml_index *ix, const char *path, const char *model,
                         ml_explain_job *job);

/* The answer: the cached one, or the endpoint's (then cached). 0 with
 * *answer malloc'ed Markdown, or an error with one line in why. */
int ml_explainer_ask(const ml_llm_config *c, const char *path,
                     const ml_explain_job *job, char **answer, char *why,
                     size_t why_len);

void ml_explain_job_free(ml_explain_job *job);

#endif
