// SPDX-License-Identifier: MIT
// A segment: one object holding every piece a server received from all runs
// in one flush window, so object storage sees one PUT per window instead of
// one per chunk. The pieces' bytes come first, back to back; a table of
// contents and a checksum close the object, so a segment describes itself
// and the index could be rebuilt from the bucket alone (docs/STORE.md).
//
//   pieces ...
//   entry * n   run id (16 bytes), off u64, len u64, seg_off u64
//   n u32, magic "MLSG", XXH32 of the entries and n (u32)   (12 bytes)
#ifndef ML_SEGMENT_H
#define ML_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ml_buf.h"

#define ML_SEGMENT_ENTRY_SIZE 40
#define ML_SEGMENT_FOOTER_SIZE 12

typedef struct {
    uint8_t run[16];
    uint64_t off, len; /* the bytes' place in the run's file */
    uint64_t seg_off;  /* their place in the segment */
} ml_segment_entry;

typedef struct {
    ml_buf data;
    ml_segment_entry *entries;
    size_t n, cap;
} ml_segment;

/* max bounds the whole object. */
void ml_segment_init(ml_segment *s, size_t max);
void ml_segment_free(ml_segment *s);
void ml_segment_reset(ml_segment *s);

/* Appends a piece; *seg_off gets where its bytes start. ML_ELIMIT when
 * the object would pass its bound (the segment is unchanged). */
int ml_segment_add(ml_segment *s, const uint8_t run[16], uint64_t off,
                   const void *bytes, size_t len, uint64_t *seg_off);

/* Appends the table of contents: s->data is then the object to store.
 * Nothing may be added after. */
int ml_segment_finish(ml_segment *s);

/* Reads the table of contents of a stored object: calls each for every
 * entry after checking the footer, the checksum and that every entry lies
 * inside the pieces' area. 0 or ML_ECORRUPT / ML_ECHECKSUM. */
typedef int (*ml_segment_entry_fn)(void *ctx, const ml_segment_entry *e);
int ml_segment_read_toc(const uint8_t *obj, size_t len,
                        ml_segment_entry_fn each, void *ctx);

#endif
