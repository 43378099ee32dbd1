// SPDX-License-Identifier: MIT
// LEB128 varint coding; the byte layout is specified in docs/FORMAT.md.
#include "ml_varint.h"

#include "ml_error.h"

size_t
ml_varint_encode(uint8_t *dst, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (uint8_t)v;
    return n;
}

int
ml_varint_decode(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < ML_VARINT_MAX; i++) {
        if (end - p <= i) { /* not p + i: p may be NULL when empty */
            return ML_ETRUNC;
        }
        uint64_t byte = p[i];
        /* The tenth byte may only carry the 64th bit. */
        if (i == ML_VARINT_MAX - 1 && byte > 1) {
            return ML_ECORRUPT;
        }
        v |= (byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return ML_ECORRUPT;
}
