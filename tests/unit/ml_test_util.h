// SPDX-License-Identifier: MIT
// Helpers shared by the C unit tests (linked into every tests/unit/test_*):
// a deterministic random generator, in-memory files, hand-built recordings
// (for hostile-input tests) and a record comparison. Functions that can fail
// report through cmocka's assertions, so tests stay short.
#ifndef ML_TEST_UTIL_H
#define ML_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/ml_buf.h"
#include "format/ml_record.h"
#include "format/ml_writer.h"

/* ---- random numbers ------------------------------------------------- */

typedef struct {
    uint64_t s;
} tu_rng;

uint64_t tu_rand(tu_rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t tu_below(tu_rng *r, uint32_t n);

/* ---- files in memory -------------------------------------------------- */

/* An anonymous file (memfd) for writer output. */
int tu_memfd(void);
/* The whole content of fd (from offset 0) in a malloc'ed buffer. */
uint8_t *tu_slurp(int fd, size_t *len);

/* A writer on a fresh memfd; *fd_out keeps a descriptor to read it back. */
ml_writer *tu_writer(const ml_writer_options *opt, int *fd_out);

/* ---- hand-built recordings ------------------------------------------- */

/* Appends the 16-byte file header (of this version, or of major). */
void tu_file_header(ml_buf *file);
void tu_file_header_v(ml_buf *file, uint16_t major);
/* Appends kind, varint length and payload to a chunk body being built. */
void tu_raw_record(ml_buf *body, uint8_t kind, const void *payload,
                   size_t len);
/* Encodes rec with the codec (in this version's layout, or major's) and
 * appends it to a chunk body. */
void tu_record(ml_buf *body, const ml_record *rec, int64_t *clock);
void tu_record_v(ml_buf *body, uint16_t major, const ml_record *rec,
                 int64_t *clock);
/* Compresses body into a chunk (header with correct checksums) and appends
 * it to file. */
void tu_chunk(ml_buf *file, uint32_t seq, uint64_t base_time_us,
              const uint8_t *body, size_t len);

/* A small recording of every record kind (strings, frames, a prefix tree
 * of stacks, two threads with runs of samples, logs, spans, series values,
 * meta, a report and the end), written with the given chunk size so that
 * it has several chunks. Returns a malloc'ed copy of the file. */
uint8_t *tu_sample_recording(uint32_t chunk_bytes, uint32_t samples,
                             uint64_t seed, size_t *len);

/* ---- reading back ----------------------------------------------------- */

typedef struct {
    int rc;              /* last result of open / next: 0 or an error */
    uint64_t records;    /* records delivered */
    uint64_t err_offset; /* ml_reader_error_offset() after an error */
    char msg[256];
} tu_result;

/* Reads every record of data; the result tells how it ended. */
tu_result tu_read_all(const void *data, size_t len);

/* Offsets of the chunks of a well-formed file, found from their headers;
 * returns the count (at most max). */
size_t tu_chunk_offsets(const uint8_t *data, size_t len, uint64_t *offs,
                        size_t max);

/* Non-zero when both records hold the same kind and fields (byte ranges
 * compared by content). */
int tu_record_eq(const ml_record *a, const ml_record *b);

#endif
