// SPDX-License-Identifier: MIT
// Array literals for unnest() parameters (see ml_pgarray.h). Elements are
// always quoted, so only '"' and '\' need escaping whatever the text.
#include "ml_pgarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/ml_error.h"

void
ml_pgarray_init(ml_pgarray *a, size_t max)
{
    ml_buf_init(&a->buf, max);
    a->n = 0;
    a->err = 0;
}

void
ml_pgarray_free(ml_pgarray *a)
{
    if (a != NULL) {
        ml_buf_free(&a->buf);
    }
}

static void
put(ml_pgarray *a, const void *p, size_t len)
{
    if (a->err == 0) {
        a->err = ml_buf_append(&a->buf, p, len);
    }
}

/* The separator before each element: '{' opens the literal. */
static void
separate(ml_pgarray *a)
{
    put(a, a->n == 0 ? "{" : ",", 1);
    a->n++;
}

void
ml_pgarray_text(ml_pgarray *a, const char *s)
{
    separate(a);
    if (s == NULL) {
        put(a, "NULL", 4);
        return;
    }
    put(a, "\"", 1);
    for (const char *p = s; *p != '\0'; p++) {
        /* Runs of plain bytes go in one append. */
        size_t plain = strcspn(p, "\"\\");
        put(a, p, plain);
        p += plain;
        if (*p == '\0') {
            break;
        }
        put(a, "\\", 1);
        put(a, p, 1);
    }
    put(a, "\"", 1);
}

void
ml_pgarray_int(ml_pgarray *a, int64_t v)
{
    char num[24];
    int len = snprintf(num, sizeof num, "%" PRId64, v);
    separate(a);
    put(a, num, (size_t)len);
}

const char *
ml_pgarray_finish(ml_pgarray *a, int *err)
{
    if (a->n == 0) {
        put(a, "{", 1);
    }
    put(a, "}", 1);
    put(a, "", 1); /* the terminating NUL */
    if (a->err != 0) {
        *err = a->err;
        return NULL;
    }
    return (const char *)a->buf.data;
}
