// SPDX-License-Identifier: MIT
// Non-cryptographic 64-bit hashing for interning tables: fast on short keys
// (names, file paths, small tuples of ids). Not for checksums on disk, which
// use XXH32 (see docs/FORMAT.md).
#ifndef ML_HASH_H
#define ML_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Hash of a byte string. */
uint64_t ml_hash_bytes(const void *data, size_t len);

/* Mixes one 64-bit word into a running hash; start from any constant. */
static inline uint64_t
ml_hash_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    return h;
}

#endif
