// SPDX-License-Identifier: MIT
// JSON values shared by everything that writes JSON (the CLI's show and
// dump, the analysis views the server answers): strings from recording
// bytes that may not be UTF-8, 64-bit counts, and building helpers that
// note a failure instead of checking every call.
#ifndef ML_JSON_H
#define ML_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A JSON string of len bytes; bytes that are not UTF-8 make every non-ASCII
 * (and NUL) byte '?' (jansson takes only UTF-8). NULL when out of memory. */
json_t *ml_json_bytes(const uint8_t *p, size_t len);
/* The same for a C string; NULL s gives null. */
json_t *ml_json_text(const char *s);
/* An unsigned count: an integer, or a real above INT64_MAX. */
json_t *ml_json_uint(uint64_t v);
/* A real; NaN and infinities (which JSON cannot hold) give null. */
json_t *ml_json_real(double v);

/* Sets key to v (stealing it); a NULL v or a failure sets *failed. */
void ml_json_put(json_t *obj, const char *key, json_t *v, int *failed);
/* Appends v (stealing it); a NULL v or a failure sets *failed. */
void ml_json_append(json_t *arr, json_t *v, int *failed);

#endif
