// SPDX-License-Identifier: MIT
// Explanations with a cache beside the recording (see ml_explainer.h).
#include "ml_explainer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/ml_explain.h"
#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "core/ml_hash.h"

#define SYSTEM_PROMPT                                                         \
    "You explain Python programs to their developers from profiles "          \
    "recorded by microlog. Be concrete, cite the figures you are given, "     \
    "and answer in Markdown."

static char *
cache_path(const char *path)
{
    size_t n = strlen(path);
    char *p = malloc(n + 16);
    if (p != NULL) {
        memcpy(p, path, n);
        memcpy(p + n, ".explain.json", 14);
    }
    return p;
}

static char *
lookup(const char *path, const char *key, const char *model)
{
    char *file = cache_path(path);
    json_error_t e;
    json_t *j = file ? json_load_file(file, 0, &e) : NULL;
    free(file);
    const char *answer = json_string_value(json_object_get(j, "answer"));
    const char *k = json_string_value(json_object_get(j, "prompt"));
    const char *m = json_string_value(json_object_get(j, "model"));
    char *out = NULL;
    if (answer && k && m && strcmp(k, key) == 0 && strcmp(m, model) == 0) {
        out = strdup(answer);
    }
    json_decref(j);
    return out;
}

int
ml_explainer_prepare(ml_index *ix, const char *path, const char *model,
                     ml_explain_job *job)
{
    memset(job, 0, sizeof *job);
    ml_buf prompt;
    ml_buf_init(&prompt, 16u << 20);
    int err = ml_explain_prompt(ix, &prompt);
    if (err == 0) {
        snprintf(job->key, sizeof job->key, "%016llx",
                 (unsigned long long)ml_hash_bytes(prompt.data, prompt.len));
        err = ml_buf_append_u8(&prompt, 0);
    }
    if (err == 0) {
        job->prompt = (char *)prompt.data; /* the job owns it now */
        if (model != NULL) {
            job->cached = lookup(path, job->key, model);
        }
        return ML_OK;
    }
    ml_buf_free(&prompt);
    return err;
}

int
ml_explainer_ask(const ml_llm_config *c, const char *path,
                 const ml_explain_job *job, char **answer, char *why,
                 size_t why_len)
{
    why[0] = '\0';
    if (job->cached != NULL) {
        *answer = strdup(job->cached);
        return *answer ? ML_OK : ML_ENOMEM;
    }
    int err = ml_llm_chat(c, SYSTEM_PROMPT, job->prompt, answer, why, why_len);
    if (err == 0) {
        /* Best effort: a folder that cannot be written only costs a new
         * question next time. */
        json_t *j = json_pack("{s:s, s:s, s:s}", "model", c->model, "prompt",
                              job->key, "answer", *answer);
        char *file = cache_path(path);
        if (j && file) {
            json_dump_file(j, file, JSON_INDENT(1));
        }
        json_decref(j);
        free(file);
    }
    return err;
}

void
ml_explain_job_free(ml_explain_job *job)
{
    free(job->prompt);
    free(job->cached);
    memset(job, 0, sizeof *job);
}
