// SPDX-License-Identifier: MIT
// Segment objects (see ml_segment.h).
#include "ml_segment.h"

#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "format/ml_chunk.h"

#define SEGMENT_MAGIC "MLSG"

void
ml_segment_init(ml_segment *s, size_t max)
{
    memset(s, 0, sizeof *s);
    ml_buf_init(&s->data, max);
}

void
ml_segment_free(ml_segment *s)
{
    ml_buf_free(&s->data);
    free(s->entries);
    memset(s, 0, sizeof *s);
}

void
ml_segment_reset(ml_segment *s)
{
    ml_buf_reset(&s->data);
    s->n = 0;
}

/* What the table of contents will add with one more entry. */
static size_t
toc_size(size_t n)
{
    return n * ML_SEGMENT_ENTRY_SIZE + ML_SEGMENT_FOOTER_SIZE;
}

int
ml_segment_add(ml_segment *s, const uint8_t run[16], uint64_t off,
               const void *bytes, size_t len, uint64_t *seg_off)
{
    if (s->data.len + len + toc_size(s->n + 1) > s->data.max) {
        return ML_ELIMIT;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        ml_segment_entry *e = realloc(s->entries, cap * sizeof *e);
        if (e == NULL) {
            return ML_ENOMEM;
        }
        s->entries = e;
        s->cap = cap;
    }
    ml_segment_entry *e = &s->entries[s->n];
    memcpy(e->run, run, 16);
    e->off = off;
    e->len = len;
    e->seg_off = s->data.len;
    int rc = ml_buf_append(&s->data, bytes, len);
    if (rc != ML_OK) {
        return rc;
    }
    *seg_off = e->seg_off;
    s->n++;
    return ML_OK;
}

int
ml_segment_finish(ml_segment *s)
{
    size_t start = s->data.len;
    int rc = ml_buf_reserve(&s->data, toc_size(s->n));
    for (size_t i = 0; rc == ML_OK && i < s->n; i++) {
        const ml_segment_entry *e = &s->entries[i];
        rc = ml_buf_append(&s->data, e->run, 16);
        rc = rc ? rc : ml_buf_append_u64le(&s->data, e->off);
        rc = rc ? rc : ml_buf_append_u64le(&s->data, e->len);
        rc = rc ? rc : ml_buf_append_u64le(&s->data, e->seg_off);
    }
    rc = rc ? rc : ml_buf_append_u32le(&s->data, (uint32_t)s->n);
    if (rc != ML_OK) {
        return rc;
    }
    uint32_t sum = ml_checksum(s->data.data + start, s->data.len - start);
    rc = ml_buf_append(&s->data, SEGMENT_MAGIC, 4);
    return rc ? rc : ml_buf_append_u32le(&s->data, sum);
}

int
ml_segment_read_toc(const uint8_t *obj, size_t len, ml_segment_entry_fn each,
                    void *ctx)
{
    if (len < ML_SEGMENT_FOOTER_SIZE) {
        return ML_ECORRUPT;
    }
    const uint8_t *foot = obj + len - ML_SEGMENT_FOOTER_SIZE;
    if (memcmp(foot + 4, SEGMENT_MAGIC, 4) != 0) {
        return ML_ECORRUPT;
    }
    uint64_t n = ml_load_u32le(foot);
    uint64_t toc = n * ML_SEGMENT_ENTRY_SIZE + 4;
    if (toc > len - 8) {
        return ML_ECORRUPT;
    }
    size_t start = len - 8 - (size_t)toc;
    if (ml_checksum(obj + start, (size_t)toc) != ml_load_u32le(foot + 8)) {
        return ML_ECHECKSUM;
    }
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p = obj + start + i * ML_SEGMENT_ENTRY_SIZE;
        ml_segment_entry e;
        memcpy(e.run, p, 16);
        e.off = ml_load_u64le(p + 16);
        e.len = ml_load_u64le(p + 24);
        e.seg_off = ml_load_u64le(p + 32);
        if (e.seg_off > start || e.len > start - e.seg_off) {
            return ML_ECORRUPT;
        }
        int rc = each(ctx, &e);
        if (rc != 0) {
            return rc;
        }
    }
    return ML_OK;
}
