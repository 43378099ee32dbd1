// SPDX-License-Identifier: MIT
// A bounds-checked reader over a byte range. Every getter checks that the
// bytes it needs are there before reading and reports ML_ETRUNC otherwise,
// so decoders built on it cannot read past their input.
#ifndef ML_CURSOR_H
#define ML_CURSOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
} ml_cursor;

void ml_cursor_init(ml_cursor *c, const void *data, size_t len);
/* Bytes consumed since ml_cursor_init. */
size_t ml_cursor_offset(const ml_cursor *c);
size_t ml_cursor_left(const ml_cursor *c);

/* Each getter returns 0 or a negative error; *out is written on success. */
int ml_cursor_u8(ml_cursor *c, uint8_t *out);
int ml_cursor_varint(ml_cursor *c, uint64_t *out);
/* A varint that must fit in 32 bits (ids, lines): ML_ECORRUPT otherwise. */
int ml_cursor_varint32(ml_cursor *c, uint32_t *out);
int ml_cursor_svarint(ml_cursor *c, int64_t *out);
int ml_cursor_u64le(ml_cursor *c, uint64_t *out);
int ml_cursor_f64(ml_cursor *c, double *out);
/* A varint length, then that many bytes, at most max; *out points into the
 * cursor's input. */
int ml_cursor_bytes(ml_cursor *c, size_t max, const uint8_t **out,
                    uint32_t *len);

#endif
