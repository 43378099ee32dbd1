// SPDX-License-Identifier: MIT
// Linear-probing hash table kept at most half full (see ml_map.h).
#include "ml_map.h"

#include <stdlib.h>

#include "ml_error.h"

void
ml_map_init(ml_map *m)
{
    m->hashes = NULL;
    m->values = NULL;
    m->cap = 0;
    m->count = 0;
}

void
ml_map_free(ml_map *m)
{
    if (m == NULL) {
        return;
    }
    free(m->hashes);
    free(m->values);
    ml_map_init(m);
}

uint32_t
ml_map_find(const ml_map *m, uint64_t h, ml_map_eq eq, const void *ctx)
{
    if (m->cap == 0) {
        return 0;
    }
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t v = m->values[i];
        if (v == 0) {
            return 0;
        }
        if (m->hashes[i] == h && eq(ctx, v)) {
            return v;
        }
    }
}

static void
put(uint64_t *hashes, uint32_t *values, size_t mask, uint64_t h, uint32_t v)
{
    size_t i = (size_t)h & mask;
    while (values[i] != 0) {
        i = (i + 1) & mask;
    }
    hashes[i] = h;
    values[i] = v;
}

static int
grow(ml_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *hashes = malloc(cap * sizeof *hashes);
    uint32_t *values = calloc(cap, sizeof *values);
    if (hashes == NULL || values == NULL) {
        free(hashes);
        free(values);
        return ML_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->values[i] != 0) {
            put(hashes, values, cap - 1, m->hashes[i], m->values[i]);
        }
    }
    free(m->hashes);
    free(m->values);
    m->hashes = hashes;
    m->values = values;
    m->cap = cap;
    return ML_OK;
}

int
ml_map_insert(ml_map *m, uint64_t h, uint32_t value)
{
    if (value == 0) {
        return ML_EINVAL;
    }
    if ((m->count + 1) * 2 > m->cap) {
        int err = grow(m);
        if (err < 0) {
            return err;
        }
    }
    put(m->hashes, m->values, m->cap - 1, h, value);
    m->count++;
    return ML_OK;
}
