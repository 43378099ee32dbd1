// SPDX-License-Identifier: MIT
// Growable, size-capped byte buffer (see ml_buf.h).
#include "ml_buf.h"

#include <stdlib.h>
#include <string.h>

#include "ml_error.h"
#include "ml_varint.h"

void
ml_buf_init(ml_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
ml_buf_free(ml_buf *b)
{
    if (b == NULL) {
        return;
    }
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
ml_buf_reset(ml_buf *b)
{
    b->len = 0;
}

int
ml_buf_reserve(ml_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra) {
        return ML_ELIMIT;
    }
    size_t need = b->len + extra;
    if (need <= b->cap) {
        return ML_OK;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap = cap > b->max / 2 ? b->max : cap * 2;
    }
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL) {
        return ML_ENOMEM;
    }
    b->data = data;
    b->cap = cap;
    return ML_OK;
}

int
ml_buf_append(ml_buf *b, const void *data, size_t len)
{
    int err = ml_buf_reserve(b, len);
    if (err < 0) {
        return err;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    return ML_OK;
}

int
ml_buf_append_u8(ml_buf *b, uint8_t v)
{
    return ml_buf_append(b, &v, 1);
}

int
ml_buf_append_u32le(ml_buf *b, uint32_t v)
{
    uint8_t tmp[4];
    ml_store_u32le(tmp, v);
    return ml_buf_append(b, tmp, sizeof tmp);
}

int
ml_buf_append_u64le(ml_buf *b, uint64_t v)
{
    uint8_t tmp[8];
    ml_store_u64le(tmp, v);
    return ml_buf_append(b, tmp, sizeof tmp);
}

int
ml_buf_append_varint(ml_buf *b, uint64_t v)
{
    uint8_t tmp[ML_VARINT_MAX];
    return ml_buf_append(b, tmp, ml_varint_encode(tmp, v));
}

int
ml_buf_append_svarint(ml_buf *b, int64_t v)
{
    return ml_buf_append_varint(b, ml_zigzag_encode(v));
}

int
ml_buf_append_f64(ml_buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return ml_buf_append_u64le(b, bits);
}

int
ml_buf_append_bytes(ml_buf *b, const void *data, size_t len)
{
    int err = ml_buf_append_varint(b, len);
    if (err < 0) {
        return err;
    }
    return ml_buf_append(b, data, len);
}

void
ml_store_u32le(uint8_t *dst, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        dst[i] = (uint8_t)(v >> (8 * i));
    }
}

void
ml_store_u64le(uint8_t *dst, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        dst[i] = (uint8_t)(v >> (8 * i));
    }
}

uint32_t
ml_load_u32le(const uint8_t *src)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)src[i] << (8 * i);
    }
    return v;
}

uint64_t
ml_load_u64le(const uint8_t *src)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)src[i] << (8 * i);
    }
    return v;
}
