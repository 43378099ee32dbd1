// SPDX-License-Identifier: MIT
// Sample counts keyed by (stack, thread, state class), for the exports
// that aggregate (collapsed, pprof): one row per distinct key, so memory
// grows with the run's variety, not its length.
#include <stdlib.h>

#include "core/ml_error.h"
#include "core/ml_hash.h"
#include "ml_export_int.h"

typedef struct {
    const xagg *a;
    uint32_t stack, thread, state;
} agg_key;

static int
agg_eq(const void *ctx, uint32_t v)
{
    const agg_key *k = ctx;
    const xagg_row *r = &k->a->rows[v - 1];
    return r->stack == k->stack && r->thread == k->thread
           && r->state == k->state;
}

void
xagg_init(xagg *a)
{
    *a = (xagg){0};
    ml_map_init(&a->map);
}

void
xagg_free(xagg *a)
{
    free(a->rows);
    ml_map_free(&a->map);
}

int
xagg_add(xagg *a, uint32_t stack, uint32_t thread, uint32_t state,
         uint64_t count)
{
    agg_key k = {a, stack, thread, state};
    uint64_t h =
        ml_hash_mix(ml_hash_mix(ml_hash_mix(3, stack), thread), state);
    uint32_t v = ml_map_find(&a->map, h, agg_eq, &k);
    if (v == 0) {
        if (a->n == a->cap) {
            uint32_t cap = a->cap ? 2 * a->cap : 1024;
            xagg_row *rows = realloc(a->rows, (size_t)cap * sizeof *rows);
            if (rows == NULL) {
                return ML_ENOMEM;
            }
            a->rows = rows;
            a->cap = cap;
        }
        a->rows[a->n] = (xagg_row){stack, thread, state, 0};
        v = ++a->n;
        if (ml_map_insert(&a->map, h, v) < 0) {
            return ML_ENOMEM;
        }
    }
    a->rows[v - 1].count += count;
    return 0;
}
