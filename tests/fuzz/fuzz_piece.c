// SPDX-License-Identifier: MIT
// Fuzz target: what a store server does with a client's upload before it
// keeps a byte: ml_piece_check() on the body, ml_piece_whole() as the
// sender cuts it, ml_runmeta_read() as discovery reads a direct run's
// first bytes, and ml_segment_read_toc() on a segment object. Input: a
// selector byte (offset 0 or not), then the bytes. Properties: a checked
// piece is also whole, and whole never passes the input or the limit
// (unless one chunk alone); a table of contents never points outside its
// object. Replayed over tests/fuzz/corpus/piece/.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/ml_error.h"
#include "format/ml_piece.h"
#include "format/ml_runmeta.h"
#include "store/ml_segment.h"

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_piece: %s:%d: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                   \
            abort();                                                          \
        }                                                                     \
    } while (0)

typedef struct {
    size_t len;
} toc_bounds;

static int
entry_inside(void *ctx, const ml_segment_entry *e)
{
    const toc_bounds *b = ctx;
    CHECK(e->seg_off <= b->len && e->len <= b->len - e->seg_off);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint64_t off = data[0] & 1 ? 4096 : 0;
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    uint32_t chunks;
    size_t at;
    const char *why;
    int rc = ml_piece_check(p, len, off, &chunks, &at, &why);
    CHECK(rc == ML_OK || (rc < 0 && why != NULL && at <= len));
    size_t whole = ml_piece_whole(p, len, off, 1u << 30);
    CHECK(whole <= len);
    if (rc == ML_OK) {
        CHECK(whole == len || (off == 0 && len == 0));
    }
    size_t limited = ml_piece_whole(p, len, off, 64);
    CHECK(limited <= whole);
    ml_runmeta m;
    ml_runmeta_read(p, len, &m);
    toc_bounds b = {len};
    ml_segment_read_toc(p, len, entry_inside, &b);
    return 0;
}
