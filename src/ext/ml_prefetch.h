// SPDX-License-Identifier: MIT
// Replayed reads for the stack walker. A sampler round reads nearly the
// same regions as the round before it (the thread list head, the thread
// states, the top of each data stack, the frames of unchanged stacks), one
// ml_saferead syscall each. A prefetch remembers the regions a round asked
// for and, at the start of the next round, copies all of them in one
// batched read (ml_saferead_batch); reads the copies hold whole are then
// served from memory. The kernel entry and the page-pinning set-up of
// process_vm_readv are paid once a round instead of once a region, and the
// copies are all taken at one moment. See docs/SAMPLER.md.

#ifndef ML_PREFETCH_H
#define ML_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/ml_buf.h"
#include "ml_saferead.h"

#define ML_PREFETCH_MAX_REGIONS 4096     /* regions planned per round */
#define ML_PREFETCH_MAX_BYTES (4u << 20) /* bytes planned per round */

typedef struct {
    uint64_t addr;
    size_t len;
    size_t off; /* into the copy buffer */
    int ok;     /* copied whole this round */
} ml_prefetch_region;

/* Regions by start address: open addressing over indices + 1, 0 empty. */
typedef struct {
    uint32_t *slot;
    uint32_t cap; /* a power of two, twice the regions' bound */
} ml_prefetch_index;

typedef struct {
    /* This round's copies, from last round's plan. */
    ml_prefetch_region *cur;
    int ncur;
    ml_prefetch_index cur_index;
    uint32_t *cur_pos; /* each region's slot in cur_index, to empty it */
    ml_buf buf;        /* the copies, bounded by ML_PREFETCH_MAX_BYTES */
    ml_saferead_req *reqs;
    /* What this round asked for: the next round's copies. */
    ml_prefetch_region *plan;
    int nplan;
    size_t plan_bytes;
    ml_prefetch_index plan_index;
    uint32_t *plan_pos;
    int fresh;               /* 1: reads bypass the copies (a walk retried) */
    uint64_t served, missed; /* reads from the copies / read alone */
} ml_prefetch;

/* Zeroes p and allocates its tables; 0 or -ENOMEM. */
int ml_prefetch_init(ml_prefetch *p);
void ml_prefetch_free(ml_prefetch *p);

/* Starts a round: copies every region the previous round planned, in one
 * batched read, and starts an empty plan. */
void ml_prefetch_round(ml_prefetch *p);

/* While on, reads go to memory and not to the copies (they still plan):
 * a walk retried because its stack changed under the copy must see the
 * stack as it is now. */
void ml_prefetch_set_fresh(ml_prefetch *p, int on);

/* Adds [addr, addr + len) to the next round's plan (the longest length
 * asked at one address wins); beyond the bounds it is not planned. */
void ml_prefetch_plan(ml_prefetch *p, uint64_t addr, size_t len);

/* A pointer to this round's copy of [addr, addr + len) if a region that
 * starts at addr holds it whole, else NULL. Does not plan. */
const void *ml_prefetch_find(ml_prefetch *p, uint64_t addr, size_t len);

/* Copies [addr, addr + len) into dst, from the copies when they hold it,
 * else with ml_saferead, and plans it. 0, or -1 if unreadable. */
int ml_prefetch_read(ml_prefetch *p, void *dst, uint64_t addr, size_t len);

/* ml_saferead_batch with the copies first: regions they hold are served
 * from them, the others read in one batch; all are planned. Sets each
 * request's ok. */
void ml_prefetch_read_batch(ml_prefetch *p, ml_saferead_req *reqs, int n);

#endif /* ML_PREFETCH_H */
