// SPDX-License-Identifier: MIT
// JSON values shared by the subcommands that print JSON (show, dump):
// strings from recording bytes that may not be UTF-8, and 64-bit counts.
#ifndef ML_CLI_JSON_H
#define ML_CLI_JSON_H

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

#endif
