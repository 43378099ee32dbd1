// SPDX-License-Identifier: MIT
// OpenAI-compatible chat completions over libcurl (see ml_llm.h).
#include "ml_llm.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_buf.h"
#include "core/ml_error.h"

#define MAX_REPLY (8u << 20)

int
ml_llm_config_from_env(ml_llm_config *c)
{
    memset(c, 0, sizeof *c);
    c->url = getenv("MICROLOG_LLM_URL");
    c->model = getenv("MICROLOG_LLM_MODEL");
    c->key = getenv("MICROLOG_LLM_KEY");
    const char *t = getenv("MICROLOG_LLM_TIMEOUT");
    c->timeout_s = t ? strtol(t, NULL, 10) : 0; /* 0 or junk: 120 s */
    return c->url && c->url[0] && c->model && c->model[0];
}

static size_t
on_data(char *p, size_t size, size_t n, void *ctx)
{
    ml_buf *b = ctx;
    return ml_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

/* The endpoint: the given URL, with /chat/completions added to a base. */
static char *
endpoint(const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/') {
        n--;
    }
    const char *tail = "/chat/completions";
    size_t t = strlen(tail);
    int full = n >= t && memcmp(url + n - t, tail, t) == 0;
    char *e = malloc(n + t + 1);
    if (e != NULL) {
        memcpy(e, url, n);
        memcpy(e + n, full ? "" : tail, full ? 1 : t + 1);
        e[n + (full ? 0 : t)] = '\0';
    }
    return e;
}

static char *
request_body(const ml_llm_config *c, const char *system, const char *user)
{
    json_t *req = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "model",
                            c->model, "messages", "role", "system", "content",
                            system, "role", "user", "content", user);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    return body;
}

/* The message of an error answer ({"error": {"message": ...}}), or "". */
static void
error_message(const ml_buf *b, char *out, size_t cap)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)b->data, b->len, 0, &e);
    json_t *err = json_object_get(j, "error");
    const char *m = json_string_value(json_object_get(err, "message"));
    if (m == NULL) {
        m = json_string_value(err);
    }
    snprintf(out, cap, "%.200s", m ? m : "");
    json_decref(j);
}

static int
parse_answer(const ml_buf *b, char **answer, char *why, size_t why_len)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)b->data, b->len, 0, &e);
    json_t *msg = json_object_get(
        json_array_get(json_object_get(j, "choices"), 0), "message");
    const char *text = json_string_value(json_object_get(msg, "content"));
    int err = ML_OK;
    if (text == NULL) {
        snprintf(why, why_len,
                 "the endpoint's answer has no "
                 "choices[0].message.content");
        err = ML_ECORRUPT;
    } else if ((*answer = strdup(text)) == NULL) {
        err = ML_ENOMEM;
    }
    json_decref(j);
    return err;
}

int
ml_llm_chat(const ml_llm_config *c, const char *system, const char *user,
            char **answer, char *why, size_t why_len)
{
    *answer = NULL;
    why[0] = '\0';
    char *url = endpoint(c->url);
    char *body = request_body(c, system, user);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char auth[600];
    ml_buf reply;
    ml_buf_init(&reply, MAX_REPLY);
    int err = url && body && h ? ML_OK : ML_ENOMEM;
    if (err == 0) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        if (c->key && c->key[0]) {
            snprintf(auth, sizeof auth, "Authorization: Bearer %.500s",
                     c->key);
            hdr = curl_slist_append(hdr, auth);
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
        curl_easy_setopt(h, CURLOPT_TIMEOUT,
                         c->timeout_s > 0 ? c->timeout_s : 120L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        char msg[256];
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(why, why_len, "the endpoint did not answer within %ld s",
                     c->timeout_s > 0 ? c->timeout_s : 120L);
            err = ML_EIO;
        } else if (rc != CURLE_OK) {
            snprintf(why, why_len, "cannot reach %s: %s", url,
                     curl_easy_strerror(rc));
            err = ML_EIO;
        } else if (status == 401 || status == 403) {
            error_message(&reply, msg, sizeof msg);
            snprintf(why, why_len,
                     "the endpoint refused the key (HTTP %ld)%s%s: check "
                     "MICROLOG_LLM_KEY",
                     status, msg[0] ? ": " : "", msg);
            err = ML_EIO;
        } else if (status == 429) {
            snprintf(why, why_len,
                     "the endpoint is rate limiting (HTTP 429): try again "
                     "later");
            err = ML_EIO;
        } else if (status != 200) {
            error_message(&reply, msg, sizeof msg);
            snprintf(why, why_len, "the endpoint answered HTTP %ld%s%s",
                     status, msg[0] ? ": " : "", msg);
            err = ML_EIO;
        } else {
            err = parse_answer(&reply, answer, why, why_len);
        }
    }
    if (err == ML_ENOMEM && why[0] == '\0') {
        snprintf(why, why_len, "out of memory");
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    ml_buf_free(&reply);
    free(body);
    free(url);
    return err;
}
