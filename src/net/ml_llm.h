// SPDX-License-Identifier: MIT
// A client of any OpenAI-compatible chat-completions endpoint (libcurl),
// for `microlog explain` and the server's Explanation tab. The key is read
// here, from the environment or the caller, and sent only to the endpoint
// (never to a browser). Errors come back as one line for people: a refused
// key (401/403), a rate limit (429), a timeout, or the endpoint's message.
#ifndef ML_LLM_H
#define ML_LLM_H

#include <stddef.h>

typedef struct {
    const char *url;   /* MICROLOG_LLM_URL: a base (…/v1) or the full
                          …/chat/completions address */
    const char *model; /* MICROLOG_LLM_MODEL */
    const char *key;   /* MICROLOG_LLM_KEY; may be empty for local servers */
    long timeout_s;    /* 0: 120 */
} ml_llm_config;

/* From MICROLOG_LLM_URL, _MODEL, _KEY and _TIMEOUT (seconds): 1 when URL
 * and MODEL are set, else 0 (the endpoint is not configured). */
int ml_llm_config_from_env(ml_llm_config *c);

/* Sends system and user messages; on success *answer is the reply's text
 * (malloc'ed Markdown) and the result is 0. Otherwise a negative error and
 * why holds one line. */
int ml_llm_chat(const ml_llm_config *c, const char *system, const char *user,
                char **answer, char *why, size_t why_len);

#endif
