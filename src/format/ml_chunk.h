// SPDX-License-Identifier: MIT
// The fixed-size parts of a recording: the file header and the chunk header
// (tables in ml_format.h and docs/FORMAT.md), and the checksum they use.
#ifndef ML_CHUNK_H
#define ML_CHUNK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t seq;
    uint64_t base_time_us;
    uint32_t compressed_size;
    uint32_t raw_size;
    uint32_t payload_checksum;
} ml_chunk_header;

/* XXH32 with seed 0: the checksum of payloads and headers. */
uint32_t ml_checksum(const void *data, size_t len);

void ml_file_header_encode(uint8_t out[16]);
/* 0, ML_EMAGIC or ML_EVERSION (a major version this reader does not
 * read); the version goes to *major and *minor. */
int ml_file_header_decode(const uint8_t in[16], uint16_t *major,
                          uint16_t *minor);

/* Fills the 32-byte header, computing its own checksum. */
void ml_chunk_header_encode(const ml_chunk_header *h, uint8_t out[32]);
/* 0, or ML_EMAGIC (no chunk magic), ML_ECHECKSUM (header damaged) or
 * ML_ELIMIT (sizes over the format's limits); *why says which. */
int ml_chunk_header_decode(const uint8_t in[32], ml_chunk_header *h,
                           const char **why);

#endif
