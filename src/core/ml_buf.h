// SPDX-License-Identifier: MIT
// A growable byte buffer with a hard size limit, used to build chunks and
// records before they are compressed and written. Appends past the limit
// fail with ML_ELIMIT instead of growing without bound.
#ifndef ML_BUF_H
#define ML_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* appends that would pass this size fail */
} ml_buf;

/* Prepares an empty buffer that may grow to max bytes; allocates lazily. */
void ml_buf_init(ml_buf *b, size_t max);
/* Releases the memory; the buffer may be reused after ml_buf_init. */
void ml_buf_free(ml_buf *b);
/* Empties the buffer, keeping its memory. */
void ml_buf_reset(ml_buf *b);
/* Makes room for extra more bytes. 0, ML_ENOMEM or ML_ELIMIT. */
int ml_buf_reserve(ml_buf *b, size_t extra);

int ml_buf_append(ml_buf *b, const void *data, size_t len);
int ml_buf_append_u8(ml_buf *b, uint8_t v);
int ml_buf_append_u32le(ml_buf *b, uint32_t v);
int ml_buf_append_u64le(ml_buf *b, uint64_t v);
int ml_buf_append_varint(ml_buf *b, uint64_t v);
int ml_buf_append_svarint(ml_buf *b, int64_t v);
int ml_buf_append_f64(ml_buf *b, double v);
/* A varint length followed by the bytes. */
int ml_buf_append_bytes(ml_buf *b, const void *data, size_t len);

/* Little-endian stores into a caller's array, for fixed headers. */
void ml_store_u32le(uint8_t *dst, uint32_t v);
void ml_store_u64le(uint8_t *dst, uint64_t v);
uint32_t ml_load_u32le(const uint8_t *src);
uint64_t ml_load_u64le(const uint8_t *src);

#endif
