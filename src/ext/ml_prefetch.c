// SPDX-License-Identifier: MIT
// Replayed reads for the stack walker (see ml_prefetch.h).

#include "ml_prefetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_CAP (2 * ML_PREFETCH_MAX_REGIONS)
#define BATCH 16 /* requests of one ml_prefetch_read_batch sub-batch */

static uint32_t
hash_addr(uint64_t addr)
{
    uint64_t x = (addr >> 3) * UINT64_C(0x9e3779b97f4a7c15);
    return (uint32_t)(x >> 40) & (INDEX_CAP - 1);
}

/* Index of the region starting at addr, or -1; *at is its slot or the
 * empty slot where it would go. */
static int
index_find(const ml_prefetch_index *ix, const ml_prefetch_region *regions,
           uint64_t addr, uint32_t *at)
{
    uint32_t s = hash_addr(addr);
    for (;;) {
        uint32_t v = ix->slot[s];
        if (v == 0) {
            *at = s;
            return -1;
        }
        if (regions[v - 1].addr == addr) {
            *at = s;
            return (int)(v - 1);
        }
        s = (s + 1) & (ix->cap - 1);
    }
}

int
ml_prefetch_init(ml_prefetch *p)
{
    memset(p, 0, sizeof *p);
    p->cur = calloc(ML_PREFETCH_MAX_REGIONS, sizeof *p->cur);
    p->plan = calloc(ML_PREFETCH_MAX_REGIONS, sizeof *p->plan);
    p->reqs = calloc(ML_PREFETCH_MAX_REGIONS, sizeof *p->reqs);
    p->cur_index.slot = calloc(INDEX_CAP, sizeof(uint32_t));
    p->plan_index.slot = calloc(INDEX_CAP, sizeof(uint32_t));
    p->cur_index.cap = p->plan_index.cap = INDEX_CAP;
    ml_buf_init(&p->buf, ML_PREFETCH_MAX_BYTES);
    p->cur_pos = calloc(ML_PREFETCH_MAX_REGIONS, sizeof(uint32_t));
    p->plan_pos = calloc(ML_PREFETCH_MAX_REGIONS, sizeof(uint32_t));
    if (!p->cur || !p->plan || !p->reqs || !p->cur_index.slot
        || !p->plan_index.slot || !p->cur_pos || !p->plan_pos) {
        ml_prefetch_free(p);
        return -ENOMEM;
    }
    return 0;
}

void
ml_prefetch_free(ml_prefetch *p)
{
    free(p->cur);
    free(p->plan);
    free(p->reqs);
    free(p->cur_index.slot);
    free(p->plan_index.slot);
    free(p->cur_pos);
    free(p->plan_pos);
    ml_buf_free(&p->buf);
    memset(p, 0, sizeof *p);
}

/* The plan becomes this round's regions; the old regions' index slots are
 * cleared and serve as the new, empty plan's. */
static void
swap_plan_in(ml_prefetch *p)
{
    for (int i = 0; i < p->ncur; i++) {
        p->cur_index.slot[p->cur_pos[i]] = 0;
    }
    ml_prefetch_region *r = p->cur;
    p->cur = p->plan;
    p->plan = r;
    ml_prefetch_index ix = p->cur_index;
    p->cur_index = p->plan_index;
    p->plan_index = ix;
    uint32_t *pos = p->cur_pos;
    p->cur_pos = p->plan_pos;
    p->plan_pos = pos;
    p->ncur = p->nplan;
    p->nplan = 0;
    p->plan_bytes = 0;
}

