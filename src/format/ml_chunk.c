// SPDX-License-Identifier: MIT
// File and chunk header coding with their checksums (see ml_chunk.h).
#include "ml_chunk.h"

#include <string.h>
#include <xxhash.h>

#include "../core/ml_buf.h"
#include "../core/ml_error.h"
#include "ml_format.h"

uint32_t
ml_checksum(const void *data, size_t len)
{
    return XXH32(data, len, 0);
}

void
ml_file_header_encode(uint8_t out[16])
{
    memcpy(out, ML_FILE_MAGIC, 8);
    out[8] = ML_FORMAT_VERSION_MAJOR & 0xff;
    out[9] = ML_FORMAT_VERSION_MAJOR >> 8;
    out[10] = ML_FORMAT_VERSION_MINOR & 0xff;
    out[11] = ML_FORMAT_VERSION_MINOR >> 8;
    ml_store_u32le(out + 12, 0);
}

int
ml_file_header_decode(const uint8_t in[16], uint16_t *major, uint16_t *minor)
{
    if (memcmp(in, ML_FILE_MAGIC, 8) != 0) {
        return ML_EMAGIC;
    }
    uint16_t v = (uint16_t)(in[8] | in[9] << 8);
    if (v < ML_FORMAT_VERSION_MAJOR_MIN || v > ML_FORMAT_VERSION_MAJOR) {
        return ML_EVERSION;
    }
    *major = v;
    *minor = (uint16_t)(in[10] | in[11] << 8);
    return ML_OK;
}

void
ml_chunk_header_encode(const ml_chunk_header *h, uint8_t out[32])
{
    memcpy(out, ML_CHUNK_MAGIC, 4);
    ml_store_u32le(out + 4, h->seq);
    ml_store_u64le(out + 8, h->base_time_us);
    ml_store_u32le(out + 16, h->compressed_size);
    ml_store_u32le(out + 20, h->raw_size);
    ml_store_u32le(out + 24, h->payload_checksum);
    ml_store_u32le(out + 28, ml_checksum(out, 28));
}

int
ml_chunk_header_decode(const uint8_t in[32], ml_chunk_header *h,
                       const char **why)
{
    if (memcmp(in, ML_CHUNK_MAGIC, 4) != 0) {
        *why = "no chunk magic";
        return ML_EMAGIC;
    }
    if (ml_load_u32le(in + 28) != ml_checksum(in, 28)) {
        *why = "chunk header checksum mismatch";
        return ML_ECHECKSUM;
    }
    ml_chunk_header tmp = {
        .seq = ml_load_u32le(in + 4),
        .base_time_us = ml_load_u64le(in + 8),
        .compressed_size = ml_load_u32le(in + 16),
        .raw_size = ml_load_u32le(in + 20),
        .payload_checksum = ml_load_u32le(in + 24),
    };
    if (tmp.compressed_size > ML_CHUNK_MAX_COMPRESSED
        || tmp.raw_size > ML_CHUNK_MAX_RAW
        || tmp.base_time_us >= ML_TIME_LIMIT_US) {
        *why = "chunk size or base time over the format's limits";
        return ML_ELIMIT;
    }
    *h = tmp;
    return ML_OK;
}
