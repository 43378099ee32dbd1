// SPDX-License-Identifier: MIT
// Regular expressions from requests (filters, search), on PCRE2 with
// bounds: the pattern's length, and a match limit so that a pattern with
// catastrophic backtracking fails with ML_ELIMIT instead of running for
// minutes. Matching is case-insensitive unless the pattern says otherwise.
#ifndef ML_REGEX_H
#define ML_REGEX_H

#include <stddef.h>

#define ML_REGEX_MAX_PATTERN 512

typedef struct ml_regex ml_regex;

/* Compiles pattern. 0; ML_EINVAL (invalid, message in why) or ML_ELIMIT
 * (too long). On error *out is NULL. */
int ml_regex_new(const char *pattern, ml_regex **out, char *why,
                 size_t why_len);
void ml_regex_free(ml_regex *re);

/* 1 when text (len bytes) matches, 0 when not, ML_ELIMIT when matching
 * took too many steps (sticky: later calls give it too). */
int ml_regex_match(ml_regex *re, const char *text, size_t len);

#endif