void
ml_prefetch_round(ml_prefetch *p)
{
    size_t total = 0;
    if (p->cur == NULL) {
        return;
    }
    swap_plan_in(p);
    p->fresh = 0;
    for (int i = 0; i < p->ncur; i++) {
        p->cur[i].off = total;
        p->cur[i].ok = 0;
        total += p->cur[i].len;
    }
    ml_buf_reset(&p->buf);
    if (p->ncur == 0 || ml_buf_reserve(&p->buf, total) != 0) {
        return;
    }
    for (int i = 0; i < p->ncur; i++) {
        p->reqs[i].dst = p->buf.data + p->cur[i].off;
        p->reqs[i].addr = p->cur[i].addr;
        p->reqs[i].len = p->cur[i].len;
    }
    ml_saferead_batch(p->reqs, p->ncur);
    for (int i = 0; i < p->ncur; i++) {
        p->cur[i].ok = p->reqs[i].ok;
    }
}

void
ml_prefetch_set_fresh(ml_prefetch *p, int on)
{
    p->fresh = on;
}

void
ml_prefetch_plan(ml_prefetch *p, uint64_t addr, size_t len)
{
    uint32_t at;
    if (p->plan == NULL || len == 0 || len > ML_PREFETCH_MAX_BYTES) {
        return;
    }
    int i = index_find(&p->plan_index, p->plan, addr, &at);
    if (i >= 0) {
        ml_prefetch_region *r = &p->plan[i];
        if (len > r->len
            && p->plan_bytes + (len - r->len) <= ML_PREFETCH_MAX_BYTES) {
            p->plan_bytes += len - r->len;
            r->len = len;
        }
        return;
    }
    if (p->nplan >= ML_PREFETCH_MAX_REGIONS
        || p->plan_bytes + len > ML_PREFETCH_MAX_BYTES) {
        return;
    }
    p->plan[p->nplan] = (ml_prefetch_region){addr, len, 0, 0};
    p->plan_pos[p->nplan] = at;
    p->plan_index.slot[at] = (uint32_t)p->nplan + 1;
    p->nplan++;
    p->plan_bytes += len;
}

const void *
ml_prefetch_find(ml_prefetch *p, uint64_t addr, size_t len)
{
    uint32_t at;
    if (p->cur == NULL || p->fresh || p->ncur == 0) {
        return NULL;
    }
    int i = index_find(&p->cur_index, p->cur, addr, &at);
    if (i < 0 || !p->cur[i].ok || len > p->cur[i].len) {
        return NULL;
    }
    p->served++;
    return p->buf.data + p->cur[i].off;
}

int
ml_prefetch_read(ml_prefetch *p, void *dst, uint64_t addr, size_t len)
{
    const void *c = ml_prefetch_find(p, addr, len);
    if (c != NULL) {
        memcpy(dst, c, len);
    } else {
        p->missed++;
        if (ml_saferead(dst, addr, len) != 0) {
            return -1; /* not planned: it would fail again next round */
        }
    }
    ml_prefetch_plan(p, addr, len);
    return 0;
}

/* Serves what the copies hold; reads the rest of reqs[0, n <= BATCH) in
 * one batch. */
static void
read_sub_batch(ml_prefetch *p, ml_saferead_req *reqs, int n)
{
    ml_saferead_req miss[BATCH];
    int idx[BATCH], m = 0;
    for (int i = 0; i < n; i++) {
        const void *c = ml_prefetch_find(p, reqs[i].addr, reqs[i].len);
        reqs[i].ok = c != NULL;
        if (c != NULL) {
            memcpy(reqs[i].dst, c, reqs[i].len);
        } else {
            miss[m] = reqs[i];
            idx[m++] = i;
        }
    }
    if (m > 0) {
        p->missed += (uint64_t)m;
        ml_saferead_batch(miss, m);
        for (int j = 0; j < m; j++) {
            reqs[idx[j]].ok = miss[j].ok;
        }
    }
    for (int i = 0; i < n; i++) {
        if (reqs[i].ok) {
            ml_prefetch_plan(p, reqs[i].addr, reqs[i].len);
        }
    }
}

void
ml_prefetch_read_batch(ml_prefetch *p, ml_saferead_req *reqs, int n)
{
    for (int i = 0; i < n; i += BATCH) {
        read_sub_batch(p, reqs + i, n - i < BATCH ? n - i : BATCH);
    }
}
