// SPDX-License-Identifier: MIT
// Byte-string hashing: eight bytes at a time through ml_hash_mix, the tail
// zero-padded, the length folded in so "a" and "a\0" differ.
#include "ml_hash.h"

#include <string.h>

uint64_t
ml_hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0x6a09e667f3bcc908ULL ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = ml_hash_mix(h, w);
        p += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = ml_hash_mix(h, w);
    }
    return ml_hash_mix(h, 0x510e527fade682d1ULL);
}
