// SPDX-License-Identifier: MIT
// Text literals of PostgreSQL arrays ("{a,\"b c\",NULL}") built element by
// element, so a batch of thousands of values travels as one parameter of a
// statement that unnests it, instead of one round trip per value. The
// literal is a parameter value, never SQL text. Errors are sticky: check
// once at the end with ml_pgarray_finish().
#ifndef ML_PGARRAY_H
#define ML_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/ml_buf.h"

typedef struct {
    ml_buf buf;
    size_t n;
    int err; /* first failure (ML_ENOMEM, ML_ELIMIT), 0 else */
} ml_pgarray;

/* An empty array whose literal may grow to max bytes. */
void ml_pgarray_init(ml_pgarray *a, size_t max);
void ml_pgarray_free(ml_pgarray *a);

/* Appends a string element (quoted and escaped), or SQL NULL when s is
 * NULL. */
void ml_pgarray_text(ml_pgarray *a, const char *s);
void ml_pgarray_int(ml_pgarray *a, int64_t v);

/* The NUL-terminated literal, owned by a, or NULL (and the error in
 * *err) when an append failed. */
const char *ml_pgarray_finish(ml_pgarray *a, int *err);

#endif
