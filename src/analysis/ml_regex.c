// SPDX-License-Identifier: MIT
// Bounded regular expressions on PCRE2 (see ml_regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "ml_regex.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"

/* Backtracking steps per match and bytes of backtracking memory. A
 * reasonable pattern needs far less on a log line; (a+)+$ on 30 a's
 * needs over a billion. */
#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 5000
#define HEAP_LIMIT_KB 8192

struct ml_regex {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    int failed;
};

int
ml_regex_new(const char *pattern, ml_regex **out, char *why, size_t why_len)
{
    *out = NULL;
    size_t n = strlen(pattern);
    if (n > ML_REGEX_MAX_PATTERN) {
        snprintf(why, why_len, "regular expression longer than %d bytes",
                 ML_REGEX_MAX_PATTERN);
        return ML_ELIMIT;
    }
    ml_regex *re = calloc(1, sizeof *re);
    if (re == NULL) {
        snprintf(why, why_len, "out of memory");
        return ML_ENOMEM;
    }
    int code;
    PCRE2_SIZE at;
    re->code =
        pcre2_compile((PCRE2_SPTR)pattern, n,
                      PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                      &code, &at, NULL);
    if (re->code == NULL) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(why, why_len, "invalid regular expression at %zu: %s",
                 (size_t)at, (const char *)msg);
        free(re);
        return ML_EINVAL;
    }
    re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
    re->mc = pcre2_match_context_create(NULL);
    if (re->md == NULL || re->mc == NULL) {
        ml_regex_free(re);
        snprintf(why, why_len, "out of memory");
        return ML_ENOMEM;
    }
    pcre2_set_match_limit(re->mc, MATCH_LIMIT);
    pcre2_set_depth_limit(re->mc, DEPTH_LIMIT);
    pcre2_set_heap_limit(re->mc, HEAP_LIMIT_KB);
    *out = re;
    return ML_OK;
}

void
ml_regex_free(ml_regex *re)
{
    if (re == NULL) {
        return;
    }
    pcre2_match_data_free(re->md);
    pcre2_match_context_free(re->mc);
    pcre2_code_free(re->code);
    free(re);
}

int
ml_regex_match(ml_regex *re, const char *text, size_t len)
{
    if (re->failed) {
        return ML_ELIMIT;
    }
    int rc =
        pcre2_match(re->code, (PCRE2_SPTR)text, len, 0, 0, re->md, re->mc);
    if (rc >= 0) {
        return 1;
    }
    if (rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }
    re->failed = 1; /* limits hit (or another error): stop using it */
    return ML_ELIMIT;
}
