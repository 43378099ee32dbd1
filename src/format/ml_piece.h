// SPDX-License-Identifier: MIT
// What a client sends the central store: a piece of its recording file,
// bytes [off, off + len), made of whole chunks (at offset 0, the file header
// first). The server checks every header and payload checksum before it
// stores a byte, so a damaged or hostile upload is refused whole and the
// compacted run is always a valid recording.
#ifndef ML_PIECE_H
#define ML_PIECE_H

#include <stddef.h>
#include <stdint.h>

/* 0 when data holds the file header (if off is 0) followed by whole,
 * intact chunks and nothing else; *nchunks gets their number. Otherwise a
 * negative ML_E* code and *why says what is wrong and where (a static
 * string; *at gets the offset in data). An empty piece is valid (0
 * chunks). */
int ml_piece_check(const uint8_t *data, size_t len, uint64_t off,
                   uint32_t *nchunks, size_t *at, const char **why);

/* How many bytes from the start of data are whole chunks (and the file
 * header at offset 0): the longest prefix a client may send now, at most
 * max bytes, never cutting a chunk unless a single chunk is larger than
 * max (then that chunk alone). Bytes of an unfinished last chunk are not
 * counted. Damaged data ends the prefix (the server would refuse it). */
size_t ml_piece_whole(const uint8_t *data, size_t len, uint64_t off,
                      size_t max);

#endif
