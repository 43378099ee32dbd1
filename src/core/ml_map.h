// SPDX-License-Identifier: MIT
// An open-addressing hash table from a 64-bit key hash to a non-zero 32-bit
// value (an interned id). The table stores only hashes and values; callers
// confirm a candidate with their own equality test, so it serves strings,
// frames and stacks alike without copying their keys.
#ifndef ML_MAP_H
#define ML_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *hashes;
    uint32_t *values; /* 0 marks an empty slot */
    size_t cap;       /* a power of two, or 0 before the first insert */
    size_t count;
} ml_map;

/* Returns non-zero when the key the caller is looking for has value v. */
typedef int (*ml_map_eq)(const void *ctx, uint32_t value);

void ml_map_init(ml_map *m);
void ml_map_free(ml_map *m);

/* The value whose hash is h and for which eq(ctx, value) holds, or 0. */
uint32_t ml_map_find(const ml_map *m, uint64_t h, ml_map_eq eq,
                     const void *ctx);

/* Adds (h, value); value must be non-zero. 0 or ML_ENOMEM. The caller has
 * checked that no equal key is present. */
int ml_map_insert(ml_map *m, uint64_t h, uint32_t value);

#endif
