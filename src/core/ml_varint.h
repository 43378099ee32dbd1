// SPDX-License-Identifier: MIT
// Variable-length integers as used by the recording format (docs/FORMAT.md):
// unsigned LEB128, 7 bits per byte, least significant group first, at most
// 10 bytes; signed values are zigzag-mapped first (0,-1,1,-2 -> 0,1,2,3).
#ifndef ML_VARINT_H
#define ML_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define ML_VARINT_MAX 10

/* Writes v at dst (room for ML_VARINT_MAX bytes); returns bytes written. */
size_t ml_varint_encode(uint8_t *dst, uint64_t v);

/* Reads one varint from [p, end). Returns the number of bytes consumed, or
 * ML_ETRUNC when the input ends inside it, or ML_ECORRUPT when it is longer
 * than 10 bytes or overflows 64 bits. *out is written only on success. */
int ml_varint_decode(const uint8_t *p, const uint8_t *end, uint64_t *out);

static inline uint64_t
ml_zigzag_encode(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
ml_zigzag_decode(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
