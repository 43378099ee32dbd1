// SPDX-License-Identifier: MIT
// Checking and cutting pieces of recordings (see ml_piece.h).
#include "ml_piece.h"

#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "ml_chunk.h"
#include "ml_format.h"

/* The size of the chunk at data (header and payload), or 0 when data does
 * not start with an intact chunk header; *why says why. */
static size_t
chunk_size(const uint8_t *data, size_t len, int *rc, const char **why)
{
    if (len < ML_CHUNK_HEADER_SIZE) {
        *rc = ML_ETRUNC;
        *why = "piece ends inside a chunk header";
        return 0;
    }
    ml_chunk_header h;
    *rc = ml_chunk_header_decode(data, &h, why);
    if (*rc != ML_OK) {
        return 0;
    }
    return ML_CHUNK_HEADER_SIZE + (size_t)h.compressed_size;
}

static int
check_file_header(const uint8_t *data, size_t len, const char **why)
{
    if (len < ML_FILE_HEADER_SIZE) {
        *why = "piece at offset 0 ends inside the file header";
        return ML_ETRUNC;
    }
    uint16_t major, minor;
    int rc = ml_file_header_decode(data, &major, &minor);
    if (rc != ML_OK) {
        *why = rc == ML_EVERSION
                   ? "a recording of a major version this server does not read"
                   : "piece at offset 0 is not a recording";
    }
    return rc;
}

int
ml_piece_check(const uint8_t *data, size_t len, uint64_t off,
               uint32_t *nchunks, size_t *at, const char **why)
{
    size_t p = 0;
    *nchunks = 0;
    *at = 0;
    *why = "";
    if (off == 0 && len > 0) {
        int rc = check_file_header(data, len, why);
        if (rc != ML_OK) {
            return rc;
        }
        p = ML_FILE_HEADER_SIZE;
    }
    while (p < len) {
        int rc;
        *at = p;
        size_t n = chunk_size(data + p, len - p, &rc, why);
        if (n == 0) {
            return rc;
        }
        if (n > len - p) {
            *why = "piece ends inside a chunk payload";
            return ML_ETRUNC;
        }
        if (ml_checksum(data + p + ML_CHUNK_HEADER_SIZE,
                        n - ML_CHUNK_HEADER_SIZE)
            != ml_load_u32le(data + p + 24)) {
            *why = "chunk payload checksum mismatch";
            return ML_ECHECKSUM;
        }
        p += n;
        (*nchunks)++;
    }
    return ML_OK;
}

size_t
ml_piece_whole(const uint8_t *data, size_t len, uint64_t off, size_t max)
{
    const char *why;
    size_t p = 0;
    if (off == 0) {
        if (check_file_header(data, len, &why) != ML_OK) {
            return 0;
        }
        p = ML_FILE_HEADER_SIZE;
    }
    while (p < len) {
        int rc;
        size_t n = chunk_size(data + p, len - p, &rc, &why);
        if (n == 0 || n > len - p) {
            break; /* unfinished (or damaged): not yet */
        }
        size_t first = off == 0 ? ML_FILE_HEADER_SIZE : 0;
        if (p + n > max) {
            return p > first ? p : p + n; /* an oversized chunk alone */
        }
        p += n;
    }
    return p;
}
