// SPDX-License-Identifier: MIT
// Bounds-checked decoding of bytes, varints and fixed-width fields.
#include "ml_cursor.h"

#include <string.h>

#include "ml_buf.h"
#include "ml_error.h"
#include "ml_varint.h"

void
ml_cursor_init(ml_cursor *c, const void *data, size_t len)
{
    c->start = data;
    c->p = data;
    /* data may be NULL when len is 0, and NULL + 0 is undefined in C. */
    c->end = len > 0 ? c->p + len : c->p;
}

size_t
ml_cursor_offset(const ml_cursor *c)
{
    return (size_t)(c->p - c->start);
}

size_t
ml_cursor_left(const ml_cursor *c)
{
    return (size_t)(c->end - c->p);
}

int
ml_cursor_u8(ml_cursor *c, uint8_t *out)
{
    if (c->p >= c->end) {
        return ML_ETRUNC;
    }
    *out = *c->p++;
    return ML_OK;
}

int
ml_cursor_varint(ml_cursor *c, uint64_t *out)
{
    int n = ml_varint_decode(c->p, c->end, out);
    if (n < 0) {
        return n;
    }
    c->p += n;
    return ML_OK;
}

int
ml_cursor_varint32(ml_cursor *c, uint32_t *out)
{
    uint64_t v;
    const uint8_t *save = c->p;
    int err = ml_cursor_varint(c, &v);
    if (err < 0) {
        return err;
    }
    if (v > UINT32_MAX) {
        c->p = save;
        return ML_ECORRUPT;
    }
    *out = (uint32_t)v;
    return ML_OK;
}

int
ml_cursor_svarint(ml_cursor *c, int64_t *out)
{
    uint64_t v;
    int err = ml_cursor_varint(c, &v);
    if (err < 0) {
        return err;
    }
    *out = ml_zigzag_decode(v);
    return ML_OK;
}

int
ml_cursor_u64le(ml_cursor *c, uint64_t *out)
{
    if (ml_cursor_left(c) < 8) {
        return ML_ETRUNC;
    }
    *out = ml_load_u64le(c->p);
    c->p += 8;
    return ML_OK;
}

int
ml_cursor_f64(ml_cursor *c, double *out)
{
    uint64_t bits;
    int err = ml_cursor_u64le(c, &bits);
    if (err < 0) {
        return err;
    }
    memcpy(out, &bits, sizeof *out);
    return ML_OK;
}

int
ml_cursor_bytes(ml_cursor *c, size_t max, const uint8_t **out, uint32_t *len)
{
    uint64_t n;
    const uint8_t *save = c->p;
    int err = ml_cursor_varint(c, &n);
    if (err < 0) {
        return err;
    }
    if (n > max) {
        c->p = save;
        return ML_ELIMIT;
    }
    if (n > ml_cursor_left(c)) {
        c->p = save;
        return ML_ETRUNC;
    }
    *out = c->p;
    *len = (uint32_t)n;
    c->p += n;
    return ML_OK;
}
