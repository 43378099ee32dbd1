// SPDX-License-Identifier: MIT
// The recording reader: the one decoder of the format, used by the CLI, the
// server and the tests. It reads one chunk at a time, checks checksums and
// every size against the limits in ml_format.h, checks that every id a record
// uses was defined before, and keeps the interning tables so callers can
// resolve strings, frames and stacks. Malformed input gives an error code, a
// byte offset and a message; never a crash, never an unbounded allocation.
//
//     ml_reader *r;
//     ml_record rec;
//     int rc = ml_reader_open("run.mlog", &r);
//     while (rc == 0 && (rc = ml_reader_next(r, &rec)) > 0) {
//         ...
//     }
//     if (rc == ML_ETRUNC) ...   the file ends inside its last chunk
//     else if (rc < 0) fprintf(stderr, "%s\n", ml_reader_message(r));
//     ml_reader_free(r);
#ifndef ML_READER_H
#define ML_READER_H

#include <stddef.h>
#include <stdint.h>

#include "ml_format.h"
#include "ml_record.h"

typedef struct ml_reader ml_reader;

/* Opens a recording file and checks its header. On failure *out is still
 * set when the file could be opened (so the message and offset can be read;
 * free it) and NULL otherwise; when the file cannot be opened at all the
 * result is ML_EIO and errno says why. */
int ml_reader_open(const char *path, ml_reader **out);
/* The same over bytes in memory, which must outlive the reader. */
int ml_reader_open_mem(const void *data, size_t len, ml_reader **out);
void ml_reader_free(ml_reader *r);

/* Decodes the next record into *rec: 1 when there was one, 0 at the clean
 * end of the input, or a negative error (ML_ETRUNC when the input ends
 * inside a chunk: every record before it was delivered). Errors are sticky.
 * Definitions (strings, frames, stacks, threads, series) are delivered too,
 * and are already known to the lookups below when they are. Records of
 * kinds this reader does not know are skipped. */
int ml_reader_next(ml_reader *r, ml_record *rec);

/* After an error: the file offset where the damaged structure starts and a
 * one-line description (never NULL; "" before any error). */
uint64_t ml_reader_error_offset(const ml_reader *r);
const char *ml_reader_message(const ml_reader *r);

/* Lookups; 0 or ML_EINVAL for an id not (yet) defined. */
int ml_reader_string(const ml_reader *r, uint32_t id, ml_bytes *out);
int ml_reader_frame(const ml_reader *r, uint32_t id, uint32_t *name,
                    uint32_t *file, uint32_t *line, uint32_t *firstline);
int ml_reader_stack(const ml_reader *r, uint32_t id, uint32_t *parent,
                    uint32_t *frame);

/* Random access, for indexes that decode a chunk again later (the server).
 *
 * ml_reader_tell() gives the chunk the last delivered record came from: its
 * file offset and sequence number, and whether every record of it has been
 * delivered. Keep (offset, seq) to come back to it.
 *
 * ml_reader_replay() decodes the earlier chunk at offset off (sequence seq)
 * again: the following ml_reader_next() calls deliver its records and then
 * return 0 at its end instead of going on. Definitions (strings, frames,
 * stacks) it holds are already known and are not delivered again; thread
 * and series records are. Runs of samples come as in the first reading.
 * Only allowed between chunks (after
 * ml_reader_next() delivered the last record of a chunk or returned 0):
 * ML_EINVAL otherwise. ml_reader_replay_end() returns to where the reader
 * was, so reading the rest of a growing recording goes on from there.
 * Errors inside a replayed chunk are returned and are not sticky: the
 * reader's own position is kept.
 *
 *     ml_reader_pos at;
 *     ml_reader_tell(r, &at);          after a record of the chunk
 *     ...
 *     if (ml_reader_replay(r, at.chunk_off, at.chunk_seq) == 0) {
 *         while ((rc = ml_reader_next(r, &rec)) > 0) { ... }
 *     }
 *     ml_reader_replay_end(r);
 */
typedef struct {
    uint64_t chunk_off; /* file offset of the chunk */
    uint32_t chunk_seq;
    uint64_t chunk_base_us; /* its base time */
    int chunk_done;         /* all its records were delivered */
    uint64_t next_off;      /* offset of the next chunk to read */
} ml_reader_pos;

void ml_reader_tell(const ml_reader *r, ml_reader_pos *out);
int ml_reader_replay(ml_reader *r, uint64_t off, uint32_t seq);
void ml_reader_replay_end(ml_reader *r);

/* A recording still being written can end inside a chunk that is not
 * whole yet: after ML_ETRUNC, this clears that error so the next
 * ml_reader_next() tries that chunk again (the file may have grown). Other
 * errors stay. Returns 0, or the sticky error that is not ML_ETRUNC. */
int ml_reader_retry(ml_reader *r);

typedef struct {
    uint64_t file_bytes; /* size of the input */
    uint64_t bytes_read; /* header and whole chunks consumed */
    uint32_t chunks;     /* whole chunks decoded */
    uint64_t records;    /* records delivered */
    uint32_t strings, frames, stacks, threads, series;
    uint16_t major_version, minor_version;
} ml_reader_stats;

void ml_reader_get_stats(const ml_reader *r, ml_reader_stats *out);

#endif
